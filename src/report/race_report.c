/* Data-race findings: the memory's location (global, heap block, a thread's stack), both
 * accesses, rendered as text and JSON. */
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
#include "../race/race.h"
#include "../sample/sample.h"
#include "../runtime/seen.h"

/* ---- data races ---- */

struct location {
  const char *kind; /* "global", "heap", "stack", "unknown" */
  char name[160];
  bool has_name;
  size_t offset;
  uint32_t thread; /* stack: whose */
  bool has_block;  /* heap: the block, when instrumented code allocated it */
  uintptr_t block_start;
  size_t block_size;
  cw_stack_id block_stack;
};

struct stack_owner {
  uintptr_t addr;
  uint32_t thread;
};

static void stack_owner_cb(struct cw_thread *t, void *arg)
{
  struct stack_owner *q = arg;
  if (!q->thread && t->stack_hi > t->stack_lo && q->addr >= t->stack_lo && q->addr < t->stack_hi)
    q->thread = t->id;
}

static void locate(uintptr_t addr, struct location *loc)
{
  const char *sym;
  size_t off, size;
  memset(loc, 0, sizeof *loc);
  if (cw_symbolize_data(addr, &sym, &off, &size)) {
    loc->kind = "global";
    loc->has_name = true;
    loc->offset = off;
    if (off == 0)
      snprintf(loc->name, sizeof loc->name, "%s", sym);
    else
      snprintf(loc->name, sizeof loc->name, "%s+%zu", sym, off);
    return;
  }
  if (cw_race_find_block(addr, &loc->block_start, &loc->block_size, &loc->block_stack)) {
    loc->kind = "heap";
    loc->has_block = true;
    loc->offset = addr - loc->block_start;
    return;
  }
  uintptr_t alloc_pc;
  if (cw_sample_find_block(addr, &loc->block_start, &loc->block_size, &alloc_pc)) {
    loc->kind = "heap";
    loc->has_block = true;
    loc->offset = addr - loc->block_start;
    loc->block_stack = cw_stack_intern(&alloc_pc, 1); /* the allocating call only */
    return;
  }
  struct stack_owner q = {addr, 0};
  cw_threads_lock();
  cw_threads_foreach(stack_owner_cb, &q);
  cw_threads_unlock();
  char mapping[256] = "";
  bool mapped = cw_mapping_of(addr, mapping, sizeof mapping);
  if (!q.thread && mapped && !strcmp(mapping, "[stack]"))
    q.thread = 1; /* the main thread's stack */
  if (q.thread) {
    loc->kind = "stack";
    loc->thread = q.thread;
  } else if (mapped && (!strcmp(mapping, "[heap]") || mapping[0] == 0)) {
    loc->kind = "heap";
  } else {
    loc->kind = "unknown";
  }
}

/* Each distinct race is reported once: distinct by the pair of source lines (a `counter++`
 * is a read and a write at one line: one race, not two). */
static struct cw_seen seen_races = CW_SEEN_INIT;

static uint64_t line_key(const struct resolved *r, int stack)
{
  if (stack < 0 || !r->stacks[stack].nframes)
    return 0;
  const struct cw_frame *f = &r->stacks[stack].frames[0];
  uint64_t h = 1469598103934665603ull;
  for (const char *p = f->file ? f->file : f->function; p && *p; p++)
    h = (h ^ (unsigned char)*p) * 1099511628211ull;
  uint64_t where_in = f->file ? (uint64_t)f->line : (uint64_t)f->pc;
  return h ^ (where_in * 0x9e3779b97f4a7c15ull);
}

static bool race_seen_before(const struct resolved *r, int a, int b)
{
  uint64_t ka = line_key(r, a), kb = line_key(r, b);
  return cw_seen_before(&seen_races, ka < kb ? ka * 31 + kb : kb * 31 + ka);
}

/* The locks recorded with an access (after CW_RACE_LOCKS_MARK in its stack), added to the
 * finding's locks; their indexes go to out. */
static size_t access_locks(struct resolved *r, struct cw_finding_lock *store, size_t *nstore, cw_stack_id stack,
                           int *out, size_t max)
{
  const uintptr_t *pcs;
  size_t n = cw_stack_get(stack, &pcs), count = 0, i = 0;
  while (i < n && pcs[i] != CW_RACE_LOCKS_MARK)
    i++;
  for (i++; i < n && count < max; i++) {
    uintptr_t addr = pcs[i] & ~(uintptr_t)3;
    size_t k = 0;
    while (k < *nstore && store[k].addr != addr)
      k++;
    if (k == *nstore && *nstore < 16)
      store[(*nstore)++] = (struct cw_finding_lock){addr, (uint8_t)(pcs[i] & 3), 0, 0};
    if (k < *nstore)
      out[count++] = (int)k;
  }
  (void)r;
  return count;
}

static void json_access(struct cw_buf *b, const struct cw_race_access *a, int stack, const int *locks, size_t nlocks)
{
  cw_buf_printf(b, "{\"thread\":\"T%u\",\"type\":\"%s\",\"atomic\":%s,\"size\":%u", a->thread,
                a->write ? "write" : "read", a->atomic ? "true" : "false", a->size);
  cw_buf_puts(b, ",\"locks_held\":[");
  for (size_t i = 0; i < nlocks; i++)
    cw_buf_printf(b, "%s\"L%d\"", i ? "," : "", locks[i] + 1);
  cw_buf_puts(b, "]");
  json_stack_ref(b, "stack", stack);
  cw_buf_puts(b, "}");
}

