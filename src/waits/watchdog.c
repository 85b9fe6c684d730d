/* The deadlock watchdog: a thread of concwatch's own that wakes a few times per
 * deadlock_timeout_ms, finds threads that have been blocked without interruption for at least
 * that long, and decides whether any of them can never go on:
 *   - lock-cycle: blocked threads each waiting for a lock that the next one holds;
 *   - holder-gone: waiting for a lock held by a thread that no longer exists;
 *   - all-threads-blocked: every thread of the process waits for something only another
 *     thread of the process could do.
 * A lock that changes hands is progress: a waiter's sequence number moves when it gets the lock,
 * and a holder that is not itself blocked can still release. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdatomic.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "../lockorder/held.h"
#include "../report/report.h"
#include "../runtime/alloc.h"
#include "../runtime/objects.h"
#include "../runtime/options.h"
#include "../stack/stack.h"
#include "waits.h"

#define MAX_WAITERS 64
#define UNWIND_MAX 128

static _Atomic int watchdog_state; /* 0 not started, 1 running */
static pid_t watchdog_tid;


/* ---- what the watchdog knows of each thread between ticks ---- */

struct seen {
  uint64_t seq;
  uint64_t since_ns;
  uint64_t reported_seq; /* with deadlock_action=report: do not report the same wait twice */
};
static struct seen *seen;
static uint32_t seen_cap;

/* A blocked thread as the analysis sees it. */
struct blocked {
  struct cw_thread *t;
  uint64_t seq;
  struct cw_wait wait;
  struct cw_held lock;   /* the pending entry, for lock waits */
  bool is_lock;
  struct cw_thread *holders[4];
  struct cw_held holder_entry[4];
  size_t nholders;
  bool holder_gone;
  int next;              /* index of a blocked holder (cycle search), -1 */
};

/* ---- reading other threads' state (they keep running; see docs/design.md) ---- */

/* The thread's top entry, if it is a request: the thread waits for that lock, or (a default
 * mutex from the fast path) may have got it already, which cw_held_waiting tells. */
static bool top_requested(struct cw_thread *t, struct cw_held *out)
{
  struct cw_held *held = __atomic_load_n(&t->held, __ATOMIC_ACQUIRE);
  uint32_t n = __atomic_load_n(&t->nheld, __ATOMIC_ACQUIRE);
  if (!held || n == 0)
    return false;
  *out = held[n - 1];
  return (out->flags & CW_HELD_PENDING) != 0;
}

/* Only for threads already seen in the same blocking call for a while: the owner field of a
 * fast-path mutex is read then, not from every running thread at every tick. */
static bool top_waiting(struct cw_thread *t, struct cw_held *out)
{
  return top_requested(t, out) && cw_held_waiting(t, out);
}

static bool is_waiting(struct cw_thread *t)
{
  struct cw_held top;
  return top_waiting(t, &top) || __atomic_load_n(&t->wait.kind, __ATOMIC_ACQUIRE) != CW_WAIT_NONE;
}

/* Does u hold `lock` in a way that blocks a request in `mode`? */
static bool holds_blocking(struct cw_thread *u, const void *lock, uint8_t mode, struct cw_held *entry)
{
  struct cw_held *held = __atomic_load_n(&u->held, __ATOMIC_ACQUIRE);
  uint32_t n = __atomic_load_n(&u->nheld, __ATOMIC_ACQUIRE);
  for (uint32_t i = 0; held && i < n; i++) {
    if (held[i].lock != lock || cw_held_waiting(u, &held[i]))
      continue;
    if (mode == CW_MODE_READ && held[i].mode == CW_MODE_READ)
      continue; /* readers share */
    *entry = held[i];
    return true;
  }
  return false;
}

struct holder_search {
  struct blocked *b;
};

