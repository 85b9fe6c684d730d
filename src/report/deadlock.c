/* Deadlock findings: resolved and rendered as text and JSON. */
#include <errno.h>
#include <fcntl.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "../engine.h"
#include "../runtime/alloc.h"
#include "../runtime/options.h"
#include "../stack/stack.h"
#include "../stack/symbolize.h"
#include "render.h"

/* ---- deadlock ---- */

struct wait_stacks {
  int blocked;
  int holders[4];
};

static void resolve_deadlock(const struct cw_deadlock_finding *f, struct resolved *r, struct wait_stacks *ws)
{
  report_begin(r, f->nlocks);
  for (size_t i = 0; i < f->nwaits; i++) {
    const struct cw_finding_wait *w = &f->waits[i];
    add_thread(r, w->thread);
    ws[i].blocked = add_stack(r, "blocked", w->thread, w->lock, w->blocked_stack);
    for (size_t h = 0; h < w->nholders; h++) {
      add_thread(r, w->holders[h]);
      ws[i].holders[h] = add_stack(r, "held", w->holders[h], w->lock, w->holder_stacks[h]);
    }
    if (w->target)
      add_thread(r, w->target);
  }
  for (size_t i = 0; i < f->nlocks; i++) {
    r->locks[i].lock = &f->locks[i];
    name_lock(&r->locks[i]);
    r->locks[i].first_seen_stack = -1;
  }
  add_thread_stacks(r);
}

static void describe_wait(struct cw_buf *b, const struct cw_finding_wait *w, const struct resolved *r)
{
  switch (w->kind) {
  case CW_WAIT_LOCK: {
    const struct rlock *l = &r->locks[w->lock];
    cw_buf_printf(b, "L%d %s", w->lock + 1, l->name);
    if (l->has_name)
      cw_buf_printf(b, " (%s)", cw_lock_kind_name(l->lock->kind));
    if (l->lock->kind == CW_LOCK_RWLOCK)
      cw_buf_printf(b, " for %s", mode_name(w->mode));
    break;
  }
  case CW_WAIT_COND:
    cw_buf_printf(b, "condition variable 0x%lx", (unsigned long)w->object);
    if (w->mutex >= 0)
      cw_buf_printf(b, " (with mutex L%d %s)", w->mutex + 1, r->locks[w->mutex].name);
    break;
  case CW_WAIT_JOIN:
    cw_buf_printf(b, "thread T%u to end (join)", w->target);
    break;
  default:
    cw_buf_printf(b, "%s 0x%lx", wait_kind_name(w->kind), (unsigned long)w->object);
  }
}

static const char *deadlock_reason_text(const char *reason)
{
  if (!strcmp(reason, "lock-cycle"))
    return "each thread waits for a lock that the next one holds";
  if (!strcmp(reason, "self-deadlock"))
    return "a thread waits for a lock it holds itself";
  if (!strcmp(reason, "holder-gone"))
    return "a thread waits for a lock held by a thread that no longer exists";
  return "every thread waits for something only another thread of the process could do";
}

static void deadlock_summary(struct cw_buf *b, const struct cw_deadlock_finding *f, const struct resolved *r,
                             const struct wait_stacks *ws)
{
  cw_buf_printf(b, "deadlock (%s): %s: ", f->reason, deadlock_reason_text(f->reason));
  for (size_t i = 0; i < f->nwaits; i++) {
    const struct cw_finding_wait *w = &f->waits[i];
    cw_buf_printf(b, "%sT%u waits for ", i ? "; " : "", w->thread);
    describe_wait(b, w, r);
    for (size_t h = 0; h < w->nholders; h++)
      cw_buf_printf(b, "%sT%u", h ? ", " : " held by ", w->holders[h]);
    cw_buf_puts(b, " at ");
    where(b, r, ws[i].blocked);
  }
}

