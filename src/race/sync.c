/* Synchronization objects, found through the shadow region of their address (one slot per
 * 8-byte word, holding the objects of that word), each with its own lock: a lock or unlock
 * costs a region lookup and a join, with no table-wide lock. */
#include "sync.h"

#include <stdatomic.h>
#include <string.h>

#include "../runtime/alloc.h"
#include "../runtime/platform.h"
#include "shadow.h"

/* ---- vector clocks ---- */

void cw_vc_grow(uint32_t **c, uint32_t *len, uint32_t need)
{
  if (need <= *len)
    return;
  uint32_t n = *len ? *len : 8;
  while (n < need)
    n *= 2;
  uint32_t *bigger = cw_alloc(n * sizeof *bigger);
  if (*len)
    memcpy(bigger, *c, *len * sizeof *bigger);
  cw_free(*c);
  *c = bigger;
  *len = n;
}

/* Joins src into *dst; true if *dst had an entry above src's (src did not cover it). */
static bool join_reporting_excess(uint32_t **dst, uint32_t *dlen, const uint32_t *src, uint32_t slen)
{
  uint32_t used = slen;
  while (used && !src[used - 1])
    used--;
  if (CW_UNLIKELY(used > *dlen))
    cw_vc_grow(dst, dlen, used);
  uint32_t *d = *dst, excess = 0;
  for (uint32_t i = 0; i < used; i++) { /* branch-free: the compiler keeps it to a few cmovs */
    uint32_t a = d[i], b = src[i];
    excess |= a > b;
    d[i] = a > b ? a : b;
  }
  for (uint32_t i = used; i < *dlen; i++)
    excess |= d[i];
  return excess != 0;
}

void cw_vc_join(uint32_t **dst, uint32_t *dlen, const uint32_t *src, uint32_t slen)
{
  join_reporting_excess(dst, dlen, src, slen);
}

/* ---- objects ---- */

struct cw_sync {
  _Atomic uintptr_t addr;          /* 0 while on the free list */
  struct cw_sync *_Atomic next;    /* the next object in the same 8-byte word */
  cw_lock_t lock;                  /* guards what follows, and addr's changes */
  /* A thread whose clock covers this one (0: none): it released last and had acquired
   * everything released before, so its acquires here are no-ops (a mutex relocked by the
   * thread that just unlocked it). Its clock only grows, so this stays true until another
   * thread releases. */
  uint32_t covered_by;
  uint32_t *vc;
  uint32_t len;
  struct cw_sync *free_next;
};

/* Objects are never given back to the allocator: one that was forgotten goes to a free list
 * and is reused, so a thread still looking at it reads a valid object (and sees by its addr
 * that it is another one now). Creating and forgetting objects takes this lock. */
static cw_lock_t chains_lock = CW_LOCK_INIT;
static struct cw_sync *free_objects;

/* Pages that hold synchronization objects (bits never cleared): a free of memory without any
 * costs one bitmap test per page. */
#define SYNC_PAGE_BITS (1u << 18)
static _Atomic uint64_t sync_pages[SYNC_PAGE_BITS / 64];

static size_t sync_page_bit(uintptr_t addr) { return (size_t)(((addr >> 12) * 0x9e3779b97f4a7c15ull) >> 46) % SYNC_PAGE_BITS; }

static void mark_sync_page(uintptr_t addr)
{
  size_t bit = sync_page_bit(addr);
  if (!(atomic_load_explicit(&sync_pages[bit / 64], memory_order_relaxed) & (1ull << (bit % 64))))
    atomic_fetch_or_explicit(&sync_pages[bit / 64], 1ull << (bit % 64), memory_order_relaxed);
}

static bool page_may_hold_sync(uintptr_t page)
{
  size_t bit = sync_page_bit(page << 12);
  return atomic_load_explicit(&sync_pages[bit / 64], memory_order_relaxed) & (1ull << (bit % 64));
}

static struct cw_sync *_Atomic *slot_of(uintptr_t addr, bool create)
{
  struct cw_shadow_region *r = create ? cw_shadow_region(addr) : cw_shadow_region_find(addr);
  return r ? &r->sync[cw_shadow_index(addr)] : NULL;
}

static struct cw_sync *find_in(struct cw_sync *_Atomic *slot, uintptr_t addr)
{
  for (struct cw_sync *o = atomic_load_explicit(slot, memory_order_acquire); o;
       o = atomic_load_explicit(&o->next, memory_order_acquire))
    if (atomic_load_explicit(&o->addr, memory_order_relaxed) == addr)
      return o;
  return NULL;
}

