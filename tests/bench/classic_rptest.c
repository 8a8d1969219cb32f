/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * tests/bench/classic_rptest.c: "classic-rptest", our version of rpmalloc's rptest.
 * Threads sit in a ring.  Each thread replaces random slots of its 4,096-slot set with
 * objects of 8 B-16 KiB (log-uniform, so mostly small), so every object lives a random
 * number of steps; every 64 steps it also posts 32 of its live objects to the next
 * thread's mailbox, and takes what its own mailbox holds into random slots of its set.
 * So part of the objects are freed by another thread, again after a random lifetime.
 */
#include "bench.h"

static const char usage[] =
        "classic-rptest: per thread, -n steps replacing random slots of 4096 with\n"
        "8 B..16 KiB objects; every 64 steps, 32 live objects move to the next thread.\n"
        "  -t  threads (default 2)\n"
        "  -n  steps per thread (default 3000000)\n";

#define SLOTS 4096
#define EVERY 64
#define POST 32
#define MAILBOX 4096

struct worker {
        long index;
        pthread_mutex_t lock;
        void *mail[MAILBOX];    /* posted by the previous thread, under lock */
        size_t nmail;
        void *slot[SLOTS];
        void *take[MAILBOX];
        uint64_t sum;
};

static struct bench_opt o = { .threads = 2, .iters = 3000000, .size = 0, .seed = 17 };
static struct worker *workers;

static void put(struct worker *w, size_t i, void *p)
{
        if (w->slot[i] != NULL) {
                w->sum += bench_obj_verify(w->slot[i], "classic-rptest");
                free(w->slot[i]);
        }
        w->slot[i] = p;
}

static void *work(void *arg)
{
        struct worker *w = arg;
        struct worker *next = &workers[(w->index + 1) % o.threads];
        struct rng r;

        rng_seed(&r, o.seed * 1013 + (uint64_t)w->index);
        for (long k = 0; k < o.iters; k++) {
                put(w, (size_t)rng_below(&r, SLOTS),
                    bench_obj_alloc(rng_log_uniform(&r, 8, 16384),
                                    bench_tag((uint64_t)w->index, (uint64_t)k)));
                if (k % EVERY != EVERY - 1 || o.threads == 1)
                        continue;
                pthread_mutex_lock(&next->lock);
                for (int m = 0; m < POST && next->nmail < MAILBOX; m++) {
                        size_t i = (size_t)rng_below(&r, SLOTS);

                        if (w->slot[i] != NULL) {
                                next->mail[next->nmail++] = w->slot[i];
                                w->slot[i] = NULL;
                        }
                }
                pthread_mutex_unlock(&next->lock);

                size_t n;

                pthread_mutex_lock(&w->lock);
                n = w->nmail;
                memcpy(w->take, w->mail, n * sizeof(void *));
                w->nmail = 0;
                pthread_mutex_unlock(&w->lock);
                for (size_t m = 0; m < n; m++)
                        put(w, (size_t)rng_below(&r, SLOTS), w->take[m]);
        }
        for (size_t i = 0; i < SLOTS; i++)
                put(w, i, NULL);
        return NULL;
}

int main(int argc, char **argv)
{
        uint64_t sum = 0;

        bench_parse(argc, argv, "classic-rptest", usage, &o);
        workers = bench_xcalloc((size_t)o.threads, sizeof(*workers));
        for (long i = 0; i < o.threads; i++) {
                workers[i].index = i;
                pthread_mutex_init(&workers[i].lock, NULL);
        }
        bench_threads(o.threads, work, workers, sizeof(*workers));
        for (long i = 0; i < o.threads; i++) {
                for (size_t m = 0; m < workers[i].nmail; m++) {
                        sum += bench_obj_verify(workers[i].mail[m], "classic-rptest");
                        free(workers[i].mail[m]);
                }
                sum += workers[i].sum;
                pthread_mutex_destroy(&workers[i].lock);
        }
        free(workers);
        bench_ok("threads=%ld steps=%ld bytes=%llu", o.threads, o.threads * o.iters,
                 (unsigned long long)sum);
        return 0;
}
