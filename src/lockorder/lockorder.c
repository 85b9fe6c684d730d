#include "lockorder.h"

#include <string.h>

#include "../report/report.h"
#include "../runtime/options.h"
#include "../stack/stack.h"
#include "graph.h"
#include "held.h"
#include "../runtime/seen.h"

/* The graph, the reported-cycle set and all slow-path work are serialized by graph_lock.
 * The fast path (a chain already validated) touches only the thread's own memory. */
static cw_lock_t graph_lock = CW_LOCK_INIT;

static struct cw_seen reported_cycles = CW_SEEN_INIT;

#define UNWIND_MAX 256

/* ---- held-lock stack (the inline half is in held.h) ---- */

const uint64_t cw_chain_cache_empty[CW_CHAIN_CACHE_SIZE];

/* The old array is not freed until the thread exits: the deadlock watchdog reads other
 * threads' held stacks without stopping them. */
void cw_held_grow(struct cw_thread *t)
{
  uint32_t cap = t->held_cap ? t->held_cap * 2 : CW_HELD_INITIAL;
  struct cw_held *bigger = cw_alloc(cap * sizeof *bigger);
  if (t->nheld)
    memcpy(bigger, t->held, t->nheld * sizeof *bigger);
  struct cw_held *old = t->held;
  __atomic_store_n(&t->held, bigger, __ATOMIC_RELEASE);
  t->held_cap = cap;
  if (old) {
    *(void **)old = t->retired_held;
    t->retired_held = old;
  }
}

bool cw_held_pop_slow(struct cw_thread *t, const void *lock)
{
  for (uint32_t i = t->nheld; i-- > 0;) {
    if (t->held[i].lock != lock)
      continue;
    t->nheld--;
    memmove(&t->held[i], &t->held[i + 1], (t->nheld - i) * sizeof *t->held);
    for (uint32_t k = i; k < t->nheld; k++) { /* released out of order: re-chain above it */
      struct cw_held *h = &t->held[k];
      h->chain = cw_chain_step(k ? t->held[k - 1].chain : 0, h->lock, h->kind, h->mode,
                               h->flags & CW_HELD_TRY);
    }
    return true;
  }
  return false;
}

bool cw_lockorder_holds(const struct cw_thread *t, const void *lock)
{
  for (uint32_t i = t->nheld; i-- > 0;)
    if (t->held[i].lock == lock)
      return true;
  return false;
}

/* ---- slow path: turning an acquisition into edges ---- */

struct request {
  struct cw_thread *t;
  const void *lock;
  enum cw_lock_kind kind;
  enum cw_lock_mode mode;
  struct cw_unwound frames[UNWIND_MAX];
  size_t nframes;
  cw_stack_id stack;
  struct cw_lock_order_finding *found[4]; /* cycles to report once graph_lock is released */
  size_t nfound;
};

static bool is_exclusive(const struct cw_held *h)
{
  return h->mode == CW_MODE_WRITE && h->kind != CW_LOCK_SEM;
}

static struct cw_node *node_for_held(struct request *r, const struct cw_held *h)
{
  struct cw_node *n = cw_graph_find_node((uintptr_t)h->lock);
  if (n)
    return n;
  cw_stack_id where = cw_stack_rebuild(h->pc, h->sp, r->frames, r->nframes);
  return cw_graph_get_node((uintptr_t)h->lock, h->kind, where, r->t->id);
}

/* Ids of the locks, other than `skip`, that the thread holds exclusively: the candidate
 * gate locks of the edge. */
static size_t collect_gates(struct request *r, uint32_t skip, uint64_t *gates)
{
  size_t n = 0;
  for (uint32_t i = 0; i < r->t->nheld && n < CW_EDGE_GATES; i++) {
    const struct cw_held *h = &r->t->held[i];
    if (i == skip || !is_exclusive(h))
      continue;
    struct cw_node *g = node_for_held(r, h);
    if (!(g->flags & CW_NODE_SIGNAL))
      gates[n++] = g->id;
  }
  return n;
}

