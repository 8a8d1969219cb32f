/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * fork-in-signal: fork() called from a signal handler while threads allocate, as crash
 * reporters do (POSIX makes fork async-signal-safe).  Worker threads malloc, realloc and
 * free blocks of 1 B to 512 KiB in a loop; the main thread sends SIGUSR1 to one worker
 * (and now and then to all of them at once, so that forks overlap) and the handler, which
 * may have interrupted the worker anywhere inside malloc or free, forks.  The child
 * allocates and frees a little (small, large and a realloc), checks the contents and
 * _exit(0)s; the parent's handler returns and the worker goes on.  The main thread reaps
 * every child and checks its status.  The allocator's fork handlers must neither wait
 * for a lock the interrupted thread holds nor for one another handler holds; the child
 * must be able to allocate even if the interrupted code left an allocator structure
 * half-updated.  A deadlock fires the watchdog (parent) or the child's own alarm.
 * (jemalloc 5.3 deadlocks here in its prefork handler: the runner runs this program
 * against liballoc only.)
 *
 * usage: fork-in-signal [forks=300] [workers=3]
 */
#define _GNU_SOURCE
#include <pthread.h>
#include <stdatomic.h>
#include <sys/wait.h>

#include "stress_util.h"

#define MAX_WORKERS 8
#define SLOTS 64
#define CHILD_TIMEOUT_S 10

static pthread_t workers[MAX_WORKERS];
static unsigned nworkers;
static atomic_int stop;
static atomic_uint forks_done;   /* handler calls that forked */
static atomic_uint fork_failures; /* fork() returned -1 (EAGAIN: too many processes) */
static atomic_ulong worker_ops;

static void child_body(void)
{
        stress_in_child = 1;
        alarm(CHILD_TIMEOUT_S);
        static const size_t sizes[] = {8, 24, 100, 1000, 5000, 40000, 300000, 3 << 20};
        void *blocks[sizeof(sizes) / sizeof(sizes[0])];

        for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
                blocks[i] = launder(malloc(sizes[i]));
                if (blocks[i] == NULL)
                        check_fatal("child: malloc(%zu) failed", sizes[i]);
                pat_fill(blocks[i], sizes[i], 0x1234 + i);
        }
        char *r = launder(realloc(blocks[2], 20000));
        if (r == NULL)
                check_fatal("child: realloc failed");
        if (pat_check(r, sizes[2], sizes[2], 0x1234 + 2) != STRESS_OK)
                check_fatal("child: realloc lost the contents");
        blocks[2] = r;
        for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
                if (i != 2 && pat_check(blocks[i], sizes[i], sizes[i], 0x1234 + i) != STRESS_OK)
                        check_fatal("child: block of %zu bytes was overwritten", sizes[i]);
                free(blocks[i]);
        }
        _exit(0);
}

static void on_usr1(int sig)
{
        int saved = errno;
        (void)sig;
        pid_t pid = fork();
        if (pid == 0)
                child_body();
        if (pid < 0)
                atomic_fetch_add(&fork_failures, 1);
        else
                atomic_fetch_add(&forks_done, 1);
        errno = saved;
}

static void *worker(void *arg)
{
        uint64_t rng = (uint64_t)(uintptr_t)arg * 0x9E3779B97F4A7C15ULL + 1;
        void *slot[SLOTS] = {0};
        size_t size[SLOTS] = {0};
        unsigned long ops = 0;

        while (!atomic_load_explicit(&stop, memory_order_relaxed)) {
                size_t i = rng_below(&rng, SLOTS);
                if (slot[i] != NULL) {
                        if (rng_below(&rng, 4) == 0) {
                                size_t n = rng_log_size(&rng, 1, 512 << 10);
                                void *q = launder(realloc(slot[i], n));
                                if (q == NULL)
                                        check_fatal("realloc(%zu) failed", n);
                                slot[i] = q;
                                size[i] = n;
                                ((unsigned char *)q)[n - 1] = (unsigned char)n;
                                continue;
                        }
                        if (((unsigned char *)slot[i])[size[i] - 1] != (unsigned char)size[i])
                                check_fatal("block of %zu bytes was overwritten", size[i]);
                        free(slot[i]);
                        slot[i] = NULL;
                } else {
                        size_t n = rng_log_size(&rng, 1, 512 << 10);
                        slot[i] = launder(malloc(n));
                        if (slot[i] == NULL)
                                check_fatal("malloc(%zu) failed", n);
                        size[i] = n;
                        ((unsigned char *)slot[i])[n - 1] = (unsigned char)n;
                }
                ops++;
        }
        for (size_t i = 0; i < SLOTS; i++)
                free(slot[i]);
        atomic_fetch_add(&worker_ops, ops);
        return NULL;
}

