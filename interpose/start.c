/* Process start and exit: the engine starts before main (or at the first event), and a
 * process with findings exits with the configured exit code whether main returns or calls
 * exit. */
#include <stdlib.h>

#include "interpose.h"

#include <pthread.h>
#include <signal.h>

CW_REAL(pthread_create);

/* concwatch's own threads (the deadlock watchdog, the race sampler): created with the real
 * pthread_create, detached, never seen by the engine as the program's, and with every signal
 * blocked, so that a signal sent to the process goes to a program thread as it would without
 * concwatch. */
static int spawn_internal_thread(void *(*fn)(void *), void *arg)
{
  CW_ENSURE(pthread_create);
  pthread_attr_t attr;
  pthread_attr_init(&attr);
  pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
  sigset_t all, old;
  sigfillset(&all);
  pthread_sigmask(SIG_SETMASK, &all, &old);
  pthread_t t;
  int rc = real_pthread_create(&t, &attr, fn, arg);
  pthread_sigmask(SIG_SETMASK, &old, NULL);
  pthread_attr_destroy(&attr);
  return rc;
}

__attribute__((constructor(101))) static void concwatch_start(void)
{
  cw_set_spawner(spawn_internal_thread);
  cw_runtime_start();
}

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
