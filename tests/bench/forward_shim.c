/* forward_shim: the floor for any LD_PRELOAD lock interposer.
 *
 *   LD_PRELOAD=build/bench/libforward_shim.so ./prog
 *
 * It interposes pthread_mutex_lock/unlock/trylock and does only what every
 * such shim must: call the real function through a pointer resolved with
 * dlsym(RTLD_NEXT) and touch one initial-exec thread-local per call (where a
 * real tool keeps its per-thread state).  Its cost over native is the price
 * of interposition itself; concwatch's targets are read against it.
 *
 * Built with -DFORWARD_SHIM_HELD_STACK (libheld_shim.so) it also does the
 * least any lock-order detector must: remember which locks the thread holds.
 * Lock pushes the mutex's address on an initial-exec thread-local stack,
 * unlock pops it.  No graph, no check, no report: the floor for a detector.
 * FORWARD_SHIM_VERBOSE=1 prints one line at load, to prove it is in use. */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>

typedef int (*mutex_fn)(pthread_mutex_t *);

static mutex_fn real_lock, real_unlock, real_trylock;

#ifdef FORWARD_SHIM_HELD_STACK
#define SHIM_NAME "held_shim"
#define HELD_MAX 16 /* deeper entries are counted, not stored */

/* Non-static so the compiler must keep the stores. */
__attribute__((visibility("hidden"), tls_model("initial-exec")))
__thread struct {
    unsigned n;
    const void *lock[HELD_MAX];
} held_shim_stack;

static inline void note_lock(const pthread_mutex_t *m)
{
    unsigned n = held_shim_stack.n;
    if (n < HELD_MAX)
        held_shim_stack.lock[n] = m;
    held_shim_stack.n = n + 1;
}

/* The common case is the top; an unlock out of order removes its entry. */
static inline void note_unlock(const pthread_mutex_t *m)
{
    unsigned n = held_shim_stack.n;
    if (n == 0)
        return;
    if (n > HELD_MAX || held_shim_stack.lock[n - 1] == m) {
        held_shim_stack.n = n - 1;
        return;
    }
    for (unsigned i = n - 1; i-- > 0;)
        if (held_shim_stack.lock[i] == m) {
            for (; i + 1 < n; i++)
                held_shim_stack.lock[i] = held_shim_stack.lock[i + 1];
            held_shim_stack.n = n - 1;
            return;
        }
}
#else
#define SHIM_NAME "forward_shim"

/* Non-static so the compiler must keep the per-call store. */
__attribute__((visibility("hidden"), tls_model("initial-exec")))
__thread unsigned long forward_shim_calls;

static inline void note_lock(const pthread_mutex_t *m) { (void)m; forward_shim_calls++; }
static inline void note_unlock(const pthread_mutex_t *m) { (void)m; forward_shim_calls++; }
#endif

static mutex_fn resolve(const char *name)
{
    mutex_fn fn = (mutex_fn)dlsym(RTLD_NEXT, name);
    if (!fn) {
        fprintf(stderr, SHIM_NAME ": dlsym(%s): %s\n", name, dlerror());
        abort();
    }
    return fn;
}

__attribute__((constructor)) static void forward_shim_init(void)
{
    real_lock = resolve("pthread_mutex_lock");
    real_unlock = resolve("pthread_mutex_unlock");
    real_trylock = resolve("pthread_mutex_trylock");
    if (getenv("FORWARD_SHIM_VERBOSE"))
        fprintf(stderr, SHIM_NAME ": loaded\n");
}

/* A lock taken by another library's constructor may come before ours:
 * resolve late then, off the hot path. */
__attribute__((noinline, cold)) static int late(mutex_fn *slot,
                                                const char *name,
                                                pthread_mutex_t *m)
{
    *slot = resolve(name);
    return (*slot)(m);
}

#define FORWARD(ptr, name, m)                                       \
    do {                                                            \
        if (__builtin_expect(!(ptr), 0))                            \
            return late(&(ptr), name, m);                           \
        return (ptr)(m);                                            \
    } while (0)

int pthread_mutex_lock(pthread_mutex_t *m)
{
    note_lock(m);
    FORWARD(real_lock, "pthread_mutex_lock", m);
}

int pthread_mutex_unlock(pthread_mutex_t *m)
{
    note_unlock(m);
    FORWARD(real_unlock, "pthread_mutex_unlock", m);
}

int pthread_mutex_trylock(pthread_mutex_t *m)
{
#ifdef FORWARD_SHIM_HELD_STACK
    if (__builtin_expect(!real_trylock, 0))
        real_trylock = resolve("pthread_mutex_trylock");
    int rc = real_trylock(m);
    if (rc == 0)
        note_lock(m);
    return rc;
#else
    note_lock(m);
    FORWARD(real_trylock, "pthread_mutex_trylock", m);
#endif
}
