/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * thread-churn: tens of thousands of short-lived threads, created and joined in small
 * waves, must not make the process grow.  Each thread mallocs, reallocs and frees a
 * dozen blocks of assorted sizes (small, a large one now and then) and exits; nothing
 * outlives it.  Whatever the allocator keeps per thread (heap records, profiling
 * records, metadata, page-map leaves, registry entries) must be recycled when the thread
 * exits: RSS after the baseline (10,000 threads) and after the last wave may differ by
 * at most max_growth_kib.  (thread-storm checks the same with big waves and blocks that
 * outlive their thread, at a coarse bound; this one catches a slow per-thread leak.)
 * The runner runs it twice: with dirty_decay_ms:0,muzzy_decay_ms:0 and a tight bound,
 * which catches a leak of a few hundred KiB (the freed pages the arenas keep on purpose
 * vary by about that much), and with the default 10 s decay and a looser bound, which
 * catches arenas whose kept pages creep up under churn (+1.0-1.6 MiB at 60,000 threads
 * before arenas left without threads were trimmed, -0.4-0.2 MiB after).
 *
 * usage: thread-churn [threads=60000] [wave=8] [max_growth_kib=256] [baseline=10000]
 */
#define _GNU_SOURCE
#include <pthread.h>

#include "stress_util.h"

#define MAX_WAVE 64

static void *body(void *arg)
{
        uint64_t rng = (uint64_t)(uintptr_t)arg;
        void *b[12];

        for (int i = 0; i < 12; i++) {
                size_t n = rng_below(&rng, 16) == 0 ? rng_log_size(&rng, 16 << 10, 256 << 10)
                                                   : rng_log_size(&rng, 1, 2048);
                b[i] = launder(malloc(n));
                if (b[i] == NULL)
                        check_fatal("malloc(%zu) failed", n);
                memset(b[i], 0x5c, n < 64 ? n : 64);
        }
        for (int i = 0; i < 12; i += 3) {
                void *q = launder(realloc(b[i], rng_log_size(&rng, 1, 8192)));
                if (q == NULL)
                        check_fatal("realloc failed");
                b[i] = q;
        }
        for (int i = 0; i < 12; i++)
                free(b[i]);
        return NULL;
}

int main(int argc, char **argv)
{
        stress_begin("thread-churn", 60);
        long total = stress_arg(argc, argv, 1, 60000, 1, 100000000);
        long wave = stress_arg(argc, argv, 2, 8, 1, MAX_WAVE);
        long max_kib = stress_arg(argc, argv, 3, 256, 0, 1 << 30);
        long baseline = stress_arg(argc, argv, 4, 10000, 0, 100000000);
        pthread_t t[MAX_WAVE];
        pthread_attr_t attr;
        size_t rss0 = 0;
        double t0 = stress_now(), tb = t0;

        if (baseline > total)
                baseline = total;
        /* Small stacks: the test is about the allocator, not about thread stacks. */
        pthread_attr_init(&attr);
        pthread_attr_setstacksize(&attr, 64 << 10);
        for (long done = 0; done < total;) {
                long n = total - done < wave ? total - done : wave;
                for (long i = 0; i < n; i++)
                        if (pthread_create(&t[i], &attr, body,
                                           (void *)(uintptr_t)(done + i + 1)) != 0)
                                check_fatal("pthread_create failed after %ld threads", done);
                for (long i = 0; i < n; i++)
                        pthread_join(t[i], NULL);
                done += n;
                if (done == baseline || (baseline == 0 && rss0 == 0)) {
                        rss0 = stress_rss();
                        tb = stress_now();
                }
        }
        size_t rss1 = stress_rss();
        long growth_kib = ((long)rss1 - (long)rss0) / 1024;
        printf("thread-churn: %ld threads in %.2f s; RSS %zu KiB after %ld threads, %zu KiB "
               "after %ld (growth %ld KiB in %.2f s)\n",
               total, stress_now() - t0, rss0 / 1024, baseline, rss1 / 1024, total, growth_kib,
               stress_now() - tb);
        if (growth_kib > max_kib)
                check_fatal("RSS grew by %ld KiB between %ld and %ld threads (bound %ld KiB): "
                            "something kept per thread is not recycled",
                            growth_kib, baseline, total, max_kib);
        return 0;
}
