/* Hardware watchpoints, the platform side of sampling: one perf_event_open breakpoint per thread
 * and slot (the CPU has four debug registers). An access by the watched thread to the watched
 * 8 bytes sends CW_WATCH_SIGNAL to that same thread right after the accessing instruction.
 * Nothing here allocates or locks; the calls are plain system calls. */
#ifndef CW_HWWATCH_H
#define CW_HWWATCH_H

#include <signal.h>
#include <stdint.h>
#include <sys/types.h>

#define CW_WATCH_SIGNAL (SIGRTMAX - 3)
#define CW_WATCH_SLOTS 4
#define CW_WATCH_LEN 8

/* A disabled read/write watchpoint for thread `tid` (it may be another thread of this process),
 * signalling that thread. Returns the fd, or -errno. */
int cw_hwwatch_open(pid_t tid);
/* Watch the 8-byte-aligned word at addr (enables the watchpoint). Returns 0 or -errno. */
int cw_hwwatch_move(int fd, uintptr_t addr);
void cw_hwwatch_disable(int fd);
void cw_hwwatch_close(int fd);

/* Whether this machine lets the process use hardware watchpoints: NULL if so, otherwise why
 * not, as a phrase ("perf_event_open is not permitted (perf_event_paranoid=3)"). */
const char *cw_hwwatch_unavailable(void);

#endif
