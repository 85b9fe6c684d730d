/* pthread_mutex_*: every mutex type, including statically initialized ones (the first lock
 * call is the first the engine hears of them). */
#include <errno.h>
#include <pthread.h>

#include "interpose.h"

CW_REAL(pthread_mutex_init);
CW_REAL(pthread_mutex_destroy);
CW_REAL(pthread_mutex_lock);
CW_REAL(pthread_mutex_trylock);
CW_REAL(pthread_mutex_timedlock);
CW_REAL(pthread_mutex_clocklock);
CW_REAL(pthread_mutex_unlock);

/* EOWNERDEAD (robust mutexes) also hands the lock over. */
static int acquired(int rc) { return rc == 0 || rc == EOWNERDEAD; }

CW_EXPORT int pthread_mutex_init(pthread_mutex_t *m, const pthread_mutexattr_t *attr)
{
  CW_ENSURE(pthread_mutex_init);
  int rc = real_pthread_mutex_init(m, attr);
  if (rc == 0)
    cw_lock_created(m, CW_LOCK_MUTEX);
  return rc;
}

CW_EXPORT int pthread_mutex_destroy(pthread_mutex_t *m)
{
  CW_ENSURE(pthread_mutex_destroy);
  int rc = real_pthread_mutex_destroy(m);
  if (rc == 0)
    cw_lock_destroyed(m, CW_LOCK_MUTEX);
  return rc;
}

CW_EXPORT int pthread_mutex_lock(pthread_mutex_t *m)
{
  CW_ENSURE(pthread_mutex_lock);
  struct cw_thread *self = cw_lock_pre(m, CW_LOCK_MUTEX, CW_MODE_WRITE, CW_ACQ_BLOCKING, CW_CALLER_PC, CW_CALLER_SP);
  int rc = real_pthread_mutex_lock(m);
  cw_lock_post(self, m, CW_LOCK_MUTEX, CW_MODE_WRITE, CW_ACQ_BLOCKING, acquired(rc), CW_CALLER_PC, CW_CALLER_SP);
  return rc;
}

CW_EXPORT int pthread_mutex_trylock(pthread_mutex_t *m)
{
  CW_ENSURE(pthread_mutex_trylock);
  int rc = real_pthread_mutex_trylock(m);
  cw_lock_post(cw_thread_current(), m, CW_LOCK_MUTEX, CW_MODE_WRITE, CW_ACQ_TRY, acquired(rc), CW_CALLER_PC, CW_CALLER_SP);
  return rc;
}

CW_EXPORT int pthread_mutex_timedlock(pthread_mutex_t *m, const struct timespec *abstime)
{
  CW_ENSURE(pthread_mutex_timedlock);
  struct cw_thread *self = cw_lock_pre(m, CW_LOCK_MUTEX, CW_MODE_WRITE, CW_ACQ_TIMED, CW_CALLER_PC, CW_CALLER_SP);
  int rc = real_pthread_mutex_timedlock(m, abstime);
  cw_lock_post(self, m, CW_LOCK_MUTEX, CW_MODE_WRITE, CW_ACQ_TIMED, acquired(rc), CW_CALLER_PC, CW_CALLER_SP);
  return rc;
}

CW_EXPORT int pthread_mutex_clocklock(pthread_mutex_t *m, clockid_t clock, const struct timespec *abstime)
{
  CW_ENSURE(pthread_mutex_clocklock);
  struct cw_thread *self = cw_lock_pre(m, CW_LOCK_MUTEX, CW_MODE_WRITE, CW_ACQ_TIMED, CW_CALLER_PC, CW_CALLER_SP);
  int rc = real_pthread_mutex_clocklock(m, clock, abstime);
  cw_lock_post(self, m, CW_LOCK_MUTEX, CW_MODE_WRITE, CW_ACQ_TIMED, acquired(rc), CW_CALLER_PC, CW_CALLER_SP);
  return rc;
}

CW_EXPORT int pthread_mutex_unlock(pthread_mutex_t *m)
{
  CW_ENSURE(pthread_mutex_unlock);
  cw_unlock(m, CW_LOCK_MUTEX);
  return real_pthread_mutex_unlock(m);
}
