#!/usr/bin/env bash
# run_lock_bench.sh: concwatch's overhead on lock-heavy loops, against peers.
#
#   tests/bench/run_lock_bench.sh [--quick] [--reps N]
#
# Every loop of lock_bench (uncontended, the same in a process that has
# started a thread (-mt), uncontended with 2 threads, nested, nested-mt)
# runs under each config in the same run: native, the forwarding shim, the
# held-stack shim (forwarding plus the least a lock-order detector records),
# concwatch, ThreadSanitizer (clang, gcc), helgrind and drd.  Runs are
# interleaved (rep 1 of every config, then rep 2, ...) so drift hits all alike;
# the median ns/iter is reported.  See docs/performance.md.
#
# Environment: BUILD_DIR (default: build/ at the repo root), CONCWATCH_SO
# (default: $BUILD_DIR/libconcwatch.so), TIMEOUT per run in seconds
# (default: 300), CC for the fallback build (default: cc).  A configured
# BUILD_DIR is built first (cmake --build); else the sources are compiled.
# Exit status: 0 (it is a report) unless a run crashed, failed or printed no
# result line: then 1.  Timeouts and missing peers are reported, not fatal.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
SRC=$ROOT/tests/bench
BUILD_DIR=${BUILD_DIR:-$ROOT/build}
CONCWATCH_SO=${CONCWATCH_SO:-$BUILD_DIR/libconcwatch.so}
TIMEOUT=${TIMEOUT:-300}

QUICK=0 REPS=5 VG_REPS=3
while (($#)); do
  case $1 in
    --quick) QUICK=1 REPS=3 VG_REPS=1 ;;
    --reps) REPS=${2:?--reps needs a number}; VG_REPS=$(( REPS < 3 ? REPS : 3 )); shift ;;
    -h|--help) sed -n '2,19p' "$0"; exit 0 ;;
    *) echo "run_lock_bench: unknown argument: $1 (try --help)" >&2; exit 2 ;;
  esac
  shift
done

# Iterations per loop: native-speed configs, and valgrind (~100-1000x slower).
# The -mt loops: the same single worker, in a process that has started a thread
# (glibc's locks are atomic only then; see lock_bench.c).
declare -A ITERS=([uncontended]=20000000 [uncontended-mt]=20000000 [uncontended-2t]=20000000
                  [nested]=5000000 [nested-mt]=5000000)
declare -A VG_ITERS=([uncontended]=200000 [uncontended-mt]=200000 [uncontended-2t]=100000
                     [nested]=50000 [nested-mt]=50000)
declare -A THREADS=([uncontended]=1 [uncontended-mt]=1 [uncontended-2t]=2 [nested]=1 [nested-mt]=1)
declare -A TARGET=([uncontended]=1.3 [uncontended-mt]=1.3 [uncontended-2t]=1.3 [nested]=1.6
                   [nested-mt]=1.6)
LOOPS=(uncontended uncontended-mt uncontended-2t nested nested-mt)
if ((QUICK)); then
  for l in "${LOOPS[@]}"; do ITERS[$l]=$((ITERS[$l] / 4)); VG_ITERS[$l]=$((VG_ITERS[$l] / 5)); done
fi

WORK=$(mktemp -d /tmp/lock_bench.XXXXXX)
trap 'rm -rf "$WORK"' EXIT
say() { printf '%s\n' "$*" >&2; }

# ---- build -----------------------------------------------------------------
CC=${CC:-cc}
direct_build() {
  say "compiling lock_bench and the two shims directly with $CC into $WORK"
  "$CC" -O2 -pthread -o "$WORK/lock_bench" "$SRC/lock_bench.c"
  "$CC" -O2 -fPIC -shared -pthread -o "$WORK/libforward_shim.so" "$SRC/forward_shim.c" -ldl
  "$CC" -O2 -fPIC -shared -pthread -DFORWARD_SHIM_HELD_STACK -o "$WORK/libheld_shim.so" \
    "$SRC/forward_shim.c" -ldl
  BENCH=$WORK/lock_bench SHIM=$WORK/libforward_shim.so HELD_SHIM=$WORK/libheld_shim.so
}
BENCH=$BUILD_DIR/bench/lock_bench SHIM=$BUILD_DIR/bench/libforward_shim.so
HELD_SHIM=$BUILD_DIR/bench/libheld_shim.so
if [[ -f $BUILD_DIR/CMakeCache.txt ]]; then
  # The whole project (libconcwatch.so too); if it does not build right now,
  # at least the benchmark's own targets; if not even those, compile directly.
  if cmake --build "$BUILD_DIR" >"$WORK/build.log" 2>&1; then :
  else
    say "note: 'cmake --build $BUILD_DIR' failed, so $CONCWATCH_SO may be stale or missing; last lines:"
    tail -n 5 "$WORK/build.log" >&2
    cmake --build "$BUILD_DIR" --target lock_bench forward_shim held_shim >"$WORK/build.log" 2>&1 || true
  fi
  [[ -x $BENCH && -f $SHIM && -f $HELD_SHIM ]] || { say "note: no $BENCH (tests/bench not in the build?)"; direct_build; }
