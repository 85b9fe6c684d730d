#!/usr/bin/env bash
# run_race_bench.sh: concwatch's data-race detection on instrumented programs, against TSan.
#
#   tests/bench/run_race_bench.sh [--quick] [--reps N] [--no-build]
#
# race_bench.c (private, counter, queue: correct programs) is built natively, compiled
# with -fsanitize=thread and linked against libconcwatch.so (concwatch-gcc/-clang) or
# against an empty runtime, tsan_stub.c (empty-gcc/-clang: the instrumentation's calls
# alone), and built with ThreadSanitizer (tsan-gcc/-clang).  Runs are interleaved (rep 1
# of every config, then rep 2, ...); the table gives the medians of wall time and peak
# RSS, both measured by race_measure.c (wait4).  See docs/performance.md.
#
# Environment: BUILD_DIR (default: build/ at the repo root), CONCWATCH_SO (default:
# $BUILD_DIR/libconcwatch.so), TIMEOUT per run in seconds (default: 300).  A configured
# BUILD_DIR is built first (cmake --build) unless --no-build.  libconcwatch.so (and
# concwatch-symbolizer) are copied at the start, so a rebuild during the run changes nothing.
# Exit status: 0 (it is a report, and findings are shown in it) unless a run crashed,
# exited with a status other than 0 or 66, or printed no result line: then 1.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
SRC=$ROOT/tests/bench
BUILD_DIR=${BUILD_DIR:-$ROOT/build}
CONCWATCH_SO=${CONCWATCH_SO:-$BUILD_DIR/libconcwatch.so}
TIMEOUT=${TIMEOUT:-300}

QUICK=0 REPS=5 BUILD=1
while (($#)); do
  case $1 in
    --quick) QUICK=1 REPS=3 ;;
    --reps) REPS=${2:?--reps needs a number}; shift ;;
    --no-build) BUILD=0 ;;
    -h|--help) sed -n '2,18p' "$0"; exit 0 ;;
    *) echo "run_race_bench: unknown argument: $1 (try --help)" >&2; exit 2 ;;
  esac
  shift
done

# Size per benchmark (passes, increments per thread, items) and threads.
declare -A SIZE=([private]=80 [counter]=2000000 [queue]=200000)
declare -A THREADS=([private]=2 [counter]=4 [queue]=2)
BENCHES=(private counter queue)
if ((QUICK)); then
  for b in "${BENCHES[@]}"; do SIZE[$b]=$((SIZE[$b] / 4)); done
fi

WORK=$(mktemp -d /tmp/race_bench.XXXXXX)
trap 'rm -rf "$WORK"' EXIT
source "$ROOT/tests/bench/common.sh"
bench_prepare_library

CC=${CC:-cc}
"$CC" -O2 -o "$WORK/race_measure" "$SRC/race_measure.c"
"$CC" -O2 -fPIC -shared -o "$WORK/lib/libtsan_stub.so" "$SRC/tsan_stub.c"
MEASURE=$WORK/race_measure LIB=$WORK/lib

CONFIGS=() SKIPPED=()
declare -A EXE=()
skip() { SKIPPED+=("$1: $2"); say "skip $1: $2"; }
# try CONFIG COMMAND...: build with COMMAND (its log kept); the config exists if it built.
try() {
  local cfg=$1; shift
  if "$@" >"$WORK/build.$cfg.log" 2>&1; then
    CONFIGS+=("$cfg"); EXE[$cfg]=$WORK/race_bench.$cfg
  else
    skip "$cfg" "build failed: $(grep -m1 -i error "$WORK/build.$cfg.log" || head -n1 "$WORK/build.$cfg.log")"
  fi
}
B=$SRC/race_bench.c O=$WORK/race_bench
for cc in gcc clang; do
  if ! command -v "$cc" >/dev/null; then
    for c in native empty concwatch tsan; do skip "$c-$cc" "$cc not installed"; done
    continue
  fi
  try "native-$cc" "$cc" -O2 -g -pthread "$B" -o "$O.native-$cc"
  # Instrumented, linked without -fsanitize=thread: the __tsan_* calls go to LIB.
  if [[ $cc == gcc ]]; then
    inst() { gcc -fsanitize=thread -O2 -g -c "$B" -o "$WORK/race_bench.gcc.o" &&
             gcc "$WORK/race_bench.gcc.o" -o "$1" -L"$LIB" "-l$2" -Wl,-rpath,"$LIB" -pthread; }
  else
    inst() { clang -fsanitize=thread -fno-sanitize-link-runtime -O2 -g "$B" -o "$1" \
               -L"$LIB" "-l$2" -Wl,-rpath,"$LIB" -pthread; }
  fi
  try "empty-$cc" inst "$O.empty-$cc" tsan_stub
  if ((HAVE_CW)); then
    try "concwatch-$cc" inst "$O.concwatch-$cc" concwatch
  else
    skip "concwatch-$cc" "pending: $CONCWATCH_SO does not exist (build the project first)"
  fi
  try "tsan-$cc" "$cc" -fsanitize=thread -O2 -g -pthread "$B" -o "$O.tsan-$cc"
