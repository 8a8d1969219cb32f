/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * tests/bench/classic_cache_thrash.c: "classic-cache-thrash", our version of the
 * classic active false-sharing test.  Each worker, on its own from the start, -n times
 * allocates a small object, writes every byte of it many times, checks it and frees it.
 * An allocator that carves the threads' concurrent small allocations out of one cache
 * line (one shared heap, one shared slab) makes the cores fight over that line: active
 * false sharing.  With per-thread heaps it runs at L1 speed.
 */
#include "bench.h"

static const char usage[] =
        "classic-cache-thrash: T workers each allocate a SIZE-byte object, write each\n"
        "byte 20000 times, check and free it; -n times per worker.\n"
        "  -t  threads (default 2)\n"
        "  -n  objects per thread (default 3000)\n"
        "  -s  object size in bytes (default 8, 1..64)\n";

#define REPS 20000

struct worker {
        long index;             /* first: bench_run_workers sets it */
        uint64_t sum;
};

static struct bench_opt o = { .threads = 2, .iters = 3000, .size = 8, .seed = 12 };

static void *work(void *arg)
{
        struct worker *w = arg;

        for (long k = 0; k < o.iters; k++) {
                unsigned char *p = bench_xmalloc((size_t)o.size);

                w->sum += bench_hammer(p, (size_t)o.size, REPS, (unsigned char)(k * 3),
                                       "classic-cache-thrash");
                free(p);
        }
        return NULL;
}

int main(int argc, char **argv)
{
        uint64_t sum;

        bench_parse(argc, argv, "classic-cache-thrash", usage, &o);
        if (o.size < 1)
                o.size = 1;
        if (o.size > 64)
                o.size = 64;
        sum = bench_run_workers(o.threads, sizeof(struct worker), work,
                                offsetof(struct worker, sum));
        bench_ok("threads=%ld objects=%ld checksum=%llu", o.threads, o.threads * o.iters,
                 (unsigned long long)sum);
        return 0;
}
