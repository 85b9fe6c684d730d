/* Thread life: create (through the engine's trampoline, so the new thread is known from its
 * first instruction), join, detach, exit, naming. */
#include <errno.h>
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

static int checked(const char *function, int rc, const void *lock, uintptr_t pc)
{
  if (__builtin_expect(rc != 0, 0))
    cw_sync_error(function, rc, lock, CW_LOCK_MUTEX, pc);
  return rc;
}

CW_EXPORT int pthread_create(pthread_t *thread, const pthread_attr_t *attr, void *(*fn)(void *), void *arg)
{
  CW_ENSURE(pthread_create);
  struct cw_thread_start *start = cw_thread_prepare(fn, arg, CW_CALLER_PC);
  if (!start)
    return real_pthread_create(thread, attr, fn, arg);
  struct cw_thread *record = cw_thread_start_record(start);
  int rc = real_pthread_create(thread, attr, cw_thread_trampoline, start);
  if (rc != 0)
    cw_thread_abandon(start);
  else
    cw_thread_created(record, (uintptr_t)*thread);
  return checked("pthread_create", rc, NULL, CW_CALLER_PC);
}

#define JOIN(name, timed, call)                                                          \
  do {                                                                                   \
    struct cw_thread *self = cw_join_pre((uintptr_t)thread, timed, CW_CALLER_PC, CW_CALLER_SP); \
    int rc = call;                                                                       \
    cw_join_post(self, (uintptr_t)thread, rc);                                           \
    return checked(name, rc, NULL, CW_CALLER_PC);                                              \
  } while (0)

CW_EXPORT int pthread_join(pthread_t thread, void **ret)
{
  CW_ENSURE(pthread_join);
  JOIN("pthread_join", 0, real_pthread_join(thread, ret));
}

CW_EXPORT int pthread_tryjoin_np(pthread_t thread, void **ret)
{
  CW_ENSURE(pthread_tryjoin_np);
  JOIN("pthread_tryjoin_np", 1, real_pthread_tryjoin_np(thread, ret));
}

CW_EXPORT int pthread_timedjoin_np(pthread_t thread, void **ret, const struct timespec *t)
{
  CW_ENSURE(pthread_timedjoin_np);
  JOIN("pthread_timedjoin_np", 1, real_pthread_timedjoin_np(thread, ret, t));
}

CW_EXPORT int pthread_clockjoin_np(pthread_t thread, void **ret, clockid_t c, const struct timespec *t)
{
  CW_ENSURE(pthread_clockjoin_np);
  JOIN("pthread_clockjoin_np", 1, real_pthread_clockjoin_np(thread, ret, c, t));
}

CW_EXPORT int pthread_detach(pthread_t thread)
{
  CW_ENSURE(pthread_detach);
  int rc = real_pthread_detach(thread);
  if (rc == 0)
    cw_thread_detached((uintptr_t)thread, CW_CALLER_PC);
  return checked("pthread_detach", rc, NULL, CW_CALLER_PC);
}

CW_EXPORT void pthread_exit(void *ret)
{
  CW_ENSURE(pthread_exit);
  cw_thread_exit_call(CW_CALLER_PC);
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
