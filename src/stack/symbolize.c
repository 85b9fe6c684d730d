#include "symbolize.h"

#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <link.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <unistd.h>

#include "../runtime/alloc.h"
#include "../runtime/options.h"
#include "../runtime/platform.h"
#include "../report/report.h"
#include "../runtime/thread.h"

#include "../runtime/hash.h"

/* Everything here runs under the report lock (reports are written one at a time), so the
 * connection and the caches need no lock of their own. */
static char symbolizer_path[PATH_MAX];
static char exe_path[PATH_MAX];
static int sock = -1;
static pid_t symbolizer_pid;
static bool symbolizer_failed;

struct cached_frame {
  uintptr_t key;
  size_t n;
  struct cw_frame frames[CW_MAX_INLINE_FRAMES];
  UT_hash_handle hh;
};
static struct cached_frame *code_cache;

struct cached_data {
  uintptr_t key;
  const char *name;
  size_t offset, size;
  UT_hash_handle hh;
};
static struct cached_data *data_cache;

void cw_symbolizer_init(void)
{
  if (!cw_executable_path(exe_path, sizeof exe_path)) {
    ssize_t n = readlink("/proc/self/exe", exe_path, sizeof exe_path - 1);
    exe_path[n > 0 ? n : 0] = 0;
  }
  if (cw_opt.symbolizer_path) {
    snprintf(symbolizer_path, sizeof symbolizer_path, "%s", cw_opt.symbolizer_path);
    return;
  }
  Dl_info info;
  cw_runtime_enter();
  int ok = dladdr((void *)&cw_symbolizer_init, &info);
  cw_runtime_leave();
  if (!ok || !info.dli_fname)
    return;
  const char *slash = strrchr(info.dli_fname, '/');
  int dirlen = slash ? (int)(slash - info.dli_fname) : 1;
  snprintf(symbolizer_path, sizeof symbolizer_path, "%.*s/concwatch-symbolizer", dirlen,
           slash ? info.dli_fname : ".");
}

void cw_symbolizer_postfork_child(void)
{
  if (sock >= 0)
    close(sock);
  sock = -1;
  symbolizer_pid = 0; /* the parent's child, not ours */
}

/* At exit the symbolizer sees end of file and ends: reap it, so no zombie is left behind. */
__attribute__((destructor)) static void stop_symbolizer(void)
{
  if (sock < 0 || symbolizer_pid <= 0)
    return;
  int saved_errno = errno;
  close(sock);
  sock = -1;
  for (int i = 0; i < 100 && waitpid(symbolizer_pid, NULL, __WCLONE | WNOHANG) == 0; i++)
    cw_sleep_ms(2);
  errno = saved_errno;
}

struct spawn_args {
  int fd;
  const char *path;
};

/* Runs in the new process, on its own stack, sharing memory with the parent until execve. */
static int symbolizer_child(void *p)
{
  struct spawn_args *a = p;
  dup2(a->fd, 0);
  dup2(a->fd, 1);
  int devnull = open("/dev/null", O_WRONLY);
  if (devnull >= 0 && !getenv("CONCWATCH_SYMBOLIZER_VERBOSE"))
    dup2(devnull, 2);
  char *argv[] = {(char *)a->path, NULL};
  char *envp[] = {NULL};
  execve(a->path, argv, envp);
  _exit(127);
}

/* Start the symbolizer as a "clone child" with no exit signal: it sends the program no
 * SIGCHLD and the program's wait() never sees it, so its own child bookkeeping is unchanged. */
