/* The held-lock stack of a thread: the hot path of every lock and unlock, kept inline. */
#ifndef CW_HELD_H
#define CW_HELD_H

#include <stdbool.h>
#include <stdint.h>

#include "../runtime/thread.h"

/* One multiply-add per entry: the chain key only has to tell different held stacks apart
 * for the validated-chain cache; the cache key mixes it properly. */
static inline uint64_t cw_chain_step(uint64_t below, const void *lock, unsigned kind, unsigned mode,
                                     unsigned flags)
{
  return below * 0x9e3779b97f4a7c15ull + ((uintptr_t)lock ^ (kind | mode << 4 | flags << 8));
}

/* ---- the validated-chain cache (lockdep's chain cache) ----
 * A per-thread, direct-mapped set of keys: (held stack, new lock) pairs already turned into
 * edges. The cache belongs to one graph epoch, which moves whenever a lock is forgotten: a
 * thread whose cache is from an older epoch takes the slow path, which empties it. */
#define CW_CHAIN_CACHE_SIZE 1024u /* power of two */

extern _Atomic uint64_t cw_graph_epoch_counter;

/* The key of a chain (the held stack with the new lock on top, from cw_chain_step). */
static inline uint64_t cw_chain_key(uint64_t chain) { return (chain ^ (chain >> 31)) | 1; }

static inline uint64_t cw_chain_cache_key(const struct cw_thread *t, const void *lock,
                                          unsigned kind, unsigned mode)
{
  return cw_chain_key(cw_chain_step(t->held[t->nheld - 1].chain, lock, kind, mode, 0));
}

#define CW_CHAIN_SLOT(key) (((key) >> 1) & (CW_CHAIN_CACHE_SIZE - 1)) /* bit 0 is always set */

static inline bool cw_chain_cached(const struct cw_thread *t, uint64_t key)
{
  return t->chain_cache && t->chain_cache[CW_CHAIN_SLOT(key)] == key &&
         t->cache_epoch == __atomic_load_n((const uint64_t *)&cw_graph_epoch_counter, __ATOMIC_RELAXED);
}

void cw_held_grow(struct cw_thread *t);
bool cw_held_pop_slow(struct cw_thread *t, const void *lock);

/* Push with the chain key already computed by the caller (the same cw_chain_step). */
static inline __attribute__((always_inline)) void cw_held_push_chained(struct cw_thread *t, const void *lock,
                                                                      unsigned kind, unsigned mode,
                                                                      unsigned flags, uintptr_t pc,
                                                                      uintptr_t sp, uint64_t chain)
{
  uint32_t n = t->nheld;
  if (CW_UNLIKELY(n == t->held_cap))
    cw_held_grow(t);
  struct cw_held *h = &t->held[n];
  h->lock = lock;
  h->pc = pc;
  h->sp = sp;
  h->kind = (uint8_t)kind;
  h->mode = (uint8_t)mode;
  h->flags = (uint8_t)flags;
  h->chain = chain;
  t->nheld = n + 1;
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

#endif
