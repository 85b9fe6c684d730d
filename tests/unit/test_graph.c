/* The lock-order graph: edges, cycle search, and the rules that say a cycle cannot deadlock. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "engine.h"
#include "lockorder/graph.h"
#include "lockorder/held.h"
#include "lockorder/lockorder.h"

enum { T1 = 1, T2 = 2, T3 = 3 };

static struct cw_node *node(uintptr_t addr) { return cw_graph_get_node(addr, CW_LOCK_MUTEX, 0, T1); }

/* Record that `thread` requested `to` while holding `from` (and the `gates`). */
static struct cw_edge *see(uintptr_t from, uintptr_t to, uint32_t thread, uint8_t from_mode,
                           uint8_t to_mode, const uint64_t *gates, size_t ngates)
{
  struct cw_sighting s = {{thread, 1, 2}, from_mode, to_mode, gates, ngates};
  bool changed;
  return cw_graph_observe(node(from), node(to), &s, &changed);
}

static struct cw_edge *see_w(uintptr_t from, uintptr_t to, uint32_t thread)
{
  return see(from, to, thread, CW_MODE_WRITE, CW_MODE_WRITE, NULL, 0);
}

static bool closes_cycle(struct cw_edge *e, bool single, size_t *len)
{
  struct cw_cycle c;
  bool found = cw_graph_find_cycle(e, single, &c);
  if (found) {
    *len = c.n;
    cw_cycle_free(&c);
  }
  return found;
}

static int teardown(void **state)
{
  (void)state;
  cw_graph_reset();
  return 0;
}

static void two_threads_opposite_orders_make_a_cycle(void **state)
{
  (void)state;
  size_t len = 0;
  assert_false(closes_cycle(see_w(0x10, 0x20, T1), false, &len));
  assert_true(closes_cycle(see_w(0x20, 0x10, T2), false, &len));
  assert_int_equal(len, 2);
}

static void consistent_order_has_no_cycle(void **state)
{
  (void)state;
  size_t len;
  see_w(0x10, 0x20, T1);
  see_w(0x20, 0x30, T2);
  assert_false(closes_cycle(see_w(0x10, 0x30, T3), false, &len));
}

static void three_lock_cycle_through_a_path(void **state)
{
  (void)state;
  size_t len = 0;
  see_w(0x10, 0x20, T1);
  see_w(0x20, 0x30, T2);
  assert_true(closes_cycle(see_w(0x30, 0x10, T3), false, &len));
  assert_int_equal(len, 3);
}

static void one_thread_alone_is_not_a_deadlock_unless_asked(void **state)
{
  (void)state;
  size_t len;
  see_w(0x10, 0x20, T1);
  struct cw_edge *e = see_w(0x20, 0x10, T1);
  assert_false(closes_cycle(e, false, &len));
  assert_true(closes_cycle(e, true, &len));
}

static void two_edges_by_one_thread_and_a_third_still_need_distinct_threads(void **state)
{
  (void)state;
  size_t len;
  /* a->b by T1, b->c by T1, c->a by T2: T1 cannot wait at two places at once. */
  see_w(0x10, 0x20, T1);
  see_w(0x20, 0x30, T1);
  assert_false(closes_cycle(see_w(0x30, 0x10, T2), false, &len));
  /* Once T3 also takes b->c, the cycle is possible. */
  see_w(0x20, 0x30, T3);
  assert_true(closes_cycle(see_w(0x30, 0x10, T2), false, &len));
}

static void common_gate_lock_prevents_the_cycle(void **state)
{
  (void)state;
  size_t len;
  uint64_t gate[] = {node(0x99)->id};
  see(0x10, 0x20, T1, CW_MODE_WRITE, CW_MODE_WRITE, gate, 1);
  assert_false(closes_cycle(see(0x20, 0x10, T2, CW_MODE_WRITE, CW_MODE_WRITE, gate, 1), false, &len));
}

static void gate_missing_once_makes_the_cycle_possible(void **state)
{
  (void)state;
  size_t len;
  uint64_t gate[] = {node(0x99)->id};
  see(0x10, 0x20, T1, CW_MODE_WRITE, CW_MODE_WRITE, gate, 1);
  see(0x10, 0x20, T3, CW_MODE_WRITE, CW_MODE_WRITE, NULL, 0); /* same edge, no gate */
  assert_true(closes_cycle(see(0x20, 0x10, T2, CW_MODE_WRITE, CW_MODE_WRITE, gate, 1), false, &len));
}

static void readers_never_block_each_other(void **state)
{
  (void)state;
  size_t len;
  see(0x10, 0x20, T1, CW_MODE_READ, CW_MODE_READ, NULL, 0);
  assert_false(closes_cycle(see(0x20, 0x10, T2, CW_MODE_READ, CW_MODE_READ, NULL, 0), false, &len));
}

static void a_writer_on_each_lock_can_deadlock(void **state)
{
  (void)state;
  size_t len;
  /* T1 holds a for write and wants b for write; T2 holds b for read and wants a for read. */
  see(0x10, 0x20, T1, CW_MODE_WRITE, CW_MODE_WRITE, NULL, 0);
  assert_true(closes_cycle(see(0x20, 0x10, T2, CW_MODE_READ, CW_MODE_READ, NULL, 0), false, &len));
}

