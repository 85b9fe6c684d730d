/*
 * semaphore_limit.c - a counting semaphore limits concurrency (CORRECT)
 *
 * Chapter 8, section 8.3 "Multithreading" > "Synchronization primitives"
 * (同期プリミティブ: セマフォ, "a lock with a counter: N threads may
 * enter"). Not a program in the chapter; added to cover that primitive.
 *
 * Six workers want to use a resource that allows only two users at a time
 * (think: two database connections). `slots` starts at 2; sem_wait() takes
 * a slot, sem_post() gives it back. Each worker records how many workers
 * are inside at once; the maximum never exceeds 2.
 *
 * What concwatch must report: nothing. `active` and `max_active` are only
 * accessed with stats_lock held; the semaphore is never waited on while
 * stats_lock is held.
 *
 * EXPECT: none
 */
#define _POSIX_C_SOURCE 200809L
#include <pthread.h>
#include <semaphore.h>
#include <stdio.h>
#include <time.h>

#define NUM_WORKERS 6
#define SLOTS 2

sem_t slots;
pthread_mutex_t stats_lock = PTHREAD_MUTEX_INITIALIZER;
int active = 0;     /* workers currently inside, protected by stats_lock */
int max_active = 0; /* protected by stats_lock */

static void sleep_ms(long ms)
{
    struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };
    nanosleep(&ts, NULL);
}

static void *worker(void *arg)
{
    (void)arg;
    sem_wait(&slots); /* take one of the SLOTS slots */

    pthread_mutex_lock(&stats_lock);
    active++;
    if (active > max_active)
        max_active = active;
    pthread_mutex_unlock(&stats_lock);

    sleep_ms(20); /* use the resource */

    pthread_mutex_lock(&stats_lock);
    active--;
    pthread_mutex_unlock(&stats_lock);

    sem_post(&slots); /* give the slot back */
    return NULL;
}

int main(void)
{
    pthread_t threads[NUM_WORKERS];

    sem_init(&slots, 0, SLOTS);
    for (int i = 0; i < NUM_WORKERS; i++)
        pthread_create(&threads[i], NULL, worker, NULL);
    for (int i = 0; i < NUM_WORKERS; i++)
        pthread_join(threads[i], NULL);
    sem_destroy(&slots);

    printf("%d workers, at most %d at a time (limit %d)\n", NUM_WORKERS,
           max_active, SLOTS);
    return 0;
}
