/* Process start and exit: the engine starts before main (or at the first event), and a
 * process with findings exits with the configured exit code whether main returns or calls
 * exit. */
#include <stdlib.h>

#include "interpose.h"

__attribute__((constructor(101))) static void concwatch_start(void) { cw_runtime_start(); }

typedef int (*main_fn)(int, char **, char **);
static main_fn real_main;

static int main_wrapper(int argc, char **argv, char **envp)
{
  return cw_exit_status(real_main(argc, argv, envp));
}

CW_REAL(exit);

CW_EXPORT void exit(int status)
{
  CW_ENSURE(exit);
  real_exit(cw_exit_status(status));
  __builtin_unreachable();
}

typedef int (*start_main_fn)(main_fn, int, char **, void (*)(void), void (*)(void), void (*)(void), void *);

CW_EXPORT int __libc_start_main(main_fn main, int argc, char **argv, void (*init)(void),
                                void (*fini)(void), void (*rtld_fini)(void), void *stack_end)
{
  start_main_fn real = (start_main_fn)cw_resolve("__libc_start_main", 0);
  real_main = main;
  return real(main_wrapper, argc, argv, init, fini, rtld_fini, stack_end);
}
