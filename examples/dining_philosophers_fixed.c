/*
 * dining_philosophers_fixed.c - resource ordering breaks the cycle (CORRECT)
 *
 * Chapter 8, section 8.3 "Multithreading" > "Avoiding deadlock"
 * (デッドロックの回避策: ロック順序の統一). Fix for dining_philosophers.c.
 *
 * Same table, but every philosopher picks up the LOWER-numbered of its two
 * forks first. Philosophers 0-3 still take left then right; philosopher 4
 * takes forks[0] before forks[4]. The lock order graph is now
 * forks[0] -> forks[1] -> forks[2] -> forks[3] -> forks[4] plus
 * forks[0] -> forks[4]: no cycle, so no circular wait is possible. All
 * five philosophers run truly concurrently, with short pauses to think and
 * eat so they actually compete for forks.
 *
 * What concwatch must report: nothing. No cycle in the lock order, and
 * meals[i] is only written by philosopher i and read by main after the
 * joins.
 *
 * EXPECT: none
 */
#define _POSIX_C_SOURCE 200809L
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <time.h>

#define NUM_PHILOSOPHERS 5
#define MEALS 10

pthread_mutex_t forks[NUM_PHILOSOPHERS];
int meals[NUM_PHILOSOPHERS]; /* meals[i] is written only by philosopher i */

static void sleep_ms(long ms)
{
    struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };
    nanosleep(&ts, NULL);
}

static void *philosopher(void *arg)
{
    int id = (int)(intptr_t)arg;
    int left = id;
    int right = (id + 1) % NUM_PHILOSOPHERS;
    int first = left < right ? left : right;  /* lowest-numbered fork first */
    int second = left < right ? right : left;

    for (int m = 0; m < MEALS; m++) {
        sleep_ms(1); /* think */
        pthread_mutex_lock(&forks[first]);
        pthread_mutex_lock(&forks[second]);
        meals[id]++;
        sleep_ms(1); /* eat */
        pthread_mutex_unlock(&forks[second]);
        pthread_mutex_unlock(&forks[first]);
    }
    return NULL;
}

int main(void)
{
    pthread_t threads[NUM_PHILOSOPHERS];

    for (int i = 0; i < NUM_PHILOSOPHERS; i++)
        pthread_mutex_init(&forks[i], NULL);
    for (int i = 0; i < NUM_PHILOSOPHERS; i++)
        pthread_create(&threads[i], NULL, philosopher, (void *)(intptr_t)i);
    for (int i = 0; i < NUM_PHILOSOPHERS; i++)
        pthread_join(threads[i], NULL);
    for (int i = 0; i < NUM_PHILOSOPHERS; i++)
        pthread_mutex_destroy(&forks[i]);

    for (int i = 0; i < NUM_PHILOSOPHERS; i++)
        printf("philosopher %d ate %d times\n", i, meals[i]);
    printf("all philosophers finished: no deadlock\n");
    return 0;
}
