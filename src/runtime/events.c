/* Events from the interposers, dispatched to the detectors. Each entry point first finds the
 * calling thread; it gets NULL (and does nothing) before start-up and inside the engine. None
 * of them changes errno. The lock fast path itself is inline, in engine.h. */
#include <errno.h>
#include <pthread.h>
#include <string.h>

#include "../engine.h"
#include "../lockorder/lockorder.h"
#include "../misuse/misuse.h"
#include "../stack/stack.h"
#include "../stack/symbolize.h"
#include "../waits/waits.h"
#include "hash.h"
#include "objects.h"
#include "options.h"
#include "thread.h"

#define SAVE_ERRNO int saved_errno_ = errno
#define RESTORE_ERRNO errno = saved_errno_

static enum cw_object_kind object_kind(enum cw_lock_kind kind)
{
  static const enum cw_object_kind map[] = {CW_OBJ_MUTEX, CW_OBJ_RWLOCK, CW_OBJ_SPIN, CW_OBJ_SEM};
  return map[kind];
}

/* ---- lock life ---- */

uint8_t cw_mutex_hooks;

void cw_mutex_hooks_set(unsigned hook) { __atomic_or_fetch(&cw_mutex_hooks, (uint8_t)hook, __ATOMIC_RELAXED); }

uint64_t cw_rwlock_filter[CW_RWLOCK_FILTER_BITS / 64];

void cw_rwlock_filter_add(const void *lock)
{
  uint32_t bit = cw_rwlock_filter_bit(lock);
  __atomic_or_fetch(&cw_rwlock_filter[bit / 64], 1ull << (bit % 64), __ATOMIC_RELAXED);
}

void cw_lock_created(const void *lock, enum cw_lock_kind kind, bool shared)
{
  if (!cw_thread_current())
    return;
  SAVE_ERRNO;
  /* An init on an address we know means the memory now holds a different lock. */
  cw_lockorder_forget(lock);
  cw_object_register(lock, object_kind(kind), shared);
  if (kind == CW_LOCK_RWLOCK) {
    /* The filter first: a mutex call that sees the hook must see this rwlock's bit too. */
    cw_rwlock_filter_add(lock);
    __atomic_thread_fence(__ATOMIC_RELEASE);
    cw_mutex_hooks_set(CW_MUTEX_HOOK_RWLOCKS);
  }
  RESTORE_ERRNO;
}

static const char *held_by_text(uint32_t holder, const struct cw_thread *self)
{
  return self && holder == self->id ? "was locked by this thread at" : "was locked by another thread at";
}

void cw_lock_destroy_pre(const void *lock, enum cw_lock_kind kind, uintptr_t pc)
{
  struct cw_thread *t = cw_thread_current();
  if (!t || kind == CW_LOCK_SEM)
    return;
  SAVE_ERRNO;
  uint32_t holder;
  struct cw_held entry;
  if (cw_find_holder(lock, NULL, &holder, &entry))
    cw_misuse("destroy-locked", "destroys a lock that is still locked", "destroy", NULL, lock, kind,
              holder, cw_held_entry_stack(&entry, holder == t->id), held_by_text(holder, t), pc);
  else if (cw_lock_memory_locked(lock, kind))
    cw_misuse("destroy-locked", "destroys a lock that is still locked", "destroy", NULL, lock, kind,
              0, 0, NULL, pc);
  RESTORE_ERRNO;
}

void cw_lock_destroyed(const void *lock, enum cw_lock_kind kind)
{
  (void)kind;
  if (!cw_thread_current())
    return;
  SAVE_ERRNO;
  cw_lockorder_forget(lock);
  cw_object_forget(lock);
  RESTORE_ERRNO;
}

void cw_lock_kind_check_slow(const void *lock, enum cw_lock_kind kind, uintptr_t pc)
{
  struct cw_object o;
  if (!cw_objects_may_be_in(lock, 1) || !cw_thread_current() || !cw_object_find(lock, &o))
    return;
  bool mutex_as_rwlock = kind == CW_LOCK_RWLOCK && o.kind == CW_OBJ_MUTEX;
  bool rwlock_as_mutex = kind == CW_LOCK_MUTEX && o.kind == CW_OBJ_RWLOCK;
  if (!mutex_as_rwlock && !rwlock_as_mutex)
    return;
  SAVE_ERRNO;
  cw_misuse("wrong-lock-type",
            mutex_as_rwlock ? "passes a mutex to an rwlock function" : "passes an rwlock to a mutex function",
            mutex_as_rwlock ? "pthread_rwlock_*" : "pthread_mutex_*", NULL, lock,
            mutex_as_rwlock ? CW_LOCK_MUTEX : CW_LOCK_RWLOCK, 0, 0, NULL, pc);
  RESTORE_ERRNO;
}

