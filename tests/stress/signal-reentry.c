/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * signal-reentry: a signal handler that calls malloc and free, interrupting malloc or free
 * on the same thread.  That is undefined behaviour (malloc is not async-signal-safe), but
 * the allocator must not hang: it either completes or aborts with a message that names
 * the cause.  A child process runs a loop of mallocs and frees of assorted sizes (small
 * blocks, and large ones that take the arena lock on every call) while an ITIMER_PROF
 * timer interrupts it every 50 us with a handler that allocates and frees too.  The
 * parent accepts an exit status of 0 (the child finished its handler calls) or death by
 * SIGABRT with a message containing "re-entered"; a child that is still running after
 * the time limit is killed and fails the test.  (Debian's jemalloc hangs here: the runner
 * runs this program against liballoc only.)
 *
 * usage: signal-reentry [handler_calls=20000] [time_limit_s=20]
 */
#define _GNU_SOURCE
#include <poll.h>
#include <signal.h>
#include <stdatomic.h>
#include <sys/time.h>
#include <sys/wait.h>

#include "stress_util.h"

static volatile sig_atomic_t handler_calls;
static void *volatile handler_keep[4];

static void on_prof(int sig)
{
        int saved = errno;
        static const size_t sizes[] = {24, 200, 3000, 70000};
        (void)sig;
        unsigned k = (unsigned)handler_calls;
        size_t i = k % 4;
        /* Keep one block per size across calls so that the handler frees too, and so
         * that its frees and mallocs reach the slow paths. */
        free(handler_keep[i]);
        handler_keep[i] = launder(malloc(sizes[i] + (k & 63)));
        handler_calls = (sig_atomic_t)(k + 1);
        errno = saved;
}

static void child(long calls)
{
        uint64_t rng = 7;
        void *slot[32] = {0};
        struct sigaction sa;

        memset(&sa, 0, sizeof(sa));
        sa.sa_handler = on_prof;
        sigemptyset(&sa.sa_mask);
        sa.sa_flags = SA_RESTART;
        if (sigaction(SIGPROF, &sa, NULL) != 0)
                check_fatal("sigaction: %s", strerror(errno));
        struct itimerval it = {{0, 50}, {0, 50}};
        if (setitimer(ITIMER_PROF, &it, NULL) != 0)
                check_fatal("setitimer: %s", strerror(errno));
        while (handler_calls < calls) {
                size_t i = rng_below(&rng, 32);
                free(slot[i]);
                size_t n = rng_below(&rng, 3) == 0 ? rng_log_size(&rng, 16 << 10, 1 << 20)
                                                  : rng_log_size(&rng, 1, 4096);
                slot[i] = launder(malloc(n));
                if (slot[i] == NULL)
                        check_fatal("malloc(%zu) failed", n);
                ((char *)slot[i])[0] = 1;
        }
        memset(&it, 0, sizeof(it));
        setitimer(ITIMER_PROF, &it, NULL);
        _exit(0);
}

int main(int argc, char **argv)
{
        stress_begin("signal-reentry", 60);
        long calls = stress_arg(argc, argv, 1, 20000, 1, 100000000);
        long limit = stress_arg(argc, argv, 2, 20, 1, 3600);
        int fds[2];

        if (pipe(fds) != 0)
                check_fatal("pipe: %s", strerror(errno));
        double t0 = stress_now();
        pid_t pid = fork();
        if (pid < 0)
                check_fatal("fork: %s", strerror(errno));
        if (pid == 0) {
                alarm(0);
                dup2(fds[1], STDERR_FILENO);
                close(fds[0]);
                signal(SIGABRT, SIG_DFL);
                child(calls);
        }
        close(fds[1]);
        char out[2048];
        size_t n = 0;
        int status = 0, done = 0;
        while (!done) {
                double left = limit - (stress_now() - t0);
                if (left <= 0) {
                        kill(pid, SIGKILL);
                        waitpid(pid, &status, 0);
                        out[n] = '\0';
                        check_fatal("the child hung: still running after %ld s (deadlock in "
                                    "a re-entered malloc?); its stderr: %s",
                                    limit, out);
                }
                struct pollfd p = {fds[0], POLLIN, 0};
                if (poll(&p, 1, 100) > 0) {
                        ssize_t r = read(fds[0], out + n, sizeof(out) - 1 - n);
                        if (r > 0)
                                n += (size_t)r;
                        else
                                close(fds[0]), fds[0] = -1;
                }
                done = waitpid(pid, &status, WNOHANG) == pid;
        }
        if (fds[0] >= 0) {
                ssize_t r;
                while (n < sizeof(out) - 1 && (r = read(fds[0], out + n, sizeof(out) - 1 - n)) > 0)
                        n += (size_t)r;
        }
        out[n] = '\0';
        if (WIFEXITED(status) && WEXITSTATUS(status) == 0) {
                printf("signal-reentry: ok: %ld handler calls completed in %.2f s\n", calls,
                       stress_now() - t0);
                return 0;
        }
        if (WIFSIGNALED(status) && WTERMSIG(status) == SIGABRT && strstr(out, "re-entered")) {
                printf("signal-reentry: ok: the allocator detected the re-entry and aborted "
                       "after %.2f s: %s", stress_now() - t0, out);
                return 0;
        }
        if (WIFSIGNALED(status))
                check_fatal("the child was killed by signal %d (%s); its stderr: %s",
                            WTERMSIG(status), strsignal(WTERMSIG(status)), out);
        check_fatal("the child exited with status %d; its stderr: %s", WEXITSTATUS(status),
                    out);
}
