/* Data races in programs built with the compilers' ThreadSanitizer instrumentation: vector
 * clocks (happens-before from every synchronization concwatch sees) and shadow memory that
 * remembers the last write and the last read of every 8 bytes the program touched. */
#ifndef CW_RACE_H
#define CW_RACE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../runtime/thread.h"

/* In an access's interned stack, what follows this value is the locks held at the access
 * (address | lock kind), not frames. */
#define CW_RACE_LOCKS_MARK ((uintptr_t)-1)

/* Set by __tsan_init: the program is instrumented, race detection runs. */
extern bool cw_race_enabled;

void cw_race_init(uintptr_t caller_pc);

/* Accesses by instrumented code. */
void cw_race_access(uintptr_t addr, size_t size, bool write, bool atomic, uintptr_t pc);
void cw_race_range(uintptr_t addr, size_t size, bool write, uintptr_t pc);
/* A library call (memcpy, ...) made from instrumented code: true when pc is in it. */
bool cw_race_from_instrumented(uintptr_t pc);

void cw_race_func_entry(uintptr_t pc);
void cw_race_func_exit(void);

/* Happens-before on an address (locks, atomics, annotations). */
void cw_race_acquire(struct cw_thread *t, uintptr_t addr);
void cw_race_release(struct cw_thread *t, uintptr_t addr);

/* Atomics: memory orders as the compilers pass them (0 relaxed ... 5 seq_cst). The release
 * side must be recorded before the operation (another thread may see the value at once) and
 * the acquire side after it (the value read decides what is acquired). */
void cw_race_atomic_before(uintptr_t addr, size_t size, bool store, int order, uintptr_t pc);
void cw_race_atomic_after(uintptr_t addr, bool load, int order);
void cw_race_fence(int order);

/* Threads: the child starts after everything its creator did; a join sees all the child did. */
void cw_race_thread_created(struct cw_thread *parent, struct cw_thread *child);
void cw_race_thread_started(struct cw_thread *t);
void cw_race_thread_finished(struct cw_thread *t);
void cw_race_thread_joined(struct cw_thread *joiner, struct cw_thread *child);

/* A heap block allocated at pc (recorded when pc is instrumented code), and the block
 * containing an address, for reports. */
void cw_race_allocated(uintptr_t addr, size_t size, uintptr_t pc);
bool cw_race_find_block(uintptr_t addr, uintptr_t *start, size_t *size, cw_stack_id *stack);

/* Memory given back: its history goes. */
void cw_race_forget(uintptr_t addr, size_t size);

/* Annotations. */
void cw_race_ignore(int delta);
void cw_race_benign(uintptr_t addr, size_t size);

#endif
