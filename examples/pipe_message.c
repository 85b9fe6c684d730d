/*
 * pipe_message.c - message passing through a pipe, parent and child (CORRECT)
 *
 * Chapter 8, section 8.2 "Multiprocess" > "Inter-process communication" >
 * "Pipe example" (パイプの例). C port of python/pipe.py.
 *
 * The parent creates a pipe and forks. The child is the sender: it writes
 * "Hello", "World", "Done" (one message per line) and exits. The parent is
 * the receiver: it reads lines until "Done" or end of file, then waits for
 * the child. Only the parent prints, so the output is always the same.
 *
 * What concwatch must report: nothing. Each process has a single thread,
 * no memory is shared and no locks are used.
 *
 * EXPECT: none
 */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <string.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

/* Sender process */
static void sender(int fd)
{
    const char *messages[] = { "Hello", "World", "Done" };
    for (size_t i = 0; i < sizeof messages / sizeof messages[0]; i++) {
        char line[32];
        int len = snprintf(line, sizeof line, "%s\n", messages[i]);
        if (write(fd, line, (size_t)len) != len) /* small write: atomic */
            _exit(1);
    }
    close(fd);
    _exit(0);
}

/* Receiver process */
static int receiver(int fd)
{
    FILE *in = fdopen(fd, "r");
    char line[32];
    int received = 0;

    if (in == NULL)
        return -1;
    while (fgets(line, sizeof line, in) != NULL) { /* NULL: EOF */
        line[strcspn(line, "\n")] = '\0';
        printf("received: %s\n", line);
        received++;
        if (strcmp(line, "Done") == 0)
            break;
    }
    fclose(in);
    return received;
}

int main(void)
{
    int p[2];

    if (pipe(p) != 0) {
        perror("pipe");
        return 1;
    }
    fflush(stdout);
    pid_t pid = fork();
    if (pid < 0) {
        perror("fork");
        return 1;
    }
    if (pid == 0) {
        close(p[0]);
        sender(p[1]);
    }
    close(p[1]);
    int received = receiver(p[0]);

    int status;
    waitpid(pid, &status, 0);
    printf("sender exited with status %d, %d messages received\n",
           WIFEXITED(status) ? WEXITSTATUS(status) : -1, received);
    return 0;
}
