#include "objects.h"

#include <stdatomic.h>

#include "hash.h"

struct entry {
  struct cw_object obj;
  UT_hash_handle hh;
};

static cw_lock_t objects_lock = CW_LOCK_INIT;
static struct entry *objects;

#define PAGE_SHIFT 12
#define PAGE_BITS (1u << 18)
static _Atomic uint64_t pages[PAGE_BITS / 64]; /* bits are never cleared */

static size_t page_bit(uintptr_t addr)
{
  return (size_t)(((addr >> PAGE_SHIFT) * 0x9e3779b97f4a7c15ull) >> 46) % PAGE_BITS;
}

static struct entry *find_locked(uintptr_t addr)
{
  struct entry *e;
  HASH_FIND(hh, objects, &addr, sizeof addr, e);
  return e;
}

static struct entry *get_locked(uintptr_t addr, enum cw_object_kind kind)
{
  struct entry *e = find_locked(addr);
  if (!e) {
    e = cw_alloc(sizeof *e);
    e->obj.addr = addr;
    e->obj.kind = (uint8_t)kind;
    HASH_ADD(hh, objects, obj.addr, sizeof e->obj.addr, e);
    size_t bit = page_bit(addr);
    atomic_fetch_or(&pages[bit / 64], 1ull << (bit % 64));
  }
  return e;
}

void cw_object_register(const void *addr, enum cw_object_kind kind, bool shared)
{
  cw_lock_acquire(&objects_lock);
  struct entry *e = get_locked((uintptr_t)addr, kind);
  e->obj.kind = (uint8_t)kind;
  e->obj.shared = shared;
  e->obj.waiters = 0;
  e->obj.cond_mutex = NULL;
  cw_lock_release(&objects_lock);
}

void cw_object_forget(const void *addr)
{
  cw_lock_acquire(&objects_lock);
  struct entry *e = find_locked((uintptr_t)addr);
  if (e) {
    HASH_DEL(objects, e);
    cw_free(e);
  }
  cw_lock_release(&objects_lock);
}

bool cw_object_find(const void *addr, struct cw_object *copy)
{
  cw_lock_acquire(&objects_lock);
  struct entry *e = find_locked((uintptr_t)addr);
  if (e)
    *copy = e->obj;
  cw_lock_release(&objects_lock);
  return e != NULL;
}

bool cw_object_is_shared(const void *addr)
{
  struct cw_object o;
  return cw_object_find(addr, &o) && o.shared;
}

bool cw_objects_may_be_in(const void *start, size_t size)
{
  if (!size)
    return false;
  uintptr_t first = (uintptr_t)start >> PAGE_SHIFT, last = ((uintptr_t)start + size - 1) >> PAGE_SHIFT;
  if (last - first > 64)
    return true;
  for (uintptr_t pg = first; pg <= last; pg++) {
    size_t bit = page_bit(pg << PAGE_SHIFT);
    if (atomic_load_explicit(&pages[bit / 64], memory_order_relaxed) & (1ull << (bit % 64)))
      return true;
  }
  return false;
}

size_t cw_objects_in(const void *start, size_t size, struct cw_object *out, size_t max)
{
  size_t n = 0;
  uintptr_t lo = (uintptr_t)start, hi = lo + size;
  cw_lock_acquire(&objects_lock);
  if (size / 8 < (size_t)HASH_COUNT(objects)) { /* probe each possible address */
    for (uintptr_t a = lo & ~(uintptr_t)7; a < hi && n < max; a += 8) {
      struct entry *e = find_locked(a);
      if (e)
        out[n++] = e->obj;
    }
  } else {
    struct entry *e, *tmp;
    HASH_ITER(hh, objects, e, tmp)
    if (e->obj.addr >= lo && e->obj.addr < hi && n < max)
      out[n++] = e->obj;
  }
  cw_lock_release(&objects_lock);
  return n;
}

struct cw_object cw_object_wait_begin(const void *addr, enum cw_object_kind kind, const void *mutex,
                                      uint32_t thread, cw_stack_id stack)
{
  cw_lock_acquire(&objects_lock);
  struct entry *e = get_locked((uintptr_t)addr, kind);
  struct cw_object before = e->obj;
  if (e->obj.waiters++ == 0 || !e->obj.cond_mutex) {
    e->obj.cond_mutex = mutex;
    e->obj.cond_mutex_thread = thread;
    e->obj.cond_mutex_stack = stack;
  }
  cw_lock_release(&objects_lock);
  return before;
}

void cw_object_wait_end(const void *addr)
{
  cw_lock_acquire(&objects_lock);
  struct entry *e = find_locked((uintptr_t)addr);
  if (e && e->obj.waiters && --e->obj.waiters == 0)
    e->obj.cond_mutex = NULL;
  cw_lock_release(&objects_lock);
}

void cw_objects_prefork(void) { cw_lock_acquire(&objects_lock); }

void cw_objects_postfork(int in_child)
{
  if (!in_child) {
    cw_lock_release(&objects_lock);
    return;
  }
  cw_lock_reset(&objects_lock);
  struct entry *e, *tmp; /* the waiters were threads of the parent */
  HASH_ITER(hh, objects, e, tmp)
  {
    e->obj.waiters = 0;
    e->obj.cond_mutex = NULL;
  }
}
