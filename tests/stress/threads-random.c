/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * threads-random: proves that the allocator stays correct when many threads (16+) do
 * random malloc/calloc/realloc/free of 1 B to 4 MiB (log-uniform, mostly small) at once,
 * with a large share of the frees done by a thread other than the allocating one.
 * Every block carries a pattern derived from its address, owner and a sequence number
 * (blocks above 64 KiB: a stamp on every 4 KiB page and at the end) up to its usable size
 * and is verified before each free and realloc (the usable size must not change), so a
 * block handed out twice, overlapping blocks, lost realloc contents or a corrupted free
 * list fail the test.  Blocks move between threads through per-thread inboxes (a mutex
 * list and a lock-free stack) and a lock-free exchange array; threads are destroyed and
 * recreated every round, leaving blocks for the next generation to free.  At the end the
 * main thread frees what is left and the cookie checksums prove that every block was
 * freed exactly once.  Built with -DSTRESS_API_PREFIX it calls la_malloc & co. directly
 * (for the ThreadSanitizer build).
 *
 * usage: threads-random [threads=32] [ops_per_thread_per_round=16000] [rounds=8]
 *                       [slots_per_thread=64] [max_size=4194304] [seed]
 */
#define _GNU_SOURCE
#include <pthread.h>
#include <stdatomic.h>

#include "stress_obj.h"

#define XFER_SLOTS 1024
#define MAX_THREADS 1024

struct inbox {
        pthread_mutex_t lock;
        struct sobj *locked;            /* list under lock */
        _Atomic(struct sobj *) stack;   /* lock-free LIFO; the consumer takes it whole */
        char pad[64];
};

static struct inbox inboxes[MAX_THREADS];
static _Atomic(struct sobj *) xfer[XFER_SLOTS];

static unsigned nthreads;
static long ops_per_round;
static size_t nslots;
static size_t max_size;
static uint64_t seed;

static pthread_mutex_t totals_lock = PTHREAD_MUTEX_INITIALIZER;
static uint64_t total_alloc, total_free, total_alloc_sum, total_free_sum, total_remote;

struct worker {
        struct sctx c;
        unsigned slot;          /* index of this thread's inbox */
        long ops;
        uint64_t nremote;
        struct sobj **live;
};

static void inbox_push(unsigned dst, struct sobj *o, int lock_free)
{
        struct inbox *ib = &inboxes[dst];

        if (lock_free) {
                struct sobj *head = atomic_load_explicit(&ib->stack, memory_order_relaxed);

                do {
                        o->next = head;
                } while (!atomic_compare_exchange_weak_explicit(&ib->stack, &head, o,
                                                                memory_order_release,
                                                                memory_order_relaxed));
        } else {
                pthread_mutex_lock(&ib->lock);
                o->next = ib->locked;
                ib->locked = o;
                pthread_mutex_unlock(&ib->lock);
        }
}

/* Hand a block to another thread's inbox; it will be verified and freed there. */
static void send_remote(struct worker *w, struct sobj *o, int any)
{
        unsigned dst = (unsigned)rng_below(&w->c.rng, nthreads);

        if (!any && dst == w->slot && nthreads > 1)
                dst = (dst + 1) % nthreads;
        inbox_push(dst, o, (int)(rng_next(&w->c.rng) & 1));
}

static void free_list(struct worker *w, struct sobj *o, const char *when)
{
        while (o) {
                struct sobj *next = o->next;

                sobj_free(&w->c, o, when);
                w->nremote++;
                o = next;
        }
}

static void drain_inbox(struct worker *w, unsigned idx)
{
        struct inbox *ib = &inboxes[idx];
        struct sobj *list;

        pthread_mutex_lock(&ib->lock);
        list = ib->locked;
        ib->locked = NULL;
        pthread_mutex_unlock(&ib->lock);
        free_list(w, list, "free of a block received through a locked inbox");
        list = atomic_exchange_explicit(&ib->stack, NULL, memory_order_acquire);
        free_list(w, list, "free of a block received through a lock-free inbox");
}

static void merge_totals(struct worker *w)
{
        pthread_mutex_lock(&totals_lock);
        total_alloc += w->c.nalloc;
        total_free += w->c.nfree;
        total_alloc_sum += w->c.alloc_sum;
        total_free_sum += w->c.free_sum;
        total_remote += w->nremote;
        pthread_mutex_unlock(&totals_lock);
}

