/*
 * fork_basic.c - creating a process with fork() (CORRECT)
 *
 * Chapter 8, section 8.2 "Multiprocess" > "Creating a process (fork)"
 * (プロセスの作成（fork）). C port of python/fork.py.
 *
 * fork() returns 0 in the child and the child's PID in the parent. The
 * child checks that its parent is the process that forked it and exits;
 * the parent waits for it. (The chapter prints raw PIDs; they change on
 * every run, so this port prints the relationships instead.)
 *
 * What concwatch must report: nothing (one thread per process, no locks,
 * no shared memory).
 *
 * EXPECT: none
 */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

int main(void)
{
    pid_t parent = getpid();

    printf("parent process: forking\n");
    fflush(stdout); /* otherwise the child inherits the buffered line */

    pid_t pid = fork();
    if (pid < 0) {
        perror("fork");
        return 1;
    }
    if (pid == 0) {
        /* child process */
        printf("child process: my parent is %s\n",
               getppid() == parent ? "the process that forked me" : "unknown");
        return 0;
    }

    /* parent process */
    int status;
    waitpid(pid, &status, 0); /* wait for the child to finish */
    printf("parent process: child %s exited with status %d\n",
           pid != parent ? "(a new process)" : "(?)",
           WIFEXITED(status) ? WEXITSTATUS(status) : -1);
    return 0;
}
