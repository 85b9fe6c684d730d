/* Data races in programs built with the compilers' ThreadSanitizer instrumentation: vector
 * clocks (happens-before from every synchronization concwatch sees) and shadow memory that
 * remembers the last write and the last read of every 8 bytes the program touched. */
#ifndef CW_RACE_H
#define CW_RACE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../runtime/thread.h"

/* In an access's interned stack, what follows this value is the locks held at the access
 * (address | lock kind), not frames. */
#define CW_RACE_LOCKS_MARK ((uintptr_t)-1)

/* Set by __tsan_init: the program is instrumented, race detection runs. */
extern bool cw_race_enabled;

void cw_race_init(uintptr_t caller_pc);

/* Accesses by instrumented code. */
void cw_race_access(uintptr_t addr, size_t size, bool write, bool atomic, uintptr_t pc);
void cw_race_range(uintptr_t addr, size_t size, bool write, uintptr_t pc);
/* A library call (memcpy, ...) made from instrumented code: true when pc is in it. */
bool cw_race_from_instrumented(uintptr_t pc);

void cw_race_func_entry(uintptr_t pc);
void cw_race_func_exit(void);

/* Happens-before on an address (locks, atomics, annotations). */
void cw_race_acquire(struct cw_thread *t, uintptr_t addr);
void cw_race_release(struct cw_thread *t, uintptr_t addr);

/* Atomics: memory orders as the compilers pass them (0 relaxed ... 5 seq_cst). The release
 * side must be recorded before the operation (another thread may see the value at once) and
 * the acquire side after it (the value read decides what is acquired). */
void cw_race_atomic_before(uintptr_t addr, size_t size, bool store, int order, uintptr_t pc);
void cw_race_atomic_after(uintptr_t addr, bool load, int order);
void cw_race_fence(int order);

/* Threads: the child starts after everything its creator did; a join sees all the child did. */
void cw_race_thread_created(struct cw_thread *parent, struct cw_thread *child);
void cw_race_thread_started(struct cw_thread *t);
void cw_race_thread_finished(struct cw_thread *t);
void cw_race_thread_joined(struct cw_thread *joiner, struct cw_thread *child);

/* A heap block allocated at pc (recorded when pc is instrumented code), and the block
 * containing an address, for reports. */
void cw_race_allocated(uintptr_t addr, size_t size, uintptr_t pc);
bool cw_race_find_block(uintptr_t addr, uintptr_t *start, size_t *size, cw_stack_id *stack);

/* Memory given back: its history goes. */
void cw_race_forget(uintptr_t addr, size_t size);

/* Annotations. */
void cw_race_ignore(int delta);
void cw_race_benign(uintptr_t addr, size_t size);

/* ---- the fast path of a plain access, inline in the __tsan_* entry points ----
 * It handles the common case completely: an access within one 8-byte word, to memory that only
 * this thread has touched (or touched already in this epoch), at an access site it has seen
 * recently. Anything else — possible races, first touches, new sites — goes to
 * cw_race_access, which does the whole job again. */
#include "shadow.h"

static inline __attribute__((always_inline)) bool cw_race_cell_mine(uint64_t cell, uint32_t tid)
{
  return !((cell >> 48) & CW_CELL_VALID) || ((cell >> 32) & 0xffff) == tid;
}

static inline __attribute__((always_inline)) void cw_race_access_fast(uintptr_t addr, size_t size, bool write,
                                                                     uintptr_t pc)
{
  struct cw_thread *t = cw_tls.active;
  uintptr_t off = addr & 7;
  if (CW_UNLIKELY(!t || t->race_ignore || off + size > 8 || t->vc_len <= t->id ||
                  t->shadow_region != (addr >> CW_SHADOW_REGION_SHIFT) + 1)) {
    cw_race_access(addr, size, write, false, pc);
    return;
  }
  struct cw_shadow_word *w = (struct cw_shadow_word *)t->shadow_base +
                             ((addr >> 3) & (((uintptr_t)1 << (CW_SHADOW_REGION_SHIFT - 3)) - 1));
  uint32_t tid = t->id;
  uint64_t packed = t->vc[tid] | (uint64_t)tid << 32 | (uint64_t)(CW_CELL_VALID | off << 2) << 48 |
                    (uint64_t)size << 56;
  _Atomic uint64_t *mine = write ? &w->write : &w->read;
  if (__atomic_load_n((uint64_t *)mine, __ATOMIC_RELAXED) == packed)
    return; /* already recorded in this epoch */
  uint64_t pw = __atomic_load_n((uint64_t *)&w->write, __ATOMIC_RELAXED);
  uint64_t pr = __atomic_load_n((uint64_t *)&w->read, __ATOMIC_RELAXED);
  uint32_t d = t->shadow_depth;
  const struct cw_recent_stack *r = &t->recent_stacks[CW_RECENT_SLOT(pc)];
  if (CW_UNLIKELY(!cw_race_cell_mine(pw, tid) || !cw_race_cell_mine(pr, tid) || r->pc != pc ||
                  r->frames != (d ? t->shadow_hash[d - 1] : 0) ||
                  r->held != (t->nheld ? t->held[t->nheld - 1].chain : 0) || !t->vc[tid])) {
    cw_race_access(addr, size, write, false, pc);
    return;
  }
  if (write) {
    __atomic_store_n((cw_stack_id *)&w->write_stack, r->id, __ATOMIC_RELAXED);
    __atomic_store_n((uint64_t *)&w->write, packed, __ATOMIC_RELAXED);
    if (pr)
      __atomic_store_n((uint64_t *)&w->read, 0, __ATOMIC_RELAXED);
  } else {
    __atomic_store_n((cw_stack_id *)&w->read_stack, r->id, __ATOMIC_RELAXED);
    __atomic_store_n((uint64_t *)&w->read, packed, __ATOMIC_RELAXED);
  }
}

#endif
