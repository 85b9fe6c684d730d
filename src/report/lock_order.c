/* Lock-order inversion findings: resolved and rendered as text and JSON. */
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

/* ---- lock-order inversion ---- */

static const char *mode_word(uint8_t kind, uint8_t modes)
{
  if (kind != CW_LOCK_RWLOCK)
    return "";
  return modes == CW_MODE_READ ? " (read)" : modes == CW_MODE_WRITE ? " (write)" : " (read/write)";
}

struct step_stacks {
  int request, held;
};

static void resolve_lock_order(const struct cw_lock_order_finding *f, struct resolved *r,
                               struct step_stacks *ss)
{
  r->nlocks = f->n;
  r->locks = cw_alloc(f->n * sizeof *r->locks);
  for (size_t i = 0; i < f->n; i++) {
    const struct cw_finding_step *s = &f->steps[i];
    ss[i].request = add_stack(r, "request", s->thread, (int)s->requests, s->request_stack);
    ss[i].held = add_stack(r, "held", s->thread, (int)s->holds, s->held_stack);
    add_thread(r, s->thread);
  }
  for (size_t i = 0; i < f->n; i++) {
    r->locks[i].lock = &f->locks[i];
    name_lock(&r->locks[i]);
    r->locks[i].first_seen_stack =
        add_stack(r, "lock-first-seen", f->locks[i].first_thread, (int)i, f->locks[i].first_seen);
  }
  for (size_t i = 0; i < r->nthreads; i++) {
    struct rthread *t = &r->threads[i];
    t->created_stack = add_stack(r, "thread-created", t->info.parent, -1, t->info.created_at);
  }
}

static void lock_order_summary(struct cw_buf *b, const struct cw_lock_order_finding *f,
                               const struct resolved *r, const struct step_stacks *ss)
{
  cw_buf_printf(b, "lock-order inversion (potential deadlock) between %zu locks: ", f->n);
  for (size_t i = 0; i < f->n; i++) {
    const struct cw_finding_step *s = &f->steps[i];
    cw_buf_printf(b, "%sT%u takes %s while holding %s at ", i ? "; " : "", s->thread,
                  r->locks[s->requests].name, r->locks[s->holds].name);
    where(b, r, ss[i].request);
  }
}

static void text_lock_order(struct cw_buf *b, const struct cw_lock_order_finding *f,
                            const struct resolved *r, const struct step_stacks *ss, unsigned id)
{
  cw_buf_printf(b, "==%d== concwatch: lock-order-inversion (potential deadlock) #%u\n", (int)getpid(), id);
  cw_buf_puts(b, "  Cycle: ");
  for (size_t i = 0; i < f->n; i++) {
    cw_buf_printf(b, "L%zu %s", i + 1, r->locks[i].name);
    if (r->locks[i].has_name)
      cw_buf_printf(b, " (%s)", cw_lock_kind_name(f->locks[i].kind));
    cw_buf_puts(b, " -> ");
  }
  cw_buf_printf(b, "L1\n  Each thread holds one lock and requests the next; run together they can deadlock.\n\n");
  for (size_t i = 0; i < f->n; i++) {
    const struct cw_finding_step *s = &f->steps[i];
    const struct rlock *held = &r->locks[s->holds], *req = &r->locks[s->requests];
    cw_buf_printf(b, "  Thread T%u requests L%zu %s%s while holding L%zu %s%s:\n", s->thread,
                  s->requests + 1, req->name, mode_word(req->lock->kind, s->requests_modes),
                  s->holds + 1, held->name, mode_word(held->lock->kind, s->holds_modes));
    text_frames(b, r, ss[i].request);
    cw_buf_printf(b, "  L%zu %s was acquired by T%u at:\n", s->holds + 1, held->name, s->thread);
    text_frames(b, r, ss[i].held);
    cw_buf_puts(b, "\n");
  }
  for (size_t i = 0; i < r->nlocks; i++) {
    if (r->locks[i].has_name)
      cw_buf_printf(b, "  L%zu %s (%s at 0x%lx) was first seen at:\n", i + 1, r->locks[i].name,
                    cw_lock_kind_name(f->locks[i].kind), (unsigned long)f->locks[i].addr);
    else
      cw_buf_printf(b, "  L%zu %s was first seen at:\n", i + 1, r->locks[i].name);
    text_frames(b, r, r->locks[i].first_seen_stack);
  }
  cw_buf_puts(b, "\n");
  text_threads(b, r);
  cw_buf_printf(b, "==%d== end of finding #%u\n", (int)getpid(), id);
}

static void json_lock_order(struct cw_buf *b, const struct cw_lock_order_finding *f,
                            const struct resolved *r, const struct step_stacks *ss, unsigned id)
{
  cw_buf_printf(b, "{\"kind\":\"lock-order-inversion\",\"id\":%u,\"pid\":%d,\"summary\":", id, (int)getpid());
  struct cw_buf summary = {0};
  lock_order_summary(&summary, f, r, ss);
  cw_buf_json_string(b, summary.data);
  cw_buf_free(&summary);
  json_locks(b, r);
  json_threads(b, r);
  cw_buf_puts(b, ",\"cycle\":[");
  for (size_t i = 0; i < f->n; i++) {
    const struct cw_finding_step *s = &f->steps[i];
    cw_buf_printf(b, "%s{\"thread\":\"T%u\",\"holds\":\"L%zu\",\"requests\":\"L%zu\"", i ? "," : "",
                  s->thread, s->holds + 1, s->requests + 1);
    json_stack_ref(b, "request_stack", ss[i].request);
    json_stack_ref(b, "held_stack", ss[i].held);
    cw_buf_puts(b, "}");
  }
  cw_buf_puts(b, "]");
  json_stacks(b, r);
  cw_buf_puts(b, "}");
}

void cw_report_lock_order(const struct cw_lock_order_finding *f)
{
  int saved_errno = report_begin_section();
  unsigned id = next_finding_id();
  struct resolved r = {0};
  struct step_stacks *ss = cw_alloc(f->n * sizeof *ss);
  resolve_lock_order(f, &r, ss);
  struct cw_buf text = {0}, json = {0};
  text_lock_order(&text, f, &r, ss, id);
  json_lock_order(&json, f, &r, ss, id);
  emit(&text, &json);
  cw_buf_free(&text);
  cw_buf_free(&json);
  cw_free(ss);
  free_resolved(&r);
  report_end_section(saved_errno);
}
