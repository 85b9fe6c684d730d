/* The chapter's unsynchronized counter (examples/counter_race.c): 4 threads x 100000
 * `counter++` on a global int, no lock. The start barrier makes the threads overlap; it
 * orders nothing after it, so the increments race.
 *   -> exactly one data race, on `counter`, both sides in increment() (counter-increment marker).
 * Also built as libcounter_instrumented.so for the LD_PRELOAD-only test (see race.h). */
#include "race.h"

#define NUM_THREADS 4
#define INCREMENTS 100000

/* volatile: one load and one store per increment, as in the chapter (not atomic). */
volatile int counter;
static pthread_barrier_t start_line;

static void *increment(void *arg)
{
  (void)arg;
  pthread_barrier_wait(&start_line);
  for (int i = 0; i < INCREMENTS; i++)
    counter++; /* @counter-increment */
  return NULL;
}

int main(int argc, char **argv)
{
  (void)argc;
  (void)argv;
  pthread_t threads[NUM_THREADS];
  pthread_barrier_init(&start_line, NULL, NUM_THREADS);
  for (int i = 0; i < NUM_THREADS; i++)
    threads[i] = spawn(increment, NULL); /* @counter-create */
  for (int i = 0; i < NUM_THREADS; i++)
    join(threads[i]);
  pthread_barrier_destroy(&start_line);
  printf("counter at %p\n", (void *)&counter);
  printf("expected: %d, actual: %d\n", NUM_THREADS * INCREMENTS, counter);
  return 0;
}
