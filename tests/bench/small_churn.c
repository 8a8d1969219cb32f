/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * tests/bench/small_churn.c: the "small-churn" workload — one thread, 16..256-byte
 * malloc/free, first in LIFO bursts (allocate a stack of objects, free it newest first),
 * then in random order over a pool of live slots.  Models the allocation-heavy
 * single-threaded programs (interpreters, compilers, cfrac/espresso-style).
 */
#include "bench.h"

#define POOL 4096

static const char usage[] =
        "small-churn: single-threaded 16..SIZE byte malloc/free, LIFO bursts then\n"
        "random replacement in a pool of 4096 live objects.\n"
        "  -n  operations per phase (default 16000000)\n"
        "  -s  largest object size in bytes (default 256, at least 16)\n";

static void *stack[64];
static size_t stack_size[64];
static void *pool[POOL];
static size_t pool_size[POOL];
static uint64_t pool_tag[POOL];

int main(int argc, char **argv)
{
        struct bench_opt o = { .threads = 1, .iters = 16000000, .size = 256, .seed = 1 };
        struct rng r;
        uint64_t serial = 0, sum = 0;
        long done;

        bench_parse(argc, argv, "small-churn", usage, &o);
        if (o.size < 16)
                o.size = 16;
        rng_seed(&r, o.seed);

        /* Phase 1: LIFO bursts of 1..64 objects. */
        done = 0;
        while (done < o.iters) {
                int depth = 1 + (int)rng_below(&r, 64);

                for (int i = 0; i < depth; i++) {
                        size_t n = rng_range(&r, 16, (size_t)o.size);

                        stack[i] = bench_xmalloc(n);
                        stack_size[i] = n;
                        bench_stamp(stack[i], n, serial + (uint64_t)i);
                }
                for (int i = depth - 1; i >= 0; i--) {
                        if (!bench_check(stack[i], stack_size[i], serial + (uint64_t)i))
                                bench_fail("LIFO object %d of burst %llu corrupted", i,
                                           (unsigned long long)serial);
                        sum += ((unsigned char *)stack[i])[0];
                        free(stack[i]);
                }
                serial += (uint64_t)depth;
                done += depth;
        }

        /* Phase 2: random replacement in a pool of live objects. */
        for (int i = 0; i < POOL; i++) {
                pool_size[i] = rng_range(&r, 16, (size_t)o.size);
                pool[i] = bench_xmalloc(pool_size[i]);
                pool_tag[i] = bench_tag((uint64_t)i, 0);
                bench_stamp(pool[i], pool_size[i], pool_tag[i]);
        }
        for (long k = 1; k <= o.iters; k++) {
                size_t i = (size_t)rng_below(&r, POOL);
                size_t n = rng_range(&r, 16, (size_t)o.size);

                if (!bench_check(pool[i], pool_size[i], pool_tag[i]))
                        bench_fail("pool object %zu corrupted at step %ld", i, k);
                sum += ((unsigned char *)pool[i])[pool_size[i] - 1];
                free(pool[i]);
                pool[i] = bench_xmalloc(n);
                pool_size[i] = n;
                pool_tag[i] = bench_tag(i, (uint64_t)k);
                bench_stamp(pool[i], n, pool_tag[i]);
        }
        for (int i = 0; i < POOL; i++) {
                if (!bench_check(pool[i], pool_size[i], pool_tag[i]))
                        bench_fail("pool object %d corrupted at the end", i);
                free(pool[i]);
        }
        bench_ok("ops=%ld checksum=%llu", 2 * o.iters, (unsigned long long)sum);
        return 0;
}