static void find_holders_cb(struct cw_thread *u, void *arg)
{
  struct blocked *b = arg;
  if (b->nholders == CW_ARRAY_LEN(b->holders))
    return;
  if (!u->alive && !u->exited_holding)
    return;
  struct cw_held entry;
  if (holds_blocking(u, b->lock.lock, b->lock.mode, &entry)) {
    b->holders[b->nholders] = u;
    b->holder_entry[b->nholders++] = entry;
    /* Anyone may post a semaphore: a dead "holder" of one proves nothing. */
    if (!u->alive && b->lock.kind != CW_LOCK_SEM)
      b->holder_gone = true;
  }
}

/* glibc records the owner of a mutex: it names holders concwatch did not see take it. */
static void find_mutex_owner_cb(struct cw_thread *u, void *arg)
{
  struct blocked *b = arg;
  pid_t owner = cw_mutex_owner(b->lock.lock);
  if (owner == 0 || u->tid != owner || b->nholders)
    return;
  if (u->alive && u->tid == cw_gettid())
    return;
  b->holders[0] = u;
  b->holder_entry[0] = (struct cw_held){.lock = b->lock.lock};
  b->nholders = 1;
  b->holder_gone = !u->alive;
}

/* ---- one tick ---- */

struct tick {
  uint64_t now;
  struct blocked blocked[MAX_WAITERS];
  size_t nblocked;
  size_t nalive;
  bool someone_free; /* an alive thread that is not blocked forever (running, I/O, timed...) */
};

static void observe_cb(struct cw_thread *t, void *arg)
{
  struct tick *k = arg;
  if (!t->alive)
    return;
  k->nalive++;
  CW_GROW(seen, seen_cap, t->id + 1);
  struct seen *s = &seen[t->id];
  uint64_t seq = __atomic_load_n(&t->wait_seq, __ATOMIC_ACQUIRE);
  struct cw_held top;
  if (!top_requested(t, &top) && __atomic_load_n(&t->wait.kind, __ATOMIC_ACQUIRE) == CW_WAIT_NONE) {
    s->seq = seq;
    s->since_ns = k->now;
    k->someone_free = true;
    return;
  }
  if (s->seq != seq) {
    s->seq = seq;
    s->since_ns = k->now;
  }
  if (k->now - s->since_ns < (uint64_t)cw_opt.deadlock_timeout_ms * 1000000u ||
      s->reported_seq == seq || k->nblocked == MAX_WAITERS || !is_waiting(t)) {
    k->someone_free = true;
    return;
  }
  struct blocked *b = &k->blocked[k->nblocked];
  memset(b, 0, sizeof *b);
  b->t = t;
  b->seq = seq;
  b->next = -1;
  b->is_lock = top_waiting(t, &b->lock);
  if (b->is_lock)
    b->wait = (struct cw_wait){.kind = CW_WAIT_LOCK, .timed = (b->lock.flags & CW_HELD_TIMED) != 0,
                               .object = b->lock.lock, .pc = b->lock.pc, .sp = b->lock.sp};
  else
    b->wait = t->wait;
  if (b->wait.kind == CW_WAIT_NONE || b->wait.timed || b->wait.shared) {
    k->someone_free = true; /* it will end by itself, or another process could end it */
    return;
  }
  k->nblocked++;
}

static int index_of(struct tick *k, struct cw_thread *t)
{
  for (size_t i = 0; i < k->nblocked; i++)
    if (k->blocked[i].t == t)
      return (int)i;
  return -1;
}

/* Semaphore waits count as lock waits while some thread holds the semaphore as a lock. */
static void resolve_holders(struct tick *k)
{
  for (size_t i = 0; i < k->nblocked; i++) {
    struct blocked *b = &k->blocked[i];
    if (!b->is_lock)
      continue;
    cw_threads_foreach(find_holders_cb, b);
    if (!b->nholders && b->lock.kind == CW_LOCK_MUTEX)
      cw_threads_foreach(find_mutex_owner_cb, b);
    if (b->lock.kind == CW_LOCK_SEM && !b->nholders) {
      b->is_lock = false;
      b->wait.kind = CW_WAIT_SEM;
      b->wait.object = b->lock.lock;
      if (cw_object_is_shared(b->lock.lock))
        b->wait.shared = true;
    } else if (cw_object_is_shared(b->lock.lock)) {
      b->wait.shared = true;
    }
    for (size_t h = 0; h < b->nholders && b->next < 0; h++)
      b->next = index_of(k, b->holders[h]);
  }
}

