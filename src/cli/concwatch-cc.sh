#!/bin/sh
# concwatch-cc / concwatch-c++: drop-in compiler wrappers for data-race
# detection (see "Data races: building with concwatch-cc" in docs/usage.md).
#
#   CC=concwatch-cc CXX=concwatch-c++ make
#
# They run the real compiler ($CONCWATCH_CC, default cc; $CONCWATCH_CXX,
# default c++) with the compilers' ThreadSanitizer instrumentation
# (-fsanitize=thread), but make the link use libconcwatch.so instead of the
# ThreadSanitizer runtime, and give executables and shared libraries a
# RUNPATH to the library's directory.  Every argument is passed through
# unchanged; the exit status is the compiler's.  Errors of the wrapper
# itself: one line "concwatch-cc: ..." on stderr, exit status 2.
#
# What is added, by what the command does:
#   compile only (-c, -S, -E, -M, -MM, -fsyntax-only, ...), partial link
#   (-r), or no input at all (--version, -v, -print-*, ...):
#       CC -fsanitize=thread ARGS...
#   executable:
#       CC -fsanitize=thread DROP -Xlinker -rpath -Xlinker LIBDIR ARGS...
#          -Xlinker --push-state -Xlinker --no-as-needed -Xlinker LIB -Xlinker --pop-state
#   shared object (-shared):
#       CC -fsanitize=thread DROP -Xlinker -rpath -Xlinker LIBDIR ARGS...
#     Shared objects get no dependency on the library: their __tsan_*
#     references are resolved when they are loaded, against the
#     libconcwatch.so of the executable or a preloaded one.
# DROP keeps the instrumentation but not the compiler's ThreadSanitizer
# runtime:
#   clang: -fno-sanitize-link-runtime
#   gcc:   -LTMPDIR.  gcc links its runtime with "-ltsan" and has no flag to
#          stop that, so TMPDIR, a fresh private directory searched first,
#          holds a libtsan.so that is an empty linker script.  (gcc still
#          links libtsan_preinit.o, which calls __tsan_init from the
#          executable's .preinit_array.)
# The library goes after all the arguments, so that its DT_NEEDED entry comes
# after those of the program's own libraries: the dynamic loader then runs
# its constructors before theirs.
#
# The library is $CONCWATCH_LIB if set, else libconcwatch.so in the directory
# of this script (symlinks resolved).
set -u

case ${0##*/} in
*++*)
    me=concwatch-c++
    cc=${CONCWATCH_CXX:-c++}
    cc_var=CONCWATCH_CXX ;;
*)
    me=concwatch-cc
    cc=${CONCWATCH_CC:-cc}
    cc_var=CONCWATCH_CC ;;
esac

die() {
    printf '%s: %s\n' "$me" "$*" >&2
    exit 2
}

# A wrapper must never end up running itself (CONCWATCH_CC=concwatch-cc, or
# a "cc" on PATH that is a link to this script): everything started from
# here on, the compiler and the "--version" probe below included, sees
# CONCWATCH_CC_ACTIVE, and a wrapper that sees it stops at once.
if [ -n "${CONCWATCH_CC_ACTIVE-}" ]; then
    die "compiler '$cc' is a concwatch wrapper again: set $cc_var to the real compiler"
fi
CONCWATCH_CC_ACTIVE=1
export CONCWATCH_CC_ACTIVE

# --- the library -------------------------------------------------------------
self=$(readlink -f -- "$0" 2>/dev/null) || self=$0
case $self in
*/*) selfdir=${self%/*} ;;
*) selfdir=. ;;
esac
if [ -n "${CONCWATCH_LIB-}" ]; then
    lib=$CONCWATCH_LIB
else
    lib=${selfdir:-/}/libconcwatch.so
fi
[ -f "$lib" ] || die "cannot find libconcwatch.so at $lib (set CONCWATCH_LIB)"
case $lib in
*/*) libdir=${lib%/*} ;;
*) libdir=. ;;
esac
libdir=$(cd -P -- "${libdir:-/}" && pwd -P) || die "cannot enter the directory of $lib"
lib=${libdir%/}/${lib##*/}
case $libdir in
*:*) die "a run-time search path cannot hold a ':' ($libdir)" ;;
esac