done
# An empty runtime must not be the one the program uses: check it links where it should.
for cfg in "${CONFIGS[@]}"; do
  case $cfg in
    empty-*) want=libtsan_stub.so ;; concwatch-*) want=libconcwatch.so ;; *) continue ;;
  esac
  [[ $(ldd "${EXE[$cfg]}") == *"$LIB/$want"* ]] || { say "run_race_bench: ${EXE[$cfg]} does not load $LIB/$want"; exit 1; }
done

# ---- measure ---------------------------------------------------------------------------
declare -A LOOP=() WALL=() RSS=() STATUS=() NOTE=() FINDING=()
CRASHED=0

# run_one CONFIG BENCH: one run; appends to LOOP/WALL/RSS, or sets STATUS on failure.
run_one() {
  local cfg=$1 bench=$2 key="$1/$2"
  local out=$WORK/out err=$WORK/err.$1.$2 m=$WORK/measure rc=0 line
  rm -f "$m"
  "$MEASURE" -t "$TIMEOUT" -o "$m" -- "${EXE[$cfg]}" "$bench" "${SIZE[$bench]}" \
    "${THREADS[$bench]}" >"$out" 2>"$err" || rc=$?
  line=$(grep -E "^$bench threads=[0-9]+ n=[0-9]+ ns_per_op=[0-9.]+ loop_s=" "$out" || true)
  if ((rc == 124)); then
    STATUS[$key]="timeout>${TIMEOUT}s"; say "  $key: timed out after ${TIMEOUT}s"; return
  fi
  if grep -q -e 'WARNING: ThreadSanitizer' -e '^==[0-9]*== concwatch: ' "$err" || ((rc == 66)); then
    FINDING[$key]="finding(exit $rc)"       # a false positive: the programs are correct
  fi
  if { ((rc != 0)) && ((rc != 66)); } || [[ -z $line ]] || [[ ! -s $m ]]; then
    STATUS[$key]="FAILED(exit $rc)"; CRASHED=1
    say "  $key: exit $rc, output: $(head -c 200 "$out")"; tail -n 5 "$err" >&2
    return
  fi
  LOOP[$key]+="${line##*loop_s=} "
  # status=N wall_ns=N maxrss_kb=N
  read -r _ w r < "$m"
  WALL[$key]+="${w#wall_ns=} " RSS[$key]+="${r#maxrss_kb=} "
  if [[ -s $err ]]; then NOTE[$key]="stderr: $(wc -l <"$err") lines"; fi
}

median() { tr ' ' '\n' | awk NF | sort -g | awk '{a[NR]=$1} END {
  if (NR == 0) exit; m = (NR % 2) ? a[(NR+1)/2] : (a[NR/2] + a[NR/2+1]) / 2; print m }'; }

say "race_bench: reps=$REPS, sizes: $(for b in "${BENCHES[@]}"; do
  printf '%s=%s ' "$b" "${SIZE[$b]}"; done)"
for ((rep = 1; rep <= REPS; rep++)); do
  say "rep $rep/$REPS"
  for cfg in "${CONFIGS[@]}"; do
    for bench in "${BENCHES[@]}"; do
      [[ -n ${STATUS[$cfg/$bench]:-} ]] && continue   # failed or timed out once: stop
      run_one "$cfg" "$bench"
    done
  done
done

