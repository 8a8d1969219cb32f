/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * tests/bench/classic_alloc_test.c: "classic-alloc-test", our version of alloc-test
 * (run.py runs it with 1 thread and with --threads).  Each thread owns 8,192 slots; a
 * step picks a random slot and frees its object if it has one, else allocates one of
 * 8..SIZE bytes (90 % up to 128 B).  So the live set hovers around half the slots, and
 * allocations and frees come in random order, not LIFO.
 */
#include "bench.h"

static const char usage[] =
        "classic-alloc-test: per thread, -n steps over 8192 slots: free the slot's object\n"
        "or allocate one of 8..SIZE bytes (90 % up to 128 B).\n"
        "  -t  threads (default 1)\n"
        "  -n  steps per thread (default 12000000)\n"
        "  -s  largest size in bytes (default 4096, at least 129)\n";

#define SLOTS 8192

struct worker {
        long index;             /* first: bench_run_workers sets it */
        unsigned char *slot[SLOTS];
        uint32_t size[SLOTS];
        uint64_t allocs;
};

static struct bench_opt o = { .threads = 1, .iters = 12000000, .size = 4096, .seed = 18 };

static void *work(void *arg)
{
        struct worker *w = arg;
        struct rng r;

        rng_seed(&r, o.seed * 1019 + (uint64_t)w->index);
        for (long k = 0; k < o.iters; k++) {
                uint64_t x = rng_next(&r);
                size_t i = (size_t)(x % SLOTS);

                if (w->slot[i] != NULL) {
                        bench_check_free(w->slot[i], w->size[i], bench_tag(i, w->size[i]),
                                         "classic-alloc-test");
                        w->slot[i] = NULL;
                        continue;
                }
                w->size[i] = (uint32_t)((x >> 20) % 10 ? rng_range(&r, 8, 128) :
                                        rng_range(&r, 129, (size_t)o.size));
                w->slot[i] = bench_xmalloc(w->size[i]);
                bench_stamp(w->slot[i], w->size[i], bench_tag(i, w->size[i]));
                w->allocs++;
        }
        for (size_t i = 0; i < SLOTS; i++)
                if (w->slot[i] != NULL)
                        bench_check_free(w->slot[i], w->size[i], bench_tag(i, w->size[i]),
                                         "classic-alloc-test");
        return NULL;
}

int main(int argc, char **argv)
{
        uint64_t allocs;

        bench_parse(argc, argv, "classic-alloc-test", usage, &o);
        if (o.size < 129)
                o.size = 129;
        allocs = bench_run_workers(o.threads, sizeof(struct worker), work,
                                   offsetof(struct worker, allocs));
        bench_ok("threads=%ld allocs=%llu", o.threads, (unsigned long long)allocs);
        return 0;
}
