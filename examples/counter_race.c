/*
 * counter_race.c - shared counter without synchronization (BUGGY)
 *
 * Chapter 8, section 8.3 "Multithreading" > "Thread synchronization problems"
 * (スレッドの同期問題). C port of python/counter_race.py.
 *
 * Four threads each increment the global `counter` 100000 times without any
 * lock. `counter++` is a load, an add and a store, not one atomic step, so
 * two threads can read the same old value and one increment is lost. The
 * printed result is usually below 400000 (and changes from run to run).
 *
 * What concwatch must report: a data race on the global variable `counter`
 * (several threads read and write it with no lock held and no happens-before
 * order between them). No lock is used, so no lock-order finding.
 *
 * EXPECT: data-race var=counter
 */
#define _POSIX_C_SOURCE 200809L
#include <pthread.h>
#include <stdio.h>

#define NUM_THREADS 4
#define INCREMENTS 100000

/*
 * `volatile` only stops the compiler from folding the loop into a single
 * `counter += 100000`, so every increment really touches memory as in the
 * chapter. It does NOT make `counter++` atomic: the race is still there.
 */
volatile long counter = 0;

/*
 * Start line: the threads wait here so that they all start incrementing at
 * the same moment (otherwise the first thread may finish before the last
 * one is even created, and no update gets lost). It orders nothing after
 * it, so the increments below still race with each other.
 */
pthread_barrier_t start_line;

static void *increment(void *arg)
{
    (void)arg;
    pthread_barrier_wait(&start_line);
    for (int i = 0; i < INCREMENTS; i++)
        counter++; /* not atomic: read, add 1, write back */
    return NULL;
}

int main(void)
{
    pthread_t threads[NUM_THREADS];

    pthread_barrier_init(&start_line, NULL, NUM_THREADS);
    for (int i = 0; i < NUM_THREADS; i++)
        pthread_create(&threads[i], NULL, increment, NULL);
    for (int i = 0; i < NUM_THREADS; i++)
        pthread_join(threads[i], NULL);
    pthread_barrier_destroy(&start_line);

    /* Example output: expected: 400000, actual: 285743 */
    printf("expected: %d, actual: %ld\n", NUM_THREADS * INCREMENTS, counter);
    return 0;
}
