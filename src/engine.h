/* The engine's entry points: what the interposers (and the public annotations) tell it.
 * Every function is safe to call before start-up and from inside the engine: it then does
 * nothing. None of them changes errno. */
#ifndef CW_ENGINE_H
#define CW_ENGINE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum cw_lock_kind { CW_LOCK_MUTEX, CW_LOCK_RWLOCK, CW_LOCK_SPIN, CW_LOCK_SEM, CW_LOCK_KINDS };
enum cw_lock_mode { CW_MODE_WRITE = 1, CW_MODE_READ = 2 };

/* How an acquisition may wait: a try-lock never waits, a timed one gives up. */
enum cw_acquire_how { CW_ACQ_BLOCKING, CW_ACQ_TRY, CW_ACQ_TIMED };

const char *cw_lock_kind_name(enum cw_lock_kind kind);

/* Start-up, once, before main (or at the first event, whichever comes first). */
void cw_runtime_start(void);

/* Locks. `pc` is the return address of the intercepted call and `sp` the caller's stack
 * pointer at that call (see CW_CALLER in interpose/interpose.h). */
void cw_lock_created(const void *lock, enum cw_lock_kind kind);
void cw_lock_destroyed(const void *lock, enum cw_lock_kind kind);
struct cw_thread;
/* Before an acquisition; returns the calling thread (NULL: not tracked) for cw_lock_post. */
static inline struct cw_thread *cw_lock_pre(const void *lock, enum cw_lock_kind kind,
                                            enum cw_lock_mode mode, enum cw_acquire_how how,
                                            uintptr_t pc, uintptr_t sp);
/* After it, with whether the lock is now held. */
static inline void cw_lock_post(struct cw_thread *t, const void *lock, enum cw_lock_kind kind,
                                enum cw_lock_mode mode, enum cw_acquire_how how, bool acquired,
                                uintptr_t pc, uintptr_t sp);
static inline void cw_unlock(const void *lock, enum cw_lock_kind kind);
/* A semaphore post: releases the semaphore if this thread took it as a lock. */
void cw_sem_post(const void *sem);

/* Memory that may hold locks went away (free, realloc that moved or shrank). */
bool cw_memory_watch_enabled(void);
void cw_memory_released(const void *start, size_t size);

/* Threads. */
struct cw_thread_start;
struct cw_thread_start *cw_thread_prepare(void *(*fn)(void *), void *arg, uintptr_t pc);
void *cw_thread_trampoline(void *start);
void cw_thread_abandon(struct cw_thread_start *start);
void cw_thread_exiting(void);
void cw_thread_named(const char *name);

/* fork: the engine's locks are held across the call so the child starts consistent. */
void cw_fork_prepare(void);
void cw_fork_parent(void);
void cw_fork_child(void);

/* Process exit: the status to exit with (findings turn it into the configured exitcode). */
int cw_exit_status(int status);

/* ---- the lock fast path, inline in every wrapper ----
 * Uncontended lock/unlock costs a few nanoseconds natively, so the common case here is one
 * TLS load and a push or pop on the thread's own held stack; everything else is out of line. */

#include "lockorder/held.h"
#include "runtime/thread.h"

void cw_lock_pre_slow(struct cw_thread *t, const void *lock, enum cw_lock_kind kind,
                      enum cw_lock_mode mode, uint64_t chain_key);
void cw_sem_acquired(struct cw_thread *t, const void *sem, enum cw_acquire_how how, uintptr_t pc,
                     uintptr_t sp);

static inline struct cw_thread *cw_lock_pre(const void *lock, enum cw_lock_kind kind,
                                            enum cw_lock_mode mode, enum cw_acquire_how how,
                                            uintptr_t pc, uintptr_t sp)
{
  struct cw_thread *t = cw_thread_current();
  (void)pc;
  (void)sp;
  if (t && t->nheld != 0 && how != CW_ACQ_TRY) {
    uint64_t key = cw_chain_cache_key(t, lock, kind, mode);
    if (!cw_chain_cached(t, key))
      cw_lock_pre_slow(t, lock, kind, mode, key);
  }
  return t;
}

static inline void cw_lock_post(struct cw_thread *t, const void *lock, enum cw_lock_kind kind,
                                enum cw_lock_mode mode, enum cw_acquire_how how, bool acquired,
                                uintptr_t pc, uintptr_t sp)
{
  if (!acquired || !t)
    return;
  if (kind == CW_LOCK_SEM)
    cw_sem_acquired(t, lock, how, pc, sp);
  else
    cw_held_push(t, lock, kind, mode, how == CW_ACQ_TRY ? CW_HELD_TRY : 0, pc, sp);
}

static inline void cw_unlock(const void *lock, enum cw_lock_kind kind)
{
  (void)kind;
  struct cw_thread *t = cw_thread_current();
  if (t)
    cw_held_pop(t, lock);
}

#endif
