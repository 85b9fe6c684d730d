/* Shadow memory: for every 8 bytes of the program's memory, the last write and the last read
 * (thread, clock, size and offset, where). Allocated on demand per 4 MiB region of the
 * program's address space, so only touched memory costs anything (16 bytes per 8 bytes
 * written, 16 more where read by a thread that did not write it in the same epoch, and a
 * pointer per 8 bytes where synchronization objects live). */
#ifndef CW_SHADOW_H
#define CW_SHADOW_H

#include <stddef.h>
#include <emmintrin.h>
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
 * thread never sees half of another thread's concurrent update. */
#define CW_CELL_TID_BITS ((uint64_t)0xffff << 32)
#define CW_CELL_VALID_BIT ((uint64_t)CW_CELL_VALID << 48)

static inline uint64_t cw_cell_pack(const struct cw_cell *c)
{
  return c->clock | (uint64_t)c->tid << 32 | (uint64_t)c->info << 48 | (uint64_t)c->size << 56;
}

/* The bits of an access by the thread whose present is `now` (clock | tid << 32 | VALID << 48). */
static inline __attribute__((always_inline)) uint64_t cw_cell_of(uint64_t now, unsigned off, size_t size)
{
  return now | (uint64_t)(off << 2) << 48 | (uint64_t)size << 56;
}

/* Empty, or recorded by the thread whose present is `now`. */
static inline __attribute__((always_inline)) bool cw_cell_mine(uint64_t cell, uint64_t now)
{
  return !(cell & CW_CELL_VALID_BIT) || !((cell ^ now) & CW_CELL_TID_BITS);
}

#define CW_SHADOW_REGION_SHIFT 22 /* 4 MiB of program memory per shadow region */
#define CW_SHADOW_WORDS ((size_t)1 << (CW_SHADOW_REGION_SHIFT - 3))

/* An access as stored: the cell's bits and its stack id side by side, written by one 16-byte
 * store (atomic on x86-64 processors with AVX, and a single instruction on all): a report never
 * pairs one thread's access with the stack of another thread's access to the same word. */
struct cw_shadow_cell {
  uint64_t bits;
  cw_stack_id stack;
  uint32_t unused;
} __attribute__((aligned(16)));

static inline __attribute__((always_inline)) uint64_t cw_shadow_bits(const struct cw_shadow_cell *c)
{
  return __atomic_load_n(&c->bits, __ATOMIC_RELAXED);
}

static inline __attribute__((always_inline)) void cw_shadow_record(struct cw_shadow_cell *c, uint64_t bits,
                                                                  cw_stack_id stack)
{
  _mm_store_si128((__m128i *)c, _mm_set_epi64x((long long)stack, (long long)bits));
}

/* Empties the cell (the stack beside empty bits means nothing). */
static inline __attribute__((always_inline)) void cw_shadow_erase(struct cw_shadow_cell *c)
{
  __atomic_store_n(&c->bits, 0, __ATOMIC_RELAXED);
}

static inline struct cw_cell cw_cell_load(const struct cw_shadow_cell *c)
{
  __m128i both = _mm_load_si128((const __m128i *)c);
  uint64_t v = (uint64_t)_mm_cvtsi128_si64(both);
  cw_stack_id stack = (cw_stack_id)_mm_cvtsi128_si64(_mm_unpackhi_epi64(both, both));
  struct cw_cell cell = {(uint32_t)v, (uint16_t)(v >> 32), (uint8_t)(v >> 48), (uint8_t)(v >> 56), stack};
  return cell;
}

struct cw_sync;

/* One region's shadow: the last writes and the last reads in separate arrays, so memory that
 * one thread writes and then reads back in the same epoch never touches (makes resident) its
 * read array. The synchronization objects of each word (sync.c) hang from the last array. */
struct cw_shadow_region {
  struct cw_shadow_cell write[CW_SHADOW_WORDS];
  struct cw_shadow_cell read[CW_SHADOW_WORDS];
  struct cw_sync *_Atomic sync[CW_SHADOW_WORDS];
};

static inline __attribute__((always_inline)) size_t cw_shadow_index(uintptr_t addr)
{
  return (addr >> 3) & (CW_SHADOW_WORDS - 1);
}

/* The shadow region of addr (created on demand; NULL if out of memory). */
struct cw_shadow_region *cw_shadow_region(uintptr_t addr);
/* The same if it exists, without creating it. */
struct cw_shadow_region *cw_shadow_region_find(uintptr_t addr);

/* The same through the thread's one-entry cache of the last region it touched. */
static inline __attribute__((always_inline)) struct cw_shadow_region *cw_shadow_region_cached(struct cw_thread *t,
                                                                                             uintptr_t addr)
{
  uintptr_t key = (addr >> CW_SHADOW_REGION_SHIFT) + 1;
  if (CW_LIKELY(t->shadow_region == key))
    return (struct cw_shadow_region *)t->shadow_base;
  struct cw_shadow_region *r = cw_shadow_region(addr);
  if (r) {
    t->shadow_region = key;
    t->shadow_base = r;
  }
  return r;
}

/* Forget [addr, addr+size). */
void cw_shadow_clear(uintptr_t addr, size_t size);

#endif
