/*
 * deadlock_two_locks.c - two threads, two locks, opposite order (BUGGY, HANGS)
 *
 * Chapter 8, section 8.3 "Multithreading" > "Deadlock" (デッドロック).
 * C port of python/deadlock.py.
 *
 * Thread 1 takes lock_a and then lock_b; thread 2 takes lock_b and then
 * lock_a. Each thread grabs its first lock and then waits until the other
 * one holds its first lock too (the chapter uses time.sleep(0.1) for this;
 * a barrier makes it certain instead of just likely). Now thread 1 holds A
 * and waits for B, thread 2 holds B and waits for A: a circular wait. The
 * program really deadlocks and, run natively, hangs forever.
 *
 * What concwatch must report: the lock order inversion between lock_a and
 * lock_b (A->B in thread 1, B->A in thread 2), and then the actual deadlock
 * (both threads blocked on each other's lock); the run must end with the
 * deadlock report instead of hanging.
 *
 * EXPECT: lock-order-inversion locks=lock_a,lock_b
 * EXPECT: deadlock
 * HANGS: yes
 */
#define _POSIX_C_SOURCE 200809L
#include <pthread.h>
#include <stdio.h>

pthread_mutex_t lock_a = PTHREAD_MUTEX_INITIALIZER;
pthread_mutex_t lock_b = PTHREAD_MUTEX_INITIALIZER;

/* Both threads wait here while holding their first lock. */
static pthread_barrier_t both_hold_one_lock;

static void *thread1(void *arg)
{
    (void)arg;
    pthread_mutex_lock(&lock_a);
    printf("thread 1: acquired lock A\n");
    pthread_barrier_wait(&both_hold_one_lock);
    pthread_mutex_lock(&lock_b); /* deadlock here! */
    printf("thread 1: acquired lock B\n");
    pthread_mutex_unlock(&lock_b);
    pthread_mutex_unlock(&lock_a);
    return NULL;
}

static void *thread2(void *arg)
{
    (void)arg;
    pthread_mutex_lock(&lock_b);
    printf("thread 2: acquired lock B\n");
    pthread_barrier_wait(&both_hold_one_lock);
    pthread_mutex_lock(&lock_a); /* deadlock here! */
    printf("thread 2: acquired lock A\n");
    pthread_mutex_unlock(&lock_a);
    pthread_mutex_unlock(&lock_b);
    return NULL;
}

int main(void)
{
    pthread_t t1, t2;

    setvbuf(stdout, NULL, _IOLBF, 0); /* show progress before the hang */
    pthread_barrier_init(&both_hold_one_lock, NULL, 2);
    pthread_create(&t1, NULL, thread1, NULL);
    pthread_create(&t2, NULL, thread2, NULL);
    pthread_join(t1, NULL); /* never returns */
    pthread_join(t2, NULL);
    pthread_barrier_destroy(&both_hold_one_lock);

    /* To avoid the deadlock, always take the locks in the same order
     * (see deadlock_fixed_order.c). */
    printf("finished (not reached)\n");
    return 0;
}
