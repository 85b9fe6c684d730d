#!/usr/bin/env bash
# run_sampling_bench.sh: wall-time overhead of race sampling on uninstrumented programs,
# against native and against peers, all in the same run.
#
#   tests/bench/run_sampling_bench.sh [--quick] [--reps N] [--no-build]
#
# Programs, built in a temporary directory with plain gcc -O2 -pthread (no instrumentation)
# and, for ThreadSanitizer, gcc -fsanitize=thread -O2 -pthread:
#   lock_bench uncontended|nested with 1 and 2 threads (1 thread: no pthread_create at all),
#   race_bench private|counter|queue (sizes and threads of run_race_bench.sh).
# Configs: native; forward-shim (LD_PRELOAD of a shim that only forwards the mutex calls:
# the floor for any LD_PRELOAD tool, forward_shim.c); cw-off (LD_PRELOAD=libconcwatch.so,
# race_sampling=0); cw-sampling (race_sampling=1, default settings); tsan-gcc; helgrind and
# drd (valgrind --tool=...).
# Every run is timed by race_measure.c (wall time by wait4, from fork to exit).  Runs are
# interleaved (rep 1 of every benchmark and config, then rep 2, ...); tables give medians.
# valgrind runs a smaller size (~100x+ slower) and fewer reps (at most 3): its ratios are
# per unit of work, (wall / n) against native's (wall / n), marked "*" in the tables.
# Target: cw-sampling at most 1.2x native wall time on every benchmark.
#
# Environment: BUILD_DIR (default: build/ at the repo root), CONCWATCH_SO (default:
# $BUILD_DIR/libconcwatch.so), TIMEOUT per run in seconds (default: 300), CC (default:
# gcc).  A configured BUILD_DIR is built first (cmake --build) unless --no-build.
# libconcwatch.so (and concwatch-symbolizer) are copied at the start, so a rebuild during
# the run changes nothing.  Exit status: 0 (it is a report: targets are shown in it)
# unless a run crashed, failed or printed no result line: then 1.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
SRC=$ROOT/tests/bench
BUILD_DIR=${BUILD_DIR:-$ROOT/build}
CONCWATCH_SO=${CONCWATCH_SO:-$BUILD_DIR/libconcwatch.so}
TIMEOUT=${TIMEOUT:-300}
TARGET=1.2

QUICK=0 REPS=5 VG_REPS=3 BUILD=1
while (($#)); do
  case $1 in
    --quick) QUICK=1 REPS=3 VG_REPS=1 ;;
    --reps) REPS=${2:?--reps needs a number}; VG_REPS=$(( REPS < 3 ? REPS : 3 )); shift ;;
    --no-build) BUILD=0 ;;
    -h|--help) sed -n '2,26p' "$0"; exit 0 ;;
    *) echo "run_sampling_bench: unknown argument: $1 (try --help)" >&2; exit 2 ;;
  esac
  shift
done
[[ $REPS =~ ^[1-9][0-9]*$ ]] || { echo "run_sampling_bench: --reps wants a positive number" >&2; exit 2; }

# Benchmarks: program, its mode argument, size (n) at native speed and under valgrind,
# threads.  n is lock_bench's iterations per thread, race_bench's passes / increments per
# thread / items.
# The -mt lock loops run one worker after a thread has come and gone (lock_bench.c): glibc's
# locks are atomic then, and sampling is on (it starts at the first pthread_create).
BENCHES=(lock:uncontended-1t lock:uncontended-mt lock:uncontended-2t lock:nested-1t
         lock:nested-mt lock:nested-2t race:private race:counter race:queue)
declare -A PROG=() MODE=() N=() VG_N=() THREADS=()
bench() { PROG[$1]=$2 MODE[$1]=$3 N[$1]=$4 VG_N[$1]=$5 THREADS[$1]=$6; }
bench lock:uncontended-1t lock_bench uncontended 20000000 200000 1
bench lock:uncontended-mt lock_bench uncontended-mt 20000000 200000 1
bench lock:uncontended-2t lock_bench uncontended 20000000 200000 2
bench lock:nested-1t      lock_bench nested       5000000 100000 1
bench lock:nested-mt      lock_bench nested-mt    5000000 100000 1
bench lock:nested-2t      lock_bench nested       5000000  50000 2
bench race:private        race_bench private           80      8 2
bench race:counter        race_bench counter      2000000  50000 4
bench race:queue          race_bench queue         200000  20000 2
if ((QUICK)); then
  for b in "${BENCHES[@]}"; do N[$b]=$((N[$b] / 4)); VG_N[$b]=$(( VG_N[$b] / 5 > 0 ? VG_N[$b] / 5 : 1 )); done
