/* pthread_rwlock_*: read and write acquisitions, plain, try, timed and clock variants. */
#include <errno.h>
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

static int checked(const char *function, int rc, const void *lock, uintptr_t pc)
{
  if (__builtin_expect(rc != 0, 0))
    cw_sync_error(function, rc, lock, CW_LOCK_RWLOCK, pc);
  return rc;
}

/* Check for a mutex passed as an rwlock, take the lock, record it, check the result. */
#define ACQUIRE(name, mode, how, call)                                                   \
  do {                                                                                   \
    cw_lock_kind_check_slow(l, CW_LOCK_RWLOCK, CW_CALLER_PC);                            \
    struct cw_thread *self = how == CW_ACQ_TRY ? cw_thread_current()                     \
                                               : cw_lock_pre(l, CW_LOCK_RWLOCK, mode, how, \
                                                             CW_CALLER_PC, CW_CALLER_SP); \
    int rc = call;                                                                       \
    cw_lock_post(self, l, CW_LOCK_RWLOCK, mode, how, rc == 0, CW_CALLER_PC, CW_CALLER_SP); \
    return checked(name, rc, l, CW_CALLER_PC);                                              \
  } while (0)

CW_EXPORT int pthread_rwlock_init(pthread_rwlock_t *l, const pthread_rwlockattr_t *attr)
{
  CW_ENSURE(pthread_rwlock_init);
  int rc = real_pthread_rwlock_init(l, attr);
  int pshared = PTHREAD_PROCESS_PRIVATE;
  if (attr)
    pthread_rwlockattr_getpshared(attr, &pshared);
  if (rc == 0)
    cw_lock_created(l, CW_LOCK_RWLOCK, pshared == PTHREAD_PROCESS_SHARED);
  return checked("pthread_rwlock_init", rc, l, CW_CALLER_PC);
}

CW_EXPORT int pthread_rwlock_destroy(pthread_rwlock_t *l)
{
  CW_ENSURE(pthread_rwlock_destroy);
  cw_lock_destroy_pre(l, CW_LOCK_RWLOCK, CW_CALLER_PC);
  int rc = real_pthread_rwlock_destroy(l);
  if (rc == 0)
    cw_lock_destroyed(l, CW_LOCK_RWLOCK);
  return rc == EBUSY ? rc : checked("pthread_rwlock_destroy", rc, l, CW_CALLER_PC);
}

CW_EXPORT int pthread_rwlock_rdlock(pthread_rwlock_t *l)
{
  CW_ENSURE(pthread_rwlock_rdlock);
  ACQUIRE("pthread_rwlock_rdlock", CW_MODE_READ, CW_ACQ_BLOCKING, real_pthread_rwlock_rdlock(l));
}

CW_EXPORT int pthread_rwlock_tryrdlock(pthread_rwlock_t *l)
{
  CW_ENSURE(pthread_rwlock_tryrdlock);
  ACQUIRE("pthread_rwlock_tryrdlock", CW_MODE_READ, CW_ACQ_TRY, real_pthread_rwlock_tryrdlock(l));
}

CW_EXPORT int pthread_rwlock_timedrdlock(pthread_rwlock_t *l, const struct timespec *t)
{
  CW_ENSURE(pthread_rwlock_timedrdlock);
  ACQUIRE("pthread_rwlock_timedrdlock", CW_MODE_READ, CW_ACQ_TIMED, real_pthread_rwlock_timedrdlock(l, t));
}

CW_EXPORT int pthread_rwlock_clockrdlock(pthread_rwlock_t *l, clockid_t c, const struct timespec *t)
{
  CW_ENSURE(pthread_rwlock_clockrdlock);
  ACQUIRE("pthread_rwlock_clockrdlock", CW_MODE_READ, CW_ACQ_TIMED, real_pthread_rwlock_clockrdlock(l, c, t));
}

CW_EXPORT int pthread_rwlock_wrlock(pthread_rwlock_t *l)
{
  CW_ENSURE(pthread_rwlock_wrlock);
  ACQUIRE("pthread_rwlock_wrlock", CW_MODE_WRITE, CW_ACQ_BLOCKING, real_pthread_rwlock_wrlock(l));
}

CW_EXPORT int pthread_rwlock_trywrlock(pthread_rwlock_t *l)
{
  CW_ENSURE(pthread_rwlock_trywrlock);
  ACQUIRE("pthread_rwlock_trywrlock", CW_MODE_WRITE, CW_ACQ_TRY, real_pthread_rwlock_trywrlock(l));
}

CW_EXPORT int pthread_rwlock_timedwrlock(pthread_rwlock_t *l, const struct timespec *t)
{
  CW_ENSURE(pthread_rwlock_timedwrlock);
  ACQUIRE("pthread_rwlock_timedwrlock", CW_MODE_WRITE, CW_ACQ_TIMED, real_pthread_rwlock_timedwrlock(l, t));
}

CW_EXPORT int pthread_rwlock_clockwrlock(pthread_rwlock_t *l, clockid_t c, const struct timespec *t)
{
  CW_ENSURE(pthread_rwlock_clockwrlock);
  ACQUIRE("pthread_rwlock_clockwrlock", CW_MODE_WRITE, CW_ACQ_TIMED, real_pthread_rwlock_clockwrlock(l, c, t));
}

CW_EXPORT int pthread_rwlock_unlock(pthread_rwlock_t *l)
{
  CW_ENSURE(pthread_rwlock_unlock);
  cw_unlock(l, CW_LOCK_RWLOCK, CW_CALLER_PC);
  return checked("pthread_rwlock_unlock", real_pthread_rwlock_unlock(l), l, CW_CALLER_PC);
}
