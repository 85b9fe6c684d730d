/* Misuse of the lock API: each check runs where the bad call is intercepted, off the lock fast
 * path (an unlock of a lock the thread does not hold, a destroy, a free, a condition wait, a
 * join...). Findings are reported once per kind of misuse and call site. */
#ifndef CW_MISUSE_H
#define CW_MISUSE_H

#include "../engine.h"
#include "../report/report.h"
#include "../runtime/thread.h"

/* Who holds `lock` (not pending), other than `except`: true and the holder's id and entry. */
bool cw_find_holder(const void *lock, const struct cw_thread *except, uint32_t *thread,
                    struct cw_held *entry);

/* Is the lock's memory in a locked state (glibc's own fields; spinlocks: value != 1)? */
bool cw_lock_memory_locked(const void *lock, enum cw_lock_kind kind);

/* Fill and deliver a misuse finding. `pc` is the bad call's return address. */
void cw_misuse(const char *misuse, const char *what, const char *function, const char *error,
               const void *lock, enum cw_lock_kind kind, uint32_t other_thread,
               cw_stack_id earlier, const char *earlier_what, uintptr_t pc);
/* The same with the call's stack given (0: capture it here). */
void cw_misuse_at(const char *misuse, const char *what, const char *function, const char *error,
                  const void *lock, enum cw_lock_kind kind, uint32_t other_thread,
                  cw_stack_id earlier, const char *earlier_what, uintptr_t pc, cw_stack_id call);

/* A misuse that involves two mutexes (cond-two-mutexes). */
void cw_misuse_two(const char *misuse, const char *what, const char *function, const void *lock,
                   const void *other_lock, uint32_t other_thread, cw_stack_id earlier,
                   const char *earlier_what, uintptr_t pc);

/* Is a held entry of t (not pending, not a semaphore) still a lock t holds? Another thread may
 * have unlocked it (a misuse reported on its own): for mutexes glibc's owner says. */
bool cw_held_entry_still_held(const struct cw_thread *t, const struct cw_held *h);

/* The stack for an earlier held entry: the call site, and when it is the calling thread's
 * own entry, the callers still on its stack. */
cw_stack_id cw_held_entry_stack(const struct cw_held *entry, bool own);

#endif
