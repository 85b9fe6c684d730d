/* counter.c fixed: every increment under counter_lock; main reads after the joins.
 *   -> no finding, exit status 0. */
#include "race.h"

#define NUM_THREADS 4
#define INCREMENTS 100000

volatile int counter;
pthread_mutex_t counter_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_barrier_t start_line;

static void *increment(void *arg)
{
  (void)arg;
  pthread_barrier_wait(&start_line);
  for (int i = 0; i < INCREMENTS; i++) {
    pthread_mutex_lock(&counter_lock);
    counter++;
    pthread_mutex_unlock(&counter_lock);
  }
  return NULL;
}

int main(void)
{
  pthread_t threads[NUM_THREADS];
  pthread_barrier_init(&start_line, NULL, NUM_THREADS);
  for (int i = 0; i < NUM_THREADS; i++)
    threads[i] = spawn(increment, NULL);
  for (int i = 0; i < NUM_THREADS; i++)
    join(threads[i]);
  pthread_barrier_destroy(&start_line);
  printf("expected: %d, actual: %d\n", NUM_THREADS * INCREMENTS, counter);
  return 0;
}
