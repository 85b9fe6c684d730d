#include "platform.h"

#include <errno.h>
#include <link.h>
#include <stdbool.h>
#include <string.h>
#include <stdio.h>
#include <fcntl.h>
#include <linux/futex.h>
#include <stdatomic.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

static void futex_wait(_Atomic uint32_t *addr, uint32_t expected)
{
  syscall(SYS_futex, addr, FUTEX_WAIT_PRIVATE, expected, NULL, NULL, 0);
}

static void futex_wake_one(_Atomic uint32_t *addr)
{
  syscall(SYS_futex, addr, FUTEX_WAKE_PRIVATE, 1, NULL, NULL, 0);
}

/* Drepper's "mutex3" from "Futexes Are Tricky": no system call when uncontended. */
void cw_lock_acquire(cw_lock_t *l)
{
  int saved_errno = errno;
  uint32_t c = 0;
  if (atomic_compare_exchange_strong(&l->state, &c, 1))
    return;
  if (c != 2)
    c = atomic_exchange(&l->state, 2);
  while (c != 0) {
    futex_wait(&l->state, 2);
    c = atomic_exchange(&l->state, 2);
  }
  errno = saved_errno;
}

void cw_lock_release(cw_lock_t *l)
{
  if (atomic_fetch_sub(&l->state, 1) != 1) {
    int saved_errno = errno;
    atomic_store(&l->state, 0);
    futex_wake_one(&l->state);
    errno = saved_errno;
  }
}

void cw_lock_reset(cw_lock_t *l) { atomic_store(&l->state, 0); }

bool cw_lock_try_acquire(cw_lock_t *l)
{
  uint32_t expected = 0;
  return atomic_compare_exchange_strong(&l->state, &expected, 1);
}

pid_t cw_gettid(void) { return (pid_t)syscall(SYS_gettid); }

uint64_t cw_now_ns(void)
{
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

void cw_sleep_ms(unsigned ms)
{
  struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
  int saved_errno = errno;
  while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
  }
  errno = saved_errno;
}

void cw_sleep_until_ns(uint64_t deadline)
{
  struct timespec ts = {(time_t)(deadline / 1000000000u), (long)(deadline % 1000000000u)};
  int saved_errno = errno;
  while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL) == EINTR) {
  }
  errno = saved_errno;
}

void cw_futex_wait_ns(_Atomic uint32_t *addr, uint32_t expected, uint64_t ns)
{
  struct timespec ts = {(time_t)(ns / 1000000000u), (long)(ns % 1000000000u)};
  int saved_errno = errno;
  syscall(SYS_futex, addr, FUTEX_WAIT_PRIVATE, expected, &ts, NULL, 0);
  errno = saved_errno;
}

void cw_futex_wake_all(_Atomic uint32_t *addr)
{
  int saved_errno = errno;
  syscall(SYS_futex, addr, FUTEX_WAKE_PRIVATE, 0x7fffffff, NULL, NULL, 0);
  errno = saved_errno;
}

int cw_write_all(int fd, const void *buf, size_t len)
{
  int saved_errno = errno;
  const char *p = buf;
  int rc = 0;
  while (len > 0) {
    ssize_t n = write(fd, p, len);
    if (n < 0 && errno == EINTR)
      continue;
    if (n <= 0) {
      rc = -1;
      break;
    }
    p += n;
    len -= (size_t)n;
  }
  errno = saved_errno;
  return rc;
}

void *cw_map(size_t size)
{
  int saved_errno = errno;
  void *p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  errno = saved_errno;
  return p == MAP_FAILED ? NULL : p;
}

void cw_unmap(void *p, size_t size)
{
  int saved_errno = errno;
  munmap(p, size);
  errno = saved_errno;
}

/* The mapping of /proc/self/maps that holds addr: its name ("[heap]", "[stack]", a path, or
 * empty for anonymous memory). Read without stdio: no malloc. */
bool cw_mapping_of(uintptr_t addr, char *name, size_t cap)
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

static int first_object(struct dl_phdr_info *info, size_t size, void *out)
{
  (void)size;
  *(struct dl_phdr_info *)out = *info;
  return 1; /* the executable comes first */
}

bool cw_executable_path(char *buf, size_t cap)
{
  struct dl_phdr_info exe;
  if (!dl_iterate_phdr(first_object, &exe))
    return false;
  for (int i = 0; i < exe.dlpi_phnum; i++)
    if (exe.dlpi_phdr[i].p_type == PT_LOAD)
      return cw_mapping_of(exe.dlpi_addr + exe.dlpi_phdr[i].p_vaddr, buf, cap) && buf[0] == '/';
  return false;
}
