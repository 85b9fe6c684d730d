/* Happens-before the program declares itself, around a hand-written spin flag that the
 * instrumentation does not see (its accessors are built without ThreadSanitizer):
 *   tsan      __tsan_release(&flag) before raising it, __tsan_acquire(&flag) after seeing it
 *   annotate  AnnotateHappensBefore / AnnotateHappensAfter (the dynamic-annotations API)
 *                                                                        -> nothing for both
 *   none      control: the same flag without annotations: nothing concwatch sees orders the
 *             accesses to `data`                                         -> one race on `data`,
 *             the annotated-write line against the annotated-read line */
#include <sched.h>

#include "race.h"

void __tsan_acquire(void *addr);
void __tsan_release(void *addr);
void AnnotateHappensBefore(const char *f, int l, const volatile void *addr);
void AnnotateHappensAfter(const char *f, int l, const volatile void *addr);

long data;
volatile int flag;

/* Not instrumented (and never inlined into instrumented code): invisible to concwatch. */
__attribute__((noinline, no_sanitize_thread)) static void raise_flag(void)
{
  __asm__ volatile("" ::: "memory");
  flag = 1;
}

__attribute__((noinline, no_sanitize_thread)) static void wait_flag(void)
{
  while (!flag)
    sched_yield();
  __asm__ volatile("" ::: "memory");
}

static int mode; /* 0 none, 1 tsan, 2 annotate */

static void *writer(void *arg)
{
  (void)arg;
  data = 42; /* @annotated-write */
  if (mode == 1)
    __tsan_release((void *)&flag);
  else if (mode == 2)
    AnnotateHappensBefore(__FILE__, __LINE__, &flag);
  raise_flag();
  return NULL;
}

static void *reader(void *arg)
{
  (void)arg;
  wait_flag();
  if (mode == 1)
    __tsan_acquire((void *)&flag);
  else if (mode == 2)
    AnnotateHappensAfter(__FILE__, __LINE__, &flag);
  return (void *)data; /* @annotated-read */
}

static void pass(void)
{
  void *got;
  pthread_t r = spawn(reader, NULL), w = spawn(writer, NULL);
  join(w);
  pthread_join(r, &got);
  printf("reader got %ld\n", (long)got);
}

static void mode_none(void) { mode = 0; pass(); }
static void mode_tsan(void) { mode = 1; pass(); }
static void mode_annotate(void) { mode = 2; pass(); }

MODES({"tsan", mode_tsan}, {"annotate", mode_annotate}, {"none", mode_none})