/* ---- acquisition, release ---- */

void cw_lock_pre_slow(struct cw_thread *t, const void *lock, enum cw_lock_kind kind,
                      enum cw_lock_mode mode, uint64_t chain_key)
{
  SAVE_ERRNO;
  cw_lockorder_check(t, lock, kind, mode, chain_key);
  RESTORE_ERRNO;
}

struct cw_thread *cw_lock_pre_general(struct cw_thread *t, const void *lock, enum cw_lock_kind kind,
                                      enum cw_lock_mode mode, enum cw_acquire_how how, uintptr_t pc,
                                      uintptr_t sp)
{
  if (!t && !(t = cw_thread_current_slow()))
    return NULL;
  if (how == CW_ACQ_TRY)
    return t;
  uint64_t chain = cw_chain_step(0, lock, kind, mode, 0);
  if (t->nheld != 0) {
    chain = cw_chain_step(t->held[t->nheld - 1].chain, lock, kind, mode, 0);
    uint64_t key = cw_chain_key(chain);
    if (!cw_chain_cached(t, key))
      cw_lock_pre_slow(t, lock, kind, mode, key);
  }
  if (kind == CW_LOCK_MUTEX) {
    if (cw_mutex_owner(lock) == t->tid)
      cw_mutex_relock(t, lock, pc, sp); /* returns only if the mutex type allows it */
  } else if (kind == CW_LOCK_SEM) {
    cw_watchdog_ensure(); /* a semaphore wait can block forever in a one-thread program */
  } else if (t->nheld != 0 && (kind == CW_LOCK_SPIN || mode == CW_MODE_WRITE)) {
    cw_self_relock_check(t, lock, kind, mode, pc, sp);
  }
  cw_held_push_chained(t, lock, kind, mode, CW_HELD_PENDING | (how == CW_ACQ_TIMED ? CW_HELD_TIMED : 0), pc,
                       sp, chain);
  cw_wait_mark(t);
  return t;
}

void cw_mutex_relock(struct cw_thread *t, const void *mutex, uintptr_t pc, uintptr_t sp)
{
  int type = ((const pthread_mutex_t *)mutex)->__data.__kind & 3;
  if (type == PTHREAD_MUTEX_RECURSIVE || type == PTHREAD_MUTEX_ERRORCHECK)
    return; /* recursion, or EDEADLK returned (reported as an error if ignored) */
  cw_self_deadlock(t, mutex, CW_LOCK_MUTEX, CW_MODE_WRITE, pc, sp);
}

void cw_self_relock_check(struct cw_thread *t, const void *lock, enum cw_lock_kind kind,
                          enum cw_lock_mode mode, uintptr_t pc, uintptr_t sp)
{
  for (uint32_t i = t->nheld; i-- > 0;) {
    const struct cw_held *h = &t->held[i];
    if (h->lock != lock)
      continue;
    /* glibc returns EDEADLK for a read or write request on an rwlock this thread writes;
     * a write request on one it reads blocks forever, as does any spinlock relock. */
    if (kind == CW_LOCK_SPIN || (mode == CW_MODE_WRITE && h->mode == CW_MODE_READ))
      cw_self_deadlock(t, lock, kind, mode, pc, sp);
    return;
  }
}

void cw_sem_acquired(struct cw_thread *t, const void *sem)
{
  for (uint32_t i = t->nheld - 1; i-- > 0;)
    if (t->held[i].lock == sem && !(t->held[i].flags & CW_HELD_PENDING)) {
      /* Taken twice without a post: this semaphore counts events, it is not a lock. */
      SAVE_ERRNO;
      while (cw_held_pop(t, sem)) {
      }
      cw_lockorder_sem_is_signal(sem);
      RESTORE_ERRNO;
      return;
    }
}