static void text_deadlock(struct cw_buf *b, const struct cw_deadlock_finding *f, const struct resolved *r,
                          const struct wait_stacks *ws, unsigned id)
{
  cw_buf_printf(b, "==%d== concwatch: deadlock (%s) #%u\n  %s%s.\n\n", (int)getpid(), f->reason, id,
                "Threads blocked forever: ", deadlock_reason_text(f->reason));
  for (size_t i = 0; i < f->nwaits; i++) {
    const struct cw_finding_wait *w = &f->waits[i];
    cw_buf_printf(b, "  Thread T%u waits for ", w->thread);
    describe_wait(b, w, r);
    for (size_t h = 0; h < w->nholders; h++)
      cw_buf_printf(b, "%sT%u", h ? ", " : ", held by ", w->holders[h]);
    cw_buf_puts(b, ", blocked at:\n");
    text_frames(b, r, ws[i].blocked);
    for (size_t h = 0; h < w->nholders; h++) {
      struct cw_thread_info holder;
      bool gone = cw_thread_info(w->holders[h], &holder) && !holder.alive;
      cw_buf_printf(b, "  L%d %s was acquired by T%u%s at:\n", w->lock + 1, r->locks[w->lock].name,
                    w->holders[h], gone ? " (a thread that no longer exists)" : "");
      text_frames(b, r, ws[i].holders[h]);
    }
    cw_buf_puts(b, "\n");
  }
  text_threads(b, r);
  if (!strcmp(cw_opt.deadlock_action, "abort"))
    cw_buf_printf(b, "  concwatch ends the program (exit status %ld); deadlock_action=report lets it hang.\n",
                  cw_opt.deadlock_exitcode);
  cw_buf_printf(b, "==%d== end of finding #%u\n", (int)getpid(), id);
}

static void json_deadlock(struct cw_buf *b, const struct cw_deadlock_finding *f, const struct resolved *r,
                          const struct wait_stacks *ws, unsigned id)
{
  struct cw_buf summary = {0};
  deadlock_summary(&summary, f, r, ws);
  json_summary(b, "deadlock", id, summary.data);
  cw_buf_free(&summary);
  cw_buf_printf(b, ",\"reason\":\"%s\"", f->reason);
  json_locks(b, r);
  json_threads(b, r);
  cw_buf_puts(b, ",\"waits\":[");
  for (size_t i = 0; i < f->nwaits; i++) {
    const struct cw_finding_wait *w = &f->waits[i];
    cw_buf_printf(b, "%s{\"thread\":\"T%u\",\"waits_for\":\"%s\"", i ? "," : "", w->thread,
                  wait_kind_name(w->kind));
    json_lock_ref(b, "lock", w->lock);
    if (w->kind == CW_WAIT_LOCK)
      cw_buf_printf(b, ",\"mode\":\"%s\"", mode_name(w->mode));
    else
      cw_buf_puts(b, ",\"mode\":null");
    cw_buf_printf(b, ",\"object\":\"0x%lx\"", (unsigned long)w->object);
    json_lock_ref(b, "mutex", w->mutex);
    json_thread_ref(b, "target", w->target);
    cw_buf_puts(b, ",\"held_by\":[");
    for (size_t h = 0; h < w->nholders; h++)
      cw_buf_printf(b, "%s\"T%u\"", h ? "," : "", w->holders[h]);
    cw_buf_puts(b, "]");
    json_stack_ref(b, "stack", ws[i].blocked);
    cw_buf_puts(b, ",\"holder_stacks\":[");
    for (size_t h = 0; h < w->nholders; h++) {
      if (ws[i].holders[h] >= 0)
        cw_buf_printf(b, "%s%d", h ? "," : "", ws[i].holders[h]);
      else
        cw_buf_printf(b, "%snull", h ? "," : "");
    }
    cw_buf_puts(b, "]}");
  }
  cw_buf_puts(b, "]");
  json_stacks(b, r);
  cw_buf_puts(b, "}");
}

void cw_report_deadlock(const struct cw_deadlock_finding *f)
{
  int saved_errno = report_begin_section();
  unsigned id = next_finding_id();
  struct resolved r;
  struct wait_stacks *ws = cw_alloc((f->nwaits ? f->nwaits : 1) * sizeof *ws);
  resolve_deadlock(f, &r, ws);
  struct cw_buf text = {0}, json = {0};
  text_deadlock(&text, f, &r, ws, id);
  json_deadlock(&json, f, &r, ws, id);
  deliver(&text, &json);
  cw_free(ws);
  free_resolved(&r);
  report_end_section(saved_errno);
}
