/* Shared by the report files: the resolved form of a finding (names, symbolized stacks) and
 * the helpers that render it as text and JSON. Each kind of finding has its own file
 * (lock_order.c, deadlock.c, misuse_report.c, race_report.c); report.c has the common part. */
#ifndef CW_RENDER_H
#define CW_RENDER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../stack/symbolize.h"
#include "report.h"
#include "strbuf.h"

/* ---- resolved form ---- */

struct rstack {
  const char *role; /* "request", "held", "lock-first-seen", "thread-created", ... */
  uint32_t thread;
  int lock;         /* index into locks, -1 if none */
  cw_stack_id id;
  struct cw_frame *frames;
  size_t nframes;
  size_t trimmed;   /* interpreter frames left out (Python programs) */
};

struct rlock {
  const struct cw_finding_lock *lock;
  char name[160];
  bool has_name;
  int first_seen_stack;
};

struct rthread {
  struct cw_thread_info info;
  int created_stack;
};

struct resolved {
  struct rlock *locks;
  size_t nlocks;
  struct rthread threads[64];
  size_t nthreads;
  struct rstack *stacks;
  size_t nstacks, stacks_cap;
};

/* Resolving. */
int add_stack(struct resolved *r, const char *role, uint32_t thread, int lock, cw_stack_id id);
void name_lock(struct rlock *l);
void add_thread(struct resolved *r, uint32_t id);
void add_thread_stacks(struct resolved *r);
void report_begin(struct resolved *r, size_t nlocks);
void free_resolved(struct resolved *r);
size_t lock_size(uint8_t kind);

/* Rendering. */
const char *base_name(const char *path);
void text_frames(struct cw_buf *b, const struct resolved *r, int stack);
void text_threads(struct cw_buf *b, const struct resolved *r);
void where(struct cw_buf *b, const struct resolved *r, int stack);
void json_stacks(struct cw_buf *b, const struct resolved *r);
void json_stack_ref(struct cw_buf *b, const char *key, int stack);
void json_locks(struct cw_buf *b, const struct resolved *r);
void json_threads(struct cw_buf *b, const struct resolved *r);
void json_thread_ref(struct cw_buf *b, const char *key, uint32_t thread);
void json_lock_ref(struct cw_buf *b, const char *key, int lock);
void json_summary(struct cw_buf *b, const char *kind, unsigned id, const char *summary);
const char *wait_kind_name(uint8_t kind);
const char *mode_name(uint8_t mode);

/* A report: one at a time, the engine's own code untracked, errno kept. */
int report_begin_section(void);
void report_end_section(int saved_errno);
unsigned next_finding_id(void);
/* Write both renderings and free them. */
void deliver(struct cw_buf *text, struct cw_buf *json);
void emit(struct cw_buf *text, struct cw_buf *json);

#endif