static void read_read_on_one_lock_breaks_the_cycle(void **state)
{
  (void)state;
  size_t len;
  /* b is held for read by T2 and requested for read by T1: T1 gets it, no deadlock. */
  see(0x10, 0x20, T1, CW_MODE_WRITE, CW_MODE_READ, NULL, 0);
  assert_false(closes_cycle(see(0x20, 0x10, T2, CW_MODE_READ, CW_MODE_WRITE, NULL, 0), false, &len));
}

static void removed_node_takes_its_edges(void **state)
{
  (void)state;
  size_t len;
  see_w(0x10, 0x20, T1);
  uint64_t epoch = cw_graph_epoch();
  cw_graph_remove_node(cw_graph_find_node(0x10));
  assert_true(cw_graph_epoch() > epoch);
  assert_int_equal(cw_graph_edge_count(), 0);
  assert_false(closes_cycle(see_w(0x20, 0x10, T2), false, &len));
}

static void range_removal_finds_locks_inside_a_block(void **state)
{
  (void)state;
  see_w(0x5000, 0x5040, T1);
  see_w(0x5040, 0x9000, T1);
  assert_true(cw_graph_range_may_hold_nodes(0x5000, 0x100));
  assert_int_equal(cw_graph_remove_range(0x5000, 0x100), 2);
  assert_int_equal(cw_graph_node_count(), 1);
  assert_null(cw_graph_find_node(0x5040));
  assert_non_null(cw_graph_find_node(0x9000));
}

static void cycle_key_ignores_rotation(void **state)
{
  (void)state;
  struct cw_edge *ab = see_w(0x10, 0x20, T1), *ba = see_w(0x20, 0x10, T2);
  struct cw_edge *e1[] = {ab, ba}, *e2[] = {ba, ab};
  uint8_t obs[2];
  struct cw_cycle c1 = {e1, obs, 2}, c2 = {e2, obs, 2};
  assert_int_equal(cw_cycle_key(&c1), cw_cycle_key(&c2));
}

static void thousands_of_locks_in_a_chain(void **state)
{
  (void)state;
  size_t len = 0;
  /* Each edge by its own thread: a 5000-thread deadlock is possible. */
  for (uintptr_t i = 1; i < 5000; i++)
    see_w(i * 64, (i + 1) * 64, (uint32_t)(10 + i));
  assert_true(closes_cycle(see_w(5000 * 64, 64, T2), false, &len));
  assert_int_equal(len, 5000);
}

/* Forgetting a lock that is in the graph (destroyed, freed) empties every thread's cache of
 * validated chains: what was validated against the old graph is checked again. */
static void forgetting_a_lock_empties_the_validated_chains(void **state)
{
  (void)state;
  cw_threads_init_main();
  struct cw_thread *t = cw_tls.thread;
  int a, b, gone;
  cw_held_push(t, &a, CW_LOCK_MUTEX, CW_MODE_WRITE, 0, 1, 2);
  uint64_t key = cw_chain_cache_key(t, &b, CW_LOCK_MUTEX, CW_MODE_WRITE);
  assert_false(cw_chain_cached(t, key));
  cw_lockorder_check(t, &b, CW_LOCK_MUTEX, CW_MODE_WRITE, key);
  assert_true(cw_chain_cached(t, key));
  node((uintptr_t)&gone);
  cw_lockorder_forget(&gone);
  assert_false(cw_chain_cached(t, key));
  cw_lockorder_check(t, &b, CW_LOCK_MUTEX, CW_MODE_WRITE, key);
  assert_true(cw_chain_cached(t, key));
  assert_true(cw_held_pop(t, &a));
}

int main(void)
{
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_teardown(two_threads_opposite_orders_make_a_cycle, teardown),
      cmocka_unit_test_teardown(consistent_order_has_no_cycle, teardown),
      cmocka_unit_test_teardown(three_lock_cycle_through_a_path, teardown),
      cmocka_unit_test_teardown(one_thread_alone_is_not_a_deadlock_unless_asked, teardown),
      cmocka_unit_test_teardown(two_edges_by_one_thread_and_a_third_still_need_distinct_threads, teardown),
      cmocka_unit_test_teardown(common_gate_lock_prevents_the_cycle, teardown),
      cmocka_unit_test_teardown(gate_missing_once_makes_the_cycle_possible, teardown),
      cmocka_unit_test_teardown(readers_never_block_each_other, teardown),
      cmocka_unit_test_teardown(a_writer_on_each_lock_can_deadlock, teardown),
      cmocka_unit_test_teardown(read_read_on_one_lock_breaks_the_cycle, teardown),
      cmocka_unit_test_teardown(removed_node_takes_its_edges, teardown),
      cmocka_unit_test_teardown(range_removal_finds_locks_inside_a_block, teardown),
      cmocka_unit_test_teardown(cycle_key_ignores_rotation, teardown),
      cmocka_unit_test_teardown(thousands_of_locks_in_a_chain, teardown),
      cmocka_unit_test_teardown(forgetting_a_lock_empties_the_validated_chains, teardown),
  };
  return cmocka_run_group_tests_name("graph", tests, NULL, NULL);
}
