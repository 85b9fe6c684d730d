/* race_bench: correct multi-threaded programs for the cost of data-race detection.
 *
 *   race_bench private [PASSES] [THREADS]   each thread fills and sums its own 8 MiB
 *                                           array PASSES times, adding each pass's sum
 *                                           to a shared total under a mutex
 *   race_bench counter [ITERS] [THREADS]    THREADS threads each do ITERS increments
 *                                           of one shared counter, under one mutex
 *   race_bench queue   [ITEMS] [THREADS]    THREADS producers and THREADS consumers pass
 *                                           ITEMS items through a 16-slot bounded queue
 *                                           (one mutex, two condition variables)
 *
 * Defaults: private 80 passes x 2 threads, counter 2,000,000 x 4, queue 200,000 x 2
 * (run_race_bench.sh's full sizes).
 * Every shared access is protected, so a race detector must stay silent here.  The
 * program is meant to be built natively and with -fsanitize=thread (see
 * run_race_bench.sh).  The timed part runs from before the first pthread_create to after
 * the last pthread_join (CLOCK_MONOTONIC); the output is one line, e.g.
 *   queue threads=2 n=200000 ns_per_op=812.40 loop_s=0.162
 * where an op is one pass (private), one increment (counter) or one item (queue).
 * The result is checked: a wrong total exits with status 1. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define MAX_THREADS 16
#define ARRAY_BYTES (8u << 20)          /* private: per thread */
#define ARRAY_LEN (ARRAY_BYTES / sizeof(unsigned long))
#define QUEUE_CAP 16

static double now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e9 + ts.tv_nsec;
}

static long n_ops;                      /* written by main before the threads start */
static int n_threads;

/* ---- private: thread-private arrays, one locked update per pass ---- */
static pthread_mutex_t total_lock = PTHREAD_MUTEX_INITIALIZER;
static unsigned long total;             /* under total_lock */

static void *private_worker(void *arg)
{
    unsigned long t = (unsigned long)arg;
    unsigned long *a = malloc(ARRAY_BYTES);     /* this thread's alone */
    if (!a) {
        perror("malloc");
        exit(1);
    }
    for (long pass = 0; pass < n_ops; pass++) {
        for (unsigned long i = 0; i < ARRAY_LEN; i++)
            a[i] = i + pass + t;
        __asm__ volatile("" : : "r"(a) : "memory");     /* keep fill and sum apart */
        unsigned long sum = 0;
        for (unsigned long i = 0; i < ARRAY_LEN; i++)
            sum += a[i];
        pthread_mutex_lock(&total_lock);
        total += sum;
        pthread_mutex_unlock(&total_lock);
    }
    free(a);
    return NULL;
}

static int private_check(void)
{
    /* sum over threads t, passes p, i < L of (i + p + t) */
    unsigned long L = ARRAY_LEN, P = n_ops, T = n_threads, want = 0;
    for (unsigned long t = 0; t < T; t++)
        for (unsigned long p = 0; p < P; p++)
            want += L * (L - 1) / 2 + L * (p + t);
    if (total == want)
        return 0;
    fprintf(stderr, "race_bench: private total %lu, want %lu\n", total, want);
    return 1;
}

/* ---- counter: the chapter's counter, fixed with a mutex ---- */
static pthread_mutex_t counter_lock = PTHREAD_MUTEX_INITIALIZER;
static volatile long counter;           /* under counter_lock */

static void *counter_worker(void *arg)
{
    (void)arg;
    for (long i = 0; i < n_ops; i++) {
        pthread_mutex_lock(&counter_lock);
        counter++;
        pthread_mutex_unlock(&counter_lock);
    }
    return NULL;
}

static int counter_check(void)
{
    if (counter == n_ops * n_threads)
        return 0;
    fprintf(stderr, "race_bench: counter %ld, want %ld\n", counter, n_ops * n_threads);
    return 1;
}

/* ---- queue: bounded producer-consumer queue ---- */
static struct {
    pthread_mutex_t lock;
    pthread_cond_t not_full, not_empty;
    long slot[QUEUE_CAP];
    int head, count;                    /* all under lock */
    long taken;                         /* items removed so far, under lock */
} q = {PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, PTHREAD_COND_INITIALIZER,
       {0}, 0, 0, 0};