fi

WORK=$(mktemp -d /tmp/sampling_bench.XXXXXX)
trap 'rm -rf "$WORK"' EXIT
source "$ROOT/tests/bench/common.sh"
bench_prepare_library

CC=${CC:-gcc}
"$CC" -O2 -o "$WORK/race_measure" "$SRC/race_measure.c"
MEASURE=$WORK/race_measure
for p in lock_bench race_bench; do
  "$CC" -O2 -pthread -o "$WORK/$p.native" "$SRC/$p.c"
done
"$CC" -O2 -fPIC -shared -pthread -o "$WORK/libforward_shim.so" "$SRC/forward_shim.c" -ldl

CONFIGS=() SKIPPED=()
declare -A HOW=()
add() { CONFIGS+=("$1"); HOW[$1]=$2; }
skip() { SKIPPED+=("$1: $2"); say "skip $1: $2"; }
add native "exe:native"
add forward-shim "shim:$WORK/libforward_shim.so"
if ((HAVE_CW)); then
  add cw-off "preload:race_sampling=0"
  add cw-sampling "preload:race_sampling=1"
else
  skip cw-off "no $CONCWATCH_SO (build the project first)"
  skip cw-sampling "no $CONCWATCH_SO (build the project first)"
fi
tsan_ok=1
for p in lock_bench race_bench; do
  "$CC" -fsanitize=thread -O2 -pthread -o "$WORK/$p.tsan" "$SRC/$p.c" 2>"$WORK/tsan.log" || tsan_ok=0
done
if ((tsan_ok)); then add tsan-gcc "exe:tsan"
else skip tsan-gcc "cannot build with $CC -fsanitize=thread ($(head -n1 "$WORK/tsan.log")); try: apt-get install libtsan2"
fi
for tool in helgrind drd; do
  if ! command -v valgrind >/dev/null; then
    skip "$tool" "valgrind not installed (apt-get install valgrind)"
  elif ! valgrind -q --tool=$tool /bin/true >/dev/null 2>&1; then
    skip "$tool" "valgrind --tool=$tool does not run"
  else
    add "$tool" "valgrind:$tool"
  fi
done
is_vg() { [[ ${HOW[$1]} == valgrind:* ]]; }
size() { if is_vg "$1"; then echo "${VG_N[$2]}"; else echo "${N[$2]}"; fi; }

# ---- measure ---------------------------------------------------------------------------
declare -A WALL=() LOOP=() STATUS=() NOTE=() FINDING=()
CRASHED=0

