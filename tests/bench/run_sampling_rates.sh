#!/usr/bin/env bash
# run_sampling_rates.sh: how often race sampling (hardware watchpoints) reports a data race
# in uninstrumented programs, against the targets of the race-sampling issue.
#
#   tests/bench/run_sampling_rates.sh [--runs N] [--no-build]
#
# Each case runs N times (default 100) under LD_PRELOAD=libconcwatch.so with default options
# (race_sampling=1) and a fresh json path per run; a run "reports a data race" when its
# report has a finding with "kind":"data-race".  Cases and targets:
#   every program in build/examples: counter_race >= 95% of runs, all others 0 runs
#     (those with an "EXPECT: deadlock" line run with deadlock_timeout_ms=300);
#   build/fixtures/sampled heap 1: >= 80%; sampled global 0.3: rate shown, no target;
#   sampled mutex|atomic|spin|private|readonly 0.3: 0 runs.
# The table: case, expected (race / none), runs reporting a data race, runs whose race is
# on the expected variable (counter, hits, a heap block), abnormal runs, PASS/FAIL.  A run
# is abnormal if it timed out (TIMEOUT), was killed by a signal, exited other than 0, 66
# (findings) or 67 (deadlock), or left no valid JSON report; a case with an abnormal run
# fails (its report may be missing), and the commands and output are listed at the end.
#
# Environment: BUILD_DIR (default: build/ at the repo root), CONCWATCH_SO (default:
# $BUILD_DIR/libconcwatch.so), TIMEOUT per run in seconds (default: 30), CONCWATCH_EXTRA
# (options appended to every run's CONCWATCH_OPTIONS, default none).  A configured
# BUILD_DIR is built first (cmake --build) unless --no-build; libconcwatch.so (and
# concwatch-symbolizer) are copied at the start, so a rebuild during the run changes nothing.
# Exit status: 0 when every target is met, 1 otherwise, 2 on a usage or setup error.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
BUILD_DIR=${BUILD_DIR:-$ROOT/build}
CONCWATCH_SO=${CONCWATCH_SO:-$BUILD_DIR/libconcwatch.so}
TIMEOUT=${TIMEOUT:-30}
EXTRA=${CONCWATCH_EXTRA:-}

RUNS=100 BUILD=1
while (($#)); do
  case $1 in
    --runs) RUNS=${2:?--runs needs a number}; shift ;;
    --no-build) BUILD=0 ;;
    -h|--help) sed -n '2,26p' "$0"; exit 0 ;;
    *) echo "run_sampling_rates: unknown argument: $1 (try --help)" >&2; exit 2 ;;
  esac
  shift
done
[[ $RUNS =~ ^[1-9][0-9]*$ ]] || { echo "run_sampling_rates: --runs wants a positive number" >&2; exit 2; }
command -v jq >/dev/null || { echo "run_sampling_rates: needs jq (apt-get install jq)" >&2; exit 2; }

WORK=$(mktemp -d /tmp/sampling_rates.XXXXXX)
trap 'rm -rf "$WORK"' EXIT
source "$ROOT/tests/bench/common.sh"
bench_prepare_library
((HAVE_CW)) || { say "run_sampling_rates: no $CONCWATCH_SO (build the project first)"; exit 2; }

