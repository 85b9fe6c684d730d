/* Turning findings into text and JSON. A finding is first resolved (names, symbolized
 * stacks), then rendered twice from the same resolved form. */
#include "report.h"

#include <errno.h>
#include <limits.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <pthread.h>
#include <semaphore.h>
#include <fcntl.h>
#include <unistd.h>

#include "../engine.h"
#include "../runtime/alloc.h"
#include "../runtime/options.h"
#include "../stack/stack.h"
#include "../stack/symbolize.h"
#include "output.h"
#include "strbuf.h"
#include "../runtime/seen.h"
#include "../race/race.h"

static cw_lock_t report_lock = CW_LOCK_INIT;
static _Atomic unsigned findings;
static char cwd[PATH_MAX];
static size_t cwd_len;

struct warned {
  char text[160];
};
static struct warned warned[16];
static size_t nwarned;

void cw_report_init(void)
{
  if (getcwd(cwd, sizeof cwd - 1)) {
    cwd_len = strlen(cwd);
    cwd[cwd_len++] = '/';
    cwd[cwd_len] = 0;
  }
  cw_output_init();
}

unsigned cw_report_findings(void) { return atomic_load(&findings); }

/* ---- resolved form ---- */

struct rstack {
  const char *role; /* "request", "held", "lock-first-seen", "thread-created", ... */
  uint32_t thread;
  int lock;         /* index into locks, -1 if none */
  cw_stack_id id;
  struct cw_frame *frames;
  size_t nframes;
  size_t trimmed;   /* interpreter frames left out (Python programs) */
};

struct rlock {
  const struct cw_finding_lock *lock;
  char name[160];
  bool has_name;
  int first_seen_stack;
};

struct rthread {
  struct cw_thread_info info;
  int created_stack;
};

struct resolved {
  struct rlock *locks;
  size_t nlocks;
  struct rthread threads[64];
  size_t nthreads;
  struct rstack *stacks;
  size_t nstacks, stacks_cap;
};

static bool frame_is_ours(const struct cw_frame *f, const char *self_module)
{
  return f->module && self_module && !strcmp(f->module, self_module);
}

/* The C runtime's frames below main and below a thread's start function. */
static bool is_runtime_start(const char *function)
{
  static const char *names[] = {"start_thread", "clone3", "__clone3", "clone", "__clone", "_start",
                                "__libc_start_main", "__libc_start_main_impl", "__libc_start_call_main"};
  for (size_t i = 0; i < CW_ARRAY_LEN(names); i++)
    if (!strcmp(function, names[i]))
      return true;
  return false;
}

/* Frames shown: the program's, from the intercepted call up to main (or the thread's start);
 * concwatch's own frames (the thread trampoline) and the C runtime below main are left out. */
static void resolve_frames(struct rstack *s)
{
  static const char *self_module;
  if (!self_module) {
    struct cw_frame me[CW_MAX_INLINE_FRAMES];
    cw_symbolize_code((uintptr_t)&resolve_frames, false, me);
    self_module = me[0].module;
  }
  const uintptr_t *pcs;
  size_t n = cw_stack_get(s->id, &pcs);
  size_t cap = 0;
  s->frames = NULL;
  s->nframes = 0;
  bool reached_main = false;
  for (size_t i = 0; i < n && !reached_main && pcs[i] != CW_RACE_LOCKS_MARK; i++) {
    struct cw_frame at[CW_MAX_INLINE_FRAMES];
    size_t k = cw_symbolize_code(pcs[i], true, at);
    for (size_t j = 0; j < k && !reached_main; j++) {
      if (frame_is_ours(&at[j], self_module) || is_runtime_start(at[j].function))
        continue;
      CW_GROW(s->frames, cap, s->nframes + 1);
      s->frames[s->nframes++] = at[j];
      reached_main = !strcmp(at[j].function, "main");
    }
  }
}

