/* Stack capture (libunwind) and the stack depot: every distinct stack is stored once and named
 * by a small id, so findings and lock-graph edges keep ids, not frame arrays. */
#ifndef CW_STACK_H
#define CW_STACK_H

#include <stddef.h>
#include <stdint.h>

#include "../runtime/thread.h"

#define cw_unwound cw_unwound_frame

/* Find concwatch's own code range, so captured stacks start at the program's call. */
void cw_stack_init(void);

/* Unwind the calling thread, skipping concwatch's own frames. Returns the frame count. */
size_t cw_unwind(struct cw_unwound *out, size_t max);

/* Capture the current stack into the depot. `pc`, when non-zero, is the return address of the
 * intercepted call: frames are kept from the one that matches it (or from the first frame
 * outside concwatch). Returns 0 if nothing could be captured. */
cw_stack_id cw_stack_capture(uintptr_t pc);

/* The stack at which a lock still held was taken, rebuilt from what was recorded at that
 * moment (the call's return address and the caller's stack pointer) and the current stack:
 * the caller frames that are still live are the current frames above that stack pointer. */
cw_stack_id cw_stack_rebuild(uintptr_t acquire_pc, uintptr_t acquire_sp,
                             const struct cw_unwound *now, size_t nnow);

/* Store a stack; identical stacks get the same id. */
cw_stack_id cw_stack_intern(const uintptr_t *pcs, size_t n);

/* The frames of a stored stack (valid for the life of the process). */
size_t cw_stack_get(cw_stack_id id, const uintptr_t **pcs);

void cw_stack_prefork(void);
void cw_stack_postfork(int in_child);

#endif
