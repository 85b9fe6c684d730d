#include "graph.h"

#include <stdatomic.h>
#include <string.h>

#include "../engine.h"
#include "held.h"

static struct cw_node *nodes_by_addr;
static struct cw_edge *edges_by_key;
static size_t nnodes, nedges;
static uint64_t next_node_id = 1;
static uint32_t visit_generation;
uint64_t cw_graph_epoch_counter;

/* Pages holding nodes, for free(): a lock-free bitmap answers "certainly not" for most
 * blocks; the page table gives the nodes on a page. Bits are never cleared (a stale bit only
 * costs one page lookup). */
#define PAGE_SHIFT 12
#define PAGE_BITS (1u << 20)
static _Atomic uint64_t page_bitmap[PAGE_BITS / 64];

struct page {
  uintptr_t page;
  struct cw_node *nodes;
  UT_hash_handle hh;
};
static struct page *pages;

static size_t page_bit(uintptr_t page) { return (size_t)((page * 0x9e3779b97f4a7c15ull) >> 44) % PAGE_BITS; }

static void page_add(struct cw_node *n)
{
  uintptr_t pg = n->addr >> PAGE_SHIFT;
  size_t bit = page_bit(pg);
  atomic_fetch_or(&page_bitmap[bit / 64], 1ull << (bit % 64));
  struct page *p;
  HASH_FIND(hh, pages, &pg, sizeof pg, p);
  if (!p) {
    p = cw_alloc(sizeof *p);
    p->page = pg;
    HASH_ADD(hh, pages, page, sizeof p->page, p);
  }
  n->next_on_page = p->nodes;
  p->nodes = n;
}

static void page_remove(struct cw_node *n)
{
  uintptr_t pg = n->addr >> PAGE_SHIFT;
  struct page *p;
  HASH_FIND(hh, pages, &pg, sizeof pg, p);
  if (!p)
    return;
  for (struct cw_node **link = &p->nodes; *link; link = &(*link)->next_on_page)
    if (*link == n) {
      *link = n->next_on_page;
      break;
    }
  if (!p->nodes) {
    HASH_DEL(pages, p);
    cw_free(p);
  }
}

bool cw_graph_range_may_hold_nodes(uintptr_t start, size_t size)
{
  if (size == 0)
    return false;
  uintptr_t first = start >> PAGE_SHIFT, last = (start + size - 1) >> PAGE_SHIFT;
  if (last - first > 64)
    return true; /* big block: let the precise check decide */
  for (uintptr_t pg = first; pg <= last; pg++) {
    size_t bit = page_bit(pg);
    if (atomic_load_explicit(&page_bitmap[bit / 64], memory_order_relaxed) & (1ull << (bit % 64)))
      return true;
  }
  return false;
}

void cw_graph_reset(void)
{
  while (nodes_by_addr)
    cw_graph_remove_node(nodes_by_addr);
}

size_t cw_graph_node_count(void) { return nnodes; }
size_t cw_graph_edge_count(void) { return nedges; }
uint64_t cw_graph_epoch(void) { return __atomic_load_n(&cw_graph_epoch_counter, __ATOMIC_ACQUIRE); }
uint64_t cw_graph_epoch_seq_cst(void) { return __atomic_load_n(&cw_graph_epoch_counter, __ATOMIC_SEQ_CST); }

struct cw_node *cw_graph_find_node(uintptr_t addr)
{
  struct cw_node *n;
  HASH_FIND(hh, nodes_by_addr, &addr, sizeof addr, n);
  return n;
}

struct cw_node *cw_graph_get_node(uintptr_t addr, uint8_t kind, cw_stack_id first_seen,
                                  uint32_t thread)
{
  struct cw_node *n = cw_graph_find_node(addr);
  if (n)
    return n;
  n = cw_alloc(sizeof *n);
  n->addr = addr;
  n->id = next_node_id++;
  n->kind = kind;
  n->first_seen = first_seen;
  n->first_thread = thread;
  HASH_ADD(hh, nodes_by_addr, addr, sizeof n->addr, n);
  page_add(n);
  nnodes++;
  return n;
}

