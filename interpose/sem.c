/* sem_*: unnamed and named semaphores. A semaphore counts as a lock while the thread that
 * waited on it is the one that posts it (see docs/design.md). sem_* report errors in errno. */
#include <errno.h>
#include <fcntl.h>
#include <semaphore.h>
#include <stdarg.h>

#include "interpose.h"

CW_REAL(sem_init);
CW_REAL(sem_destroy);
CW_REAL(sem_open);
CW_REAL(sem_close);
CW_REAL(sem_wait);
CW_REAL(sem_trywait);
CW_REAL(sem_timedwait);
CW_REAL(sem_clockwait);
CW_REAL(sem_post);

static int checked(const char *function, int rc, const void *lock, uintptr_t pc)
{
  if (__builtin_expect(rc != 0, 0)) {
    int e = errno;
    cw_sync_error(function, e, lock, CW_LOCK_SEM, pc);
    errno = e;
  }
  return rc;
}

CW_EXPORT int sem_init(sem_t *s, int pshared, unsigned value)
{
  CW_ENSURE(sem_init);
  int rc = real_sem_init(s, pshared, value);
  if (rc == 0)
    cw_lock_created(s, CW_LOCK_SEM, pshared != 0);
  return checked("sem_init", rc, s, CW_CALLER_PC);
}

CW_EXPORT int sem_destroy(sem_t *s)
{
  CW_ENSURE(sem_destroy);
  int rc = real_sem_destroy(s);
  if (rc == 0)
    cw_lock_destroyed(s, CW_LOCK_SEM);
  return checked("sem_destroy", rc, s, CW_CALLER_PC);
}

CW_EXPORT sem_t *sem_open(const char *name, int oflag, ...)
{
  CW_ENSURE(sem_open);
  sem_t *s;
  if (oflag & O_CREAT) {
    va_list ap;
    va_start(ap, oflag);
    mode_t mode = va_arg(ap, mode_t);
    unsigned value = va_arg(ap, unsigned);
    va_end(ap);
    s = real_sem_open(name, oflag, mode, value);
  } else {
    s = real_sem_open(name, oflag);
  }
  if (s != SEM_FAILED)
    cw_lock_created(s, CW_LOCK_SEM, 1); /* named: other processes can post it */
  return s;
}

CW_EXPORT int sem_close(sem_t *s)
{
  CW_ENSURE(sem_close);
  cw_lock_destroyed(s, CW_LOCK_SEM);
  return real_sem_close(s);
}

#define WAIT(name, how, call)                                                            \
  do {                                                                                   \
    struct cw_thread *self = how == CW_ACQ_TRY ? cw_thread_current()                     \
                                               : cw_lock_pre(s, CW_LOCK_SEM, CW_MODE_WRITE, \
                                                             how, CW_CALLER_PC, CW_CALLER_SP); \
    int rc = call;                                                                       \
    cw_lock_post(self, s, CW_LOCK_SEM, CW_MODE_WRITE, how, rc == 0, CW_CALLER_PC, CW_CALLER_SP); \
    return checked(name, rc, s, CW_CALLER_PC);                                              \
  } while (0)

CW_EXPORT int sem_wait(sem_t *s)
{
  CW_ENSURE(sem_wait);
  WAIT("sem_wait", CW_ACQ_BLOCKING, real_sem_wait(s));
}

CW_EXPORT int sem_trywait(sem_t *s)
{
  CW_ENSURE(sem_trywait);
  WAIT("sem_trywait", CW_ACQ_TRY, real_sem_trywait(s));
}

CW_EXPORT int sem_timedwait(sem_t *s, const struct timespec *t)
{
  CW_ENSURE(sem_timedwait);
  WAIT("sem_timedwait", CW_ACQ_TIMED, real_sem_timedwait(s, t));
}

CW_EXPORT int sem_clockwait(sem_t *s, clockid_t c, const struct timespec *t)
{
  CW_ENSURE(sem_clockwait);
  WAIT("sem_clockwait", CW_ACQ_TIMED, real_sem_clockwait(s, c, t));
}

CW_EXPORT int sem_post(sem_t *s)
{
  CW_ENSURE(sem_post);
  cw_sem_post(s);
  return checked("sem_post", real_sem_post(s), s, CW_CALLER_PC);
}
