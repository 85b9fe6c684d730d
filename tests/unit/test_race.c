/* The race detector's rules, driven directly: vector clocks and the shadow-memory state machine.
 * Each test plays two or three threads by switching the engine's notion of the current thread. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "engine.h"
#include "race/race.h"
#include "race/shadow.h"
#include "report/report.h"
#include "runtime/options.h"

static struct cw_thread threads[4];
static long memory[64];  /* the "program's" memory */
static long objects[64]; /* its synchronization objects: each test uses its own */

static void as(int id) { cw_tls.active = cw_tls.thread = &threads[id]; }

static unsigned findings_before;

static int setup(void **state)
{
  (void)state;
  char err[128];
  cw_options_parse("symbolize=0", &cw_opt, err, sizeof err);
  for (int i = 1; i < 4; i++) {
    memset(&threads[i], 0, sizeof threads[i]);
    threads[i].id = (uint32_t)i;
    threads[i].alive = true;
  }
  cw_race_enabled = true;
  cw_race_forget((uintptr_t)memory, sizeof memory);
  findings_before = cw_report_findings();
  return 0;
}

static unsigned new_findings(void) { return cw_report_findings() - findings_before; }

#define W(addr, pc) cw_race_access((uintptr_t)(addr), 8, 1, 0, (pc))
#define R(addr, pc) cw_race_access((uintptr_t)(addr), 8, 0, 0, (pc))

static void unordered_writes_race(void **state)
{
  (void)state;
  as(1);
  W(&memory[0], 0x1000);
  as(2);
  W(&memory[0], 0x2000);
  assert_int_equal(new_findings(), 1);
}

static void write_then_unordered_read_races(void **state)
{
  (void)state;
  as(1);
  W(&memory[1], 0x1010);
  as(2);
  R(&memory[1], 0x2010);
  assert_int_equal(new_findings(), 1);
}

static void reads_never_race(void **state)
{
  (void)state;
  as(1);
  R(&memory[2], 0x1020);
  as(2);
  R(&memory[2], 0x2020);
  assert_int_equal(new_findings(), 0);
}

static void release_acquire_orders(void **state)
{
  (void)state;
  long *lock = &objects[3];
  as(1);
  W(&memory[3], 0x1030);
  cw_race_release(&threads[1], (uintptr_t)lock);
  as(2);
  cw_race_acquire(&threads[2], (uintptr_t)lock);
  W(&memory[3], 0x2030);
  assert_int_equal(new_findings(), 0);
}

static void acquire_of_another_object_does_not_order(void **state)
{
  (void)state;
  long *lock = &objects[4], *other = &objects[5];
  as(1);
  W(&memory[4], 0x1040);
  cw_race_release(&threads[1], (uintptr_t)lock);
  as(2);
  cw_race_acquire(&threads[2], (uintptr_t)other);
  W(&memory[4], 0x2040);
  assert_int_equal(new_findings(), 1);
}

static void ordering_is_transitive(void **state)
{
  (void)state;
  long *a = &objects[6], *b = &objects[7];
  as(1);
  W(&memory[5], 0x1050);
  cw_race_release(&threads[1], (uintptr_t)a);
  as(2);
  cw_race_acquire(&threads[2], (uintptr_t)a);
  cw_race_release(&threads[2], (uintptr_t)b);
  as(3);
  cw_race_acquire(&threads[3], (uintptr_t)b);
  W(&memory[5], 0x3050);
  assert_int_equal(new_findings(), 0);
}

static void a_write_after_the_release_is_not_covered(void **state)
{
  (void)state;
  long *lock = &objects[8];
  as(1);
  cw_race_release(&threads[1], (uintptr_t)lock);
  W(&memory[6], 0x1060); /* after the release: the acquirer does not see it */
  as(2);
  cw_race_acquire(&threads[2], (uintptr_t)lock);
  W(&memory[6], 0x2060);
  assert_int_equal(new_findings(), 1);
}