static void *worker_main(void *arg)
{
        struct worker *w = arg;
        struct sctx *c = &w->c;

        w->live = launder(S_CALLOC(nslots, sizeof(*w->live)));
        if (!w->live)
                check_fatal("calloc(%zu, %zu) returned NULL", nslots, sizeof(*w->live));
        for (long i = 0; i < w->ops; i++) {
                size_t s = rng_below(&c->rng, nslots);
                struct sobj *o = w->live[s];
                size_t r;

                if ((i & 63) == 0)
                        drain_inbox(w, w->slot);
                if (!o) {
                        w->live[s] = sobj_new(c, sobj_pick_size(c, max_size),
                                              rng_below(&c->rng, 10) == 0);
                        continue;
                }
                r = rng_below(&c->rng, 100);
                if (r < 50) {
                        sobj_free(c, o, "local free");
                        w->live[s] = NULL;
                } else if (r < 70) {
                        send_remote(w, o, 0);
                        w->live[s] = NULL;
                } else if (r < 80) {
                        sobj_realloc(c, o, sobj_pick_size(c, max_size));
                } else if (r < 92) {
                        /* Adopt whatever another thread left in the slot. */
                        size_t x = rng_below(&c->rng, XFER_SLOTS);

                        w->live[s] = atomic_exchange_explicit(&xfer[x], o, memory_order_acq_rel);
                } else {
                        sobj_verify(o, c->id, "check of a live block");
                }
        }
        drain_inbox(w, w->slot);
        /* Free half of what is left; the rest waits in inboxes for the next generation. */
        for (size_t s = 0; s < nslots; s++) {
                struct sobj *o = w->live[s];

                if (!o)
                        continue;
                if (rng_next(&c->rng) & 1)
                        sobj_free(c, o, "free at thread exit");
                else
                        send_remote(w, o, 1);
        }
        S_FREE(w->live);
        merge_totals(w);
        return NULL;
}

int main(int argc, char **argv)
{
        long rounds;
        struct worker *workers;
        pthread_t *tids;
        struct worker last;
        double t0;

        stress_begin("threads-random", 120);
        nthreads = (unsigned)stress_arg(argc, argv, 1, 32, 1, MAX_THREADS);
        ops_per_round = stress_arg(argc, argv, 2, 16000, 1, 1L << 40);
        rounds = stress_arg(argc, argv, 3, 8, 1, 1L << 20);
        nslots = (size_t)stress_arg(argc, argv, 4, 64, 1, 1L << 20);
        max_size = (size_t)stress_arg(argc, argv, 5, 4L << 20, 1, 1L << 30);
        seed = (uint64_t)stress_arg(argc, argv, 6, (long)time(NULL), 0, 1L << 62);

        /* Test bookkeeping uses the system malloc even in the STRESS_API_PREFIX build. */
        workers = calloc(nthreads, sizeof(*workers));
        tids = calloc(nthreads, sizeof(*tids));
        if (!workers || !tids)
                check_fatal("out of memory for %u thread records", nthreads);
        for (unsigned i = 0; i < nthreads; i++)
                pthread_mutex_init(&inboxes[i].lock, NULL);

        t0 = stress_now();
        for (long round = 0; round < rounds; round++) {
                for (unsigned i = 0; i < nthreads; i++) {
                        struct worker *w = &workers[i];
                        int err;

                        memset(w, 0, sizeof(*w));
                        sctx_init(&w->c, (uint32_t)(round * nthreads + i),
                                  seed + (uint64_t)round * 7919);
                        w->slot = i;
                        w->ops = ops_per_round;
                        err = pthread_create(&tids[i], NULL, worker_main, w);
                        if (err)
                                check_fatal("pthread_create: %s", strerror(err));
                }
                for (unsigned i = 0; i < nthreads; i++)
                        pthread_join(tids[i], NULL);
        }

        /* The main thread frees everything still in flight: all made by exited threads. */
        memset(&last, 0, sizeof(last));
        sctx_init(&last.c, (uint32_t)(rounds * nthreads), seed);
        for (unsigned i = 0; i < nthreads; i++)
                drain_inbox(&last, i);
        for (size_t x = 0; x < XFER_SLOTS; x++) {
                struct sobj *o = atomic_exchange(&xfer[x], NULL);

                if (o)
                        sobj_free(&last.c, o, "final free of an exchanged block");
        }
        merge_totals(&last);

        if (total_alloc != total_free || total_alloc_sum != total_free_sum)
                check_fatal("checksum mismatch: %llu blocks made (sum %#llx), %llu freed "
                            "(sum %#llx)", (unsigned long long)total_alloc,
                            (unsigned long long)total_alloc_sum,
                            (unsigned long long)total_free,
                            (unsigned long long)total_free_sum);
        printf("threads-random: ok: %u threads x %ld rounds x %ld ops, %llu blocks "
               "(%llu freed by another thread), checksum %#llx, seed %llu, %.2f s\n",
               nthreads, rounds, ops_per_round, (unsigned long long)total_alloc,
               (unsigned long long)total_remote, (unsigned long long)total_alloc_sum,
               (unsigned long long)seed, stress_now() - t0);
        free(workers);
        free(tids);
        return 0;
}