# run_one CONFIG BENCH: one run; appends to WALL/LOOP, or sets STATUS on failure.
run_one() {
  local cfg=$1 b=$2 key="$1/$2" how=${HOW[$1]} p=${PROG[$2]} n
  n=$(size "$cfg" "$b")
  local -a cmd
  case $how in
    exe:*) cmd=(env "$WORK/$p.${how#exe:}") ;;
    preload:*) cmd=(env "CONCWATCH_OPTIONS=${how#preload:}" "LD_PRELOAD=$SO" "$WORK/$p.native") ;;
    shim:*) cmd=(env "LD_PRELOAD=${how#shim:}" "$WORK/$p.native") ;;
    valgrind:*) cmd=(valgrind -q "--tool=${how#valgrind:}" "$WORK/$p.native") ;;
  esac
  cmd+=("${MODE[$b]}" "$n" "${THREADS[$b]}")
  local out=$WORK/out err=$WORK/err.$cfg.${b/:/_} m=$WORK/measure rc=0 line
  rm -f "$m"
  "$MEASURE" -t "$TIMEOUT" -o "$m" -- "${cmd[@]}" >"$out" 2>"$err" || rc=$?
  line=$(grep -E "^${MODE[$b]} threads=[0-9]+ (n|iters)=[0-9]+ ns_per_(op|iter)=[0-9.]+ loop_s=" "$out" || true)
  if ((rc == 124)); then
    STATUS[$key]="timeout>${TIMEOUT}s"; say "  $key: timed out after ${TIMEOUT}s"; return
  fi
  if grep -q -e 'WARNING: ThreadSanitizer' -e '^==[0-9]*== concwatch: ' "$err" || ((rc == 66)); then
    FINDING[$key]="finding(exit $rc)"       # a false positive: the programs are race-free
  fi
  if grep -q 'race sampling is off' "$err"; then
    NOTE[$key]="sampling refused: $(grep -m1 'race sampling is off' "$err")"
  fi
  if { ((rc != 0)) && ((rc != 66)); } || [[ -z $line ]] || [[ ! -s $m ]]; then
    STATUS[$key]="FAILED(exit $rc)"; CRASHED=1
    say "  $key: exit $rc, command: ${cmd[*]}"
    say "    output: $(head -c 200 "$out")"; tail -n 5 "$err" >&2
    return
  fi
  # A line: ... ns_per_iter=N loop_s=S (loop_s printed with 3 decimals: use ns_per_* x n)
  local per=${line#*ns_per_}; per=${per#*=}; per=${per%% *}
  LOOP[$key]+="$(awk -v a="$per" -v n="$n" 'BEGIN {printf "%.0f", a * n}') "
  local w
  read -r _ w _ < "$m"
  WALL[$key]+="${w#wall_ns=} "
  if [[ -s $err && -z ${NOTE[$key]:-} ]]; then NOTE[$key]="stderr: $(wc -l <"$err") lines"; fi
}

median() { tr ' ' '\n' | awk NF | sort -g | awk '{a[NR]=$1} END {
  if (NR == 0) exit; m = (NR % 2) ? a[(NR+1)/2] : (a[NR/2] + a[NR/2+1]) / 2; print m }'; }

say "sampling_bench: reps=$REPS (valgrind: $VG_REPS), configs: ${CONFIGS[*]}"
say "  sizes (native/valgrind): $(for b in "${BENCHES[@]}"; do printf '%s=%s/%s ' "$b" "${N[$b]}" "${VG_N[$b]}"; done)"
t_start=$(date +%s)
for ((rep = 1; rep <= REPS; rep++)); do
  say "rep $rep/$REPS ($(( $(date +%s) - t_start ))s)"
  for b in "${BENCHES[@]}"; do
    for cfg in "${CONFIGS[@]}"; do
      is_vg "$cfg" && ((rep > VG_REPS)) && continue
      [[ -n ${STATUS[$cfg/$b]:-} ]] && continue   # failed or timed out once: stop
      run_one "$cfg" "$b"
    done
  done
done

# ---- report ----------------------------------------------------------------------------
ALL=(native forward-shim cw-off cw-sampling tsan-gcc helgrind drd)
declare -A W=() L=()       # median wall and loop, ns
for b in "${BENCHES[@]}"; do
  for cfg in "${CONFIGS[@]}"; do
    W[$cfg/$b]=$(median <<<"${WALL[$cfg/$b]:-}")
    L[$cfg/$b]=$(median <<<"${LOOP[$cfg/$b]:-}")
  done
done
# ratio A B BENCH: wall of A over wall of B per unit of work ("-" if either is missing).
ratio() {
  local a=${W[$1/$3]:-} b=${W[$2/$3]:-}
  [[ -z $a || -z $b ]] && { echo -; return; }
  awk -v a="$a" -v b="$b" -v na="$(size "$1" "$3")" -v nb="$(size "$2" "$3")" -v s="$( is_vg "$1" && echo '*')" \
    'BEGIN {printf "%.2fx%s", (a / na) / (b / nb), s}'
}