static void unlink_edge(struct cw_edge **arr, uint32_t *count, struct cw_edge *e)
{
  for (uint32_t i = 0; i < *count; i++)
    if (arr[i] == e) {
      arr[i] = arr[--*count];
      return;
    }
}

static void delete_edge(struct cw_edge *e)
{
  unlink_edge(e->from->out, &e->from->nout, e);
  unlink_edge(e->to->in, &e->to->nin, e);
  HASH_DEL(edges_by_key, e);
  cw_free(e);
  nedges--;
}

void cw_graph_remove_node(struct cw_node *n)
{
  while (n->nout)
    delete_edge(n->out[0]);
  while (n->nin)
    delete_edge(n->in[0]);
  HASH_DEL(nodes_by_addr, n);
  page_remove(n);
  cw_free(n->out);
  cw_free(n->in);
  cw_free(n);
  nnodes--;
  __atomic_fetch_add(&cw_graph_epoch_counter, 1, __ATOMIC_SEQ_CST);
}

size_t cw_graph_remove_range(uintptr_t start, size_t size)
{
  size_t removed = 0;
  uintptr_t end = start + size;
  uintptr_t first = start >> PAGE_SHIFT, last = (end - 1) >> PAGE_SHIFT;
  if (last - first > nnodes) { /* a huge block: walking the nodes is cheaper */
    struct cw_node *n, *tmp;
    HASH_ITER(hh, nodes_by_addr, n, tmp)
    if (n->addr >= start && n->addr < end) {
      cw_graph_remove_node(n);
      removed++;
    }
    return removed;
  }
  for (uintptr_t pg = first; pg <= last; pg++) {
    struct page *p;
    HASH_FIND(hh, pages, &pg, sizeof pg, p);
    struct cw_node *n = p ? p->nodes : NULL;
    while (n) {
      struct cw_node *next = n->next_on_page;
      if (n->addr >= start && n->addr < end) {
        bool last_on_page = (p->nodes == n && !n->next_on_page);
        cw_graph_remove_node(n); /* may free p when it empties */
        removed++;
        if (last_on_page)
          break;
      }
      n = next;
    }
  }
  return removed;
}

struct cw_edge *cw_graph_find_edge(struct cw_node *from, struct cw_node *to)
{
  uint64_t key[2] = {from->id, to->id};
  struct cw_edge *e;
  HASH_FIND(hh, edges_by_key, key, sizeof key, e);
  return e;
}

static struct cw_edge *new_edge(struct cw_node *from, struct cw_node *to)
{
  struct cw_edge *e = cw_alloc(sizeof *e);
  e->from = from;
  e->to = to;
  e->key[0] = from->id;
  e->key[1] = to->id;
  HASH_ADD(hh, edges_by_key, key, sizeof e->key, e);
  CW_GROW(from->out, from->out_cap, from->nout + 1);
  from->out[from->nout++] = e;
  CW_GROW(to->in, to->in_cap, to->nin + 1);
  to->in[to->nin++] = e;
  nedges++;
  return e;
}

static bool add_thread(struct cw_edge *e, const struct cw_edge_obs *obs)
{
  for (uint8_t i = 0; i < e->nobs; i++)
    if (e->obs[i].thread == obs->thread)
      return false;
  if (e->nobs < CW_EDGE_OBSERVATIONS) {
    e->obs[e->nobs++] = *obs;
    return true;
  }
  bool changed = !e->more_threads;
  e->more_threads = true;
  return changed;
}

