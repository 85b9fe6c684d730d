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
/* How the engine starts a thread of its own (the deadlock watchdog, the race sampler): the
 * real pthread_create, given by interpose/. cw_spawn_internal returns 0 or an error number. */
typedef int (*cw_spawn_fn)(void *(*fn)(void *), void *arg);
void cw_set_spawner(cw_spawn_fn spawn);
int cw_spawn_internal(void *(*fn)(void *), void *arg);
/* concwatch's own threads, counted by themselves (the watchdog tells them from the program's). */
void cw_internal_thread_started(void);
void cw_internal_thread_ended(void);
int cw_internal_thread_count(void);

/* Locks. `pc` is the return address of the intercepted call and `sp` the caller's stack
 * pointer at that call (see CW_CALLER in interpose/interpose.h). */
void cw_lock_created(const void *lock, enum cw_lock_kind kind, bool shared);
/* Before the real destroy (misuse: destroying a held lock); after it, if it succeeded. */
void cw_lock_destroy_pre(const void *lock, enum cw_lock_kind kind, uintptr_t pc);
void cw_lock_destroyed(const void *lock, enum cw_lock_kind kind);
/* An rwlock call on memory set up as a mutex, or the reverse (checked off the fast path). */
void cw_lock_kind_check_slow(const void *lock, enum cw_lock_kind kind, uintptr_t pc);
/* Annotation: the lock is now held (confirms a pending request, or records a new hold). */
void cw_lock_acquired_annotation(const void *lock, bool read, bool try_lock, uintptr_t pc, uintptr_t sp);
struct cw_thread;
/* Before an acquisition; returns the calling thread (NULL: not tracked) for cw_lock_post. */
static inline __attribute__((always_inline)) struct cw_thread *cw_lock_pre(const void *lock, enum cw_lock_kind kind,
                                            enum cw_lock_mode mode, enum cw_acquire_how how,
                                            uintptr_t pc, uintptr_t sp);
/* After it, with whether the lock is now held. */
static inline __attribute__((always_inline)) void cw_lock_post(struct cw_thread *t, const void *lock, enum cw_lock_kind kind,
                                enum cw_lock_mode mode, enum cw_acquire_how how, bool acquired,
                                uintptr_t pc, uintptr_t sp);
static inline __attribute__((always_inline)) void cw_unlock(const void *lock, enum cw_lock_kind kind, uintptr_t pc);
/* A semaphore post: releases the semaphore if this thread took it as a lock. */
void cw_sem_post(const void *sem);

/* Memory that may hold locks went away (free, realloc that moved or shrank). */
bool cw_memory_watch_enabled(void);
/* Heap blocks allocated by the program's code, for race sampling (src/sample/candidates.h):
 * the malloc wrappers report them while cw_heap_tracking is set. */
extern bool cw_heap_tracking;
/* Race sampling's SIGTRAP (src/sample): while it owns the signal, the program's sigaction
 * calls for it read and write the program's disposition, kept aside. */
bool cw_sample_owns_sigtrap(void);
struct sigaction;
void cw_sample_program_sigtrap(const struct sigaction *act, struct sigaction *old);
void cw_heap_allocated(uintptr_t addr, size_t size, uintptr_t pc);
void cw_heap_released(uintptr_t addr);
void cw_memory_released(const void *start, size_t size, uintptr_t pc);

/* Condition variables and barriers. A wait returns the calling thread for its _post. */
void cw_cond_created(const void *cond, bool shared);
void cw_cond_destroy_pre(const void *cond, uintptr_t pc);
void cw_cond_destroyed(const void *cond);
struct cw_thread *cw_cond_wait_pre(const void *cond, const void *mutex, bool timed, uintptr_t pc,
                                   uintptr_t sp);
void cw_cond_wait_post(struct cw_thread *t, const void *cond, const void *mutex, uintptr_t pc,
                       uintptr_t sp);
void cw_barrier_created(const void *barrier, bool shared);
void cw_barrier_destroy_pre(const void *barrier, uintptr_t pc);
void cw_barrier_destroyed(const void *barrier);
struct cw_thread *cw_barrier_wait_pre(const void *barrier, uintptr_t pc, uintptr_t sp);
void cw_barrier_wait_post(struct cw_thread *t, const void *barrier);

/* A synchronization call returned an error: misuse unless the error is part of the call's
 * normal use (EBUSY from a try, ETIMEDOUT from a timed wait, ...). */
void cw_sync_error(const char *function, int error, const void *lock, enum cw_lock_kind kind, uintptr_t pc);

