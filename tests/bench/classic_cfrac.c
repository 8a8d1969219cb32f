/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * tests/bench/classic_cfrac.c: "classic-cfrac", a cfrac-like workload: arithmetic on
 * small heap-allocated big numbers, where every operation allocates its result and the
 * operands die soon after.  Numbers are 1..12 32-bit limbs behind a small header (so
 * 16-64 byte objects); a few dozen are live at a time in a working set.  Each step
 * multiplies or adds two of them (truncated to a random width, like a modulus would),
 * frees one operand and puts the result in its place.  The low 64 bits of every result
 * are checked against plain uint64_t arithmetic.
 */
#include "bench.h"

static const char usage[] =
        "classic-cfrac: -n big-number operations on 1..12-limb numbers, each allocating\n"
        "its result and freeing an operand; a working set of 48 numbers.\n"
        "  -n  operations (default 12000000)\n";

#define LIVE 48
#define MAXLIMBS 12

struct big {
        uint32_t n;             /* limbs in use */
        uint32_t cap;
        uint32_t limb[];        /* little-endian */
};

static struct big *big_new(uint32_t n)
{
        struct big *b = bench_xmalloc(sizeof(*b) + n * sizeof(uint32_t));

        b->n = n;
        b->cap = n;
        return b;
}

static uint64_t low64(const struct big *b)
{
        uint64_t v = b->limb[0];

        if (b->n > 1)
                v |= (uint64_t)b->limb[1] << 32;
        return v;
}

/* a * b truncated to width limbs (width >= 2, so the low 64 bits are exact). */
static struct big *big_mul(const struct big *a, const struct big *b, uint32_t width)
{
        struct big *c = big_new(width);

        memset(c->limb, 0, width * sizeof(uint32_t));
        for (uint32_t i = 0; i < a->n && i < width; i++) {
                uint64_t carry = 0;

                for (uint32_t j = 0; j < b->n && i + j < width; j++) {
                        uint64_t t = (uint64_t)a->limb[i] * b->limb[j] + c->limb[i + j] + carry;

                        c->limb[i + j] = (uint32_t)t;
                        carry = t >> 32;
                }
                if (i + b->n < width)
                        c->limb[i + b->n] = (uint32_t)carry;
        }
        return c;
}

static struct big *big_add(const struct big *a, const struct big *b, uint32_t width)
{
        struct big *c = big_new(width);
        uint64_t carry = 0;

        for (uint32_t i = 0; i < width; i++) {
                uint64_t t = carry;

                if (i < a->n)
                        t += a->limb[i];
                if (i < b->n)
                        t += b->limb[i];
                c->limb[i] = (uint32_t)t;
                carry = t >> 32;
        }
        return c;
}

int main(int argc, char **argv)
{
        struct bench_opt o = { .threads = 1, .iters = 12000000, .size = 0, .seed = 20 };
        struct big *set[LIVE];
        struct rng r;
        uint64_t sum = 0;

        bench_parse(argc, argv, "classic-cfrac", usage, &o);
        rng_seed(&r, o.seed);
        for (int i = 0; i < LIVE; i++) {
                uint32_t n = (uint32_t)rng_range(&r, 2, MAXLIMBS);

                set[i] = big_new(n);
                for (uint32_t j = 0; j < n; j++)
                        set[i]->limb[j] = (uint32_t)rng_next(&r) | 1;
        }
        for (long k = 0; k < o.iters; k++) {
                size_t i = (size_t)rng_below(&r, LIVE), j = (size_t)rng_below(&r, LIVE);
                uint32_t width = (uint32_t)rng_range(&r, 2, MAXLIMBS);
                uint64_t want, a = low64(set[i]), b = low64(set[j]);
                struct big *c;

                if (k & 1) {
                        c = big_mul(set[i], set[j], width);
                        want = a * b;
                } else {
                        c = big_add(set[i], set[j], width);
                        want = a + b;
                }
                if (low64(c) != want)
                        bench_fail("operation %ld: low 64 bits %llx, want %llx", k,
                                   (unsigned long long)low64(c), (unsigned long long)want);
                if (c->limb[0] == 0)
                        c->limb[0] = 1;         /* keep products from collapsing to 0 */
                sum += c->limb[0];
                free(set[i]);
                set[i] = c;
        }
        for (int i = 0; i < LIVE; i++)
                free(set[i]);
        bench_ok("ops=%ld checksum=%llu", o.iters, (unsigned long long)sum);
        return 0;
}