/* Keep only the gates that were also held this time. */
static bool intersect_gates(struct cw_edge *e, const uint64_t *gates, size_t ngates)
{
  if (!e->gates_known) {
    e->gates_known = true;
    e->ngates = 0;
    for (size_t i = 0; i < ngates && e->ngates < CW_EDGE_GATES; i++)
      e->gates[e->ngates++] = gates[i];
    return true;
  }
  uint8_t kept = 0;
  for (uint8_t i = 0; i < e->ngates; i++) {
    bool present = false;
    for (size_t j = 0; j < ngates && !present; j++)
      present = gates[j] == e->gates[i];
    if (present)
      e->gates[kept++] = e->gates[i];
  }
  bool changed = kept != e->ngates;
  e->ngates = kept;
  return changed;
}

struct cw_edge *cw_graph_observe(struct cw_node *from, struct cw_node *to,
                                 const struct cw_sighting *s, bool *changed)
{
  struct cw_edge *e = cw_graph_find_edge(from, to);
  bool is_new = !e;
  if (is_new)
    e = new_edge(from, to);
  bool c = is_new;
  c |= add_thread(e, &s->obs);
  c |= intersect_gates(e, s->gates, s->ngates);
  if ((e->from_modes | s->from_mode) != e->from_modes || (e->to_modes | s->to_mode) != e->to_modes)
    c = true;
  e->from_modes |= s->from_mode;
  e->to_modes |= s->to_mode;
  *changed = c;
  return e;
}

/* ---- feasibility of a cycle ---- */

static bool modes_can_block(const struct cw_cycle *c)
{
  for (size_t i = 0; i < c->n; i++) {
    const struct cw_edge *in = c->edges[i], *out = c->edges[(i + 1) % c->n];
    /* The lock between them is requested via `in` and held via `out`: two readers never
     * block each other. */
    if (in->to_modes == CW_MODE_READ && out->from_modes == CW_MODE_READ)
      return false;
  }
  return true;
}

static bool has_common_gate(const struct cw_cycle *c)
{
  const struct cw_edge *first = c->edges[0];
  for (uint8_t g = 0; g < first->ngates; g++) {
    bool everywhere = true;
    for (size_t i = 1; i < c->n && everywhere; i++) {
      bool found = false;
      for (uint8_t k = 0; k < c->edges[i]->ngates && !found; k++)
        found = c->edges[i]->gates[k] == first->gates[g];
      everywhere = found;
    }
    if (everywhere)
      return true;
  }
  return false;
}

/* Kuhn's augmenting-path matching of edges to distinct threads. */
struct matching {
  const struct cw_cycle *c;
  uint32_t *thread_of_slot; /* thread ids, index = slot */
  size_t nslots;
  long *edge_of_slot;       /* which edge holds each thread slot, -1 if free */
  uint32_t *seen;
  uint32_t round;
};

static long slot_of_thread(struct matching *m, uint32_t thread)
{
  for (size_t s = 0; s < m->nslots; s++)
    if (m->thread_of_slot[s] == thread)
      return (long)s;
  return -1;
}

static bool augment(struct matching *m, size_t edge)
{
  const struct cw_edge *e = m->c->edges[edge];
  for (uint8_t k = 0; k < e->nobs; k++) {
    long s = slot_of_thread(m, e->obs[k].thread);
    if (m->seen[s] == m->round)
      continue;
    m->seen[s] = m->round;
    if (m->edge_of_slot[s] < 0 || augment(m, (size_t)m->edge_of_slot[s])) {
      m->edge_of_slot[s] = (long)edge;
      m->c->obs[edge] = k;
      return true;
    }
  }
  return false;
}

