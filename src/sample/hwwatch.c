/* Hardware watchpoints through perf_event_open(PERF_TYPE_BREAKPOINT) with inherit (so one event
 * per slot follows every thread), inherit_thread (threads only, not forked children) and sigtrap
 * (Linux 5.13: the signal goes synchronously to the thread that hit the watchpoint, which is
 * what an inherited event needs; it requires remove_on_exec). A slot is moved from location to
 * location with PERF_EVENT_IOC_MODIFY_ATTRIBUTES (Linux 4.17), which the kernel applies to every
 * inherited copy, far cheaper than reopening. */
#include "hwwatch.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/hw_breakpoint.h>
#include <linux/perf_event.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#ifndef TRAP_PERF
#define TRAP_PERF 6 /* glibc 2.36 does not know it yet */
#endif

/* si_perf_data: ours carry this tag and the slot. */
#define SIG_DATA_TAG 0x636f6e6377617400ull /* "concwat\0" */

/* Parked address of a disabled watchpoint: concwatch's own, never touched by the program. */
static uint64_t parking_word;

static void fill_attr(struct perf_event_attr *a, int slot, uintptr_t addr, bool disabled)
{
  memset(a, 0, sizeof *a);
  a->type = PERF_TYPE_BREAKPOINT;
  a->size = sizeof *a;
  a->bp_type = HW_BREAKPOINT_RW;
  a->bp_addr = addr;
  a->bp_len = HW_BREAKPOINT_LEN_8;
  a->sample_period = 1;
  a->exclude_kernel = 1; /* system calls reading or writing the word do not trap */
  a->exclude_hv = 1;
  a->disabled = disabled;
  a->inherit = 1;
  a->inherit_thread = 1;
  a->remove_on_exec = 1;
  a->sigtrap = 1;
  a->sig_data = SIG_DATA_TAG | (uint64_t)slot;
}

/* Out of the program's way: its fds are usually the low numbers (select() needs them below
 * FD_SETSIZE), so the event moves near the top of the fd limit. */
static int move_high(int fd)
{
  struct rlimit lim;
  if (getrlimit(RLIMIT_NOFILE, &lim) != 0 || lim.rlim_cur < 256)
    return fd;
  rlim_t floor = lim.rlim_cur > 65536 ? 65536 - 64 : lim.rlim_cur - 64;
  int high = fcntl(fd, F_DUPFD_CLOEXEC, (int)floor);
  if (high < 0)
    return fd;
  close(fd);
  return high;
}

int cw_hwwatch_open(int slot)
{
  struct perf_event_attr a;
  fill_attr(&a, slot, (uintptr_t)&parking_word, true);
  int fd = (int)syscall(SYS_perf_event_open, &a, 0, -1, -1, PERF_FLAG_FD_CLOEXEC);
  return fd < 0 ? -errno : move_high(fd);
}

uint64_t cw_hwwatch_identity(int fd)
{
  struct stat st;
  return fstat(fd, &st) == 0 ? (uint64_t)st.st_ino ^ ((uint64_t)st.st_dev << 40) : 0;
}

int cw_hwwatch_move(int fd, int slot, uintptr_t addr)
{
  struct perf_event_attr a;
  fill_attr(&a, slot, addr & ~(uintptr_t)(CW_WATCH_LEN - 1), false);
  /* attr.disabled is 0: the kernel enables the event as part of the change (a separate
   * ENABLE would interrupt every CPU running a watched thread a second time). */
  if (ioctl(fd, PERF_EVENT_IOC_MODIFY_ATTRIBUTES, &a) != 0)
    return -errno;
  return 0;
}

void cw_hwwatch_disable(int fd) { ioctl(fd, PERF_EVENT_IOC_DISABLE, 0); }

void cw_hwwatch_close(int fd) { close(fd); }

/* The kernel's siginfo for TRAP_PERF: si_addr, then the event's sig_data. */
int cw_hwwatch_slot(const siginfo_t *info)
{
  if (info->si_signo != SIGTRAP || info->si_code != TRAP_PERF)
    return -1;
  uint64_t data;
  memcpy(&data, (const char *)&info->si_addr + sizeof(void *), sizeof data);
  if ((data & ~(uint64_t)0xff) != SIG_DATA_TAG || (data & 0xff) >= CW_WATCH_SLOTS)
    return -1;
  return (int)(data & 0xff);
}

const char *cw_hwwatch_why(int err)
{
  static char buf[160];
  int paranoid = -1;
  int fd = open("/proc/sys/kernel/perf_event_paranoid", O_RDONLY | O_CLOEXEC);
  if (fd >= 0) {
    char v[16] = {0};
    if (read(fd, v, sizeof v - 1) > 0)
      sscanf(v, "%d", &paranoid);
    close(fd);
  }
  if (err == EACCES || err == EPERM)
    snprintf(buf, sizeof buf, "perf_event_open is not permitted (perf_event_paranoid=%d, or a seccomp filter)",
             paranoid);
  else if (err == ENOSYS)
    snprintf(buf, sizeof buf, "perf_event_open is not available (ENOSYS: seccomp or an old kernel)");
  else if (err == EINVAL)
    snprintf(buf, sizeof buf, "the kernel does not support inherited watchpoints with SIGTRAP (Linux 5.13 or later)");
  else if (err == ENODEV || err == ENOENT || err == EOPNOTSUPP || err == ENOSPC)
    snprintf(buf, sizeof buf, "the CPU or hypervisor offers no free hardware watchpoints (%s)", strerror(err));
  else
    snprintf(buf, sizeof buf, "hardware watchpoints cannot be used (%s)", strerror(err));
  return buf;
}