/* Lock implementations built on semaphores often try first and block only if the try fails:
 * CPython's PyThread_acquire_lock_timed (threading.Lock) is called with a zero timeout by
 * every acquire() before the blocking call. A successful try there stands for a blocking
 * acquisition, or no lock order would ever be seen in an uncontended Python program. The
 * callers are recognized once per call site: by name where the function is exported, and by
 * module (the interpreter executable or libpython) where an optimized build inlined it into
 * functions without exported names. A Python acquire(blocking=False) then counts as blocking
 * too; docs/design.md says so. */
static const char *const try_then_block_callers[] = {"PyThread_acquire_lock_timed", "PyThread_acquire_lock"};

static bool is_interpreter(const char *module)
{
  const char *base = module ? strrchr(module, '/') : NULL;
  base = base ? base + 1 : module;
  return base && (!strncmp(base, "python", 6) || !strncmp(base, "libpython", 9));
}

struct call_site {
  uintptr_t pc;
  bool blocking;
  UT_hash_handle hh;
};
static struct call_site *call_sites;
static cw_lock_t call_sites_lock = CW_LOCK_INIT;

static bool try_stands_for_blocking(uintptr_t pc)
{
  cw_lock_acquire(&call_sites_lock);
  struct call_site *c;
  HASH_FIND(hh, call_sites, &pc, sizeof pc, c);
  if (!c) {
    c = cw_alloc(sizeof *c);
    c->pc = pc;
    const char *name = cw_function_name(pc);
    for (size_t i = 0; name && i < CW_ARRAY_LEN(try_then_block_callers); i++)
      c->blocking |= !strcmp(name, try_then_block_callers[i]);
    c->blocking |= is_interpreter(cw_module_path(pc));
    HASH_ADD(hh, call_sites, pc, sizeof c->pc, c);
  }
  bool blocking = c->blocking;
  cw_lock_release(&call_sites_lock);
  return blocking;
}

void cw_sem_try_acquired(struct cw_thread *t, const void *sem, uintptr_t pc, uintptr_t sp)
{
  SAVE_ERRNO;
  unsigned flags = CW_HELD_TRY;
  if (try_stands_for_blocking(pc)) {
    flags = 0;
    if (t->nheld) {
      uint64_t key = cw_chain_cache_key(t, sem, CW_LOCK_SEM, CW_MODE_WRITE);
      if (!cw_chain_cached(t, key))
        cw_lockorder_check(t, sem, CW_LOCK_SEM, CW_MODE_WRITE, key);
    }
  }
  cw_held_push(t, sem, CW_LOCK_SEM, CW_MODE_WRITE, flags, pc, sp);
  cw_sem_acquired(t, sem);
  RESTORE_ERRNO;
}

void cw_sem_post(const void *sem)
{
  struct cw_thread *t = cw_thread_current();
  if (cw_race_enabled)
    cw_race_release(t, (uintptr_t)sem);
  if (!t || cw_held_pop(t, sem))
    return;
  /* Posted by a thread that did not take it: a signal between threads. */
  SAVE_ERRNO;
  cw_lockorder_sem_is_signal(sem);
  RESTORE_ERRNO;
}

static bool is_errorcheck_mutex(const void *lock)
{
  return (((const pthread_mutex_t *)lock)->__data.__kind & 3) == PTHREAD_MUTEX_ERRORCHECK;
}

void cw_unlock_unheld(struct cw_thread *t, const void *lock, enum cw_lock_kind kind, uintptr_t pc)
{
  if (kind == CW_LOCK_SEM)
    return;
  /* An error-checking mutex refuses a bad unlock with EPERM: reported as that error (the
   * wrapper does not look at the result of an unlock, so it is foreseen here). */
  if (kind == CW_LOCK_MUTEX && is_errorcheck_mutex(lock)) {
    if (cw_mutex_owner(lock) != t->tid)
      cw_sync_error("pthread_mutex_unlock", EPERM, lock, kind, pc);
    return;
  }
  SAVE_ERRNO;
  uint32_t holder;
  struct cw_held entry;
  if (cw_find_holder(lock, t, &holder, &entry)) {
    cw_misuse("unlock-not-owner", "unlocks a lock that another thread holds", "unlock", NULL, lock,
              kind, holder, cw_held_entry_stack(&entry, false), "was locked by another thread at",
              pc);
  } else if (kind == CW_LOCK_MUTEX && cw_mutex_owner(lock) == t->tid) {
    /* Taken before concwatch started, or inside code it does not track: fine. */
  } else if (!cw_lock_memory_locked(lock, kind)) {
    cw_misuse("unlock-not-locked", "unlocks a lock that is not locked", "unlock", NULL, lock, kind, 0,
              0, NULL, pc);
  } else if (kind == CW_LOCK_MUTEX && cw_mutex_owner(lock) != 0) {
    cw_misuse("unlock-not-owner", "unlocks a lock that another thread holds", "unlock", NULL, lock,
              kind, 0, 0, NULL, pc);
  }
  RESTORE_ERRNO;
}

