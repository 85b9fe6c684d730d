/* uthash, with its memory taken from the engine's allocator (never the program's malloc). */
#ifndef CW_HASH_H
#define CW_HASH_H

#include "alloc.h"

#define uthash_malloc(sz) cw_alloc(sz)
#define uthash_free(ptr, sz) cw_free(ptr)
#define uthash_fatal(msg) cw_alloc((size_t)-1 / 2) /* out of memory: cw_alloc exits cleanly */
#include <uthash.h>

#endif
