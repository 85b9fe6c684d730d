/* Threads as the engine knows them: a small record per thread (kept after it exits, so reports
 * can name it), reached from the running thread through one initial-exec TLS pointer. */
#ifndef CW_THREAD_H
#define CW_THREAD_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "platform.h"

typedef uint32_t cw_stack_id; /* 0 = no stack */

/* One unwound frame: its pc (a return address, except the innermost) and its stack pointer. */
struct cw_unwound_frame {
  uintptr_t pc;
  uintptr_t sp;
};

/* A lock the thread holds, in acquisition order. */
struct cw_held {
  const void *lock;
  uint64_t chain;  /* hash of this entry and every entry below it (lockdep's chain key) */
  uintptr_t pc;    /* return address of the acquiring call */
  uintptr_t sp;    /* caller's stack pointer at that call: finds the caller frames later */
  union {
    struct {
      uint8_t kind;  /* enum cw_lock_kind */
      uint8_t mode;  /* CW_MODE_READ / CW_MODE_WRITE */
      uint8_t flags; /* CW_HELD_*: how it was taken, whether it is still requested */
    };
    uint32_t meta;   /* the three at once: one store on the fast path */
  };
};

#define CW_HELD_META(kind, mode, flags) ((uint32_t)(kind) | (uint32_t)(mode) << 8 | (uint32_t)(flags) << 16)

#define CW_HELD_TRY 1u
#define CW_HELD_PENDING 2u /* requested, not yet acquired: the thread is waiting for it */
#define CW_HELD_TIMED 4u   /* with PENDING: a timed request, it gives up by itself */
/* With PENDING: a default mutex requested on the fast path, whose wrapper tail-calls the real
 * lock and so never confirms the entry; the mutex's owner field says whether it is held yet
 * (cw_held_waiting in lockorder/held.h). */
#define CW_HELD_OWNER_CONFIRMS 8u

/* What a blocked thread waits for (besides locks, which are the pending held entry). */
enum cw_wait_kind { CW_WAIT_NONE, CW_WAIT_LOCK, CW_WAIT_COND, CW_WAIT_SEM, CW_WAIT_BARRIER, CW_WAIT_JOIN };

struct cw_wait {
  uint8_t kind;       /* enum cw_wait_kind; CW_WAIT_LOCK means: see the pending held entry */
  bool timed;         /* ends by itself (a timeout) */
  bool shared;        /* process-shared object: another process could end the wait */
  const void *object; /* the cond, semaphore or barrier */
  const void *mutex;  /* a condition wait's mutex */
  uint32_t target;    /* a join's thread id */
  uintptr_t pc, sp;   /* the blocking call */
};

struct cw_stack_cache_entry {
  uint64_t key;
  cw_stack_id id;
};

#define CW_RECENT_STACKS 64 /* power of two */
/* By return address: the access calls of a loop body (each call is at least 4 bytes long)
 * never share a slot while the body spans less than 4 * CW_RECENT_STACKS bytes. */
#define CW_RECENT_SLOT(pc) ((size_t)((uintptr_t)(pc) >> 2) & (CW_RECENT_STACKS - 1))

struct cw_thread {
  uint32_t id; /* T1 is the first thread concwatch saw (normally main) */
  pid_t tid;
  uint32_t parent;         /* id of the creating thread, 0 if unknown */
  cw_stack_id created_at;  /* stack of the pthread_create call */
  bool alive;
  char name[32];

  struct cw_held *held;
  uint32_t nheld, held_cap;
  uint64_t *chain_cache;     /* what the fast path probes: chain_cache_own or cw_chain_cache_empty */
  uint64_t *chain_cache_own; /* validated (held chain, new lock) keys; see held.h */
  uint64_t cache_epoch;      /* the graph epoch chain_cache_own belongs to */
  void *retired_held;      /* earlier held arrays, kept until exit: the watchdog may read them */

  /* Waiting, as the deadlock watchdog sees it: wait_seq counts blocking calls; the thread is
   * inside one while its top held entry is pending (locks) or wait.kind is set (the rest). */
  uint64_t wait_seq;       /* written by the thread only, read with __atomic loads */
  struct cw_wait wait;
  bool exited_holding;     /* ended with locks held: its held entries stay for reports */

  /* Thread handle bookkeeping, for join/detach misuse. */
  uintptr_t handle;        /* the pthread_t */
  bool detached, joined;
  cw_stack_id detached_at, joined_at;
  cw_stack_id join_stack; /* the join call this thread is in */
  uintptr_t misuse_pc;    /* the last call reported as a misuse (its error is not reported again) */