/* Threads. */
struct cw_thread_start;
struct cw_thread_start *cw_thread_prepare(void *(*fn)(void *), void *arg, uintptr_t pc);
void *cw_thread_trampoline(void *start);
void cw_thread_abandon(struct cw_thread_start *start);
/* After a successful pthread_create: the new thread's handle, for join and detach checks. */
struct cw_thread *cw_thread_start_record(struct cw_thread_start *start);
void cw_thread_created(struct cw_thread *record, uintptr_t handle);
struct cw_thread *cw_join_pre(uintptr_t handle, bool timed, uintptr_t pc, uintptr_t sp);
void cw_join_post(struct cw_thread *t, uintptr_t handle, int result);
void cw_thread_detached(uintptr_t handle, uintptr_t pc);
/* pthread_exit: the thread ends here (pc: the call). */
void cw_thread_exit_call(uintptr_t pc);
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

#include <pthread.h>

#include "lockorder/held.h"
#include "race/race.h"
#include "runtime/thread.h"

void cw_lock_pre_slow(struct cw_thread *t, const void *lock, enum cw_lock_kind kind,
                      enum cw_lock_mode mode, uint64_t chain_key);
/* A semaphore was just pushed as held: a second one for the same semaphore makes it a signal. */
void cw_sem_acquired(struct cw_thread *t, const void *sem);
/* A semaphore taken by a try that succeeded (see events.c: a try that is the fast path of a
 * blocking acquire counts as blocking). */
void cw_sem_try_acquired(struct cw_thread *t, const void *sem, uintptr_t pc, uintptr_t sp);
/* The thread locks a mutex it already owns: a self-deadlock for default mutexes. */
void cw_mutex_relock(struct cw_thread *t, const void *mutex, uintptr_t pc, uintptr_t sp);
/* Unlock of a lock the thread does not hold (a misuse, or a lock taken before start-up). */
void cw_unlock_unheld(struct cw_thread *t, const void *lock, enum cw_lock_kind kind, uintptr_t pc);
/* Spinlocks and rwlocks: a thread requesting one it already holds may block on itself. */
void cw_self_relock_check(struct cw_thread *t, const void *lock, enum cw_lock_kind kind,
                          enum cw_lock_mode mode, uintptr_t pc, uintptr_t sp);
void cw_watchdog_ensure(void);
/* Nonzero while some mutex calls must take the general path: rwlocks exist (a mutex call may
 * be given one: only the addresses cw_rwlock_may_be_at admits), or race detection joins clocks
 * at each lock and unlock (every call). */
extern CW_HIDDEN uint8_t cw_mutex_hooks;
#define CW_MUTEX_HOOK_RWLOCKS 1u
#define CW_MUTEX_HOOK_RACE 2u
void cw_mutex_hooks_set(unsigned hook);

/* The addresses of initialized rwlocks, as a one-hash Bloom filter whose bits are never
 * cleared: a mutex call on any other address cannot be given an rwlock, so it keeps the fast
 * path. A false positive only costs the general path, whose kind check looks the lock up. */
#define CW_RWLOCK_FILTER_BITS (1u << 15)
extern CW_HIDDEN uint64_t cw_rwlock_filter[CW_RWLOCK_FILTER_BITS / 64];
static inline uint32_t cw_rwlock_filter_bit(const void *lock)
{
  return (uint32_t)(((uintptr_t)lock * 0x9e3779b97f4a7c15ull) >> (64 - 15));
}
static inline bool cw_rwlock_may_be_at(const void *lock)
{
  uint32_t bit = cw_rwlock_filter_bit(lock);
  return (__atomic_load_n(&cw_rwlock_filter[bit / 64], __ATOMIC_RELAXED) >> (bit % 64)) & 1;
}
void cw_rwlock_filter_add(const void *lock);

/* Entering a blocking call: the watchdog tells one blocking call from the next by this
 * number (whether the thread is still inside is the pending entry or its wait record). */
static inline void cw_wait_mark(struct cw_thread *t)
{
  /* A plain increment (one add to memory): the watchdog's reads need no order against the
   * held entry, since it confirms a deadlock by reading the number again before reporting. */
  t->wait_seq++;
}

/* A blocking or timed acquisition is pushed as a pending held entry before the real call (the
 * deadlock watchdog reads it as "waiting for this lock") and confirmed or dropped after it.
 * The inline part handles the common mutex case (nothing to check, or a chain validated
 * before) without any call, so the wrapper keeps almost nothing live across the real call;
 * everything else goes to cw_lock_pre_general. */
struct cw_thread *cw_lock_pre_general(struct cw_thread *t, const void *lock, enum cw_lock_kind kind,
                                      enum cw_lock_mode mode, enum cw_acquire_how how, uintptr_t pc,
                                      uintptr_t sp);

