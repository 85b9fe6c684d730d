#include "output.h"

#include <fcntl.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../runtime/options.h"
#include "../runtime/platform.h"
#include "strbuf.h"

#define JSON_TAIL "\n]}\n"
#define JSON_TAIL_LEN 4

struct sink {
  const char *pattern; /* option value, NULL when not configured */
  char path[PATH_MAX];
  bool is_json;
  bool ready;          /* the file for this process exists and may be appended to */
};

static struct sink text_sink, json_sink;

void cw_output_expand_path(const char *pattern, int pid, char *out, size_t cap)
{
  size_t n = 0;
  for (const char *p = pattern; *p && n + 1 < cap; p++) {
    if (p[0] == '%' && p[1] == 'p') {
      n += (size_t)snprintf(out + n, cap - n, "%d", pid);
      p++;
    } else if (p[0] == '%' && p[1] == '%') {
      out[n++] = '%';
      p++;
    } else {
      out[n++] = *p;
    }
    if (n >= cap)
      n = cap - 1;
  }
  out[n] = 0;
}

/* The pid written at the top of an existing report file, or -1. Text reports start with
 * "==PID==", the JSON document with {"tool":...,"pid":PID. */
static long owner_pid(int fd, bool is_json)
{
  char head[256];
  ssize_t n = pread(fd, head, sizeof head - 1, 0);
  if (n <= 0)
    return -1;
  head[n] = 0;
  if (!is_json)
    return head[0] == '=' && head[1] == '=' ? strtol(head + 2, NULL, 10) : -1;
  const char *p = strstr(head, "\"pid\":");
  return p ? strtol(p + 6, NULL, 10) : -1;
}

static void fatal_path(const struct sink *s)
{
  char msg[PATH_MAX + 128];
  int n = snprintf(msg, sizeof msg, "concwatch: cannot write the %s report to '%s'; exiting\n",
                   s->is_json ? "JSON" : "text", s->path);
  cw_write_all(2, msg, (size_t)n);
  _exit(2);
}

static void write_json_header(int fd)
{
  char cmd[2048];
  size_t len = 0;
  int cfd = open("/proc/self/cmdline", O_RDONLY | O_CLOEXEC);
  if (cfd >= 0) {
    ssize_t n = read(cfd, cmd, sizeof cmd - 1);
    close(cfd);
    len = n > 0 ? (size_t)n : 0;
  }
  for (size_t i = 0; i + 1 < len; i++)
    if (!cmd[i])
      cmd[i] = ' ';
  cmd[len ? len - 1 : 0] = 0;
  struct cw_buf b = {0};
  cw_buf_printf(&b, "{\"tool\":\"concwatch\",\"version\":\"%s\",\"pid\":%d,\"command\":",
                CONCWATCH_VERSION, (int)getpid());
  cw_buf_json_string(&b, cmd);
  cw_buf_puts(&b, ",\"findings\":[" JSON_TAIL);
  cw_write_all(fd, b.data, b.len);
  cw_buf_free(&b);
}

/* Open the sink's file for this process. A file written by this pid (an exec'd program) or
 * by the parent (a forked child, or a child that exec'd) is continued; anything else (a
 * previous run) is replaced. */
static int open_sink(struct sink *s)
{
  int fd = open(s->path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  if (fd < 0)
    fatal_path(s);
  if (s->ready)
    return fd;
  flock(fd, LOCK_EX);
  long owner = owner_pid(fd, s->is_json);
  struct stat st;
  bool fresh = fstat(fd, &st) != 0 || st.st_size == 0 ||
               (owner != getpid() && owner != getppid());
  if (fresh) {
    if (ftruncate(fd, 0) != 0)
      fatal_path(s);
    if (s->is_json)
      write_json_header(fd);
  }
  flock(fd, LOCK_UN);
  s->ready = true;
  return fd;
}

static void setup_sink(struct sink *s, const char *pattern, bool is_json)
{
  s->pattern = pattern;
  s->is_json = is_json;
  s->ready = false;
  if (pattern)
    cw_output_expand_path(pattern, (int)getpid(), s->path, sizeof s->path);
}

/* The text log is created at the first finding only (no finding, no file), but an unusable
 * directory must fail now, with one line, not in the middle of the run. */
static void check_directory(const struct sink *s)
{
  char dir[PATH_MAX];
  snprintf(dir, sizeof dir, "%s", s->path);
  char *slash = strrchr(dir, '/');
  if (!slash)
    snprintf(dir, sizeof dir, ".");
  else if (slash == dir)
    dir[1] = 0;
  else
    *slash = 0;
  if (access(dir, W_OK | X_OK) != 0)
    fatal_path(s);
}

void cw_output_init(void)
{
  setup_sink(&text_sink, cw_opt.log_path, false);
  if (text_sink.pattern)
    check_directory(&text_sink);
  setup_sink(&json_sink, cw_opt.json, true);
  /* The JSON document exists from the start: a CI job can tell "ran clean" from "never ran". */
  if (json_sink.pattern)
    close(open_sink(&json_sink));
}

void cw_output_postfork_child(void)
{
  struct sink *sinks[] = {&text_sink, &json_sink};
  for (size_t i = 0; i < 2; i++) {
    struct sink *s = sinks[i];
    if (!s->pattern || !strstr(s->pattern, "%p"))
      continue; /* same file as the parent: findings are appended under a file lock */
    cw_output_expand_path(s->pattern, (int)getpid(), s->path, sizeof s->path);
    s->ready = false;
  }
}

void cw_output_text(const char *text, size_t n)
{
  if (!text_sink.pattern) {
    cw_write_all(2, text, n);
    return;
  }
  int fd = open_sink(&text_sink);
  flock(fd, LOCK_EX);
  off_t end = lseek(fd, 0, SEEK_END);
  if (pwrite(fd, text, n, end) != (ssize_t)n) {
  }
  flock(fd, LOCK_UN);
  close(fd);
}

/* Insert the object before the closing "\n]}\n", keeping the document valid. */
void cw_output_json_finding(const char *object, size_t n)
{
  if (!json_sink.pattern)
    return;
  int fd = open_sink(&json_sink);
  flock(fd, LOCK_EX);
  struct stat st;
  char prev = '[';
  off_t at = 0;
  if (fstat(fd, &st) == 0 && st.st_size > JSON_TAIL_LEN) {
    at = st.st_size - JSON_TAIL_LEN;
    if (pread(fd, &prev, 1, at - 1) != 1)
      prev = '[';
  }
  struct cw_buf b = {0};
  cw_buf_puts(&b, prev == '[' ? "\n" : ",\n");
  cw_buf_append(&b, object, n);
  cw_buf_puts(&b, JSON_TAIL);
  if (pwrite(fd, b.data, b.len, at) != (ssize_t)b.len) {
  }
  cw_buf_free(&b);
  flock(fd, LOCK_UN);
  close(fd);
}
