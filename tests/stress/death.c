/*
 * death: misuse liballoc detects.  Each case runs in a child process that must die by
 * SIGABRT with the expected message on stderr; the parent checks both.  (jemalloc 5.3
 * does not check these; this program only runs against liballoc.)
 *   double free of a large block, free of a pointer inside a small block (when the slow
 *   path sees it).  Not detected (the page map does not know those pages): a pointer
 *   inside a large block past its first page, a double free of a huge block.
 */
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "stress_util.h"

static void *volatile keep;

static void case_double_free_large(void)
{
        char *p = malloc(100000);
        keep = p;
        free(p);
        free(p);
}

static void *free_interior(void *arg)
{
        free((char *)arg + 8);
        return NULL;
}

static void case_interior_small_remote(void)
{
        /* Freed from another thread, the block goes through the slow path, which checks
         * block boundaries (the owner's own fast path does not look). */
        char *p = malloc(48);
        keep = p;
        pthread_t t;
        pthread_create(&t, NULL, free_interior, p);
        pthread_join(t, NULL);
}

struct death_case {
        const char *name;
        void (*fn)(void);
        const char *message;
};

static const struct death_case cases[] = {
        {"double-free-large", case_double_free_large, "free(): double free or invalid pointer"},
        {"interior-small", case_interior_small_remote, "free(): invalid pointer (not the start"},
};

int main(void)
{
        stress_begin("death", 30);
        int failed = 0;
        for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
                int fds[2];
                if (pipe(fds) != 0)
                        stress_fail("pipe failed");
                pid_t pid = fork();
                if (pid == 0) {
                        dup2(fds[1], STDERR_FILENO);
                        close(fds[0]);
                        signal(SIGABRT, SIG_DFL);
                        cases[i].fn();
                        _exit(0); /* not detected */
                }
                close(fds[1]);
                char out[1024];
                size_t n = 0;
                ssize_t r;
                while (n < sizeof(out) - 1 && (r = read(fds[0], out + n, sizeof(out) - 1 - n)) > 0)
                        n += (size_t)r;
                out[n] = '\0';
                close(fds[0]);
                int status;
                waitpid(pid, &status, 0);
                int ok = WIFSIGNALED(status) && WTERMSIG(status) == SIGABRT &&
                         strstr(out, cases[i].message) != NULL;
                printf("%s %s: %s\n", ok ? "ok" : "FAILED", cases[i].name,
                       WIFSIGNALED(status) ? strsignal(WTERMSIG(status)) : "exited");
                if (!ok) {
                        fprintf(stderr, "death: %s: stderr was: %s\n", cases[i].name, out);
                        failed = 1;
                }
        }
        if (failed)
                stress_fail("some misuse was not detected as expected");
        printf("death: ok\n");
        return 0;
}
