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

/* __tsan_func_entry when the shadow call stack (inline below) is full: grows it and pushes. */
void cw_race_func_entry_slow(struct cw_thread *t, uintptr_t pc);

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
 * It handles the common case completely: an aligned access of up to 8 bytes (or 16 in two
 * words), to memory that only this thread has touched (or touched already in this epoch), at
 * an access site it has seen recently. Anything else — possible races, first touches, new
 * sites — goes to cw_race_access, which does the whole job. */
#include "shadow.h"

/* The interned stack of an access at pc, if the thread's table of recent ones has it; else 0. */
static inline __attribute__((always_inline)) cw_stack_id cw_race_recent_stack(const struct cw_thread *t, uintptr_t pc)
{
  const struct cw_recent_stack *r = &t->recent_stacks[CW_RECENT_SLOT(pc)];
  uint64_t held = t->nheld ? t->held[t->nheld - 1].chain : 0;
  return r->pc == pc && r->frames == t->shadow_top && r->held == held ? r->id : 0;
}

/* One access within word i of region r, as `cell`, when it cannot race: the word holds nothing
 * but this thread's accesses. *stack is the access's stack id, looked up here if 0. False when
 * the full checks are needed (or the stack is not at hand). */
static inline __attribute__((always_inline)) bool cw_race_word_mine(struct cw_thread *t, struct cw_shadow_region *r,
                                                                   size_t i, uint64_t cell, bool write,
                                                                   cw_stack_id *stack, uintptr_t pc)
{
  uint64_t w = cw_shadow_bits(&r->write[i]);
  /* Already recorded in this epoch (for a read, also: this thread wrote these very bytes in
   * this epoch, as ThreadSanitizer counts it). Whatever would race with this access races with
   * that record as well. */
  if (w == cell)
    return true;
  uint64_t rd = cw_shadow_bits(&r->read[i]);
  if (!write && rd == cell)
    return true;
  if (!cw_cell_mine(w, cell) || !cw_cell_mine(rd, cell))
    return false;
  if (!*stack && !(*stack = cw_race_recent_stack(t, pc)))
    return false;
  if (write) {
    cw_shadow_record(&r->write[i], cell, *stack);
    if (rd) /* the write supersedes this thread's earlier read */
      cw_shadow_erase(&r->read[i]);
  } else {
    cw_shadow_record(&r->read[i], cell, *stack);
  }
  return true;
}

/* A plain access of 1, 2, 4, 8 or 16 bytes. */
static inline __attribute__((always_inline)) void cw_race_access_fast(uintptr_t addr, size_t size, bool write,
                                                                     uintptr_t pc)
{
  struct cw_thread *t = cw_tls.active;
  unsigned off = addr & 7;
  size_t words = size > 8 ? 2 : 1, in_word = size > 8 ? 8 : size;
  size_t i = cw_shadow_index(addr);
  if (CW_UNLIKELY(!t || !t->race_now || off + in_word > 8 || i + words > CW_SHADOW_WORDS ||
                  t->shadow_region != (addr >> CW_SHADOW_REGION_SHIFT) + 1)) {
    cw_race_access(addr, size, write, false, pc);
    return;
  }
  struct cw_shadow_region *r = (struct cw_shadow_region *)t->shadow_base;
  uint64_t cell = cw_cell_of(t->race_now, off, in_word);
  cw_stack_id stack = 0;
  /* Each failure is a tail call, so the fast path needs no stack frame of its own. */
  if (CW_UNLIKELY(!cw_race_word_mine(t, r, i, cell, write, &stack, pc)))
    cw_race_access(addr, size, write, false, pc);
  else if (words == 2 && CW_UNLIKELY(!cw_race_word_mine(t, r, i + 1, cell, write, &stack, pc)))
    cw_race_access(addr + 8, 8, write, false, pc);
}

/* ---- the shadow call stack, with a running hash per depth (the access stacks' key) ---- */

static inline __attribute__((always_inline)) void cw_race_shadow_push(struct cw_thread *t, uint32_t d, uintptr_t pc)
{
  t->shadow_stack[d] = pc;
  t->shadow_top = t->shadow_hash[d] = (t->shadow_top ^ pc) * 0x9e3779b97f4a7c15ull + d;
  t->shadow_depth = d + 1;
}

static inline __attribute__((always_inline)) void cw_race_func_entry(uintptr_t pc)
{
  struct cw_thread *t = cw_tls.active;
  if (!t)
    return;
  uint32_t d = t->shadow_depth;
  if (CW_UNLIKELY(d == t->shadow_cap))
    cw_race_func_entry_slow(t, pc); /* a tail call: the common path needs no stack frame */
  else
    cw_race_shadow_push(t, d, pc);
}

static inline __attribute__((always_inline)) void cw_race_func_exit(void)
{
  struct cw_thread *t = cw_tls.active;
  if (!t || !t->shadow_depth)
    return;
  uint32_t d = --t->shadow_depth;
  t->shadow_top = d ? t->shadow_hash[d - 1] : 0;
}

#endif
