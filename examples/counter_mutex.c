/*
 * counter_mutex.c - shared counter protected by a mutex (CORRECT)
 *
 * Chapter 8, section 8.3 "Multithreading" > "Synchronization primitives" >
 * "Mutex example" (ミューテックスの使用例). C port of python/counter_lock.py;
 * this is the fix for counter_race.c.
 *
 * Four threads each increment the global `counter` 100000 times, every
 * increment inside counter_lock, so the result is always 400000.
 *
 * What concwatch must report: nothing. Every access to `counter` happens
 * with counter_lock held (or after all threads were joined), and only one
 * lock is ever held at a time.
 *
 * EXPECT: none
 */
#define _POSIX_C_SOURCE 200809L
#include <pthread.h>
#include <stdio.h>

#define NUM_THREADS 4
#define INCREMENTS 100000

long counter = 0;
pthread_mutex_t counter_lock = PTHREAD_MUTEX_INITIALIZER;

static void *safe_increment(void *arg)
{
    (void)arg;
    for (int i = 0; i < INCREMENTS; i++) {
        pthread_mutex_lock(&counter_lock);   /* acquire the lock */
        counter++;
        pthread_mutex_unlock(&counter_lock); /* release it */
    }
    return NULL;
}

int main(void)
{
    pthread_t threads[NUM_THREADS];

    for (int i = 0; i < NUM_THREADS; i++)
        pthread_create(&threads[i], NULL, safe_increment, NULL);
    for (int i = 0; i < NUM_THREADS; i++)
        pthread_join(threads[i], NULL);

    /* Output: expected: 400000, actual: 400000 */
    printf("expected: %d, actual: %ld\n", NUM_THREADS * INCREMENTS, counter);
    return 0;
}
