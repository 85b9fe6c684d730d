#!/bin/sh
# Error cases of the concwatch-cc / concwatch-c++ compiler wrappers.
#
#   cc_errors_test.sh BINDIR STUB_LIB FIXTURES SCRATCH
#
# BINDIR holds the wrappers; STUB_LIB is a stand-in libconcwatch.so.  Every
# error of the wrapper itself is exactly one line "concwatch-cc: ..." (or
# "concwatch-c++: ...") on stderr, nothing on stdout, exit status 2.
set -u

bindir=$1 stub=$2 fixtures=$3 scratch=$4
failures=0
cc_wrapper=$bindir/concwatch-cc cxx_wrapper=$bindir/concwatch-c++

rm -rf "$scratch" && mkdir -p "$scratch" || exit 1
scratch=$(cd "$scratch" && pwd -P)
cd "$scratch" || exit 1
out=$scratch/stdout err=$scratch/stderr

fail() { echo "FAIL: $*"; failures=$((failures + 1)); }

# Bounded in time: a wrapper that runs itself must not go on forever.
run() {
    timeout 60 env -u LD_PRELOAD -u CONCWATCH_LIB -u CONCWATCH_CC -u CONCWATCH_CXX \
        -u CONCWATCH_CC_ACTIVE "$@" >"$out" 2>"$err"
    status=$?
    [ "$status" -ne 124 ] || echo "(timed out after 60 s)" >>"$err"
}

# expect_error PREFIX TEXT WHAT
expect_error() {
    [ "$status" -eq 2 ] || fail "$3: exit status $status, want 2 (stderr: $(cat "$err"))"
    [ "$(wc -l <"$err")" -eq 1 ] || fail "$3: want one stderr line, got:
$(cat "$err")"
    grep -q "^$1: .*$2" "$err" || fail "$3: stderr '$(cat "$err")' lacks '$1: ...$2'"
    [ ! -s "$out" ] || fail "$3: unexpected stdout: $(cat "$out")"
}

src=$fixtures/cc_race_free.c

# --- missing compiler ---------------------------------------------------------
run env CONCWATCH_LIB="$stub" CONCWATCH_CC=no-such-compiler-concwatch "$cc_wrapper" -c "$src" -o x.o
expect_error concwatch-cc "compiler 'no-such-compiler-concwatch' not found" "missing compiler (name)"
run env CONCWATCH_LIB="$stub" CONCWATCH_CC="$scratch/nowhere/gcc" "$cc_wrapper" "$src" -o x
expect_error concwatch-cc "not found" "missing compiler (path)"
run env CONCWATCH_LIB="$stub" CONCWATCH_CXX=no-such-compiler-concwatch "$cxx_wrapper" -c x.cpp
expect_error concwatch-c++ "compiler 'no-such-compiler-concwatch' not found" "missing C++ compiler"
# The default compiler is looked up on PATH.
run env CONCWATCH_LIB="$stub" PATH="$scratch/empty-path" "$cc_wrapper" -c "$src" -o x.o
expect_error concwatch-cc "compiler 'cc' not found" "no cc on PATH"

# --- missing library ------------------------------------------------------------
run env CONCWATCH_LIB="$scratch/nowhere/libconcwatch.so" CONCWATCH_CC=gcc "$cc_wrapper" -c "$src" -o x.o
expect_error concwatch-cc "cannot find libconcwatch.so" "CONCWATCH_LIB pointing nowhere"
mkdir -p alone
cp "$cc_wrapper" alone/concwatch-cc
run env CONCWATCH_CC=gcc alone/concwatch-cc -c "$src" -o x.o
expect_error concwatch-cc "cannot find libconcwatch.so at $scratch/alone/libconcwatch.so" \
    "no library next to the wrapper"

# --- a wrapper that would run itself ------------------------------------------
run env CONCWATCH_LIB="$stub" CONCWATCH_CC="$cc_wrapper" "$cc_wrapper" -c "$src" -o x.o
expect_error concwatch-cc "is a concwatch wrapper again" "CONCWATCH_CC is the wrapper"
mkdir -p loop
ln -sf "$cc_wrapper" loop/cc
run env CONCWATCH_LIB="$stub" PATH="$scratch/loop:$PATH" "$cc_wrapper" "$src" -o x
expect_error concwatch-cc "is a concwatch wrapper again" "cc on PATH is the wrapper"

# --- an option that would bring the TSan runtime back ---------------------------
run env CONCWATCH_LIB="$stub" CONCWATCH_CC=gcc "$cc_wrapper" -static-libtsan "$src" -o x
expect_error concwatch-cc "-static-libtsan" "-static-libtsan"

# --- the compiler's own failures are passed through ------------------------------
printf 'int main(void) { return 0 }\n' >broken.c
run env CONCWATCH_LIB="$stub" CONCWATCH_CC=gcc "$cc_wrapper" broken.c -o broken
[ "$status" -eq 1 ] || fail "compiler error: exit status $status, want gcc's 1"
grep -q "error" "$err" || fail "compiler error: gcc's message is missing: $(cat "$err")"
[ ! -e broken ] || fail "compiler error: an output was produced"
run env CONCWATCH_LIB="$stub" CONCWATCH_CC=gcc "$cc_wrapper" "$scratch/no-such-file.c" -o x
[ "$status" -eq 1 ] || fail "missing source file: exit status $status, want gcc's 1"

# No temporary directories left behind by gcc links.
mkdir -p tmp
run env CONCWATCH_LIB="$stub" CONCWATCH_CC=gcc TMPDIR="$scratch/tmp" "$cc_wrapper" \
    -pthread "$src" -o prog
[ "$status" -eq 0 ] || fail "gcc link with TMPDIR: exit status $status: $(cat "$err")"
[ -z "$(ls -A tmp)" ] || fail "gcc link left files in TMPDIR: $(ls -A tmp)"
run env CONCWATCH_LIB="$stub" CONCWATCH_CC=gcc TMPDIR="$scratch/tmp" "$cc_wrapper" broken.c -o x
[ -z "$(ls -A tmp)" ] || fail "failed gcc link left files in TMPDIR: $(ls -A tmp)"
run env CONCWATCH_LIB="$stub" CONCWATCH_CC=gcc TMPDIR="$scratch/no-such-dir" "$cc_wrapper" \
    -pthread "$src" -o prog
expect_error concwatch-cc "cannot create a temporary directory" "unusable TMPDIR"

if [ "$failures" -ne 0 ]; then
    echo "$failures check(s) failed"
    exit 1
fi
echo "all concwatch-cc error checks passed"
