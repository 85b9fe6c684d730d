/* Happens-before race detection (FastTrack-style epochs over vector clocks).
 *
 * Every thread has a vector clock; its own entry is its epoch, moved forward at each release.
 * A release (unlock, post, atomic store-release, thread creation...) joins the thread's clock
 * into the synchronization object's clock; an acquire joins the object's clock into the
 * thread's. An access by thread T races with an earlier one by U when U's clock at that access
 * is not covered by T's view of U (T.vc[U]): nothing ordered them. */
#include "race.h"

#include "../engine.h"

#include <errno.h>
#include <string.h>

#include "../report/report.h"
#include "../runtime/alloc.h"
#include "../runtime/hash.h"
#include "../runtime/seen.h"
#include "../runtime/options.h"
#include "../stack/stack.h"
#include "../stack/symbolize.h"
#include "shadow.h"
#include "sync.h"

bool cw_race_enabled;

/* The thread's present as the inline fast path packs it (race.h), or 0 to keep that path off
 * (accesses ignored, clock not started). Kept up to date wherever either changes. */
static void refresh_now(struct cw_thread *t)
{
  bool started = t->vc_len > t->id && t->vc[t->id];
  t->race_now = started && !t->race_ignore ? t->vc[t->id] | (uint64_t)(uint16_t)t->id << 32 | CW_CELL_VALID_BIT : 0;
}

static void thread_clock_init(struct cw_thread *t)
{
  if (CW_LIKELY(t->race_now))
    return;
  cw_vc_grow(&t->vc, &t->vc_len, t->id + 1);
  if (!t->vc[t->id])
    t->vc[t->id] = 1;
  refresh_now(t);
}

static void tick(struct cw_thread *t)
{
  t->vc[t->id]++;
  refresh_now(t);
}

/* ---- happens-before on addresses ---- */

void cw_race_release(struct cw_thread *t, uintptr_t addr)
{
  if (!cw_race_enabled || !t)
    return;
  thread_clock_init(t);
  cw_sync_release(addr, t->vc, t->vc_len, t->id);
  tick(t);
}

void cw_race_acquire(struct cw_thread *t, uintptr_t addr)
{
  if (!cw_race_enabled || !t)
    return;
  thread_clock_init(t);
  cw_sync_acquire(addr, &t->vc, &t->vc_len, t->id);
}

/* ---- heap blocks allocated by instrumented code ---- */
#define STRIPES 64

static size_t stripe_of(uintptr_t addr) { return (size_t)((addr * 0x9e3779b97f4a7c15ull) >> 58); }

struct block {
  uintptr_t start;
  size_t size;
  cw_stack_id stack;
  UT_hash_handle hh;
};

static struct {
  cw_lock_t lock;
  struct block *table;
} blocks[STRIPES];

static inline cw_stack_id access_stack(struct cw_thread *t, uintptr_t pc);

void cw_race_allocated(uintptr_t addr, size_t size, uintptr_t pc)
{
  struct cw_thread *t = cw_tls.active;
  if (!t || !cw_race_from_instrumented(pc))
    return;
  struct block *b = cw_alloc(sizeof *b);
  b->start = addr;
  b->size = size;
  b->stack = access_stack(t, pc);
  size_t s = stripe_of(addr);
  cw_lock_acquire(&blocks[s].lock);
  struct block *old;
  HASH_FIND(hh, blocks[s].table, &addr, sizeof addr, old);
  if (old) {
    HASH_DEL(blocks[s].table, old);
    cw_free(old);
  }
  HASH_ADD(hh, blocks[s].table, start, sizeof b->start, b);
  cw_lock_release(&blocks[s].lock);
}

static void block_forget(uintptr_t addr)
{
  size_t s = stripe_of(addr);
  cw_lock_acquire(&blocks[s].lock);
  struct block *b;
  HASH_FIND(hh, blocks[s].table, &addr, sizeof addr, b);
  if (b) {
    HASH_DEL(blocks[s].table, b);
    cw_free(b);
  }
  cw_lock_release(&blocks[s].lock);
}

bool cw_race_find_block(uintptr_t addr, uintptr_t *start, size_t *size, cw_stack_id *stack)
{
  bool found = false;
  for (size_t s = 0; s < STRIPES && !found; s++) {
    cw_lock_acquire(&blocks[s].lock);
    struct block *b, *tmp;
    HASH_ITER(hh, blocks[s].table, b, tmp)
    if (addr >= b->start && addr < b->start + b->size) {
      *start = b->start;
      *size = b->size;
      *stack = b->stack;
      found = true;
      break;
    }
    cw_lock_release(&blocks[s].lock);
  }
  return found;
}

