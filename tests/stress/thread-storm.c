/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * thread-storm: proves that the allocator hands a thread's memory back when the thread
 * exits and copes with blocks that outlive their creator.  10,000 short-lived threads
 * run in waves of a few hundred (all threads of a wave are live at once).  Each thread
 * allocates a few dozen blocks of mixed sizes (some with calloc, some reallocated), frees
 * some itself, leaves some in a shared pool that later threads free after the creator
 * exited, and leaves some to the main thread, which frees them after joining the wave;
 * every eighth thread never allocates and only frees pool blocks.  All blocks carry a
 * verified pattern and the cookie sums prove each was freed exactly once.  RSS after the
 * baseline wave (10) and after the last wave, each measured after a purge of every arena
 * (mallctl, when the allocator has it), must not differ by more than a quarter of a
 * threshold (32 MiB): per-thread caches or heaps that are not recycled at thread exit
 * leak a little for every one of the thousands of threads and break the bound.  Unpurged,
 * twice the threshold (freed pages wait for the 10 s decay, and the waves' high-water
 * moments add up).
 *
 * usage: thread-storm [threads=10000] [wave=200] [max_rss_growth_mib=32] [baseline_wave=10]
 */
#define _GNU_SOURCE
#include <limits.h>
#include <pthread.h>

#include "stress_obj.h"

#define POOL_CAP 4096
#define LEFT_MAX 40
#define MAX_WAVE 2000

struct task {
        struct sctx c;
        unsigned idx;
        size_t nleft;
        struct sobj *left[LEFT_MAX];    /* freed by the main thread after the join */
};

/* FIFO of blocks waiting for a later thread: the oldest ones come from exited threads. */
static pthread_mutex_t pool_lock = PTHREAD_MUTEX_INITIALIZER;
static struct sobj *pool[POOL_CAP];
static size_t pool_head, pool_count;

static pthread_mutex_t gate_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t gate_cond = PTHREAD_COND_INITIALIZER;
static long gate_wave = -1;

static uint64_t seed;

static int pool_put(struct sobj *o)
{
        int ok = 0;

        pthread_mutex_lock(&pool_lock);
        if (pool_count < POOL_CAP) {
                pool[(pool_head + pool_count) % POOL_CAP] = o;
                pool_count++;
                ok = 1;
        }
        pthread_mutex_unlock(&pool_lock);
        return ok;
}

static struct sobj *pool_take(void)
{
        struct sobj *o = NULL;

        pthread_mutex_lock(&pool_lock);
        if (pool_count > 0) {
                o = pool[pool_head];
                pool_head = (pool_head + 1) % POOL_CAP;
                pool_count--;
        }
        pthread_mutex_unlock(&pool_lock);
        return o;
}

static void wait_gate(long wave)
{
        pthread_mutex_lock(&gate_lock);
        while (gate_wave < wave)
                pthread_cond_wait(&gate_cond, &gate_lock);
        pthread_mutex_unlock(&gate_lock);
}

static void free_from_pool(struct sctx *c, unsigned n)
{
        for (unsigned i = 0; i < n; i++) {
                struct sobj *o = pool_take();

                if (!o)
                        return;
                sobj_free(c, o, "free of a pooled block made by another thread");
        }
}

static void *thread_main(void *arg)
{
        struct task *t = arg;
        struct sctx *c = &t->c;
        struct sobj *objs[LEFT_MAX];
        size_t n;

        wait_gate((long)(t->idx / MAX_WAVE));
        if (t->idx % 8 == 0) {
                /* A thread that never allocates: free must work without a heap of its own. */
                free_from_pool(c, 8);
                return NULL;
        }
        n = 8 + rng_below(&c->rng, 24);
        for (size_t i = 0; i < n; i++) {
                size_t size;

                if (i == 0)
                        size = rng_log_size(&c->rng, (size_t)16 << 10, (size_t)64 << 10);
                else if (i == 1 && t->idx % 16 == 1)
                        size = rng_log_size(&c->rng, (size_t)256 << 10, (size_t)1 << 20);
                else
                        size = rng_log_size(&c->rng, 1, 2048);
                objs[i] = sobj_new(c, size, rng_below(&c->rng, 8) == 0);
        }
        for (size_t i = 0; i < n; i += 5)
                sobj_realloc(c, objs[i], rng_log_size(&c->rng, 1, 4096));
        free_from_pool(c, 4);
        for (size_t i = 0; i < n; i++) {
                size_t r = rng_below(&c->rng, 4);

                if (r < 2)
                        sobj_free(c, objs[i], "free by the allocating thread");
                else if (r == 3 || !pool_put(objs[i]))
                        t->left[t->nleft++] = objs[i];  /* for the main thread */
        }
        return NULL;
}

