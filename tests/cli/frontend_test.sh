#!/bin/sh
# Tests for the `concwatch` front end.
#
#   frontend_test.sh CONCWATCH PRINTENV SHIM OTHER_PRELOAD SCRATCH_DIR
#
# PRINTENV prints LD_PRELOAD, CONCWATCH_OPTIONS, whether SHIM got preloaded
# and its arguments; SHIM stands in for libconcwatch.so.
set -u

concwatch=$1 printenv=$2 shim=$3 other=$4 scratch=$5
failures=0

rm -rf "$scratch" && mkdir -p "$scratch" || exit 1
out=$scratch/stdout err=$scratch/stderr

fail() { echo "FAIL: $*"; failures=$((failures + 1)); }

# run CMD...: runs with a clean concwatch environment, sets $status.
run() {
    env -u LD_PRELOAD -u CONCWATCH_OPTIONS -u CONCWATCH_LIB "$@" >"$out" 2>"$err"
    status=$?
}

expect_status() {
    [ "$status" -eq "$1" ] || fail "$2: exit status $status, want $1 (stderr: $(cat "$err"))"
}

# The program's output must contain this exact line.
expect_line() {
    grep -qxF -- "$1" "$out" || fail "$2: no line '$1' in output:
$(cat "$out")"
}

# Our own errors: exactly one line "concwatch: ...<text>...", nothing on stdout.
expect_error() {
    expect_status "$1" "$3"
    [ "$(wc -l <"$err")" -eq 1 ] || fail "$3: want one stderr line, got:
$(cat "$err")"
    grep -q "^concwatch: .*$2" "$err" || fail "$3: stderr '$(cat "$err")' lacks '$2'"
    [ ! -s "$out" ] || fail "$3: unexpected stdout: $(cat "$out")"
}

# --- informational flags ---------------------------------------------------
run "$concwatch" --version
expect_status 0 "--version"
[ "$(cat "$out")" = "concwatch 0.1.0" ] || fail "--version printed '$(cat "$out")'"

for flag in -h --help; do
    run "$concwatch" $flag
    expect_status 0 "$flag"
    grep -q "^usage: concwatch" "$out" || fail "$flag: no usage on stdout"
done

# --- usage errors -----------------------------------------------------------
run "$concwatch"
expect_error 2 "missing program" "no arguments"
run "$concwatch" --json out.json
expect_error 2 "missing program" "flags but no program"
run "$concwatch" --bogus "$printenv"
expect_error 2 "unknown option '--bogus'" "unknown flag"
run "$concwatch" -o novalue "$printenv"
expect_error 2 "key=value" "-o without ="
run "$concwatch" -o =1 "$printenv"
expect_error 2 "key=value" "-o with an empty key"
run "$concwatch" --json= "$printenv"
expect_error 2 "key=value" "--json with an empty value"
run "$concwatch" --log
expect_error 2 "needs a value" "--log without a value"
run env CONCWATCH_LIB="$shim" "$concwatch" --log "/tmp/a b" "$printenv"
expect_error 2 "spaces" "option value with a space"
run env CONCWATCH_LIB="$shim" "$concwatch" -o json=a,b "$printenv"
expect_error 2 "commas" "option value with a comma"

# --- program and library lookup failures ------------------------------------
run env CONCWATCH_LIB="$shim" "$concwatch" no-such-program-concwatch-test
expect_error 127 "no-such-program-concwatch-test: command not found" "missing program"
run env CONCWATCH_LIB="$shim" "$concwatch" "$scratch/no-such-file"
expect_error 127 "command not found" "missing program path"
touch "$scratch/not-executable"
run env CONCWATCH_LIB="$shim" "$concwatch" "$scratch/not-executable"
expect_error 2 "cannot run" "non-executable program"
run env CONCWATCH_LIB=/nonexistent/libconcwatch.so "$concwatch" "$printenv"
expect_error 2 "cannot find libconcwatch.so" "CONCWATCH_LIB pointing nowhere"

# Without CONCWATCH_LIB the shim is looked up next to the concwatch binary.
mkdir -p "$scratch/bin"
cp "$concwatch" "$scratch/bin/concwatch"
run "$scratch/bin/concwatch" "$printenv"
expect_error 2 "cannot find libconcwatch.so" "no shim next to the binary"
cp "$shim" "$scratch/bin/libconcwatch.so"
run "$scratch/bin/concwatch" "$printenv"
expect_status 0 "shim next to the binary"
expect_line "LD_PRELOAD=$(cd "$scratch/bin" && pwd -P)/libconcwatch.so" "shim next to the binary"
expect_line "shim=loaded" "shim next to the binary"
expect_line "CONCWATCH_OPTIONS=(unset)" "no flags leave CONCWATCH_OPTIONS alone"

# --- the environment handed to the program ---------------------------------
shim_abs=$(cd "$(dirname "$shim")" && pwd -P)/$(basename "$shim")

run env CONCWATCH_LIB="$shim" "$concwatch" --json out.json --log out.log \
    -o a=1 --option b=2 -oc=3 --option=d=4 --json=j2 --log=l2 -- \
    "$printenv" first "second arg" --json x
expect_status 0 "all flags"
expect_line "LD_PRELOAD=$shim_abs" "all flags"
expect_line "CONCWATCH_OPTIONS=json=out.json log_path=out.log a=1 b=2 c=3 d=4 json=j2 log_path=l2" "all flags"
expect_line "shim=loaded" "all flags"
expect_line "arg[1]=first" "all flags"
expect_line "arg[2]=second arg" "all flags"
expect_line "arg[3]=--json" "program arguments are not ours"
expect_line "arg[4]=x" "program arguments are not ours"

# Existing values are kept: our shim first, our options last.
run env CONCWATCH_LIB="$shim" LD_PRELOAD="$other" CONCWATCH_OPTIONS="x=9 y=8" \
    "$concwatch" -o z=7 "$printenv"
expect_status 0 "existing environment"
expect_line "LD_PRELOAD=$shim_abs:$other" "existing LD_PRELOAD"
expect_line "CONCWATCH_OPTIONS=x=9 y=8 z=7" "existing CONCWATCH_OPTIONS"

run env CONCWATCH_LIB="$shim" CONCWATCH_OPTIONS="x=9" "$concwatch" "$printenv"
expect_line "CONCWATCH_OPTIONS=x=9" "no flags keep CONCWATCH_OPTIONS"

# A relative CONCWATCH_LIB becomes absolute (the program may chdir).
run sh -c 'cd "$(dirname "$1")" && CONCWATCH_LIB=./$(basename "$1") "$2" "$3"' \
    sh "$shim" "$concwatch" "$printenv"
expect_line "LD_PRELOAD=$shim_abs" "relative CONCWATCH_LIB"

# The program is found on PATH and its exit status is passed through.
run env CONCWATCH_LIB="$shim" PATH="$(dirname "$printenv"):$PATH" \
    "$concwatch" "$(basename "$printenv")" --exit 7
expect_status 7 "exit status pass-through"
expect_line "shim=loaded" "program from PATH"

if [ "$failures" -ne 0 ]; then
    echo "$failures check(s) failed"
    exit 1
fi
echo "all front-end checks passed"