# --- the compiler ------------------------------------------------------------
ccpath=$(command -v "$cc" 2>/dev/null) || ccpath=
if [ -z "$ccpath" ] || [ ! -x "$ccpath" ]; then
    die "compiler '$cc' not found (set $cc_var)"
fi
case ${cc##*/} in
*clang*) family=clang ;;
*gcc*|*g++*) family=gcc ;;
*)
    case $("$ccpath" --version 2>/dev/null) in
    *clang*) family=clang ;;
    *) family=gcc ;;
    esac ;;
esac

# --- what does this command do? -------------------------------------------------
compile_only=0 partial=0 shared=0 has_input=0 skip_value=0 in_response_file=0

# Looks at one argument; $skip_value says that it is the value of the option
# before it (an option that takes its value as a separate argument).
classify() {
    if [ "$skip_value" = 1 ]; then
        skip_value=0
        return
    fi
    case $1 in
    -c|-S|-E|-M|-MM|-fsyntax-only|--precompile|-emit-ast|--analyze)
        compile_only=1 ;;
    -shared) shared=1 ;;
    -r) partial=1 ;;
    -static-libtsan)
        die "-static-libtsan would link the ThreadSanitizer runtime; drop it" ;;
    -) has_input=1 ;;
    # Linker inputs: they alone make the driver link.
    -Xlinker|-T|-l) has_input=1; skip_value=1 ;;
    -l*|-Wl,*) has_input=1 ;;
    # Options whose value is the next argument.
    -o|-x|-I|-D|-U|-L|-B|-A|-u|-z|-e|-include|-imacros|-isystem|-idirafter|\
    -iprefix|-iwithprefix|-iwithprefixbefore|-iquote|-isysroot|-imultilib|\
    -MF|-MT|-MQ|-MJ|-Xassembler|-Xpreprocessor|-Xclang|-Xanalyzer|-mllvm|\
    -aux-info|--param|-target|-arch|--sysroot|-wrapper|-dumpdir|-dumpbase|\
    -dumpbase-ext|-gcc-toolchain|--config|-ivfsoverlay|-working-directory|\
    -resource-dir|-include-pch|-cxx-isystem|-isystem-after|-Xopenmp-target|\
    --serialize-diagnostics)
        skip_value=1 ;;
    @*)
        # A response file: look at its words (quotes stripped), and count it
        # as input, so that a link is never taken for something else.
        has_input=1
        if [ "$in_response_file" = 0 ] && [ -r "${1#@}" ]; then
            in_response_file=1
            set -f
            for word in $(tr -d "\"'" <"${1#@}"); do
                classify "$word"
            done
            set +f
            in_response_file=0 skip_value=0
        fi ;;
    -*) ;;
    *) has_input=1 ;;
    esac
}

for arg in "$@"; do
    classify "$arg"
done

if [ "$compile_only" = 1 ] || [ "$partial" = 1 ] || [ "$has_input" = 0 ]; then
    exec "$ccpath" -fsanitize=thread "$@"
fi

# Executables need the library; everything linked gets the run path.
if [ "$shared" = 0 ]; then
    set -- "$@" -Xlinker --push-state -Xlinker --no-as-needed -Xlinker "$lib" \
        -Xlinker --pop-state
fi
set -- -Xlinker -rpath -Xlinker "$libdir" "$@"

if [ "$family" = clang ]; then
    exec "$ccpath" -fsanitize=thread -fno-sanitize-link-runtime "$@"
fi

# gcc: "-ltsan" must find an empty libtsan.so first.
tmp=$(mktemp -d "${TMPDIR:-/tmp}/concwatch-cc.XXXXXX" 2>/dev/null) ||
    die "cannot create a temporary directory in ${TMPDIR:-/tmp}"
trap 'rm -rf "$tmp"' EXIT
trap 'exit 129' HUP
trap 'exit 130' INT
trap 'exit 143' TERM
printf '/* concwatch-cc: stands in for the ThreadSanitizer runtime: links nothing */\n' \
    >"$tmp/libtsan.so" || die "cannot write $tmp/libtsan.so"
"$ccpath" -fsanitize=thread -L"$tmp" "$@"
exit $?
