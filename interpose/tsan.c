/* The ThreadSanitizer instrumentation ABI (what gcc and clang emit under -fsanitize=thread),
 * and the annotation API written for ThreadSanitizer, mapped onto concwatch's race detector.
 * A program built this way and linked with libconcwatch.so (concwatch-cc) runs with race
 * detection; the same binary also runs under LD_PRELOAD=libconcwatch.so. */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "interpose.h"

#define PC ((uintptr_t)__builtin_return_address(0))

CW_EXPORT void __tsan_init(void) { cw_race_init(PC); }

CW_EXPORT void __tsan_func_entry(void *caller_pc) { cw_race_func_entry((uintptr_t)caller_pc); }
CW_EXPORT void __tsan_func_exit(void) { cw_race_func_exit(); }

/* Plain, unaligned and volatile accesses of 1 to 16 bytes (16: two 8-byte halves). */
#define ACCESS(name, size, write)                                                        \
  CW_EXPORT void name(void *addr) { cw_race_access_fast((uintptr_t)addr, size, write, PC); }
#define ACCESSES(n)                                                                      \
  ACCESS(__tsan_read##n, n, 0)                                                           \
  ACCESS(__tsan_write##n, n, 1)                                                          \
  ACCESS(__tsan_unaligned_read##n, n, 0)                                                 \
  ACCESS(__tsan_unaligned_write##n, n, 1)                                                \
  ACCESS(__tsan_volatile_read##n, n, 0)                                                  \
  ACCESS(__tsan_volatile_write##n, n, 1)
ACCESSES(1)
ACCESSES(2)
ACCESSES(4)
ACCESSES(8)
ACCESSES(16)

/* The same with an explicit pc (clang's -tsan-... variants). */
#define ACCESS_PC(name, size, write)                                                     \
  CW_EXPORT void name(void *addr, void *pc) { cw_race_access((uintptr_t)addr, size, write, 0, (uintptr_t)pc); }
ACCESS_PC(__tsan_read1_pc, 1, 0)
ACCESS_PC(__tsan_read2_pc, 2, 0)
ACCESS_PC(__tsan_read4_pc, 4, 0)
ACCESS_PC(__tsan_read8_pc, 8, 0)
ACCESS_PC(__tsan_write1_pc, 1, 1)
ACCESS_PC(__tsan_write2_pc, 2, 1)
ACCESS_PC(__tsan_write4_pc, 4, 1)
ACCESS_PC(__tsan_write8_pc, 8, 1)

CW_EXPORT void __tsan_read_range(void *addr, unsigned long size) { cw_race_range((uintptr_t)addr, size, 0, PC); }
CW_EXPORT void __tsan_write_range(void *addr, unsigned long size) { cw_race_range((uintptr_t)addr, size, 1, PC); }

/* A C++ object's vtable pointer: written by constructors and destructors, read by calls. */
CW_EXPORT void __tsan_vptr_update(void **vptr_p, void *new_val)
{
  if (*vptr_p != new_val)
    cw_race_access((uintptr_t)vptr_p, sizeof(void *), 1, 0, PC);
}
CW_EXPORT void __tsan_vptr_read(void **vptr_p) { cw_race_access((uintptr_t)vptr_p, sizeof(void *), 0, 0, PC); }

/* ---- atomics: do the operation with the requested order, and tell the detector ---- */

typedef int cw_morder; /* 0 relaxed, 1 consume, 2 acquire, 3 release, 4 acq_rel, 5 seq_cst */

/* The __atomic builtins need a constant order: this maps the runtime value. */
#define WITH_ORDER(mo, expr_of)                                                          \
  switch (mo) {                                                                          \
  case 0: expr_of(__ATOMIC_RELAXED); break;                                              \
  case 1: expr_of(__ATOMIC_CONSUME); break;                                              \
  case 2: expr_of(__ATOMIC_ACQUIRE); break;                                              \
  case 3: expr_of(__ATOMIC_RELEASE); break;                                              \
  case 4: expr_of(__ATOMIC_ACQ_REL); break;                                              \
  default: expr_of(__ATOMIC_SEQ_CST); break;                                             \
  }

/* Loads may not use release orders, stores may not use acquire ones. */
static int load_order(int mo) { return mo == 3 ? 0 : mo == 4 ? 2 : mo; }
static int store_order(int mo) { return mo == 1 || mo == 2 ? 0 : mo == 4 ? 3 : mo; }

#define ATOMICS(bits, T)                                                                 \
  CW_EXPORT T __tsan_atomic##bits##_load(const volatile T *a, cw_morder mo)             \
  {                                                                                      \
    T v;                                                                                 \
    cw_race_atomic_before((uintptr_t)a, sizeof(T), 0, mo, PC);                           \
    int o = load_order(mo);                                                              \
    _Pragma("GCC diagnostic push") _Pragma("GCC diagnostic ignored \"-Winvalid-memory-model\"") \
    WITH_ORDER(o, LOAD_##bits);                                                          \
    _Pragma("GCC diagnostic pop")                                                        \
    cw_race_atomic_after((uintptr_t)a, 1, mo);                                           \
    return v;                                                                            \
  }                                                                                      \
  CW_EXPORT void __tsan_atomic##bits##_store(volatile T *a, T v, cw_morder mo)           \
  {                                                                                      \
    int o = store_order(mo);                                                             \
    cw_race_atomic_before((uintptr_t)a, sizeof(T), 1, mo, PC);                           \
    _Pragma("GCC diagnostic push") _Pragma("GCC diagnostic ignored \"-Winvalid-memory-model\"") \
    WITH_ORDER(o, STORE_##bits);                                                         \
    _Pragma("GCC diagnostic pop")                                                        \
  }                                                                                      \
  RMW(bits, T, exchange, __atomic_exchange_n)                                            \
  RMW(bits, T, fetch_add, __atomic_fetch_add)                                            \
  RMW(bits, T, fetch_sub, __atomic_fetch_sub)                                            \
  RMW(bits, T, fetch_and, __atomic_fetch_and)                                            \
  RMW(bits, T, fetch_or, __atomic_fetch_or)                                              \
  RMW(bits, T, fetch_xor, __atomic_fetch_xor)                                            \
  RMW(bits, T, fetch_nand, __atomic_fetch_nand)                                          \
  CW_EXPORT int __tsan_atomic##bits##_compare_exchange_strong(volatile T *a, T *c, T v, cw_morder mo, cw_morder fmo) \
  {                                                                                      \
    (void)fmo;                                                                           \
    cw_race_atomic_before((uintptr_t)a, sizeof(T), 1, mo, PC);                           \
    int ok = __atomic_compare_exchange_n(a, c, v, 0, __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST); \
    cw_race_atomic_after((uintptr_t)a, 1, mo);                                           \
    return ok;                                                                           \
  }                                                                                      \
  CW_EXPORT int __tsan_atomic##bits##_compare_exchange_weak(volatile T *a, T *c, T v, cw_morder mo, cw_morder fmo) \
  {                                                                                      \
    return __tsan_atomic##bits##_compare_exchange_strong(a, c, v, mo, fmo);              \
  }                                                                                      \
  CW_EXPORT T __tsan_atomic##bits##_compare_exchange_val(volatile T *a, T c, T v, cw_morder mo, cw_morder fmo) \
  {                                                                                      \
    (void)fmo;                                                                           \
    cw_race_atomic_before((uintptr_t)a, sizeof(T), 1, mo, PC);                           \
    __atomic_compare_exchange_n(a, &c, v, 0, __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST);        \
    cw_race_atomic_after((uintptr_t)a, 1, mo);                                           \
    return c;                                                                            \
  }

/* Read-modify-writes run sequentially consistent (never weaker than asked); the detector is
 * told the order the program asked for. */
#define RMW(bits, T, op, builtin)                                                        \
  CW_EXPORT T __tsan_atomic##bits##_##op(volatile T *a, T v, cw_morder mo)              \
  {                                                                                      \
    cw_race_atomic_before((uintptr_t)a, sizeof(T), 1, mo, PC);                           \
    T old = builtin(a, v, __ATOMIC_SEQ_CST);                                             \
    cw_race_atomic_after((uintptr_t)a, 1, mo);                                           \
    return old;                                                                          \
  }

#define LOAD_GEN(order) v = __atomic_load_n(a, order)
#define STORE_GEN(order) __atomic_store_n(a, v, order)
#define LOAD_8 LOAD_GEN
#define LOAD_16 LOAD_GEN
#define LOAD_32 LOAD_GEN
#define LOAD_64 LOAD_GEN
#define STORE_8 STORE_GEN
#define STORE_16 STORE_GEN
#define STORE_32 STORE_GEN
#define STORE_64 STORE_GEN

ATOMICS(8, uint8_t)
ATOMICS(16, uint16_t)
ATOMICS(32, uint32_t)
ATOMICS(64, uint64_t)

CW_EXPORT void __tsan_atomic_thread_fence(cw_morder mo)
{
  __atomic_thread_fence(__ATOMIC_SEQ_CST);
  cw_race_fence(mo);
}

CW_EXPORT void __tsan_atomic_signal_fence(cw_morder mo)
{
  (void)mo;
  __atomic_signal_fence(__ATOMIC_SEQ_CST);
}

/* ---- ThreadSanitizer's annotation API ---- */

CW_EXPORT void __tsan_acquire(void *addr) { cw_race_acquire(cw_thread_current(), (uintptr_t)addr); }
CW_EXPORT void __tsan_release(void *addr) { cw_race_release(cw_thread_current(), (uintptr_t)addr); }
CW_EXPORT void __tsan_ignore_thread_begin(void) { cw_race_ignore(1); }
CW_EXPORT void __tsan_ignore_thread_end(void) { cw_race_ignore(-1); }

CW_EXPORT void AnnotateHappensBefore(const char *f, int l, const volatile void *addr)
{
  (void)f;
  (void)l;
  cw_race_release(cw_thread_current(), (uintptr_t)addr);
}
CW_EXPORT void AnnotateHappensAfter(const char *f, int l, const volatile void *addr)
{
  (void)f;
  (void)l;
  cw_race_acquire(cw_thread_current(), (uintptr_t)addr);
}
CW_EXPORT void AnnotateIgnoreReadsBegin(const char *f, int l) { (void)f; (void)l; cw_race_ignore(1); }
CW_EXPORT void AnnotateIgnoreReadsEnd(const char *f, int l) { (void)f; (void)l; cw_race_ignore(-1); }
CW_EXPORT void AnnotateIgnoreWritesBegin(const char *f, int l) { (void)f; (void)l; cw_race_ignore(1); }
CW_EXPORT void AnnotateIgnoreWritesEnd(const char *f, int l) { (void)f; (void)l; cw_race_ignore(-1); }
CW_EXPORT void AnnotateBenignRaceSized(const char *f, int l, const volatile void *addr, size_t size, const char *desc)
{
  (void)f;
  (void)l;
  (void)desc;
  cw_race_benign((uintptr_t)addr, size);
}
CW_EXPORT void AnnotateBenignRace(const char *f, int l, const volatile void *addr, const char *desc)
{
  AnnotateBenignRaceSized(f, l, addr, 1, desc);
}
CW_EXPORT void AnnotateThreadName(const char *f, int l, const char *name)
{
  (void)f;
  (void)l;
  cw_thread_named(name);
}

/* Newer clangs call these instead of memcpy & co. in instrumented code. */
CW_EXPORT void *__tsan_memcpy(void *dst, const void *src, size_t n)
{
  cw_race_range((uintptr_t)src, n, 0, PC);
  cw_race_range((uintptr_t)dst, n, 1, PC);
  return __builtin_memmove(dst, src, n);
}

CW_EXPORT void *__tsan_memmove(void *dst, const void *src, size_t n)
{
  cw_race_range((uintptr_t)src, n, 0, PC);
  cw_race_range((uintptr_t)dst, n, 1, PC);
  return __builtin_memmove(dst, src, n);
}

CW_EXPORT void *__tsan_memset(void *dst, int c, size_t n)
{
  cw_race_range((uintptr_t)dst, n, 1, PC);
  return __builtin_memset(dst, c, n);
}

/* 16-byte atomics, with cmpxchg16b (the file is built with -mcx16): every operation is a
 * compare-and-swap loop, sequentially consistent. */
typedef unsigned __int128 cw_u128;

static cw_u128 cas128(volatile cw_u128 *a, cw_u128 expected, cw_u128 desired)
{
  return __sync_val_compare_and_swap(a, expected, desired);
}

CW_EXPORT cw_u128 __tsan_atomic128_load(const volatile cw_u128 *a, cw_morder mo)
{
  cw_race_atomic_before((uintptr_t)a, 16, 0, mo, PC);
  cw_u128 v = cas128((volatile cw_u128 *)a, 0, 0);
  cw_race_atomic_after((uintptr_t)a, 1, mo);
  return v;
}

CW_EXPORT void __tsan_atomic128_store(volatile cw_u128 *a, cw_u128 v, cw_morder mo)
{
  cw_race_atomic_before((uintptr_t)a, 16, 1, mo, PC);
  cw_u128 old = *a;
  cw_u128 seen;
  while ((seen = cas128(a, old, v)) != old)
    old = seen;
}

#define RMW128(op, expr)                                                                 \
  CW_EXPORT cw_u128 __tsan_atomic128_##op(volatile cw_u128 *a, cw_u128 v, cw_morder mo)  \
  {                                                                                      \
    cw_race_atomic_before((uintptr_t)a, 16, 1, mo, PC);                                  \
    cw_u128 old = *a, seen;                                                              \
    while ((seen = cas128(a, old, (expr))) != old)                                       \
      old = seen;                                                                        \
    cw_race_atomic_after((uintptr_t)a, 1, mo);                                           \
    return old;                                                                          \
  }
RMW128(exchange, v)
RMW128(fetch_add, old + v)
RMW128(fetch_sub, old - v)
RMW128(fetch_and, old & v)
RMW128(fetch_or, old | v)
RMW128(fetch_xor, old ^ v)
RMW128(fetch_nand, ~(old & v))

CW_EXPORT int __tsan_atomic128_compare_exchange_strong(volatile cw_u128 *a, cw_u128 *c, cw_u128 v, cw_morder mo,
                                                       cw_morder fmo)
{
  (void)fmo;
  cw_race_atomic_before((uintptr_t)a, 16, 1, mo, PC);
  cw_u128 seen = cas128(a, *c, v);
  int ok = seen == *c;
  *c = seen;
  cw_race_atomic_after((uintptr_t)a, 1, mo);
  return ok;
}

CW_EXPORT int __tsan_atomic128_compare_exchange_weak(volatile cw_u128 *a, cw_u128 *c, cw_u128 v, cw_morder mo,
                                                     cw_morder fmo)
{
  return __tsan_atomic128_compare_exchange_strong(a, c, v, mo, fmo);
}

CW_EXPORT cw_u128 __tsan_atomic128_compare_exchange_val(volatile cw_u128 *a, cw_u128 c, cw_u128 v, cw_morder mo,
                                                        cw_morder fmo)
{
  (void)fmo;
  cw_race_atomic_before((uintptr_t)a, 16, 1, mo, PC);
  cw_u128 seen = cas128(a, c, v);
  cw_race_atomic_after((uintptr_t)a, 1, mo);
  return seen;
}

