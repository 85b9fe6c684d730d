/* The sampler: which locations are watched when, the trap handler that records accesses and
 * holds a thread, and the judgement of each window. See sample.h for the method.
 *
 * Concurrency. Windows are filled by the trap handler in program threads (lock-free: a
 * handler may interrupt a thread anywhere in program code) and read by the sampler thread only
 * after the window is closed and no handler is inside it any more. watch_lock guards every
 * thread's watchpoint fds, so an fd is never used after its thread closed it. */
#include "sample.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <pthread.h>
#include <semaphore.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <ucontext.h>
#include <unistd.h>

#include "../engine.h"
#include "../race/race.h"
#include "../report/report.h"
#include "../runtime/alloc.h"
#include "../runtime/hash.h"
#include "../runtime/objects.h"
#include "../runtime/options.h"
#include "../stack/stack.h"
#include "candidates.h"
#include "decode.h"
#include "hwwatch.h"
#include "stats.h"

#define MAX_TRAPS 32
#define TRAP_FRAMES 32
#define TRAP_LOCKS 4
/* Accesses only recorded before a thread may be held: they show polling (a flag read again
 * and again by one instruction) before anything could be blamed. */
#define LEARNING_TRAPS 2
#define HOLD_DONE UINT32_MAX

struct trap {
  _Atomic uint32_t done; /* 1: the record below is complete */
  uint32_t thread;
  uintptr_t next_pc; /* where the accessing instruction ended */
  greg_t regs[NGREG];
  uint8_t code[CW_DECODE_MAX]; /* the bytes before next_pc (the code may be gone when judged) */
  uint8_t ncode;
  bool held;        /* this access is the one whose thread was held */
  bool during_hold; /* it came while another thread was held at this location */
  uint8_t nframes, nlocks;
  uintptr_t frames[TRAP_FRAMES];
  uintptr_t locks[TRAP_LOCKS]; /* address | kind, as in race.h's lock records */
};

struct window {
  _Atomic uintptr_t addr;     /* the watched word; 0: closed, traps are ignored */
  _Atomic uint32_t ntraps;    /* traps claimed (may exceed the budget) */
  _Atomic uint32_t hits;      /* every trap, the ones from libc and the loader too */
  _Atomic uint32_t holder;    /* id of the held thread, 0 before a hold, HOLD_DONE after */
  _Atomic uint32_t handlers;  /* trap handlers inside this window now */
  _Atomic bool disabled_in_handler; /* window_full disabled the slot */
  bool hold_backoff_over;     /* the word's hold back-off is over (set before addr) */
  struct trap traps[MAX_TRAPS];
  int cand;                   /* the sampler's candidate index, -1 if none */
  uintptr_t watched;          /* the sampler's copy of addr, kept until the window is judged */
};

static struct window windows[CW_WATCH_SLOTS];
/* When this round's windows opened, and the time windows were open since the cost bound last
 * looked (under round_lock). */
static uint64_t windows_opened_ns, enabled_ns;
static _Atomic uint32_t sampler_wake; /* bumped when a window's budget is used up */
static _Atomic uint64_t next_hold_ns; /* holds before this time are skipped (duty bound) */

static cw_lock_t watch_lock = CW_LOCK_INIT;
static _Atomic int sampler_state; /* 0 not started, 1 running, 2 unavailable or off */
static bool heap_recorded_since_start;
static pid_t sampler_pid; /* the process sampling started in (a fork concwatch did not see
                           * through its fork wrapper, such as daemon()'s, has no sampler) */
static int slot_fd[CW_WATCH_SLOTS] = {-1, -1, -1, -1}; /* one inherited event per slot */
static uint64_t slot_identity[CW_WATCH_SLOTS];        /* what slot_fd referred to when opened */
static struct sigaction program_sigtrap;              /* what SIGTRAP did before us */
/* Our handler is installed: the program's sigaction(SIGTRAP) calls are redirected to
 * program_sigtrap (interpose/signal.c). concwatch's own calls happen while it is false. */
static _Atomic bool owns_sigtrap;

/* ---- the trap handler (async-signal context) ---- */

/* A hold starts only if the share of time spent holding stays under the option's bound. */
static bool may_hold(uint64_t now)
{
  uint64_t next = atomic_load_explicit(&next_hold_ns, memory_order_relaxed);
  if (now < next) {
    cw_stat_add(&cw_sample_stats.holds_skipped, 1);
    return false;
  }
  uint64_t hold = (uint64_t)cw_opt.race_sample_hold_us * 1000u;
  return atomic_compare_exchange_strong(&next_hold_ns, &next, now + hold * 100u / (uint64_t)cw_opt.race_sample_hold_percent);
}

static void record_stack(struct trap *tr, uintptr_t next_pc)
{
  struct cw_unwound frames[TRAP_FRAMES + 16];
  size_t n = cw_unwind(frames, CW_ARRAY_LEN(frames)), start = n;
  for (size_t i = 0; i < n; i++)
    if (frames[i].pc == next_pc) { /* the interrupted frame; above it: the handler */
      start = i;
      break;
    }
  size_t keep = 0;
  if (start == n) /* not found (no unwind info): at least the access itself */
    tr->frames[keep++] = next_pc;
  for (size_t i = start; i < n && keep < TRAP_FRAMES; i++)
    tr->frames[keep++] = frames[i].pc;
  tr->nframes = (uint8_t)keep;
}

static void record_locks(struct trap *tr, const struct cw_thread *t)
{
  uint8_t n = 0;
  for (uint32_t i = 0; i < t->nheld && n < TRAP_LOCKS; i++)
    if (!cw_held_waiting(t, &t->held[i]))
      tr->locks[n++] = (uintptr_t)t->held[i].lock | t->held[i].kind;
  tr->nlocks = n;
}