static bool start_symbolizer(void)
{
  if (symbolizer_failed || !symbolizer_path[0])
    return false;
  int fds[2];
  if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds) != 0) {
    symbolizer_failed = true;
    return false;
  }
  size_t stack_size = 64 * 1024;
  char *stack = cw_map(stack_size);
  int child_fd = fcntl(fds[1], F_DUPFD, 0); /* without CLOEXEC: the symbolizer keeps it */
  struct spawn_args args = {child_fd, symbolizer_path};
  pid_t pid = -1;
  if (stack && child_fd >= 0)
    pid = clone(symbolizer_child, stack + stack_size, CLONE_VM | CLONE_VFORK, &args);
  if (stack)
    cw_unmap(stack, stack_size);
  if (child_fd >= 0)
    close(child_fd);
  close(fds[1]);
  if (pid < 0) {
    close(fds[0]);
    symbolizer_failed = true;
    cw_report_warning("cannot start the symbolizer; frames are shown as module+offset");
    return false;
  }
  /* A symbolizer that stops answering must never hang the program. */
  struct timeval limit = {10, 0};
  setsockopt(fds[0], SOL_SOCKET, SO_RCVTIMEO, &limit, sizeof limit);
  setsockopt(fds[0], SOL_SOCKET, SO_SNDTIMEO, &limit, sizeof limit);
  sock = fds[0];
  symbolizer_pid = pid;
  return true;
}

static bool send_all(const char *buf, size_t len)
{
  while (len) {
    ssize_t n = send(sock, buf, len, MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR)
      continue;
    if (n <= 0)
      return false;
    buf += n;
    len -= (size_t)n;
  }
  return true;
}

static bool recv_line(char *buf, size_t cap)
{
  size_t len = 0;
  while (len + 1 < cap) {
    ssize_t n = recv(sock, buf + len, 1, 0);
    if (n < 0 && errno == EINTR)
      continue;
    if (n <= 0)
      return false;
    if (buf[len] == '\n') {
      buf[len] = 0;
      return true;
    }
    len++;
  }
  return false;
}

/* One request/answer round trip; false (and the symbolizer is abandoned) on any failure. */
static bool ask(const char *request, char *answer, size_t cap)
{
  if (!cw_opt.symbolize)
    return false;
  if (sock < 0 && !start_symbolizer())
    return false;
  int saved_errno = errno;
  bool ok = send_all(request, strlen(request)) && recv_line(answer, cap);
  errno = saved_errno;
  if (!ok) {
    close(sock);
    sock = -1;
    symbolizer_failed = true;
    cw_report_warning("the symbolizer stopped answering; frames are shown as module+offset");
  }
  return ok;
}

/* Module path and load bias of the object that maps pc. */
static bool module_of(uintptr_t pc, const char **path, uintptr_t *bias)
{
  Dl_info info;
  struct link_map *lm = NULL;
  cw_runtime_enter();
  int ok = dladdr1((void *)pc, &info, (void **)&lm, RTLD_DL_LINKMAP);
  cw_runtime_leave();
  if (!ok || !lm)
    return false;
  *path = lm->l_name && lm->l_name[0] ? lm->l_name : exe_path;
  *bias = lm->l_addr;
  return true;
}

static const char *intern(const char *s) { return cw_strdup(s); }

/* "function\tfile\tline\tcolumn" groups, innermost first. */
static size_t parse_code_answer(char *answer, const struct cw_frame *base, struct cw_frame *out)
{
  char *fields[4 * CW_MAX_INLINE_FRAMES];
  size_t nfields = 0;
  for (char *p = answer; p && nfields < CW_ARRAY_LEN(fields);) {
    fields[nfields++] = p;
    char *tab = strchr(p, '\t');
    if (tab)
      *tab++ = 0;
    p = tab;
  }
  size_t n = 0;
  for (size_t g = 0; g + 3 < nfields + 1 && g < nfields; g += 4, n++) {
    struct cw_frame *f = &out[n];
    *f = *base;
    if (fields[g][0] && strcmp(fields[g], "??"))
      f->function = intern(fields[g]);
    if (g + 1 < nfields && fields[g + 1][0] && strcmp(fields[g + 1], "??"))
      f->file = intern(fields[g + 1]);
    if (g + 2 < nfields)
      f->line = (int)strtol(fields[g + 2], NULL, 10);
  }
  return n ? n : (out[0] = *base, 1);
}