/* ---- instrumented modules (for calls like memcpy made from them) ---- */

static struct {
  uintptr_t lo, hi;
} modules[64];
static _Atomic int nmodules;

bool cw_race_from_instrumented(uintptr_t pc)
{
  int n = __atomic_load_n(&nmodules, __ATOMIC_ACQUIRE);
  for (int i = 0; i < n; i++)
    if (pc >= modules[i].lo && pc < modules[i].hi)
      return true;
  return false;
}

void cw_race_init(uintptr_t caller_pc)
{
  uintptr_t lo, hi;
  if (cw_module_range(caller_pc, &lo, &hi) && !cw_race_from_instrumented(caller_pc)) {
    int n = nmodules;
    if (n < 64) {
      modules[n].lo = lo;
      modules[n].hi = hi;
      __atomic_store_n(&nmodules, n + 1, __ATOMIC_RELEASE);
    }
  }
  cw_race_enabled = true;
  cw_mutex_hooks_set(CW_MUTEX_HOOK_RACE);
}

/* ---- the shadow call stack and access stacks ---- */

#define STACK_CACHE 256
#define SHADOW_STACK_MAX 4096

void cw_race_func_entry_slow(struct cw_thread *t, uintptr_t pc)
{
  uint32_t d = t->shadow_depth;
  if (d >= SHADOW_STACK_MAX) { /* runaway recursion, or exits we never saw: start over */
    t->shadow_depth = 0;
    t->shadow_top = 0;
    return;
  }
  uint32_t cap = d ? d * 2 : 64;
  uintptr_t *frames = cw_alloc(cap * sizeof *frames);
  uint64_t *hashes = cw_alloc(cap * sizeof *hashes);
  if (d) {
    memcpy(frames, t->shadow_stack, d * sizeof *frames);
    memcpy(hashes, t->shadow_hash, d * sizeof *hashes);
  }
  cw_free(t->shadow_stack);
  cw_free(t->shadow_hash);
  t->shadow_stack = frames;
  t->shadow_hash = hashes;
  t->shadow_cap = cap;
  cw_race_shadow_push(t, d, pc);
}

/* The stack of the access at pc, and the locks the thread holds, interned together once per
 * distinct (call stack, pc, held locks): [pc, callers..., CW_RACE_LOCKS_MARK, lock|kind...]. */
static cw_stack_id access_stack_slow(struct cw_thread *t, uintptr_t pc, uint64_t key);

static inline __attribute__((always_inline)) cw_stack_id access_stack(struct cw_thread *t, uintptr_t pc)
{
  /* A loop body repeats the same few accesses: a small table indexed by the access's pc keeps
   * them at hand, compared as they are (no hashing on this path). */
  cw_stack_id id = cw_race_recent_stack(t, pc);
  if (CW_LIKELY(id))
    return id;
  uint64_t frames = t->shadow_top;
  uint64_t held = t->nheld ? t->held[t->nheld - 1].chain : 0;
  uint64_t key = (frames ^ (pc * 0xc2b2ae3d27d4eb4full) ^ (held * 0x9e3779b97f4a7c15ull)) | 1;
  struct cw_recent_stack *r = &t->recent_stacks[CW_RECENT_SLOT(pc)];
  *r = (struct cw_recent_stack){pc, frames, held, access_stack_slow(t, pc, key)};
  return r->id;
}

static cw_stack_id access_stack_slow(struct cw_thread *t, uintptr_t pc, uint64_t key)
{
  uint32_t d = t->shadow_depth;
  if (!t->stack_cache)
    t->stack_cache = cw_alloc(STACK_CACHE * sizeof *t->stack_cache);
  struct cw_stack_cache_entry *e = &t->stack_cache[(key >> 3) & (STACK_CACHE - 1)];
  if (e->key == key)
    return e->id;
  uintptr_t pcs[256];
  size_t n = 0, depth = (size_t)cw_opt.stack_depth;
  pcs[n++] = pc;
  for (uint32_t i = d; i-- > 0 && n < depth && n < 200;)
    pcs[n++] = t->shadow_stack[i];
  bool marked = false;
  for (uint32_t i = 0; i < t->nheld && n < 256; i++) {
    if (cw_held_waiting(t, &t->held[i]))
      continue;
    if (!marked) {
      pcs[n++] = CW_RACE_LOCKS_MARK;
      marked = true;
    }
    if (n < 256)
      pcs[n++] = (uintptr_t)t->held[i].lock | t->held[i].kind;
  }
  e->key = key;
  e->id = cw_stack_intern(pcs, n);
  return e->id;
}

