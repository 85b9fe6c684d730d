#!/bin/sh
# Tests for the concwatch-cc / concwatch-c++ compiler wrappers.
#
#   cc_wrapper_test.sh KIND FAMILY LANG BINDIR LIB FIXTURES SCRATCH
#
# KIND    stub: build every kind of output with CONCWATCH_LIB=LIB, a stand-in
#               for libconcwatch.so that defines the __tsan_* entry points
#               (tests/cli/fixtures/tsan_stub.c), check the results with
#               nm/readelf and run them against the stand-in.
#         real: build against BINDIR/libconcwatch.so, found by the wrapper
#               next to itself (LIB is that file), and run the programs with
#               it.  Until the library exports the __tsan_* functions only the
#               builds that do not link it are checked, and the test exits 77
#               (skipped) after saying so.
# FAMILY  gcc or clang; LANG c (concwatch-cc) or c++ (concwatch-c++).
# Exit status: 0 all checks passed, 1 a check failed, 77 skipped (compiler
# missing, or the real runtime is not there yet).
set -u

kind=$1 family=$2 lang=$3 bindir=$4 lib=$5 fixtures=$6 scratch=$7
failures=0

case $family/$lang in
gcc/c) compiler=gcc ;;
gcc/c++) compiler=g++ ;;
clang/c) compiler=clang ;;
clang/c++) compiler=clang++ ;;
*) echo "usage: bad FAMILY/LANG '$family/$lang'"; exit 1 ;;
esac
if ! command -v "$compiler" >/dev/null 2>&1; then
    echo "SKIP: $compiler is not installed"
    exit 77
fi

if [ "$lang" = c ]; then
    wrapper_name=concwatch-cc
    main_src=$fixtures/cc_race_free.c
else
    wrapper_name=concwatch-c++
    main_src=$fixtures/cxx_race_free.cpp
fi
wrapper=$bindir/$wrapper_name
shlib_src=$fixtures/cc_shlib.c

rm -rf "$scratch" && mkdir -p "$scratch" || exit 1
scratch=$(cd "$scratch" && pwd -P)
cd "$scratch" || exit 1
out=$scratch/stdout err=$scratch/stderr

fail() { echo "FAIL: $*"; failures=$((failures + 1)); }

# The environment every command runs in: nothing inherited that could change
# how programs are linked or loaded; and a time limit.
clean_env() {
    timeout 120 env -u LD_PRELOAD -u LD_LIBRARY_PATH -u CONCWATCH_LIB -u CONCWATCH_CC \
        -u CONCWATCH_CXX -u CONCWATCH_OPTIONS -u CONCWATCH_CC_ACTIVE "$@"
}

# wrap ARGS...: runs the wrapper (with CONCWATCH_LIB=$use_lib when set) and the
# compiler of this test; sets $status, output in $out/$err.
use_lib=
wrap() {
    if [ -n "$use_lib" ]; then
        clean_env CONCWATCH_LIB="$use_lib" CONCWATCH_CC="$compiler" \
            CONCWATCH_CXX="$compiler" "$wrapper" "$@" >"$out" 2>"$err"
    else
        clean_env CONCWATCH_CC="$compiler" CONCWATCH_CXX="$compiler" \
            "$wrapper" "$@" >"$out" 2>"$err"
    fi
    status=$?
}

# build WHAT ARGS...: a wrapper run that must succeed.
build() {
    what=$1
    shift
    wrap "$@"
    if [ "$status" -ne 0 ]; then
        fail "$what: $wrapper_name $* exited $status:
$(cat "$err")"
        return 1
    fi
    return 0
}

# The directory and SONAME that programs must end up with.
lib_dir() { (cd "$(dirname "$1")" && pwd -P); }
soname_of() {
    name=$(readelf -d "$1" | sed -n 's/.*(SONAME).*\[\(.*\)\].*/\1/p')
    if [ -n "$name" ]; then echo "$name"; else basename "$1"; fi
}

needed_of() { readelf -d "$1" | sed -n 's/.*(NEEDED).*\[\(.*\)\].*/\1/p'; }
runpath_of() { readelf -d "$1" | sed -n 's/.*(\(RUNPATH\|RPATH\)).*\[\(.*\)\].*/\2/p'; }

# Instrumentation happened: the file refers to __tsan_* functions it does
# not define.  NM_FLAGS: "" for objects, "-D" for linked files.
expect_instrumented() {
    file=$1 nm_flags=$2 what=$3
    undefined=$(nm $nm_flags --undefined-only "$file" 2>/dev/null | awk '{print $NF}')
    echo "$undefined" | grep -qx '__tsan_func_entry' ||
        fail "$what: $file has no undefined __tsan_func_entry (not instrumented?)"
    echo "$undefined" | grep -Eqx '__tsan_(unaligned_)?(read|write)[0-9]+' ||
        fail "$what: $file has no undefined __tsan_readN/__tsan_writeN (not instrumented?)"
}