size_t cw_symbolize_code(uintptr_t pc, bool is_return_address, struct cw_frame out[CW_MAX_INLINE_FRAMES])
{
  uintptr_t lookup = is_return_address ? pc - 1 : pc;
  struct cached_frame *c;
  HASH_FIND(hh, code_cache, &lookup, sizeof lookup, c);
  if (!c) {
    c = cw_alloc(sizeof *c);
    c->key = lookup;
    struct cw_frame base = {pc, "??", NULL, 0, NULL};
    const char *path;
    uintptr_t bias;
    char request[PATH_MAX + 64], answer[8192];
    c->n = 0;
    if (module_of(lookup, &path, &bias)) {
      base.module = intern(path);
      snprintf(request, sizeof request, "C %s 0x%lx\n", path, (unsigned long)(lookup - bias));
      if (ask(request, answer, sizeof answer))
        c->n = parse_code_answer(answer, &base, c->frames);
    }
    if (!c->n) {
      c->frames[0] = base;
      c->n = 1;
    }
    HASH_ADD(hh, code_cache, key, sizeof c->key, c);
  }
  for (size_t i = 0; i < c->n; i++) {
    out[i] = c->frames[i];
    out[i].pc = pc;
  }
  return c->n;
}

bool cw_symbolize_data(uintptr_t addr, const char **name, size_t *offset, size_t *size)
{
  struct cached_data *c;
  HASH_FIND(hh, data_cache, &addr, sizeof addr, c);
  if (!c) {
    c = cw_alloc(sizeof *c);
    c->key = addr;
    const char *path;
    uintptr_t bias;
    char request[PATH_MAX + 64], answer[1024];
    if (module_of(addr, &path, &bias)) {
      snprintf(request, sizeof request, "D %s 0x%lx\n", path, (unsigned long)(addr - bias));
      if (ask(request, answer, sizeof answer)) {
        char *end;
        char *tab = strchr(answer, '\t');
        if (tab)
          *tab = 0;
        if (answer[0] && strcmp(answer, "??")) {
          c->name = intern(answer);
          c->offset = tab ? (size_t)strtoul(tab + 1, &end, 10) : 0;
          c->size = tab && *end == '\t' ? (size_t)strtoul(end + 1, NULL, 10) : 0;
        }
      }
    }
    HASH_ADD(hh, data_cache, key, sizeof c->key, c);
  }
  *name = c->name;
  *offset = c->offset;
  *size = c->size;
  return c->name != NULL;
}

const char *cw_function_name(uintptr_t pc)
{
  Dl_info info;
  const ElfW(Sym) *sym = NULL;
  cw_runtime_enter();
  int ok = dladdr1((void *)(pc - 1), &info, (void **)&sym, RTLD_DL_SYMENT);
  cw_runtime_leave();
  if (!ok || !sym || !info.dli_sname || !info.dli_saddr)
    return NULL;
  uintptr_t start = (uintptr_t)info.dli_saddr;
  if (pc - 1 < start || pc - 1 >= start + sym->st_size)
    return NULL; /* nearest exported symbol, but pc is in some other (static) function */
  return info.dli_sname;
}

const char *cw_module_path(uintptr_t pc)
{
  Dl_info info;
  cw_runtime_enter();
  int ok = dladdr((void *)(pc - 1), &info);
  cw_runtime_leave();
  if (!ok)
    return NULL;
  return info.dli_fname && info.dli_fname[0] ? info.dli_fname : exe_path;
}

struct range_query {
  uintptr_t pc, lo, hi;
  bool found;
};

static int find_range(struct dl_phdr_info *info, size_t size, void *data)
{
  (void)size;
  struct range_query *q = data;
  uintptr_t lo = UINTPTR_MAX, hi = 0;
  for (int i = 0; i < info->dlpi_phnum; i++) {
    const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
    if (ph->p_type != PT_LOAD)
      continue;
    uintptr_t start = info->dlpi_addr + ph->p_vaddr;
    if (start < lo)
      lo = start;
    if (start + ph->p_memsz > hi)
      hi = start + ph->p_memsz;
  }
  if (q->pc >= lo && q->pc < hi) {
    q->lo = lo;
    q->hi = hi;
    q->found = true;
    return 1;
  }
  return 0;
}

bool cw_module_range(uintptr_t pc, uintptr_t *lo, uintptr_t *hi)
{
  struct range_query q = {pc, 0, 0, false};
  cw_runtime_enter();
  dl_iterate_phdr(find_range, &q);
  cw_runtime_leave();
  *lo = q.lo;
  *hi = q.hi;
  return q.found;
}