/* In a Python program every stack runs through the interpreter's evaluation loop: dozens of
 * frames that say nothing about the program. Frames of the interpreter (libpython, or a
 * python executable) are kept up to its call machinery (the lock primitive and the builtin
 * that called it); from there on, interpreter frames are counted, not shown. */
static bool is_interpreter_module(const char *module)
{
  const char *base = module ? strrchr(module, '/') : NULL;
  base = base ? base + 1 : module;
  return base && (!strncmp(base, "libpython", 9) || !strncmp(base, "python", 6));
}

static bool is_interpreter_machinery(const char *function)
{
  return !strncmp(function, "_PyEval_", 8) || !strncmp(function, "_PyObject_", 10) ||
         !strncmp(function, "PyObject_", 9) || !strcmp(function, "cfunction_call") ||
         !strncmp(function, "cfunction_vectorcall", 20) || !strcmp(function, "method_vectorcall");
}

static void trim_interpreter_frames(struct rstack *s)
{
  size_t keep = s->nframes;
  for (size_t i = 0; i < s->nframes; i++)
    if (is_interpreter_module(s->frames[i].module) && is_interpreter_machinery(s->frames[i].function)) {
      keep = i;
      break;
    }
  if (keep == s->nframes)
    return;
  size_t out = keep;
  for (size_t i = keep; i < s->nframes; i++) {
    if (is_interpreter_module(s->frames[i].module))
      s->trimmed++;
    else
      s->frames[out++] = s->frames[i];
  }
  s->nframes = out;
}

static int add_stack(struct resolved *r, const char *role, uint32_t thread, int lock, cw_stack_id id)
{
  if (!id)
    return -1;
  for (size_t i = 0; i < r->nstacks; i++) /* the same stack in the same role is listed once */
    if (r->stacks[i].id == id && !strcmp(r->stacks[i].role, role) && r->stacks[i].thread == thread)
      return (int)i;
  CW_GROW(r->stacks, r->stacks_cap, r->nstacks + 1);
  struct rstack *s = &r->stacks[r->nstacks];
  *s = (struct rstack){role, thread, lock, id, NULL, 0, 0};
  resolve_frames(s);
  trim_interpreter_frames(s);
  return (int)r->nstacks++;
}

static size_t lock_size(uint8_t kind)
{
  switch (kind) {
  case CW_LOCK_MUTEX: return sizeof(pthread_mutex_t);
  case CW_LOCK_RWLOCK: return sizeof(pthread_rwlock_t);
  case CW_LOCK_SPIN: return sizeof(pthread_spinlock_t);
  default: return sizeof(sem_t);
  }
}

/* "lock_a", "forks[2]" (an array of locks), "table+8" (a lock inside a struct). */
static void name_lock(struct rlock *l)
{
  const char *sym;
  size_t off, size, elem = lock_size(l->lock->kind);
  l->has_name = cw_symbolize_data(l->lock->addr, &sym, &off, &size);
  if (!l->has_name)
    snprintf(l->name, sizeof l->name, "%s at 0x%lx", cw_lock_kind_name(l->lock->kind),
             (unsigned long)l->lock->addr);
  else if (off == 0 && size <= elem)
    snprintf(l->name, sizeof l->name, "%s", sym);
  else if (off % elem == 0 && size % elem == 0)
    snprintf(l->name, sizeof l->name, "%s[%zu]", sym, off / elem);
  else
    snprintf(l->name, sizeof l->name, "%s+%zu", sym, off);
}

static void add_thread(struct resolved *r, uint32_t id)
{
  for (size_t i = 0; i < r->nthreads; i++)
    if (r->threads[i].info.id == id)
      return;
  if (r->nthreads == CW_ARRAY_LEN(r->threads))
    return;
  struct rthread *t = &r->threads[r->nthreads];
  if (!cw_thread_info(id, &t->info))
    return;
  t->created_stack = -1;
  r->nthreads++;
}

