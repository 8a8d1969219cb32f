/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * tests/bench/classic_espresso.c: "classic-espresso", an espresso-like workload: logic
 * minimisation keeps families of cubes, each cube a small bit vector whose length
 * depends on the problem, and builds new families from old ones all the time.  Here a
 * working set of 64 families (4..160 cubes of 1..24 words) is kept; each step combines
 * two families cube by cube (AND, OR, or a filtered copy) into a new family that
 * replaces a random one, whose cubes are freed in a shuffled order.  Every cube carries
 * a checksum word that is verified when it is read and when it is freed.
 */
#include "bench.h"

static const char usage[] =
        "classic-espresso: -n steps combining two of 64 live cube families into a new\n"
        "family that replaces a random one (its cubes freed in shuffled order).\n"
        "  -n  steps (default 240000)\n";

#define FAMILIES 64
#define MAXCUBES 160
#define MAXWORDS 24

struct cube {
        uint32_t words;
        uint32_t check;         /* xor of the words, mixed with the length */
        uint64_t w[];
};

struct family {
        uint32_t ncubes;
        uint32_t words;
        struct cube **cube;
};

static uint32_t cube_sum(const struct cube *c)
{
        uint64_t x = 0x9e3779b97f4a7c15ull * c->words;

        for (uint32_t i = 0; i < c->words; i++)
                x ^= c->w[i] + i;
        return (uint32_t)(x ^ (x >> 32));
}

static struct cube *cube_new(uint32_t words)
{
        struct cube *c = bench_xmalloc(sizeof(*c) + words * sizeof(uint64_t));

        c->words = words;
        return c;
}

static void cube_verify(const struct cube *c)
{
        if (c->check != cube_sum(c))
                bench_fail("cube of %u words corrupted", c->words);
}

static struct family *family_new(uint32_t ncubes, uint32_t words)
{
        struct family *f = bench_xmalloc(sizeof(*f));

        f->ncubes = ncubes;
        f->words = words;
        f->cube = bench_xmalloc((ncubes ? ncubes : 1) * sizeof(struct cube *));
        return f;
}

static void family_free(struct family *f, struct rng *r)
{
        /* Shuffle the cube order, then free: the frees come in no stack order. */
        for (uint32_t i = f->ncubes; i > 1; i--) {
                uint32_t j = (uint32_t)rng_below(r, i);
                struct cube *t = f->cube[i - 1];

                f->cube[i - 1] = f->cube[j];
                f->cube[j] = t;
        }
        for (uint32_t i = 0; i < f->ncubes; i++) {
                cube_verify(f->cube[i]);
                free(f->cube[i]);
        }
        free(f->cube);
        free(f);
}

static struct family *family_random(struct rng *r)
{
        uint32_t words = (uint32_t)rng_range(r, 1, MAXWORDS);
        struct family *f = family_new((uint32_t)rng_range(r, 4, MAXCUBES), words);

        for (uint32_t i = 0; i < f->ncubes; i++) {
                struct cube *c = cube_new(words);

                for (uint32_t k = 0; k < words; k++)
                        c->w[k] = rng_next(r);
                c->check = cube_sum(c);
                f->cube[i] = c;
        }
        return f;
}

/* Combine a and b cube by cube; the result has the width of a. */
static struct family *combine(const struct family *a, const struct family *b, int op)
{
        uint32_t n = a->ncubes < b->ncubes ? a->ncubes : b->ncubes;
        struct family *f = family_new(n, a->words);
        uint32_t kept = 0;

        for (uint32_t i = 0; i < n; i++) {
                const struct cube *x = a->cube[i], *y = b->cube[i];
                struct cube *c;

                cube_verify(x);
                cube_verify(y);
                if (op == 2 && (x->w[0] & 3) == 0)
                        continue;       /* filtered out */
                c = cube_new(a->words);
                for (uint32_t k = 0; k < a->words; k++) {
                        uint64_t yk = y->w[k % y->words];

                        c->w[k] = op == 0 ? x->w[k] & ~yk : x->w[k] | (yk >> 1);
                }
                c->check = cube_sum(c);
                f->cube[kept++] = c;
        }
        f->ncubes = kept;
        return f;
}

int main(int argc, char **argv)
{
        struct bench_opt o = { .threads = 1, .iters = 240000, .size = 0, .seed = 21 };
        struct family *set[FAMILIES];
        struct rng r;
        uint64_t cubes = 0;

        bench_parse(argc, argv, "classic-espresso", usage, &o);
        rng_seed(&r, o.seed);
        for (int i = 0; i < FAMILIES; i++)
                set[i] = family_random(&r);
        for (long k = 0; k < o.iters; k++) {
                size_t a = (size_t)rng_below(&r, FAMILIES), b = (size_t)rng_below(&r, FAMILIES);
                size_t victim = (size_t)rng_below(&r, FAMILIES);
                struct family *f;

                /* Now and then a fresh family, so sizes do not converge. */
                if (k % 16 == 0 || set[a]->ncubes < 4)
                        f = family_random(&r);
                else
                        f = combine(set[a], set[b], (int)rng_below(&r, 3));
                cubes += f->ncubes;
                family_free(set[victim], &r);
                set[victim] = f;
        }
        for (int i = 0; i < FAMILIES; i++)
                family_free(set[i], &r);
        bench_ok("steps=%ld cubes=%llu", o.iters, (unsigned long long)cubes);
        return 0;
}
