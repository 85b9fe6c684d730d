#include "shadow.h"

#include <stdatomic.h>
#include <string.h>
#include <sys/mman.h>

#include "../runtime/platform.h"

#define REGION_SHIFT CW_SHADOW_REGION_SHIFT
#define TABLE_SIZE (1u << 16) /* regions: 256 GiB of address space */

struct slot {
  _Atomic uintptr_t region; /* region number + 1; 0 = empty */
  _Atomic(struct cw_shadow_region *) shadow;
};

static struct slot table[TABLE_SIZE];
static cw_lock_t table_lock = CW_LOCK_INIT;

static size_t slot_of(uintptr_t region) { return (size_t)((region * 0x9e3779b97f4a7c15ull) >> 48) & (TABLE_SIZE - 1); }

static struct cw_shadow_region *lookup(uintptr_t region, bool create)
{
  uintptr_t key = region + 1;
  for (size_t i = slot_of(region), n = 0; n < TABLE_SIZE; i = (i + 1) & (TABLE_SIZE - 1), n++) {
    uintptr_t k = atomic_load_explicit(&table[i].region, memory_order_acquire);
    if (k == key)
      return atomic_load_explicit(&table[i].shadow, memory_order_acquire);
    if (k != 0)
      continue;
    if (!create)
      return NULL;
    cw_lock_acquire(&table_lock);
    if (atomic_load(&table[i].region) == 0) {
      /* MAP_NORESERVE: pages of shadow exist only once the program touches the memory. */
      void *p = mmap(NULL, sizeof(struct cw_shadow_region), PROT_READ | PROT_WRITE,
                     MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
      if (p == MAP_FAILED) {
        cw_lock_release(&table_lock);
        return NULL;
      }
      atomic_store(&table[i].shadow, p);
      atomic_store_explicit(&table[i].region, key, memory_order_release);
      cw_lock_release(&table_lock);
      return p;
    }
    cw_lock_release(&table_lock);
    n--; /* somebody filled this slot meanwhile: look at it again */
    i = (i - 1) & (TABLE_SIZE - 1);
  }
  return NULL;
}

struct cw_shadow_region *cw_shadow_region(uintptr_t addr) { return lookup(addr >> REGION_SHIFT, true); }

struct cw_shadow_region *cw_shadow_region_find(uintptr_t addr) { return lookup(addr >> REGION_SHIFT, false); }

/* Zero [p, p+bytes): whole pages go back to the kernel (zero again, and not resident). */
static void zero(void *p, size_t bytes)
{
  uintptr_t from = (uintptr_t)p, to = from + bytes;
  uintptr_t lo = (from + 4095) & ~(uintptr_t)4095;
  uintptr_t hi = to & ~(uintptr_t)4095;
  if (hi > lo + 4096) {
    memset(p, 0, lo - from);
    madvise((void *)lo, hi - lo, MADV_DONTNEED);
    memset((void *)hi, 0, to - hi);
  } else {
    memset(p, 0, bytes);
  }
}

void cw_shadow_clear(uintptr_t addr, size_t size)
{
  uintptr_t end = addr + size;
  addr &= ~(uintptr_t)7;
  while (addr < end) {
    uintptr_t region_end = ((addr >> REGION_SHIFT) + 1) << REGION_SHIFT;
    uintptr_t stop = end < region_end ? end : region_end;
    struct cw_shadow_region *r = lookup(addr >> REGION_SHIFT, false);
    if (r) {
      size_t i = cw_shadow_index(addr), n = (stop - addr + 7) >> 3;
      zero(&r->write[i], n * sizeof r->write[0]);
      zero(&r->read[i], n * sizeof r->read[0]);
    }
    addr = stop;
  }
}
