/* A plain executable (no instrumentation, not linked with concwatch) that loads an
 * instrumented fixture built as a shared library and runs its main:
 *   preload_driver ./libcounter_instrumented.so [args]
 * The library's __tsan_* references are left undefined at link time; they resolve only
 * when libconcwatch.so is preloaded. Without it dlopen fails and the driver exits 3. */
#include <dlfcn.h>
#include <stdio.h>

int main(int argc, char **argv)
{
  if (argc < 2) {
    fprintf(stderr, "usage: %s LIBRARY [args]\n", argv[0]);
    return 2;
  }
  void *lib = dlopen(argv[1], RTLD_NOW | RTLD_LOCAL);
  if (!lib) {
    fprintf(stderr, "preload_driver: %s\n", dlerror());
    return 3;
  }
  int (*fixture_main)(int, char **);
  *(void **)&fixture_main = dlsym(lib, "race_fixture_main");
  if (!fixture_main) {
    fprintf(stderr, "preload_driver: %s\n", dlerror());
    return 3;
  }
  return fixture_main(argc - 1, argv + 1);
}