/* Copy a cycle out of the graph, so it can be reported after graph_lock is released. */
static struct cw_lock_order_finding *snapshot(const struct cw_cycle *c)
{
  struct cw_lock_order_finding *f = cw_alloc(sizeof *f);
  f->n = c->n;
  f->locks = cw_alloc(c->n * sizeof *f->locks);
  f->steps = cw_alloc(c->n * sizeof *f->steps);
  for (size_t k = 0; k < c->n; k++) {
    /* Start with the oldest edge; the one just added (edges[0]) comes last. */
    size_t i = (k + 1) % c->n;
    const struct cw_edge *e = c->edges[i];
    const struct cw_edge_obs *o = &e->obs[c->obs[i]];
    f->locks[k] = (struct cw_finding_lock){e->from->addr, e->from->kind, e->from->first_seen,
                                           e->from->first_thread};
    f->steps[k] = (struct cw_finding_step){o->thread, k, (k + 1) % c->n, e->from_modes,
                                           e->to_modes, o->held_stack, o->request_stack};
  }
  return f;
}

static void free_finding(struct cw_lock_order_finding *f)
{
  cw_free(f->locks);
  cw_free(f->steps);
  cw_free(f);
}

static void keep_if_new(struct request *r, const struct cw_cycle *c)
{
  if (r->nfound == CW_ARRAY_LEN(r->found) || cw_seen_before(&reported_cycles, cw_cycle_key(c)))
    return;
  r->found[r->nfound++] = snapshot(c);
}

/* Add held[i] -> new lock; look for a cycle it closes. */
static void add_edge(struct request *r, struct cw_node *to, uint32_t i)
{
  const struct cw_held *h = &r->t->held[i];
  struct cw_node *from = node_for_held(r, h);
  if (from->flags & CW_NODE_SIGNAL)
    return;
  uint64_t gates[CW_EDGE_GATES];
  struct cw_sighting s = {
      .obs = {r->t->id, 0, r->stack},
      .from_mode = h->mode,
      .to_mode = (uint8_t)r->mode,
      .gates = gates,
      .ngates = collect_gates(r, i, gates),
  };
  bool changed;
  struct cw_edge *e = cw_graph_find_edge(from, to);
  if (!e || e->nobs < CW_EDGE_OBSERVATIONS)
    s.obs.held_stack = cw_stack_rebuild(h->pc, h->sp, r->frames, r->nframes);
  e = cw_graph_observe(from, to, &s, &changed);
  if (!changed)
    return;
  struct cw_cycle c;
  if (cw_graph_find_cycle(e, cw_opt.report_single_thread_cycles, &c)) {
    keep_if_new(r, &c);
    cw_cycle_free(&c);
  }
}

static void validate(struct request *r)
{
  struct cw_thread *t = r->t;
  for (uint32_t i = 0; i < t->nheld; i++)
    if (t->held[i].lock == r->lock)
      return; /* re-acquiring a lock it holds: recursion (or a self-deadlock), not an order */
  struct cw_node *to = cw_graph_get_node((uintptr_t)r->lock, (uint8_t)r->kind, r->stack, t->id);
  if (to->flags & CW_NODE_SIGNAL)
    return;
  /* Like lockdep: edges from the most recent lock taken by a blocking acquisition, and from
   * the try-locks taken after it (they added no edge of their own); the older locks are
   * ordered before it already, so paths through it cover them. */
  for (uint32_t i = t->nheld; i-- > 0;) {
    add_edge(r, to, i);
    if (!(t->held[i].flags & CW_HELD_TRY))
      break;
  }
}

/* The validated-chain caches and the forgetting of locks, without a test of the graph epoch on
 * the fast path: a thread publishes its cache, then reads the epoch; a forgetting thread moves
 * the epoch, then points every thread's cache at the empty one. In either order of the two
 * (both sequentially consistent), a cache from before the forgetting is not used after it. */
static void remember_validated(struct cw_thread *t, uint64_t key)
{
  t->chain_cache_own[CW_CHAIN_SLOT(key)] = key;
  __atomic_store_n(&t->chain_cache, t->chain_cache_own, __ATOMIC_SEQ_CST);
  if (cw_graph_epoch_seq_cst() != t->cache_epoch) /* nodes were forgotten meanwhile */
    __atomic_store_n(&t->chain_cache, (uint64_t *)cw_chain_cache_empty, __ATOMIC_SEQ_CST);
}

