# Shared by the benchmark scripts (sourced, not run): build the project unless told not to,
# and copy libconcwatch.so and concwatch-symbolizer aside, so that a rebuild during a long run
# changes nothing.  Needs ROOT, BUILD_DIR, CONCWATCH_SO, BUILD (0/1) and WORK.
say() { printf '%s\n' "$*" >&2; }

# Sets HAVE_CW (1 if the library was found), SO (the copy) and LIBINFO (what was measured:
# the copy's checksum and build time, the source commit, and whether the library's sources had
# uncommitted changes).
bench_prepare_library() {
  if ((BUILD)) && [[ -f $BUILD_DIR/CMakeCache.txt ]]; then
    if ! cmake --build "$BUILD_DIR" >"$WORK/build.log" 2>&1; then
      say "note: 'cmake --build $BUILD_DIR' failed, so $CONCWATCH_SO may be stale or missing; last lines:"
      tail -n 5 "$WORK/build.log" >&2
    fi
  fi
  # The library may be briefly missing while the project is being rebuilt: wait a little.
  for ((i = 0; i < 15; i++)); do [[ -f $CONCWATCH_SO ]] && break; sleep 1; done
  mkdir -p "$WORK/lib"
  HAVE_CW=0
  if [[ -f $CONCWATCH_SO ]]; then
    cp "$CONCWATCH_SO" "$WORK/lib/libconcwatch.so"   # its soname is libconcwatch.so
    local sym
    sym=$(dirname "$CONCWATCH_SO")/concwatch-symbolizer
    [[ -x $sym ]] && cp "$sym" "$WORK/lib/"          # found next to the library
    HAVE_CW=1
  fi
  SO=$WORK/lib/libconcwatch.so
  LIBINFO="library: sha256 $( [[ -f $SO ]] && sha256sum "$SO" | cut -c1-16 || echo none)"
  LIBINFO+=" built $( [[ -f $SO ]] && date -u -r "$CONCWATCH_SO" '+%Y-%m-%d %H:%M:%S UTC' || echo -)"
  LIBINFO+=", source $(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo unknown)"
  if git -C "$ROOT" rev-parse HEAD >/dev/null 2>&1; then
    [[ -n $(git -C "$ROOT" status --porcelain -- src interpose include CMakeLists.txt 2>/dev/null) ]] &&
      LIBINFO+=" with uncommitted changes in src/, interpose/ or include/"
  fi
  return 0
}
