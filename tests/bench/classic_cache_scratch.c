/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * tests/bench/classic_cache_scratch.c: "classic-cache-scratch", our version of the
 * classic passive false-sharing test.  The main thread allocates one small object per
 * worker, back to back, so they likely share a cache line, and hands one to each worker.
 * Each worker checks and frees its object, then -n times allocates an object of the same
 * size and writes every byte of it many times.  An allocator that hands the freed
 * object (or its neighbours) back to the freeing thread makes the workers write one
 * cache line from several cores: that is passive false sharing.
 */
#include "bench.h"

static const char usage[] =
        "classic-cache-scratch: T workers free an object the main thread allocated, then\n"
        "allocate SIZE-byte objects and write each byte 20000 times, -n times each.\n"
        "  -t  threads (default 2)\n"
        "  -n  objects per thread (default 3000)\n"
        "  -s  object size in bytes (default 8, 1..64)\n";

#define REPS 20000

struct worker {
        long index;
        unsigned char *given;   /* allocated by the main thread, freed by the worker */
        uint64_t sum;
};

static struct bench_opt o = { .threads = 2, .iters = 3000, .size = 8, .seed = 11 };

static void *work(void *arg)
{
        struct worker *w = arg;
        size_t n = (size_t)o.size;

        if (!bench_check(w->given, n, bench_tag((uint64_t)w->index, 0)))
                bench_fail("thread %ld: handed-over object corrupted", w->index);
        free(w->given);
        for (long k = 0; k < o.iters; k++) {
                unsigned char *p = bench_xmalloc(n);

                w->sum += bench_hammer(p, n, REPS, (unsigned char)(k + w->index),
                                       "classic-cache-scratch");
                free(p);
        }
        return NULL;
}

int main(int argc, char **argv)
{
        struct worker *w;
        uint64_t sum = 0;

        bench_parse(argc, argv, "classic-cache-scratch", usage, &o);
        if (o.size < 1)
                o.size = 1;
        if (o.size > 64)
                o.size = 64;
        w = bench_xcalloc((size_t)o.threads, sizeof(*w));
        for (long i = 0; i < o.threads; i++) {
                w[i].index = i;
                w[i].given = bench_xmalloc((size_t)o.size);
                bench_stamp(w[i].given, (size_t)o.size, bench_tag((uint64_t)i, 0));
        }
        bench_threads(o.threads, work, w, sizeof(*w));
        for (long i = 0; i < o.threads; i++)
                sum += w[i].sum;
        free(w);
        bench_ok("threads=%ld objects=%ld checksum=%llu", o.threads, o.threads * o.iters,
                 (unsigned long long)sum);
        return 0;
}