static void hold(struct window *w)
{
  uint64_t start = cw_now_ns();
  cw_sleep_until_ns(start + (uint64_t)cw_opt.race_sample_hold_us * 1000u);
  atomic_store(&w->holder, HOLD_DONE);
  cw_stat_add(&cw_sample_stats.holds, 1);
  cw_stat_add(&cw_sample_stats.hold_ns, cw_now_ns() - start);
}

static void wake_sampler(void)
{
  atomic_fetch_add(&sampler_wake, 1);
  cw_futex_wake_all(&sampler_wake);
}

/* A word touched so often that its window should end now. Each further access would only cost
 * a trap, so the trapping thread disables the slot itself: on a busy machine the sampler may
 * take milliseconds to be scheduled, hundreds of traps. The sampler closes the window. (The
 * sampler moves the slot again only once no handler is inside the window: this disable cannot
 * land on the next window.) */
static void window_full(struct window *w)
{
  int k = (int)(w - windows);
  int fd = __atomic_load_n(&slot_fd[k], __ATOMIC_RELAXED);
  if (fd >= 0 && cw_hwwatch_identity(fd) == slot_identity[k]) {
    uint64_t cpu = cw_sample_thread_cpu_ns();
    cw_hwwatch_disable(fd);
    atomic_store(&w->disabled_in_handler, true);
    cw_stat_add(&cw_sample_stats.handler_cpu_ns, cw_sample_thread_cpu_ns() - cpu);
  }
  wake_sampler();
}

/* Traps that are not recorded (libc's, beyond the budget) still cost a signal each: a word
 * that libc hammers (a statically initialized mutex) ends its window after this many. */
#define HIT_BUDGET_FACTOR 4

static void record_trap(struct window *w, struct cw_thread *t, const ucontext_t *uc)
{
  uintptr_t next_pc = (uintptr_t)uc->uc_mcontext.gregs[REG_RIP], lo, hi;
  if (atomic_fetch_add(&w->hits, 1) == (uint32_t)cw_opt.race_sample_traps * HIT_BUDGET_FACTOR)
    window_full(w);
  if (!cw_candidates_code_range(next_pc - 1, &lo, &hi))
    return; /* libc, the loader, concwatch: not the program's access */
  cw_stat_add(&cw_sample_stats.traps_program, 1);
  uint32_t i = atomic_fetch_add(&w->ntraps, 1);
  if (i >= (uint32_t)cw_opt.race_sample_traps) {
    if (i == (uint32_t)cw_opt.race_sample_traps)
      window_full(w);
    return;
  }
  cw_stat_add(&cw_sample_stats.traps_recorded, 1);
  struct trap *tr = &w->traps[i];
  tr->thread = t->id;
  tr->next_pc = next_pc;
  memcpy(tr->regs, uc->uc_mcontext.gregs, sizeof tr->regs);
  tr->ncode = (uint8_t)(next_pc - lo < CW_DECODE_MAX ? next_pc - lo : CW_DECODE_MAX);
  memcpy(tr->code, (const void *)(next_pc - tr->ncode), tr->ncode);
  uint32_t holder = atomic_load(&w->holder);
  tr->during_hold = holder != 0 && holder != HOLD_DONE && holder != t->id;
  uint32_t none = 0;
  tr->held = !holder && i >= LEARNING_TRAPS && w->hold_backoff_over && may_hold(cw_now_ns()) &&
             atomic_compare_exchange_strong(&w->holder, &none, t->id);
  if (tr->held || tr->during_hold) {
    uint64_t cpu = cw_sample_thread_cpu_ns();
    record_stack(tr, next_pc);
    record_locks(tr, t);
    cw_stat_add(&cw_sample_stats.handler_cpu_ns, cw_sample_thread_cpu_ns() - cpu);
  }
  atomic_store_explicit(&tr->done, 1, memory_order_release);
  if (tr->held)
    hold(w);
}

/* A SIGTRAP that is not a watchpoint's (an int3, raise(SIGTRAP)): what it would have done. */
static void other_sigtrap(int sig, siginfo_t *info, void *uctx)
{
  if (program_sigtrap.sa_flags & SA_SIGINFO) {
    if (program_sigtrap.sa_sigaction)
      program_sigtrap.sa_sigaction(sig, info, uctx);
  } else if (program_sigtrap.sa_handler == SIG_DFL) {
    signal(SIGTRAP, SIG_DFL); /* the default action ends the process (with a core) */
    raise(SIGTRAP);
  } else if (program_sigtrap.sa_handler != SIG_IGN) {
    program_sigtrap.sa_handler(sig);
  }
}

static void on_trap(int sig, siginfo_t *info, void *uctx)
{
  int k = cw_hwwatch_slot(info);
  if (k < 0) {
    other_sigtrap(sig, info, uctx);
    return;
  }
  int saved_errno = errno;
  struct cw_thread *t = cw_tls.thread; /* NULL in concwatch's own threads: ignored */
  if (t) {
    uint64_t start = cw_now_ns();
    struct window *w = &windows[k];
    atomic_fetch_add(&w->handlers, 1);
    /* si_addr is the word the slot watched at the trap (0 from a kernel that does not say):
     * a trap from the previous word, delivered after the slot moved on, is not this window's. */
    uintptr_t addr = atomic_load(&w->addr), trapped = (uintptr_t)info->si_addr;
    if (addr && (addr == trapped || !trapped))
      record_trap(w, t, uctx);
    else
      cw_stat_add(&cw_sample_stats.traps_closed, 1);
    atomic_fetch_sub(&w->handlers, 1);
    cw_stat_add(&cw_sample_stats.traps, 1);
    cw_stat_add(&cw_sample_stats.handler_ns, cw_now_ns() - start);
  }
  errno = saved_errno;
}

/* ---- the watchpoints: one event per slot, inherited by every thread ---- */

/* Open every slot in the calling thread, before it creates the program's first thread: all
 * threads then inherit them. 0, or the first error (-errno), with nothing left open. */