static void atomics_do_not_race_with_atomics(void **state)
{
  (void)state;
  as(1);
  cw_race_atomic_before((uintptr_t)&memory[7], 8, 1, 0, 0x1070);
  as(2);
  cw_race_atomic_before((uintptr_t)&memory[7], 8, 1, 0, 0x2070);
  assert_int_equal(new_findings(), 0);
}

static void different_bytes_of_one_word_do_not_race(void **state)
{
  (void)state;
  char *bytes = (char *)&memory[8];
  as(1);
  cw_race_access((uintptr_t)&bytes[0], 4, 1, 0, 0x1080);
  as(2);
  cw_race_access((uintptr_t)&bytes[4], 4, 1, 0, 0x2080);
  assert_int_equal(new_findings(), 0);
}

static void freed_memory_has_no_history(void **state)
{
  (void)state;
  as(1);
  W(&memory[9], 0x1090);
  cw_race_forget((uintptr_t)&memory[9], 8);
  as(2);
  W(&memory[9], 0x2090);
  assert_int_equal(new_findings(), 0);
}

static void release_fence_then_relaxed_store_publishes(void **state)
{
  (void)state;
  long *flag = &objects[9];
  as(1);
  W(&memory[10], 0x10a0);
  cw_race_fence(3 /* release */);
  cw_race_atomic_before((uintptr_t)flag, 8, 1, 0 /* relaxed */, 0x10a8);
  as(2);
  cw_race_atomic_before((uintptr_t)flag, 8, 0, 0, 0x20a8);
  cw_race_atomic_after((uintptr_t)flag, 1, 0 /* relaxed */);
  cw_race_fence(2 /* acquire */);
  R(&memory[10], 0x20a0);
  assert_int_equal(new_findings(), 0);
}

static void relaxed_without_fences_does_not_order(void **state)
{
  (void)state;
  long *flag = &objects[10];
  as(1);
  W(&memory[11], 0x10b0);
  cw_race_atomic_before((uintptr_t)flag, 8, 1, 0, 0x10b8);
  as(2);
  cw_race_atomic_before((uintptr_t)flag, 8, 0, 0, 0x20b8);
  cw_race_atomic_after((uintptr_t)flag, 1, 0);
  R(&memory[11], 0x20b0);
  assert_int_equal(new_findings(), 1);
}

static void thread_creation_orders_parent_before_child(void **state)
{
  (void)state;
  as(1);
  W(&memory[12], 0x10c0);
  cw_race_thread_created(&threads[1], &threads[2]);
  as(2);
  W(&memory[12], 0x20c0);
  assert_int_equal(new_findings(), 0);
}

static void each_race_is_reported_once(void **state)
{
  (void)state;
  for (int i = 0; i < 3; i++) {
    as(1);
    W(&memory[13], 0x10d0);
    as(2);
    W(&memory[13], 0x20d0);
  }
  assert_int_equal(new_findings(), 1);
}

static void a_relock_after_another_thread_released_sees_its_writes(void **state)
{
  (void)state;
  long *lock = &objects[13];
  as(1);
  cw_race_acquire(&threads[1], (uintptr_t)lock);
  cw_race_release(&threads[1], (uintptr_t)lock); /* T1's clock covers the lock's */
  as(2);
  cw_race_acquire(&threads[2], (uintptr_t)lock);
  W(&memory[20], 0x2110);
  cw_race_release(&threads[2], (uintptr_t)lock);
  as(1);
  cw_race_acquire(&threads[1], (uintptr_t)lock); /* no longer covered by T1: joins */
  W(&memory[20], 0x1110);
  assert_int_equal(new_findings(), 0);
}

static void a_freed_lock_orders_nothing(void **state)
{
  (void)state;
  long *lock = &objects[14];
  as(1);
  W(&memory[21], 0x1120);
  cw_race_release(&threads[1], (uintptr_t)lock);
  cw_race_forget((uintptr_t)lock, sizeof *lock);
  as(2);
  cw_race_acquire(&threads[2], (uintptr_t)lock);
  W(&memory[21], 0x2120);
  assert_int_equal(new_findings(), 1);
}

