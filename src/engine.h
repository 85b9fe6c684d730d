/* The engine's entry points: what the interposers (and the public annotations) tell it.
 * Every function is safe to call before start-up and from inside the engine: it then does
 * nothing. None of them changes errno. */
#ifndef CW_ENGINE_H
#define CW_ENGINE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum cw_lock_kind { CW_LOCK_MUTEX, CW_LOCK_RWLOCK, CW_LOCK_SPIN, CW_LOCK_SEM, CW_LOCK_KINDS };
enum cw_lock_mode { CW_MODE_WRITE = 1, CW_MODE_READ = 2 };

/* How an acquisition may wait: a try-lock never waits, a timed one gives up. */
enum cw_acquire_how { CW_ACQ_BLOCKING, CW_ACQ_TRY, CW_ACQ_TIMED };

const char *cw_lock_kind_name(enum cw_lock_kind kind);

/* Start-up, once, before main (or at the first event, whichever comes first). */
void cw_runtime_start(void);

/* Locks. `pc` is the return address of the intercepted call and `sp` the caller's stack
 * pointer at that call (see CW_CALLER in interpose/interpose.h). */
void cw_lock_created(const void *lock, enum cw_lock_kind kind);
void cw_lock_destroyed(const void *lock, enum cw_lock_kind kind);
void cw_lock_pre(const void *lock, enum cw_lock_kind kind, enum cw_lock_mode mode,
                 enum cw_acquire_how how, uintptr_t pc, uintptr_t sp);
void cw_lock_post(const void *lock, enum cw_lock_kind kind, enum cw_lock_mode mode,
                  enum cw_acquire_how how, bool acquired, uintptr_t pc, uintptr_t sp);
void cw_unlock(const void *lock, enum cw_lock_kind kind);
/* A semaphore post: releases the semaphore if this thread took it as a lock. */
void cw_sem_post(const void *sem);

/* Memory that may hold locks went away (free, realloc that moved or shrank). */
bool cw_memory_watch_enabled(void);
void cw_memory_released(const void *start, size_t size);

/* Threads. */
struct cw_thread_start;
struct cw_thread_start *cw_thread_prepare(void *(*fn)(void *), void *arg, uintptr_t pc);
void *cw_thread_trampoline(void *start);
void cw_thread_abandon(struct cw_thread_start *start);
void cw_thread_exiting(void);
void cw_thread_named(const char *name);

/* fork: the engine's locks are held across the call so the child starts consistent. */
void cw_fork_prepare(void);
void cw_fork_parent(void);
void cw_fork_child(void);

/* Process exit: the status to exit with (findings turn it into the configured exitcode). */
int cw_exit_status(int status);

#endif