  /* Data races (src/race): the vector clock, the shadow call stack kept by
   * __tsan_func_entry/exit (return addresses, with a running hash per depth), a cache of
   * interned access stacks, pending fence clocks, and the stack's bounds. */
  uint32_t *vc;
  uint32_t vc_len;
  uintptr_t *shadow_stack;
  uint64_t *shadow_hash;
  uint32_t shadow_depth, shadow_cap;
  struct cw_stack_cache_entry *stack_cache;
  uint32_t *acquired_since_fence; /* clocks seen by relaxed atomic loads since the last acquire fence */
  uint32_t acq_fence_len;
  uint32_t *released_at_fence;    /* the clock at the last release fence */
  uint32_t rel_fence_len;
  int race_ignore;
  uintptr_t stack_lo, stack_hi;
  /* The inline access fast path's state (src/race/race.h): the thread's present as a shadow
   * cell's bits (0 while accesses must take the full path), the frames hash on top of the
   * shadow call stack, the last shadow region used (one-entry cache) and recent access stacks. */
  uint64_t race_now;
  uint64_t shadow_top;
  uintptr_t shadow_region;
  void *shadow_base;
  struct cw_recent_stack {
    uintptr_t pc;
    uint64_t frames, held;
    cw_stack_id id;
  } recent_stacks[CW_RECENT_STACKS];

  /* Filled by the thread itself, in a signal handler, when the watchdog asks for its stack:
   * request 1 = asked (valid while wait_seq is still stack_request_seq), 2 = done. */
  _Atomic int stack_request;
  uint64_t stack_request_seq;
  struct cw_unwound_frame *blocked_frames; /* buffer of CW_BLOCKED_FRAMES, owned by the watchdog */
  size_t nblocked_frames;
};

#define CW_BLOCKED_FRAMES 128
/* Iterate over every thread record (alive or not) under the registry lock. */
void cw_threads_lock(void);
void cw_threads_unlock(void);
void cw_threads_foreach(void (*fn)(struct cw_thread *t, void *arg), void *arg);

/* `active` is the thread's record while events may be tracked and NULL otherwise (before
 * start-up, after the thread's exit, and while the engine runs foreign code such as the
 * unwinder or the loader): the fast path tests one TLS word. */
struct cw_tls {
  struct cw_thread *active;
  struct cw_thread *thread;
  int in_runtime;
};

extern __thread struct cw_tls cw_tls __attribute__((tls_model("initial-exec")));
extern bool cw_ready; /* the engine finished start-up and is tracking */

struct cw_thread *cw_thread_current_slow(void);

/* The calling thread's record, or NULL when events must not be tracked. Creates the record
 * for threads concwatch did not see start. */
static inline __attribute__((always_inline)) struct cw_thread *cw_thread_current(void)
{
  struct cw_thread *t = cw_tls.active;
  return CW_LIKELY(t != NULL) ? t : cw_thread_current_slow();
}

static inline void cw_runtime_enter(void)
{
  cw_tls.in_runtime++;
  cw_tls.active = NULL;
}

static inline void cw_runtime_leave(void)
{
  if (--cw_tls.in_runtime == 0 && cw_tls.thread && cw_tls.thread->alive && cw_ready)
    cw_tls.active = cw_tls.thread;
}

/* Thread start hand-off from pthread_create to the new thread. */
struct cw_thread_start;
struct cw_thread_start *cw_thread_prepare(void *(*fn)(void *), void *arg, uintptr_t pc);
void *cw_thread_trampoline(void *start);
void cw_thread_abandon(struct cw_thread_start *start);
/* The new thread's record (valid after the start record is gone). */
struct cw_thread *cw_thread_start_record(struct cw_thread_start *start);
void cw_thread_exiting(void);
/* The thread ends (return from its function: pc is the function; or pthread_exit: pc is the
 * call): checks for locks still held, then cw_thread_exiting. Defined in events.c. */
void cw_thread_ended(struct cw_thread *t, uintptr_t pc, bool is_call);

/* Copy of a thread's identity for reports; false if the id is unknown. */
struct cw_thread_info {
  uint32_t id, parent;
  bool alive;
  pid_t tid;
  cw_stack_id created_at;
  char name[32];
};
bool cw_thread_info(uint32_t id, struct cw_thread_info *out);
void cw_thread_set_name(struct cw_thread *t, const char *name);

void cw_threads_init_main(void);
void cw_threads_prefork(void);
void cw_threads_postfork(int in_child);

#endif