static int open_slots(void)
{
  for (int k = 0; k < cw_opt.race_sample_slots; k++) {
    int fd = cw_hwwatch_open(k);
    if (fd < 0) {
      while (k-- > 0) {
        cw_hwwatch_close(slot_fd[k]);
        slot_fd[k] = -1;
      }
      return fd;
    }
    slot_fd[k] = fd;
    slot_identity[k] = cw_hwwatch_identity(fd);
  }
  return 0;
}

/* Under watch_lock. */
static void arm_everywhere(int slot, uintptr_t addr)
{
  if (slot_fd[slot] < 0)
    return;
  if (cw_hwwatch_identity(slot_fd[slot]) != slot_identity[slot]) {
    slot_fd[slot] = -1; /* the program closed it (the number may be its file now): leave it */
    return;
  }
  uint64_t t0 = cw_now_ns();
  if (addr)
    cw_hwwatch_move(slot_fd[slot], slot, addr);
  else
    cw_hwwatch_disable(slot_fd[slot]);
  uint64_t spent = cw_now_ns() - t0;
  cw_stat_add(&cw_sample_stats.moves, 1);
  cw_stat_add(&cw_sample_stats.move_ns, spent);
}

/* ---- candidates: the words that may be watched ---- */

#define CAND_SYNC 1u     /* accessed atomically or polled: a synchronization variable */
#define CAND_REPORTED 2u /* a race was reported here */
#define CAND_SHARED 4u   /* seen accessed by two threads */

struct candidate {
  uintptr_t addr;
  uintptr_t block; /* heap: the block's start (checked alive before watching); 0: global */
  uint32_t next_round;
  uint32_t next_hold_round; /* before it, accesses to the word are not held */
  uint8_t flags, backoff, hold_backoff;
  UT_hash_handle hh;
};

#define MAX_CANDIDATES 65536
#define HOT_MAX 16
static struct candidate *cands;
static size_t ncands, cands_cap;
static struct candidate *cand_index; /* by addr */
static size_t cursor;
static int hot[HOT_MAX];
static size_t nhot;
static uint32_t round_no;
static uint64_t heap_cursor;

/* The index points into the array: it is cleared before entries move, and rebuilt after. */
static void index_all(void)
{
  for (size_t i = 0; i < ncands; i++)
    HASH_ADD(hh, cand_index, addr, sizeof cands[i].addr, &cands[i]);
}

/* The table is full: forget the words of heap blocks freed since (at most once a round; only
 * between rounds, when no window refers to a candidate by index). */
static bool compacted_this_round;

static void drop_freed_words(void)
{
  size_t kept = 0;
  HASH_CLEAR(hh, cand_index);
  for (size_t i = 0; i < ncands; i++)
    if (!cands[i].block || cw_heap_live(cands[i].block))
      cands[kept++] = cands[i];
  ncands = kept;
  index_all();
  nhot = 0;
  cursor = 0;
  compacted_this_round = true;
}

/* A forked child is a new phase of the program: what the parent's rounds learnt about each
 * word (watched often for nothing, held for nothing) must not keep the child from watching it. */
static void forget_candidate_history(void)
{
  for (size_t i = 0; i < ncands; i++) {
    cands[i].backoff = cands[i].hold_backoff = 0;
    cands[i].next_round = cands[i].next_hold_round = 0;
  }
  round_no = 0;
}

static void add_candidate(uintptr_t addr, uintptr_t block)
{
  addr &= ~(uintptr_t)7;
  if (ncands == MAX_CANDIDATES && !compacted_this_round)
    drop_freed_words();
  struct candidate *c;
  HASH_FIND(hh, cand_index, &addr, sizeof addr, c);
  if (c) {
    c->block = block; /* memory reused by a new block: its history starts again */
    if (block) {
      c->flags = 0;
      c->hold_backoff = 0;
      c->next_hold_round = 0;
    }
    c->backoff = 0;
    c->next_round = 0;
    return;
  }
  if (ncands == MAX_CANDIDATES)
    return;
  /* The array moves when it grows: rebuild the index over it. */
  if (ncands == cands_cap) {
    HASH_CLEAR(hh, cand_index);
    CW_GROW(cands, cands_cap, ncands + 1);
    index_all();
  }
  c = &cands[ncands++];
  memset(c, 0, sizeof *c);
  c->addr = addr;
  c->block = block;
  HASH_ADD(hh, cand_index, addr, sizeof c->addr, c);
}

/* The words of an object worth watching: all of a small one (a struct's fields), a spread of
 * a large one (an array). */
static void add_object(uintptr_t start, size_t size, uintptr_t block)
{
  uintptr_t first = start & ~(uintptr_t)7, end = start + size;
  size_t words = (end - first + 7) / 8;
  if (words <= 16) {
    for (size_t i = 0; i < words; i++)
      add_candidate(first + i * 8, block);
    return;
  }
  for (size_t i = 0; i < 8; i++)
    add_candidate(first + i * 8, block);
  for (size_t i = 1; i <= 8; i++)
    add_candidate(first + (words * i / 9) * 8, block);
}

static void add_globals(void)
{
  const struct cw_global *g;
  size_t n = cw_candidates_globals(&g);
  for (size_t i = 0; i < n; i++)
    add_object(g[i].addr, g[i].size, 0);
}

static void add_new_heap_blocks(void)
{
  struct cw_heap_block blocks[64];
  size_t n;
  while ((n = cw_heap_new_blocks(&heap_cursor, blocks, CW_ARRAY_LEN(blocks))) > 0)
    for (size_t i = 0; i < n; i++)
      add_object(blocks[i].addr, blocks[i].size, blocks[i].addr);
}

static size_t object_size(uint8_t kind)
{
  switch (kind) {
  case CW_OBJ_MUTEX: return sizeof(pthread_mutex_t);
  case CW_OBJ_RWLOCK: return sizeof(pthread_rwlock_t);
  case CW_OBJ_SPIN: return sizeof(pthread_spinlock_t);
  case CW_OBJ_SEM: return sizeof(sem_t);
  case CW_OBJ_COND: return sizeof(pthread_cond_t);
  default: return sizeof(pthread_barrier_t);
  }
}

