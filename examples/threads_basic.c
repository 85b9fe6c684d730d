/*
 * threads_basic.c - starting and joining worker threads (CORRECT)
 *
 * Chapter 8, section 8.3 "Multithreading" > "Multithreading in Python"
 * (Pythonでのマルチスレッド). C port of python/threads.py.
 *
 * main starts four workers; Worker-i sleeps (i + 1) * 20 ms (the chapter
 * sleeps i + 1 seconds) and reports that it is done; main waits for all of
 * them. The threads share nothing but their read-only start arguments.
 *
 * What concwatch must report: nothing (no shared mutable data, no locks).
 *
 * EXPECT: none
 */
#define _POSIX_C_SOURCE 200809L
#include <pthread.h>
#include <stdio.h>
#include <time.h>

#define NUM_WORKERS 4

struct worker_args {
    char name[16];
    long duration_ms;
};

static void sleep_ms(long ms)
{
    struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };
    nanosleep(&ts, NULL);
}

static void *worker(void *arg)
{
    const struct worker_args *a = arg;
    sleep_ms(a->duration_ms);
    printf("thread %s: done after %ld ms\n", a->name, a->duration_ms);
    return NULL;
}

int main(void)
{
    pthread_t threads[NUM_WORKERS];
    struct worker_args args[NUM_WORKERS];

    setvbuf(stdout, NULL, _IOLBF, 0);
    for (int i = 0; i < NUM_WORKERS; i++) {
        snprintf(args[i].name, sizeof args[i].name, "Worker-%d", i);
        args[i].duration_ms = (i + 1) * 20L;
        printf("thread %s: start\n", args[i].name);
        pthread_create(&threads[i], NULL, worker, &args[i]);
    }

    /* wait for all threads */
    for (int i = 0; i < NUM_WORKERS; i++)
        pthread_join(threads[i], NULL);

    printf("all threads finished\n");
    return 0;
}
