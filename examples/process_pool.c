/*
 * process_pool.c - fork-based process pool for CPU-bound work (CORRECT)
 *
 * Chapter 8, section 8.4 "Thread pool" > "Process pool" (プロセスプール).
 * C port of python/process_pool.py (ProcessPoolExecutor(max_workers=4)
 * mapping cpu_bound_task over 8 numbers).
 *
 * The parent forks 4 worker processes. Worker w computes tasks w, w+4, ...
 * and sends (task index, result) records back through its own pipe, then
 * exits. The parent reads every pipe to the end, waits for all children
 * and compares the total with a single-process run. Processes share no
 * memory, so no locks are needed at all.
 *
 * What concwatch must report: nothing. There is only one thread per
 * process, no shared memory and no locks; the results travel through pipes.
 *
 * EXPECT: none
 */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <stdlib.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#define MAX_WORKERS 4
#define NUM_TASKS 8
#define TASK_SIZE 1000000L /* chapter: 10_000_000 (Python is slower) */

struct record {
    int task;
    unsigned long long value;
};

/* CPU-bound work: sum of i*i for i < n. */
static unsigned long long cpu_bound_task(long n)
{
    unsigned long long total = 0;
    for (long i = 0; i < n; i++)
        total += (unsigned long long)i * (unsigned long long)i;
    return total;
}

/* Child side: compute our share of the tasks and send the results. */
static void worker_process(int w, const long *numbers, int out_fd)
{
    for (int t = w; t < NUM_TASKS; t += MAX_WORKERS) {
        struct record r = { t, cpu_bound_task(numbers[t]) };
        if (write(out_fd, &r, sizeof r) != (ssize_t)sizeof r)
            _exit(1);
    }
    close(out_fd);
    _exit(0); /* _exit: do not flush the parent's copied stdio buffers */
}

int main(void)
{
    long numbers[NUM_TASKS];
    unsigned long long results[NUM_TASKS] = { 0 };
    int fds[MAX_WORKERS];
    pid_t pids[MAX_WORKERS];

    for (int t = 0; t < NUM_TASKS; t++)
        numbers[t] = TASK_SIZE;

    /* Single process */
    unsigned long long single_total = 0;
    for (int t = 0; t < NUM_TASKS; t++)
        single_total += cpu_bound_task(numbers[t]);
    printf("single process: total = %llu\n", single_total);
    fflush(stdout); /* flush before fork so children do not inherit output */

    /* Process pool */
    for (int w = 0; w < MAX_WORKERS; w++) {
        int p[2];
        if (pipe(p) != 0) {
            perror("pipe");
            return 1;
        }
        pids[w] = fork();
        if (pids[w] < 0) {
            perror("fork");
            return 1;
        }
        if (pids[w] == 0) {
            close(p[0]);
            for (int k = 0; k < w; k++)
                close(fds[k]); /* pipes of earlier workers */
            worker_process(w, numbers, p[1]);
        }
        close(p[1]);
        fds[w] = p[0];
    }

    for (int w = 0; w < MAX_WORKERS; w++) {
        struct record r;
        while (read(fds[w], &r, sizeof r) == (ssize_t)sizeof r)
            if (r.task >= 0 && r.task < NUM_TASKS)
                results[r.task] = r.value;
        close(fds[w]);
    }

    int failed = 0;
    for (int w = 0; w < MAX_WORKERS; w++) {
        int status;
        waitpid(pids[w], &status, 0);
        if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
            failed = 1;
    }

    unsigned long long pool_total = 0;
    for (int t = 0; t < NUM_TASKS; t++)
        pool_total += results[t];
    printf("process pool (%d workers): total = %llu\n", MAX_WORKERS, pool_total);
    printf("results %s\n",
           !failed && pool_total == single_total ? "match" : "DIFFER");
    return failed;
}
