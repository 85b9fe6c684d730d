/* lock_bench: a lock-heavy micro-benchmark for concwatch's overhead.
 *
 *   lock_bench uncontended [ITERS] [THREADS]   lock(m); unlock(m)
 *   lock_bench nested      [ITERS] [THREADS]   lock A,B,C; unlock C,B,A
 *   lock_bench uncontended-mt|nested-mt [ITERS] [1]
 *
 * With one thread the loop runs in main and the process never creates a
 * thread.  glibc (2.34 and later) takes a private mutex without an atomic
 * instruction while __libc_single_threaded is set, so that loop times locks
 * no multithreaded program ever gets.  The -mt loops run the same single
 * worker in main after a thread has been created and joined, as in every
 * program that has started a thread: glibc's lock cmpxchg is back.
 *
 * Each thread owns its own mutexes, so nothing is ever contended and the
 * lock order never cycles: a correct detector must stay silent here.  The
 * loop alone is timed with CLOCK_MONOTONIC; the output is one line, e.g.
 *   uncontended threads=1 iters=10000000 ns_per_iter=17.30 loop_s=0.173
 * With several threads ns_per_iter is that of the slowest thread. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define MAX_THREADS 16

struct worker {
    pthread_mutex_t m[3];               /* A, B, C (uncontended uses only A) */
    unsigned long counter;              /* touched under the locks */
    int nested;
    long iters;
    double ns;                          /* loop time of this thread */
} __attribute__((aligned(64)));         /* one cache line set per thread */

static double now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e9 + ts.tv_nsec;
}

static void *run(void *arg)
{
    struct worker *w = arg;
    double t0 = now_ns();
    if (w->nested) {
        for (long i = 0; i < w->iters; i++) {
            pthread_mutex_lock(&w->m[0]);
            pthread_mutex_lock(&w->m[1]);
            pthread_mutex_lock(&w->m[2]);
            w->counter++;
            pthread_mutex_unlock(&w->m[2]);
            pthread_mutex_unlock(&w->m[1]);
            pthread_mutex_unlock(&w->m[0]);
        }
    } else {
        for (long i = 0; i < w->iters; i++) {
            pthread_mutex_lock(&w->m[0]);
            w->counter++;
            pthread_mutex_unlock(&w->m[0]);
        }
    }
    w->ns = now_ns() - t0;
    return NULL;
}

static void usage(const char *prog)
{
    fprintf(stderr, "usage: %s uncontended|nested [ITERS] [THREADS 1..%d]\n"
                    "       %s uncontended-mt|nested-mt [ITERS] [1]\n",
            prog, MAX_THREADS, prog);
    exit(2);
}

static void *idle_thread(void *arg)
{
    return arg;
}

/* Leaves the process as every program that has started a thread is: no longer
 * single-threaded for glibc, even once that thread has ended. */
static void start_and_join_a_thread(void)
{
    pthread_t t;
    if (pthread_create(&t, NULL, idle_thread, NULL) != 0) {
        perror("pthread_create");
        exit(1);
    }
    pthread_join(t, NULL);
}

int main(int argc, char **argv)
{
    if (argc < 2 || argc > 4)
        usage(argv[0]);
    const char *loop = argv[1];
    int mt = strcmp(loop, "uncontended-mt") == 0 || strcmp(loop, "nested-mt") == 0;
    int nested = strncmp(loop, "nested", 6) == 0;
    if (!mt && strcmp(loop, "nested") != 0 && strcmp(loop, "uncontended") != 0)
        usage(argv[0]);
    long iters = argc > 2 ? strtol(argv[2], NULL, 10) : 10000000;
    int nthreads = argc > 3 ? atoi(argv[3]) : 1;
    if (mt && nthreads != 1)
        usage(argv[0]);
    if (iters <= 0 || nthreads < 1 || nthreads > MAX_THREADS)
        usage(argv[0]);

    static struct worker w[MAX_THREADS];
    pthread_t tid[MAX_THREADS];
    for (int t = 0; t < nthreads; t++) {
        for (int k = 0; k < 3; k++)
            pthread_mutex_init(&w[t].m[k], NULL);
        w[t].nested = nested;
        w[t].iters = iters;
    }
    if (mt)
        start_and_join_a_thread();
    if (nthreads == 1) {
        run(&w[0]);                     /* in main (-mt: after a thread ended) */
    } else {
        for (int t = 0; t < nthreads; t++)
            if (pthread_create(&tid[t], NULL, run, &w[t]) != 0) {
                perror("pthread_create");
                return 1;
            }
        for (int t = 0; t < nthreads; t++)
            pthread_join(tid[t], NULL);
    }

    double worst = 0;
    for (int t = 0; t < nthreads; t++) {
        if (w[t].counter != (unsigned long)iters) {
            fprintf(stderr, "lock_bench: thread %d counted %lu, want %ld\n",
                    t, w[t].counter, iters);
            return 1;
        }
        if (w[t].ns > worst)
            worst = w[t].ns;
        for (int k = 0; k < 3; k++)
            pthread_mutex_destroy(&w[t].m[k]);
    }
    printf("%s threads=%d iters=%ld ns_per_iter=%.2f loop_s=%.3f\n",
           argv[1], nthreads, iters, worst / iters, worst / 1e9);
    return 0;
}
