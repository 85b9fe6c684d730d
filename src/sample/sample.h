/* Data races in programs that were not rebuilt: sampled hardware watchpoints (DataCollider's
 * method). A sampler thread watches a few of the program's own data locations at a time in
 * every thread; the first accesses of a window are only recorded, then one thread is held for
 * a moment right after its access, and an access by another thread during that moment (one of
 * the two a write, neither atomic, the location not a polled flag) is a race caught in the act.
 * The rule and its limits: docs/design.md, "Sampled races". */
#ifndef CW_SAMPLE_H
#define CW_SAMPLE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../runtime/thread.h"

/* At start-up: when the option is on, find the program's modules and start recording the heap
 * blocks its code allocates (a block allocated before the first thread may be raced on). */
void cw_sample_startup(void);
/* A thread is about to be created (in the creating thread): the first time, open the
 * watchpoints (every thread created from now on inherits them) and start the sampler. */
void cw_sample_thread_creating(void);

/* The process is exiting: judge the windows still open (a short program may end within its
 * first window) and stop sampling. */
void cw_sample_at_exit(void);

/* For reports: the heap block (allocated by program code) holding addr. */
bool cw_sample_find_block(uintptr_t addr, uintptr_t *start, size_t *size, uintptr_t *alloc_pc);

void cw_sample_prefork(void);
void cw_sample_postfork(int in_child);

#endif
