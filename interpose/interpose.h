/* Shared by the LD_PRELOAD entry points. A wrapper resolves the real function, tells the engine
 * what happens, calls the real function and returns its result (the engine keeps errno). */
#ifndef CW_INTERPOSE_H
#define CW_INTERPOSE_H

#include <stdint.h>

#include "../src/engine.h"

#define CW_EXPORT __attribute__((visibility("default")))

/* The program's call site, for stacks: the return address into the caller, and the caller's
 * stack pointer at the call (the canonical frame address: the stack pointer before the call
 * instruction pushed the return address). Neither needs a frame pointer, so a wrapper whose
 * fast path is a tail call needs no frame at all. */
#define CW_CALLER_PC ((uintptr_t)__builtin_return_address(0))
#define CW_CALLER_SP ((uintptr_t)__builtin_dwarf_cfa())

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
/* For the hottest wrappers, whose fast path is a tail call: the pointer starts at a stub that
 * resolves it on the first call, so the fast path calls through it without a test. */
#define CW_REAL_RESOLVED_ON_FIRST_CALL(name, params, args)                              \
  static int first_call_##name params;                                                   \
  static __typeof__(name) *real_##name = first_call_##name;                              \
  static int first_call_##name params                                                    \
  {                                                                                      \
    real_##name = (__typeof__(real_##name))cw_resolve(#name, 0);                         \
    return real_##name args;                                                             \
  }
#define CW_ENSURE_VERSION(name, version)                                                 \
  do {                                                                                   \
    if (__builtin_expect(real_##name == 0, 0))                                           \
      real_##name = (__typeof__(real_##name))cw_resolve(#name, version);                 \
  } while (0)

#endif
