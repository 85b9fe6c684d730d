/* Start-up and process-wide state: options, output, the main thread. */
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "../engine.h"
#include "../lockorder/lockorder.h"
#include "../report/report.h"
#include "../sample/sample.h"
#include "../stack/stack.h"
#include "../stack/symbolize.h"
#include "../waits/waits.h"
#include "alloc.h"
#include "objects.h"
#include "options.h"
#include "thread.h"

static _Atomic int start_state; /* 0 not started, 1 starting, 2 done */
static cw_spawn_fn spawner;

void cw_set_spawner(cw_spawn_fn spawn) { spawner = spawn; }

int cw_spawn_internal(void *(*fn)(void *), void *arg) { return spawner ? spawner(fn, arg) : -1; }

static _Atomic int internal_threads;

void cw_internal_thread_started(void) { atomic_fetch_add(&internal_threads, 1); }
void cw_internal_thread_ended(void) { atomic_fetch_sub(&internal_threads, 1); }
int cw_internal_thread_count(void) { return atomic_load(&internal_threads); }

const char *cw_lock_kind_name(enum cw_lock_kind kind)
{
  static const char *names[CW_LOCK_KINDS] = {"mutex", "rwlock", "spinlock", "semaphore"};
  return (unsigned)kind < CW_LOCK_KINDS ? names[kind] : "lock";
}

static void read_options(void)
{
  char err[256];
  switch (cw_options_parse(getenv("CONCWATCH_OPTIONS"), &cw_opt, err, sizeof err)) {
  case CW_OPTIONS_OK:
    return;
  case CW_OPTIONS_HELP:
    cw_options_print_help(1);
    _exit(0);
  case CW_OPTIONS_ERROR:
    cw_write_all(2, err, __builtin_strlen(err));
    cw_write_all(2, "\n", 1);
    _exit(2);
  }
}

static void announce(void)
{
  char line[512];
  const char *opts = getenv("CONCWATCH_OPTIONS");
  int n = snprintf(line, sizeof line, "concwatch: %s active in pid %d (CONCWATCH_OPTIONS=\"%s\")\n",
                   CONCWATCH_VERSION, (int)getpid(), opts ? opts : "");
  cw_write_all(2, line, n < (int)sizeof line ? (size_t)n : sizeof line - 1);
}

void cw_runtime_start(void)
{
  int expected = 0;
  if (!atomic_compare_exchange_strong(&start_state, &expected, 1))
    return; /* started, or being started by this thread's earlier frame */
  read_options();
  cw_stack_init();
  cw_symbolizer_init();
  cw_report_init();
  cw_threads_init_main();
  cw_sample_startup();
  atomic_store(&start_state, 2);
  cw_ready = true;
  if (cw_opt.verbosity >= 1)
    announce();
}

int cw_exit_status(int status)
{
  cw_sample_at_exit();
  if (cw_opt.exitcode && cw_report_findings() > 0)
    return (int)cw_opt.exitcode;
  return status;
}

/* fork: hold every engine lock across the call, in one fixed order, so that no lock is
 * copied into the child in a locked state by another thread. */
void cw_fork_prepare(void)
{
  cw_runtime_enter();
  cw_sample_prefork();
  cw_report_prefork();
  cw_lockorder_prefork();
  cw_objects_prefork();
  cw_threads_prefork();
  cw_stack_prefork();
  cw_alloc_prefork();
}

void cw_fork_parent(void)
{
  cw_alloc_postfork(0);
  cw_stack_postfork(0);
  cw_threads_postfork(0);
  cw_objects_postfork(0);
  cw_lockorder_postfork(0);
  cw_report_postfork(0);
  cw_sample_postfork(0);
  cw_runtime_leave();
}

void cw_fork_child(void)
{
  cw_alloc_postfork(1);
  cw_stack_postfork(1);
  cw_threads_postfork(1);
  cw_objects_postfork(1);
  cw_lockorder_postfork(1);
  cw_report_postfork(1);
  cw_sample_postfork(1);
  atomic_store(&internal_threads, 0); /* they stayed in the parent */
  cw_symbolizer_postfork_child();
  cw_runtime_leave();
  cw_waits_postfork_child();
}
