/* Hardware watchpoints, the platform side of sampling: perf_event_open breakpoints (the CPU has
 * four debug registers, so four slots). Each slot is one event opened in the thread that creates
 * the program's first thread and inherited by every thread created after it (and by their
 * threads), not by forked processes, and removed at exec. An access by any of those threads to
 * the watched 8 bytes sends it SIGTRAP (si_code TRAP_PERF, the slot in si_perf_data) right after
 * the accessing instruction. Nothing here allocates or locks; the calls are system calls. */
#ifndef CW_HWWATCH_H
#define CW_HWWATCH_H

#include <signal.h>
#include <stdbool.h>
#include <stdint.h>

#define CW_WATCH_SIGNAL SIGTRAP
#define CW_WATCH_SLOTS 4
#define CW_WATCH_LEN 8

/* A disabled read/write watchpoint for the calling thread and the threads it will create.
 * Returns the fd, or -errno. */
int cw_hwwatch_open(int slot);
/* What the fd refers to (inode and device): the program may close concwatch's fds (closefrom,
 * close_range) and reuse the numbers; a changed identity says the event is gone. 0 on error. */
uint64_t cw_hwwatch_identity(int fd);
/* Watch the 8-byte-aligned word at addr in every thread that has the event. 0 or -errno. */
int cw_hwwatch_move(int fd, int slot, uintptr_t addr);
void cw_hwwatch_disable(int fd);
void cw_hwwatch_close(int fd);

/* The slot of a SIGTRAP sent by one of these watchpoints, or -1 for any other SIGTRAP. */
int cw_hwwatch_slot(const siginfo_t *info);

/* Why watchpoints cannot be used, from the error of cw_hwwatch_open, as a phrase
 * ("perf_event_open is not permitted (perf_event_paranoid=3, or a seccomp filter)"). */
const char *cw_hwwatch_why(int err);

#endif
