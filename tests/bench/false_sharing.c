/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * tests/bench/false_sharing.c: the "false-sharing" workload, cache-scratch style.  The
 * main thread allocates one small object per worker back to back (so they likely share
 * a cache line) and hands them out; each worker frees its object (passive false
 * sharing: an allocator that reuses it for the worker puts threads on one line), then
 * repeatedly allocates a small object, writes every byte of it many times and frees it
 * (active false sharing: concurrent allocations from one line).  An allocator that keeps
 * threads' small objects on separate cache lines runs this at memory-free L1 speed.
 */
#include "bench.h"

#include <pthread.h>

static const char usage[] =
        "false-sharing: T threads each allocate a SIZE-byte object, write each byte\n"
        "REPS times, check and free it; repeated -n times per thread.\n"
        "  -t  threads (default 2)\n"
        "  -n  objects per thread (default 250000)\n"
        "  -s  object size in bytes (default 8, 1..64)\n";

#define REPS 500

struct worker {
        pthread_t tid;
        long index;
        unsigned char *first;   /* allocated by the main thread, freed by the worker */
        uint64_t sum;
};

static struct bench_opt o = { .threads = 2, .iters = 250000, .size = 8, .seed = 5 };

static void *work(void *arg)
{
        struct worker *w = arg;
        size_t n = (size_t)o.size;
        uint64_t sum = 0;

        for (size_t b = 0; b < n; b++)
                if (w->first[b] != (unsigned char)(w->index + b))
                        bench_fail("thread %ld: handed-over object corrupted", w->index);
        free(w->first);
        for (long k = 0; k < o.iters; k++) {
                volatile unsigned char *p = bench_xmalloc(n);

                for (size_t b = 0; b < n; b++)
                        p[b] = (unsigned char)k;
                for (int rep = 0; rep < REPS; rep++)
                        for (size_t b = 0; b < n; b++)
                                p[b] = (unsigned char)(p[b] + 1);
                for (size_t b = 0; b < n; b++) {
                        if (p[b] != (unsigned char)(k + REPS))
                                bench_fail("thread %ld: object %ld byte %zu is %u, want %u",
                                           w->index, k, b, p[b],
                                           (unsigned char)(k + REPS));
                        sum += p[b];
                }
                free((void *)p);
        }
        w->sum = sum;
        return NULL;
}

int main(int argc, char **argv)
{
        struct worker *w;
        uint64_t sum = 0;

        bench_parse(argc, argv, "false-sharing", usage, &o);
        if (o.size < 1)
                o.size = 1;
        if (o.size > 64)
                o.size = 64;
        w = calloc((size_t)o.threads, sizeof(*w));
        if (w == NULL)
                bench_fail("calloc failed");
        for (long i = 0; i < o.threads; i++) {
                w[i].index = i;
                w[i].first = bench_xmalloc((size_t)o.size);
                for (long b = 0; b < o.size; b++)
                        w[i].first[b] = (unsigned char)(i + b);
        }
        for (long i = 0; i < o.threads; i++)
                if (pthread_create(&w[i].tid, NULL, work, &w[i]) != 0)
                        bench_fail("pthread_create failed");
        for (long i = 0; i < o.threads; i++) {
                pthread_join(w[i].tid, NULL);
                sum += w[i].sum;
        }
        free(w);
        bench_ok("threads=%ld objects=%ld checksum=%llu", o.threads, o.threads * o.iters,
                 (unsigned long long)sum);
        return 0;
}
