/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * tests/bench/mixed_sizes.c: the "mixed-sizes" workload — each thread keeps a pool of
 * live objects and replaces random ones with new objects of 8 B .. 1 MiB.  Sizes are
 * log-uniform within an octave and the octave is biased to small ones (the smaller of
 * two uniform picks), so most requests are small but every size class up to 1 MiB is
 * hit and the large ones carry most of the bytes.  Every page of a new object is
 * written, so an allocator that returns and re-faults memory pays for it.
 */
#include "bench.h"

#include <pthread.h>

#define POOL 2048
#define MIN_SHIFT 3     /* 8 B */
#define MAX_SHIFT 20    /* 1 MiB (exclusive) */

static const char usage[] =
        "mixed-sizes: each thread replaces random objects in a pool of 2048 live objects;\n"
        "sizes 8 B .. SIZE, octave biased to small, log-uniform inside the octave.\n"
        "  -t  threads (default 1)\n"
        "  -n  replacements per thread (default 2000000)\n"
        "  -s  largest size in bytes, rounded down to a power of two (default 1048576)\n";

static struct bench_opt o = { .threads = 1, .iters = 2000000, .size = 1 << MAX_SHIFT,
                              .seed = 2 };
static unsigned max_shift;

struct worker {
        pthread_t tid;
        long index;
        uint64_t sum;
};

static size_t pick_size(struct rng *r)
{
        unsigned span = max_shift - MIN_SHIFT;
        unsigned a = (unsigned)rng_below(r, span), b = (unsigned)rng_below(r, span);
        size_t base = (size_t)1 << (MIN_SHIFT + (a < b ? a : b));

        return base + (size_t)rng_below(r, base);
}

static void *work(void *arg)
{
        struct worker *w = arg;
        void **pool = bench_xmalloc(POOL * sizeof(*pool));
        size_t *size = bench_xmalloc(POOL * sizeof(*size));
        uint64_t *tag = bench_xmalloc(POOL * sizeof(*tag));
        struct rng r;
        uint64_t sum = 0;

        rng_seed(&r, o.seed * 1000 + (uint64_t)w->index);
        for (size_t i = 0; i < POOL; i++) {
                size[i] = pick_size(&r);
                tag[i] = bench_tag(i, (uint64_t)w->index);
                pool[i] = bench_xmalloc(size[i]);
                bench_touch(pool[i], size[i], tag[i]);
        }
        for (long k = 1; k <= o.iters; k++) {
                size_t i = (size_t)rng_below(&r, POOL);

                if (!bench_check(pool[i], size[i], tag[i]))
                        bench_fail("thread %ld: object %zu (%zu B) corrupted at step %ld",
                                   w->index, i, size[i], k);
                sum += ((unsigned char *)pool[i])[0];
                free(pool[i]);
                size[i] = pick_size(&r);
                tag[i] = bench_tag(i, (uint64_t)k);
                pool[i] = bench_xmalloc(size[i]);
                bench_touch(pool[i], size[i], tag[i]);
        }
        for (size_t i = 0; i < POOL; i++) {
                if (!bench_check_touch(pool[i], size[i], tag[i]))
                        bench_fail("thread %ld: object %zu corrupted at the end", w->index, i);
                free(pool[i]);
        }
        free(tag);
        free(size);
        free(pool);
        w->sum = sum;
        return NULL;
}

int main(int argc, char **argv)
{
        struct worker *w;
        uint64_t sum = 0;

        bench_parse(argc, argv, "mixed-sizes", usage, &o);
        max_shift = bench_log2((size_t)o.size);
        if (max_shift <= MIN_SHIFT + 1)
                max_shift = MIN_SHIFT + 2;
        w = calloc((size_t)o.threads, sizeof(*w));
        if (w == NULL)
                bench_fail("calloc failed");
        for (long i = 0; i < o.threads; i++) {
                w[i].index = i;
                if (pthread_create(&w[i].tid, NULL, work, &w[i]) != 0)
                        bench_fail("pthread_create failed");
        }
        for (long i = 0; i < o.threads; i++) {
                pthread_join(w[i].tid, NULL);
                sum += w[i].sum;
        }
        free(w);
        bench_ok("threads=%ld ops=%ld checksum=%llu", o.threads, o.threads * o.iters,
                 (unsigned long long)sum);
        return 0;
}
