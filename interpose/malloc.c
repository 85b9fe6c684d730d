/* free and realloc: a lock whose memory is released is forgotten, so a new lock at the same
 * address starts with no history, and the block's race history goes. The block size comes from
 * the allocator that owns the block (malloc_usable_size of the same library as the real free).
 * malloc and calloc: in instrumented programs, blocks allocated by instrumented code are
 * remembered with their size and allocation stack, for race reports. */
#include <dlfcn.h>
#include <malloc.h>
#include <stdatomic.h>
#include <stdlib.h>

#include "interpose.h"

CW_REAL(free);
CW_REAL(realloc);
CW_REAL(malloc);
CW_REAL(calloc);
CW_REAL(malloc_usable_size);

/* dlsym may call calloc before the real one is known: those few bytes come from here. */
static char bootstrap[8192] __attribute__((aligned(16)));
static size_t bootstrap_used;

static void *bootstrap_alloc(size_t n)
{
  size_t at = __atomic_fetch_add(&bootstrap_used, (n + 15) & ~(size_t)15, __ATOMIC_RELAXED);
  return at + n <= sizeof bootstrap ? bootstrap + at : NULL; /* zeroed: static storage */
}

static int is_bootstrap(const void *p)
{
  return (const char *)p >= bootstrap && (const char *)p < bootstrap + sizeof bootstrap;
}

static _Atomic int resolving;
static int size_known; /* 1: malloc_usable_size belongs to the allocator behind free */

static int same_object(void *a, void *b)
{
  Dl_info ia, ib;
  return dladdr(a, &ia) && dladdr(b, &ib) && ia.dli_fbase == ib.dli_fbase;
}

/* dlsym may itself free (its error buffer): a free arriving during resolution is dropped. */
static int resolve_all(void)
{
  if (atomic_exchange(&resolving, 1))
    return 0;
  real_calloc = (__typeof__(real_calloc))cw_resolve("calloc", 0);
  real_malloc = (__typeof__(real_malloc))cw_resolve("malloc", 0);
  real_free = (__typeof__(real_free))cw_resolve("free", 0);
  real_realloc = (__typeof__(real_realloc))cw_resolve("realloc", 0);
  real_malloc_usable_size = (__typeof__(real_malloc_usable_size))cw_resolve("malloc_usable_size", 0);
  size_known = same_object((void *)real_free, (void *)real_malloc_usable_size);
  return 1;
}

static void released(void *p, size_t size, uintptr_t pc)
{
  if (size_known && cw_memory_watch_enabled())
    cw_memory_released(p, size, pc);
}

CW_EXPORT void *malloc(size_t n)
{
  if (__builtin_expect(!real_malloc, 0) && !resolve_all())
    return bootstrap_alloc(n);
  void *p = real_malloc(n);
  if (__builtin_expect(cw_race_enabled, 0) && p)
    cw_race_allocated((uintptr_t)p, n, CW_CALLER_PC);
  if (__builtin_expect(cw_heap_tracking, 0) && p)
    cw_heap_allocated((uintptr_t)p, n, CW_CALLER_PC);
  return p;
}

CW_EXPORT void *calloc(size_t count, size_t size)
{
  if (__builtin_expect(!real_calloc, 0) && !resolve_all())
    return bootstrap_alloc(count * size);
  void *p = real_calloc(count, size);
  if (__builtin_expect(cw_race_enabled, 0) && p)
    cw_race_allocated((uintptr_t)p, count * size, CW_CALLER_PC);
  if (__builtin_expect(cw_heap_tracking, 0) && p)
    cw_heap_allocated((uintptr_t)p, count * size, CW_CALLER_PC);
  return p;
}

CW_EXPORT void free(void *p)
{
  if (is_bootstrap(p))
    return;
  if (__builtin_expect(!real_free, 0) && !resolve_all())
    return;
  if (p && size_known)
    released(p, real_malloc_usable_size(p), CW_CALLER_PC);
  if (__builtin_expect(cw_heap_tracking, 0) && p)
    cw_heap_released((uintptr_t)p);
  real_free(p);
}

CW_EXPORT void *realloc(void *p, size_t n)
{
  if (__builtin_expect(!real_realloc, 0) && !resolve_all())
    return NULL;
  if (is_bootstrap(p)) { /* a bootstrap block grows into a real one */
    void *q = real_malloc(n);
    if (q)
      __builtin_memcpy(q, p, n < sizeof bootstrap ? n : sizeof bootstrap);
    return q;
  }
  size_t old = p && size_known ? real_malloc_usable_size(p) : 0;
  /* Before the call: once realloc has freed p, another thread may get a block at p. */
  if (p && __builtin_expect(cw_heap_tracking, 0))
    cw_heap_released((uintptr_t)p);
  void *q = real_realloc(p, n);
  if (q && __builtin_expect(cw_race_enabled, 0))
    cw_race_allocated((uintptr_t)q, n, CW_CALLER_PC);
  if (q && __builtin_expect(cw_heap_tracking, 0))
    cw_heap_allocated((uintptr_t)q, n, CW_CALLER_PC);
  if (!p || !q)
    return q; /* fresh block, or failed (the old block is intact) */
  if (q != p)
    released(p, old, CW_CALLER_PC);
  else if (n < old)
    released((char *)p + n, old - n, CW_CALLER_PC);
  return q;
}
