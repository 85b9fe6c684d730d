/* The held-lock stack of a thread: the hot path of every lock and unlock, kept inline. */
#ifndef CW_HELD_H
#define CW_HELD_H

#include <stdbool.h>
#include <pthread.h>
#include <stdint.h>

#include "../runtime/thread.h"

#pragma GCC visibility push(hidden)

/* One add and one multiply per entry: the multiply spreads the new lock over every bit, so
 * the top bits pick the cache slot and the whole word tells different held stacks apart. */
static inline uint64_t cw_chain_step(uint64_t below, const void *lock, unsigned kind, unsigned mode,
                                     unsigned flags)
{
  return (below + ((uintptr_t)lock ^ (kind | mode << 4 | flags << 8))) * 0x9e3779b97f4a7c15ull;
}

/* ---- the validated-chain cache (lockdep's chain cache) ----
 * A per-thread, direct-mapped set of keys: (held stack, new lock) pairs already turned into
 * edges. The cache belongs to one graph epoch, which moves whenever a lock is forgotten; the
 * forgetting thread then points every thread's cache at the shared empty one (all slots 0),
 * and the next slow path empties and reinstalls the thread's own (lockorder.c). A thread
 * starts with the empty cache, so the probe needs neither a NULL nor an epoch test. */
#define CW_CHAIN_CACHE_BITS 10u
#define CW_CHAIN_CACHE_SIZE (1u << CW_CHAIN_CACHE_BITS)

extern const uint64_t cw_chain_cache_empty[CW_CHAIN_CACHE_SIZE];

/* The key of a chain (the held stack with the new lock on top, from cw_chain_step): the chain
 * itself. An empty slot holds 0, so a chain whose hash is 0 would read as validated: one in
 * 2^64, as likely as two held stacks sharing a key. */
static inline uint64_t cw_chain_key(uint64_t chain) { return chain; }

static inline uint64_t cw_chain_cache_key(const struct cw_thread *t, const void *lock,
                                          unsigned kind, unsigned mode)
{
  return cw_chain_key(cw_chain_step(t->held[t->nheld - 1].chain, lock, kind, mode, 0));
}

#define CW_CHAIN_SLOT(key) ((key) >> (64 - CW_CHAIN_CACHE_BITS)) /* the best-mixed bits */

static inline bool cw_chain_cached(const struct cw_thread *t, uint64_t key)
{
  return __atomic_load_n(&t->chain_cache, __ATOMIC_RELAXED)[CW_CHAIN_SLOT(key)] == key;
}

/* glibc's record of a mutex's owner: the kernel thread id, 0 when not locked. */
static inline pid_t cw_mutex_owner(const void *mutex)
{
  return __atomic_load_n(&((const pthread_mutex_t *)mutex)->__data.__owner, __ATOMIC_RELAXED);
}

/* Is t still waiting for the lock of its entry h (rather than holding it)? Only t itself, or
 * a reader that knows h's lock memory is still there, may ask: a fast-path mutex entry is
 * answered by the mutex's owner field (see CW_HELD_OWNER_CONFIRMS). */
static inline bool cw_held_waiting(const struct cw_thread *t, const struct cw_held *h)
{
  uint8_t flags = __atomic_load_n(&h->flags, __ATOMIC_ACQUIRE);
  if (!(flags & CW_HELD_PENDING))
    return false;
  return !(flags & CW_HELD_OWNER_CONFIRMS) || cw_mutex_owner(h->lock) != t->tid;
}

/* A thread's held stack is allocated when it attaches, with room for this many entries at
 * least, so the fast path (which goes no deeper) never needs to grow it. */
#define CW_HELD_INITIAL 16u
void cw_held_grow(struct cw_thread *t);
bool cw_held_pop_slow(struct cw_thread *t, const void *lock);

/* Write entry n (n < held_cap) and make it the top. */
static inline __attribute__((always_inline)) void cw_held_store(struct cw_thread *t, uint32_t n, const void *lock,
                                                               unsigned kind, unsigned mode, unsigned flags,
                                                               uintptr_t pc, uintptr_t sp, uint64_t chain)
{
  struct cw_held *h = &t->held[n];
  h->lock = lock;
  h->pc = pc;
  h->sp = sp;
  h->meta = CW_HELD_META(kind, mode, flags);
  h->chain = chain;
  t->nheld = n + 1;
}

/* Push with the chain key already computed by the caller (the same cw_chain_step). */
static inline __attribute__((always_inline)) void cw_held_push_chained(struct cw_thread *t, const void *lock,
                                                                      unsigned kind, unsigned mode,
                                                                      unsigned flags, uintptr_t pc,
                                                                      uintptr_t sp, uint64_t chain)
{
  if (CW_UNLIKELY(t->nheld == t->held_cap))
    cw_held_grow(t);
  cw_held_store(t, t->nheld, lock, kind, mode, flags, pc, sp, chain);
}

static inline __attribute__((always_inline)) void cw_held_push(struct cw_thread *t, const void *lock, unsigned kind, unsigned mode,
                                unsigned flags, uintptr_t pc, uintptr_t sp)
{
  uint32_t n = t->nheld;
  uint64_t chain = cw_chain_step(n ? t->held[n - 1].chain : 0, lock, kind, mode, flags & CW_HELD_TRY);
  cw_held_push_chained(t, lock, kind, mode, flags, pc, sp, chain);
}

/* Drop the most recent entry for lock; false if the thread does not hold it. */
static inline __attribute__((always_inline)) bool cw_held_pop(struct cw_thread *t, const void *lock)
{
  uint32_t n = t->nheld;
  if (CW_LIKELY(n != 0 && t->held[n - 1].lock == lock)) {
    t->nheld = n - 1;
    return true;
  }
  return cw_held_pop_slow(t, lock);
}

#pragma GCC visibility pop

#endif