/* ---- races ---- */

static struct cw_seen reported = CW_SEEN_INIT; /* pairs of access pcs */

/* Ranges the program declared as racing on purpose (AnnotateBenignRaceSized). */
struct range {
  uintptr_t lo, hi;
};
static struct range benign[256];
static size_t nbenign;
static cw_lock_t benign_lock = CW_LOCK_INIT;

static bool is_benign(uintptr_t addr, size_t size)
{
  bool found = false;
  cw_lock_acquire(&benign_lock);
  for (size_t i = 0; i < nbenign && !found; i++)
    found = addr < benign[i].hi && addr + size > benign[i].lo;
  cw_lock_release(&benign_lock);
  return found;
}

static void report_race(struct cw_thread *t, uintptr_t addr, size_t size, bool write, bool atomic,
                        uintptr_t pc, const struct cw_cell *prev, bool prev_write)
{
  cw_stack_id here = access_stack(t, pc);
  const uintptr_t *pcs;
  uintptr_t prev_pc = cw_stack_get(prev->stack, &pcs) ? pcs[0] : 0;
  /* The pair of code locations, in either order: each distinct race is reported once. */
  uint64_t key = pc < prev_pc ? pc * 0x9e3779b97f4a7c15ull + prev_pc : prev_pc * 0x9e3779b97f4a7c15ull + pc;
  if (is_benign(addr, size) || cw_seen_before(&reported, key))
    return;
  int saved_errno = errno;
  struct cw_race_finding f = {
      .addr = addr,
      .size = size,
      .current = {t->id, write, atomic, (uint8_t)size, here},
      .previous = {prev->tid, prev_write, (prev->info & CW_CELL_ATOMIC) != 0, prev->size, prev->stack},
  };
  cw_report_race(&f);
  errno = saved_errno;
}

static inline bool overlaps(const struct cw_cell *c, unsigned off, size_t size)
{
  unsigned coff = c->info >> 2;
  return off < coff + c->size && coff < off + size;
}

/* Did the access in cell c happen before the current thread's present? */
static inline bool ordered(const struct cw_thread *t, const struct cw_cell *c)
{
  return c->clock <= cw_vc_get(t->vc, t->vc_len, c->tid);
}

static inline __attribute__((always_inline)) bool races_with(const struct cw_thread *t, const struct cw_cell *c, unsigned off, size_t size,
                       bool atomic)
{
  return (c->info & CW_CELL_VALID) && c->tid != t->id && overlaps(c, off, size) && !ordered(t, c) &&
         !(atomic && (c->info & CW_CELL_ATOMIC));
}

/* One access within one 8-byte word. */
static inline __attribute__((always_inline)) void access_word(struct cw_thread *t, uintptr_t addr, size_t size,
                                                             bool write, bool atomic, uintptr_t pc)
{
  struct cw_shadow_region *r = cw_shadow_region_cached(t, addr);
  if (!r)
    return;
  size_t i = cw_shadow_index(addr);
  unsigned off = addr & 7;
  uint64_t cell = cw_cell_of(t->race_now, off, size) | (atomic ? (uint64_t)CW_CELL_ATOMIC << 48 : 0);
  cw_stack_id stack = access_stack(t, pc);
  /* Memory only this thread has touched (the common case) cannot race: no checks. */
  if (cw_race_word_mine(t, r, i, cell, write, &stack, pc))
    return;
  struct cw_cell prev_write = cw_cell_load(&r->write[i]);
  struct cw_cell prev_read = cw_cell_load(&r->read[i]);
  if (races_with(t, &prev_write, off, size, atomic))
    report_race(t, addr, size, write, atomic, pc, &prev_write, true);
  else if (write && races_with(t, &prev_read, off, size, atomic))
    report_race(t, addr, size, write, atomic, pc, &prev_read, false);
  if (write) {
    cw_shadow_record(&r->write[i], cell, stack);
    /* The write supersedes the reads it follows. (A plain store: a read recorded by another
     * thread at this very moment may be lost, which can only hide a race, never invent one.) */
    if ((prev_read.info & CW_CELL_VALID) && (prev_read.tid == t->id || ordered(t, &prev_read)))
      cw_shadow_erase(&r->read[i]);
  } else {
    cw_shadow_record(&r->read[i], cell, stack);
  }
}

