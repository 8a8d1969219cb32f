/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * ctl-target: the process the control-socket tests talk to (tests/control/run.sh runs it
 * with LD_PRELOAD=liballoc.so).  It allocates a known amount in blocks of many sizes,
 * fills each with a pattern, then idles (with a little allocation churn) until told:
 *
 *   SIGUSR1   verify every block; prints "verify <pid> ok <blocks>" or "verify <pid> BAD ..."
 *   SIGUSR2   exec /bin/sleep (with -x; LD_PRELOAD dropped unless -X)
 *   SIGTERM   verify, print "exit <pid> ok|BAD", and return from main (normal exit: atexit
 *             handlers run, so the control socket is removed)
 *
 *   ctl-target [-m MIB] [-t SECONDS] [-f] [-x|-X] [-q]
 *     -m MIB      amount to allocate (default 4)
 *     -t SECONDS  lifetime: after it, exit normally anyway (default 120)
 *     -f          fork once ready: the child prints "child <pid>", allocates its own
 *                 blocks (many small ones, so it reaches the allocator's slow path),
 *                 prints "child-ready <pid>" and behaves like the parent
 *     -q          no allocation churn while idle
 * Lines go to stdout, line-buffered; "ready <pid>" once the blocks are filled.
 */
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static volatile sig_atomic_t want_verify, want_exit, want_exec;

static void on_signal(int sig)
{
        if (sig == SIGUSR1)
                want_verify = 1;
        else if (sig == SIGUSR2)
                want_exec = 1;
        else
                want_exit = 1;
}

typedef struct block {
        unsigned char *p;
        size_t size;
        unsigned seed;
} block_t;

static block_t *blocks;
static size_t nblocks;

static unsigned char pat(unsigned seed, size_t i)
{
        return (unsigned char)(seed * 2654435761u + i * 131u + (i >> 9));
}

static void fill(block_t *b)
{
        for (size_t i = 0; i < b->size; i++)
                b->p[i] = pat(b->seed, i);
}

static long check(const block_t *b)
{
        for (size_t i = 0; i < b->size; i++)
                if (b->p[i] != pat(b->seed, i))
                        return (long)i;
        return -1;
}

/* Allocates about mib MiB in blocks of mixed sizes (small ones only with small_only). */
static void allocate(size_t bytes, unsigned seed0, int small_only)
{
        static const size_t sizes[] = {16, 48, 100, 256, 1000, 4096, 10000, 70000, 1 << 20};
        size_t nsizes = small_only ? 3 : sizeof(sizes) / sizeof(sizes[0]);
        size_t cap = 1024, total = 0;
        blocks = realloc(blocks, (nblocks + cap) * sizeof(*blocks));
        if (blocks == NULL)
                abort();
        for (size_t k = 0; total < bytes; k++) {
                if (k == cap) {
                        cap *= 2;
                        blocks = realloc(blocks, (nblocks + cap) * sizeof(*blocks));
                        if (blocks == NULL)
                                abort();
                }
                block_t *b = &blocks[nblocks + k];
                b->size = sizes[k % nsizes];
                b->seed = seed0 + (unsigned)k;
                b->p = malloc(b->size);
                if (b->p == NULL)
                        abort();
                fill(b);
                total += b->size;
                if (total >= bytes)
                        nblocks += k + 1;
        }
}

static int verify(const char *what)
{
        for (size_t k = 0; k < nblocks; k++) {
                long off = check(&blocks[k]);
                if (off >= 0) {
                        printf("%s %d BAD block %zu (size %zu) at byte %ld\n", what, (int)getpid(),
                               k, blocks[k].size, off);
                        return 0;
                }
        }
        printf("%s %d ok %zu\n", what, (int)getpid(), nblocks);
        return 1;
}

static double now(void)
{
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int main(int argc, char **argv)
{
        size_t mib = 4;
        double life = 120;
        int do_fork = 0, do_exec = 0, keep_preload = 0, churn = 1, opt;
        while ((opt = getopt(argc, argv, "m:t:fxXq")) != -1) {
                switch (opt) {
                case 'm': mib = strtoul(optarg, NULL, 10); break;
                case 't': life = atof(optarg); break;
                case 'f': do_fork = 1; break;
                case 'x': do_exec = 1; break;
                case 'X': do_exec = 1, keep_preload = 1; break;
                case 'q': churn = 0; break;
                default:
                        fprintf(stderr, "usage: %s [-m MIB] [-t SECONDS] [-f] [-x|-X] [-q]\n",
                                argv[0]);
                        return 2;
                }
        }
        setvbuf(stdout, NULL, _IOLBF, 0);
        struct sigaction sa;
        memset(&sa, 0, sizeof(sa));
        sa.sa_handler = on_signal;
        sigemptyset(&sa.sa_mask);
        sigaction(SIGUSR1, &sa, NULL);
        sigaction(SIGUSR2, &sa, NULL);
        sigaction(SIGTERM, &sa, NULL);
        sigaction(SIGINT, &sa, NULL);

        double end = now() + life;
        allocate(mib << 20, 1, 0);
        printf("ready %d\n", (int)getpid());
        if (do_fork) {
                fflush(stdout);
                pid_t c = fork();
                if (c < 0) {
                        perror("fork");
                        return 1;
                }
                if (c == 0) {
                        printf("child %d\n", (int)getpid());
                        allocate(2u << 20, 100000, 1); /* ~43000 small blocks */
                        printf("child-ready %d\n", (int)getpid());
                } else {
                        printf("forked %d\n", (int)c);
                }
        }
        void *churn_p[64] = {0};
        unsigned tick = 0;
        while (!want_exit && now() < end) {
                struct timespec ts = {0, 20 * 1000 * 1000};
                nanosleep(&ts, NULL);
                if (want_verify) {
                        want_verify = 0;
                        verify("verify");
                }
                if (want_exec && do_exec) {
                        want_exec = 0;
                        if (!keep_preload)
                                unsetenv("LD_PRELOAD");
                        printf("exec %d\n", (int)getpid());
                        fflush(stdout);
                        char secs[32];
                        snprintf(secs, sizeof(secs), "%d", (int)(end - now()) + 1);
                        execl("/bin/sleep", "sleep", secs, (char *)NULL);
                        perror("exec /bin/sleep");
                        return 1;
                }
                if (churn) {
                        unsigned i = tick++ % 64;
                        free(churn_p[i]);
                        churn_p[i] = malloc(16 + (tick * 37) % 3000);
                        if (churn_p[i] != NULL)
                                memset(churn_p[i], (int)tick, 16);
                }
        }
        for (unsigned i = 0; i < 64; i++)
                free(churn_p[i]);
        int ok = verify("exit");
        return ok ? 0 : 3;
}
