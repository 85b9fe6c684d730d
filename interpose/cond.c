/* pthread_cond_*: a wait releases its mutex and takes it again before returning. glibc keeps
 * an old condition-variable ABI under the default dlsym version, so the real functions are
 * looked up by their current version. */
#include <errno.h>
#include <pthread.h>

#include "interpose.h"

#define COND_VERSION "GLIBC_2.3.2"

CW_REAL(pthread_cond_init);
CW_REAL(pthread_cond_destroy);
CW_REAL(pthread_cond_signal);
CW_REAL(pthread_cond_broadcast);
CW_REAL(pthread_cond_wait);
CW_REAL(pthread_cond_timedwait);
CW_REAL(pthread_cond_clockwait);

static int checked(const char *function, int rc, const void *lock, uintptr_t pc)
{
  if (__builtin_expect(rc != 0, 0))
    cw_sync_error(function, rc, lock, CW_LOCK_MUTEX, pc);
  return rc;
}

CW_EXPORT int pthread_cond_init(pthread_cond_t *c, const pthread_condattr_t *attr)
{
  CW_ENSURE_VERSION(pthread_cond_init, COND_VERSION);
  int rc = real_pthread_cond_init(c, attr);
  int pshared = PTHREAD_PROCESS_PRIVATE;
  if (attr)
    pthread_condattr_getpshared(attr, &pshared);
  if (rc == 0)
    cw_cond_created(c, pshared == PTHREAD_PROCESS_SHARED);
  return checked("pthread_cond_init", rc, NULL, CW_CALLER_PC);
}

CW_EXPORT int pthread_cond_destroy(pthread_cond_t *c)
{
  CW_ENSURE_VERSION(pthread_cond_destroy, COND_VERSION);
  cw_cond_destroy_pre(c, CW_CALLER_PC);
  int rc = real_pthread_cond_destroy(c);
  if (rc == 0)
    cw_cond_destroyed(c);
  return checked("pthread_cond_destroy", rc, NULL, CW_CALLER_PC);
}

CW_EXPORT int pthread_cond_signal(pthread_cond_t *c)
{
  CW_ENSURE_VERSION(pthread_cond_signal, COND_VERSION);
  return checked("pthread_cond_signal", real_pthread_cond_signal(c), NULL, CW_CALLER_PC);
}

CW_EXPORT int pthread_cond_broadcast(pthread_cond_t *c)
{
  CW_ENSURE_VERSION(pthread_cond_broadcast, COND_VERSION);
  return checked("pthread_cond_broadcast", real_pthread_cond_broadcast(c), NULL, CW_CALLER_PC);
}

/* The mutex is released for the wait and retaken before return. */
#define WAIT(name, timed, call)                                                          \
  do {                                                                                   \
    struct cw_thread *self = cw_cond_wait_pre(c, m, timed, CW_CALLER_PC, CW_CALLER_SP);  \
    int rc = call;                                                                       \
    cw_cond_wait_post(self, c, m, CW_CALLER_PC, CW_CALLER_SP);                           \
    return checked(name, rc, NULL, CW_CALLER_PC);                                              \
  } while (0)

CW_EXPORT int pthread_cond_wait(pthread_cond_t *c, pthread_mutex_t *m)
{
  CW_ENSURE_VERSION(pthread_cond_wait, COND_VERSION);
  WAIT("pthread_cond_wait", 0, real_pthread_cond_wait(c, m));
}

CW_EXPORT int pthread_cond_timedwait(pthread_cond_t *c, pthread_mutex_t *m, const struct timespec *t)
{
  CW_ENSURE_VERSION(pthread_cond_timedwait, COND_VERSION);
  WAIT("pthread_cond_timedwait", 1, real_pthread_cond_timedwait(c, m, t));
}

CW_EXPORT int pthread_cond_clockwait(pthread_cond_t *c, pthread_mutex_t *m, clockid_t clock,
                                     const struct timespec *t)
{
  CW_ENSURE(pthread_cond_clockwait);
  WAIT("pthread_cond_clockwait", 1, real_pthread_cond_clockwait(c, m, clock, t));
}
