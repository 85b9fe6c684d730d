/* Real deadlocks: what each thread waits for, and the watchdog that finds threads that can never
 * go on. Locks are recorded as pending held entries (held.h); other waits (conditions,
 * semaphores used as signals, barriers, joins) through cw_wait_begin/end. */
#ifndef CW_WAITS_H
#define CW_WAITS_H

#include <signal.h>

#include "../engine.h"
#include "../runtime/thread.h"


/* Start the watchdog if it is not running (it only runs in programs that could deadlock:
 * after the first thread creation or the first wait on a condition, semaphore, barrier or
 * join). */
void cw_watchdog_ensure(void);

void cw_wait_begin(struct cw_thread *t, const struct cw_wait *w);
void cw_wait_end(struct cw_thread *t);

/* The calling thread is about to block forever on a lock it holds itself. Reports, then
 * ends the program unless deadlock_action=report. */
void cw_self_deadlock(struct cw_thread *t, const void *lock, enum cw_lock_kind kind,
                      enum cw_lock_mode mode, uintptr_t pc, uintptr_t sp);

void cw_waits_postfork_child(void);

/* The signal used to ask a blocked thread for its stack (only while a deadlock is reported). */
#define CW_STACK_SIGNAL (SIGRTMAX - 2)

#endif
