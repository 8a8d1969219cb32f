/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * tests/bench/larson.c: the "larson" workload — a server-style benchmark after Larson &
 * Krishnan.  There are as many slot arrays as threads; in every round each thread takes
 * a different array (they rotate between rounds, so objects allocated by one thread are
 * freed by another) and replaces random slots with new objects of 16..SIZE bytes.
 * Models request-handling servers whose objects outlive the thread that made them.
 */
#include "bench.h"

#include <pthread.h>

static const char usage[] =
        "larson: T threads, T arrays of 1000 slots; each round every thread replaces\n"
        "random slots in one array, arrays rotate between threads every round.\n"
        "  -t  threads (default 2)\n"
        "  -n  replacements per thread (default 16000000), spread over 1000 rounds\n"
        "  -s  largest object size in bytes (default 512, at least 16)\n";

#define SLOTS 1000
#define ROUNDS 1000

struct slots {
        void *p[SLOTS];
        size_t size[SLOTS];
        uint64_t tag[SLOTS];
};

struct worker {
        pthread_t tid;
        long index;
        uint64_t sum;
};

static struct bench_opt o = { .threads = 2, .iters = 16000000, .size = 512, .seed = 3 };
static struct slots *sets;
static pthread_barrier_t barrier;

static void *work(void *arg)
{
        struct worker *w = arg;
        long per_round = o.iters / ROUNDS > 0 ? o.iters / ROUNDS : 1;
        struct rng r;
        uint64_t sum = 0;

        rng_seed(&r, o.seed * 1000 + (uint64_t)w->index);
        for (long round = 0; round < ROUNDS; round++) {
                struct slots *s = &sets[(w->index + round) % o.threads];

                for (long k = 0; k < per_round; k++) {
                        size_t i = (size_t)rng_below(&r, SLOTS);
                        size_t n = rng_range(&r, 16, (size_t)o.size);
                        uint64_t serial = ((uint64_t)round << 40) | (uint64_t)k;

                        if (!bench_check(s->p[i], s->size[i], s->tag[i]))
                                bench_fail("thread %ld round %ld: slot %zu corrupted",
                                           w->index, round, i);
                        sum += ((unsigned char *)s->p[i])[0];
                        free(s->p[i]);
                        s->p[i] = bench_xmalloc(n);
                        s->size[i] = n;
                        s->tag[i] = bench_tag((uint64_t)w->index << 16 | i, serial);
                        bench_stamp(s->p[i], n, s->tag[i]);
                }
                pthread_barrier_wait(&barrier);
        }
        w->sum = sum;
        return NULL;
}

int main(int argc, char **argv)
{
        struct worker *w;
        struct rng r;
        uint64_t sum = 0;

        bench_parse(argc, argv, "larson", usage, &o);
        if (o.size < 16)
                o.size = 16;
        rng_seed(&r, o.seed);
        sets = calloc((size_t)o.threads, sizeof(*sets));
        w = calloc((size_t)o.threads, sizeof(*w));
        if (sets == NULL || w == NULL)
                bench_fail("calloc failed");
        for (long t = 0; t < o.threads; t++) {
                for (size_t i = 0; i < SLOTS; i++) {
                        sets[t].size[i] = rng_range(&r, 16, (size_t)o.size);
                        sets[t].tag[i] = bench_tag((uint64_t)t, i);
                        sets[t].p[i] = bench_xmalloc(sets[t].size[i]);
                        bench_stamp(sets[t].p[i], sets[t].size[i], sets[t].tag[i]);
                }
        }
        if (pthread_barrier_init(&barrier, NULL, (unsigned)o.threads) != 0)
                bench_fail("pthread_barrier_init failed");
        for (long i = 0; i < o.threads; i++) {
                w[i].index = i;
                if (pthread_create(&w[i].tid, NULL, work, &w[i]) != 0)
                        bench_fail("pthread_create failed");
        }
        for (long i = 0; i < o.threads; i++) {
                pthread_join(w[i].tid, NULL);
                sum += w[i].sum;
        }
        for (long t = 0; t < o.threads; t++) {
                for (size_t i = 0; i < SLOTS; i++) {
                        if (!bench_check(sets[t].p[i], sets[t].size[i], sets[t].tag[i]))
                                bench_fail("array %ld slot %zu corrupted at the end", t, i);
                        free(sets[t].p[i]);
                }
        }
        pthread_barrier_destroy(&barrier);
        free(sets);
        free(w);
        bench_ok("threads=%ld ops=%ld checksum=%llu", o.threads,
                 o.threads * (o.iters / ROUNDS) * ROUNDS, (unsigned long long)sum);
        return 0;
}
