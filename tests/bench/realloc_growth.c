/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * tests/bench/realloc_growth.c: the "realloc-growth" workload — buffers grown by realloc
 * from 1 byte, four at a time in turn (so neighbours get in the way of growing in
 * place): strings that grow by 1..32 bytes per step up to 64 KiB, then vectors that
 * grow by 1/8 per step up to SIZE (MiBs), then a shrink-to-fit to half.  Every new byte
 * is written and the preserved prefix is spot-checked after each realloc.  Models string
 * builders, growing arrays and buffers read from the network.
 */
#include "bench.h"

static const char usage[] =
        "realloc-growth: per round, 4 interleaved strings grown by 1..32 B to 64 KiB and\n"
        "4 interleaved vectors grown by 1/8 to SIZE, then shrunk to half.\n"
        "  -n  rounds (default 60)\n"
        "  -s  final vector size in bytes (default 4194304)\n";

#define NBUF 4
#define STRING_MAX 65536u

struct buf {
        unsigned char *p;
        size_t len;
        unsigned id;
};

/* Byte i of buffer id holds (i >> 8) ^ id: constant over 256-byte runs, so memset fills. */
static unsigned char expect(size_t i, unsigned id)
{
        return (unsigned char)((i >> 8) ^ id);
}

static void fill(struct buf *b, size_t from, size_t to)
{
        while (from < to) {
                size_t run_end = (from | 255u) + 1;

                if (run_end > to)
                        run_end = to;
                memset(b->p + from, expect(from, b->id), run_end - from);
                from = run_end;
        }
}

static void spot_check(const struct buf *b, size_t len, const char *what)
{
        size_t at[3] = { 0, len / 2, len - 1 };

        for (int k = 0; k < 3; k++)
                if (b->p[at[k]] != expect(at[k], b->id))
                        bench_fail("%s buffer %u: byte %zu of %zu lost its value", what,
                                   b->id, at[k], len);
}

static void full_check(const struct buf *b, const char *what)
{
        for (size_t i = 0; i < b->len; i += 251)
                if (b->p[i] != expect(i, b->id))
                        bench_fail("%s buffer %u: byte %zu of %zu wrong", what, b->id, i,
                                   b->len);
        if (b->p[b->len - 1] != expect(b->len - 1, b->id))
                bench_fail("%s buffer %u: last byte wrong", what, b->id);
}

static void grow(struct buf *b, size_t len, const char *what)
{
        unsigned char *p = realloc(b->p, len);

        if (p == NULL)
                bench_fail("realloc(%zu) returned NULL", len);
        b->p = p;
        if (b->len > 0)
                spot_check(b, b->len < len ? b->len : len, what);
        if (len > b->len)
                fill(b, b->len, len);
        b->len = len;
}

int main(int argc, char **argv)
{
        struct bench_opt o = { .threads = 1, .iters = 60, .size = 4 << 20, .seed = 6 };
        struct buf b[NBUF];
        struct rng r;
        uint64_t reallocs = 0, sum = 0;

        bench_parse(argc, argv, "realloc-growth", usage, &o);
        if (o.size < 2)
                o.size = 2;
        rng_seed(&r, o.seed);
        for (long round = 0; round < o.iters; round++) {
                bool growing;

                /* Strings: +1..32 bytes per step. */
                for (unsigned i = 0; i < NBUF; i++)
                        b[i] = (struct buf){ .p = NULL, .len = 0,
                                             .id = (unsigned)round * NBUF + i };
                do {
                        growing = false;
                        for (unsigned i = 0; i < NBUF; i++) {
                                if (b[i].len >= STRING_MAX)
                                        continue;
                                grow(&b[i], b[i].len == 0 ? 1 : b[i].len + rng_range(&r, 1, 32),
                                     "string");
                                reallocs++;
                                growing = true;
                        }
                } while (growing);
                for (unsigned i = 0; i < NBUF; i++) {
                        full_check(&b[i], "string");
                        sum += b[i].len;
                        free(b[i].p);
                }

                /* Vectors: grow by 1/8 (at least 1 byte) up to o.size, then shrink. */
                for (unsigned i = 0; i < NBUF; i++)
                        b[i] = (struct buf){ .p = NULL, .len = 0,
                                             .id = (unsigned)round * NBUF + i + 7 };
                do {
                        growing = false;
                        for (unsigned i = 0; i < NBUF; i++) {
                                size_t len = b[i].len + b[i].len / 8 + 1;

                                if (b[i].len >= (size_t)o.size)
                                        continue;
                                if (len > (size_t)o.size)
                                        len = (size_t)o.size;
                                grow(&b[i], len, "vector");
                                reallocs++;
                                growing = true;
                        }
                } while (growing);
                for (unsigned i = 0; i < NBUF; i++) {
                        full_check(&b[i], "vector");
                        grow(&b[i], b[i].len / 2, "shrunk vector");
                        full_check(&b[i], "shrunk vector");
                        sum += b[i].len;
                        free(b[i].p);
                }
        }
        bench_ok("rounds=%ld reallocs=%llu bytes=%llu", o.iters, (unsigned long long)reallocs,
                 (unsigned long long)sum);
        return 0;
}