int main(int argc, char **argv)
{
        long nthreads, wave, max_growth_mib, baseline_wave, nwaves;
        struct task *tasks;
        pthread_t *tids;
        pthread_attr_t attr;
        struct sctx mc;
        uint64_t nalloc = 0, nfree = 0, alloc_sum = 0, free_sum = 0;
        size_t rss_base = 0, rss_last = 0, rss_max = 0, purged_base = 0, purged_last = 0;
        double t0;

        stress_begin("thread-storm", 90);
        nthreads = stress_arg(argc, argv, 1, 10000, 1, 100000000);
        wave = stress_arg(argc, argv, 2, 200, 1, MAX_WAVE);
        max_growth_mib = stress_arg(argc, argv, 3, 32, 0, 1 << 20);
        baseline_wave = stress_arg(argc, argv, 4, 10, 1, 1000000);
        seed = (uint64_t)time(NULL);
        nwaves = (nthreads + wave - 1) / wave;
        if (baseline_wave >= nwaves)
                baseline_wave = nwaves / 2 > 0 ? nwaves / 2 : 1;

        tasks = calloc((size_t)wave, sizeof(*tasks));
        tids = calloc((size_t)wave, sizeof(*tids));
        if (!tasks || !tids)
                check_fatal("out of memory for %ld thread records", wave);
        pthread_attr_init(&attr);
        pthread_attr_setstacksize(&attr, PTHREAD_STACK_MIN + ((size_t)64 << 10));
        sctx_init(&mc, (uint32_t)nthreads, seed);  /* ids below nthreads are the threads */

        t0 = stress_now();
        for (long w = 0; w < nwaves; w++) {
                long count = nthreads - w * wave < wave ? nthreads - w * wave : wave;

                for (long i = 0; i < count; i++) {
                        struct task *t = &tasks[i];
                        int err;

                        memset(t, 0, sizeof(*t));
                        t->idx = (unsigned)(w * MAX_WAVE + i);
                        sctx_init(&t->c, (uint32_t)(w * wave + i), seed);
                        err = pthread_create(&tids[i], &attr, thread_main, t);
                        if (err)
                                check_fatal("pthread_create (thread %ld of wave %ld): %s", i, w,
                                            strerror(err));
                }
                pthread_mutex_lock(&gate_lock);
                gate_wave = w;
                pthread_cond_broadcast(&gate_cond);
                pthread_mutex_unlock(&gate_lock);
                for (long i = 0; i < count; i++) {
                        struct task *t = &tasks[i];

                        pthread_join(tids[i], NULL);
                        for (size_t k = 0; k < t->nleft; k++)
                                sobj_free(&mc, t->left[k],
                                          "main-thread free of a block made by an exited thread");
                        nalloc += t->c.nalloc;
                        nfree += t->c.nfree;
                        alloc_sum += t->c.alloc_sum;
                        free_sum += t->c.free_sum;
                }
                rss_last = stress_rss();
                if (rss_last > rss_max)
                        rss_max = rss_last;
                if (w + 1 == baseline_wave) {
                        rss_base = rss_last;
                        purged_base = stress_purge_all_arenas() ? stress_rss() : 0;
                }
        }
        for (struct sobj *o; (o = pool_take()) != NULL;)
                sobj_free(&mc, o, "final free of a pooled block");
        nalloc += mc.nalloc;
        nfree += mc.nfree;
        alloc_sum += mc.alloc_sum;
        free_sum += mc.free_sum;
        if (nalloc != nfree || alloc_sum != free_sum)
                check_fatal("checksum mismatch: %llu blocks made, %llu freed",
                            (unsigned long long)nalloc, (unsigned long long)nfree);
        purged_last = stress_purge_all_arenas() ? stress_rss() : 0;
        if (purged_last > purged_base + ((size_t)max_growth_mib << 18))
                check_fatal("RSS after a purge grew from %.1f MiB after wave %ld to %.1f MiB "
                            "after wave %ld (more than %ld MiB): thread exit does not hand "
                            "memory back", purged_base / 1048576.0, baseline_wave,
                            purged_last / 1048576.0, nwaves, max_growth_mib / 4);
        if (rss_last > rss_base + ((size_t)max_growth_mib << 21))
                check_fatal("RSS grew from %.1f MiB after wave %ld to %.1f MiB after wave %ld "
                            "(more than %ld MiB): thread exit does not hand memory back",
                            rss_base / 1048576.0, baseline_wave, rss_last / 1048576.0, nwaves,
                            2 * max_growth_mib);
        printf("thread-storm: ok: %ld threads in %ld waves of %ld, %llu blocks; RSS %.1f MiB "
               "after wave %ld, %.1f MiB after wave %ld (max %.1f MiB; after a purge %.1f -> "
               "%.1f MiB); %.2f s\n", nthreads, nwaves, wave, (unsigned long long)nalloc,
               rss_base / 1048576.0, baseline_wave, rss_last / 1048576.0, nwaves,
               rss_max / 1048576.0, purged_base / 1048576.0, purged_last / 1048576.0,
               stress_now() - t0);
        pthread_attr_destroy(&attr);
        free(tasks);
        free(tids);
        return 0;
}