/* Threads of the process concwatch does not know (created by raw clone, or before it loaded
 * and silent since): with those around, "every thread is blocked" cannot be claimed. */
static size_t os_thread_count(void)
{
  int fd = open("/proc/self/task", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0)
    return 0;
  char buf[4096];
  size_t count = 0;
  for (;;) {
    long n = syscall(SYS_getdents64, fd, buf, sizeof buf);
    if (n <= 0)
      break;
    for (long off = 0; off < n;) {
      struct dirent64 *d = (struct dirent64 *)(buf + off);
      if (d->d_name[0] != '.')
        count++;
      off += d->d_reclen;
    }
  }
  close(fd);
  return count;
}

/* ---- asking blocked threads for their stacks ---- */

static void stack_signal_handler(int sig, siginfo_t *info, void *uctx)
{
  (void)sig;
  (void)info;
  (void)uctx;
  struct cw_thread *t = cw_tls.thread;
  /* Only a thread still inside the blocking call it was seen in (no engine lock held there). */
  if (!t || atomic_load(&t->stack_request) != 1 ||
      __atomic_load_n(&t->wait_seq, __ATOMIC_ACQUIRE) != t->stack_request_seq || !is_waiting(t))
    return;
  int saved_errno = errno;
  struct cw_unwound frames[UNWIND_MAX];
  size_t n = cw_unwind(frames, UNWIND_MAX);
  /* Keep the frames from the program's blocking call on (the handler, the signal frame and
   * libc's wait are above it). */
  uintptr_t pc = t->wait.kind != CW_WAIT_NONE ? t->wait.pc : 0;
  struct cw_held top;
  if (top_waiting(t, &top))
    pc = top.pc;
  size_t start = 0;
  for (size_t i = 0; i < n; i++)
    if (frames[i].pc == pc) {
      start = i;
      break;
    }
  size_t keep = n - start < CW_BLOCKED_FRAMES ? n - start : CW_BLOCKED_FRAMES;
  memcpy(t->blocked_frames, frames + start, keep * sizeof *frames);
  t->nblocked_frames = keep;
  atomic_store(&t->stack_request, 2);
  errno = saved_errno;
}

static void capture_stacks(struct blocked *bs, size_t n)
{
  struct sigaction sa, old;
  memset(&sa, 0, sizeof sa);
  sa.sa_sigaction = stack_signal_handler;
  sa.sa_flags = SA_SIGINFO | SA_RESTART;
  sigemptyset(&sa.sa_mask);
  sigaction(CW_STACK_SIGNAL, &sa, &old);
  for (size_t i = 0; i < n; i++) {
    struct cw_thread *t = bs[i].t;
    if (!t->alive)
      continue;
    if (!t->blocked_frames)
      t->blocked_frames = cw_alloc(CW_BLOCKED_FRAMES * sizeof *t->blocked_frames);
    t->stack_request_seq = bs[i].seq;
    atomic_store(&t->stack_request, 1);
    syscall(SYS_tgkill, getpid(), t->tid, CW_STACK_SIGNAL);
  }
  for (int tries = 0; tries < 100; tries++) { /* up to 1 s */
    bool all = true;
    for (size_t i = 0; i < n; i++)
      if (bs[i].t->alive && atomic_load(&bs[i].t->stack_request) != 2)
        all = false;
    if (all)
      break;
    cw_sleep_ms(10);
  }
  sigaction(CW_STACK_SIGNAL, &old, NULL);
}

static cw_stack_id blocked_stack(struct blocked *b)
{
  struct cw_thread *t = b->t;
  if (atomic_load(&t->stack_request) == 2 && t->nblocked_frames) {
    uintptr_t pcs[UNWIND_MAX];
    size_t n = t->nblocked_frames < (size_t)cw_opt.stack_depth ? t->nblocked_frames : (size_t)cw_opt.stack_depth;
    for (size_t i = 0; i < n; i++)
      pcs[i] = t->blocked_frames[i].pc;
    return cw_stack_intern(pcs, n);
  }
  uintptr_t pc = b->is_lock ? b->lock.pc : b->wait.pc;
  return cw_stack_intern(&pc, pc ? 1 : 0);
}

