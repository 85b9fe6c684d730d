/* pthread_barrier_*. */
#include <errno.h>
#include <pthread.h>

#include "interpose.h"

CW_REAL(pthread_barrier_init);
CW_REAL(pthread_barrier_destroy);
CW_REAL(pthread_barrier_wait);

static int checked(const char *function, int rc, const void *lock, uintptr_t pc)
{
  if (__builtin_expect(rc != 0 && rc != PTHREAD_BARRIER_SERIAL_THREAD, 0))
    cw_sync_error(function, rc, lock, CW_LOCK_MUTEX, pc);
  return rc;
}

CW_EXPORT int pthread_barrier_init(pthread_barrier_t *b, const pthread_barrierattr_t *attr, unsigned n)
{
  CW_ENSURE(pthread_barrier_init);
  int rc = real_pthread_barrier_init(b, attr, n);
  int pshared = PTHREAD_PROCESS_PRIVATE;
  if (attr)
    pthread_barrierattr_getpshared(attr, &pshared);
  if (rc == 0)
    cw_barrier_created(b, pshared == PTHREAD_PROCESS_SHARED);
  return checked("pthread_barrier_init", rc, NULL, CW_CALLER_PC);
}

CW_EXPORT int pthread_barrier_destroy(pthread_barrier_t *b)
{
  CW_ENSURE(pthread_barrier_destroy);
  cw_barrier_destroy_pre(b, CW_CALLER_PC);
  int rc = real_pthread_barrier_destroy(b);
  if (rc == 0)
    cw_barrier_destroyed(b);
  return rc == EBUSY ? rc : checked("pthread_barrier_destroy", rc, NULL, CW_CALLER_PC);
}

CW_EXPORT int pthread_barrier_wait(pthread_barrier_t *b)
{
  CW_ENSURE(pthread_barrier_wait);
  struct cw_thread *self = cw_barrier_wait_pre(b, CW_CALLER_PC, CW_CALLER_SP);
  int rc = real_pthread_barrier_wait(b);
  cw_barrier_wait_post(self, b);
  return checked("pthread_barrier_wait", rc, NULL, CW_CALLER_PC);
}
