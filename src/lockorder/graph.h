/* The lock-order graph: a node per lock instance, an edge A->B when some thread requested B
 * while holding A. Pure data structure; the caller (lockorder.c) serializes access. */
#ifndef CW_GRAPH_H
#define CW_GRAPH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../runtime/hash.h"
#include "../runtime/thread.h"

#define CW_EDGE_OBSERVATIONS 4 /* one per distinct thread; more threads are only counted */
#define CW_EDGE_GATES 8        /* candidate gate locks remembered per edge */

/* Node flags. */
#define CW_NODE_SIGNAL 1u /* a semaphore used for signalling, not as a lock: never in the graph */

struct cw_edge;

struct cw_node {
  uintptr_t addr;
  uint64_t id; /* unique for the life of the process, even when the address is reused */
  uint8_t kind;
  uint8_t flags;
  cw_stack_id first_seen;
  uint32_t first_thread;
  struct cw_edge **out, **in;
  uint32_t nout, nin, out_cap, in_cap;
  uint32_t visit_mark;
  struct cw_node *next_on_page;
  UT_hash_handle hh; /* by addr */
};

/* One thread's sighting of an edge. */
struct cw_edge_obs {
  uint32_t thread;
  cw_stack_id held_stack;    /* where `from` was acquired */
  cw_stack_id request_stack; /* where `to` was requested */
};

struct cw_edge {
  struct cw_node *from, *to;
  uint64_t key[2]; /* from->id, to->id: the edge hash key */
  struct cw_edge_obs obs[CW_EDGE_OBSERVATIONS];
  uint8_t nobs;
  bool more_threads;     /* seen from more threads than obs[] holds */
  uint8_t from_modes;    /* modes `from` was held in (CW_MODE_* bits) */
  uint8_t to_modes;      /* modes `to` was requested in */
  bool gates_known;      /* false until the first sighting fills gates[] */
  uint8_t ngates;
  uint64_t gates[CW_EDGE_GATES]; /* ids of locks held exclusively at every sighting */
  UT_hash_handle hh; /* by key */
};

/* What one sighting of an edge brings. */
struct cw_sighting {
  struct cw_edge_obs obs;
  uint8_t from_mode, to_mode;
  const uint64_t *gates; /* ids of the other locks held exclusively at the time */
  size_t ngates;
};

void cw_graph_reset(void);
struct cw_node *cw_graph_find_node(uintptr_t addr);
struct cw_node *cw_graph_get_node(uintptr_t addr, uint8_t kind, cw_stack_id first_seen,
                                  uint32_t thread);
void cw_graph_remove_node(struct cw_node *n);
/* Remove every node whose lock lies in [start, start+size). Returns how many. */
size_t cw_graph_remove_range(uintptr_t start, size_t size);
/* Cheap, lock-free pre-check: might [start, start+size) hold a node? */
bool cw_graph_range_may_hold_nodes(uintptr_t start, size_t size);
size_t cw_graph_node_count(void);
size_t cw_graph_edge_count(void);
/* Bumped whenever nodes go away: caches of validated chains compare it. */
uint64_t cw_graph_epoch(void);
/* The epoch in the sequentially consistent order of the chain-cache protocol (lockorder.c). */
uint64_t cw_graph_epoch_seq_cst(void);

struct cw_edge *cw_graph_find_edge(struct cw_node *from, struct cw_node *to);
/* Record a sighting of from->to, creating the edge if needed. *changed tells whether the edge
 * is new or can now take part in more cycles (new thread, new mode, fewer gates). */
struct cw_edge *cw_graph_observe(struct cw_node *from, struct cw_node *to,
                                 const struct cw_sighting *s, bool *changed);

/* A cycle: edges[i]->to == edges[i+1]->from, last->to == first->from; obs[i] picks which
 * sighting of edges[i] the report shows (a distinct thread per edge where possible). */
struct cw_cycle {
  struct cw_edge **edges;
  uint8_t *obs;
  size_t n;
};

/* Can this cycle really deadlock? Applies the filters of docs/design.md: modes (read-read
 * never blocks), a common gate lock, and threads (each edge needs its own thread; one thread
 * alone cannot deadlock itself through a cycle unless allow_single_thread). Fills c->obs. */
bool cw_cycle_feasible(struct cw_cycle *c, bool allow_single_thread);

/* Search for a feasible cycle that closes through `closing` (an edge from->to): a path from
 * closing->to back to closing->from. Returns true and fills *c (engine memory, free with
 * cw_cycle_free) when found. */
bool cw_graph_find_cycle(struct cw_edge *closing, bool allow_single_thread, struct cw_cycle *c);
void cw_cycle_free(struct cw_cycle *c);

/* A stable key for a cycle (the same set of edges in any rotation). */
uint64_t cw_cycle_key(const struct cw_cycle *c);

#endif