void cw_race_access(uintptr_t addr, size_t size, bool write, bool atomic, uintptr_t pc)
{
  struct cw_thread *t = cw_tls.active;
  if (!t || t->race_ignore || !size)
    return;
  thread_clock_init(t);
  while (size) {
    size_t in_word = 8 - (addr & 7);
    size_t n = size < in_word ? size : in_word;
    access_word(t, addr, n, write, atomic, pc);
    addr += n;
    size -= n;
  }
}

void cw_race_range(uintptr_t addr, size_t size, bool write, uintptr_t pc)
{
  cw_race_access(addr, size, write, false, pc);
}

/* ---- atomics and fences ---- */

enum { MO_RELAXED, MO_CONSUME, MO_ACQUIRE, MO_RELEASE, MO_ACQ_REL, MO_SEQ_CST };

void cw_race_atomic_before(uintptr_t addr, size_t size, bool store, int order, uintptr_t pc)
{
  struct cw_thread *t = cw_tls.active;
  if (!t)
    return;
  thread_clock_init(t);
  bool release = store && (order == MO_RELEASE || order == MO_ACQ_REL || order == MO_SEQ_CST);
  if (release) {
    cw_race_release(t, addr);
  } else if (store && t->rel_fence_len) {
    /* A relaxed store after a release fence publishes what preceded the fence. */
    cw_sync_release(addr, t->released_at_fence, t->rel_fence_len, t->id);
  }
  cw_race_access(addr, size, store, true, pc);
}

void cw_race_atomic_after(uintptr_t addr, bool load, int order)
{
  struct cw_thread *t = cw_tls.active;
  if (!t || !load)
    return;
  thread_clock_init(t);
  bool acquire = order == MO_CONSUME || order == MO_ACQUIRE || order == MO_ACQ_REL || order == MO_SEQ_CST;
  if (acquire)
    cw_race_acquire(t, addr);
  else /* relaxed: an acquire fence later may make it an acquire */
    cw_sync_acquire(addr, &t->acquired_since_fence, &t->acq_fence_len, t->id);
}

void cw_race_fence(int order)
{
  struct cw_thread *t = cw_tls.active;
  if (!t || order == MO_RELAXED)
    return;
  thread_clock_init(t);
  if (order != MO_RELEASE && t->acq_fence_len) /* acquire side */
    cw_vc_join(&t->vc, &t->vc_len, t->acquired_since_fence, t->acq_fence_len);
  if (order != MO_ACQUIRE && order != MO_CONSUME) { /* release side */
    cw_vc_grow(&t->released_at_fence, &t->rel_fence_len, t->vc_len);
    memcpy(t->released_at_fence, t->vc, t->vc_len * sizeof *t->vc);
    tick(t);
  }
}

/* ---- threads and memory ---- */

void cw_race_thread_created(struct cw_thread *parent, struct cw_thread *child)
{
  if (!cw_race_enabled || !parent)
    return;
  thread_clock_init(parent);
  cw_vc_join(&child->vc, &child->vc_len, parent->vc, parent->vc_len);
  tick(parent);
}

void cw_race_thread_started(struct cw_thread *t)
{
  if (!cw_race_enabled)
    return;
  thread_clock_init(t);
  /* A thread's stack may be memory an exited thread used: its history is not this thread's. */
  if (t->stack_hi > t->stack_lo)
    cw_shadow_clear(t->stack_lo, t->stack_hi - t->stack_lo);
}

void cw_race_thread_finished(struct cw_thread *t)
{
  if (!cw_race_enabled || !t)
    return;
  cw_race_release(t, (uintptr_t)t); /* a join acquires this */
}

void cw_race_thread_joined(struct cw_thread *joiner, struct cw_thread *child)
{
  if (!cw_race_enabled || !joiner || !child)
    return;
  cw_race_acquire(joiner, (uintptr_t)child);
}

void cw_race_forget(uintptr_t addr, size_t size)
{
  if (!cw_race_enabled)
    return;
  cw_shadow_clear(addr, size);
  cw_sync_forget(addr, size);
  block_forget(addr);
}

void cw_race_ignore(int delta)
{
  struct cw_thread *t = cw_tls.active;
  if (!t)
    return;
  t->race_ignore += delta;
  refresh_now(t);
}

void cw_race_benign(uintptr_t addr, size_t size)
{
  cw_lock_acquire(&benign_lock);
  if (nbenign < CW_ARRAY_LEN(benign))
    benign[nbenign++] = (struct range){addr, addr + size};
  cw_lock_release(&benign_lock);
}