static void free_resolved(struct resolved *r)
{
  for (size_t i = 0; i < r->nstacks; i++)
    cw_free(r->stacks[i].frames);
  cw_free(r->stacks);
  cw_free(r->locks);
}

/* ---- shared rendering helpers ---- */

static const char *short_path(const char *path)
{
  if (path && cwd_len && !strncmp(path, cwd, cwd_len))
    return path + cwd_len;
  return path;
}

static const char *base_name(const char *path)
{
  const char *slash = path ? strrchr(path, '/') : NULL;
  return slash ? slash + 1 : path;
}

static void text_frames(struct cw_buf *b, const struct resolved *r, int stack)
{
  if (stack < 0) {
    cw_buf_puts(b, "    (no stack)\n");
    return;
  }
  const struct rstack *s = &r->stacks[stack];
  for (size_t i = 0; i < s->nframes; i++) {
    const struct cw_frame *f = &s->frames[i];
    cw_buf_printf(b, "    #%zu %s", i, f->function);
    if (f->file)
      cw_buf_printf(b, " (%s:%d)", short_path(f->file), f->line);
    if (f->module)
      cw_buf_printf(b, " in %s", base_name(f->module));
    cw_buf_printf(b, " [0x%lx]\n", (unsigned long)f->pc);
  }
  if (s->trimmed)
    cw_buf_printf(b, "    ... %zu Python interpreter frames not shown\n", s->trimmed);
}

static void json_frames(struct cw_buf *b, const struct rstack *s)
{
  cw_buf_puts(b, "[");
  for (size_t i = 0; i < s->nframes; i++) {
    const struct cw_frame *f = &s->frames[i];
    cw_buf_puts(b, i ? ",{\"function\":" : "{\"function\":");
    cw_buf_json_string(b, f->function);
    cw_buf_puts(b, ",\"file\":");
    cw_buf_json_string(b, f->file);
    cw_buf_printf(b, ",\"line\":%d,\"module\":", f->line);
    cw_buf_json_string(b, f->module);
    cw_buf_printf(b, ",\"pc\":\"0x%lx\"}", (unsigned long)f->pc);
  }
  cw_buf_puts(b, "]");
}

static void json_stacks(struct cw_buf *b, const struct resolved *r)
{
  cw_buf_puts(b, ",\"stacks\":[");
  for (size_t i = 0; i < r->nstacks; i++) {
    const struct rstack *s = &r->stacks[i];
    cw_buf_printf(b, "%s{\"id\":%zu,\"role\":\"%s\",\"thread\":", i ? "," : "", i, s->role);
    if (s->thread)
      cw_buf_printf(b, "\"T%u\"", s->thread);
    else
      cw_buf_puts(b, "null");
    cw_buf_puts(b, ",\"lock\":");
    if (s->lock >= 0)
      cw_buf_printf(b, "\"L%d\"", s->lock + 1);
    else
      cw_buf_puts(b, "null");
    cw_buf_puts(b, ",\"frames\":");
    json_frames(b, s);
    cw_buf_printf(b, ",\"trimmed_frames\":%zu}", s->trimmed);
  }
  cw_buf_puts(b, "]");
}

static void json_stack_ref(struct cw_buf *b, const char *key, int stack)
{
  if (stack >= 0)
    cw_buf_printf(b, ",\"%s\":%d", key, stack);
  else
    cw_buf_printf(b, ",\"%s\":null", key);
}

static void json_locks(struct cw_buf *b, const struct resolved *r)
{
  cw_buf_puts(b, ",\"locks\":[");
  for (size_t i = 0; i < r->nlocks; i++) {
    const struct rlock *l = &r->locks[i];
    cw_buf_printf(b, "%s{\"id\":\"L%zu\",\"address\":\"0x%lx\",\"type\":\"%s\",\"name\":", i ? "," : "",
                  i + 1, (unsigned long)l->lock->addr, cw_lock_kind_name(l->lock->kind));
    cw_buf_json_string(b, l->has_name ? l->name : NULL);
    json_stack_ref(b, "first_seen_stack", l->first_seen_stack);
    cw_buf_puts(b, "}");
  }
  cw_buf_puts(b, "]");
}