/* Whether the word is part of a lock, semaphore, condition or barrier the program initialized:
 * only libc touches those, and they are synchronization, not data. */
static bool in_sync_object(uintptr_t addr)
{
  const size_t reach = 64; /* no pthread object is larger */
  if (!cw_objects_may_be_in((const void *)(addr - reach), reach + 8))
    return false;
  struct cw_object found[8];
  size_t n = cw_objects_in((const void *)(addr - reach), reach + 8, found, 8);
  for (size_t i = 0; i < n; i++)
    if (addr + 8 > found[i].addr && addr < found[i].addr + object_size(found[i].kind))
      return true;
  return false;
}

static bool watchable(const struct candidate *c)
{
  if (c->flags & (CAND_SYNC | CAND_REPORTED))
    return false;
  if (c->block && !cw_heap_live(c->block))
    return false;
  return !in_sync_object(c->addr);
}

static bool chosen_already(int idx, const int *chosen, int n)
{
  for (int i = 0; i < n; i++)
    if (chosen[i] == idx)
      return true;
  return false;
}

/* Up to `slots` candidates for this round: locations seen shared first, then the next ones
 * round-robin whose back-off has passed. */
static int choose(int *chosen, int slots)
{
  int n = 0;
  for (size_t i = 0; i < nhot && n < slots; i++) {
    struct candidate *c = &cands[hot[i]];
    if (c->next_round <= round_no && watchable(c) && !chosen_already(hot[i], chosen, n))
      chosen[n++] = hot[i];
  }
  for (size_t scanned = 0; scanned < ncands && scanned < 4096 && n < slots; scanned++) {
    size_t i = cursor++ % ncands;
    struct candidate *c = &cands[i];
    if (c->next_round <= round_no && watchable(c) && !chosen_already((int)i, chosen, n))
      chosen[n++] = (int)i;
  }
  return n;
}

static void mark_hot(int idx)
{
  for (size_t i = 0; i < nhot; i++)
    if (hot[i] == idx)
      return;
  if (nhot < HOT_MAX)
    hot[nhot++] = idx;
  else
    hot[round_no % HOT_MAX] = idx;
}

/* ---- judging a window ---- */

struct access {
  const struct trap *trap;
  struct cw_access_kind kind;
};

/* Where the instruction before a trap address starts, by that address: a hot loop traps at the
 * same few places window after window. Only decodings confirmed by the operand's address are
 * kept; the address itself is computed again from each trap's registers. */
struct decoded {
  uintptr_t next_pc;
  size_t len;
  UT_hash_handle hh;
};
static struct decoded *decoded_cache;
static size_t ndecoded;

static void classify(const struct trap *tr, uintptr_t watched, struct access *a)
{
  a->trap = tr;
  struct decoded *d;
  HASH_FIND(hh, decoded_cache, &tr->next_pc, sizeof tr->next_pc, d);
  if (d) {
    cw_decode_access_known(tr->code, tr->ncode, tr->next_pc, d->len, watched, tr->regs, &a->kind);
    return;
  }
  cw_decode_access(tr->code, tr->ncode, tr->next_pc, watched, tr->regs, &a->kind);
  if (a->kind.address_matched && ndecoded < 65536) {
    d = cw_alloc(sizeof *d);
    d->next_pc = tr->next_pc;
    d->len = tr->next_pc - a->kind.pc;
    HASH_ADD(hh, decoded_cache, next_pc, sizeof d->next_pc, d);
    ndecoded++;
  }
}

static cw_stack_id intern_access(const struct access *a)
{
  uintptr_t pcs[TRAP_FRAMES + 1 + TRAP_LOCKS];
  size_t n = 0;
  for (size_t i = 0; i < a->trap->nframes; i++)
    pcs[n++] = a->trap->frames[i];
  if (n)
    pcs[0] = a->kind.pc + 1; /* frames are symbolized as return addresses (pc - 1) */
  if (a->trap->nlocks)
    pcs[n++] = CW_RACE_LOCKS_MARK;
  for (size_t i = 0; i < a->trap->nlocks; i++)
    pcs[n++] = a->trap->locks[i];
  return cw_stack_intern(pcs, n);
}

static void report(const struct access *earlier, const struct access *later)
{
  struct cw_race_finding f = {0};
  f.addr = later->kind.address;
  uint8_t earlier_size = earlier->kind.size ? earlier->kind.size : 8, later_size = later->kind.size ? later->kind.size : 8;
  f.size = later_size;
  f.sampled = true;
  f.previous = (struct cw_race_access){earlier->trap->thread, earlier->kind.write, false, earlier_size,
                                       intern_access(earlier)};
  f.current = (struct cw_race_access){later->trap->thread, later->kind.write, false, later_size, intern_access(later)};
  cw_report_race(&f);
}

/* An access whose instruction was decoded and whose operand, computed from the trap's
 * registers, is the watched word. Others (a signal delivered late, after the thread moved on;
 * an instruction that overwrote its own base register) are not used to judge anything. */
static bool known(const struct access *a) { return a->kind.decoded && a->kind.address_matched; }

/* Both touch at least one common byte: two fields sharing an 8-byte word do not race. */
static bool overlap(const struct access *a, const struct access *b)
{
  return a->kind.address < b->kind.address + b->kind.size && b->kind.address < a->kind.address + a->kind.size;
}

/* Two reads of the location by the same instruction in a row, with no write of that thread
 * between: the code re-reads it on purpose, i.e. it polls a flag that another thread sets
 * (compilers re-read memory in a loop only for atomic or volatile objects). */
