/*
 * shared_counter_object.c - counter object that carries its own lock (CORRECT)
 *
 * Chapter 8, section 8.5 "Shared memory vs message passing" > "Shared
 * memory model" (共有メモリモデル). C port of python/shared_memory.py
 * (class SharedCounter).
 *
 * struct shared_counter bundles the value with the mutex that protects it;
 * the "methods" shared_counter_increment() and shared_counter_get() take
 * the lock, so callers cannot forget it. Four threads increment 10000 times
 * each; the result is always 40000.
 *
 * What concwatch must report: nothing. counter.value is only accessed with
 * counter.lock held, and no thread ever holds two locks.
 *
 * EXPECT: none
 */
#define _POSIX_C_SOURCE 200809L
#include <pthread.h>
#include <stdio.h>

#define NUM_THREADS 4
#define INCREMENTS 10000

struct shared_counter {
    long value;
    pthread_mutex_t lock; /* protects value */
};

static void shared_counter_init(struct shared_counter *c)
{
    c->value = 0;
    pthread_mutex_init(&c->lock, NULL);
}

static void shared_counter_increment(struct shared_counter *c)
{
    pthread_mutex_lock(&c->lock);
    c->value++;
    pthread_mutex_unlock(&c->lock);
}

static long shared_counter_get(struct shared_counter *c)
{
    pthread_mutex_lock(&c->lock);
    long value = c->value;
    pthread_mutex_unlock(&c->lock);
    return value;
}

static void shared_counter_destroy(struct shared_counter *c)
{
    pthread_mutex_destroy(&c->lock);
}

struct shared_counter counter;

static void *worker(void *arg)
{
    (void)arg;
    for (int i = 0; i < INCREMENTS; i++)
        shared_counter_increment(&counter);
    return NULL;
}

int main(void)
{
    pthread_t threads[NUM_THREADS];

    shared_counter_init(&counter);
    for (int i = 0; i < NUM_THREADS; i++)
        pthread_create(&threads[i], NULL, worker, NULL);
    for (int i = 0; i < NUM_THREADS; i++)
        pthread_join(threads[i], NULL);

    printf("count: %ld\n", shared_counter_get(&counter)); /* 40000 */
    shared_counter_destroy(&counter);
    return 0;
}
