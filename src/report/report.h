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

void cw_report_init(void);
void cw_report_lock_order(const struct cw_lock_order_finding *f);
/* A one-line notice about concwatch itself ("concwatch: warning: ..."), each text once. */
void cw_report_warning(const char *msg);
unsigned cw_report_findings(void);

void cw_report_prefork(void);
void cw_report_postfork(int in_child);

#endif