static void text_access(struct cw_buf *b, const char *which, const struct cw_race_access *a, int stack,
                        const struct resolved *r, const int *locks, size_t nlocks)
{
  cw_buf_printf(b, "  %s %s%s of size %u by thread T%u", which, a->atomic ? "atomic " : "",
                a->write ? "write" : "read", a->size, a->thread);
  if (nlocks) {
    cw_buf_puts(b, ", holding");
    for (size_t i = 0; i < nlocks; i++)
      cw_buf_printf(b, " L%d %s", locks[i] + 1, r->locks[locks[i]].name);
  } else {
    cw_buf_puts(b, ", holding no lock");
  }
  cw_buf_puts(b, ":\n");
  text_frames(b, r, stack);
}

void cw_report_race(const struct cw_race_finding *f)
{
  int saved_errno = report_begin_section();
  struct resolved r;
  struct cw_finding_lock held[16];
  size_t nheld = 0;
  int cur_locks[8], prev_locks[8];
  size_t ncur = access_locks(&r, held, &nheld, f->current.stack, cur_locks, 8);
  size_t nprev = access_locks(&r, held, &nheld, f->previous.stack, prev_locks, 8);
  report_begin(&r, nheld);
  for (size_t i = 0; i < nheld; i++) {
    r.locks[i].lock = &held[i];
    name_lock(&r.locks[i]);
    r.locks[i].first_seen_stack = -1;
  }
  add_thread(&r, f->current.thread);
  add_thread(&r, f->previous.thread);
  int cur = add_stack(&r, "access", f->current.thread, -1, f->current.stack);
  int prev = add_stack(&r, "access", f->previous.thread, -1, f->previous.stack);
  if (race_seen_before(&r, cur, prev)) {
    free_resolved(&r);
    report_end_section(saved_errno);
    return;
  }
  unsigned id = next_finding_id();
  struct location loc;
  locate(f->addr, &loc);
  if (loc.thread)
    add_thread(&r, loc.thread);
  int block = loc.has_block ? add_stack(&r, "allocated", 0, -1, loc.block_stack) : -1;
  add_thread_stacks(&r);

  struct cw_buf what = {0};
  if (loc.has_name)
    cw_buf_printf(&what, "global '%s'", loc.name);
  else if (loc.thread)
    cw_buf_printf(&what, "a variable on the stack of T%u", loc.thread);
  else if (loc.has_block)
    cw_buf_printf(&what, "offset %zu of a %zu-byte heap block", loc.offset, loc.block_size);
  else
    cw_buf_printf(&what, "%s memory", loc.kind);

  struct cw_buf summary = {0};
  cw_buf_printf(&summary, "data race on %s (0x%lx, %zu bytes): %s by T%u at ", what.data, (unsigned long)f->addr,
                f->size, f->current.write ? "write" : "read", f->current.thread);
  where(&summary, &r, cur);
  cw_buf_printf(&summary, " and earlier %s by T%u at ", f->previous.write ? "write" : "read", f->previous.thread);
  where(&summary, &r, prev);

  struct cw_buf text = {0};
  cw_buf_printf(&text, "==%d== concwatch: data-race #%u\n  Data race on %s at 0x%lx (%zu bytes).\n\n", (int)getpid(),
                id, what.data, (unsigned long)f->addr, f->size);
  text_access(&text, "This", &f->current, cur, &r, cur_locks, ncur);
  text_access(&text, "Earlier", &f->previous, prev, &r, prev_locks, nprev);
  if (block >= 0) {
    cw_buf_printf(&text, "  The %zu-byte heap block at 0x%lx was allocated at:\n", loc.block_size,
                  (unsigned long)loc.block_start);
    text_frames(&text, &r, block);
  }
  if (f->sampled)
    cw_buf_printf(&text,
                  "  Caught in the act by sampling: T%u was held right after its access, and T%u accessed the same\n"
                  "  memory meanwhile, so nothing T%u did afterwards can order the two (no lock, atomic or other\n"
                  "  synchronization between them).\n\n",
                  f->previous.thread, f->current.thread, f->previous.thread);
  else
    cw_buf_puts(&text, "  Nothing orders these two accesses (no lock, atomic, join or other synchronization between them).\n\n");
  text_threads(&text, &r);
  cw_buf_printf(&text, "==%d== end of finding #%u\n", (int)getpid(), id);

  struct cw_buf json = {0};
  json_summary(&json, "data-race", id, summary.data);
  cw_buf_printf(&json, ",\"sampled\":%s,\"address\":\"0x%lx\",\"size\":%zu,\"location\":{\"kind\":\"%s\",\"name\":",
                f->sampled ? "true" : "false", (unsigned long)f->addr, f->size, loc.kind);
  cw_buf_json_string(&json, loc.has_name ? loc.name : NULL);
  if (loc.has_name || loc.has_block)
    cw_buf_printf(&json, ",\"offset\":%zu", loc.offset);
  else
    cw_buf_puts(&json, ",\"offset\":null");
  json_thread_ref(&json, "thread", loc.thread);
  if (loc.has_block)
    cw_buf_printf(&json, ",\"block_size\":%zu", loc.block_size);
  else
    cw_buf_puts(&json, ",\"block_size\":null");
  json_stack_ref(&json, "block_stack", block);
  cw_buf_puts(&json, "},\"accesses\":[");
  json_access(&json, &f->current, cur, cur_locks, ncur);
  cw_buf_puts(&json, ",");
  json_access(&json, &f->previous, prev, prev_locks, nprev);
  cw_buf_puts(&json, "]");
  json_locks(&json, &r);
  json_threads(&json, &r);
  json_stacks(&json, &r);
  cw_buf_puts(&json, "}");
  cw_buf_free(&what);
  cw_buf_free(&summary);
  deliver(&text, &json);
  free_resolved(&r);
  report_end_section(saved_errno);
}