static void json_threads(struct cw_buf *b, const struct resolved *r)
{
  cw_buf_puts(b, ",\"threads\":[");
  for (size_t i = 0; i < r->nthreads; i++) {
    const struct rthread *t = &r->threads[i];
    cw_buf_printf(b, "%s{\"id\":\"T%u\",\"tid\":%d,\"name\":", i ? "," : "", t->info.id,
                  (int)t->info.tid);
    cw_buf_json_string(b, t->info.name[0] ? t->info.name : NULL);
    if (t->info.parent)
      cw_buf_printf(b, ",\"parent\":\"T%u\"", t->info.parent);
    else
      cw_buf_puts(b, ",\"parent\":null");
    json_stack_ref(b, "created_stack", t->created_stack);
    cw_buf_puts(b, "}");
  }
  cw_buf_puts(b, "]");
}

static void text_threads(struct cw_buf *b, const struct resolved *r)
{
  for (size_t i = 0; i < r->nthreads; i++) {
    const struct rthread *t = &r->threads[i];
    cw_buf_printf(b, "  Thread T%u (tid %d%s%s)", t->info.id, (int)t->info.tid,
                  t->info.name[0] ? ", " : "", t->info.name);
    if (t->created_stack < 0) {
      cw_buf_puts(b, t->info.parent ? " was created by an unknown thread.\n"
                                    : " is the main thread (or one concwatch did not see start).\n");
      continue;
    }
    cw_buf_printf(b, " was created by T%u at:\n", t->info.parent);
    text_frames(b, r, t->created_stack);
  }
}

static void emit(struct cw_buf *text, struct cw_buf *json)
{
  cw_output_text(text->data, text->len);
  cw_output_json_finding(json->data, json->len);
}

static void where(struct cw_buf *b, const struct resolved *r, int stack)
{
  if (stack < 0 || !r->stacks[stack].nframes) {
    cw_buf_puts(b, "an unknown place");
    return;
  }
  const struct cw_frame *f = &r->stacks[stack].frames[0];
  cw_buf_printf(b, "%s", f->function);
  if (f->file)
    cw_buf_printf(b, " (%s:%d)", base_name(f->file), f->line);
}

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

/* Every report runs with the engine's own code untracked, one report at a time, and leaves
 * errno as it found it. */
static int report_begin_section(void)
{
  int saved_errno = errno;
  cw_runtime_enter();
  cw_lock_acquire(&report_lock);
  return saved_errno;
}

static void report_end_section(int saved_errno)
{
  cw_lock_release(&report_lock);
  cw_runtime_leave();
  errno = saved_errno;
}

static unsigned next_finding_id(void) { return atomic_fetch_add(&findings, 1) + 1; }

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

void cw_report_warning(const char *msg)
{
  for (size_t i = 0; i < nwarned; i++)
    if (!strcmp(warned[i].text, msg))
      return;
  if (nwarned < CW_ARRAY_LEN(warned))
    snprintf(warned[nwarned++].text, sizeof warned[0].text, "%s", msg);
  char line[256];
  int n = snprintf(line, sizeof line, "concwatch: warning: %s\n", msg);
  cw_write_all(2, line, (size_t)n);
}

void cw_report_prefork(void) { cw_lock_acquire(&report_lock); }

void cw_report_postfork(int in_child)
{
  if (in_child) {
    cw_lock_reset(&report_lock);
    cw_output_postfork_child();
  } else {
    cw_lock_release(&report_lock);
  }
}

/* ---- shared by deadlock and misuse findings ---- */