/* The inline path of the __tsan_* entry points (race.h): the first access to a region goes the
 * full way and caches it, the repeats are handled inline. */
#define W_FAST(addr, size, pc) cw_race_access_fast((uintptr_t)(addr), (size), 1, (pc))
#define R_FAST(addr, size, pc) cw_race_access_fast((uintptr_t)(addr), (size), 0, (pc))

static void a_thread_reading_back_its_own_write_still_races_with_others(void **state)
{
  (void)state;
  long *lock = &objects[11];
  as(1);
  W_FAST(&memory[14], 8, 0x10e0);
  cw_race_release(&threads[1], (uintptr_t)lock);
  W_FAST(&memory[14], 8, 0x10e0); /* inline: a new epoch, not covered by the release */
  R_FAST(&memory[14], 8, 0x10e8);
  as(2);
  cw_race_acquire(&threads[2], (uintptr_t)lock);
  W_FAST(&memory[14], 8, 0x20e0);
  assert_int_equal(new_findings(), 1);
}

static void both_halves_of_a_16_byte_access_are_recorded(void **state)
{
  (void)state;
  long *lock = &objects[12];
  as(1);
  W_FAST(&memory[16], 16, 0x10f0);
  cw_race_release(&threads[1], (uintptr_t)lock);
  W_FAST(&memory[16], 16, 0x10f0); /* inline, after the release */
  as(2);
  cw_race_acquire(&threads[2], (uintptr_t)lock);
  R_FAST(&memory[17], 8, 0x20f0); /* the second half only */
  assert_int_equal(new_findings(), 1);
}

static void ignored_accesses_are_not_recorded_inline(void **state)
{
  (void)state;
  as(2);
  W_FAST(&memory[19], 8, 0x2108); /* the region and this site cached: the next one could go inline */
  cw_race_ignore(1);
  W_FAST(&memory[18], 8, 0x2108);
  cw_race_ignore(-1);
  as(1);
  W_FAST(&memory[18], 8, 0x1100);
  assert_int_equal(new_findings(), 0);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup(unordered_writes_race, setup),
      cmocka_unit_test_setup(write_then_unordered_read_races, setup),
      cmocka_unit_test_setup(reads_never_race, setup),
      cmocka_unit_test_setup(release_acquire_orders, setup),
      cmocka_unit_test_setup(acquire_of_another_object_does_not_order, setup),
      cmocka_unit_test_setup(ordering_is_transitive, setup),
      cmocka_unit_test_setup(a_write_after_the_release_is_not_covered, setup),
      cmocka_unit_test_setup(atomics_do_not_race_with_atomics, setup),
      cmocka_unit_test_setup(different_bytes_of_one_word_do_not_race, setup),
      cmocka_unit_test_setup(freed_memory_has_no_history, setup),
      cmocka_unit_test_setup(release_fence_then_relaxed_store_publishes, setup),
      cmocka_unit_test_setup(relaxed_without_fences_does_not_order, setup),
      cmocka_unit_test_setup(thread_creation_orders_parent_before_child, setup),
      cmocka_unit_test_setup(each_race_is_reported_once, setup),
      cmocka_unit_test_setup(a_relock_after_another_thread_released_sees_its_writes, setup),
      cmocka_unit_test_setup(a_freed_lock_orders_nothing, setup),
      cmocka_unit_test_setup(a_thread_reading_back_its_own_write_still_races_with_others, setup),
      cmocka_unit_test_setup(both_halves_of_a_16_byte_access_are_recorded, setup),
      cmocka_unit_test_setup(ignored_accesses_are_not_recorded_inline, setup),
  };
  return cmocka_run_group_tests_name("race", tests, NULL, NULL);
}