static bool polled(const struct access *acc, size_t n)
{
  for (size_t i = 0; i < n; i++)
    for (size_t j = i + 1; j < n; j++) {
      if (acc[j].trap->thread != acc[i].trap->thread || !known(&acc[j]))
        continue;
      if (!known(&acc[i]))
        break;
      if (!acc[i].kind.write && !acc[j].kind.write && acc[i].kind.pc == acc[j].kind.pc)
        return true;
      break; /* only the thread's next access counts */
    }
  return false;
}

/* Rule 1-4 for the window whose access acc[held] was held: a report if another thread's
 * access came during the hold. */
static bool report_if_caught(struct candidate *c, const struct access *acc, size_t count, size_t held)
{
  if ((c->flags & CAND_SYNC) || !known(&acc[held]))
    return false;
  for (size_t i = 0; i < count; i++) {
    const struct access *a = &acc[i];
    if (a->trap->during_hold && known(a) && overlap(a, &acc[held]) && (a->kind.write || acc[held].kind.write)) {
      c->flags |= CAND_REPORTED;
      report(&acc[held], a);
      return true;
    }
  }
  return false;
}

/* A hold that caught nothing: the word's accesses are held again only after 2, 4 ... 64
 * rounds. A word only one thread uses, or one a lock protects, then costs few holds (each
 * stops a thread, and whoever waits for it, for race_sample_hold_us); a racy word is usually
 * caught by its first hold. */
#define HOLD_BACKOFF_MAX 5

static void hold_missed(struct candidate *c)
{
  c->next_hold_round = round_no + (2u << c->hold_backoff);
  if (c->hold_backoff < HOLD_BACKOFF_MAX)
    c->hold_backoff++;
}

static void judge(struct window *w, uintptr_t addr, struct candidate *c, int idx)
{
  uint32_t n = atomic_load(&w->ntraps);
  if (n > (uint32_t)cw_opt.race_sample_traps)
    n = (uint32_t)cw_opt.race_sample_traps;
  struct access acc[MAX_TRAPS];
  size_t count = 0;
  int held = -1;
  uint32_t first_thread = 0;
  bool shared = false;
  for (uint32_t i = 0; i < n; i++) {
    const struct trap *tr = &w->traps[i];
    if (!atomic_load_explicit(&tr->done, memory_order_acquire))
      continue;
    classify(tr, addr, &acc[count]);
    if (acc[count].kind.atomic && known(&acc[count]))
      c->flags |= CAND_SYNC;
    if (!first_thread)
      first_thread = tr->thread;
    else if (tr->thread != first_thread)
      shared = true;
    if (tr->held)
      held = (int)count;
    count++;
  }
  if (count == 0)
    c->next_round = round_no + (1u << (c->backoff < 8 ? c->backoff++ : 8));
  else if (!shared)
    c->next_round = round_no + (1u << (c->backoff < 5 ? c->backoff++ : 5));
  else {
    c->flags |= CAND_SHARED;
    c->next_round = round_no + 1;
    mark_hot(idx);
  }
  if (count && polled(acc, count))
    c->flags |= CAND_SYNC;
  if (held >= 0 && !report_if_caught(c, acc, count, (size_t)held))
    hold_missed(c);
}

/* ---- windows ---- */

static void reset_window(struct window *w)
{
  for (int i = 0; i < MAX_TRAPS; i++)
    atomic_store(&w->traps[i].done, 0);
  atomic_store(&w->ntraps, 0);
  atomic_store(&w->hits, 0);
  atomic_store(&w->disabled_in_handler, false);
  atomic_store(&w->holder, 0);
  w->cand = -1;
}

/* Choose this round's locations and watch them in every thread. */
static int open_windows(void)
{
  compacted_this_round = false;
  add_new_heap_blocks();
  int chosen[CW_WATCH_SLOTS];
  int n = choose(chosen, (int)cw_opt.race_sample_slots);
  cw_stat_add(&cw_sample_stats.rounds, 1);
  cw_stat_add(&cw_sample_stats.windows, (uint64_t)n);
  cw_lock_acquire(&watch_lock);
  for (int k = 0; k < n; k++) {
    struct window *w = &windows[k];
    struct candidate *c = &cands[chosen[k]];
    arm_everywhere(k, c->addr); /* before addr: a late trap of the last word is not this window's */
    reset_window(w);
    w->cand = chosen[k];
    w->watched = c->addr;
    w->hold_backoff_over = c->next_hold_round <= round_no;
    atomic_store(&w->addr, c->addr);
  }
  windows_opened_ns = n ? cw_now_ns() : 0;
  cw_lock_release(&watch_lock);
  return n;
}

static bool slot_holding(int k)
{
  uint32_t h = atomic_load(&windows[k].holder);
  return h && h != HOLD_DONE;
}

static bool held_this_round(void)
{
  for (int k = 0; k < CW_WATCH_SLOTS; k++)
    if (atomic_load(&windows[k].holder) == HOLD_DONE)
      return true;
  return false;
}

static bool holding(void)
{
  for (int k = 0; k < CW_WATCH_SLOTS; k++)
    if (slot_holding(k))
      return true;
  return false;
}

static bool slot_full(int k)
{
  return atomic_load(&windows[k].ntraps) >= (uint32_t)cw_opt.race_sample_traps ||
         atomic_load(&windows[k].hits) >= (uint32_t)cw_opt.race_sample_traps * HIT_BUDGET_FACTOR;
}

/* Stop watching the slot's word in every thread (its records stay until it is judged). An
 * enabled watchpoint makes every context switch of a watched thread dearer (its debug registers
 * are saved and loaded): slots stay disabled between windows. */
static void retire(int k)
{
  struct window *w = &windows[k];
  cw_lock_acquire(&watch_lock);
  if (atomic_exchange(&w->addr, 0) && !atomic_load(&w->disabled_in_handler))
    arm_everywhere(k, 0);
  cw_lock_release(&watch_lock);
}

