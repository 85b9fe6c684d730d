/*
 * deadlock_fixed_order.c - two threads, two locks, same order (CORRECT)
 *
 * Chapter 8, section 8.3 "Multithreading" > "Deadlock" / "Avoiding deadlock"
 * (デッドロックの回避策: ロック順序の統一). Fix for deadlock_two_locks.c.
 *
 * Both threads take lock_a first and lock_b second ("always acquire locks
 * in the same order"). They run at the same time and hold a lock while
 * sleeping, as in the chapter, but a circular wait is impossible: whoever
 * gets lock_a first also gets lock_b, and the other thread waits on lock_a
 * while holding nothing.
 *
 * What concwatch must report: nothing. Every thread acquires lock_a before
 * lock_b, so the lock order graph has the single edge lock_a -> lock_b and
 * no cycle; `transfers` is only touched with both locks held.
 *
 * EXPECT: none
 */
#define _POSIX_C_SOURCE 200809L
#include <pthread.h>
#include <stdio.h>
#include <time.h>

pthread_mutex_t lock_a;
pthread_mutex_t lock_b;
int transfers = 0; /* protected by lock_a and lock_b */

static void sleep_ms(long ms)
{
    struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };
    nanosleep(&ts, NULL);
}

/* Both threads run this: lock_a first, then lock_b. */
static void *worker(void *arg)
{
    (void)arg;
    pthread_mutex_lock(&lock_a);
    sleep_ms(100);               /* same pause as the deadlocking version */
    pthread_mutex_lock(&lock_b); /* same order everywhere: no deadlock */
    transfers++;
    pthread_mutex_unlock(&lock_b);
    pthread_mutex_unlock(&lock_a);
    return NULL;
}

int main(void)
{
    pthread_t t1, t2;

    pthread_mutex_init(&lock_a, NULL);
    pthread_mutex_init(&lock_b, NULL);
    pthread_create(&t1, NULL, worker, NULL);
    pthread_create(&t2, NULL, worker, NULL);
    pthread_join(t1, NULL);
    pthread_join(t2, NULL);
    pthread_mutex_destroy(&lock_b);
    pthread_mutex_destroy(&lock_a);

    printf("both threads took lock A then lock B: %d transfers, no deadlock\n",
           transfers);
    return 0;
}
