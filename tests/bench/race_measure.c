/* race_measure: run a command, report its wall time and peak resident memory.
 *
 *   race_measure [-t SECONDS] -o FILE -- COMMAND [ARGS...]
 *
 * Forks and execs COMMAND, waits with wait4(), and writes one line to FILE:
 *   status=0 wall_ns=123456789 maxrss_kb=10240
 * status is the exit status, 128+N if killed by signal N, 124 on timeout (the command is
 * then killed with SIGKILL after SECONDS), 127 if it could not be run.  maxrss_kb is the
 * command's ru_maxrss (the largest resident set of it and its waited-for descendants).
 * race_measure exits with the same status.  Used by run_race_bench.sh instead of
 * /usr/bin/time, so the benchmark needs nothing beyond a C compiler. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static volatile sig_atomic_t timed_out;
static pid_t child;

static void on_alarm(int sig)
{
    (void)sig;
    timed_out = 1;
    kill(child, SIGKILL);
}

static void usage(void)
{
    fprintf(stderr, "usage: race_measure [-t SECONDS] -o FILE -- COMMAND [ARGS...]\n");
    exit(2);
}

int main(int argc, char **argv)
{
    const char *out = NULL;
    unsigned timeout = 0;
    int i = 1;
    for (; i < argc; i++) {
        if (strcmp(argv[i], "-o") == 0 && i + 1 < argc)
            out = argv[++i];
        else if (strcmp(argv[i], "-t") == 0 && i + 1 < argc)
            timeout = (unsigned)strtoul(argv[++i], NULL, 10);
        else if (strcmp(argv[i], "--") == 0) {
            i++;
            break;
        } else
            usage();
    }
    if (!out || i >= argc)
        usage();

    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    child = fork();
    if (child < 0) {
        perror("race_measure: fork");
        return 127;
    }
    if (child == 0) {
        execvp(argv[i], argv + i);
        fprintf(stderr, "race_measure: %s: %s\n", argv[i], strerror(errno));
        _exit(127);
    }
    if (timeout) {
        struct sigaction sa;
        memset(&sa, 0, sizeof sa);
        sa.sa_handler = on_alarm;
        sigaction(SIGALRM, &sa, NULL);
        alarm(timeout);
    }
    int st;
    struct rusage ru;
    pid_t r;
    while ((r = wait4(child, &st, 0, &ru)) < 0 && errno == EINTR)
        ;
    clock_gettime(CLOCK_MONOTONIC, &t1);
    alarm(0);
    if (r < 0) {
        perror("race_measure: wait4");
        return 127;
    }
    int status = timed_out ? 124
               : WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
    long long wall = (t1.tv_sec - t0.tv_sec) * 1000000000LL + (t1.tv_nsec - t0.tv_nsec);
    FILE *f = fopen(out, "w");
    if (!f) {
        perror(out);
        return 127;
    }
    fprintf(f, "status=%d wall_ns=%lld maxrss_kb=%ld\n", status, wall, ru.ru_maxrss);
    fclose(f);
    return status;
}
