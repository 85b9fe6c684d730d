/* free and realloc: a lock whose memory is released is forgotten, so a new lock at the same
 * address starts with no history. The block size comes from the allocator that owns the
 * block (malloc_usable_size of the same library as the real free). */
#include <dlfcn.h>
#include <malloc.h>
#include <stdatomic.h>
#include <stdlib.h>

#include "interpose.h"

CW_REAL(free);
CW_REAL(realloc);
CW_REAL(malloc_usable_size);

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

CW_EXPORT void free(void *p)
{
  if (__builtin_expect(!real_free, 0) && !resolve_all())
    return;
  if (p && size_known)
    released(p, real_malloc_usable_size(p), CW_CALLER_PC);
  real_free(p);
}

CW_EXPORT void *realloc(void *p, size_t n)
{
  if (__builtin_expect(!real_realloc, 0) && !resolve_all())
    return NULL;
  size_t old = p && size_known ? real_malloc_usable_size(p) : 0;
  void *q = real_realloc(p, n);
  if (!p || !q)
    return q; /* fresh block, or failed (the old block is intact) */
  if (q != p)
    released(p, old, CW_CALLER_PC);
  else if (n < old)
    released((char *)p + n, old - n, CW_CALLER_PC);
  return q;
}
