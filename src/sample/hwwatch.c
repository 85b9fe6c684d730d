/* Hardware watchpoints through perf_event_open(PERF_TYPE_BREAKPOINT). The watchpoint of a slot
 * is opened once per thread and then moved from location to location with
 * PERF_EVENT_IOC_MODIFY_ATTRIBUTES (Linux 4.17), which is far cheaper than reopening it. Every
 * hit overflows the event (sample_period 1); with O_ASYNC and F_SETSIG the kernel signals the
 * owner thread, which is the watched thread itself, so the handler runs in the accessing thread
 * right after its access, with its registers. */
#include "hwwatch.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/hw_breakpoint.h>
#include <linux/perf_event.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/syscall.h>
#include <unistd.h>

/* Parked address of a disabled watchpoint: concwatch's own, never touched by the program. */
static uint64_t parking_word;

static void fill_attr(struct perf_event_attr *a, uintptr_t addr)
{
  memset(a, 0, sizeof *a);
  a->type = PERF_TYPE_BREAKPOINT;
  a->size = sizeof *a;
  a->bp_type = HW_BREAKPOINT_RW;
  a->bp_addr = addr;
  a->bp_len = HW_BREAKPOINT_LEN_8;
  a->sample_period = 1;
  a->wakeup_events = 1;
  a->exclude_kernel = 1; /* system calls reading or writing the word do not trap */
  a->exclude_hv = 1;
  a->disabled = 1;
}

int cw_hwwatch_open(pid_t tid)
{
  struct perf_event_attr a;
  fill_attr(&a, (uintptr_t)&parking_word);
  int fd = (int)syscall(SYS_perf_event_open, &a, tid, -1, -1, PERF_FLAG_FD_CLOEXEC);
  if (fd < 0)
    return -errno;
  struct f_owner_ex owner = {F_OWNER_TID, tid};
  if (fcntl(fd, F_SETOWN_EX, &owner) != 0 || fcntl(fd, F_SETSIG, CW_WATCH_SIGNAL) != 0 ||
      fcntl(fd, F_SETFL, O_ASYNC) != 0) {
    int e = errno;
    close(fd);
    return -e;
  }
  return fd;
}

int cw_hwwatch_move(int fd, uintptr_t addr)
{
  struct perf_event_attr a;
  fill_attr(&a, addr & ~(uintptr_t)(CW_WATCH_LEN - 1));
  if (ioctl(fd, PERF_EVENT_IOC_MODIFY_ATTRIBUTES, &a) != 0)
    return -errno;
  /* REFRESH enables the event for this many overflows; the window ends long before. */
  if (ioctl(fd, PERF_EVENT_IOC_REFRESH, 1 << 30) != 0)
    return -errno;
  return 0;
}

void cw_hwwatch_disable(int fd) { ioctl(fd, PERF_EVENT_IOC_DISABLE, 0); }

void cw_hwwatch_close(int fd) { close(fd); }

static const char *why(int err)
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
  else if (err == ENODEV || err == ENOENT || err == EOPNOTSUPP)
    snprintf(buf, sizeof buf, "the CPU or hypervisor offers no hardware watchpoints (%s)", strerror(err));
  else
    snprintf(buf, sizeof buf, "hardware watchpoints cannot be used (%s)", strerror(err));
  return buf;
}

const char *cw_hwwatch_unavailable(void)
{
  int fd = cw_hwwatch_open((pid_t)syscall(SYS_gettid));
  if (fd < 0)
    return why(-fd);
  int rc = cw_hwwatch_move(fd, (uintptr_t)&parking_word);
  cw_hwwatch_close(fd);
  return rc == 0 ? NULL : why(-rc);
}
