/* Options parsing, report path expansion, the held-lock stack, the stack depot, strings. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>
#include <pthread.h>

#include "engine.h"
#include "lockorder/held.h"
#include "report/output.h"
#include "report/strbuf.h"
#include "runtime/alloc.h"
#include "runtime/options.h"
#include "stack/stack.h"

static void options_defaults(void **state)
{
  (void)state;
  struct cw_options o;
  char err[256];
  assert_int_equal(cw_options_parse(NULL, &o, err, sizeof err), CW_OPTIONS_OK);
  assert_int_equal(o.exitcode, 66);
  assert_true(o.detect_lock_order);
  assert_false(o.report_single_thread_cycles);
  assert_null(o.json);
}

static void options_values(void **state)
{
  (void)state;
  struct cw_options o;
  char err[256];
  assert_int_equal(cw_options_parse("json=out.json  exitcode=3,report_single_thread_cycles=yes", &o, err,
                                    sizeof err),
                   CW_OPTIONS_OK);
  assert_string_equal(o.json, "out.json");
  assert_int_equal(o.exitcode, 3);
  assert_true(o.report_single_thread_cycles);
}

static void options_errors_name_the_key(void **state)
{
  (void)state;
  struct cw_options o;
  char err[256];
  assert_int_equal(cw_options_parse("colour=1", &o, err, sizeof err), CW_OPTIONS_ERROR);
  assert_non_null(strstr(err, "colour"));
  assert_int_equal(cw_options_parse("exitcode=-1", &o, err, sizeof err), CW_OPTIONS_ERROR);
  assert_non_null(strstr(err, "exitcode"));
  assert_int_equal(cw_options_parse("stack_depth=12x", &o, err, sizeof err), CW_OPTIONS_ERROR);
  assert_non_null(strstr(err, "12x"));
  assert_int_equal(cw_options_parse("json=", &o, err, sizeof err), CW_OPTIONS_ERROR);
  assert_null(strchr(err, '\n')); /* one line */
  assert_int_equal(cw_options_parse("help", &o, err, sizeof err), CW_OPTIONS_HELP);
}

static void path_expansion(void **state)
{
  (void)state;
  char out[64];
  cw_output_expand_path("r.%p.json", 1234, out, sizeof out);
  assert_string_equal(out, "r.1234.json");
  cw_output_expand_path("100%%-%p", 7, out, sizeof out);
  assert_string_equal(out, "100%-7");
  cw_output_expand_path("plain", 7, out, sizeof out);
  assert_string_equal(out, "plain");
}

static void held_stack_push_pop_and_chain(void **state)
{
  (void)state;
  struct cw_thread t = {0};
  int a, b, c;
  cw_held_push(&t, &a, CW_LOCK_MUTEX, CW_MODE_WRITE, 0, 1, 2);
  cw_held_push(&t, &b, CW_LOCK_MUTEX, CW_MODE_WRITE, 0, 1, 2);
  uint64_t ab = t.held[1].chain;
  cw_held_push(&t, &c, CW_LOCK_MUTEX, CW_MODE_WRITE, 0, 1, 2);
  /* Releasing b out of order re-chains c on top of a alone. */
  assert_true(cw_held_pop(&t, &b));
  assert_int_equal(t.nheld, 2);
  assert_ptr_equal(t.held[1].lock, &c);
  struct cw_thread u = {0};
  cw_held_push(&u, &a, CW_LOCK_MUTEX, CW_MODE_WRITE, 0, 1, 2);
  cw_held_push(&u, &c, CW_LOCK_MUTEX, CW_MODE_WRITE, 0, 1, 2);
  assert_int_equal(t.held[1].chain, u.held[1].chain);
  assert_int_not_equal(ab, u.held[1].chain);
  assert_false(cw_held_pop(&t, &b)); /* not held */
  for (int i = 0; i < 1000; i++) /* deep nesting grows the stack */
    cw_held_push(&t, &a + i, CW_LOCK_MUTEX, CW_MODE_WRITE, 0, 1, 2);
  assert_int_equal(t.nheld, 1002);
  cw_free(t.held);
  cw_free(u.held);
}

/* The default-mutex fast path: a request the mutex's owner field confirms, and only where
 * nothing needs checking (no relock, a validated chain, a default mutex, no hooks). */
