/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * tests/bench/short_threads.c: the "short-threads" workload — many short-lived threads,
 * at most T alive at a time.  Each thread makes a few hundred allocations of 16 B..4 KiB,
 * frees half, allocates again, frees all but one object and exits; the main thread
 * checks and frees that survivor after the join (a free into a heap whose thread is
 * gone).  Models thread-per-request servers and thread pools that are resized: the
 * allocator's per-thread set-up, tear-down and orphaned memory are what is measured.
 */
#include "bench.h"

#include <pthread.h>

static const char usage[] =
        "short-threads: -n threads in total, at most -t alive at once, each making\n"
        "SIZE allocations of 16 B..4 KiB (plus SIZE/2 more after freeing half).\n"
        "  -t  threads alive at once (default 2)\n"
        "  -n  threads in total (default 4000)\n"
        "  -s  allocations per thread (default 300, at least 2)\n";

struct worker {
        pthread_t tid;
        long serial;
        unsigned char *survivor;
        size_t survivor_size;
        uint64_t sum;
};

static struct bench_opt o = { .threads = 2, .iters = 4000, .size = 300, .seed = 7 };

static void *work(void *arg)
{
        struct worker *w = arg;
        size_t count = (size_t)o.size;
        void **obj = bench_xmalloc(count * sizeof(*obj));
        size_t *size = bench_xmalloc(count * sizeof(*size));
        struct rng r;
        uint64_t sum = 0;

        rng_seed(&r, o.seed * 100000 + (uint64_t)w->serial);
        for (size_t i = 0; i < count; i++) {
                size[i] = rng_log_uniform(&r, 16, 4096);
                obj[i] = bench_xmalloc(size[i]);
                bench_stamp(obj[i], size[i], bench_tag((uint64_t)w->serial, i));
        }
        for (size_t i = 0; i < count; i += 2) {
                if (!bench_check(obj[i], size[i], bench_tag((uint64_t)w->serial, i)))
                        bench_fail("thread %ld: object %zu corrupted", w->serial, i);
                free(obj[i]);
                size[i] = rng_log_uniform(&r, 16, 4096);
                obj[i] = bench_xmalloc(size[i]);
                bench_stamp(obj[i], size[i], bench_tag((uint64_t)w->serial, i));
        }
        for (size_t i = 1; i < count; i++) {
                if (!bench_check(obj[i], size[i], bench_tag((uint64_t)w->serial, i)))
                        bench_fail("thread %ld: object %zu corrupted", w->serial, i);
                sum += size[i];
                free(obj[i]);
        }
        w->survivor = obj[0];
        w->survivor_size = size[0];
        w->sum = sum;
        free(size);
        free(obj);
        return NULL;
}

int main(int argc, char **argv)
{
        struct worker *w;
        pthread_attr_t attr;
        uint64_t sum = 0;
        long started = 0;

        bench_parse(argc, argv, "short-threads", usage, &o);
        if (o.size < 2)
                o.size = 2;
        w = calloc((size_t)o.threads, sizeof(*w));
        if (w == NULL)
                bench_fail("calloc failed");
        pthread_attr_init(&attr);
        pthread_attr_setstacksize(&attr, 256 * 1024);
        while (started < o.iters) {
                long batch = o.iters - started < o.threads ? o.iters - started : o.threads;

                for (long i = 0; i < batch; i++) {
                        w[i].serial = started + i;
                        if (pthread_create(&w[i].tid, &attr, work, &w[i]) != 0)
                                bench_fail("pthread_create failed");
                }
                for (long i = 0; i < batch; i++) {
                        pthread_join(w[i].tid, NULL);
                        if (!bench_check(w[i].survivor, w[i].survivor_size,
                                         bench_tag((uint64_t)w[i].serial, 0)))
                                bench_fail("survivor of thread %ld corrupted", w[i].serial);
                        sum += w[i].sum + w[i].survivor_size;
                        free(w[i].survivor);
                }
                started += batch;
        }
        pthread_attr_destroy(&attr);
        free(w);
        bench_ok("threads=%ld alive=%ld bytes=%llu", o.iters, o.threads,
                 (unsigned long long)sum);
        return 0;
}