void cw_lock_acquired_annotation(const void *lock, bool read, bool try_lock, uintptr_t pc, uintptr_t sp)
{
  struct cw_thread *t = cw_thread_current();
  if (!t)
    return;
  if (t->nheld && t->held[t->nheld - 1].lock == lock && (t->held[t->nheld - 1].flags & CW_HELD_PENDING)) {
    t->held[t->nheld - 1].flags = 0;
    return;
  }
  cw_held_push(t, lock, CW_LOCK_MUTEX, read ? CW_MODE_READ : CW_MODE_WRITE, try_lock ? CW_HELD_TRY : 0,
               pc, sp);
}

/* ---- memory ---- */

bool cw_memory_watch_enabled(void) { return cw_ready; }

static void check_freed_locks(struct cw_thread *t, const void *start, size_t size, uintptr_t pc)
{
  struct cw_object objs[16];
  size_t n = cw_objects_in(start, size, objs, CW_ARRAY_LEN(objs));
  for (size_t i = 0; i < n; i++) {
    const void *lock = (const void *)objs[i].addr;
    if (objs[i].kind <= CW_OBJ_SPIN) {
      enum cw_lock_kind kind = (enum cw_lock_kind)objs[i].kind;
      uint32_t holder;
      struct cw_held entry;
      if (cw_find_holder(lock, NULL, &holder, &entry))
        cw_misuse("free-locked", "frees memory that holds a locked lock", "free", NULL, lock, kind,
                  holder, cw_held_entry_stack(&entry, holder == t->id), held_by_text(holder, t),
                  pc);
      else if (cw_lock_memory_locked(lock, kind))
        cw_misuse("free-locked", "frees memory that holds a locked lock", "free", NULL, lock, kind, 0,
                  0, NULL, pc);
    }
    cw_object_forget(lock);
  }
}

void cw_memory_released(const void *start, size_t size, uintptr_t pc)
{
  struct cw_thread *t = cw_thread_current();
  if (!t)
    return;
  bool graph = cw_lockorder_range_may_hold_locks(start, size);
  bool objects = cw_objects_may_be_in(start, size);
  if (!graph && !objects && !cw_race_enabled)
    return;
  SAVE_ERRNO;
  if (objects)
    check_freed_locks(t, start, size, pc);
  cw_race_forget((uintptr_t)start, size);
  if (graph)
    cw_lockorder_forget_range(start, size);
  RESTORE_ERRNO;
}

/* ---- condition variables and barriers ---- */

void cw_cond_created(const void *cond, bool shared)
{
  if (!cw_thread_current())
    return;
  SAVE_ERRNO;
  cw_object_register(cond, CW_OBJ_COND, shared);
  RESTORE_ERRNO;
}

static void destroy_with_waiters(const void *obj, const char *misuse, const char *what, uintptr_t pc)
{
  struct cw_object o;
  if (!cw_thread_current() || !cw_object_find(obj, &o) || !o.waiters)
    return;
  SAVE_ERRNO;
  cw_misuse(misuse, what, "destroy", NULL, NULL, CW_LOCK_MUTEX, o.cond_mutex_thread,
            o.cond_mutex_stack, "a waiter started waiting at", pc);
  RESTORE_ERRNO;
}

void cw_cond_destroy_pre(const void *cond, uintptr_t pc)
{
  destroy_with_waiters(cond, "destroy-cond-with-waiters", "destroys a condition variable that threads wait on", pc);
}

void cw_cond_destroyed(const void *cond)
{
  if (cw_thread_current())
    cw_object_forget(cond);
}

