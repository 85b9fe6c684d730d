/*
 * dining_philosophers.c - left fork, then right fork: a 5-lock cycle (BUGGY)
 *
 * Chapter 8, section 8.3 "Multithreading" > "Deadlock" (デッドロック,
 * circular wait). Classic illustration, not a program from the chapter;
 * fixed in dining_philosophers_fixed.c.
 *
 * Five philosophers sit around a table with one fork between neighbours.
 * Philosopher i picks up forks[i] (left) and then forks[(i + 1) % 5]
 * (right). That gives the lock order forks[0] -> forks[1] -> forks[2] ->
 * forks[3] -> forks[4] -> forks[0]: a cycle. If all five picked up their
 * left fork at the same moment, everyone would wait for the right one
 * forever.
 *
 * This run never hangs: the philosophers eat strictly in turns (0, 1, 2,
 * 3, 4, 0, ...), one at a time. The turn counter is protected by
 * turn_lock, but turn_lock is released before any fork is picked up, so it
 * does not guard the fork acquisitions: the cycle in the lock order is real
 * and would deadlock as soon as the philosophers were allowed to eat
 * concurrently.
 *
 * What concwatch must report: one lock order inversion, the cycle through
 * all five forks. Nothing involving turn_lock (it is never held together
 * with a fork), no data race (meals[i] is only written by philosopher i and
 * read by main after the joins), and no deadlock.
 *
 * EXPECT: lock-order-inversion locks=forks[0],forks[1],forks[2],forks[3],forks[4]
 */
#define _POSIX_C_SOURCE 200809L
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>

#define NUM_PHILOSOPHERS 5
#define MEALS 3

pthread_mutex_t forks[NUM_PHILOSOPHERS] = {
    PTHREAD_MUTEX_INITIALIZER, PTHREAD_MUTEX_INITIALIZER,
    PTHREAD_MUTEX_INITIALIZER, PTHREAD_MUTEX_INITIALIZER,
    PTHREAD_MUTEX_INITIALIZER,
};

/* Whose turn it is to eat; turn % NUM_PHILOSOPHERS is the philosopher. */
pthread_mutex_t turn_lock = PTHREAD_MUTEX_INITIALIZER;
pthread_cond_t turn_changed = PTHREAD_COND_INITIALIZER;
int turn = 0;

int meals[NUM_PHILOSOPHERS]; /* meals[i] is written only by philosopher i */

static void wait_for_turn(int ticket)
{
    pthread_mutex_lock(&turn_lock);
    while (turn != ticket)
        pthread_cond_wait(&turn_changed, &turn_lock);
    pthread_mutex_unlock(&turn_lock); /* released before touching forks */
}

static void pass_turn(void)
{
    pthread_mutex_lock(&turn_lock);
    turn++;
    pthread_cond_broadcast(&turn_changed);
    pthread_mutex_unlock(&turn_lock);
}

static void *philosopher(void *arg)
{
    int id = (int)(intptr_t)arg;
    int left = id;
    int right = (id + 1) % NUM_PHILOSOPHERS;

    for (int m = 0; m < MEALS; m++) {
        wait_for_turn(m * NUM_PHILOSOPHERS + id);
        pthread_mutex_lock(&forks[left]);  /* left fork first ...  */
        pthread_mutex_lock(&forks[right]); /* ... then the right one */
        meals[id]++;                       /* eat */
        pthread_mutex_unlock(&forks[right]);
        pthread_mutex_unlock(&forks[left]);
        pass_turn();
    }
    return NULL;
}

int main(void)
{
    pthread_t threads[NUM_PHILOSOPHERS];

    for (int i = 0; i < NUM_PHILOSOPHERS; i++)
        pthread_create(&threads[i], NULL, philosopher, (void *)(intptr_t)i);
    for (int i = 0; i < NUM_PHILOSOPHERS; i++)
        pthread_join(threads[i], NULL);

    for (int i = 0; i < NUM_PHILOSOPHERS; i++)
        printf("philosopher %d ate %d times (fork %d, then fork %d)\n", i,
               meals[i], i, (i + 1) % NUM_PHILOSOPHERS);
    printf("no deadlock this time: they ate in turns\n");
    return 0;
}
