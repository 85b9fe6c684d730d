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
#include "render.h"
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

int add_stack(struct resolved *r, const char *role, uint32_t thread, int lock, cw_stack_id id)
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

size_t lock_size(uint8_t kind)
{
  switch (kind) {
  case CW_LOCK_MUTEX: return sizeof(pthread_mutex_t);
  case CW_LOCK_RWLOCK: return sizeof(pthread_rwlock_t);
  case CW_LOCK_SPIN: return sizeof(pthread_spinlock_t);
  default: return sizeof(sem_t);
  }
}

/* "lock_a", "forks[2]" (an array of locks), "table+8" (a lock inside a struct). */
void name_lock(struct rlock *l)
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

void add_thread(struct resolved *r, uint32_t id)
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

void free_resolved(struct resolved *r)
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

const char *base_name(const char *path)
{
  const char *slash = path ? strrchr(path, '/') : NULL;
  return slash ? slash + 1 : path;
}

void text_frames(struct cw_buf *b, const struct resolved *r, int stack)
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

void json_stacks(struct cw_buf *b, const struct resolved *r)
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

void json_stack_ref(struct cw_buf *b, const char *key, int stack)
{
  if (stack >= 0)
    cw_buf_printf(b, ",\"%s\":%d", key, stack);
  else
    cw_buf_printf(b, ",\"%s\":null", key);
}

void json_locks(struct cw_buf *b, const struct resolved *r)
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

void json_threads(struct cw_buf *b, const struct resolved *r)
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

void text_threads(struct cw_buf *b, const struct resolved *r)
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

void emit(struct cw_buf *text, struct cw_buf *json)
{
  cw_output_text(text->data, text->len);
  cw_output_json_finding(json->data, json->len);
}

void where(struct cw_buf *b, const struct resolved *r, int stack)
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

/* Every report runs with the engine's own code untracked, one report at a time, and leaves
 * errno as it found it. */
int report_begin_section(void)
{
  int saved_errno = errno;
  cw_runtime_enter();
  cw_lock_acquire(&report_lock);
  return saved_errno;
}

void report_end_section(int saved_errno)
{
  cw_lock_release(&report_lock);
  cw_runtime_leave();
  errno = saved_errno;
}

unsigned next_finding_id(void) { return atomic_fetch_add(&findings, 1) + 1; }

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

const char *wait_kind_name(uint8_t kind)
{
  static const char *names[] = {"none", "lock", "condition", "semaphore", "barrier", "join"};
  return kind < CW_ARRAY_LEN(names) ? names[kind] : "wait";
}

const char *mode_name(uint8_t mode)
{
  return mode == CW_MODE_READ ? "read" : "write";
}

void report_begin(struct resolved *r, size_t nlocks)
{
  memset(r, 0, sizeof *r);
  r->nlocks = nlocks;
  r->locks = cw_alloc((nlocks ? nlocks : 1) * sizeof *r->locks);
}

void add_thread_stacks(struct resolved *r)
{
  for (size_t i = 0; i < r->nthreads; i++) {
    struct rthread *t = &r->threads[i];
    t->created_stack = add_stack(r, "thread-created", t->info.parent, -1, t->info.created_at);
  }
}

void deliver(struct cw_buf *text, struct cw_buf *json)
{
  emit(text, json);
  cw_buf_free(text);
  cw_buf_free(json);
}

void json_thread_ref(struct cw_buf *b, const char *key, uint32_t thread)
{
  if (thread)
    cw_buf_printf(b, ",\"%s\":\"T%u\"", key, thread);
  else
    cw_buf_printf(b, ",\"%s\":null", key);
}

void json_lock_ref(struct cw_buf *b, const char *key, int lock)
{
  if (lock >= 0)
    cw_buf_printf(b, ",\"%s\":\"L%d\"", key, lock + 1);
  else
    cw_buf_printf(b, ",\"%s\":null", key);
}

void json_summary(struct cw_buf *b, const char *kind, unsigned id, const char *summary)
{
  cw_buf_printf(b, "{\"kind\":\"%s\",\"id\":%u,\"pid\":%d,\"summary\":", kind, id, (int)getpid());
  cw_buf_json_string(b, summary);
}
