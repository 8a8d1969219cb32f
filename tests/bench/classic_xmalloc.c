/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * tests/bench/classic_xmalloc.c: "classic-xmalloc", our version of xmalloc-test.  T
 * producer threads allocate batches of small objects and put them on one shared FIFO of
 * batches; T consumer threads take batches off it, check the objects and free them.  So
 * 2T threads run, and every free is a free of memory another thread allocated, into
 * whichever producer made it: the remote-free path under many threads.
 */
#include "bench.h"

static const char usage[] =
        "classic-xmalloc: T producers malloc batches of 64 objects of 16..SIZE bytes,\n"
        "T consumers check and free them, through one shared queue of 256 batches.\n"
        "  -t  producer threads; as many consumers run too (default 2)\n"
        "  -n  batches in all (default 120000)\n"
        "  -s  largest object size in bytes (default 256, at least 24)\n";

#define BATCH 64
#define QUEUE 256

struct batch {
        void *obj[BATCH];
};

static struct {
        pthread_mutex_t lock;
        pthread_cond_t not_full, not_empty;
        struct batch *q[QUEUE];
        size_t head, tail;              /* tail - head batches queued */
        long produced, consumed;        /* batches claimed by producers / consumers */
} shared = { PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, PTHREAD_COND_INITIALIZER,
             { NULL }, 0, 0, 0, 0 };

struct worker {
        long index;
        uint64_t sum;
};

static struct bench_opt o = { .threads = 2, .iters = 120000, .size = 256, .seed = 13 };

static void *produce(void *arg)
{
        struct worker *w = arg;
        struct rng r;
        uint64_t serial = 0;

        rng_seed(&r, o.seed * 977 + (uint64_t)w->index);
        for (;;) {
                struct batch *b;

                pthread_mutex_lock(&shared.lock);
                if (shared.produced == o.iters) {
                        pthread_mutex_unlock(&shared.lock);
                        return NULL;
                }
                shared.produced++;
                pthread_mutex_unlock(&shared.lock);

                b = bench_xmalloc(sizeof(*b));
                for (int i = 0; i < BATCH; i++)
                        b->obj[i] = bench_obj_alloc(rng_range(&r, 16, (size_t)o.size),
                                                    bench_tag((uint64_t)w->index, serial++));
                pthread_mutex_lock(&shared.lock);
                while (shared.tail - shared.head == QUEUE)
                        pthread_cond_wait(&shared.not_full, &shared.lock);
                shared.q[shared.tail++ % QUEUE] = b;
                pthread_cond_signal(&shared.not_empty);
                pthread_mutex_unlock(&shared.lock);
        }
}

static void *consume(void *arg)
{
        struct worker *w = arg;

        for (;;) {
                struct batch *b;

                pthread_mutex_lock(&shared.lock);
                if (shared.consumed == o.iters) {
                        pthread_mutex_unlock(&shared.lock);
                        return NULL;
                }
                shared.consumed++;
                while (shared.tail == shared.head)
                        pthread_cond_wait(&shared.not_empty, &shared.lock);
                b = shared.q[shared.head++ % QUEUE];
                pthread_cond_signal(&shared.not_full);
                pthread_mutex_unlock(&shared.lock);

                for (int i = 0; i < BATCH; i++) {
                        w->sum += bench_obj_verify(b->obj[i], "classic-xmalloc");
                        free(b->obj[i]);
                }
                free(b);
        }
}

int main(int argc, char **argv)
{
        struct worker *w;
        pthread_t *prod;
        uint64_t sum = 0;

        bench_parse(argc, argv, "classic-xmalloc", usage, &o);
        if (o.size < (long)BENCH_OBJ_MIN)
                o.size = BENCH_OBJ_MIN;
        w = bench_xcalloc((size_t)(2 * o.threads), sizeof(*w));
        prod = bench_xcalloc((size_t)o.threads, sizeof(*prod));
        for (long i = 0; i < 2 * o.threads; i++)
                w[i].index = i;
        for (long i = 0; i < o.threads; i++)
                if (pthread_create(&prod[i], NULL, produce, &w[i]) != 0)
                        bench_fail("pthread_create failed");
        bench_threads(o.threads, consume, w + o.threads, sizeof(*w));
        for (long i = 0; i < o.threads; i++)
                pthread_join(prod[i], NULL);
        for (long i = 0; i < 2 * o.threads; i++)
                sum += w[i].sum;
        free(prod);
        free(w);
        bench_ok("threads=%ld objects=%ld bytes=%llu", 2 * o.threads, o.iters * BATCH,
                 (unsigned long long)sum);
        return 0;
}
