/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * tests/bench/pair.c: the loop that instr.sh runs under callgrind to count instructions
 * per malloc+free pair.  "pair" repeats p = malloc(n); free(p) (one live object, LIFO);
 * "batch" does 64 mallocs then 64 frees (free lists really are lists, pages fill and
 * drain).  A fixed warm-up runs first, so two runs that differ only in ITERS differ only
 * by (ITERS2 - ITERS1) pairs of the steady state: instr.sh subtracts them.
 *
 * usage: pair pair|batch SIZE ITERS   (ITERS is the number of malloc+free pairs)
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define WARMUP 4096
#define BATCH 64

static void *volatile sink;

static __attribute__((noinline)) void run_pair(size_t n, long iters)
{
        for (long i = 0; i < iters; i++) {
                void *p = malloc(n);

                sink = p;
                free(p);
        }
}

static __attribute__((noinline)) void run_batch(size_t n, long iters)
{
        void *a[BATCH];

        for (long i = 0; i < iters; i += BATCH) {
                for (int j = 0; j < BATCH; j++)
                        sink = a[j] = malloc(n);
                for (int j = 0; j < BATCH; j++)
                        free(a[j]);
        }
}

int main(int argc, char **argv)
{
        void (*run)(size_t, long);
        char *end;
        size_t n;
        long iters;

        if (argc != 4) {
                fprintf(stderr, "usage: %s pair|batch SIZE ITERS\n", argv[0]);
                return 2;
        }
        if (strcmp(argv[1], "pair") == 0) {
                run = run_pair;
        } else if (strcmp(argv[1], "batch") == 0) {
                run = run_batch;
        } else {
                fprintf(stderr, "%s: mode must be pair or batch\n", argv[0]);
                return 2;
        }
        n = strtoul(argv[2], &end, 0);
        if (*end != '\0' || n == 0) {
                fprintf(stderr, "%s: bad SIZE '%s'\n", argv[0], argv[2]);
                return 2;
        }
        iters = strtol(argv[3], &end, 0);
        if (*end != '\0' || iters < 0 || iters % BATCH != 0) {
                fprintf(stderr, "%s: ITERS must be a non-negative multiple of %d\n",
                        argv[0], BATCH);
                return 2;
        }
        run(n, WARMUP);
        run(n, iters);
        if (sink == NULL) {
                fprintf(stderr, "%s: malloc(%zu) returned NULL\n", argv[0], n);
                return 1;
        }
        return 0;
}