static inline __attribute__((always_inline)) struct cw_thread *cw_lock_pre(const void *lock, enum cw_lock_kind kind,
                                            enum cw_lock_mode mode, enum cw_acquire_how how,
                                            uintptr_t pc, uintptr_t sp)
{
  struct cw_thread *t = cw_tls.active;
  if (CW_UNLIKELY(t == NULL) || how == CW_ACQ_TRY || kind != CW_LOCK_MUTEX)
    return cw_lock_pre_general(t, lock, kind, mode, how, pc, sp);
  uint32_t n = t->nheld;
  uint64_t chain = cw_chain_step(n ? t->held[n - 1].chain : 0, lock, kind, mode, 0);
  if (CW_UNLIKELY((n != 0 && !cw_chain_cached(t, cw_chain_key(chain))) || n == t->held_cap ||
                  cw_mutex_owner(lock) == t->tid))
    return cw_lock_pre_general(t, lock, kind, mode, how, pc, sp);
  cw_held_push_chained(t, lock, kind, mode, CW_HELD_PENDING | (how == CW_ACQ_TIMED ? CW_HELD_TIMED : 0), pc,
                       sp, chain);
  cw_wait_mark(t);
  return t;
}

static inline __attribute__((always_inline)) void cw_lock_post(struct cw_thread *t, const void *lock, enum cw_lock_kind kind,
                                enum cw_lock_mode mode, enum cw_acquire_how how, bool acquired,
                                uintptr_t pc, uintptr_t sp)
{
  if (!t)
    return;
  if (how != CW_ACQ_TRY) {
    struct cw_held *top = &t->held[t->nheld - 1];
    if (acquired) {
      __atomic_store_n(&top->flags, 0, __ATOMIC_RELEASE);
      if (CW_UNLIKELY(cw_race_enabled))
        cw_race_acquire(t, (uintptr_t)lock);
      if (CW_UNLIKELY(kind == CW_LOCK_SEM))
        cw_sem_acquired(t, lock);
    } else {
      t->nheld--;
    }
    return;
  }
  if (!acquired)
    return;
  if (CW_UNLIKELY(cw_race_enabled))
    cw_race_acquire(t, (uintptr_t)lock);
  if (CW_UNLIKELY(kind == CW_LOCK_SEM)) {
    cw_sem_try_acquired(t, lock, pc, sp);
    return;
  }
  cw_held_push(t, lock, kind, mode, CW_HELD_TRY, pc, sp);
}

/* ---- the default mutex, the commonest case of all ----
 * A default mutex (PTHREAD_MUTEX_INITIALIZER's kind, private, no elision) cannot fail to lock,
 * and glibc records its owner. When nothing needs checking, its request is pushed as a pending
 * entry marked CW_HELD_OWNER_CONFIRMS and the wrapper tail-calls the real lock: nothing is left
 * to do after the call, so the wrapper needs no stack frame at all. False: take the general
 * path (cw_lock_pre and cw_lock_post around the real call). */
static inline __attribute__((always_inline)) bool cw_mutex_lock_fast(const pthread_mutex_t *m,
                                                                    uintptr_t pc, uintptr_t sp)
{
  struct cw_thread *t = cw_tls.active;
  uint8_t hooks = cw_mutex_hooks;
  if (CW_UNLIKELY(t == NULL) || m->__data.__kind != 0 || cw_mutex_owner(m) == t->tid)
    return false;
  if (CW_UNLIKELY(hooks != 0) && ((hooks & CW_MUTEX_HOOK_RACE) || cw_rwlock_may_be_at(m)))
    return false;
  uint32_t n = t->nheld;
  uint64_t chain = cw_chain_step(n ? t->held[n - 1].chain : 0, m, CW_LOCK_MUTEX, CW_MODE_WRITE, 0);
  if (CW_UNLIKELY(n >= CW_HELD_INITIAL) || (n != 0 && !cw_chain_cached(t, cw_chain_key(chain))))
    return false;
  cw_held_store(t, n, m, CW_LOCK_MUTEX, CW_MODE_WRITE, CW_HELD_PENDING | CW_HELD_OWNER_CONFIRMS, pc, sp, chain);
  cw_wait_mark(t);
  return true;
}

/* The unlock of the lock taken last, without race detection (rwlocks do not matter here): a
 * pop, and the wrapper tail-calls the real unlock. False: take cw_unlock. */
static inline __attribute__((always_inline)) bool cw_mutex_unlock_fast(const pthread_mutex_t *m)
{
  struct cw_thread *t = cw_tls.active;
  if (CW_UNLIKELY(t == NULL || (cw_mutex_hooks & CW_MUTEX_HOOK_RACE)))
    return false;
  uint32_t n = t->nheld;
  if (CW_UNLIKELY(n == 0 || t->held[n - 1].lock != m))
    return false;
  t->nheld = n - 1;
  return true;
}

static inline __attribute__((always_inline)) void cw_unlock(const void *lock, enum cw_lock_kind kind, uintptr_t pc)
{
  struct cw_thread *t = cw_thread_current();
  if (CW_UNLIKELY(cw_race_enabled))
    cw_race_release(t, (uintptr_t)lock);
  if (t && !cw_held_pop(t, lock))
    cw_unlock_unheld(t, lock, kind, pc);
}

#endif
