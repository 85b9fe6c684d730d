/* pthread_mutex_*: every mutex type, including statically initialized ones (the first lock
 * call is the first the engine hears of them). */
#include <errno.h>
#include <pthread.h>

#include "interpose.h"

CW_REAL(pthread_mutex_init);
CW_REAL(pthread_mutex_destroy);
CW_REAL_RESOLVED_ON_FIRST_CALL(pthread_mutex_lock, (pthread_mutex_t * m), (m))
CW_REAL(pthread_mutex_trylock);
CW_REAL(pthread_mutex_timedlock);
CW_REAL(pthread_mutex_clocklock);
CW_REAL_RESOLVED_ON_FIRST_CALL(pthread_mutex_unlock, (pthread_mutex_t * m), (m))

/* EOWNERDEAD (robust mutexes) also hands the lock over. */
static int acquired(int rc) { return rc == 0 || rc == EOWNERDEAD; }

static int checked(const char *function, int rc, const void *lock, uintptr_t pc)
{
  if (__builtin_expect(rc != 0, 0))
    cw_sync_error(function, rc, lock, CW_LOCK_MUTEX, pc);
  return rc;
}

/* The hot pair: a default mutex with nothing to check is a push (or a pop) and a tail call to
 * the real function (see cw_mutex_lock_fast); everything else is out of line. */

static void check_kind(pthread_mutex_t *m, uintptr_t pc)
{
  if ((cw_mutex_hooks & CW_MUTEX_HOOK_RWLOCKS) && cw_rwlock_may_be_at(m))
    cw_lock_kind_check_slow(m, CW_LOCK_MUTEX, pc);
}

CW_EXPORT int pthread_mutex_init(pthread_mutex_t *m, const pthread_mutexattr_t *attr)
{
  CW_ENSURE(pthread_mutex_init);
  int rc = real_pthread_mutex_init(m, attr);
  int pshared = PTHREAD_PROCESS_PRIVATE;
  if (attr)
    pthread_mutexattr_getpshared(attr, &pshared);
  if (rc == 0)
    cw_lock_created(m, CW_LOCK_MUTEX, pshared == PTHREAD_PROCESS_SHARED);
  return checked("pthread_mutex_init", rc, m, CW_CALLER_PC);
}

CW_EXPORT int pthread_mutex_destroy(pthread_mutex_t *m)
{
  CW_ENSURE(pthread_mutex_destroy);
  cw_lock_destroy_pre(m, CW_LOCK_MUTEX, CW_CALLER_PC);
  int rc = real_pthread_mutex_destroy(m);
  if (rc == 0)
    cw_lock_destroyed(m, CW_LOCK_MUTEX);
  return rc == EBUSY ? rc : checked("pthread_mutex_destroy", rc, m, CW_CALLER_PC);
}

static __attribute__((noinline)) int mutex_lock_general(pthread_mutex_t *m, uintptr_t pc, uintptr_t sp)
{
  check_kind(m, pc);
  struct cw_thread *self = cw_lock_pre(m, CW_LOCK_MUTEX, CW_MODE_WRITE, CW_ACQ_BLOCKING, pc, sp);
  int rc = real_pthread_mutex_lock(m);
  if (__builtin_expect(rc == 0 && self != NULL, 1)) {
    cw_lock_post(self, m, CW_LOCK_MUTEX, CW_MODE_WRITE, CW_ACQ_BLOCKING, 1, 0, 0);
    return 0;
  }
  cw_lock_post(self, m, CW_LOCK_MUTEX, CW_MODE_WRITE, CW_ACQ_BLOCKING, acquired(rc), pc, sp);
  return checked("pthread_mutex_lock", rc, m, pc);
}

CW_EXPORT int pthread_mutex_lock(pthread_mutex_t *m)
{
  if (__builtin_expect(cw_mutex_lock_fast(m, CW_CALLER_PC, CW_CALLER_SP), 1))
    return real_pthread_mutex_lock(m);
  return mutex_lock_general(m, CW_CALLER_PC, CW_CALLER_SP);
}

CW_EXPORT int pthread_mutex_trylock(pthread_mutex_t *m)
{
  CW_ENSURE(pthread_mutex_trylock);
  int rc = real_pthread_mutex_trylock(m);
  cw_lock_post(cw_thread_current(), m, CW_LOCK_MUTEX, CW_MODE_WRITE, CW_ACQ_TRY, acquired(rc), CW_CALLER_PC, CW_CALLER_SP);
  return checked("pthread_mutex_trylock", rc, m, CW_CALLER_PC);
}

CW_EXPORT int pthread_mutex_timedlock(pthread_mutex_t *m, const struct timespec *abstime)
{
  CW_ENSURE(pthread_mutex_timedlock);
  struct cw_thread *self = cw_lock_pre(m, CW_LOCK_MUTEX, CW_MODE_WRITE, CW_ACQ_TIMED, CW_CALLER_PC, CW_CALLER_SP);
  int rc = real_pthread_mutex_timedlock(m, abstime);
  cw_lock_post(self, m, CW_LOCK_MUTEX, CW_MODE_WRITE, CW_ACQ_TIMED, acquired(rc), CW_CALLER_PC, CW_CALLER_SP);
  return checked("pthread_mutex_timedlock", rc, m, CW_CALLER_PC);
}

CW_EXPORT int pthread_mutex_clocklock(pthread_mutex_t *m, clockid_t clock, const struct timespec *abstime)
{
  CW_ENSURE(pthread_mutex_clocklock);
  struct cw_thread *self = cw_lock_pre(m, CW_LOCK_MUTEX, CW_MODE_WRITE, CW_ACQ_TIMED, CW_CALLER_PC, CW_CALLER_SP);
  int rc = real_pthread_mutex_clocklock(m, clock, abstime);
  cw_lock_post(self, m, CW_LOCK_MUTEX, CW_MODE_WRITE, CW_ACQ_TIMED, acquired(rc), CW_CALLER_PC, CW_CALLER_SP);
  return checked("pthread_mutex_clocklock", rc, m, CW_CALLER_PC);
}

static __attribute__((noinline)) int mutex_unlock_general(pthread_mutex_t *m, uintptr_t pc)
{
  cw_unlock(m, CW_LOCK_MUTEX, pc);
  return real_pthread_mutex_unlock(m);
}

/* Tail calls: the errors an unlock can return (EPERM from an error-checking mutex the thread
 * does not own) are foreseen by the engine before the call. */
CW_EXPORT int pthread_mutex_unlock(pthread_mutex_t *m)
{
  if (__builtin_expect(cw_mutex_unlock_fast(m), 1))
    return real_pthread_mutex_unlock(m);
  return mutex_unlock_general(m, CW_CALLER_PC);
}
