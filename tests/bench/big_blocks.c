/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * tests/bench/big_blocks.c: the "big-blocks" workload — blocks of 1..64 MiB (log-uniform)
 * allocated, written one byte per page, kept in a ring of 4 live blocks and freed oldest
 * first, checking every page on the way out.  Models image/columnar/IO buffers: the cost
 * is mmap/munmap, page faults and zeroing, so an allocator that caches and reuses big
 * spans wins time and one that purges them at once wins RSS (malloc-large style).
 */
#include "bench.h"

static const char usage[] =
        "big-blocks: allocate -n blocks of 1 MiB..SIZE (log-uniform), touch every page,\n"
        "keep the last 4 alive.\n"
        "  -n  blocks (default 120)\n"
        "  -s  largest block in MiB, a power of two (default 64)\n";

#define LIVE 4

int main(int argc, char **argv)
{
        struct bench_opt o = { .threads = 1, .iters = 120, .size = 64, .seed = 8 };
        unsigned char *ring[LIVE] = { NULL };
        size_t size[LIVE] = { 0 };
        uint64_t tag[LIVE] = { 0 };
        struct rng r;
        uint64_t sum = 0, bytes = 0;

        bench_parse(argc, argv, "big-blocks", usage, &o);
        if (o.size < 2)
                o.size = 2;
        rng_seed(&r, o.seed);
        for (long k = 0; k < o.iters + LIVE; k++) {
                size_t i = (size_t)k % LIVE;

                if (ring[i] != NULL) {
                        if (!bench_check_touch(ring[i], size[i], tag[i]))
                                bench_fail("block %ld (%zu B) corrupted", k - LIVE, size[i]);
                        sum += ring[i][0];
                        free(ring[i]);
                        ring[i] = NULL;
                }
                if (k >= o.iters)
                        continue;
                /* Not a multiple of the page size, so the tail handling is exercised. */
                size[i] = rng_log_uniform(&r, (size_t)1 << 20, (size_t)o.size << 20) - 24;
                tag[i] = bench_tag(i, (uint64_t)k);
                ring[i] = bench_xmalloc(size[i]);
                bench_touch(ring[i], size[i], tag[i]);
                bytes += size[i];
        }
        bench_ok("blocks=%ld bytes=%llu checksum=%llu", o.iters, (unsigned long long)bytes,
                 (unsigned long long)sum);
        return 0;
}
