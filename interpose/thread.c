/* Thread life: create (through the engine's trampoline, so the new thread is known from its
 * first instruction), join, detach, exit, naming. */
#include <pthread.h>

#include "interpose.h"

CW_REAL(pthread_create);
CW_REAL(pthread_join);
CW_REAL(pthread_tryjoin_np);
CW_REAL(pthread_timedjoin_np);
CW_REAL(pthread_clockjoin_np);
CW_REAL(pthread_detach);
CW_REAL(pthread_exit);
CW_REAL(pthread_setname_np);

CW_EXPORT int pthread_create(pthread_t *thread, const pthread_attr_t *attr, void *(*fn)(void *), void *arg)
{
  CW_ENSURE(pthread_create);
  struct cw_thread_start *start = cw_thread_prepare(fn, arg, CW_CALLER_PC);
  if (!start)
    return real_pthread_create(thread, attr, fn, arg);
  int rc = real_pthread_create(thread, attr, cw_thread_trampoline, start);
  if (rc != 0)
    cw_thread_abandon(start);
  return rc;
}

CW_EXPORT int pthread_join(pthread_t thread, void **ret)
{
  CW_ENSURE(pthread_join);
  return real_pthread_join(thread, ret);
}

CW_EXPORT int pthread_tryjoin_np(pthread_t thread, void **ret)
{
  CW_ENSURE(pthread_tryjoin_np);
  return real_pthread_tryjoin_np(thread, ret);
}

CW_EXPORT int pthread_timedjoin_np(pthread_t thread, void **ret, const struct timespec *t)
{
  CW_ENSURE(pthread_timedjoin_np);
  return real_pthread_timedjoin_np(thread, ret, t);
}

CW_EXPORT int pthread_clockjoin_np(pthread_t thread, void **ret, clockid_t c, const struct timespec *t)
{
  CW_ENSURE(pthread_clockjoin_np);
  return real_pthread_clockjoin_np(thread, ret, c, t);
}

CW_EXPORT int pthread_detach(pthread_t thread)
{
  CW_ENSURE(pthread_detach);
  return real_pthread_detach(thread);
}

CW_EXPORT void pthread_exit(void *ret)
{
  CW_ENSURE(pthread_exit);
  cw_thread_exiting();
  real_pthread_exit(ret);
  __builtin_unreachable();
}

CW_EXPORT int pthread_setname_np(pthread_t thread, const char *name)
{
  CW_ENSURE(pthread_setname_np);
  int rc = real_pthread_setname_np(thread, name);
  if (rc == 0 && pthread_equal(thread, pthread_self()))
    cw_thread_named(name);
  return rc;
}
