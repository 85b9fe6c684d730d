#include "thread.h"

#include <pthread.h>
#include <string.h>

#include "alloc.h"
#include "../engine.h"
#include "../misuse/misuse.h"
#include "../race/race.h"
#include "../sample/sample.h"
#include "../stack/stack.h"

__thread struct cw_tls cw_tls __attribute__((tls_model("initial-exec")));
bool cw_ready;

static cw_lock_t registry_lock = CW_LOCK_INIT;
static struct cw_thread **registry; /* indexed by id - 1 */
static uint32_t nthreads, registry_cap;

struct cw_thread_start {
  struct cw_thread *thread;
  void *(*fn)(void *);
  void *arg;
};

static struct cw_thread *new_thread(uint32_t parent, cw_stack_id created_at)
{
  struct cw_thread *t = cw_alloc(sizeof *t);
  t->parent = parent;
  t->created_at = created_at;
  t->chain_cache = (uint64_t *)cw_chain_cache_empty;
  cw_lock_acquire(&registry_lock);
  CW_GROW(registry, registry_cap, nthreads + 1);
  registry[nthreads] = t;
  t->id = ++nthreads;
  cw_lock_release(&registry_lock);
  return t;
}

/* Threads that end without returning (cancellation) are caught by a TLS destructor. */
static pthread_key_t exit_key;
static bool exit_key_ok;

static void on_thread_destroyed(void *arg)
{
  struct cw_thread *t = arg;
  if (t && t->alive && cw_tls.thread == t)
    cw_thread_ended(t, 0, true);
}

static void attach(struct cw_thread *t)
{
  t->tid = cw_gettid();
  if (!t->held)
    cw_held_grow(t); /* before the thread is active: the fast path relies on it */
  t->alive = true;
  cw_tls.thread = t;
  if (!cw_tls.in_runtime)
    cw_tls.active = t;
}

struct cw_thread *cw_thread_current_slow(void)
{
  if (!cw_ready || cw_tls.in_runtime)
    return NULL;
  if (cw_tls.thread) /* exited, or between runtime_enter/leave */
    return cw_tls.thread->alive ? (cw_tls.active = cw_tls.thread) : NULL;
  struct cw_thread *t = new_thread(0, 0); /* a thread concwatch did not see start */
  attach(t);
  return t;
}

void cw_threads_init_main(void)
{
  exit_key_ok = pthread_key_create(&exit_key, on_thread_destroyed) == 0;
  if (cw_tls.thread)
    return;
  struct cw_thread *t = new_thread(0, 0);
  attach(t);
  t->handle = (uintptr_t)pthread_self();
  cw_thread_set_name(t, "main");
}

struct cw_thread_start *cw_thread_prepare(void *(*fn)(void *), void *arg, uintptr_t pc)
{
  struct cw_thread *self = cw_thread_current();
  if (!self)
    return NULL;
  cw_sample_thread_creating();
  struct cw_thread_start *s = cw_alloc(sizeof *s);
  s->thread = new_thread(self->id, cw_stack_capture(pc));
  cw_race_thread_created(self, s->thread);
  s->fn = fn;
  s->arg = arg;
  return s;
}

void cw_thread_abandon(struct cw_thread_start *s)
{
  s->thread->alive = false;
  cw_free(s);
}

struct cw_thread *cw_thread_start_record(struct cw_thread_start *s) { return s->thread; }

/* The thread's stack, for reports ("a variable on the stack of T3") and so that a stack that
 * held another thread's frames before starts with no history. */
static void record_stack_bounds(struct cw_thread *t)
{
  pthread_attr_t attr;
  void *lo;
  size_t size;
  if (pthread_getattr_np(pthread_self(), &attr) != 0)
    return;
  if (pthread_attr_getstack(&attr, &lo, &size) == 0) {
    t->stack_lo = (uintptr_t)lo;
    t->stack_hi = (uintptr_t)lo + size;
  }
  pthread_attr_destroy(&attr);
}