static void empty_chain_cache(struct cw_thread *t, void *arg)
{
  (void)arg;
  __atomic_store_n(&t->chain_cache, (uint64_t *)cw_chain_cache_empty, __ATOMIC_SEQ_CST);
}

/* After graph_lock is released (the registry lock is never taken inside it). */
static void forget_validated_chains_since(uint64_t epoch)
{
  if (cw_graph_epoch_seq_cst() == epoch)
    return;
  cw_threads_lock();
  cw_threads_foreach(empty_chain_cache, NULL);
  cw_threads_unlock();
}

void cw_lockorder_check(struct cw_thread *t, const void *lock, enum cw_lock_kind kind,
                        enum cw_lock_mode mode, uint64_t key)
{
  if (!t->chain_cache_own)
    t->chain_cache_own = cw_alloc(CW_CHAIN_CACHE_SIZE * sizeof *t->chain_cache_own);
  uint64_t epoch = cw_graph_epoch();
  if (t->cache_epoch != epoch) { /* locks were forgotten: what was validated may not hold */
    memset(t->chain_cache_own, 0, CW_CHAIN_CACHE_SIZE * sizeof *t->chain_cache_own);
    t->cache_epoch = epoch;
  }
  if (cw_opt.detect_lock_order) {
    struct request *r = cw_alloc(sizeof *r);
    r->t = t;
    r->lock = lock;
    r->kind = kind;
    r->mode = mode;
    r->nframes = cw_unwind(r->frames, UNWIND_MAX);
    uintptr_t pcs[UNWIND_MAX];
    size_t depth = (size_t)cw_opt.stack_depth, n = 0;
    for (size_t i = 0; i < r->nframes && n < depth; i++)
      pcs[n++] = r->frames[i].pc;
    r->stack = cw_stack_intern(pcs, n);

    cw_lock_acquire(&graph_lock);
    validate(r);
    cw_lock_release(&graph_lock);
    for (size_t i = 0; i < r->nfound; i++) {
      cw_report_lock_order(r->found[i]);
      free_finding(r->found[i]);
    }
    cw_free(r);
  }
  remember_validated(t, key);
}

/* ---- forgetting locks ---- */

void cw_lockorder_forget(const void *lock)
{
  if (!cw_graph_range_may_hold_nodes((uintptr_t)lock, 1))
    return;
  cw_lock_acquire(&graph_lock);
  uint64_t epoch = cw_graph_epoch_seq_cst();
  struct cw_node *n = cw_graph_find_node((uintptr_t)lock);
  if (n)
    cw_graph_remove_node(n);
  cw_lock_release(&graph_lock);
  forget_validated_chains_since(epoch);
}

bool cw_lockorder_range_may_hold_locks(const void *start, size_t size)
{
  return cw_graph_range_may_hold_nodes((uintptr_t)start, size);
}

void cw_lockorder_forget_range(const void *start, size_t size)
{
  cw_lock_acquire(&graph_lock);
  uint64_t epoch = cw_graph_epoch_seq_cst();
  cw_graph_remove_range((uintptr_t)start, size);
  cw_lock_release(&graph_lock);
  forget_validated_chains_since(epoch);
}

void cw_lockorder_sem_is_signal(const void *sem)
{
  cw_lock_acquire(&graph_lock);
  uint64_t epoch = cw_graph_epoch_seq_cst();
  struct cw_node *n = cw_graph_get_node((uintptr_t)sem, CW_LOCK_SEM, 0, 0);
  if (!(n->flags & CW_NODE_SIGNAL)) {
    /* Drop what it contributed while it looked like a lock. */
    while (n->nout || n->nin) {
      uint8_t kind = n->kind;
      cw_graph_remove_node(n);
      n = cw_graph_get_node((uintptr_t)sem, kind, 0, 0);
    }
    n->flags |= CW_NODE_SIGNAL;
  }
  cw_lock_release(&graph_lock);
  forget_validated_chains_since(epoch);
}

void cw_lockorder_prefork(void) { cw_lock_acquire(&graph_lock); }

void cw_lockorder_postfork(int in_child)
{
  if (in_child)
    cw_lock_reset(&graph_lock);
  else
    cw_lock_release(&graph_lock);
}