else
  say "note: $BUILD_DIR is not a configured CMake build (cmake -S . -B build)"
  direct_build
fi
for shim in "$SHIM" "$HELD_SHIM"; do
  loaded=$(FORWARD_SHIM_VERBOSE=1 LD_PRELOAD=$shim "$BENCH" uncontended 10 2>&1 >/dev/null || true)
  [[ $loaded == *'_shim: loaded'* ]] || { say "run_lock_bench: $shim does not load"; exit 1; }
done

# ---- configs: name, then the command prefix ("preload:LIB", "valgrind:TOOL"
# or "exe:BINARY" replacing lock_bench) ---------------------------------------
CONFIGS=() SKIPPED=()
declare -A HOW=()
add() { CONFIGS+=("$1"); HOW[$1]=$2; }
skip() { SKIPPED+=("$1: $2"); say "skip $1: $2"; }

add native "exe:$BENCH"
add forward-shim "preload:$SHIM"
add held-shim "preload:$HELD_SHIM"
if [[ -f $CONCWATCH_SO ]]; then
  add concwatch "preload:$CONCWATCH_SO"
else
  skip concwatch "pending: $CONCWATCH_SO does not exist (build the project first)"
fi
for cc in clang gcc; do
  if ! command -v "$cc" >/dev/null; then
    skip "tsan-$cc" "$cc not installed"
  elif "$cc" -fsanitize=thread -O2 -pthread -o "$WORK/lock_bench.tsan-$cc" \
        "$SRC/lock_bench.c" 2>"$WORK/tsan-$cc.log"; then
    add "tsan-$cc" "exe:$WORK/lock_bench.tsan-$cc"
  else
    hint=$([[ $cc == gcc ]] && echo "apt-get install libtsan2" || echo "apt-get install clang")
    skip "tsan-$cc" "cannot build with -fsanitize=thread ($(head -n1 "$WORK/tsan-$cc.log")); try: $hint"
  fi
done
for tool in helgrind drd; do
  if ! command -v valgrind >/dev/null; then
    skip "$tool" "valgrind not installed (apt-get install valgrind)"
  elif ! valgrind -q --tool=$tool /bin/true >/dev/null 2>&1; then
    skip "$tool" "valgrind --tool=$tool does not run"
  else
    add "$tool" "valgrind:$tool"
  fi
done

# ---- measure -----------------------------------------------------------------
declare -A NS=() WALL=() STATUS=() NOTE=()
CRASHED=0

# run_one CONFIG LOOP: one run; appends to NS/WALL, or sets STATUS on failure.
run_one() {
  local cfg=$1 loop=$2 how=${HOW[$1]} iters=${ITERS[$2]} key="$1/$2"
  local -a cmd env=()
  case $how in
    exe:*) cmd=("${how#exe:}") ;;
    preload:*) cmd=("$BENCH"); env=("LD_PRELOAD=${how#preload:}") ;;
    valgrind:*) cmd=(valgrind -q "--tool=${how#valgrind:}" "$BENCH"); iters=${VG_ITERS[$loop]} ;;
  esac
  cmd+=("${loop%-2t}" "$iters" "${THREADS[$loop]}")
  local out=$WORK/out err=$WORK/err.${cfg}.${loop} rc=0 t0 t1 line
  t0=$(date +%s%N)
  timeout "$TIMEOUT" env "${env[@]}" "${cmd[@]}" >"$out" 2>"$err" || rc=$?
  t1=$(date +%s%N)
  line=$(grep -E '^[a-z-]+ threads=[0-9]+ iters=[0-9]+ ns_per_iter=' "$out" || true)
  if ((rc == 124)); then
    STATUS[$key]="timeout>${TIMEOUT}s"; say "  $key: timed out after ${TIMEOUT}s"
  elif ((rc != 0)) || [[ -z $line ]]; then
    STATUS[$key]="FAILED(exit $rc)"; CRASHED=1
    say "  $key: exit $rc, output: $(head -c 200 "$out")"; tail -n 5 "$err" >&2
  else
    line=${line#*ns_per_iter=}
    NS[$key]+="${line%% *} "
    WALL[$key]+="$(( (t1 - t0) / 1000000 )) "
    if [[ -s $err ]]; then NOTE[$key]="stderr: $(wc -l <"$err") lines"; fi
  fi
}

