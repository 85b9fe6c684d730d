/* forward_shim: the floor for any LD_PRELOAD lock interposer.
 *
 *   LD_PRELOAD=build/bench/libforward_shim.so ./prog
 *
 * It interposes pthread_mutex_lock/unlock/trylock and does only what every
 * such shim must: call the real function through a pointer resolved with
 * dlsym(RTLD_NEXT) and touch one initial-exec thread-local per call (where a
 * real tool keeps its per-thread state).  Its cost over native is the price
 * of interposition itself; concwatch's targets are read against it.
 * FORWARD_SHIM_VERBOSE=1 prints one line at load, to prove it is in use. */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>

typedef int (*mutex_fn)(pthread_mutex_t *);

static mutex_fn real_lock, real_unlock, real_trylock;

/* Non-static so the compiler must keep the per-call store. */
__attribute__((visibility("hidden"), tls_model("initial-exec")))
__thread unsigned long forward_shim_calls;

static mutex_fn resolve(const char *name)
{
    mutex_fn fn = (mutex_fn)dlsym(RTLD_NEXT, name);
    if (!fn) {
        fprintf(stderr, "forward_shim: dlsym(%s): %s\n", name, dlerror());
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
        fprintf(stderr, "forward_shim: loaded\n");
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
        forward_shim_calls++;                                       \
        if (__builtin_expect(!(ptr), 0))                            \
            return late(&(ptr), name, m);                           \
        return (ptr)(m);                                            \
    } while (0)

int pthread_mutex_lock(pthread_mutex_t *m)
{
    FORWARD(real_lock, "pthread_mutex_lock", m);
}

int pthread_mutex_unlock(pthread_mutex_t *m)
{
    FORWARD(real_unlock, "pthread_mutex_unlock", m);
}

int pthread_mutex_trylock(pthread_mutex_t *m)
{
    FORWARD(real_trylock, "pthread_mutex_trylock", m);
}
