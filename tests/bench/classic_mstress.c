/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * tests/bench/classic_mstress.c: "classic-mstress", our version of the mstress stress
 * test.  Each thread replaces random objects in its own set of 2,000 slots with a mix of
 * sizes (mostly 24-256 B, some up to 8 KiB, a few up to 256 KiB), grows or shrinks some
 * of them with realloc (the kept prefix is checked), keeps one in 32 in a long-lived set
 * that changes slowly, and swaps one in 8 with a shared transfer array, so that objects
 * are freed by another thread than the one that allocated them, at a random later time.
 */
#include "bench.h"

#include <stdatomic.h>

static const char usage[] =
        "classic-mstress: per thread, -n steps over 2000 slots: malloc of mixed sizes,\n"
        "realloc, long-lived objects, swaps through a shared 1024-entry transfer array.\n"
        "  -t  threads (default 2)\n"
        "  -n  steps per thread (default 5000000)\n";

#define SLOTS 2000
#define KEEP 256
#define TRANSFER 1024

static _Atomic(void *) transfer[TRANSFER];

struct worker {
        long index;             /* first: bench_run_workers sets it */
        void *slot[SLOTS];
        void *keep[KEEP];
        uint64_t sum;
};

static struct bench_opt o = { .threads = 2, .iters = 5000000, .size = 0, .seed = 16 };

static size_t mixed_size(struct rng *r)
{
        uint64_t pick = rng_below(r, 100);

        if (pick < 90)
                return rng_range(r, 24, 256);
        if (pick < 99)
                return rng_range(r, 257, 8192);
        return rng_range(r, 8193, 256 * 1024);
}

static void drop(struct worker *w, void *p)
{
        if (p != NULL) {
                w->sum += bench_obj_verify(p, "classic-mstress");
                free(p);
        }
}

/* realloc with the object's header, tag and (for the checked part) contents kept. */
static void *resize(void *p, size_t m)
{
        size_t n = bench_obj_verify(p, "classic-mstress");
        uint64_t tag;
        unsigned char *q;

        memcpy(&tag, (unsigned char *)p + 8, 8);
        q = realloc(p, m);
        if (q == NULL)
                bench_fail("realloc to %zu returned NULL", m);
        if (memcmp(q + 8, &tag, 8) != 0)
                bench_fail("realloc from %zu to %zu lost the prefix", n, m);
        bench_obj_stamp(q, m, tag);
        return q;
}

static void *work(void *arg)
{
        struct worker *w = arg;
        struct rng r;

        rng_seed(&r, o.seed * 1009 + (uint64_t)w->index);
        for (long k = 0; k < o.iters; k++) {
                size_t i = (size_t)rng_below(&r, SLOTS);
                uint64_t op = rng_below(&r, 32);

                if (w->slot[i] == NULL) {
                        w->slot[i] = bench_obj_alloc(mixed_size(&r),
                                                     bench_tag((uint64_t)w->index, (uint64_t)k));
                } else if (op < 4) {
                        w->slot[i] = resize(w->slot[i], BENCH_OBJ_MIN + mixed_size(&r));
                } else if (op < 8) {
                        void *old = atomic_exchange_explicit(&transfer[rng_below(&r, TRANSFER)],
                                                             w->slot[i], memory_order_acq_rel);

                        w->slot[i] = NULL;
                        drop(w, old);
                } else if (op < 9) {
                        size_t j = (size_t)rng_below(&r, KEEP);

                        drop(w, w->keep[j]);
                        w->keep[j] = w->slot[i];
                        w->slot[i] = NULL;
                } else {
                        drop(w, w->slot[i]);
                        w->slot[i] = NULL;
                }
        }
        for (size_t i = 0; i < SLOTS; i++)
                drop(w, w->slot[i]);
        for (size_t j = 0; j < KEEP; j++)
                drop(w, w->keep[j]);
        return NULL;
}

int main(int argc, char **argv)
{
        uint64_t sum;

        bench_parse(argc, argv, "classic-mstress", usage, &o);
        sum = bench_run_workers(o.threads, sizeof(struct worker), work,
                                offsetof(struct worker, sum));
        for (size_t t = 0; t < TRANSFER; t++) {
                void *p = atomic_load(&transfer[t]);

                if (p != NULL)
                        sum += bench_obj_verify(p, "classic-mstress");
                free(p);
        }
        bench_ok("threads=%ld steps=%ld bytes=%llu", o.threads, o.threads * o.iters,
                 (unsigned long long)sum);
        return 0;
}
