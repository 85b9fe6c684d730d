#!/usr/bin/env bash
# count_lock_instructions.sh: instructions per lock_bench iteration, native, under the
# forwarding shim and under concwatch, counted by callgrind (deterministic: unlike wall time,
# other load on the machine does not change it).
#
#   tests/bench/count_lock_instructions.sh
#
# Each figure is the difference between a run of 300,000 and one of 100,000 iterations,
# divided by 200,000, so start-up and exit cancel out. Needs valgrind and a built tree
# (BUILD_DIR, default build/: bench/lock_bench, bench/libforward_shim.so, libconcwatch.so).
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
BUILD_DIR=${BUILD_DIR:-$ROOT/build}
BENCH=$BUILD_DIR/bench/lock_bench
declare -A PRELOAD=([native]="" [forward-shim]=$BUILD_DIR/bench/libforward_shim.so
                    [concwatch]=$BUILD_DIR/libconcwatch.so)
command -v valgrind >/dev/null || { echo "count_lock_instructions: valgrind is not installed" >&2; exit 1; }
for f in "$BENCH" "${PRELOAD[forward-shim]}" "${PRELOAD[concwatch]}"; do
  [[ -f $f ]] || { echo "count_lock_instructions: $f is missing (build the project first)" >&2; exit 1; }
done

# instructions CONFIG LOOP ITERS: callgrind's total for one run.
instructions() {
  local env=()
  [[ -n ${PRELOAD[$1]} ]] && env=("LD_PRELOAD=${PRELOAD[$1]}")
  env "${env[@]}" valgrind --tool=callgrind --callgrind-out-file=/dev/null "$BENCH" "$2" "$3" 1 2>&1 |
    sed -n 's/.*Collected : \([0-9]*\).*/\1/p'
}

printf '%-12s %-12s %14s %8s\n' config loop instr/iter ratio
for loop in uncontended nested; do
  base=
  for cfg in native forward-shim concwatch; do
    per=$(( ($(instructions "$cfg" "$loop" 300000) - $(instructions "$cfg" "$loop" 100000)) / 200000 ))
    base=${base:-$per}
    printf '%-12s %-12s %14d %7.2fx\n' "$cfg" "$loop" "$per" "$(awk -v a="$per" -v b="$base" 'BEGIN {print a / b}')"
  done
done
