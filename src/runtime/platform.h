/* Platform layer: the few OS services the engine needs, by raw system call where the libc
 * version could re-enter the program (malloc, interposed pthread functions). Nothing here
 * allocates or takes a pthread lock. */
#ifndef CW_PLATFORM_H
#define CW_PLATFORM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define CW_HIDDEN __attribute__((visibility("hidden")))
#define CW_EXPORT __attribute__((visibility("default")))
#define CW_LIKELY(x) __builtin_expect(!!(x), 1)
#define CW_UNLIKELY(x) __builtin_expect(!!(x), 0)
#define CW_ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

/* A small futex-based mutex for the engine's own critical sections. It never calls the
 * interposed pthread API, so taking it can never recurse into concwatch. */
typedef struct {
  _Atomic uint32_t state; /* 0 free, 1 locked, 2 locked with waiters */
} cw_lock_t;
#define CW_LOCK_INIT {0}

void cw_lock_acquire(cw_lock_t *l);
void cw_lock_release(cw_lock_t *l);
/* Take it only if it is free. */
bool cw_lock_try_acquire(cw_lock_t *l);
/* For fork: the child starts with every engine lock free. */
void cw_lock_reset(cw_lock_t *l);

pid_t cw_gettid(void);
uint64_t cw_now_ns(void);
void cw_sleep_ms(unsigned ms);
/* Sleep until CLOCK_MONOTONIC reaches deadline (ns); async-signal-safe. */
void cw_sleep_until_ns(uint64_t deadline);
/* Wait while *addr == expected, at most ns; and wake every waiter. Both keep errno. */
void cw_futex_wait_ns(_Atomic uint32_t *addr, uint32_t expected, uint64_t ns);
void cw_futex_wake_all(_Atomic uint32_t *addr);

/* Write all of buf (retrying short writes and EINTR); returns 0 or -1. Keeps errno. */
int cw_write_all(int fd, const void *buf, size_t len);

/* The name of the mapping of /proc/self/maps that holds addr ("[heap]", "[stack]", a path, or
 * empty for anonymous memory); false if none does. Reads without stdio: no malloc. */
bool cw_mapping_of(uintptr_t addr, char *name, size_t cap);

/* The executable's file, as mapped (not /proc/self/exe, which names the loader when the program
 * was started as `ld.so ./prog`); false if unknown. */
bool cw_executable_path(char *buf, size_t cap);

/* Anonymous memory straight from the kernel; NULL on failure. */
void *cw_map(size_t size);
void cw_unmap(void *p, size_t size);

#endif
