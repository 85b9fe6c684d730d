/* The counters of sampling and their one-line dump (race_sample_stats=1). */
#include "stats.h"

#include <stdio.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include "../runtime/platform.h"

struct cw_sample_stats cw_sample_stats;

uint64_t cw_sample_thread_cpu_ns(void)
{
  struct timespec ts;
  if (clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts) != 0)
    return 0;
  return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static uint64_t get(_Atomic uint64_t *counter) { return atomic_load_explicit(counter, memory_order_relaxed); }

/* n per second of run time. */
static double rate(uint64_t n, double run_s) { return run_s > 0 ? (double)n / run_s : 0; }

/* ns as a share of run time, in percent. */
static double share(uint64_t ns, double run_s) { return run_s > 0 ? (double)ns / 1e7 / run_s : 0; }

void cw_sample_stats_print(void)
{
  struct cw_sample_stats *s = &cw_sample_stats;
  double run_s = (double)(cw_now_ns() - s->started_ns) / 1e9;
  uint64_t traps = get(&s->traps), holds = get(&s->holds), moves = get(&s->moves);
  struct rusage ru = {0};
  getrusage(RUSAGE_SELF, &ru);
  char line[1024];
  int n = snprintf(line, sizeof line,
                   "concwatch: race sampling stats: pid %d, %.3f s sampled, start %.2f ms; "
                   "rounds %llu (%.0f/s), words watched %llu; "
                   "moves %llu (%.0f/s, %.1f us each, %.2f%% of the time); "
                   "traps %llu (%.0f/s, %.1f us each; window closed %llu, program %llu, recorded %llu), handlers %.2f%% of the time (slow paths %.2f%% cpu); "
                   "holds %llu (%.0f/s, %.2f%% of the time held), skipped %llu; "
                   "sampler cpu %.2f%%, wakeups %llu (%.0f/s); switches while watching %.2f%% of the time; "
                   "context switches %ld voluntary, %ld involuntary\n",
                   (int)getpid(), run_s, (double)s->start_cost_ns / 1e6,
                   (unsigned long long)get(&s->rounds), rate(get(&s->rounds), run_s),
                   (unsigned long long)get(&s->windows),
                   (unsigned long long)moves, rate(moves, run_s),
                   moves ? (double)get(&s->move_ns) / 1e3 / (double)moves : 0, share(get(&s->move_ns), run_s),
                   (unsigned long long)traps, rate(traps, run_s), (double)s->trap_cost_ns / 1e3, (unsigned long long)get(&s->traps_closed),
                   (unsigned long long)get(&s->traps_program),
                   (unsigned long long)get(&s->traps_recorded), share(get(&s->handler_ns), run_s),
                   share(get(&s->handler_cpu_ns), run_s),
                   (unsigned long long)holds, rate(holds, run_s), share(get(&s->hold_ns), run_s),
                   (unsigned long long)get(&s->holds_skipped),
                   share(get(&s->sampler_cpu_ns), run_s),
                   (unsigned long long)get(&s->wakeups), rate(get(&s->wakeups), run_s), share(get(&s->switch_cost_ns), run_s),
                   ru.ru_nvcsw, ru.ru_nivcsw);
  if (n > 0)
    cw_write_all(2, line, (size_t)n < sizeof line ? (size_t)n : sizeof line - 1);
}