static cw_stack_id holder_stack(struct cw_thread *holder, const struct cw_held *entry)
{
  if (!entry->pc)
    return 0;
  if (holder->alive && atomic_load(&holder->stack_request) == 2)
    return cw_stack_rebuild(entry->pc, entry->sp, holder->blocked_frames, holder->nblocked_frames);
  return cw_stack_intern(&entry->pc, 1);
}

/* ---- building and delivering the finding ---- */

static int lock_index(struct cw_deadlock_finding *f, const void *lock, uint8_t kind)
{
  for (size_t i = 0; i < f->nlocks; i++)
    if (f->locks[i].addr == (uintptr_t)lock)
      return (int)i;
  f->locks[f->nlocks] = (struct cw_finding_lock){(uintptr_t)lock, kind, 0, 0};
  return (int)f->nlocks++;
}

static void report(const char *reason, struct blocked *copies, size_t n)
{
  capture_stacks(copies, n);
  struct cw_deadlock_finding f = {reason, 0, 0, cw_alloc(2 * n * sizeof *f.locks), cw_alloc(n * sizeof *f.waits)};
  for (size_t i = 0; i < n; i++) {
    struct blocked *b = &copies[i];
    struct cw_finding_wait *w = &f.waits[f.nwaits++];
    memset(w, 0, sizeof *w);
    w->thread = b->t->id;
    w->kind = b->is_lock ? CW_WAIT_LOCK : b->wait.kind;
    w->lock = w->mutex = -1;
    w->blocked_stack = blocked_stack(b);
    if (b->is_lock) {
      w->mode = b->lock.mode;
      w->object = (uintptr_t)b->lock.lock;
      w->lock = lock_index(&f, b->lock.lock, b->lock.kind);
      w->nholders = b->nholders;
      for (size_t h = 0; h < b->nholders; h++) {
        w->holders[h] = b->holders[h]->id;
        w->holder_stacks[h] = holder_stack(b->holders[h], &b->holder_entry[h]);
      }
      if (w->nholders)
        f.locks[w->lock].first_seen = w->holder_stacks[0];
    } else {
      w->object = (uintptr_t)b->wait.object;
      w->target = b->wait.target;
      if (b->wait.mutex)
        w->mutex = lock_index(&f, b->wait.mutex, CW_LOCK_MUTEX);
    }
  }
  cw_report_deadlock(&f);
  cw_free(f.locks);
  cw_free(f.waits);
  if (!strcmp(cw_opt.deadlock_action, "abort"))
    _exit((int)cw_opt.deadlock_exitcode);
  for (size_t i = 0; i < n; i++)
    seen[copies[i].t->id].reported_seq = copies[i].seq;
}

/* Threads still blocked exactly as observed (same sequence numbers) after a short pause: what
 * was read from running threads' memory is confirmed by their not having moved. */
static bool still_blocked(const struct blocked *members, size_t n)
{
  cw_sleep_ms(20);
  for (size_t i = 0; i < n; i++)
    if (__atomic_load_n(&members[i].t->wait_seq, __ATOMIC_ACQUIRE) != members[i].seq ||
        !is_waiting(members[i].t))
      return false;
  return true;
}

/* A candidate deadlock, copied out of the tick so it can be checked and reported after the
 * registry lock is released (reporting names threads, which takes that lock). */
struct candidate {
  const char *reason;
  struct blocked members[MAX_WAITERS];
  size_t n;
};

static void take(struct candidate *c, const char *reason, struct blocked **members, size_t n)
{
  c->reason = reason;
  c->n = n;
  for (size_t i = 0; i < n; i++)
    c->members[i] = *members[i];
}

