/* Vector clocks, and the synchronization objects of happens-before: every address something
 * was released on (a lock, an atomic, a channel, a thread's end...) has a clock, the join of
 * the clocks of the threads that released it. */
#ifndef CW_RACE_SYNC_H
#define CW_RACE_SYNC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Clocks are arrays indexed by thread id, grown on demand (entries past the length are 0). */
static inline uint32_t cw_vc_get(const uint32_t *c, uint32_t len, uint32_t id) { return id < len ? c[id] : 0; }
void cw_vc_grow(uint32_t **c, uint32_t *len, uint32_t need);
/* *dst = max(*dst, src), entry by entry. */
void cw_vc_join(uint32_t **dst, uint32_t *dlen, const uint32_t *src, uint32_t slen);

/* Joins the clock of thread tid (or a clock it had earlier, such as one kept at a fence) into
 * the object at addr, creating it. */
void cw_sync_release(uintptr_t addr, const uint32_t *vc, uint32_t len, uint32_t tid);
/* Joins the object's clock, if there is one, into *dst, a clock of thread tid (or one that
 * tid's clock will take in later). */
void cw_sync_acquire(uintptr_t addr, uint32_t **dst, uint32_t *dlen, uint32_t tid);
/* The objects in [addr, addr+size) are gone (their memory was freed). */
void cw_sync_forget(uintptr_t addr, size_t size);

#endif