static void mutex_fast_path_is_confirmed_by_the_owner(void **state)
{
  (void)state;
  pthread_mutex_t m = PTHREAD_MUTEX_INITIALIZER, n = PTHREAD_MUTEX_INITIALIZER, r;
  pthread_mutexattr_t attr;
  pthread_mutexattr_init(&attr);
  pthread_mutexattr_settype(&attr, PTHREAD_MUTEX_RECURSIVE);
  pthread_mutex_init(&r, &attr);
  struct cw_thread t = {.tid = cw_gettid(), .chain_cache = (uint64_t *)cw_chain_cache_empty};
  cw_held_grow(&t);
  cw_tls.active = &t;

  assert_true(cw_mutex_lock_fast(&m, 10, 20));
  assert_int_equal(t.nheld, 1);
  assert_true(cw_held_waiting(&t, &t.held[0])); /* the real lock is not called yet */
  pthread_mutex_lock(&m);
  assert_false(cw_held_waiting(&t, &t.held[0])); /* the owner field names the thread */
  struct cw_thread other = {.tid = t.tid + 1};
  assert_true(cw_held_waiting(&other, &t.held[0]));
  assert_false(cw_mutex_lock_fast(&m, 10, 20)); /* a relock: the general path judges it */
  assert_false(cw_mutex_lock_fast(&n, 11, 21)); /* m then n: not validated yet */
  assert_false(cw_mutex_lock_fast(&r, 12, 22)); /* not a default mutex */
  assert_int_equal(t.nheld, 1);

  uint64_t key = cw_chain_key(cw_chain_step(t.held[0].chain, &n, CW_LOCK_MUTEX, CW_MODE_WRITE, 0));
  t.chain_cache = cw_alloc(CW_CHAIN_CACHE_SIZE * sizeof *t.chain_cache);
  t.chain_cache[CW_CHAIN_SLOT(key)] = key;
  assert_true(cw_mutex_lock_fast(&n, 11, 21));
  assert_int_equal(t.nheld, 2);
  assert_ptr_equal(t.held[1].pc, 11);
  assert_ptr_equal(t.held[1].sp, 21);

  assert_false(cw_mutex_unlock_fast(&m)); /* not the top: the general path re-chains */
  assert_true(cw_mutex_unlock_fast(&n));
  cw_mutex_hooks = CW_MUTEX_HOOK_RACE;
  assert_false(cw_mutex_unlock_fast(&m));
  cw_mutex_hooks = 0;
  assert_true(cw_mutex_unlock_fast(&m));
  pthread_mutex_unlock(&m);
  assert_int_equal(t.nheld, 0);
  assert_false(cw_mutex_unlock_fast(&m)); /* not held */

  /* Once rwlocks exist, only a call on an rwlock's address needs the kind check. */
  cw_mutex_hooks = CW_MUTEX_HOOK_RWLOCKS;
  assert_false(cw_rwlock_may_be_at(&m));
  assert_true(cw_mutex_lock_fast(&m, 10, 20));
  t.nheld = 0;
  cw_rwlock_filter_add(&m); /* as if an rwlock had been initialized at m */
  assert_true(cw_rwlock_may_be_at(&m));
  assert_false(cw_mutex_lock_fast(&m, 10, 20));
  cw_mutex_hooks = CW_MUTEX_HOOK_RACE | CW_MUTEX_HOOK_RWLOCKS;
  assert_false(cw_mutex_lock_fast(&n, 11, 21)); /* race detection: always the general path */
  cw_mutex_hooks = 0;
  assert_int_equal(t.nheld, 0);

  cw_tls.active = NULL;
  pthread_mutex_destroy(&r);
  cw_free(t.chain_cache);
  cw_free(t.held);
}

static void depot_interns_identical_stacks(void **state)
{
  (void)state;
  uintptr_t s1[] = {1, 2, 3}, s2[] = {1, 2, 3}, s3[] = {1, 2, 4};
  cw_stack_id a = cw_stack_intern(s1, 3), b = cw_stack_intern(s2, 3), c = cw_stack_intern(s3, 3);
  assert_int_equal(a, b);
  assert_int_not_equal(a, c);
  const uintptr_t *pcs;
  assert_int_equal(cw_stack_get(c, &pcs), 3);
  assert_int_equal(pcs[2], 4);
  assert_int_equal(cw_stack_intern(s1, 0), 0);
}

static void json_strings_are_escaped(void **state)
{
  (void)state;
  struct cw_buf b = {0};
  cw_buf_json_string(&b, "a\"b\\c\nd\x01");
  assert_string_equal(b.data, "\"a\\\"b\\\\c\\nd\\u0001\"");
  cw_buf_free(&b);
  cw_buf_json_string(&b, NULL);
  assert_string_equal(b.data, "null");
  cw_buf_free(&b);
}

static void allocator_reuses_and_grows(void **state)
{
  (void)state;
  size_t before = cw_alloc_in_use();
  char *p = cw_alloc(100);
  p[99] = 1;
  char *big = cw_alloc(1 << 20);
  big[(1 << 20) - 1] = 1;
  p = cw_realloc(p, 5000);
  assert_int_equal(p[99], 1);
  cw_free(p);
  cw_free(big);
  assert_int_equal(cw_alloc_in_use(), before);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(options_defaults),
      cmocka_unit_test(options_values),
      cmocka_unit_test(options_errors_name_the_key),
      cmocka_unit_test(path_expansion),
      cmocka_unit_test(held_stack_push_pop_and_chain),
      cmocka_unit_test(mutex_fast_path_is_confirmed_by_the_owner),
      cmocka_unit_test(depot_interns_identical_stacks),
      cmocka_unit_test(json_strings_are_escaped),
      cmocka_unit_test(allocator_reuses_and_grows),
  };
  return cmocka_run_group_tests_name("runtime", tests, NULL, NULL);
}