# ---- cases: name, expectation, command, extra options, jq filter of an on-target race --
CASES=()
declare -A EXPECT=() CMD=() OPTS=() ONTARGET=() MINRATE=()
add() {  # add NAME race|none|rate MIN_PERCENT ONTARGET_FILTER OPTS COMMAND...
  local name=$1; CASES+=("$name"); EXPECT[$name]=$2 MINRATE[$name]=$3 ONTARGET[$name]=$4
  OPTS[$name]=$5; shift 5; CMD[$name]="$*"
}
EX=$BUILD_DIR/examples
[[ -d $EX ]] || { say "run_sampling_rates: no $EX"; exit 2; }
for src in "$ROOT"/examples/*.c; do
  name=$(basename "$src" .c)
  [[ -x $EX/$name ]] || { say "run_sampling_rates: $EX/$name not built"; exit 2; }
  opts=
  grep -q 'EXPECT: deadlock$' "$src" && opts="deadlock_timeout_ms=300"
  if [[ $name == counter_race ]]; then
    add "$name" race 95 '.location.name == "counter"' "$opts" "$EX/$name"
  else
    add "$name" none 0 false "$opts" "$EX/$name"
  fi
done
FX=$BUILD_DIR/fixtures/sampled
[[ -x $FX ]] || { say "run_sampling_rates: $FX not built"; exit 2; }
add "sampled heap 1" race 80 '.location.kind == "heap"' "" "$FX" heap 1
add "sampled global 0.3" rate - '.location.name == "hits"' "" "$FX" global 0.3
for m in mutex atomic spin private readonly; do
  add "sampled $m 0.3" none 0 false "" "$FX" "$m" 0.3
done

# ---- run -------------------------------------------------------------------------------
declare -A RACES=() ONT=() BAD=() NOTSAMPLED=()
ABNORMAL=()
say "run_sampling_rates: $RUNS runs x ${#CASES[@]} cases, library $CONCWATCH_SO (copied)"
t_start=$(date +%s)
for c in "${CASES[@]}"; do
  RACES[$c]=0 ONT[$c]=0 BAD[$c]=0 NOTSAMPLED[$c]=0
  read -r -a cmd <<<"${CMD[$c]}"
  for ((r = 1; r <= RUNS; r++)); do
    d=$WORK/run; rm -rf "$d"; mkdir -p "$d"
    read -r -a o <<<"json=$d/report.%p.json ${OPTS[$c]} $EXTRA"; opts="${o[*]}"
    rc=0
    timeout "$TIMEOUT" env "CONCWATCH_OPTIONS=$opts" "LD_PRELOAD=$SO" "${cmd[@]}" \
      >"$d/out" 2>"$d/err" || rc=$?
    why=
    if ((rc == 124)); then why="timeout>${TIMEOUT}s"
    elif ((rc > 128)); then why="killed by signal $((rc - 128))"
    elif ((rc != 0 && rc != 66 && rc != 67)); then why="exit $rc"
    fi
    shopt -s nullglob; reports=("$d"/report.*.json); shopt -u nullglob
    if ((${#reports[@]} == 0)); then
      why+="${why:+, }no JSON report"
      n=0 ont=0 ns=0
    elif ! counts=$(jq -s -r "[.[].findings[] | select(.kind == \"data-race\")]
          | \"\(length) \(map(select(${ONTARGET[$c]})) | length) \(map(select(.sampled != true)) | length)\"" \
          "${reports[@]}" 2>"$d/jq.err"); then
      why+="${why:+, }invalid JSON report ($(head -c 100 "$d/jq.err"))"
      n=0 ont=0 ns=0
    else
      read -r n ont ns <<<"$counts"
    fi
    ((n > 0)) && RACES[$c]=$((RACES[$c] + 1))
    ((ont > 0)) && ONT[$c]=$((ONT[$c] + 1))
    ((ns > 0)) && NOTSAMPLED[$c]=$((NOTSAMPLED[$c] + 1))
    if [[ -n $why ]]; then
      BAD[$c]=$((BAD[$c] + 1))
      ABNORMAL+=("$c run $r: $why
    command: timeout $TIMEOUT env CONCWATCH_OPTIONS='$opts' LD_PRELOAD=$CONCWATCH_SO ${CMD[$c]}
    stdout: $(head -c 300 "$d/out" | tr '\n' '|')
    stderr: $(tail -n 8 "$d/err" | head -c 800 | sed '2,$s/^/            /')")
      say "  $c run $r: $why"
    fi
  done
  say "  $c: ${RACES[$c]}/$RUNS runs reported a data race ($(( $(date +%s) - t_start ))s so far)"
done

# ---- report ----------------------------------------------------------------------------
echo
echo "# sampling rates $(date -u '+%Y-%m-%d %H:%M UTC') $(uname -m) $(nproc) cpus runs=$RUNS${EXTRA:+ extra options: $EXTRA}"
echo "# $LIBINFO"
row() { printf '%-28s %-8s %-12s %-10s %-9s %-10s %s\n' "$@" | sed 's/ *$//'; }
row case expected data_race on_target abnormal target verdict
FAILED=0
for c in "${CASES[@]}"; do
  n=${RACES[$c]} bad=${BAD[$c]}
  case ${EXPECT[$c]} in
    race) target=">=${MINRATE[$c]}%"
          ok=$(( n * 100 >= MINRATE[$c] * RUNS )) ;;
    none) target="0 runs"; ok=$(( n == 0 )) ;;
    rate) target="-"; ok=1 ;;
  esac
  exp=${EXPECT[$c]}; [[ $exp == rate ]] && exp=race
  verdict=PASS
  ((ok)) || verdict="FAIL"
  ((bad > 0)) && { verdict="FAIL"; ((ok)) && verdict+=" (abnormal runs)"; }
  [[ ${EXPECT[$c]} == rate && $verdict == PASS ]] && verdict="rate $(awk -v a="$n" -v b="$RUNS" 'BEGIN {printf "%.0f%%", 100 * a / b}'), no target"
  [[ $verdict == FAIL* ]] && FAILED=1
  ont=-; [[ ${EXPECT[$c]} != none ]] && ont="${ONT[$c]}/$RUNS"
  note=; ((NOTSAMPLED[$c] > 0)) && note=" (${NOTSAMPLED[$c]} runs had a data race without \"sampled\":true)"
  row "$c" "$exp" "$n/$RUNS" "$ont" "$bad" "$target" "$verdict$note"
done
if ((${#ABNORMAL[@]})); then
  echo
  echo "abnormal runs (${#ABNORMAL[@]}):"
  for a in "${ABNORMAL[@]}"; do echo "  $a"; done
fi
echo "total time: $(( $(date +%s) - t_start ))s; result: $( ((FAILED)) && echo 'some targets NOT met' || echo 'all targets met')"
exit "$FAILED"