static bool involves_semaphore(struct blocked **members, size_t n)
{
  for (size_t i = 0; i < n; i++)
    if (members[i]->lock.kind == CW_LOCK_SEM)
      return true;
  return false;
}

static bool find_lock_deadlock(struct tick *k, struct candidate *c)
{
  for (size_t i = 0; i < k->nblocked; i++) {
    struct blocked *b = &k->blocked[i];
    if (!b->is_lock || b->wait.shared)
      continue;
    if (b->holder_gone) {
      struct blocked *members[1] = {b};
      take(c, "holder-gone", members, 1);
      return true;
    }
    /* Follow "waits for a lock held by" through blocked threads; a return to a thread
     * already on the path is a cycle. */
    struct blocked *path[MAX_WAITERS];
    size_t len = 0;
    int at = (int)i;
    while (at >= 0 && len < MAX_WAITERS) {
      struct blocked *cur = &k->blocked[at];
      for (size_t p = 0; p < len; p++)
        if (path[p] == cur) {
          size_t n = len - p;
          /* Anyone may post a semaphore: a cycle through one is certain only when no thread
           * of the process is free to post it. */
          if (involves_semaphore(path + p, n) && k->someone_free)
            return false;
          take(c, n == 1 ? "self-deadlock" : "lock-cycle", path + p, n);
          return true;
        }
      if (!cur->is_lock || cur->wait.shared)
        break;
      path[len++] = cur;
      at = cur->next;
    }
  }
  return false;
}

static bool find_all_blocked(struct tick *k, struct candidate *c)
{
  if (k->someone_free || k->nblocked != k->nalive)
    return false;
  for (size_t i = 0; i < k->nblocked; i++)
    if (k->blocked[i].wait.shared)
      return false;
  if (os_thread_count() != k->nalive + (size_t)cw_internal_thread_count())
    return false;
  struct blocked *members[MAX_WAITERS];
  for (size_t i = 0; i < k->nblocked; i++)
    members[i] = &k->blocked[i];
  take(c, "all-threads-blocked", members, k->nblocked);
  return true;
}

static void tick(void)
{
  struct tick *k = cw_alloc(sizeof *k);
  struct candidate *c = cw_alloc(sizeof *c);
  k->now = cw_now_ns();
  cw_threads_lock();
  cw_threads_foreach(observe_cb, k);
  bool found = false;
  if (k->nblocked) {
    resolve_holders(k);
    found = find_lock_deadlock(k, c) || find_all_blocked(k, c);
  }
  cw_threads_unlock();
  if (found && still_blocked(c->members, c->n))
    report(c->reason, c->members, c->n);
  cw_free(c);
  cw_free(k);
}

static void *watchdog_main(void *arg)
{
  (void)arg;
  cw_runtime_enter(); /* nothing this thread does is the program's */
  watchdog_tid = cw_gettid();
  cw_internal_thread_started();
  long period = cw_opt.deadlock_timeout_ms / 4;
  if (period < 10)
    period = 10;
  if (period > 250)
    period = 250;
  for (;;) {
    cw_sleep_ms((unsigned)period);
    tick();
  }
  return NULL;
}

void cw_watchdog_ensure(void)
{
  if (CW_LIKELY(atomic_load_explicit(&watchdog_state, memory_order_relaxed)) ||
      !cw_opt.detect_deadlocks)
    return;
  int expected = 0;
  if (!atomic_compare_exchange_strong(&watchdog_state, &expected, 1))
    return;
  int saved_errno = errno;
  cw_runtime_enter();
  if (cw_spawn_internal(watchdog_main, NULL) != 0)
    atomic_store(&watchdog_state, 0);
  cw_runtime_leave();
  errno = saved_errno;
}

/* The watchdog thread does not exist in a forked child: start a new one there if the parent
 * had one. */
void cw_waits_postfork_child(void)
{
  int was_running = atomic_exchange(&watchdog_state, 0);
  watchdog_tid = 0;
  cw_free(seen);
  seen = NULL;
  seen_cap = 0;
  if (was_running)
    cw_watchdog_ensure();
}