static struct cw_sync *create_in(struct cw_sync *_Atomic *slot, uintptr_t addr)
{
  cw_lock_acquire(&chains_lock);
  struct cw_sync *o = find_in(slot, addr); /* another thread may have created it meanwhile */
  if (!o) {
    o = free_objects;
    if (o)
      free_objects = o->free_next;
    else
      o = cw_alloc(sizeof *o);
    atomic_store_explicit(&o->addr, addr, memory_order_relaxed);
    atomic_store_explicit(&o->next, atomic_load(slot), memory_order_relaxed);
    atomic_store_explicit(slot, o, memory_order_release);
    mark_sync_page(addr);
  }
  cw_lock_release(&chains_lock);
  return o;
}

/* The objects this OS thread used last, by address: a hint only, checked under the object's
 * lock (objects are never freed, so a stale hint is a valid object with another address). */
#define HINTS 4
static __thread struct cw_sync *hints[HINTS] __attribute__((tls_model("initial-exec")));

static size_t hint_of(uintptr_t addr) { return (addr >> 3) & (HINTS - 1); }

/* The object of addr, locked (created if asked); NULL if there is none. */
static struct cw_sync *lock_object(uintptr_t addr, bool create)
{
  struct cw_sync *o = hints[hint_of(addr)];
  if (o && atomic_load_explicit(&o->addr, memory_order_relaxed) == addr) {
    cw_lock_acquire(&o->lock);
    if (atomic_load_explicit(&o->addr, memory_order_relaxed) == addr)
      return o;
    cw_lock_release(&o->lock);
  }
  struct cw_sync *_Atomic *slot = slot_of(addr, create);
  if (!slot)
    return NULL;
  for (;;) {
    o = find_in(slot, addr);
    if (!o && (!create || !(o = create_in(slot, addr))))
      return NULL;
    cw_lock_acquire(&o->lock);
    if (atomic_load_explicit(&o->addr, memory_order_relaxed) == addr) {
      hints[hint_of(addr)] = o;
      return o;
    }
    cw_lock_release(&o->lock); /* forgotten (and perhaps reused) meanwhile: look again */
  }
}

void cw_sync_release(uintptr_t addr, const uint32_t *vc, uint32_t len, uint32_t tid)
{
  struct cw_sync *o = lock_object(addr, true);
  if (!o)
    return;
  bool excess = join_reporting_excess(&o->vc, &o->len, vc, len);
  o->covered_by = excess ? 0 : tid;
  cw_lock_release(&o->lock);
}

void cw_sync_acquire(uintptr_t addr, uint32_t **dst, uint32_t *dlen, uint32_t tid)
{
  struct cw_sync *o = lock_object(addr, false);
  if (!o)
    return;
  if (o->covered_by != tid)
    cw_vc_join(dst, dlen, o->vc, o->len);
  cw_lock_release(&o->lock);
}

/* Unlinks and frees the objects of one word that lie in [lo, hi). */
static void forget_in(struct cw_sync *_Atomic *slot, uintptr_t lo, uintptr_t hi)
{
  struct cw_sync *_Atomic *link = slot;
  struct cw_sync *o;
  while ((o = atomic_load_explicit(link, memory_order_relaxed))) {
    uintptr_t a = atomic_load_explicit(&o->addr, memory_order_relaxed);
    if (a < lo || a >= hi) {
      link = &o->next;
      continue;
    }
    /* o->next stays as it is: a thread walking the chain through o goes on correctly. */
    atomic_store_explicit(link, atomic_load_explicit(&o->next, memory_order_relaxed), memory_order_release);
    cw_lock_acquire(&o->lock);
    atomic_store_explicit(&o->addr, 0, memory_order_relaxed);
    cw_free(o->vc);
    o->vc = NULL;
    o->len = 0;
    o->covered_by = 0;
    cw_lock_release(&o->lock);
    o->free_next = free_objects;
    free_objects = o;
  }
}

void cw_sync_forget(uintptr_t addr, size_t size)
{
  uintptr_t end = addr + size;
  for (uintptr_t page = addr >> 12; size && page <= (end - 1) >> 12; page++) {
    if (!page_may_hold_sync(page))
      continue;
    uintptr_t lo = page << 12 > addr ? page << 12 : addr, hi = (page + 1) << 12 < end ? (page + 1) << 12 : end;
    struct cw_sync *_Atomic *slot = slot_of(lo, false);
    if (!slot)
      continue;
    cw_lock_acquire(&chains_lock);
    for (uintptr_t word = lo & ~(uintptr_t)7; word < hi; word += 8, slot++)
      forget_in(slot, lo, hi);
    cw_lock_release(&chains_lock);
  }
}