static bool threads_can_deadlock(struct cw_cycle *c)
{
  size_t cap = c->n * CW_EDGE_OBSERVATIONS;
  struct matching m = {c, cw_alloc(cap * sizeof(uint32_t)), 0, cw_alloc(cap * sizeof(long)),
                       cw_alloc(cap * sizeof(uint32_t)), 0};
  for (size_t i = 0; i < c->n; i++)
    for (uint8_t k = 0; k < c->edges[i]->nobs; k++)
      if (slot_of_thread(&m, c->edges[i]->obs[k].thread) < 0)
        m.thread_of_slot[m.nslots++] = c->edges[i]->obs[k].thread;
  for (size_t s = 0; s < m.nslots; s++)
    m.edge_of_slot[s] = -1;
  bool ok = true;
  for (size_t i = 0; i < c->n && ok; i++) {
    c->obs[i] = 0;
    if (c->edges[i]->more_threads)
      continue; /* seen from more threads than we track: some other thread is free */
    m.round++;
    ok = augment(&m, i);
  }
  cw_free(m.thread_of_slot);
  cw_free(m.edge_of_slot);
  cw_free(m.seen);
  return ok;
}

bool cw_cycle_feasible(struct cw_cycle *c, bool allow_single_thread)
{
  if (!modes_can_block(c) || has_common_gate(c))
    return false;
  if (threads_can_deadlock(c))
    return true;
  for (size_t i = 0; i < c->n; i++)
    c->obs[i] = 0;
  return allow_single_thread;
}

/* ---- cycle search ---- */

void cw_cycle_free(struct cw_cycle *c)
{
  cw_free(c->edges);
  cw_free(c->obs);
  c->edges = NULL;
  c->obs = NULL;
  c->n = 0;
}

/* Iterative depth-first search from closing->to towards closing->from. Each node is expanded
 * once per search; every edge into the goal is tried, so all cycles through distinct last
 * edges are considered. */
bool cw_graph_find_cycle(struct cw_edge *closing, bool allow_single_thread, struct cw_cycle *c)
{
  struct cw_node *goal = closing->from, *start = closing->to;
  if (start == goal)
    return false;
  uint32_t mark = ++visit_generation;
  size_t cap = 64, depth = 0;
  struct cw_edge **path = cw_alloc(cap * sizeof *path);
  uint32_t *next_out = cw_alloc(cap * sizeof *next_out);
  struct cw_node **at = cw_alloc(cap * sizeof *at);
  bool found = false;
  start->visit_mark = mark;
  at[0] = start;
  next_out[0] = 0;
  for (;;) {
    struct cw_node *n = at[depth];
    if (next_out[depth] >= n->nout) {
      if (depth == 0)
        break;
      depth--;
      continue;
    }
    struct cw_edge *e = n->out[next_out[depth]++];
    path[depth] = e;
    if (e->to == goal) {
      c->n = depth + 2;
      c->edges = cw_alloc(c->n * sizeof *c->edges);
      c->obs = cw_alloc(c->n);
      c->edges[0] = closing;
      memcpy(c->edges + 1, path, (depth + 1) * sizeof *path);
      if (cw_cycle_feasible(c, allow_single_thread)) {
        found = true;
        break;
      }
      cw_cycle_free(c);
      continue;
    }
    if (e->to->visit_mark == mark)
      continue;
    e->to->visit_mark = mark;
    if (depth + 2 > cap) {
      cap *= 2;
      path = cw_realloc(path, cap * sizeof *path);
      next_out = cw_realloc(next_out, cap * sizeof *next_out);
      at = cw_realloc(at, cap * sizeof *at);
    }
    depth++;
    at[depth] = e->to;
    next_out[depth] = 0;
  }
  cw_free(path);
  cw_free(next_out);
  cw_free(at);
  return found;
}

uint64_t cw_cycle_key(const struct cw_cycle *c)
{
  /* Order-independent: sum and xor of mixed edge keys. */
  uint64_t sum = 0, x = 0;
  for (size_t i = 0; i < c->n; i++) {
    uint64_t k = c->edges[i]->key[0] * 0x9e3779b97f4a7c15ull ^ c->edges[i]->key[1];
    k ^= k >> 31;
    k *= 0xbf58476d1ce4e5b9ull;
    sum += k;
    x ^= k;
  }
  return sum * 31 + x + c->n;
}