/* Stop watching; wait for handlers still inside (a held thread) before reading the records. */
/* How long a handler may stay inside a window: its hold, and then some. A handler that never
 * comes back (it cannot be interrupted by the program's handlers, so this should not happen)
 * makes concwatch stop sampling rather than wait forever. */
static uint64_t handler_deadline(void) { return cw_now_ns() + (uint64_t)cw_opt.race_sample_hold_us * 4000u + 200000000u; }

static bool stopped; /* sampling is over: the process is exiting, or a handler got stuck */

/* false if a handler is still inside after the deadline. */
static bool close_windows(void)
{
  for (int k = 0; k < CW_WATCH_SLOTS; k++)
    retire(k);
  if (windows_opened_ns)
    enabled_ns += cw_now_ns() - windows_opened_ns;
  windows_opened_ns = 0;
  uint64_t deadline = handler_deadline();
  for (int k = 0; k < CW_WATCH_SLOTS; k++)
    while (atomic_load(&windows[k].handlers)) {
      if (cw_now_ns() > deadline)
        return false;
      cw_sleep_until_ns(cw_now_ns() + 50000);
    }
  return true;
}

/* Rounds and the exit flush both close and judge windows: one at a time. */
static cw_lock_t round_lock = CW_LOCK_INIT;

static void wait_for_window_end(uint64_t start)
{
  uint64_t window = (uint64_t)cw_opt.race_sample_window_ms * 1000000u;
  uint64_t give_up = start + window + (handler_deadline() - cw_now_ns());
  for (;;) { /* until the window is over (or a budget used up) and nobody is held */
    uint64_t now = cw_now_ns();
    if ((now >= start + window && !holding()) || now > give_up)
      break;
    uint32_t seen = atomic_load(&sampler_wake);
    int open = 0;
    for (int k = 0; k < CW_WATCH_SLOTS; k++) {
      if (atomic_load(&windows[k].addr) && slot_full(k) && !slot_holding(k))
        retire(k); /* a hot word: each further access would only cost a signal */
      open += atomic_load(&windows[k].addr) != 0;
    }
    if (!open && !holding())
      break;
    cw_futex_wait_ns(&sampler_wake, seen, now < start + window ? start + window - now : 100000);
    cw_stat_add(&cw_sample_stats.wakeups, 1);
  }
  /* A moment for the held thread to access again after its release (a polling loop's next
   * read is what clears a flag of suspicion). */
  if (held_this_round())
    cw_sleep_until_ns(cw_now_ns() + 100000);
}

/* Under round_lock. */
static void close_and_judge(void)
{
  if (!close_windows()) {
    stopped = true; /* the records may still change: judge nothing, watch nothing more */
    return;
  }
  for (int k = 0; k < CW_WATCH_SLOTS; k++) {
    struct window *w = &windows[k];
    if (w->watched && w->cand >= 0)
      judge(w, w->watched, &cands[w->cand], w->cand);
    w->watched = 0;
  }
  round_no++;
}

/* Libraries loaded since the start: their code and globals. */
static void rescan_modules(void)
{
  const struct cw_global *g;
  size_t before = cw_candidates_globals(&g);
  cw_candidates_scan_modules();
  size_t after = cw_candidates_globals(&g);
  for (size_t i = before; i < after; i++)
    add_object(g[i].addr, g[i].size, 0);
}

/* ---- the cost bound ---- */

/* What one trap costs the thread that made the access (the debug exception, the signal, the
 * handler, sigreturn): measured when sampling starts. */
#define TRAP_COST_UNMEASURED_NS 5000u
static uint64_t trap_cost_ns = TRAP_COST_UNMEASURED_NS;

/* Writes to a word of concwatch's own while slot 0 watches it (its window is closed, so the
 * handler takes its shortest path), each timed; the median is the cost of a trap. */
static volatile uint64_t calibration_word;

static void measure_trap_cost(void)
{
  enum { WRITES = 5 };
  if (slot_fd[0] < 0 || cw_hwwatch_move(slot_fd[0], 0, (uintptr_t)&calibration_word) != 0)
    return;
  uint64_t spent[WRITES];
  for (int i = 0; i < WRITES; i++) {
    uint64_t t0 = cw_now_ns();
    calibration_word = (uint64_t)i;
    spent[i] = cw_now_ns() - t0;
  }
  cw_hwwatch_disable(slot_fd[0]);
  for (int i = 1; i < WRITES; i++) /* insertion sort, for the median */
    for (int j = i; j > 0 && spent[j] < spent[j - 1]; j--) {
      uint64_t tmp = spent[j];
      spent[j] = spent[j - 1];
      spent[j - 1] = tmp;
    }
  trap_cost_ns = spent[WRITES / 2];
  cw_sample_stats.trap_cost_ns = trap_cost_ns;
}

/* A context switch of a thread whose watchpoints are enabled costs this much more than one
 * whose watchpoints are disabled (the debug registers are written at each switch; measured on
 * the development VM, 1.7 us with one slot enabled and 2.3 us with four, by a pipe ping-pong
 * between two threads; a disabled event adds about 0.25 us, whatever sampling does). */
#define ENABLED_SWITCH_COST_NS 2000u

/* Context switches of the process, the sampler's own left out. */
static uint64_t program_context_switches(void)
{
  struct rusage all, mine;
  if (getrusage(RUSAGE_SELF, &all) != 0 || getrusage(RUSAGE_THREAD, &mine) != 0)
    return 0;
  return (uint64_t)(all.ru_nvcsw + all.ru_nivcsw) - (uint64_t)(mine.ru_nvcsw + mine.ru_nivcsw);
}

/* The counters as the last round read them (a forked child starts from zero: its sampler
 * thread's CPU clock and its statistics are its own). */
static struct {
  uint64_t switches, ns, cpu, traps, handler_cpu, hold;
} last;

