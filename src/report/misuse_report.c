/* Lock API misuse findings: resolved and rendered as text and JSON. */
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

/* ---- misuse ---- */

void cw_report_misuse(const struct cw_misuse_finding *f)
{
  int saved_errno = report_begin_section();
  unsigned id = next_finding_id();
  struct resolved r;
  report_begin(&r, (f->has_lock ? 1 : 0) + (f->has_other_lock ? 1 : 0));
  add_thread(&r, f->thread);
  if (f->other_thread)
    add_thread(&r, f->other_thread);
  int lock = -1;
  if (f->has_lock) {
    lock = 0;
    r.locks[0].lock = &f->lock;
    name_lock(&r.locks[0]);
    r.locks[0].first_seen_stack = -1;
  }
  if (f->has_other_lock) {
    r.locks[1].lock = &f->other_lock;
    name_lock(&r.locks[1]);
    r.locks[1].first_seen_stack = -1;
  }
  int call = add_stack(&r, "call", f->thread, lock, f->call_stack);
  int earlier = add_stack(&r, "earlier", f->other_thread ? f->other_thread : f->thread, lock, f->earlier_stack);
  add_thread_stacks(&r);

  struct cw_buf summary = {0};
  cw_buf_printf(&summary, "lock misuse (%s): T%u %s", f->misuse, f->thread, f->what);
  if (f->has_lock)
    cw_buf_printf(&summary, " (%s)", r.locks[0].name);
  if (f->error)
    cw_buf_printf(&summary, ": %s returned %s", f->function, f->error);
  cw_buf_puts(&summary, " at ");
  where(&summary, &r, call);

  struct cw_buf text = {0};
  cw_buf_printf(&text, "==%d== concwatch: lock-misuse (%s) #%u\n  Thread T%u %s", (int)getpid(), f->misuse, id,
                f->thread, f->what);
  if (f->has_lock)
    cw_buf_printf(&text, ": L1 %s (%s at 0x%lx)", r.locks[0].name, cw_lock_kind_name(f->lock.kind),
                  (unsigned long)f->lock.addr);
  if (f->has_other_lock)
    cw_buf_printf(&text, "; other waiters use L2 %s", r.locks[1].name);
  if (f->error)
    cw_buf_printf(&text, ": %s returned %s", f->function, f->error);
  cw_buf_puts(&text, ", at:\n");
  text_frames(&text, &r, call);
  if (earlier >= 0) {
    cw_buf_printf(&text, "  %s%s%s", f->has_lock ? "L1 " : "", f->has_lock ? r.locks[0].name : "It",
                  f->has_lock ? " " : " ");
    if (f->other_thread && f->other_thread != f->thread)
      cw_buf_printf(&text, "(T%u) ", f->other_thread);
    cw_buf_printf(&text, "%s:\n", f->earlier_what ? f->earlier_what : "earlier");
    text_frames(&text, &r, earlier);
  }
  cw_buf_puts(&text, "\n");
  text_threads(&text, &r);
  cw_buf_printf(&text, "==%d== end of finding #%u\n", (int)getpid(), id);

  struct cw_buf json = {0};
  json_summary(&json, "lock-misuse", id, summary.data);
  cw_buf_printf(&json, ",\"misuse\":\"%s\",\"function\":", f->misuse);
  cw_buf_json_string(&json, f->function);
  cw_buf_puts(&json, ",\"error\":");
  cw_buf_json_string(&json, f->error);
  json_thread_ref(&json, "thread", f->thread);
  json_thread_ref(&json, "other_thread", f->other_thread);
  json_locks(&json, &r);
  json_threads(&json, &r);
  json_stack_ref(&json, "call_stack", call);
  json_stack_ref(&json, "earlier_stack", earlier);
  json_stacks(&json, &r);
  cw_buf_puts(&json, "}");
  cw_buf_free(&summary);
  deliver(&text, &json);
  free_resolved(&r);
  report_end_section(saved_errno);
}