# ---- report ----------------------------------------------------------------------------
echo
echo "# race_bench $(date -u '+%Y-%m-%d %H:%M UTC') $(uname -m) $(nproc) cpus$( ((QUICK)) && echo ' --quick') reps=$REPS"
row() { printf '%-16s %-8s %8s %8s %8s %7s %8s %8s %8s %-13s %s\n' "$@" | sed 's/ *$//'; }
row config bench n loop_s wall_s spread ratio rss_MiB mem_ratio target notes
declare -A W=() M=()
for bench in "${BENCHES[@]}"; do
  for cfg in "${CONFIGS[@]}"; do
    W[$cfg/$bench]=$(median <<<"${WALL[$cfg/$bench]:-}")
    M[$cfg/$bench]=$(median <<<"${RSS[$cfg/$bench]:-}")
  done
done
for bench in "${BENCHES[@]}"; do
  for cc in gcc clang; do
    for cfg in native-$cc empty-$cc concwatch-$cc tsan-$cc; do
      key=$cfg/$bench target=- verdict=
      [[ $cfg == concwatch-* ]] && target="<=tsan-$cc"
      if [[ -z ${EXE[$cfg]:-} ]]; then
        [[ $cfg == concwatch-* ]] && row "$cfg" "$bench" - - - - - - - "$target" "pending: not built"
        continue
      fi
      w=${W[$key]:-}
      if [[ -z $w ]]; then
        verdict=; [[ $cfg == concwatch-* ]] && verdict="FAIL:run; "
        row "$cfg" "$bench" "${SIZE[$bench]}" - - - - - - "$target" "$verdict${STATUS[$key]:-no result}"
        continue
      fi
      loop=$(median <<<"${LOOP[$key]}" | awk '{printf "%.3f", $1}')
      wall=$(awk -v a="$w" 'BEGIN {printf "%.3f", a / 1e9}')
      spread=$(tr ' ' '\n' <<<"${WALL[$key]}" | awk -v m="$w" 'NF {
        lo = (lo == "" || $1 < lo) ? $1 : lo; hi = $1 > hi ? $1 : hi }
        END { printf "%.0f%%", 100 * (hi - lo) / m }')
      rss=$(awk -v a="${M[$key]}" 'BEGIN {printf "%.1f", a / 1024}')
      nw=${W[native-$cc/$bench]:-} nm=${M[native-$cc/$bench]:-} ratio=- mratio=-
      [[ -n $nw ]] && ratio=$(awk -v a="$w" -v b="$nw" 'BEGIN {printf "%.2fx", a / b}')
      [[ -n $nm ]] && mratio=$(awk -v a="${M[$key]}" -v b="$nm" 'BEGIN {printf "%.2fx", a / b}')
      if [[ $cfg == concwatch-* ]]; then
        tw=${W[tsan-$cc/$bench]:-} tm=${M[tsan-$cc/$bench]:-}
        if [[ -z $tw ]]; then
          verdict="no tsan-$cc figure"
        else
          verdict=$(awk -v w="$w" -v m="${M[$key]}" -v tw="$tw" -v tm="$tm" -v f="${FINDING[$key]:-}" \
            -v s="${STATUS[$key]:-}" 'BEGIN {
            why = (w > tw ? "time " : "") (m > tm ? "memory " : "") (f != "" || s != "" ? "run " : "")
            sub(/ $/, "", why)
            printf "%s (%.2fx time, %.2fx memory of tsan)", why == "" ? "PASS" : "FAIL:" why, w / tw, m / tm }')
        fi
      fi
      notes="$verdict"
      for n in "${FINDING[$key]:-}" "${STATUS[$key]:-}" "${NOTE[$key]:-}"; do
        [[ -n $n ]] && notes+="${notes:+; }$n"
      done
      row "$cfg" "$bench" "${SIZE[$bench]}" "$loop" "$wall" "$spread" "$ratio" "$rss" "$mratio" "$target" "$notes"
    done
  done
done
for s in "${SKIPPED[@]}"; do echo "skipped $s"; done
for key in $(printf '%s\n' "${!NOTE[@]}" | sort); do
  echo "note $key wrote to stderr (the programs are race-free); first lines:"
  head -n 3 "$WORK/err.${key%%/*}.${key#*/}" | sed 's/^/    /'
done
exit "$CRASHED"
