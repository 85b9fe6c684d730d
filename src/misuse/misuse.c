#include "misuse.h"

#include <errno.h>
#include <pthread.h>
#include <semaphore.h>
#include <string.h>

#include "../runtime/seen.h"
#include "../runtime/options.h"
#include "../stack/stack.h"

#define UNWIND_MAX 128

struct holder_query {
  const void *lock;
  const struct cw_thread *except;
  bool found;
  uint32_t thread;
  struct cw_held entry;
};

static void holder_cb(struct cw_thread *u, void *arg)
{
  struct holder_query *q = arg;
  if (q->found || u == q->except || (!u->alive && !u->exited_holding) || !u->held)
    return;
  for (uint32_t i = 0; i < u->nheld; i++)
    if (u->held[i].lock == q->lock && !cw_held_waiting(u, &u->held[i])) {
      q->found = true;
      q->thread = u->id;
      q->entry = u->held[i];
      return;
    }
}

bool cw_find_holder(const void *lock, const struct cw_thread *except, uint32_t *thread,
                    struct cw_held *entry)
{
  struct holder_query q = {lock, except, false, 0, {0}};
  cw_threads_lock();
  cw_threads_foreach(holder_cb, &q);
  cw_threads_unlock();
  if (q.found) {
    *thread = q.thread;
    *entry = q.entry;
  }
  return q.found;
}

bool cw_lock_memory_locked(const void *lock, enum cw_lock_kind kind)
{
  switch (kind) {
  case CW_LOCK_MUTEX: {
    const pthread_mutex_t *m = lock;
    return __atomic_load_n(&m->__data.__lock, __ATOMIC_RELAXED) != 0;
  }
  case CW_LOCK_RWLOCK: {
    const pthread_rwlock_t *l = lock;
    return (__atomic_load_n(&l->__data.__readers, __ATOMIC_RELAXED) >> 3) != 0 ||
           __atomic_load_n(&l->__data.__cur_writer, __ATOMIC_RELAXED) != 0;
  }
  case CW_LOCK_SPIN: /* glibc x86-64: 1 free, 0 or less taken */
    return __atomic_load_n((const int *)lock, __ATOMIC_RELAXED) != 1;
  default:
    return false;
  }
}

cw_stack_id cw_held_entry_stack(const struct cw_held *entry, bool own)
{
  if (!entry->pc)
    return 0;
  if (!own)
    return cw_stack_intern(&entry->pc, 1);
  struct cw_unwound frames[UNWIND_MAX];
  size_t n = cw_unwind(frames, UNWIND_MAX);
  return cw_stack_rebuild(entry->pc, entry->sp, frames, n);
}

/* One report per (misuse, call site). */
static struct cw_seen reported = CW_SEEN_INIT;

static bool seen_before(const char *misuse, uintptr_t pc)
{
  return cw_seen_before(&reported, (uint64_t)pc * 31 + (uintptr_t)misuse);
}

bool cw_held_entry_still_held(const struct cw_thread *t, const struct cw_held *h)
{
  if (h->kind == CW_LOCK_SEM || cw_held_waiting(t, h))
    return false;
  if (h->kind == CW_LOCK_MUTEX)
    return cw_mutex_owner(h->lock) == t->tid;
  return cw_lock_memory_locked(h->lock, (enum cw_lock_kind)h->kind);
}

static void deliver(struct cw_misuse_finding *f, uintptr_t pc, cw_stack_id call)
{
  struct cw_thread *t = cw_tls.thread;
  if (!t || !cw_opt.detect_misuse)
    return;
  t->misuse_pc = pc;
  if (seen_before(f->misuse, pc))
    return;
  int saved_errno = errno;
  f->thread = t->id;
  f->call_stack = call ? call : cw_stack_capture(pc);
  cw_report_misuse(f);
  errno = saved_errno;
}

void cw_misuse(const char *misuse, const char *what, const char *function, const char *error,
               const void *lock, enum cw_lock_kind kind, uint32_t other_thread,
               cw_stack_id earlier, const char *earlier_what, uintptr_t pc)
{
  cw_misuse_at(misuse, what, function, error, lock, kind, other_thread, earlier, earlier_what, pc, 0);
}

void cw_misuse_two(const char *misuse, const char *what, const char *function, const void *lock,
                   const void *other_lock, uint32_t other_thread, cw_stack_id earlier,
                   const char *earlier_what, uintptr_t pc)
{
  struct cw_misuse_finding f = {
      .misuse = misuse, .what = what, .function = function,
      .has_lock = true, .lock = {(uintptr_t)lock, CW_LOCK_MUTEX, 0, 0},
      .has_other_lock = other_lock != NULL, .other_lock = {(uintptr_t)other_lock, CW_LOCK_MUTEX, 0, 0},
      .other_thread = other_thread, .earlier_stack = earlier, .earlier_what = earlier_what,
  };
  deliver(&f, pc, 0);
}

void cw_misuse_at(const char *misuse, const char *what, const char *function, const char *error,
                  const void *lock, enum cw_lock_kind kind, uint32_t other_thread,
                  cw_stack_id earlier, const char *earlier_what, uintptr_t pc, cw_stack_id call)
{
  struct cw_misuse_finding f = {
      .misuse = misuse,
      .what = what,
      .function = function,
      .error = error,
      .has_lock = lock != NULL,
      .lock = {(uintptr_t)lock, (uint8_t)kind, 0, 0},
      .other_thread = other_thread,
      .earlier_stack = earlier,
      .earlier_what = earlier_what,
  };
  deliver(&f, pc, call);
}
