/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * tests/bench/thread_churn.c: the "thread-churn" workload — the small-churn pattern run
 * by T threads at once, each on its own objects.  Every thread does LIFO bursts of 1..64
 * objects of 16..SIZE bytes, then random replacement in its own pool of 4096 live
 * objects; nothing is shared and no object changes thread.  The work per thread is
 * fixed, so with enough cores the time stays flat as threads are added, and any growth
 * is contention inside the allocator (shared locks, shared counters, false sharing of
 * its metadata).  Models thread-parallel allocation-heavy programs (parallel compilers,
 * per-request arenas in worker pools).  Used by tests/bench/scale.py.
 */
#include "bench.h"

#include <pthread.h>

#define POOL 4096
#define BURST 64

static const char usage[] =
        "thread-churn: T threads, each doing single-threaded 16..SIZE byte malloc/free on\n"
        "its own objects: LIFO bursts, then random replacement in a pool of 4096.\n"
        "  -t  threads (default 2)\n"
        "  -n  operations per phase and thread (default 4000000)\n"
        "  -s  largest object size in bytes (default 256, at least 16)\n";

struct worker {
        pthread_t tid;
        long index;
        uint64_t sum;
};

static struct bench_opt o = { .threads = 2, .iters = 4000000, .size = 256, .seed = 8 };
static pthread_barrier_t barrier;

static void *work(void *arg)
{
        struct worker *w = arg;
        void **pool = bench_xmalloc(POOL * sizeof(*pool));
        size_t *pool_size = bench_xmalloc(POOL * sizeof(*pool_size));
        uint64_t *pool_tag = bench_xmalloc(POOL * sizeof(*pool_tag));
        void *stack[BURST];
        size_t stack_size[BURST];
        uint64_t serial = (uint64_t)w->index << 48, sum = 0;
        struct rng r;
        long done;

        rng_seed(&r, o.seed * 1000 + (uint64_t)w->index);
        pthread_barrier_wait(&barrier);

        /* Phase 1: LIFO bursts of 1..64 objects. */
        done = 0;
        while (done < o.iters) {
                int depth = 1 + (int)rng_below(&r, BURST);

                for (int i = 0; i < depth; i++) {
                        size_t n = rng_range(&r, 16, (size_t)o.size);

                        stack[i] = bench_xmalloc(n);
                        stack_size[i] = n;
                        bench_stamp(stack[i], n, serial + (uint64_t)i);
                }
                for (int i = depth - 1; i >= 0; i--) {
                        if (!bench_check(stack[i], stack_size[i], serial + (uint64_t)i))
                                bench_fail("thread %ld: LIFO object %d corrupted", w->index,
                                           i);
                        sum += ((unsigned char *)stack[i])[0];
                        free(stack[i]);
                }
                serial += (uint64_t)depth;
                done += depth;
        }

        /* Phase 2: random replacement in this thread's pool of live objects. */
        for (size_t i = 0; i < POOL; i++) {
                pool_size[i] = rng_range(&r, 16, (size_t)o.size);
                pool[i] = bench_xmalloc(pool_size[i]);
                pool_tag[i] = bench_tag((uint64_t)w->index << 16 | i, 0);
                bench_stamp(pool[i], pool_size[i], pool_tag[i]);
        }
        for (long k = 1; k <= o.iters; k++) {
                size_t i = (size_t)rng_below(&r, POOL);
                size_t n = rng_range(&r, 16, (size_t)o.size);

                if (!bench_check(pool[i], pool_size[i], pool_tag[i]))
                        bench_fail("thread %ld: pool object %zu corrupted at step %ld",
                                   w->index, i, k);
                sum += ((unsigned char *)pool[i])[pool_size[i] - 1];
                free(pool[i]);
                pool[i] = bench_xmalloc(n);
                pool_size[i] = n;
                pool_tag[i] = bench_tag((uint64_t)w->index << 16 | i, (uint64_t)k);
                bench_stamp(pool[i], n, pool_tag[i]);
        }
        for (size_t i = 0; i < POOL; i++) {
                if (!bench_check(pool[i], pool_size[i], pool_tag[i]))
                        bench_fail("thread %ld: pool object %zu corrupted at the end",
                                   w->index, i);
                free(pool[i]);
        }
        free(pool_tag);
        free(pool_size);
        free(pool);
        w->sum = sum;
        return NULL;
}

int main(int argc, char **argv)
{
        struct worker *w;
        uint64_t sum = 0;

        bench_parse(argc, argv, "thread-churn", usage, &o);
        if (o.size < 16)
                o.size = 16;
        w = calloc((size_t)o.threads, sizeof(*w));
        if (w == NULL)
                bench_fail("calloc failed");
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
        pthread_barrier_destroy(&barrier);
        free(w);
        /* ops counts malloc/free pairs (phase 1 may overrun -n by part of a burst). */
        bench_ok("threads=%ld ops=%ld checksum=%llu", o.threads, o.threads * 2 * o.iters,
                 (unsigned long long)sum);
        return 0;
}
