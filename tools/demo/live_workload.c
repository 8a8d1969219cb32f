/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * live_workload: the program the live demo tunes from outside.  It knows nothing about
 * jemctl: it allocates MiB megabytes in small and medium blocks (a cache filling up),
 * frees the oldest 90 % of them (the cache evicting), prints "ready <pid>" and then keeps serving:
 * every 100 ms a small request (64 B, freed) and a session (session_open: 16 KiB kept in a
 * ring of the last 64, 1 MiB live), until it is killed or SECONDS pass.  The live demo
 * captures a heap profile of it, which names session_open.
 *
 * usage: live_workload [MiB] [SECONDS]     (defaults 400 and 120)
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static void *sessions[64];

/* Where the demo's heap profile points: the program's only steady allocation. */
__attribute__((noinline)) void *session_open(unsigned i)
{
        char *s = malloc(16384);
        if (s != NULL)
                memset(s, (int)i, 16384);
        return s;
}

int main(int argc, char **argv)
{
        size_t mib = argc > 1 ? strtoul(argv[1], NULL, 10) : 400;
        long seconds = argc > 2 ? strtol(argv[2], NULL, 10) : 120;
        size_t n = mib * 1024 * 1024 / 2048;
        char **p = malloc(n * sizeof(*p));
        if (p == NULL)
                return 1;
        uint32_t x = 12345;
        for (size_t i = 0; i < n; i++) {
                x = x * 1103515245u + 12345u;
                size_t sz = 256 + (x >> 8) % 3840; /* 256 B .. 4 KiB, 2 KiB on average */
                p[i] = malloc(sz);
                if (p[i] == NULL)
                        return 1;
                memset(p[i], (int)i, sz);
        }
        for (size_t i = 0; i < n; i++) {
                if (i < n / 10 * 9) {
                        free(p[i]);
                        p[i] = NULL;
                }
        }
        printf("ready %d\n", (int)getpid());
        fflush(stdout);
        struct timespec ts = {0, 100 * 1000 * 1000};
        for (long t = 0; t < seconds * 10; t++) {
                void *q = malloc(64);
                unsigned i = (unsigned)t % 64;
                free(sessions[i]);
                sessions[i] = session_open(i);
                nanosleep(&ts, NULL);
                free(q);
        }
        return 0;
}
