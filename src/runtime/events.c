/* Events from the interposers, dispatched to the detectors. Each entry point first finds the
 * calling thread; it gets NULL (and does nothing) before start-up and inside the engine. */
#include <errno.h>

#include "../engine.h"
#include "../lockorder/lockorder.h"
#include "thread.h"

void cw_lock_created(const void *lock, enum cw_lock_kind kind)
{
  (void)kind;
  if (!cw_thread_current())
    return;
  /* An init on an address we know means the memory now holds a different lock. */
  int saved_errno = errno;
  cw_lockorder_forget(lock);
  errno = saved_errno;
}

void cw_lock_destroyed(const void *lock, enum cw_lock_kind kind)
{
  (void)kind;
  if (!cw_thread_current())
    return;
  int saved_errno = errno;
  cw_lockorder_forget(lock);
  errno = saved_errno;
}

void cw_lock_pre_slow(struct cw_thread *t, const void *lock, enum cw_lock_kind kind,
                      enum cw_lock_mode mode, uint64_t chain_key)
{
  int saved_errno = errno;
  cw_lockorder_check(t, lock, kind, mode, chain_key);
  errno = saved_errno;
}

void cw_sem_acquired(struct cw_thread *t, const void *sem, enum cw_acquire_how how, uintptr_t pc,
                     uintptr_t sp)
{
  if (cw_lockorder_holds(t, sem)) {
    /* Waiting twice without posting: this semaphore counts events, it is not a lock. */
    int saved_errno = errno;
    cw_held_pop(t, sem);
    cw_lockorder_sem_is_signal(sem);
    errno = saved_errno;
    return;
  }
  cw_held_push(t, sem, CW_LOCK_SEM, CW_MODE_WRITE, how == CW_ACQ_TRY ? CW_HELD_TRY : 0, pc, sp);
}

void cw_sem_post(const void *sem)
{
  struct cw_thread *t = cw_thread_current();
  if (!t || cw_held_pop(t, sem))
    return;
  /* Posted by a thread that did not take it: a signal between threads. */
  int saved_errno = errno;
  cw_lockorder_sem_is_signal(sem);
  errno = saved_errno;
}

bool cw_memory_watch_enabled(void) { return cw_ready; }

void cw_memory_released(const void *start, size_t size)
{
  if (!cw_thread_current() || !cw_lockorder_range_may_hold_locks(start, size))
    return;
  int saved_errno = errno;
  cw_lockorder_forget_range(start, size);
  errno = saved_errno;
}

void cw_thread_named(const char *name)
{
  struct cw_thread *t = cw_thread_current();
  if (t)
    cw_thread_set_name(t, name);
}