struct cw_thread *cw_cond_wait_pre(const void *cond, const void *mutex, bool timed, uintptr_t pc,
                                   uintptr_t sp)
{
  struct cw_thread *t = cw_thread_current();
  if (!t)
    return NULL;
  SAVE_ERRNO;
  if (!cw_lockorder_holds(t, mutex) && cw_mutex_owner(mutex) != t->tid)
    cw_misuse("cond-wait-mutex-not-held", "waits on a condition variable with a mutex it does not hold",
              "pthread_cond_wait", NULL, mutex, CW_LOCK_MUTEX, 0, 0, NULL, pc);
  cw_stack_id here = cw_stack_intern(&pc, 1);
  struct cw_object before = cw_object_wait_begin(cond, CW_OBJ_COND, mutex, t->id, here);
  if (before.waiters && before.cond_mutex && before.cond_mutex != mutex)
    cw_misuse_two("cond-two-mutexes", "waits on a condition variable with a different mutex than its other waiters",
                  "pthread_cond_wait", mutex, before.cond_mutex, before.cond_mutex_thread,
                  before.cond_mutex_stack, "another thread waits on it with another mutex at", pc);
  cw_held_pop(t, mutex);
  cw_race_release(t, (uintptr_t)mutex);
  struct cw_wait w = {.kind = CW_WAIT_COND, .timed = timed, .shared = before.shared,
                      .object = cond, .mutex = mutex, .pc = pc, .sp = sp};
  cw_wait_begin(t, &w);
  RESTORE_ERRNO;
  return t;
}

void cw_cond_wait_post(struct cw_thread *t, const void *cond, const void *mutex, uintptr_t pc,
                       uintptr_t sp)
{
  if (!t)
    return;
  SAVE_ERRNO;
  cw_wait_end(t);
  cw_object_wait_end(cond);
  cw_held_push(t, mutex, CW_LOCK_MUTEX, CW_MODE_WRITE, 0, pc, sp); /* retaken before returning */
  cw_race_acquire(t, (uintptr_t)mutex);
  RESTORE_ERRNO;
}

void cw_barrier_created(const void *barrier, bool shared)
{
  if (!cw_thread_current())
    return;
  SAVE_ERRNO;
  cw_object_register(barrier, CW_OBJ_BARRIER, shared);
  RESTORE_ERRNO;
}

void cw_barrier_destroy_pre(const void *barrier, uintptr_t pc)
{
  destroy_with_waiters(barrier, "destroy-barrier-with-waiters", "destroys a barrier that threads wait at", pc);
}

void cw_barrier_destroyed(const void *barrier) { cw_cond_destroyed(barrier); }

struct cw_thread *cw_barrier_wait_pre(const void *barrier, uintptr_t pc, uintptr_t sp)
{
  struct cw_thread *t = cw_thread_current();
  if (!t)
    return NULL;
  SAVE_ERRNO;
  cw_stack_id here = cw_stack_intern(&pc, 1);
  struct cw_object before = cw_object_wait_begin(barrier, CW_OBJ_BARRIER, NULL, t->id, here);
  struct cw_wait w = {.kind = CW_WAIT_BARRIER, .shared = before.shared, .object = barrier, .pc = pc, .sp = sp};
  cw_race_release(t, (uintptr_t)barrier);
  cw_wait_begin(t, &w);
  RESTORE_ERRNO;
  return t;
}

void cw_barrier_wait_post(struct cw_thread *t, const void *barrier)
{
  if (!t)
    return;
  SAVE_ERRNO;
  cw_wait_end(t);
  cw_object_wait_end(barrier);
  cw_race_acquire(t, (uintptr_t)barrier);
  RESTORE_ERRNO;
}

/* ---- errors returned by the API ---- */

struct errname {
  int code;
  const char *name;
};

void cw_sync_error(const char *function, int error, const void *lock, enum cw_lock_kind kind, uintptr_t pc)
{
  static const struct errname misuse_errors[] = {
      {EINVAL, "EINVAL"}, {EPERM, "EPERM"}, {EDEADLK, "EDEADLK"}, {ENOTRECOVERABLE, "ENOTRECOVERABLE"},
      {ESRCH, "ESRCH"},   {EAGAIN, "EAGAIN"}};
  struct cw_thread *t = cw_thread_current();
  if (!t || t->misuse_pc == pc)
    return; /* the call was reported already, as the misuse that caused this error */
  /* Expected outcomes: a try that finds the lock taken, a timeout, an interrupted wait. */
  if (error == EBUSY || error == ETIMEDOUT || error == EINTR)
    return;
  if (error == EAGAIN && !strncmp(function, "sem_", 4))
    return;
  for (size_t i = 0; i < CW_ARRAY_LEN(misuse_errors); i++)
    if (misuse_errors[i].code == error) {
      SAVE_ERRNO;
      cw_misuse("error-returned", "gets an error from a synchronization call", function,
                misuse_errors[i].name, lock, kind, 0, 0, NULL, pc);
      RESTORE_ERRNO;
      return;
    }
}