/* The switches made since the last call, times the share of that time with windows open. */
static uint64_t switch_cost_since_last_round(uint64_t now)
{
  uint64_t switches = program_context_switches(), elapsed = now - last.ns;
  uint64_t during = switches > last.switches ? switches - last.switches : 0;
  uint64_t cost = elapsed ? (uint64_t)((double)during * (double)enabled_ns / (double)elapsed * ENABLED_SWITCH_COST_NS) : 0;
  last.switches = switches;
  last.ns = now;
  enabled_ns = 0;
  return cost;
}

/* What sampling cost the program since the last call, in ns: the sampler thread's CPU time
 * (which includes waiting for the interrupts a move sends to the CPUs running watched threads),
 * trap_cost_ns per trap, the handler's CPU time on its slow paths (stacks, disabling a slot),
 * the time threads were held, and the dearer context switches while windows were open. CPU
 * times, not wall times: a thread that the scheduler preempts on a busy machine did not cost
 * sampling anything. */
static uint64_t cost_since_last_round(void)
{
  struct cw_sample_stats *st = &cw_sample_stats;
  uint64_t switch_cost = switch_cost_since_last_round(cw_now_ns());
  cw_stat_add(&st->switch_cost_ns, switch_cost);
  uint64_t cpu = cw_sample_thread_cpu_ns();
  uint64_t traps = atomic_load_explicit(&st->traps, memory_order_relaxed);
  uint64_t handler_cpu = atomic_load_explicit(&st->handler_cpu_ns, memory_order_relaxed);
  uint64_t hold = atomic_load_explicit(&st->hold_ns, memory_order_relaxed);
  atomic_store_explicit(&st->sampler_cpu_ns, cpu, memory_order_relaxed);
  uint64_t cost = (cpu - last.cpu) + (traps - last.traps) * trap_cost_ns + (handler_cpu - last.handler_cpu) +
                  (hold - last.hold) + switch_cost;
  last.cpu = cpu;
  last.traps = traps;
  last.handler_cpu = handler_cpu;
  last.hold = hold;
  return cost;
}

/* How long rounds last now: race_sample_period_ms, or longer under the cost bound. */
static uint64_t round_ns;

/* A period after `start`, or later if that is what keeps sampling's cost within
 * race_sample_budget_percent of the time (busy words, many threads to interrupt). */
static uint64_t next_round_start(uint64_t start)
{
  uint64_t period = (uint64_t)cw_opt.race_sample_period_ms * 1000000u;
  uint64_t bounded = cost_since_last_round() * 100u / (uint64_t)cw_opt.race_sample_budget_percent;
  round_ns = period > bounded ? period : bounded;
  return start + round_ns;
}

/* Rounds that found no word due (every candidate backing off, as in a program whose data is
 * private or idle) come further apart, up to this many periods, each counted as a round (the
 * back-offs keep their length in time): the sampler's wake-ups cost the program's CPUs too. */
#define IDLE_ROUNDS_MAX 8
static uint32_t idle_rounds = 1;

static uint64_t after_idle_rounds(uint64_t start, bool opened)
{
  if (opened) {
    idle_rounds = 1;
    return start;
  }
  uint32_t skipped = idle_rounds - 1;
  round_no += skipped;
  if (idle_rounds < IDLE_ROUNDS_MAX)
    idle_rounds *= 2;
  return start + skipped * round_ns;
}

/* One round: the windows opened at `start` are judged, the next ones open a period later.
 * *opened: whether this round watched anything, then whether the next one does. */
static bool run_round(uint64_t start, bool *opened)
{
  static uint32_t rescanned_at;
  wait_for_window_end(start);
  cw_lock_acquire(&round_lock);
  if (!stopped)
    close_and_judge();
  cw_lock_release(&round_lock);
  cw_sleep_until_ns(after_idle_rounds(next_round_start(start), *opened));
  cw_lock_acquire(&round_lock);
  bool go_on = !stopped;
  if (go_on) {
    if (round_no - rescanned_at >= 256) {
      rescan_modules();
      rescanned_at = round_no;
    }
    *opened = open_windows() > 0;
  }
  cw_lock_release(&round_lock);
  return go_on;
}

static void *sampler_main(void *arg)
{
  (void)arg;
  cw_runtime_enter(); /* this thread is concwatch's: never tracked */
  cw_internal_thread_started();
  prctl(PR_SET_NAME, "concwatch-samp", 0, 0, 0);
  bool opened = true; /* the first round was opened by start_sampling */
  while (run_round(cw_now_ns(), &opened)) {
  }
  cw_internal_thread_ended();
  return NULL;
}

/* ---- life cycle ---- */

/* SIGTRAP is the program's to use: with a handler of its own there, sampling stays off. */
static const char *install_handler(void)
{
  struct sigaction sa, old;
  if (sigaction(CW_WATCH_SIGNAL, NULL, &old) != 0)
    return "SIGTRAP cannot be handled";
  bool ours = (old.sa_flags & SA_SIGINFO) && old.sa_sigaction == on_trap; /* a forked child */
  if (!ours && ((old.sa_flags & SA_SIGINFO) ? old.sa_sigaction != NULL : old.sa_handler != SIG_DFL))
    return "the program handles SIGTRAP itself";
  if (!ours)
    program_sigtrap = old;
  memset(&sa, 0, sizeof sa);
  sa.sa_sigaction = on_trap;
  sa.sa_flags = SA_SIGINFO | SA_RESTART;
  /* Nothing of the program's may run on top of a held thread: a handler that longjmps or
   * exits would leave the window held forever. */
  sigfillset(&sa.sa_mask);
  if (sigaction(CW_WATCH_SIGNAL, &sa, NULL) != 0)
    return "SIGTRAP cannot be handled";
  atomic_store(&owns_sigtrap, true);
  return NULL;
}

bool cw_sample_owns_sigtrap(void) { return atomic_load_explicit(&owns_sigtrap, memory_order_acquire); }

/* The program's sigaction(SIGTRAP, ...) while sampling owns it. The disposition is two words
 * updated together; a SIGTRAP arriving during the update sees the old or the new handler. */
