/* write and read on pipes: in instrumented programs, what a thread did before writing to a pipe
 * happens before what the reader does after reading from it (message passing). Everyone else
 * pays one predictable branch. */
#include <errno.h>
#include <sys/stat.h>
#include <unistd.h>

#include "interpose.h"

CW_REAL(write);
CW_REAL(read);

/* The pipe's identity: both ends of a pipe share one inode. 0 for anything else. */
static uintptr_t pipe_key(int fd)
{
  struct stat st;
  if (fstat(fd, &st) != 0 || !S_ISFIFO(st.st_mode))
    return 0;
  return ((uintptr_t)st.st_dev * 0x9e3779b97f4a7c15ull) ^ (uintptr_t)st.st_ino ^ 1;
}

CW_EXPORT ssize_t write(int fd, const void *buf, size_t n)
{
  CW_ENSURE(write);
  if (__builtin_expect(cw_race_enabled, 0) && cw_race_from_instrumented(CW_CALLER_PC)) {
    int saved = errno;
    uintptr_t key = pipe_key(fd);
    if (key)
      cw_race_release(cw_thread_current(), key);
    cw_race_range((uintptr_t)buf, n, 0, CW_CALLER_PC);
    errno = saved;
  }
  return real_write(fd, buf, n);
}

CW_EXPORT ssize_t read(int fd, void *buf, size_t n)
{
  CW_ENSURE(read);
  ssize_t got = real_read(fd, buf, n);
  if (__builtin_expect(cw_race_enabled, 0) && got > 0 && cw_race_from_instrumented(CW_CALLER_PC)) {
    int saved = errno;
    uintptr_t key = pipe_key(fd);
    if (key)
      cw_race_acquire(cw_thread_current(), key);
    cw_race_range((uintptr_t)buf, (size_t)got, 1, CW_CALLER_PC);
    errno = saved;
  }
  return got;
}
