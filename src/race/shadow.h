/* Shadow memory: for every 8 bytes of the program's memory, the last write and the last read
 * (thread, clock, size and offset, where). Allocated on demand per 4 MiB region of the
 * program's address space, so only touched memory costs anything (24 bytes per 8). */
#ifndef CW_SHADOW_H
#define CW_SHADOW_H

#include <stddef.h>
#include <stdint.h>

#include "../runtime/thread.h"

#define CW_CELL_VALID 1u
#define CW_CELL_ATOMIC 2u

/* An access as the detector reasons about it. */
struct cw_cell {
  uint32_t clock;     /* the accessing thread's clock at the access */
  uint16_t tid;       /* thread id (T number) */
  uint8_t info;       /* CW_CELL_* | offset in the word << 2 */
  uint8_t size;       /* bytes */
  cw_stack_id stack;  /* where */
};

/* As stored: clock, thread, info and size in one 64-bit word read and written atomically, so a
 * thread never sees half of another thread's concurrent update (the stack id beside it only
 * names the place, for reports). */
struct cw_shadow_word {
  _Atomic uint64_t write, read;
  _Atomic cw_stack_id write_stack, read_stack;
};

static inline uint64_t cw_cell_pack(const struct cw_cell *c)
{
  return c->clock | (uint64_t)c->tid << 32 | (uint64_t)c->info << 48 | (uint64_t)c->size << 56;
}

static inline struct cw_cell cw_cell_load(const _Atomic uint64_t *bits, const _Atomic cw_stack_id *stack)
{
  uint64_t v = __atomic_load_n((const uint64_t *)bits, __ATOMIC_RELAXED);
  struct cw_cell c = {(uint32_t)v, (uint16_t)(v >> 32), (uint8_t)(v >> 48), (uint8_t)(v >> 56),
                      __atomic_load_n((const cw_stack_id *)stack, __ATOMIC_RELAXED)};
  return c;
}

/* The shadow word of the 8 bytes containing addr (created on demand; NULL if out of memory). */
struct cw_shadow_word *cw_shadow_word(uintptr_t addr);

#define CW_SHADOW_REGION_SHIFT 22 /* 4 MiB of program memory per shadow region */

/* The same through the thread's one-entry cache of the last region it touched. */
static inline struct cw_shadow_word *cw_shadow_word_cached(struct cw_thread *t, uintptr_t addr)
{
  uintptr_t region = addr >> CW_SHADOW_REGION_SHIFT;
  if (CW_LIKELY(t->shadow_region == region + 1))
    return (struct cw_shadow_word *)t->shadow_base +
           ((addr >> 3) & (((uintptr_t)1 << (CW_SHADOW_REGION_SHIFT - 3)) - 1));
  struct cw_shadow_word *w = cw_shadow_word(addr);
  if (w) {
    t->shadow_region = region + 1;
    t->shadow_base = w - ((addr >> 3) & (((uintptr_t)1 << (CW_SHADOW_REGION_SHIFT - 3)) - 1));
  }
  return w;
}
/* The shadow word if it exists, without creating it. */
struct cw_shadow_word *cw_shadow_find(uintptr_t addr);
/* Forget [addr, addr+size). */
void cw_shadow_clear(uintptr_t addr, size_t size);
size_t cw_shadow_bytes(void);

#endif
