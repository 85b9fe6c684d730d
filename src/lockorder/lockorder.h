/* Lock-order checking: the held-lock stack of each thread and the rules that turn
 * acquisitions into lock-graph edges and cycles into reports. */
#ifndef CW_LOCKORDER_H
#define CW_LOCKORDER_H

#include "../engine.h"
#include "../runtime/thread.h"

/* Before a blocking or timed acquisition while holding locks, when the chain cache does not
 * know this (held stack, lock) yet: add the edges it implies and report a cycle before the
 * thread can block, then remember the chain. */
void cw_lockorder_check(struct cw_thread *t, const void *lock, enum cw_lock_kind kind,
                        enum cw_lock_mode mode, uint64_t chain_key);
bool cw_lockorder_holds(const struct cw_thread *t, const void *lock);

/* The lock's memory is gone or re-initialized: forget it (a new lock may take its address). */
void cw_lockorder_forget(const void *lock);
void cw_lockorder_forget_range(const void *start, size_t size);
bool cw_lockorder_range_may_hold_locks(const void *start, size_t size);
/* A semaphore posted by a thread that did not take it is a signal, not a lock. */
void cw_lockorder_sem_is_signal(const void *sem);

void cw_lockorder_prefork(void);
void cw_lockorder_postfork(int in_child);

#endif