# No ThreadSanitizer runtime of either compiler inside or needed.
expect_no_tsan_runtime() {
    file=$1 what=$2
    if needed_of "$file" | grep -qi tsan; then
        fail "$what: $file needs a ThreadSanitizer library: $(needed_of "$file" | tr '\n' ' ')"
    fi
    if nm "$file" 2>/dev/null | grep -Eq ' [TtWw] __tsan_(init|read4|func_entry)$'; then
        fail "$what: $file has the ThreadSanitizer runtime linked in"
    fi
}

# An executable linked by the wrapper: needs the library, finds it through
# its run path, no TSan runtime, instrumented.
expect_program() {
    file=$1 what=$2
    [ -f "$file" ] || { fail "$what: $file was not created"; return; }
    needed_of "$file" | grep -qxF "$want_soname" ||
        fail "$what: NEEDED of $file lacks $want_soname: $(needed_of "$file" | tr '\n' ' ')"
    expect_runpath "$file" "$what"
    expect_no_tsan_runtime "$file" "$what"
    expect_instrumented "$file" -D "$what"
}

expect_runpath() {
    runpath_of "$1" | tr ':' '\n' | grep -qxF "$want_dir" ||
        fail "$2: RUNPATH/RPATH of $1 is '$(runpath_of "$1")', lacks $want_dir"
}

# A shared object built by the wrapper: instrumented, run path set, and no
# runtime of its own (its __tsan_* references are resolved at run time).
expect_shared_object() {
    file=$1 what=$2
    [ -f "$file" ] || { fail "$what: $file was not created"; return; }
    if needed_of "$file" | grep -qxF "$want_soname"; then
        fail "$what: $file should not itself need $want_soname"
    fi
    expect_runpath "$file" "$what"
    expect_no_tsan_runtime "$file" "$what"
    expect_instrumented "$file" -D "$what"
}

# run_program WHAT FILE [ENV...]: the program prints "ok" and exits 0.
run_program() {
    what=$1 file=$2
    shift 2
    clean_env "$@" "$file" >"$out" 2>"$err"
    status=$?
    if [ "$status" -ne 0 ] || ! grep -qx ok "$out"; then
        fail "$what: $file exited $status, stdout '$(cat "$out")', stderr:
$(cat "$err")"
        return 1
    fi
    return 0
}

# With the stand-in library: it must have been called.
expect_stub_called() {
    grep -Eq '^tsan-stub: init=[1-9][0-9]* accesses=[1-9][0-9]*$' "$err" ||
        fail "$1: the instrumentation did not reach the stand-in library (stderr: $(cat "$err"))"
}

flags="-g -O1 -pthread"

# --- builds that do not link the library: work in both kinds -------------------
if [ "$kind" = stub ]; then
    use_lib=$lib
fi
want_dir=$(lib_dir "$lib")
want_soname=$(soname_of "$lib")

# Compile only: -c, -S, -E.
if build "compile only (-c)" $flags -c "$main_src" -o main.o; then
    expect_instrumented main.o "" "compile only (-c)"
    [ ! -e a.out ] || fail "compile only (-c): a link happened (a.out)"
    if [ "$kind" = stub ]; then
        missing=$(nm --undefined-only main.o | awk '$NF ~ /^__tsan_/ {print $NF}' |
            while read -r sym; do
                nm -D --defined-only "$lib" | awk '{print $NF}' | grep -qxF "$sym" || echo "$sym"
            done)
        [ -z "$missing" ] || fail "tsan_stub.c lacks: $missing"
    fi
fi
if build "compile only (-S)" $flags -S "$main_src" -o main.s; then
    grep -q '__tsan_func_entry' main.s || fail "compile only (-S): no __tsan_func_entry in main.s"
fi
if build "preprocess only (-E)" -E "$main_src"; then
    grep -q 'main' "$out" || fail "preprocess only (-E): no preprocessed source on stdout"
fi
[ ! -e a.out ] || fail "compile-only commands linked something (a.out)"

# Commands without input files must not turn into links.
if build "--version" --version; then
    grep -q . "$out" || fail "--version printed nothing"
fi
build "-v" -v
[ ! -e a.out ] || fail "--version/-v linked something (a.out)"

# A shared library, one command, and compile then link.
if build "shared library (one command)" -g -fPIC -shared "$shlib_src" -o libcwshared.so; then
    expect_shared_object libcwshared.so "shared library (one command)"
fi
if build "shared library (compile)" -g -fPIC -c "$shlib_src" -o shlib.o &&
   build "shared library (link only)" -shared shlib.o -o libcwshared2.so; then
    expect_shared_object libcwshared2.so "shared library (link only)"
