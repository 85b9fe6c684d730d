/* pthread_cond_*: a wait releases its mutex and takes it again before returning. glibc keeps
 * an old condition-variable ABI under the default dlsym version, so the real functions are
 * looked up by their current version. */
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

CW_EXPORT int pthread_cond_init(pthread_cond_t *c, const pthread_condattr_t *attr)
{
  CW_ENSURE_VERSION(pthread_cond_init, COND_VERSION);
  return real_pthread_cond_init(c, attr);
}

CW_EXPORT int pthread_cond_destroy(pthread_cond_t *c)
{
  CW_ENSURE_VERSION(pthread_cond_destroy, COND_VERSION);
  return real_pthread_cond_destroy(c);
}

CW_EXPORT int pthread_cond_signal(pthread_cond_t *c)
{
  CW_ENSURE_VERSION(pthread_cond_signal, COND_VERSION);
  return real_pthread_cond_signal(c);
}

CW_EXPORT int pthread_cond_broadcast(pthread_cond_t *c)
{
  CW_ENSURE_VERSION(pthread_cond_broadcast, COND_VERSION);
  return real_pthread_cond_broadcast(c);
}

/* The mutex is released for the wait and retaken (a blocking acquisition) before return. */
#define WAIT(call)                                                                       \
  do {                                                                                   \
    cw_unlock(m, CW_LOCK_MUTEX);                                                         \
    int rc = call;                                                                       \
    cw_lock_post(cw_thread_current(), m, CW_LOCK_MUTEX, CW_MODE_WRITE, CW_ACQ_BLOCKING, 1, CW_CALLER_PC, CW_CALLER_SP); \
    return rc;                                                                           \
  } while (0)

CW_EXPORT int pthread_cond_wait(pthread_cond_t *c, pthread_mutex_t *m)
{
  CW_ENSURE_VERSION(pthread_cond_wait, COND_VERSION);
  WAIT(real_pthread_cond_wait(c, m));
}

CW_EXPORT int pthread_cond_timedwait(pthread_cond_t *c, pthread_mutex_t *m, const struct timespec *t)
{
  CW_ENSURE_VERSION(pthread_cond_timedwait, COND_VERSION);
  WAIT(real_pthread_cond_timedwait(c, m, t));
}

CW_EXPORT int pthread_cond_clockwait(pthread_cond_t *c, pthread_mutex_t *m, clockid_t clock,
                                     const struct timespec *t)
{
  CW_ENSURE(pthread_cond_clockwait);
  WAIT(real_pthread_cond_clockwait(c, m, clock, t));
}
