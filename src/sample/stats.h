/* What sampling did and what it cost, counted while it runs: the inputs of the cost model in
 * docs/performance.md ("Race sampling"). With race_sample_stats=1, one line on stderr at exit.
 * Counters are relaxed atomics: the trap handler updates them from any program thread. */
#ifndef CW_SAMPLE_STATS_H
#define CW_SAMPLE_STATS_H

#include <stdatomic.h>
#include <stdint.h>

struct cw_sample_stats {
  uint64_t started_ns;              /* when sampling started (the first pthread_create) */
  uint64_t start_cost_ns;           /* time that start took, in the program's pthread_create */
  uint64_t trap_cost_ns;            /* one trap, as measured at the start */
  _Atomic uint64_t traps;           /* watchpoint signals in program threads */
  _Atomic uint64_t traps_closed;    /* ... on a closed window (a parked slot, a late signal) */
  _Atomic uint64_t traps_program;   /* ... whose access was made by program code */
  _Atomic uint64_t traps_recorded;  /* ... and recorded (within the window's budget) */
  _Atomic uint64_t handler_ns;      /* time inside the trap handler, holds included */
  _Atomic uint64_t handler_cpu_ns;  /* the handler's CPU time on its slow paths (stacks, disabling) */
  _Atomic uint64_t holds;           /* threads held */
  _Atomic uint64_t holds_skipped;   /* holds the duty bound refused */
  _Atomic uint64_t hold_ns;         /* time spent held */
  _Atomic uint64_t rounds;          /* windows sets opened */
  _Atomic uint64_t windows;         /* words watched (one per slot and round) */
  _Atomic uint64_t moves;           /* ioctls moving or disabling a watchpoint */
  _Atomic uint64_t move_ns;         /* time inside those ioctls */
  _Atomic uint64_t wakeups;         /* the sampler thread's waits that ended */
  _Atomic uint64_t switch_cost_ns;  /* context switches while windows were open, as costed */
  _Atomic uint64_t sampler_cpu_ns;  /* the sampler thread's CPU time, at its last round */
};

extern struct cw_sample_stats cw_sample_stats;

static inline void cw_stat_add(_Atomic uint64_t *counter, uint64_t n)
{
  atomic_fetch_add_explicit(counter, n, memory_order_relaxed);
}

/* The calling thread's CPU time (ns). */
uint64_t cw_sample_thread_cpu_ns(void);
/* One line on stderr: the counters, per second of the time since sampling started. */
void cw_sample_stats_print(void);

#endif