fi

# The wrapper's exit status is the compiler's.
printf 'int main(void) { return syntax error; }\n' >broken.c
wrap -c broken.c -o broken.o
[ "$status" -eq 1 ] || fail "compiler error: exit status $status, want the compiler's 1"
if grep -q "^concwatch-c" "$err"; then
    fail "compiler error: the wrapper added its own message: $(cat "$err")"
fi

if [ "$kind" = real ] &&
   ! nm -D --defined-only "$lib" 2>/dev/null | awk '{print $NF}' | grep -qx __tsan_read4; then
    if [ "$failures" -ne 0 ]; then
        echo "$failures check(s) failed"
        exit 1
    fi
    echo "SKIP: $lib does not export __tsan_read4 yet, so programs cannot be" \
        "linked or run against the real runtime; only compile-only and shared-library" \
        "builds were checked"
    exit 77
fi

# --- executables --------------------------------------------------------------
# Compile only, then link only.
if [ -f main.o ] && build "link only" -pthread main.o -o prog_separate; then
    expect_program prog_separate "compile then link"
    run_program "compile then link" ./prog_separate &&
        [ "$kind" = stub ] && expect_stub_called "compile then link"
fi

# Compile and link in one command, to a path with a space in it.
mkdir -p "out dir"
if build "compile and link" $flags "$main_src" -o "out dir/prog_one"; then
    expect_program "out dir/prog_one" "compile and link"
    run_program "compile and link" "./out dir/prog_one" &&
        [ "$kind" = stub ] && expect_stub_called "compile and link"
fi

# An executable that uses the instrumented shared library.
if [ -f libcwshared.so ] &&
   build "executable with shared library" $flags -DWITH_SHLIB "$main_src" \
       -L. -lcwshared -Wl,-rpath,"$scratch" -o prog_shlib; then
    expect_program prog_shlib "executable with shared library"
    needed_of prog_shlib | grep -qx libcwshared.so ||
        fail "executable with shared library: NEEDED lacks libcwshared.so"
    # The library is needed after the program's own libraries, so that the
    # loader runs its constructors first.
    needed_of prog_shlib | grep -xF -e libcwshared.so -e "$want_soname" | tr '\n' ' ' |
        grep -qx "libcwshared.so $want_soname " ||
        fail "executable with shared library: $want_soname is not needed after libcwshared.so:" \
            "$(needed_of prog_shlib | tr '\n' ' ')"
    run_program "executable with shared library" ./prog_shlib &&
        [ "$kind" = stub ] && expect_stub_called "executable with shared library"
fi

if [ "$kind" = real ]; then
    # The same program also runs with the library preloaded.
    if [ -f "out dir/prog_one" ]; then
        run_program "under LD_PRELOAD" "./out dir/prog_one" LD_PRELOAD="$lib"
    fi
else
    # A response file, as build tools write for long link lines.
    printf '%s\n' "-pthread main.o" "-o prog_rsp" >link.rsp
    if [ -f main.o ] && build "response file" @link.rsp; then
        expect_program prog_rsp "response file"
    fi

    # Without CONCWATCH_LIB the library is the one next to the wrapper, found
    # through symbolic links to the wrapper.
    mkdir -p bin links
    cp "$bindir/$wrapper_name" bin/ && cp "$lib" bin/libconcwatch.so
    ln -sf "../bin/$wrapper_name" "links/my-$wrapper_name"
    saved_wrapper=$wrapper saved_dir=$want_dir
    wrapper=$scratch/links/my-$wrapper_name use_lib='' want_dir=$scratch/bin
    if build "library next to the wrapper" $flags "$main_src" -o prog_nextto; then
        expect_program prog_nextto "library next to the wrapper"
        run_program "library next to the wrapper" ./prog_nextto &&
            expect_stub_called "library next to the wrapper"
    fi
    wrapper=$saved_wrapper want_dir=$saved_dir use_lib=$lib

    # A relative CONCWATCH_LIB becomes an absolute run path.
    rel=$(basename "$(dirname "$lib")")/$(basename "$lib")
    (cd "$(dirname "$(dirname "$lib")")" &&
        clean_env CONCWATCH_LIB="$rel" CONCWATCH_CC="$compiler" CONCWATCH_CXX="$compiler" \
            "$wrapper" -pthread "$scratch/main.o" -o "$scratch/prog_rel") >"$out" 2>"$err" ||
        fail "relative CONCWATCH_LIB: link failed: $(cat "$err")"
    [ -f prog_rel ] && expect_program prog_rel "relative CONCWATCH_LIB"
fi

if [ "$failures" -ne 0 ]; then
    echo "$failures check(s) failed"
    exit 1
fi
echo "all $wrapper_name checks passed ($kind library, $compiler)"