static const char *wait_kind_name(uint8_t kind)
{
  static const char *names[] = {"none", "lock", "condition", "semaphore", "barrier", "join"};
  return kind < CW_ARRAY_LEN(names) ? names[kind] : "wait";
}

static const char *mode_name(uint8_t mode)
{
  return mode == CW_MODE_READ ? "read" : "write";
}

static void report_begin(struct resolved *r, size_t nlocks)
{
  memset(r, 0, sizeof *r);
  r->nlocks = nlocks;
  r->locks = cw_alloc((nlocks ? nlocks : 1) * sizeof *r->locks);
}

static void add_thread_stacks(struct resolved *r)
{
  for (size_t i = 0; i < r->nthreads; i++) {
    struct rthread *t = &r->threads[i];
    t->created_stack = add_stack(r, "thread-created", t->info.parent, -1, t->info.created_at);
  }
}

static void deliver(struct cw_buf *text, struct cw_buf *json)
{
  emit(text, json);
  cw_buf_free(text);
  cw_buf_free(json);
}

static void json_thread_ref(struct cw_buf *b, const char *key, uint32_t thread)
{
  if (thread)
    cw_buf_printf(b, ",\"%s\":\"T%u\"", key, thread);
  else
    cw_buf_printf(b, ",\"%s\":null", key);
}

static void json_lock_ref(struct cw_buf *b, const char *key, int lock)
{
  if (lock >= 0)
    cw_buf_printf(b, ",\"%s\":\"L%d\"", key, lock + 1);
  else
    cw_buf_printf(b, ",\"%s\":null", key);
}

static void json_summary(struct cw_buf *b, const char *kind, unsigned id, const char *summary)
{
  cw_buf_printf(b, "{\"kind\":\"%s\",\"id\":%u,\"pid\":%d,\"summary\":", kind, id, (int)getpid());
  cw_buf_json_string(b, summary);
}

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

/* The mapping of /proc/self/maps that holds addr: its name ("[heap]", "[stack]", a path, or
 * empty for anonymous memory). Read without stdio: no malloc. */
static bool mapping_of(uintptr_t addr, char *name, size_t cap)
{
  int fd = open("/proc/self/maps", O_RDONLY | O_CLOEXEC);
  if (fd < 0)
    return false;
  char buf[8192], line[1024];
  size_t len = 0;
  bool found = false;
  ssize_t n;
  while (!found && (n = read(fd, buf, sizeof buf)) > 0) {
    for (ssize_t i = 0; i < n && !found; i++) {
      if (buf[i] != '\n') {
        if (len + 1 < sizeof line)
          line[len++] = buf[i];
        continue;
      }
      line[len] = 0;
      len = 0;
      unsigned long lo, hi;
      int pos = 0;
      if (sscanf(line, "%lx-%lx %*s %*s %*s %*s %n", &lo, &hi, &pos) >= 2 && addr >= lo && addr < hi) {
        snprintf(name, cap, "%s", pos > 0 ? line + pos : "");
        found = true;
      }
    }
  }
  close(fd);
  return found;
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
  struct stack_owner q = {addr, 0};
  cw_threads_lock();
  cw_threads_foreach(stack_owner_cb, &q);
  cw_threads_unlock();
  char mapping[256] = "";
  bool mapped = mapping_of(addr, mapping, sizeof mapping);
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
  cw_buf_puts(&text, "  Nothing orders these two accesses (no lock, atomic, join or other synchronization between them).\n\n");
  text_threads(&text, &r);
  cw_buf_printf(&text, "==%d== end of finding #%u\n", (int)getpid(), id);

  struct cw_buf json = {0};
  json_summary(&json, "data-race", id, summary.data);
  cw_buf_printf(&json, ",\"address\":\"0x%lx\",\"size\":%zu,\"location\":{\"kind\":\"%s\",\"name\":",
                (unsigned long)f->addr, f->size, loc.kind);
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
