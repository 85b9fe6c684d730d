/* pthread_spin_*. */
#include <errno.h>
#include <pthread.h>

#include "interpose.h"

CW_REAL(pthread_spin_init);
CW_REAL(pthread_spin_destroy);
CW_REAL(pthread_spin_lock);
CW_REAL(pthread_spin_trylock);
CW_REAL(pthread_spin_unlock);

static int checked(const char *function, int rc, const void *lock, uintptr_t pc)
{
  if (__builtin_expect(rc != 0, 0))
    cw_sync_error(function, rc, lock, CW_LOCK_SPIN, pc);
  return rc;
}

CW_EXPORT int pthread_spin_init(pthread_spinlock_t *l, int pshared)
{
  CW_ENSURE(pthread_spin_init);
  int rc = real_pthread_spin_init(l, pshared);
  if (rc == 0)
    cw_lock_created((const void *)l, CW_LOCK_SPIN, pshared == PTHREAD_PROCESS_SHARED);
  return checked("pthread_spin_init", rc, (const void *)l, CW_CALLER_PC);
}

CW_EXPORT int pthread_spin_destroy(pthread_spinlock_t *l)
{
  CW_ENSURE(pthread_spin_destroy);
  cw_lock_destroy_pre((const void *)l, CW_LOCK_SPIN, CW_CALLER_PC);
  int rc = real_pthread_spin_destroy(l);
  if (rc == 0)
    cw_lock_destroyed((const void *)l, CW_LOCK_SPIN);
  return checked("pthread_spin_destroy", rc, (const void *)l, CW_CALLER_PC);
}

CW_EXPORT int pthread_spin_lock(pthread_spinlock_t *l)
{
  CW_ENSURE(pthread_spin_lock);
  struct cw_thread *self = cw_lock_pre((const void *)l, CW_LOCK_SPIN, CW_MODE_WRITE, CW_ACQ_BLOCKING, CW_CALLER_PC, CW_CALLER_SP);
  int rc = real_pthread_spin_lock(l);
  cw_lock_post(self, (const void *)l, CW_LOCK_SPIN, CW_MODE_WRITE, CW_ACQ_BLOCKING, rc == 0, CW_CALLER_PC, CW_CALLER_SP);
  return checked("pthread_spin_lock", rc, (const void *)l, CW_CALLER_PC);
}

CW_EXPORT int pthread_spin_trylock(pthread_spinlock_t *l)
{
  CW_ENSURE(pthread_spin_trylock);
  int rc = real_pthread_spin_trylock(l);
  cw_lock_post(cw_thread_current(), (const void *)l, CW_LOCK_SPIN, CW_MODE_WRITE, CW_ACQ_TRY, rc == 0, CW_CALLER_PC,
               CW_CALLER_SP);
  return checked("pthread_spin_trylock", rc, (const void *)l, CW_CALLER_PC);
}

CW_EXPORT int pthread_spin_unlock(pthread_spinlock_t *l)
{
  CW_ENSURE(pthread_spin_unlock);
  cw_unlock((const void *)l, CW_LOCK_SPIN, CW_CALLER_PC);
  return checked("pthread_spin_unlock", real_pthread_spin_unlock(l), (const void *)l, CW_CALLER_PC);
}
