/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * tests/bench/classic_mleak.c: "classic-mleak", our version of the mleak test: a program
 * that leaks slowly while it churns.  Each step allocates a burst of 1..32 objects of
 * 16 B-2 KiB and frees them again in random order, and leaks one 32..512-byte object
 * every 32 steps (kept on a list, checked at the end, never freed).  It prints the RSS
 * growth against the bytes leaked: an allocator that lets the churn's freed memory
 * interleave with the leaked objects keeps whole pages alive for a few bytes each.
 */
#include "bench.h"

static const char usage[] =
        "classic-mleak: -n steps of a 1..32-object burst of 16 B..2 KiB, freed in random\n"
        "order, plus one leaked 32..512-byte object every 32 steps.\n"
        "  -n  steps (default 2000000)\n";

#define BURST 32

struct leak {
        struct leak *next;
        uint64_t size;
        uint64_t tag;
};

int main(int argc, char **argv)
{
        struct bench_opt o = { .threads = 1, .iters = 2000000, .size = 0, .seed = 19 };
        struct rng r;
        struct leak *leaks = NULL;
        void *burst[BURST];
        size_t burst_size[BURST];
        uint64_t leaked = 0, nleaks = 0;
        long rss0;

        bench_parse(argc, argv, "classic-mleak", usage, &o);
        rng_seed(&r, o.seed);
        rss0 = bench_rss_kib();
        for (long k = 0; k < o.iters; k++) {
                size_t n = (size_t)rng_range(&r, 1, BURST);

                for (size_t i = 0; i < n; i++) {
                        burst_size[i] = rng_log_uniform(&r, 16, 2048);
                        burst[i] = bench_xmalloc(burst_size[i]);
                        bench_stamp(burst[i], burst_size[i], bench_tag(i, (uint64_t)k));
                }
                if (k % 32 == 0) {
                        size_t m = rng_range(&r, sizeof(struct leak) + 8, 512);
                        struct leak *l = bench_xmalloc(m);

                        l->next = leaks;
                        l->size = m;
                        l->tag = bench_tag(m, nleaks);
                        memcpy((unsigned char *)l + m - 8, &l->tag, 8);
                        leaks = l;
                        leaked += m;
                        nleaks++;
                }
                /* Free the burst in random order: swap a random survivor to the end. */
                while (n > 0) {
                        size_t i = (size_t)rng_below(&r, n);

                        bench_check_free(burst[i], burst_size[i],
                                         bench_tag(i, (uint64_t)k), "classic-mleak");
                        n--;
                        burst[i] = burst[n];
                        burst_size[i] = burst_size[n];
                        /* The moved object keeps the tag of its original index. */
                        if (i != n)
                                bench_stamp(burst[i], burst_size[i], bench_tag(i, (uint64_t)k));
                }
        }
        long growth = bench_rss_kib() - rss0;
        uint64_t count = 0;

        for (struct leak *l = leaks; l != NULL; l = l->next, count++) {
                uint64_t end;

                memcpy(&end, (unsigned char *)l + l->size - 8, 8);
                if (end != l->tag || l->tag != bench_tag(l->size, nleaks - 1 - count))
                        bench_fail("leaked object %llu corrupted", (unsigned long long)count);
        }
        bench_ok("leaks=%llu leaked_kib=%llu rss_growth_kib=%ld", (unsigned long long)nleaks,
                 (unsigned long long)(leaked / 1024), growth);
        return 0;
}
