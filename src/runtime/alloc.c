#include "alloc.h"

#include <stdint.h>
#include <string.h>
#include <unistd.h>

#include "platform.h"

/* Every block carries a 16-byte header with its class (or, for large blocks, mapped size),
 * so cw_free needs no size. Small classes are powers of two from 32 to 32 KiB bytes
 * (header included); anything larger is its own mapping. */
#define HEADER 16u
#define MIN_SHIFT 5
#define MAX_SHIFT 15
#define NCLASSES (MAX_SHIFT - MIN_SHIFT + 1)
#define SLAB_SIZE (256u * 1024u)
#define LARGE_CLASS 0xffu

struct header {
  size_t size_or_class; /* class index for small blocks, mapping size for large */
  size_t requested;
};

struct free_block {
  struct free_block *next;
};

static cw_lock_t alloc_lock = CW_LOCK_INIT;
static struct free_block *free_lists[NCLASSES];
static char *slab_cursor, *slab_end;
static size_t bytes_in_use;

static void out_of_memory(void)
{
  static const char msg[] = "concwatch: out of memory for the detector's own data; exiting\n";
  cw_write_all(2, msg, sizeof msg - 1);
  _exit(70);
}

static unsigned class_of(size_t total)
{
  unsigned cls = 0;
  while (((size_t)1 << (cls + MIN_SHIFT)) < total)
    cls++;
  return cls;
}

static void *carve(unsigned cls)
{
  size_t size = (size_t)1 << (cls + MIN_SHIFT);
  if (free_lists[cls]) {
    struct free_block *b = free_lists[cls];
    free_lists[cls] = b->next;
    return b;
  }
  if (slab_cursor == NULL || (size_t)(slab_end - slab_cursor) < size) {
    slab_cursor = cw_map(SLAB_SIZE);
    if (!slab_cursor)
      out_of_memory();
    slab_end = slab_cursor + SLAB_SIZE;
  }
  void *p = slab_cursor;
  slab_cursor += size;
  return p;
}

void *cw_alloc(size_t size)
{
  size_t total = size + HEADER;
  struct header *h;
  if (total > ((size_t)1 << MAX_SHIFT)) {
    size_t mapped = (total + 4095) & ~(size_t)4095;
    h = cw_map(mapped);
    if (!h)
      out_of_memory();
    h->size_or_class = mapped;
    cw_lock_acquire(&alloc_lock);
    bytes_in_use += mapped;
    cw_lock_release(&alloc_lock);
  } else {
    unsigned cls = class_of(total);
    cw_lock_acquire(&alloc_lock);
    h = carve(cls);
    bytes_in_use += (size_t)1 << (cls + MIN_SHIFT);
    cw_lock_release(&alloc_lock);
    memset(h, 0, (size_t)1 << (cls + MIN_SHIFT));
    h->size_or_class = cls;
  }
  h->requested = size;
  return (char *)h + HEADER;
}

void cw_free(void *p)
{
  if (!p)
    return;
  struct header *h = (struct header *)((char *)p - HEADER);
  if (h->size_or_class >= NCLASSES) {
    size_t mapped = h->size_or_class;
    cw_lock_acquire(&alloc_lock);
    bytes_in_use -= mapped;
    cw_lock_release(&alloc_lock);
    cw_unmap(h, mapped);
    return;
  }
  unsigned cls = (unsigned)h->size_or_class;
  struct free_block *b = (struct free_block *)h;
  cw_lock_acquire(&alloc_lock);
  b->next = free_lists[cls];
  free_lists[cls] = b;
  bytes_in_use -= (size_t)1 << (cls + MIN_SHIFT);
  cw_lock_release(&alloc_lock);
}

void *cw_realloc(void *p, size_t size)
{
  if (!p)
    return cw_alloc(size);
  struct header *h = (struct header *)((char *)p - HEADER);
  size_t old = h->requested;
  void *q = cw_alloc(size);
  memcpy(q, p, old < size ? old : size);
  cw_free(p);
  return q;
}

char *cw_strdup(const char *s)
{
  size_t n = strlen(s) + 1;
  char *d = cw_alloc(n);
  memcpy(d, s, n);
  return d;
}

size_t cw_alloc_in_use(void)
{
  cw_lock_acquire(&alloc_lock);
  size_t n = bytes_in_use;
  cw_lock_release(&alloc_lock);
  return n;
}

void cw_alloc_prefork(void) { cw_lock_acquire(&alloc_lock); }

void cw_alloc_postfork(int in_child)
{
  if (in_child)
    cw_lock_reset(&alloc_lock);
  else
    cw_lock_release(&alloc_lock);
}
