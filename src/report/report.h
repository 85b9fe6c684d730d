/* Findings and their delivery: text (stderr or log_path) and JSON (json=), written the
 * moment a finding is made. */
#ifndef CW_REPORT_H
#define CW_REPORT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../runtime/thread.h"

/* A lock as a finding shows it (a snapshot: the graph may forget the lock afterwards). */
struct cw_finding_lock {
  uintptr_t addr;
  uint8_t kind;
  cw_stack_id first_seen;
  uint32_t first_thread;
};

/* One edge of a lock-order cycle: `thread` requested lock `requests` while holding `holds`. */
struct cw_finding_step {
  uint32_t thread;
  size_t holds, requests; /* indexes into locks[] */
  uint8_t holds_modes, requests_modes;
  cw_stack_id held_stack, request_stack;
};

struct cw_lock_order_finding {
  size_t n; /* locks and steps */
  struct cw_finding_lock *locks;
  struct cw_finding_step *steps;
};

/* A thread that cannot go on (for a deadlock report). */
struct cw_finding_wait {
  uint32_t thread;
  uint8_t kind;       /* enum cw_wait_kind */
  uint8_t mode;       /* lock waits: CW_MODE_* */
  int lock;           /* index into locks[] (lock waits), or -1 */
  int mutex;          /* index into locks[] (condition waits), or -1 */
  uintptr_t object;   /* what it waits on */
  uint32_t target;    /* join waits: the thread joined */
  size_t nholders;
  uint32_t holders[4];
  cw_stack_id holder_stacks[4]; /* where each holder took the lock */
  cw_stack_id blocked_stack;    /* where this thread blocked */
};

struct cw_deadlock_finding {
  const char *reason; /* "lock-cycle", "self-deadlock", "all-threads-blocked", "holder-gone" */
  size_t nlocks, nwaits;
  struct cw_finding_lock *locks;
  struct cw_finding_wait *waits;
};

/* A misuse of the lock API: the bad call, and the earlier event that makes it bad. */
struct cw_misuse_finding {
  const char *misuse;   /* "unlock-not-locked", ... (docs/report-format.md) */
  const char *what;     /* one sentence: what the program did */
  const char *function; /* the API function called */
  const char *error;    /* "EPERM" ... for error-returned, else NULL */
  bool has_lock, has_other_lock;
  struct cw_finding_lock lock, other_lock;
  uint32_t thread;       /* the thread that made the bad call */
  uint32_t other_thread; /* the thread of the earlier event, 0 if none */
  cw_stack_id call_stack;
  cw_stack_id earlier_stack;
  const char *earlier_what; /* "was locked by T2 at", "was detached at", ... */
};

/* One side of a data race. */
struct cw_race_access {
  uint32_t thread;
  bool write, atomic;
  uint8_t size;
  cw_stack_id stack;
};

struct cw_race_finding {
  uintptr_t addr;
  size_t size;
  struct cw_race_access current, previous; /* each stack also carries the locks held (race.h) */
  bool sampled; /* found by sampled watchpoints (src/sample), not by instrumentation */
};

void cw_report_init(void);
void cw_report_lock_order(const struct cw_lock_order_finding *f);
void cw_report_deadlock(const struct cw_deadlock_finding *f);
void cw_report_misuse(const struct cw_misuse_finding *f);
void cw_report_race(const struct cw_race_finding *f);
/* A one-line notice about concwatch itself ("concwatch: warning: ..."), each text once. */
void cw_report_warning(const char *msg);
unsigned cw_report_findings(void);

void cw_report_prefork(void);
void cw_report_postfork(int in_child);

#endif
