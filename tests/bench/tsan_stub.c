/* tsan_stub: an empty ThreadSanitizer runtime, the floor for instrumented programs.
 *
 * A program compiled with -fsanitize=thread (gcc or clang) calls __tsan_read4,
 * __tsan_func_entry, ... around every memory access and function.  Linked against this
 * library instead of a runtime, each of those calls does nothing and returns, so the
 * program pays for the instrumentation's calls alone: no shadow memory, no clocks, no
 * interception of pthread or malloc.  No detector can be cheaper than that.
 *
 * The atomic entry points still do the operation (with the __atomic builtins, always
 * sequentially consistent) and return the right value, so the program stays correct.
 * The set of symbols is that of concwatch's ABI (src/race), so whatever links against
 * libconcwatch.so links against this too.  Build:
 *   cc -O2 -fPIC -shared -o libtsan_stub.so tests/bench/tsan_stub.c
 * (without -fsanitize=thread).  run_race_bench.sh does this itself. */
#include <stdint.h>

#define EXPORT __attribute__((visibility("default")))
#define SC __ATOMIC_SEQ_CST

EXPORT void __tsan_init(void) {}
EXPORT void __tsan_func_entry(void *pc) { (void)pc; }
EXPORT void __tsan_func_exit(void) {}
EXPORT void __tsan_ignore_thread_begin(void) {}
EXPORT void __tsan_ignore_thread_end(void) {}
EXPORT void __tsan_acquire(void *addr) { (void)addr; }
EXPORT void __tsan_release(void *addr) { (void)addr; }
EXPORT void __tsan_vptr_read(void **vptr) { (void)vptr; }
EXPORT void __tsan_vptr_update(void **vptr, void *val) { (void)vptr, (void)val; }
EXPORT void __tsan_read_range(void *addr, unsigned long size) { (void)addr, (void)size; }
EXPORT void __tsan_write_range(void *addr, unsigned long size) { (void)addr, (void)size; }

#define ACCESS(name) EXPORT void name(void *addr) { (void)addr; }
#define ACCESS_PC(name) EXPORT void name(void *addr, void *pc) { (void)addr, (void)pc; }
#define SIZES(X, prefix) X(prefix##1) X(prefix##2) X(prefix##4) X(prefix##8) X(prefix##16)
SIZES(ACCESS, __tsan_read)
SIZES(ACCESS, __tsan_write)
SIZES(ACCESS, __tsan_unaligned_read)
SIZES(ACCESS, __tsan_unaligned_write)
SIZES(ACCESS, __tsan_volatile_read)
SIZES(ACCESS, __tsan_volatile_write)
ACCESS_PC(__tsan_read1_pc) ACCESS_PC(__tsan_read2_pc) ACCESS_PC(__tsan_read4_pc)
ACCESS_PC(__tsan_read8_pc)
ACCESS_PC(__tsan_write1_pc) ACCESS_PC(__tsan_write2_pc) ACCESS_PC(__tsan_write4_pc)
ACCESS_PC(__tsan_write8_pc)

/* Atomics: the memory-order arguments are ignored (sequential consistency is at least as
 * strong as any of them). */
#define ATOMICS(bits)                                                                    \
  typedef uint##bits##_t a##bits;                                                        \
  EXPORT a##bits __tsan_atomic##bits##_load(const volatile a##bits *a, int mo)            \
  { (void)mo; return __atomic_load_n(a, SC); }                                           \
  EXPORT void __tsan_atomic##bits##_store(volatile a##bits *a, a##bits v, int mo)         \
  { (void)mo; __atomic_store_n(a, v, SC); }                                              \
  EXPORT a##bits __tsan_atomic##bits##_exchange(volatile a##bits *a, a##bits v, int mo)   \
  { (void)mo; return __atomic_exchange_n(a, v, SC); }                                    \
  RMW(bits, add) RMW(bits, sub) RMW(bits, and) RMW(bits, or) RMW(bits, xor)              \
  RMW(bits, nand)                                                                        \
  EXPORT int __tsan_atomic##bits##_compare_exchange_strong(                              \
      volatile a##bits *a, a##bits *c, a##bits v, int mo, int fmo)                       \
  { (void)mo, (void)fmo; return __atomic_compare_exchange_n(a, c, v, 0, SC, SC); }       \
  EXPORT int __tsan_atomic##bits##_compare_exchange_weak(                                \
      volatile a##bits *a, a##bits *c, a##bits v, int mo, int fmo)                       \
  { (void)mo, (void)fmo; return __atomic_compare_exchange_n(a, c, v, 1, SC, SC); }       \
  EXPORT a##bits __tsan_atomic##bits##_compare_exchange_val(                             \
      volatile a##bits *a, a##bits c, a##bits v, int mo, int fmo)                        \
  { (void)mo, (void)fmo; __atomic_compare_exchange_n(a, &c, v, 0, SC, SC); return c; }
#define RMW(bits, op)                                                                    \
  EXPORT a##bits __tsan_atomic##bits##_fetch_##op(volatile a##bits *a, a##bits v, int mo) \
  { (void)mo; return __atomic_fetch_##op(a, v, SC); }
ATOMICS(8)
ATOMICS(16)
ATOMICS(32)
ATOMICS(64)

EXPORT void __tsan_atomic_thread_fence(int mo) { (void)mo; __atomic_thread_fence(SC); }
EXPORT void __tsan_atomic_signal_fence(int mo) { (void)mo; __atomic_signal_fence(SC); }
