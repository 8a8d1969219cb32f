/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * tests/bench/classic_malloc_simple.c: "classic-malloc-simple", our version of glibc's
 * malloc-simple benchmark, and with -t above 1 of its malloc-thread variant.  Each
 * thread runs the same loops: for each fixed size (16 B .. 4 KiB) and each block count
 * (25, 100, 400, 1600), allocate that many blocks of that size, stamp them, then check
 * and free them all in allocation order; repeated -n times.  The fast paths of malloc
 * and free with a small, then a larger working set, without size mixing.
 */
#include "bench.h"

static const char usage[] =
        "classic-malloc-simple: per thread, for sizes 16..4096 B and counts 25..1600,\n"
        "allocate COUNT blocks of SIZE, then free them in order; -n rounds.\n"
        "  -t  threads (default 1: malloc-simple; more: malloc-thread)\n"
        "  -n  rounds (default 150)\n";

static const size_t sizes[] = { 16, 32, 64, 128, 256, 512, 1024, 4096 };
static const size_t counts[] = { 25, 100, 400, 1600 };
#define NSIZES (sizeof(sizes) / sizeof(sizes[0]))
#define NCOUNTS (sizeof(counts) / sizeof(counts[0]))
#define MAXCOUNT 1600

struct worker {
        long index;             /* first: bench_run_workers sets it */
        void *block[MAXCOUNT];
        uint64_t ops;
};

static struct bench_opt o = { .threads = 1, .iters = 150, .size = 0, .seed = 15 };

static void *work(void *arg)
{
        struct worker *w = arg;

        for (long k = 0; k < o.iters; k++)
                for (size_t s = 0; s < NSIZES; s++)
                        for (size_t c = 0; c < NCOUNTS; c++) {
                                uint64_t tag = bench_tag((uint64_t)w->index,
                                                         (uint64_t)k * 64 + s * 8 + c);

                                for (size_t i = 0; i < counts[c]; i++) {
                                        w->block[i] = bench_xmalloc(sizes[s]);
                                        bench_stamp(w->block[i], sizes[s], tag + i);
                                }
                                for (size_t i = 0; i < counts[c]; i++)
                                        bench_check_free(w->block[i], sizes[s], tag + i,
                                                         "classic-malloc-simple");
                                w->ops += 2 * counts[c];
                        }
        return NULL;
}

int main(int argc, char **argv)
{
        uint64_t ops;

        bench_parse(argc, argv, "classic-malloc-simple", usage, &o);
        ops = bench_run_workers(o.threads, sizeof(struct worker), work,
                                offsetof(struct worker, ops));
        bench_ok("threads=%ld ops=%llu", o.threads, (unsigned long long)ops);
        return 0;
}