median() { tr ' ' '\n' | awk NF | sort -g | awk '{a[NR]=$1} END {
  if (NR == 0) exit; m = (NR % 2) ? a[(NR+1)/2] : (a[NR/2] + a[NR/2+1]) / 2; print m }'; }

say "lock_bench: reps=$REPS (valgrind: $VG_REPS), iters: $(for l in "${LOOPS[@]}"; do
  printf '%s=%s/%s ' "$l" "${ITERS[$l]}" "${VG_ITERS[$l]}"; done)"
for ((rep = 1; rep <= REPS; rep++)); do
  say "rep $rep/$REPS"
  for cfg in "${CONFIGS[@]}"; do
    [[ ${HOW[$cfg]} == valgrind:* ]] && ((rep > VG_REPS)) && continue
    for loop in "${LOOPS[@]}"; do
      [[ -n ${STATUS[$cfg/$loop]:-} ]] && continue   # failed or timed out once: stop
      run_one "$cfg" "$loop"
    done
  done
done

# ---- report --------------------------------------------------------------------
echo
echo "# lock_bench $(date -u '+%Y-%m-%d %H:%M UTC') $(uname -m) $(nproc) cpus$( ((QUICK)) && echo ' --quick')"
row() { printf '%-14s %-15s %9s %10s %7s %9s %8s %7s  %s\n' "$@" | sed 's/ *$//'; }
row config loop iters ns/iter spread ratio wall_s target notes
for loop in "${LOOPS[@]}"; do
  base=$(median <<<"${NS[native/$loop]:-}")
  for cfg in native forward-shim held-shim concwatch tsan-clang tsan-gcc helgrind drd; do
    key=$cfg/$loop target=- iters=${ITERS[$loop]}
    [[ $cfg == helgrind || $cfg == drd ]] && iters=${VG_ITERS[$loop]}
    [[ $cfg == concwatch ]] && target="<=${TARGET[$loop]}x"
    if [[ -z ${HOW[$cfg]:-} ]]; then
      [[ $cfg == concwatch ]] && row "$cfg" "$loop" - - - - - "$target" "pending: $CONCWATCH_SO not built"
      continue
    fi
    ns=$(median <<<"${NS[$key]:-}" | awk '{printf "%.2f", $1}')
    if [[ -z $ns ]]; then
      row "$cfg" "$loop" "$iters" - - - - "$target" "${STATUS[$key]:-no result}"
      continue
    fi
    spread=$(tr ' ' '\n' <<<"${NS[$key]}" | awk -v m="$ns" 'NF {
      lo = (lo == "" || $1 < lo) ? $1 : lo; hi = $1 > hi ? $1 : hi }
      END { printf "%.0f%%", 100 * (hi - lo) / m }')
    wall=$(median <<<"${WALL[$key]}" | awk '{printf "%.3f", $1 / 1000}')
    ratio=- verdict=
    if [[ -n $base ]]; then
      ratio=$(awk -v a="$ns" -v b="$base" 'BEGIN {printf "%.2fx", a / b}')
      if [[ $cfg == concwatch ]]; then
        verdict=$(awk -v a="$ns" -v b="$base" -v t="${TARGET[$loop]}" \
          'BEGIN {print (a / b <= t) ? "PASS" : "FAIL"}')
        # The floor any lock-order detector pays in this loop, from the same run.
        floor=$(median <<<"${NS[held-shim/$loop]:-}")
        [[ -n $floor ]] && verdict+=$(awk -v a="$floor" -v b="$base" \
          'BEGIN {printf " (held-shim %.2fx)", a / b}')
      fi
    fi
    row "$cfg" "$loop" "$iters" "$ns" "$spread" "$ratio" "$wall" "$target" "$verdict${verdict:+ }${STATUS[$key]:-}${NOTE[$key]:-}"
  done
done
for s in "${SKIPPED[@]}"; do echo "skipped $s"; done
for key in $(printf '%s\n' "${!NOTE[@]}" | sort); do
  echo "note $key wrote to stderr (the loops are race- and cycle-free); first lines:"
  head -n 3 "$WORK/err.${key%%/*}.${key#*/}" | sed 's/^/    /'
done
exit "$CRASHED"