void *cw_thread_trampoline(void *start)
{
  struct cw_thread_start s = *(struct cw_thread_start *)start;
  cw_free(start);
  attach(s.thread);
  s.thread->alive = true;
  record_stack_bounds(s.thread);
  cw_race_thread_started(s.thread);
  if (exit_key_ok)
    pthread_setspecific(exit_key, s.thread);
  void *ret = s.fn(s.arg);
  /* The thread function is the "call" that ends the thread (+1: symbolized as a return
   * address, it names the function's first line). */
  cw_thread_ended(s.thread, (uintptr_t)s.fn + 1, false);
  return ret;
}

static bool holds_real_locks(const struct cw_thread *t)
{
  for (uint32_t i = 0; i < t->nheld; i++)
    if (cw_held_entry_still_held(t, &t->held[i]))
      return true;
  return false;
}

/* The record stays (reports name it); the per-thread working memory goes, except the held
 * stack of a thread that exits holding locks: a thread that later waits for one of them can
 * never get it, and the report says who took it where. Under the registry lock, because the
 * watchdog reads these arrays. */
void cw_thread_exiting(void)
{
  struct cw_thread *t = cw_tls.thread;
  if (!t || !t->alive)
    return;
  cw_tls.active = NULL;
  cw_lock_acquire(&registry_lock);
  t->alive = false;
  t->exited_holding = holds_real_locks(t);
  if (!t->exited_holding) {
    cw_free(t->held);
    t->held = NULL;
    t->nheld = t->held_cap = 0;
  }
  while (t->retired_held) {
    void *next = *(void **)t->retired_held;
    cw_free(t->retired_held);
    t->retired_held = next;
  }
  t->chain_cache = (uint64_t *)cw_chain_cache_empty;
  cw_free(t->chain_cache_own);
  t->chain_cache_own = NULL;
  cw_lock_release(&registry_lock);
}

void cw_threads_lock(void) { cw_lock_acquire(&registry_lock); }
void cw_threads_unlock(void) { cw_lock_release(&registry_lock); }

void cw_threads_foreach(void (*fn)(struct cw_thread *t, void *arg), void *arg)
{
  for (uint32_t i = 0; i < nthreads; i++)
    fn(registry[i], arg);
}

void cw_thread_set_name(struct cw_thread *t, const char *name)
{
  strncpy(t->name, name, sizeof t->name - 1);
  t->name[sizeof t->name - 1] = 0;
}

bool cw_thread_info(uint32_t id, struct cw_thread_info *out)
{
  bool found = false;
  cw_lock_acquire(&registry_lock);
  if (id >= 1 && id <= nthreads) {
    struct cw_thread *t = registry[id - 1];
    out->id = t->id;
    out->parent = t->parent;
    out->alive = t->alive;
    out->tid = t->tid;
    out->created_at = t->created_at;
    memcpy(out->name, t->name, sizeof out->name);
    found = true;
  }
  cw_lock_release(&registry_lock);
  return found;
}

void cw_threads_prefork(void) { cw_lock_acquire(&registry_lock); }

/* In the child only the forking thread exists; the others' records stay for reports. */
/* The thread is in fork, not in a lock call: its fast-path requests are all held. In the child
 * those mutexes keep naming the parent's thread as owner, so they are confirmed before the
 * thread's id changes. */
static void confirm_own_requests(struct cw_thread *t)
{
  for (uint32_t i = 0; i < t->nheld; i++)
    if (t->held[i].flags & CW_HELD_OWNER_CONFIRMS)
      t->held[i].flags &= (uint8_t) ~(CW_HELD_PENDING | CW_HELD_OWNER_CONFIRMS);
}

void cw_threads_postfork(int in_child)
{
  if (!in_child) {
    cw_lock_release(&registry_lock);
    return;
  }
  cw_lock_reset(&registry_lock);
  /* The other threads do not exist in the child; the locks they held stay locked forever. */
  for (uint32_t i = 0; i < nthreads; i++)
    if (registry[i] != cw_tls.thread && registry[i]->alive) {
      registry[i]->alive = false;
      registry[i]->exited_holding = holds_real_locks(registry[i]);
    }
  if (cw_tls.thread) {
    confirm_own_requests(cw_tls.thread);
    cw_tls.thread->tid = cw_gettid();
  }
}