static unsigned reap(int block)
{
        unsigned n = 0;
        int status;
        pid_t pid;

        while ((pid = waitpid(-1, &status, block ? 0 : WNOHANG)) > 0) {
                n++;
                if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
                        continue;
                if (WIFEXITED(status) && WEXITSTATUS(status) == 3)
                        check_fatal("child %d deadlocked (its alarm fired)", (int)pid);
                if (WIFSIGNALED(status))
                        check_fatal("child %d was killed by signal %d (%s)", (int)pid,
                                    WTERMSIG(status), strsignal(WTERMSIG(status)));
                check_fatal("child %d exited with status %d", (int)pid, WEXITSTATUS(status));
        }
        return n;
}

int main(int argc, char **argv)
{
        stress_begin("fork-in-signal", 60);
        long nforks = stress_arg(argc, argv, 1, 300, 1, 1000000);
        nworkers = (unsigned)stress_arg(argc, argv, 2, 3, 1, MAX_WORKERS);
        struct sigaction sa;
        memset(&sa, 0, sizeof(sa));
        sa.sa_handler = on_usr1;
        sigemptyset(&sa.sa_mask);
        sa.sa_flags = SA_RESTART;
        if (sigaction(SIGUSR1, &sa, NULL) != 0)
                check_fatal("sigaction: %s", strerror(errno));

        double t0 = stress_now();
        for (unsigned i = 0; i < nworkers; i++)
                if (pthread_create(&workers[i], NULL, worker, (void *)(uintptr_t)(i + 1)) != 0)
                        check_fatal("pthread_create failed");

        uint64_t rng = 42;
        unsigned sent = 0, reaped = 0;
        while (atomic_load(&forks_done) < (unsigned)nforks) {
                unsigned before = atomic_load(&forks_done) + atomic_load(&fork_failures);
                unsigned want = 1;
                /* Let the workers get going (the interrupted code must be inside the
                 * allocator most of the time), then interrupt one, or every one. */
                struct timespec ts = {0, (long)(200000 + rng_below(&rng, 800000))};
                nanosleep(&ts, NULL);
                if (rng_below(&rng, 5) == 0) {
                        for (unsigned i = 0; i < nworkers; i++)
                                pthread_kill(workers[i], SIGUSR1);
                        want = nworkers;
                } else {
                        pthread_kill(workers[rng_below(&rng, nworkers)], SIGUSR1);
                }
                sent += want;
                /* Signals to one thread may merge; wait until at least one handler ran. */
                while (atomic_load(&forks_done) + atomic_load(&fork_failures) == before) {
                        struct timespec w = {0, 100000};
                        nanosleep(&w, NULL);
                        reaped += reap(0);
                }
                reaped += reap(0);
        }
        atomic_store(&stop, 1);
        for (unsigned i = 0; i < nworkers; i++)
                pthread_join(workers[i], NULL);
        reaped += reap(1);
        unsigned done = atomic_load(&forks_done);
        if (reaped != done)
                check_fatal("forked %u children but reaped %u", done, reaped);
        /* The parent's heap must still work after all this. */
        for (int i = 0; i < 1000; i++)
                free(launder(malloc((size_t)(i * 37 % 70000) + 1)));
        printf("fork-in-signal: ok: %u forks from signal handlers (%u signals sent, %u fork "
               "failures), %lu worker operations, %.2f s\n",
               done, sent, atomic_load(&fork_failures), atomic_load(&worker_ops),
               stress_now() - t0);
        return 0;
}
