/* The engine's own allocator. The shim must never call the program's malloc (it may be a
 * custom allocator that itself takes locks, or the call may come from inside it), so all
 * engine memory comes from here: size-classed free lists over mmap'd slabs. */
#ifndef CW_ALLOC_H
#define CW_ALLOC_H

#include <stddef.h>

void *cw_alloc(size_t size);  /* zeroed; aborts the engine cleanly on out-of-memory */
void *cw_realloc(void *p, size_t size);
void cw_free(void *p);
char *cw_strdup(const char *s);

/* Bytes currently handed out (for the stress test's bounded-memory check). */
size_t cw_alloc_in_use(void);

/* Fork support: hold the allocator lock across fork so the child inherits a consistent heap. */
void cw_alloc_prefork(void);
void cw_alloc_postfork(int in_child);

/* Grow a dynamic array: ensure room for `need` elements of `elem` bytes. */
#define CW_GROW(ptr, cap, need)                                                          \
  do {                                                                                   \
    if ((size_t)(need) > (size_t)(cap)) {                                                \
      size_t cw_newcap_ = (cap) ? (size_t)(cap) * 2 : 8;                                 \
      while (cw_newcap_ < (size_t)(need))                                                \
        cw_newcap_ *= 2;                                                                 \
      (ptr) = cw_realloc((ptr), cw_newcap_ * sizeof(*(ptr)));                            \
      (cap) = cw_newcap_;                                                                \
    }                                                                                    \
  } while (0)

#endif