void cw_sample_program_sigtrap(const struct sigaction *act, struct sigaction *old)
{
  struct sigaction previous = program_sigtrap;
  if (act)
    program_sigtrap = *act;
  if (old)
    *old = previous;
}

static void restore_handler(void)
{
  atomic_store(&owns_sigtrap, false);
  struct sigaction old;
  if (sigaction(CW_WATCH_SIGNAL, NULL, &old) == 0 && (old.sa_flags & SA_SIGINFO) && old.sa_sigaction == on_trap)
    sigaction(CW_WATCH_SIGNAL, &program_sigtrap, NULL);
}

void cw_sample_startup(void)
{
  if (!cw_opt.race_sampling)
    return;
  if (cw_candidates_scan_modules())
    cw_heap_tracking = true;
  heap_recorded_since_start = cw_heap_tracking;
}

/* A debugger (or strace) sees every SIGTRAP first: gdb would stop at each watchpoint hit. */
static bool traced(void)
{
  int fd = open("/proc/self/status", O_RDONLY | O_CLOEXEC);
  if (fd < 0)
    return false;
  char buf[4096];
  ssize_t n = read(fd, buf, sizeof buf - 1);
  close(fd);
  if (n <= 0)
    return false;
  buf[n] = 0;
  const char *p = strstr(buf, "TracerPid:");
  return p && atoi(p + 10) != 0;
}

static void say_off(const char *why)
{
  char msg[256];
  snprintf(msg, sizeof msg, "race sampling is off: %s; the other detectors keep running", why);
  cw_report_warning(msg);
}

static void start_sampling(void)
{
  /* Instrumented programs have the complete detector (src/race). */
  if (cw_race_enabled || !heap_recorded_since_start) {
    cw_heap_tracking = false;
    return;
  }
  const char *why = traced() ? "a debugger or tracer is attached (it would stop at every watchpoint hit)"
                   : !cw_decode_init() ? "the instruction decoder (capstone) could not be set up"
                                       : install_handler();
  if (!why) {
    int err = open_slots();
    if (err < 0) {
      restore_handler();
      why = cw_hwwatch_why(-err);
    }
  }
  if (why) {
    cw_heap_tracking = false;
    say_off(why);
    return;
  }
  measure_trap_cost();
  add_globals();
  for (int k = 0; k < CW_WATCH_SLOTS; k++)
    reset_window(&windows[k]);
  sampler_pid = getpid();
  open_windows(); /* the first round starts now: a short program may be over in a millisecond */
  if (cw_spawn_internal(sampler_main, NULL) != 0) {
    say_off("its thread could not be started");
    close_windows();
    cw_heap_tracking = false;
  }
}

void cw_sample_thread_creating(void)
{
  if (!cw_opt.race_sampling)
    return;
  int state = atomic_load_explicit(&sampler_state, memory_order_relaxed);
  if (state == 1 && getpid() != sampler_pid)
    cw_sample_postfork(1); /* forked without concwatch's wrapper: start afresh here */
  else if (state)
    return;
  int expected = 0;
  if (!atomic_compare_exchange_strong(&sampler_state, &expected, 1))
    return;
  int saved_errno = errno;
  cw_runtime_enter();
  cw_sample_stats.started_ns = cw_now_ns();
  start_sampling();
  cw_sample_stats.start_cost_ns = cw_now_ns() - cw_sample_stats.started_ns;
  if (!cw_heap_tracking)
    atomic_store(&sampler_state, 2);
  cw_runtime_leave();
  errno = saved_errno;
}

void cw_sample_at_exit(void)
{
  if (atomic_load(&sampler_state) != 1 || getpid() != sampler_pid)
    return;
  cw_runtime_enter();
  /* The sampler thread may be judging (a report takes a moment); never wait without bound. */
  uint64_t deadline = handler_deadline();
  bool locked;
  while (!(locked = cw_lock_try_acquire(&round_lock)) && cw_now_ns() < deadline)
    cw_sleep_until_ns(cw_now_ns() + 1000000);
  if (locked) {
    if (!stopped) {
      close_and_judge();
      stopped = true;
    }
    cw_lock_release(&round_lock);
  }
  if (cw_opt.race_sample_stats)
    cw_sample_stats_print();
  cw_runtime_leave();
}

bool cw_sample_find_block(uintptr_t addr, uintptr_t *start, size_t *size, uintptr_t *alloc_pc)
{
  return cw_heap_tracking && cw_heap_find(addr, start, size, alloc_pc);
}

/* Rounds first (a round takes watch_lock inside): the child must not inherit a round half done. */
void cw_sample_prefork(void)
{
  cw_lock_acquire(&round_lock);
  cw_lock_acquire(&watch_lock);
}

void cw_sample_postfork(int in_child)
{
  if (!in_child) {
    cw_lock_release(&watch_lock);
    cw_lock_release(&round_lock);
    return;
  }
  /* The child has one thread, no sampler and no watchpoint (events are not inherited across
   * fork); the fds are the parent's events. */
  cw_lock_reset(&watch_lock);
  cw_lock_reset(&round_lock);
  stopped = false;
  atomic_store(&owns_sigtrap, false); /* our handler stays installed until sampling restarts */
  for (int k = 0; k < CW_WATCH_SLOTS; k++)
    if (slot_fd[k] >= 0) {
      cw_hwwatch_close(slot_fd[k]);
      slot_fd[k] = -1;
    }
  for (int k = 0; k < CW_WATCH_SLOTS; k++) {
    atomic_store(&windows[k].addr, 0);
    atomic_store(&windows[k].handlers, 0);
  }
  if (atomic_load(&sampler_state) == 1)
    atomic_store(&sampler_state, 0); /* a thread created in the child starts it again */
  next_hold_ns = 0;
  forget_candidate_history();
  memset(&last, 0, sizeof last);
  memset(&cw_sample_stats, 0, sizeof cw_sample_stats);
}