echo
echo "# sampling_bench $(date -u '+%Y-%m-%d %H:%M UTC') $(uname -m) $(nproc) cpus$( ((QUICK)) && echo ' --quick') reps=$REPS (valgrind reps=$VG_REPS)"
echo "# $LIBINFO"
echo "## median per config (wall_s: fork to exit, by wait4; loop_s: the program's own timed loop)"
row() { printf '%-12s %-20s %9s %9s %7s %9s %10s %10s  %s\n' "$@" | sed 's/ *$//'; }
row config bench n wall_s spread loop_s vs_native loop_ratio notes
for b in "${BENCHES[@]}"; do
  for cfg in "${ALL[@]}"; do
    [[ -z ${HOW[$cfg]:-} ]] && continue
    key=$cfg/$b n=$(size "$cfg" "$b") w=${W[$cfg/$b]:-}
    notes=
    for x in "${FINDING[$key]:-}" "${STATUS[$key]:-}" "${NOTE[$key]:-}"; do
      [[ -n $x ]] && notes+="${notes:+; }$x"
    done
    if [[ -z $w ]]; then row "$cfg" "$b" "$n" - - - - - "${notes:-no result}"; continue; fi
    wall=$(awk -v a="$w" 'BEGIN {printf "%.3f", a / 1e9}')
    loop=$(awk -v a="${L[$key]}" 'BEGIN {printf "%.3f", a / 1e9}')
    spread=$(tr ' ' '\n' <<<"${WALL[$key]}" | awk -v m="$w" 'NF {
      lo = (lo == "" || $1 < lo) ? $1 : lo; hi = $1 > hi ? $1 : hi }
      END { printf "%.0f%%", 100 * (hi - lo) / m }')
    r=$(ratio "$cfg" native "$b")
    lr=-
    if [[ -n ${L[native/$b]:-} ]]; then
      lr=$(awk -v a="${L[$key]}" -v b="${L[native/$b]}" -v na="$n" -v nb="${N[$b]}" -v s="$( is_vg "$cfg" && echo '*')" \
        'BEGIN {printf "%.2fx%s", (a / na) / (b / nb), s}')
    fi
    row "$cfg" "$b" "$n" "$wall" "$spread" "$loop" "$r" "$lr" "$notes"
  done
done
echo
echo "## ratios of median wall time (* = per unit of work: valgrind ran a smaller n)"
row2() { printf '%-20s %15s %13s %11s %15s %12s %16s %12s  %s\n' "$@" | sed 's/ *$//'; }
row2 bench sampling/native sampling/off off/native forward/native tsan/native helgrind/native drd/native \
  "target (sampling<=${TARGET}x native)"
FAILS=0
for b in "${BENCHES[@]}"; do
  sn=$(ratio cw-sampling native "$b")
  if [[ $sn == - ]]; then verdict="no figure"; FAILS=$((FAILS + 1))
  else verdict=$(awk -v r="${sn%x}" -v t="$TARGET" 'BEGIN {print (r <= t) ? "PASS" : "FAIL"}')
    [[ $verdict == FAIL ]] && FAILS=$((FAILS + 1))
  fi
  row2 "$b" "$sn" "$(ratio cw-sampling cw-off "$b")" "$(ratio cw-off native "$b")" \
    "$(ratio forward-shim native "$b")" "$(ratio tsan-gcc native "$b")" "$(ratio helgrind native "$b")" "$(ratio drd native "$b")" "$verdict"
done
echo "sizes n (native-speed configs / valgrind): $(for b in "${BENCHES[@]}"; do printf '%s=%s/%s ' "$b" "${N[$b]}" "${VG_N[$b]}"; done)"
echo "target: $(( ${#BENCHES[@]} - FAILS ))/${#BENCHES[@]} benchmarks within ${TARGET}x native; total time $(( $(date +%s) - t_start ))s"
for s in "${SKIPPED[@]}"; do echo "skipped $s"; done
for key in $(printf '%s\n' "${!NOTE[@]}" "${!FINDING[@]}" | sort -u); do
  f=$WORK/err.${key%%/*}.${key#*/}; f=${f/:/_}
  [[ -s $f ]] || continue
  echo "note $key wrote to stderr (the programs are race-free), last run's first lines:"
  head -n 3 "$f" | sed 's/^/    /'
done
exit "$CRASHED"
