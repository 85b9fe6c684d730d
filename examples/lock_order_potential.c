/*
 * lock_order_potential.c - inverted lock order that happens not to hang (BUGGY)
 *
 * Chapter 8, section 8.3 "Multithreading" > "Deadlock" (デッドロック).
 * Same threads as deadlock_two_locks.c / python/deadlock_no_hang.py.
 *
 * Thread 1 takes lock_a then lock_b; thread 2 takes lock_b then lock_a.
 * main joins thread 1 before it starts thread 2, so the two never overlap
 * and the program always finishes. The bug is still there: the moment the
 * threads run at the same time (as in deadlock_two_locks.c) they can
 * deadlock. This is the kind of latent bug a lock-order checker finds on a
 * run that happened to succeed.
 *
 * What concwatch must report: a lock order inversion between lock_a and
 * lock_b (A->B observed in thread 1, B->A in thread 2). No deadlock
 * happens, so no deadlock report.
 *
 * EXPECT: lock-order-inversion locks=lock_a,lock_b
 */
#define _POSIX_C_SOURCE 200809L
#include <pthread.h>
#include <stdio.h>

pthread_mutex_t lock_a = PTHREAD_MUTEX_INITIALIZER;
pthread_mutex_t lock_b = PTHREAD_MUTEX_INITIALIZER;

static void *thread1(void *arg)
{
    (void)arg;
    pthread_mutex_lock(&lock_a);
    printf("thread 1: acquired lock A\n");
    pthread_mutex_lock(&lock_b); /* order A -> B */
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
    pthread_mutex_lock(&lock_a); /* order B -> A: inverted! */
    printf("thread 2: acquired lock A\n");
    pthread_mutex_unlock(&lock_a);
    pthread_mutex_unlock(&lock_b);
    return NULL;
}

int main(void)
{
    pthread_t t1, t2;

    setvbuf(stdout, NULL, _IOLBF, 0);
    /* One after the other: thread 1 has released both locks before
     * thread 2 even exists, so this run cannot deadlock. */
    pthread_create(&t1, NULL, thread1, NULL);
    pthread_join(t1, NULL);
    pthread_create(&t2, NULL, thread2, NULL);
    pthread_join(t2, NULL);

    printf("finished without deadlock (this time)\n");
    return 0;
}
