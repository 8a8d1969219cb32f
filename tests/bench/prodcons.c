/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * tests/bench/prodcons.c: the "prodcons" workload — cross-thread frees.  Threads come in
 * producer/consumer pairs joined by a bounded single-producer/single-consumer queue: the
 * producer allocates and fills objects of 16..SIZE bytes, the consumer checks them (in
 * order) and frees them.  Every free is remote, as in pipelines and message passing
 * (xmalloc-test style).
 */
#include "bench.h"

#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>

static const char usage[] =
        "prodcons: T/2 producer/consumer pairs (at least one); producers malloc,\n"
        "consumers free, through a 1024-entry queue per pair.\n"
        "  -t  threads, rounded down to an even number (default 2)\n"
        "  -n  objects per pair (default 10000000)\n"
        "  -s  largest object size in bytes (default 512, at least 16)\n";

#define QSIZE 1024u
#define SPIN 64
#define BATCH 32u

struct obj_head {                /* 12 bytes, so the last byte of a 16-byte object is free */
        uint64_t serial;
        uint32_t size;
};

struct queue {
        _Alignas(64) _Atomic size_t head;       /* written by the producer */
        _Alignas(64) _Atomic size_t tail;       /* written by the consumer */
        _Alignas(64) void *slot[QSIZE];
        pthread_t producer, consumer;
        long index;
        uint64_t sum;
};

static struct bench_opt o = { .threads = 2, .iters = 10000000, .size = 512, .seed = 4 };

static void backoff(unsigned *spins)
{
        if (++*spins >= SPIN) {
                *spins = 0;
                sched_yield();
        }
}

/*
 * The indices are published every BATCH objects (and whenever a side would wait), so
 * the queue's own cache-line traffic stays small next to the allocator's.
 */
static void *produce(void *arg)
{
        struct queue *q = arg;
        struct rng r;
        size_t head = 0, tail_seen = 0;

        rng_seed(&r, o.seed * 1000 + (uint64_t)q->index);
        for (long k = 0; k < o.iters; k++) {
                size_t n = rng_range(&r, 16, (size_t)o.size);
                unsigned char *p = bench_xmalloc(n);
                struct obj_head h = { .serial = (uint64_t)k, .size = (uint32_t)n };
                unsigned spins = 0;

                memcpy(p, &h, 12);
                p[n - 1] = (unsigned char)k;
                while (head - tail_seen >= QSIZE) {
                        atomic_store_explicit(&q->head, head, memory_order_release);
                        tail_seen = atomic_load_explicit(&q->tail, memory_order_acquire);
                        if (head - tail_seen >= QSIZE)
                                backoff(&spins);
                }
                q->slot[head % QSIZE] = p;
                head++;
                if (head % BATCH == 0)
                        atomic_store_explicit(&q->head, head, memory_order_release);
        }
        atomic_store_explicit(&q->head, head, memory_order_release);
        return NULL;
}

static void *consume(void *arg)
{
        struct queue *q = arg;
        size_t tail = 0, head_seen = 0;
        uint64_t sum = 0;

        for (long k = 0; k < o.iters; k++) {
                unsigned spins = 0;
                unsigned char *p;
                struct obj_head h;

                while (head_seen == tail) {
                        atomic_store_explicit(&q->tail, tail, memory_order_release);
                        head_seen = atomic_load_explicit(&q->head, memory_order_acquire);
                        if (head_seen == tail)
                                backoff(&spins);
                }
                p = q->slot[tail % QSIZE];
                tail++;
                if (tail % BATCH == 0)
                        atomic_store_explicit(&q->tail, tail, memory_order_release);
                memcpy(&h, p, 12);
                if (h.serial != (uint64_t)k || h.size < 16 || h.size > (uint32_t)o.size ||
                    p[h.size - 1] != (unsigned char)k)
                        bench_fail("pair %ld: object %ld arrived corrupted or out of order",
                                   q->index, k);
                sum += h.size;
                free(p);
        }
        q->sum = sum;
        return NULL;
}

int main(int argc, char **argv)
{
        struct queue *q;
        long pairs;
        uint64_t sum = 0;

        bench_parse(argc, argv, "prodcons", usage, &o);
        if (o.size < 16)
                o.size = 16;
        pairs = o.threads / 2 > 0 ? o.threads / 2 : 1;
        q = aligned_alloc(64, (size_t)pairs * sizeof(*q));
        if (q == NULL)
                bench_fail("aligned_alloc failed");
        memset(q, 0, (size_t)pairs * sizeof(*q));
        for (long i = 0; i < pairs; i++) {
                q[i].index = i;
                atomic_init(&q[i].head, 0);
                atomic_init(&q[i].tail, 0);
                if (pthread_create(&q[i].consumer, NULL, consume, &q[i]) != 0 ||
                    pthread_create(&q[i].producer, NULL, produce, &q[i]) != 0)
                        bench_fail("pthread_create failed");
        }
        for (long i = 0; i < pairs; i++) {
                pthread_join(q[i].producer, NULL);
                pthread_join(q[i].consumer, NULL);
                sum += q[i].sum;
        }
        free(q);
        bench_ok("pairs=%ld objects=%ld bytes=%llu", pairs, pairs * o.iters,
                 (unsigned long long)sum);
        return 0;
}
