/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * tests/bench/classic_malloc_large.c: "classic-malloc-large", our version of
 * malloc-large.  One thread keeps 20 slots of large blocks; -n times it replaces a
 * random slot with a new block of 5..25 MiB (uniform, any byte count) and touches only
 * part of it: a stamp at both ends and one byte in each of the first quarter's pages.
 * Measures how an allocator maps, caches and returns huge blocks that are mostly never
 * written (large buffers sized for the worst case).
 */
#include "bench.h"

static const char usage[] =
        "classic-malloc-large: replace random slots of 20 live blocks of 5..25 MiB,\n"
        "touching the first quarter of each block.\n"
        "  -n  blocks allocated (default 3000)\n";

#define SLOTS 20
#define MIB ((size_t)1 << 20)

static void *slot[SLOTS];
static size_t slot_size[SLOTS];
static uint64_t slot_tag[SLOTS];

/* Touch (and later check) the first quarter's pages and the last 8 bytes. */
static void touch(unsigned char *p, size_t n, uint64_t tag)
{
        bench_touch(p, n / 4, tag);
        memcpy(p + n - 8, &tag, 8);
}

static bool touched(const unsigned char *p, size_t n, uint64_t tag)
{
        uint64_t end;

        memcpy(&end, p + n - 8, 8);
        return end == tag && bench_check_touch(p, n / 4, tag);
}

int main(int argc, char **argv)
{
        struct bench_opt o = { .threads = 1, .iters = 3000, .size = 0, .seed = 14 };
        struct rng r;
        uint64_t bytes = 0;

        bench_parse(argc, argv, "classic-malloc-large", usage, &o);
        rng_seed(&r, o.seed);
        for (long k = 0; k < o.iters; k++) {
                size_t i = (size_t)rng_below(&r, SLOTS);
                size_t n = rng_range(&r, 5 * MIB, 25 * MIB);

                if (slot[i] != NULL) {
                        if (!touched(slot[i], slot_size[i], slot_tag[i]))
                                bench_fail("block in slot %zu corrupted at step %ld", i, k);
                        free(slot[i]);
                }
                slot[i] = bench_xmalloc(n);
                slot_size[i] = n;
                slot_tag[i] = bench_tag(i, (uint64_t)k);
                touch(slot[i], n, slot_tag[i]);
                bytes += n;
        }
        for (size_t i = 0; i < SLOTS; i++) {
                if (slot[i] != NULL && !touched(slot[i], slot_size[i], slot_tag[i]))
                        bench_fail("block in slot %zu corrupted at the end", i);
                free(slot[i]);
        }
        bench_ok("blocks=%ld mib=%llu", o.iters, (unsigned long long)(bytes / MIB));
        return 0;
}
