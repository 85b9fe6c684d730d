/* pthread_rwlock_*: read and write acquisitions, plain, try, timed and clock variants. */
#include <pthread.h>

#include "interpose.h"

CW_REAL(pthread_rwlock_init);
CW_REAL(pthread_rwlock_destroy);
CW_REAL(pthread_rwlock_rdlock);
CW_REAL(pthread_rwlock_tryrdlock);
CW_REAL(pthread_rwlock_timedrdlock);
CW_REAL(pthread_rwlock_clockrdlock);
CW_REAL(pthread_rwlock_wrlock);
CW_REAL(pthread_rwlock_trywrlock);
CW_REAL(pthread_rwlock_timedwrlock);
CW_REAL(pthread_rwlock_clockwrlock);
CW_REAL(pthread_rwlock_unlock);

#define ACQUIRE(mode, how, call)                                                         \
  do {                                                                                   \
    struct cw_thread *self = cw_lock_pre(l, CW_LOCK_RWLOCK, mode, how, CW_CALLER_PC, CW_CALLER_SP);                                   \
    int rc = call;                                                                       \
    cw_lock_post(self, l, CW_LOCK_RWLOCK, mode, how, rc == 0, CW_CALLER_PC, CW_CALLER_SP);                         \
    return rc;                                                                           \
  } while (0)

CW_EXPORT int pthread_rwlock_init(pthread_rwlock_t *l, const pthread_rwlockattr_t *attr)
{
  CW_ENSURE(pthread_rwlock_init);
  int rc = real_pthread_rwlock_init(l, attr);
  if (rc == 0)
    cw_lock_created(l, CW_LOCK_RWLOCK);
  return rc;
}

CW_EXPORT int pthread_rwlock_destroy(pthread_rwlock_t *l)
{
  CW_ENSURE(pthread_rwlock_destroy);
  int rc = real_pthread_rwlock_destroy(l);
  if (rc == 0)
    cw_lock_destroyed(l, CW_LOCK_RWLOCK);
  return rc;
}

CW_EXPORT int pthread_rwlock_rdlock(pthread_rwlock_t *l)
{
  CW_ENSURE(pthread_rwlock_rdlock);
  ACQUIRE(CW_MODE_READ, CW_ACQ_BLOCKING, real_pthread_rwlock_rdlock(l));
}

CW_EXPORT int pthread_rwlock_tryrdlock(pthread_rwlock_t *l)
{
  CW_ENSURE(pthread_rwlock_tryrdlock);
  ACQUIRE(CW_MODE_READ, CW_ACQ_TRY, real_pthread_rwlock_tryrdlock(l));
}

CW_EXPORT int pthread_rwlock_timedrdlock(pthread_rwlock_t *l, const struct timespec *t)
{
  CW_ENSURE(pthread_rwlock_timedrdlock);
  ACQUIRE(CW_MODE_READ, CW_ACQ_TIMED, real_pthread_rwlock_timedrdlock(l, t));
}

CW_EXPORT int pthread_rwlock_clockrdlock(pthread_rwlock_t *l, clockid_t c, const struct timespec *t)
{
  CW_ENSURE(pthread_rwlock_clockrdlock);
  ACQUIRE(CW_MODE_READ, CW_ACQ_TIMED, real_pthread_rwlock_clockrdlock(l, c, t));
}

CW_EXPORT int pthread_rwlock_wrlock(pthread_rwlock_t *l)
{
  CW_ENSURE(pthread_rwlock_wrlock);
  ACQUIRE(CW_MODE_WRITE, CW_ACQ_BLOCKING, real_pthread_rwlock_wrlock(l));
}

CW_EXPORT int pthread_rwlock_trywrlock(pthread_rwlock_t *l)
{
  CW_ENSURE(pthread_rwlock_trywrlock);
  ACQUIRE(CW_MODE_WRITE, CW_ACQ_TRY, real_pthread_rwlock_trywrlock(l));
}

CW_EXPORT int pthread_rwlock_timedwrlock(pthread_rwlock_t *l, const struct timespec *t)
{
  CW_ENSURE(pthread_rwlock_timedwrlock);
  ACQUIRE(CW_MODE_WRITE, CW_ACQ_TIMED, real_pthread_rwlock_timedwrlock(l, t));
}

CW_EXPORT int pthread_rwlock_clockwrlock(pthread_rwlock_t *l, clockid_t c, const struct timespec *t)
{
  CW_ENSURE(pthread_rwlock_clockwrlock);
  ACQUIRE(CW_MODE_WRITE, CW_ACQ_TIMED, real_pthread_rwlock_clockwrlock(l, c, t));
}

CW_EXPORT int pthread_rwlock_unlock(pthread_rwlock_t *l)
{
  CW_ENSURE(pthread_rwlock_unlock);
  cw_unlock(l, CW_LOCK_RWLOCK);
  return real_pthread_rwlock_unlock(l);
}