/* ---- threads ---- */

static struct cw_thread *by_handle;
static uintptr_t wanted_handle;

static void find_handle_cb(struct cw_thread *u, void *arg)
{
  (void)arg;
  if (u->handle == wanted_handle)
    by_handle = u; /* the latest thread with this handle: handles are reused */
}

static struct cw_thread *thread_by_handle(uintptr_t handle)
{
  cw_threads_lock();
  by_handle = NULL;
  wanted_handle = handle;
  cw_threads_foreach(find_handle_cb, NULL);
  struct cw_thread *found = by_handle;
  cw_threads_unlock();
  return found;
}

void cw_thread_created(struct cw_thread *record, uintptr_t handle)
{
  if (record)
    record->handle = handle;
}

struct cw_thread *cw_join_pre(uintptr_t handle, bool timed, uintptr_t pc, uintptr_t sp)
{
  struct cw_thread *t = cw_thread_current();
  if (!t)
    return NULL;
  SAVE_ERRNO;
  struct cw_thread *target = thread_by_handle(handle);
  if (target && target->detached)
    cw_misuse("join-detached", "joins a detached thread", "pthread_join", NULL, NULL, CW_LOCK_MUTEX,
              target->id, target->detached_at, "was detached at", pc);
  else if (target && target->joined)
    cw_misuse("join-joined", "joins a thread that was already joined", "pthread_join", NULL, NULL,
              CW_LOCK_MUTEX, target->id, target->joined_at, "was joined at", pc);
  struct cw_wait w = {.kind = CW_WAIT_JOIN, .timed = timed, .target = target ? target->id : 0,
                      .pc = pc, .sp = sp};
  cw_wait_begin(t, &w);
  t->join_stack = cw_stack_intern(&pc, 1);
  RESTORE_ERRNO;
  return t;
}

void cw_join_post(struct cw_thread *t, uintptr_t handle, int result)
{
  if (!t)
    return;
  SAVE_ERRNO;
  cw_wait_end(t);
  struct cw_thread *target = result == 0 ? thread_by_handle(handle) : NULL;
  if (target)
    cw_race_thread_joined(t, target);
  if (target && !target->joined) {
    target->joined = true;
    target->joined_at = t->join_stack;
  }
  RESTORE_ERRNO;
}

void cw_thread_detached(uintptr_t handle, uintptr_t pc)
{
  if (!cw_thread_current())
    return;
  SAVE_ERRNO;
  struct cw_thread *target = thread_by_handle(handle);
  if (target && !target->detached) {
    target->detached = true;
    target->detached_at = cw_stack_capture(pc);
  }
  RESTORE_ERRNO;
}

/* A thread that ends while holding locks: every later request for them blocks forever. */
void cw_thread_ended(struct cw_thread *t, uintptr_t pc, bool is_call)
{
  if (!t || !t->alive || t->id == 1)
    return;
  SAVE_ERRNO;
  for (uint32_t i = 0; i < t->nheld; i++) {
    const struct cw_held *h = &t->held[i];
    if (!cw_held_entry_still_held(t, h))
      continue;
    cw_stack_id earlier = cw_held_entry_stack(h, is_call);
    /* Returning from the thread function: the "call" is the function itself. */
    cw_stack_id call = is_call ? 0 : cw_stack_intern(&pc, 1);
    cw_misuse_at("exit-holding-locks", "ends while holding a lock", is_call ? "pthread_exit" : "thread return",
                 NULL, h->lock, (enum cw_lock_kind)h->kind, 0, earlier, "was locked at", pc, call);
    break;
  }
  RESTORE_ERRNO;
  cw_race_thread_finished(t);
  cw_thread_exiting();
}

void cw_thread_exit_call(uintptr_t pc) { cw_thread_ended(cw_thread_current(), pc, true); }

void cw_thread_named(const char *name)
{
  struct cw_thread *t = cw_thread_current();
  if (t)
    cw_thread_set_name(t, name);
}
