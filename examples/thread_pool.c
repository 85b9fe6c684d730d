/*
 * thread_pool.c - fixed-size thread pool with a task queue (CORRECT)
 *
 * Chapter 8, section 8.4 "Thread pool" > "Thread pool in Python"
 * (Pythonでのスレッドプール). C port of python/thread_pool.py
 * (ThreadPoolExecutor(max_workers=4) running 8 tasks).
 *
 * The pool starts 4 worker threads once. submit() appends a task to a
 * queue protected by pool.lock and signals `not_empty`; idle workers sleep
 * on that condition variable, take the next task and run it, so the same
 * threads are reused for all 8 tasks. shutdown() sets a flag, wakes every
 * worker, lets them drain the queue and joins them. Each task writes its
 * result into its own struct; main reads the results after shutdown().
 *
 * What concwatch must report: nothing. The queue and the shutdown flag are
 * only touched with pool.lock held; a task's fields are written by main
 * before it is queued and read by exactly one worker after it is dequeued
 * (ordered by pool.lock); main reads the results after joining the workers.
 * Only one lock exists, so there is no lock order to get wrong.
 *
 * EXPECT: none
 */
#define _POSIX_C_SOURCE 200809L
#include <pthread.h>
#include <stdio.h>
#include <time.h>

#define MAX_WORKERS 4
#define NUM_TASKS 8

struct task {
    int id;
    int duration_ms;
    char result[32];
    struct task *next; /* queue link */
};

struct thread_pool {
    pthread_mutex_t lock;     /* protects everything below */
    pthread_cond_t not_empty; /* a task was queued, or shutdown began */
    struct task *head, *tail; /* FIFO task queue */
    int shutting_down;
    pthread_t workers[MAX_WORKERS];
};

static void sleep_ms(long ms)
{
    struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };
    nanosleep(&ts, NULL);
}

/* The task itself: pretend to work for a while, then produce a result. */
static void run_task(struct task *t)
{
    sleep_ms(t->duration_ms);
    snprintf(t->result, sizeof t->result, "Result from Task-%d", t->id);
}

static void *worker_main(void *arg)
{
    struct thread_pool *pool = arg;

    for (;;) {
        pthread_mutex_lock(&pool->lock);
        while (pool->head == NULL && !pool->shutting_down)
            pthread_cond_wait(&pool->not_empty, &pool->lock);
        if (pool->head == NULL) { /* shutting down and nothing left */
            pthread_mutex_unlock(&pool->lock);
            return NULL;
        }
        struct task *t = pool->head;
        pool->head = t->next;
        if (pool->head == NULL)
            pool->tail = NULL;
        pthread_mutex_unlock(&pool->lock);

        run_task(t); /* run without holding the lock */
    }
}

static void pool_init(struct thread_pool *pool)
{
    pthread_mutex_init(&pool->lock, NULL);
    pthread_cond_init(&pool->not_empty, NULL);
    pool->head = pool->tail = NULL;
    pool->shutting_down = 0;
    for (int i = 0; i < MAX_WORKERS; i++)
        pthread_create(&pool->workers[i], NULL, worker_main, pool);
}

static void pool_submit(struct thread_pool *pool, struct task *t)
{
    t->next = NULL;
    pthread_mutex_lock(&pool->lock);
    if (pool->tail)
        pool->tail->next = t;
    else
        pool->head = t;
    pool->tail = t;
    pthread_cond_signal(&pool->not_empty);
    pthread_mutex_unlock(&pool->lock);
}

/* Like leaving the `with ThreadPoolExecutor(...)` block: finish all queued
 * tasks, then stop and join the workers. */
static void pool_shutdown(struct thread_pool *pool)
{
    pthread_mutex_lock(&pool->lock);
    pool->shutting_down = 1;
    pthread_cond_broadcast(&pool->not_empty);
    pthread_mutex_unlock(&pool->lock);
    for (int i = 0; i < MAX_WORKERS; i++)
        pthread_join(pool->workers[i], NULL);
    pthread_cond_destroy(&pool->not_empty);
    pthread_mutex_destroy(&pool->lock);
}

int main(void)
{
    struct thread_pool pool;
    struct task tasks[NUM_TASKS];

    pool_init(&pool);
    for (int i = 0; i < NUM_TASKS; i++) {
        tasks[i].id = i;
        tasks[i].duration_ms = (i % 3 + 1) * 10; /* chapter: i % 3 + 1 s */
        tasks[i].result[0] = '\0';
        pool_submit(&pool, &tasks[i]);
    }
    pool_shutdown(&pool);

    for (int i = 0; i < NUM_TASKS; i++)
        printf("task %d result: %s\n", i, tasks[i].result);
    printf("%d tasks done by %d pooled threads\n", NUM_TASKS, MAX_WORKERS);
    return 0;
}
