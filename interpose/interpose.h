/* Shared by the LD_PRELOAD entry points. A wrapper resolves the real function, tells the engine
 * what happens, calls the real function and returns its result (the engine keeps errno). */
#ifndef CW_INTERPOSE_H
#define CW_INTERPOSE_H

#include <stdint.h>

#include "../src/engine.h"

#define CW_EXPORT __attribute__((visibility("default")))

/* The program's call site, for stacks: the return address into the caller, and the caller's
 * stack pointer at the call (this file is built with frame pointers, so the wrapper's frame
 * holds [saved fp][return address] and the caller's frame starts just above). */
#define CW_CALLER_PC ((uintptr_t)__builtin_return_address(0))
#define CW_CALLER_SP ((uintptr_t)__builtin_frame_address(0) + 2 * sizeof(void *))

/* dlsym(RTLD_NEXT) (or dlvsym with a version); exits with a one-line error if it is missing,
 * since a wrapper without its real function cannot keep the program's behaviour. */
void *cw_resolve(const char *name, const char *version);

/* Declare the pointer to the real function and resolve it on first use. */
#define CW_REAL(name) static __typeof__(name) *real_##name
#define CW_ENSURE(name)                                                                  \
  do {                                                                                   \
    if (__builtin_expect(real_##name == 0, 0))                                           \
      real_##name = (__typeof__(real_##name))cw_resolve(#name, 0);                       \
  } while (0)
#define CW_ENSURE_VERSION(name, version)                                                 \
  do {                                                                                   \
    if (__builtin_expect(real_##name == 0, 0))                                           \
      real_##name = (__typeof__(real_##name))cw_resolve(#name, version);                 \
  } while (0)

#endif