static unsigned long consumed_sum[MAX_THREADS];       /* each consumer's own */

static void *producer(void *arg)
{
    long p = (long)arg;
    /* producer p sends the items k with k % n_threads == p, k in [1, n_ops] */
    for (long k = p + 1; k <= n_ops; k += n_threads) {
        pthread_mutex_lock(&q.lock);
        while (q.count == QUEUE_CAP)
            pthread_cond_wait(&q.not_full, &q.lock);
        q.slot[(q.head + q.count) % QUEUE_CAP] = k;
        q.count++;
        pthread_cond_signal(&q.not_empty);
        pthread_mutex_unlock(&q.lock);
    }
    return NULL;
}

static void *consumer(void *arg)
{
    long c = (long)arg;
    unsigned long sum = 0;
    for (;;) {
        pthread_mutex_lock(&q.lock);
        while (q.count == 0 && q.taken < n_ops)
            pthread_cond_wait(&q.not_empty, &q.lock);
        if (q.count == 0) {             /* all n_ops items taken */
            pthread_mutex_unlock(&q.lock);
            break;
        }
        sum += q.slot[q.head];
        q.head = (q.head + 1) % QUEUE_CAP;
        q.count--;
        if (++q.taken == n_ops)
            pthread_cond_broadcast(&q.not_empty);       /* let the others leave */
        pthread_cond_signal(&q.not_full);
        pthread_mutex_unlock(&q.lock);
    }
    consumed_sum[c] = sum;
    return NULL;
}

static int queue_check(void)
{
    unsigned long sum = 0, want = (unsigned long)n_ops * (n_ops + 1) / 2;
    for (int c = 0; c < n_threads; c++)
        sum += consumed_sum[c];
    if (sum == want && q.taken == n_ops && q.count == 0)
        return 0;
    fprintf(stderr, "race_bench: queue passed sum %lu in %ld items, want %lu in %ld\n",
            sum, q.taken, want, n_ops);
    return 1;
}

static void usage(const char *prog)
{
    fprintf(stderr, "usage: %s private|counter|queue [N] [THREADS 1..%d]\n", prog,
            MAX_THREADS);
    exit(2);
}

int main(int argc, char **argv)
{
    if (argc < 2 || argc > 4)
        usage(argv[0]);
    const char *bench = argv[1];
    long def_n, def_t;
    if (strcmp(bench, "private") == 0)
        def_n = 80, def_t = 2;
    else if (strcmp(bench, "counter") == 0)
        def_n = 2000000, def_t = 4;
    else if (strcmp(bench, "queue") == 0)
        def_n = 200000, def_t = 2;
    else
        usage(argv[0]);
    n_ops = argc > 2 ? strtol(argv[2], NULL, 10) : def_n;
    n_threads = argc > 3 ? atoi(argv[3]) : (int)def_t;
    int is_queue = bench[0] == 'q';
    if (n_ops <= 0 || n_threads < 1 || n_threads > MAX_THREADS ||
        (is_queue && n_threads * 2 > MAX_THREADS))
        usage(argv[0]);

    pthread_t tid[MAX_THREADS];
    int n_tid = 0;
    double t0 = now_ns();
    for (long t = 0; t < n_threads; t++) {
        void *(*fn)(void *) = bench[0] == 'p' ? private_worker
                            : bench[0] == 'c' ? counter_worker : producer;
        if (pthread_create(&tid[n_tid++], NULL, fn, (void *)t) != 0) {
            perror("pthread_create");
            return 1;
        }
        if (is_queue && pthread_create(&tid[n_tid++], NULL, consumer, (void *)t) != 0) {
            perror("pthread_create");
            return 1;
        }
    }
    for (int t = 0; t < n_tid; t++)
        pthread_join(tid[t], NULL);
    double ns = now_ns() - t0;

    int bad = bench[0] == 'p' ? private_check()
            : bench[0] == 'c' ? counter_check() : queue_check();
    if (bad)
        return 1;
    printf("%s threads=%d n=%ld ns_per_op=%.2f loop_s=%.3f\n", bench, n_threads, n_ops,
           ns / n_ops, ns / 1e9);
    return 0;
}
