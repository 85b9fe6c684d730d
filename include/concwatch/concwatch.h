/* concwatch public API: annotations for custom synchronization and runtime control.
 *
 * Programs need not link against concwatch to use this header: every function is declared
 * weak, so without libconcwatch.so loaded the CONCWATCH_* macros below do nothing. */
#ifndef CONCWATCH_CONCWATCH_H
#define CONCWATCH_CONCWATCH_H

#ifdef __cplusplus
extern "C" {
#endif

/* Flags for concwatch_lock_acquired. */
#define CONCWATCH_LOCK_READ 1u /* shared (reader) acquisition; default is exclusive */
#define CONCWATCH_LOCK_TRY 2u  /* acquired by a try that could not have blocked */

/* A hand-written lock: tell concwatch about it so it joins the lock-order graph.
 * Call _acquire_begin before a blocking acquisition (that is when a cycle is reported, before
 * the thread can block), _acquired once the lock is held, _released before releasing it. */
void concwatch_lock_created(const void *lock) __attribute__((weak));
void concwatch_lock_destroyed(const void *lock) __attribute__((weak));
void concwatch_lock_acquire_begin(const void *lock, unsigned flags) __attribute__((weak));
void concwatch_lock_acquired(const void *lock, unsigned flags) __attribute__((weak));
void concwatch_lock_released(const void *lock) __attribute__((weak));

/* Data races (programs built with concwatch-cc): custom synchronization. Everything the
 * calling thread did before concwatch_happens_before(obj) happens before everything a thread
 * does after a later concwatch_happens_after(obj) on the same obj. */
void concwatch_happens_before(const volatile void *obj) __attribute__((weak));
void concwatch_happens_after(const volatile void *obj) __attribute__((weak));
/* Accesses by the calling thread between begin and end are not checked. */
void concwatch_ignore_accesses_begin(void) __attribute__((weak));
void concwatch_ignore_accesses_end(void) __attribute__((weak));
/* Races on [addr, addr+size) are intended (statistics counters...): never reported. */
void concwatch_benign_race(const volatile void *addr, unsigned long size) __attribute__((weak));

/* Name the calling thread in reports. */
void concwatch_thread_name(const char *name) __attribute__((weak));

/* Number of findings reported so far by this process. */
unsigned concwatch_findings(void) __attribute__((weak));

#define CONCWATCH_CALL(fn, ...) ((fn) ? (fn)(__VA_ARGS__) : (void)0)
#define CONCWATCH_LOCK_CREATED(l) CONCWATCH_CALL(concwatch_lock_created, (l))
#define CONCWATCH_LOCK_DESTROYED(l) CONCWATCH_CALL(concwatch_lock_destroyed, (l))
#define CONCWATCH_LOCK_ACQUIRE_BEGIN(l, f) CONCWATCH_CALL(concwatch_lock_acquire_begin, (l), (f))
#define CONCWATCH_LOCK_ACQUIRED(l, f) CONCWATCH_CALL(concwatch_lock_acquired, (l), (f))
#define CONCWATCH_LOCK_RELEASED(l) CONCWATCH_CALL(concwatch_lock_released, (l))
#define CONCWATCH_THREAD_NAME(n) CONCWATCH_CALL(concwatch_thread_name, (n))
#define CONCWATCH_HAPPENS_BEFORE(o) CONCWATCH_CALL(concwatch_happens_before, (o))
#define CONCWATCH_HAPPENS_AFTER(o) CONCWATCH_CALL(concwatch_happens_after, (o))
#define CONCWATCH_IGNORE_BEGIN() ((concwatch_ignore_accesses_begin) ? concwatch_ignore_accesses_begin() : (void)0)
#define CONCWATCH_IGNORE_END() ((concwatch_ignore_accesses_end) ? concwatch_ignore_accesses_end() : (void)0)
#define CONCWATCH_BENIGN_RACE(a, n) CONCWATCH_CALL(concwatch_benign_race, (a), (n))

#ifdef __cplusplus
}
#endif

#endif
