#include "waits.h"

#include <errno.h>
#include <string.h>
#include <unistd.h>

#include "../lockorder/held.h"
#include "../report/report.h"
#include "../runtime/options.h"
#include "../stack/stack.h"

#define UNWIND_MAX 256

void cw_wait_begin(struct cw_thread *t, const struct cw_wait *w)
{
  cw_wait_mark(t);
  t->wait = *w;
  if (!w->timed && !w->shared)
    cw_watchdog_ensure();
}

void cw_wait_end(struct cw_thread *t)
{
  __atomic_store_n(&t->wait.kind, CW_WAIT_NONE, __ATOMIC_RELEASE);
}

void cw_self_deadlock(struct cw_thread *t, const void *lock, enum cw_lock_kind kind,
                      enum cw_lock_mode mode, uintptr_t pc, uintptr_t sp)
{
  (void)pc;
  if (!cw_opt.detect_deadlocks)
    return;
  int saved_errno = errno;
  struct cw_unwound frames[UNWIND_MAX];
  size_t n = cw_unwind(frames, UNWIND_MAX);
  uintptr_t pcs[UNWIND_MAX];
  for (size_t i = 0; i < n; i++)
    pcs[i] = frames[i].pc;
  struct cw_finding_lock l = {(uintptr_t)lock, (uint8_t)kind, 0, t->id};
  struct cw_finding_wait w = {.thread = t->id, .kind = CW_WAIT_LOCK, .mode = (uint8_t)mode,
                              .lock = 0, .mutex = -1, .object = (uintptr_t)lock, .nholders = 1,
                              .holders = {t->id}};
  w.blocked_stack = cw_stack_intern(pcs, n < (size_t)cw_opt.stack_depth ? n : (size_t)cw_opt.stack_depth);
  for (uint32_t i = t->nheld; i-- > 0;)
    if (t->held[i].lock == lock && !cw_held_waiting(t, &t->held[i])) {
      w.holder_stacks[0] = cw_stack_rebuild(t->held[i].pc, t->held[i].sp, frames, n);
      l.first_seen = w.holder_stacks[0];
      break;
    }
  (void)sp;
  struct cw_deadlock_finding f = {"self-deadlock", 1, 1, &l, &w};
  cw_report_deadlock(&f);
  if (!strcmp(cw_opt.deadlock_action, "abort"))
    _exit((int)cw_opt.deadlock_exitcode);
  errno = saved_errno;
}
