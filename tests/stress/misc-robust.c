/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * misc-robust: proves the allocator handles situations real programs rely on:
 *  - keys: malloc/free inside pthread key destructors (40 keys, so glibc also allocates
 *    and frees its second-level key block), each re-arming its key with a fresh block for
 *    all PTHREAD_DESTRUCTOR_ITERATIONS rounds, and inside thread_local-style destructors
 *    (__cxa_thread_atexit_impl, what C++ thread_local uses).  glibc runs key destructors
 *    in key order, so ours run after the allocator's own thread-exit destructor (its key
 *    was made first, at init): these calls need the allocator to reincarnate the thread's
 *    state.  Every destructor call is counted, every block verified, and RSS must stay
 *    bounded over hundreds of such threads: measured after a purge of every arena
 *    (mallctl, when the allocator has it), the last wave may leave at most 8 MiB more than
 *    the second, so that memory the destructor paths leak shows; unpurged, at most 64 MiB
 *    more (freed pages wait for the 10 s decay, and the waves' high-water moments add
 *    up).  The main thread finally
 *    leaves through pthread_exit() with keys set, and an atexit handler and an ELF
 *    destructor allocate during process teardown.
 *  - dead: blocks of all size ranges (1 B to 10 MiB) made by a thread that has exited are
 *    verified and freed by a thread that never allocated, reallocated and freed by the
 *    main thread, and freed by a consumer racing with the producer thread's exit.
 *  - align: posix_memalign and aligned_alloc with alignments 8 B to 4 MiB and sizes below,
 *    at and above the alignment, from 8 threads at once, freed across threads; results
 *    must be aligned and keep their contents.
 *  - calloc: calloc must return zeroed memory when it reuses blocks that were dirtied and
 *    freed (every size range, split and shrunk blocks, freed from other threads).
 *
 * usage: misc-robust [key_threads=600] [dead_cycles=200] [align_iters=1500] [calloc_iters=200]
 */
#define _GNU_SOURCE
#include <limits.h>
#include <pthread.h>
#include <stdatomic.h>

#include "stress_obj.h"

extern int __cxa_thread_atexit_impl(void (*func)(void *), void *obj, void *dso_symbol);
extern void *__dso_handle;

static uint64_t seed;

/* Global counters every thread folds its struct sctx into (also from destructors). */
static atomic_ullong g_nalloc, g_nfree, g_alloc_sum, g_free_sum;

static void flush_ctx(struct sctx *c)
{
        atomic_fetch_add(&g_nalloc, c->nalloc);
        atomic_fetch_add(&g_nfree, c->nfree);
        atomic_fetch_add(&g_alloc_sum, c->alloc_sum);
        atomic_fetch_add(&g_free_sum, c->free_sum);
        c->nalloc = c->nfree = c->alloc_sum = c->free_sum = 0;
}

static void check_balance(const char *phase)
{
        if (atomic_load(&g_nalloc) != atomic_load(&g_nfree) ||
            atomic_load(&g_alloc_sum) != atomic_load(&g_free_sum))
                check_fatal("%s: %llu blocks made but %llu freed (checksums %#llx / %#llx)",
                            phase, (unsigned long long)atomic_load(&g_nalloc),
                            (unsigned long long)atomic_load(&g_nfree),
                            (unsigned long long)atomic_load(&g_alloc_sum),
                            (unsigned long long)atomic_load(&g_free_sum));
}

/* A locked FIFO of blocks handed from one thread to another. */
struct queue {
        pthread_mutex_t lock;
        pthread_cond_t cond;
        struct sobj *head, *tail;
        int closed;
};

#define QUEUE_INIT { PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, NULL, NULL, 0 }

static void queue_put(struct queue *q, struct sobj *o)
{
        pthread_mutex_lock(&q->lock);
        o->next = NULL;
        if (q->tail)
                q->tail->next = o;
        else
                q->head = o;
        q->tail = o;
        pthread_cond_signal(&q->cond);
        pthread_mutex_unlock(&q->lock);
}

static void queue_close(struct queue *q)
{
        pthread_mutex_lock(&q->lock);
        q->closed = 1;
        pthread_cond_broadcast(&q->cond);
        pthread_mutex_unlock(&q->lock);
}

/* Next block, or NULL when empty (wait: block until one comes or the queue is closed). */
static struct sobj *queue_get(struct queue *q, int wait)
{
        struct sobj *o;

        pthread_mutex_lock(&q->lock);
        while (wait && !q->head && !q->closed)
                pthread_cond_wait(&q->cond, &q->lock);
        o = q->head;
        if (o) {
                q->head = o->next;
                if (!q->head)
                        q->tail = NULL;
        }
        pthread_mutex_unlock(&q->lock);
        return o;
}

static void queue_free_all(struct queue *q, struct sctx *c, const char *when)
{
        for (struct sobj *o; (o = queue_get(q, 0)) != NULL;)
                sobj_free(c, o, when);
}

/* ---------------------------------------------------------------------------------- */
/* keys: allocation in pthread key destructors and thread_local destructors            */

#define NKEYS 40
#define KEY_REARMS (PTHREAD_DESTRUCTOR_ITERATIONS - 1)
#define KEY_WAVE 50

static pthread_key_t keys[NKEYS];
static atomic_ullong key_dtor_calls, tls_dtor_calls, tls_dtor_expected;
static atomic_uint thread_ids = 1000;
static struct queue gifts = QUEUE_INIT;         /* blocks left for other threads' teardown */

/* Each thread's counters; _Thread_local storage outlives the key destructors. */
static _Thread_local struct sctx tctx;
static _Thread_local int tctx_ready;

static struct sctx *my_ctx(void)
{
        if (!tctx_ready) {
                sctx_init(&tctx, atomic_fetch_add(&thread_ids, 1), seed);
                tctx_ready = 1;
        }
        return &tctx;
}

struct kval {
        uint64_t magic;
        struct sobj *o;
        unsigned key, gen;
};

static uint64_t kval_magic(const struct kval *kv)
{
        return stress_mix64((uint64_t)(uintptr_t)kv ^ 0x6B65795AULL);
}

static struct kval *kval_new(struct sctx *c, unsigned key, unsigned gen)
{
        struct kval *kv = launder(malloc(sizeof(*kv)));

        if (!kv)
                check_fatal("malloc(%zu) returned NULL", sizeof(*kv));
        kv->magic = kval_magic(kv);
        kv->key = key;
        kv->gen = gen;
        kv->o = sobj_new(c, rng_log_size(&c->rng, 1, gen == 0 ? 4096 : 200000),
                         rng_below(&c->rng, 4) == 0);
        return kv;
}

static void key_dtor(void *v)
{
        struct kval *kv = v;
        struct sctx *c = my_ctx();
        struct sobj *tmp, *gift;
        int err;

        if (kv->magic != kval_magic(kv))
                check_fatal("key destructor got a corrupted value %p", v);
        sobj_free(c, kv->o, "free in a pthread key destructor");
        /* A temporary allocation and a free of another thread's block, as cleanup code does. */
        tmp = sobj_new(c, rng_log_size(&c->rng, 1, 100000), 1);
        sobj_free(c, tmp, "free of a temporary block in a key destructor");
        gift = queue_get(&gifts, 0);
        if (gift)
                sobj_free(c, gift, "free of another thread's block in a key destructor");
        if (kv->gen < KEY_REARMS) {
                /* Re-arm: glibc calls the destructor again in its next round. */
                kv->gen++;
                kv->o = sobj_new(c, rng_log_size(&c->rng, 1, 200000), 0);
                err = pthread_setspecific(keys[kv->key], kv);
                if (err)
                        check_fatal("pthread_setspecific in a destructor: %s", strerror(err));
        } else {
                kv->magic = 0;
                free(kv);
        }
        atomic_fetch_add(&key_dtor_calls, 1);
        flush_ctx(c);
}

static void tls_dtor(void *v)
{
        struct sobj *o = v;
        struct sctx *c = my_ctx();
        struct sobj *tmp;

        sobj_free(c, o, "free in a thread_local destructor");
        tmp = sobj_new(c, rng_log_size(&c->rng, 1, 300000), 0);
        sobj_realloc(c, tmp, rng_log_size(&c->rng, 1, 300000));
        /* Leave a block for a later thread's key destructor (or the main thread). */
        queue_put(&gifts, tmp);
        atomic_fetch_add(&tls_dtor_calls, 1);
        flush_ctx(c);
}

static void set_keys(struct sctx *c)
{
        /* Set the keys in a shuffled order so that the second-level block gets made early
         * or late depending on the thread. */
        unsigned start = (unsigned)rng_below(&c->rng, NKEYS);

        for (unsigned i = 0; i < NKEYS; i++) {
                unsigned k = (start + i * 7) % NKEYS;
                int err = pthread_setspecific(keys[k], kval_new(c, k, 0));

                if (err)
                        check_fatal("pthread_setspecific: %s", strerror(err));
        }
}

static void *key_thread(void *arg)
{
        struct sctx *c = my_ctx();
        unsigned ntls = 1 + (unsigned)rng_below(&c->rng, 4);

        (void)arg;
        set_keys(c);
        for (unsigned i = 0; i < ntls; i++) {
                struct sobj *o = sobj_new(c, rng_log_size(&c->rng, 1, 65536), 0);

                if (__cxa_thread_atexit_impl(tls_dtor, o, &__dso_handle) != 0)
                        check_fatal("__cxa_thread_atexit_impl failed");
                atomic_fetch_add(&tls_dtor_expected, 1);
        }
        /* Some ordinary work. */
        for (unsigned i = 0; i < 50; i++) {
                struct sobj *o = sobj_new(c, sobj_pick_size(c, (size_t)1 << 20), 0);

                if (i % 10 == 0)
                        queue_put(&gifts, o);
                else
                        sobj_free(c, o, "free of a scratch block");
        }
        flush_ctx(c);
        return NULL;
}

static size_t keys_rss_base, keys_rss_last, keys_rss_purged_base, keys_rss_purged;


static void test_keys(long nthreads)
{
        pthread_t tids[KEY_WAVE];
        size_t rss_base = 0, rss_last = 0;
        long done = 0, waves = 0;

        for (unsigned k = 0; k < NKEYS; k++) {
                int err = pthread_key_create(&keys[k], key_dtor);

                if (err)
                        check_fatal("pthread_key_create: %s", strerror(err));
        }
        while (done < nthreads) {
                long n = nthreads - done < KEY_WAVE ? nthreads - done : KEY_WAVE;

                for (long i = 0; i < n; i++) {
                        int err = pthread_create(&tids[i], NULL, key_thread, NULL);

                        if (err)
                                check_fatal("pthread_create: %s", strerror(err));
                }
                for (long i = 0; i < n; i++)
                        pthread_join(tids[i], NULL);
                done += n;
                rss_last = stress_rss();
                if (getenv("MISC_ROBUST_TRACE"))
                        fprintf(stderr, "keys: wave %ld: RSS %.1f MiB\n", waves + 1,
                                rss_last / 1048576.0);
                if (++waves == 2) {
                        rss_base = rss_last;
                        keys_rss_purged_base = stress_purge_all_arenas() ? stress_rss() : 0;
                }
        }
        queue_free_all(&gifts, my_ctx(), "main-thread free of a block made in a destructor");
        flush_ctx(my_ctx());
        keys_rss_base = rss_base;
        keys_rss_last = rss_last;
        keys_rss_purged = stress_purge_all_arenas() ? stress_rss() : 0;
        if (atomic_load(&key_dtor_calls) != (unsigned long long)nthreads * NKEYS * (KEY_REARMS + 1))
                check_fatal("keys: %llu key destructor calls, expected %llu",
                            (unsigned long long)atomic_load(&key_dtor_calls),
                            (unsigned long long)nthreads * NKEYS * (KEY_REARMS + 1));
        if (atomic_load(&tls_dtor_calls) != atomic_load(&tls_dtor_expected))
                check_fatal("keys: %llu thread_local destructor calls, expected %llu",
                            (unsigned long long)atomic_load(&tls_dtor_calls),
                            (unsigned long long)atomic_load(&tls_dtor_expected));
        check_balance("keys");
        if (waves > 2 && keys_rss_purged > keys_rss_purged_base + ((size_t)8 << 20))
                check_fatal("keys: RSS after a purge grew from %.1f MiB to %.1f MiB over %ld "
                            "threads whose destructors allocate",
                            keys_rss_purged_base / 1048576.0, keys_rss_purged / 1048576.0,
                            nthreads);
        if (waves > 2 && rss_last > rss_base + ((size_t)64 << 20))
                check_fatal("keys: RSS grew from %.1f MiB to %.1f MiB over %ld threads whose "
                            "destructors allocate", rss_base / 1048576.0, rss_last / 1048576.0,
                            nthreads);
}

/* ---------------------------------------------------------------------------------- */
/* dead: blocks made by a thread that has exited                                        */

#define DEAD_BLOCKS 64

static struct sobj *dead_blocks[DEAD_BLOCKS];
static struct queue race_q = QUEUE_INIT;

static void *dead_producer(void *arg)
{
        static const size_t sizes[] = { 1, 8, 24, 100, 1000, 4000, 10000, 40000, 200000,
                                        (size_t)3 << 20 };
        struct sctx c;

        sctx_init(&c, (uint32_t)(uintptr_t)arg, seed);
        for (size_t i = 0; i < DEAD_BLOCKS; i++) {
                size_t size;

                if (i < 3 * (sizeof(sizes) / sizeof(sizes[0])))
                        size = sizes[i % (sizeof(sizes) / sizeof(sizes[0]))];
                else if (i == DEAD_BLOCKS - 1 && (uintptr_t)arg % 8 == 0)
                        size = (size_t)10 << 20;
                else
                        size = rng_log_size(&c.rng, 1, 16384);
                dead_blocks[i] = sobj_new(&c, size, (int)(i % 5 == 0));
        }
        flush_ctx(&c);
        return NULL;
}

/* Must not allocate: it tests free from a thread with no allocator state of its own. */
static void *dead_free_only(void *arg)
{
        struct sctx c;

        sctx_init(&c, (uint32_t)(uintptr_t)arg, seed);
        for (size_t i = 0; i < DEAD_BLOCKS; i += 2) {
                sobj_free(&c, dead_blocks[i], "free by a fresh thread of a dead thread's block");
                dead_blocks[i] = NULL;
        }
        flush_ctx(&c);
        return NULL;
}

static void *race_producer(void *arg)
{
        struct sctx c;

        sctx_init(&c, (uint32_t)(uintptr_t)arg, seed);
        for (unsigned i = 0; i < 200; i++)
                queue_put(&race_q, sobj_new(&c, sobj_pick_size(&c, (size_t)256 << 10),
                                            (int)(i % 7 == 0)));
        flush_ctx(&c);
        return NULL;    /* exits while the consumer may still be freeing its blocks */
}

static void *race_consumer(void *arg)
{
        struct sctx c;

        sctx_init(&c, (uint32_t)(uintptr_t)arg, seed);
        for (struct sobj *o; (o = queue_get(&race_q, 1)) != NULL;)
                sobj_free(&c, o, "free racing with the allocating thread's exit");
        flush_ctx(&c);
        return NULL;
}

static void run_thread(void *(*fn)(void *), uintptr_t arg)
{
        pthread_t t;
        int err = pthread_create(&t, NULL, fn, (void *)arg);

        if (err)
                check_fatal("pthread_create: %s", strerror(err));
        pthread_join(t, NULL);
}

static void test_dead(long cycles)
{
        struct sctx c;

        sctx_init(&c, 7, seed);
        for (long cycle = 0; cycle < cycles; cycle++) {
                pthread_t prod, cons;
                int err;

                run_thread(dead_producer, (uintptr_t)(100 + cycle));
                run_thread(dead_free_only, (uintptr_t)(200000 + cycle));
                for (size_t i = 1; i < DEAD_BLOCKS; i += 2) {
                        struct sobj *o = dead_blocks[i];

                        if (i % 3 == 1)
                                sobj_realloc(&c, o, o->size % 3 == 0 ? o->size / 2 + 1
                                                                      : o->size * 2 + 5);
                        sobj_free(&c, o, "main-thread free of a dead thread's block");
                        dead_blocks[i] = NULL;
                }

                race_q.closed = 0;
                err = pthread_create(&cons, NULL, race_consumer, (void *)(uintptr_t)300);
                if (!err)
                        err = pthread_create(&prod, NULL, race_producer,
                                             (void *)(uintptr_t)(400 + cycle));
                if (err)
                        check_fatal("pthread_create: %s", strerror(err));
                pthread_join(prod, NULL);
                queue_close(&race_q);
                pthread_join(cons, NULL);
        }
        flush_ctx(&c);
        check_balance("dead");
}

/* ---------------------------------------------------------------------------------- */
/* align: posix_memalign / aligned_alloc with large alignments from many threads        */

#define ALIGN_THREADS 8
#define ALIGN_SLOTS 8
#define ALIGN_XFER 32

static _Atomic(struct sobj *) align_xfer[ALIGN_XFER];
static long align_iters;

static struct sobj *new_aligned(struct sctx *c, size_t align, size_t size, int use_aligned_alloc)
{
        struct sobj *o = launder(malloc(sizeof(*o)));
        const char *what = use_aligned_alloc ? "aligned_alloc" : "posix_memalign";
        void *p = NULL;

        if (!o)
                check_fatal("malloc(%zu) returned NULL", sizeof(*o));
        if (use_aligned_alloc) {
                p = launder(aligned_alloc(align, size));
                if (!p)
                        check_fatal("aligned_alloc(%zu, %zu) returned NULL: %s", align, size,
                                    strerror(errno));
        } else {
                int err = posix_memalign(&p, align, size);

                if (err || !p)
                        check_fatal("posix_memalign(%zu, %zu) failed: %s", align, size,
                                    strerror(err));
                p = launder(p);
        }
        if ((uintptr_t)p % align)
                check_fatal("%s(%zu, %zu) returned %p, which is not aligned", what, align, size,
                            p);
        o->magic = sobj_magic(o);
        o->p = p;
        o->size = size;
        sobj_set_usable(o, what);
        /* Over-aligned blocks can have a usable size far above the request (glibc's mmap'd
         * memalign chunks keep the whole tail): fill only what was asked for. */
        o->fill = size;
        o->next = NULL;
        o->owner = c->id;
        sobj_set_pattern(c, o);
        return o;
}

static void *align_thread(void *arg)
{
        struct sctx c;
        struct sobj *live[ALIGN_SLOTS] = { 0 };

        sctx_init(&c, (uint32_t)(uintptr_t)arg, seed);
        for (long it = 0; it < align_iters; it++) {
                size_t s = rng_below(&c.rng, ALIGN_SLOTS);
                /* Alignment 8 B .. 64 KiB, and one time in five 128 KiB .. 4 MiB. */
                unsigned lg = rng_below(&c.rng, 5) ? 3 + (unsigned)rng_below(&c.rng, 14)
                                                   : 17 + (unsigned)rng_below(&c.rng, 6);
                size_t align = (size_t)1 << lg, size;

                if (live[s]) {
                        if (rng_below(&c.rng, 3) == 0) {
                                size_t x = rng_below(&c.rng, ALIGN_XFER);

                                live[s] = atomic_exchange(&align_xfer[x], live[s]);
                        } else {
                                sobj_free(&c, live[s], "free of an aligned block");
                                live[s] = NULL;
                        }
                        continue;
                }
                switch (rng_below(&c.rng, 5)) {
                case 0:
                        size = 1;
                        break;
                case 1:
                        size = align / 2 + 1;
                        break;
                case 2:
                        size = align;
                        break;
                case 3:
                        size = align + 1;
                        break;
                default:
                        size = rng_log_size(&c.rng, 1, 65536);
                        break;
                }
                live[s] = new_aligned(&c, align, size, (int)(rng_next(&c.rng) & 1));
        }
        for (size_t s = 0; s < ALIGN_SLOTS; s++)
                if (live[s])
                        sobj_free(&c, live[s], "free of an aligned block at thread exit");
        flush_ctx(&c);
        return NULL;
}

static void test_align(void)
{
        pthread_t tids[ALIGN_THREADS];
        struct sctx c;

        for (unsigned i = 0; i < ALIGN_THREADS; i++) {
                int err = pthread_create(&tids[i], NULL, align_thread,
                                         (void *)(uintptr_t)(500 + i));

                if (err)
                        check_fatal("pthread_create: %s", strerror(err));
        }
        for (unsigned i = 0; i < ALIGN_THREADS; i++)
                pthread_join(tids[i], NULL);
        sctx_init(&c, 9, seed);
        for (size_t x = 0; x < ALIGN_XFER; x++) {
                struct sobj *o = atomic_exchange(&align_xfer[x], NULL);

                if (o)
                        sobj_free(&c, o, "final free of an aligned block");
        }
        flush_ctx(&c);
        check_balance("align");
}

/* ---------------------------------------------------------------------------------- */
/* calloc: zeroed memory after reuse of dirty freed memory                              */

#define CALLOC_THREADS 4
#define CALLOC_BATCH 32

static long calloc_iters;
static _Atomic(unsigned char *) dirty_xfer[CALLOC_THREADS][CALLOC_BATCH];

static void *checked_calloc(size_t n, size_t m)
{
        unsigned char *p = launder(calloc(n, m));
        size_t off;

        if (!p)
                check_fatal("calloc(%zu, %zu) returned NULL", n, m);
        off = zero_check(p, n * m);
        if (off != STRESS_OK)
                check_fatal("calloc(%zu, %zu) = %p reused dirty memory: byte %zu is %#x", n, m,
                            (void *)p, off, p[off]);
        return p;
}

static void *dirty_malloc(size_t size, int byte)
{
        unsigned char *p = launder(malloc(size));

        if (!p)
                check_fatal("malloc(%zu) returned NULL", size);
        memset(p, byte, malloc_usable_size(p));
        return p;
}

static void calloc_shape(size_t size, unsigned shape, size_t *n, size_t *m)
{
        if (shape % 3 == 1 && size % 8 == 0) {
                *n = size / 8;
                *m = 8;
        } else if (shape % 3 == 2) {
                *n = 1;
                *m = size;
        } else {
                *n = size;
                *m = 1;
        }
}

static void calloc_single_thread(void)
{
        static const size_t sizes[] = { 1, 7, 16, 48, 100, 512, 1000, 4096, 5000, 16384, 61440,
                                        131072, 500000, (size_t)1 << 20, (size_t)2 << 20,
                                        (size_t)4 << 20, (size_t)8 << 20, (size_t)20 << 20 };
        static void *blocks[64];

        for (size_t si = 0; si < sizeof(sizes) / sizeof(sizes[0]); si++) {
                size_t size = sizes[si];
                size_t n = ((size_t)32 << 20) / size;

                if (n > 64)
                        n = 64;
                if (n < 2)
                        n = 2;
                for (unsigned round = 0; round < 3; round++) {
                        for (size_t i = 0; i < n; i++)
                                blocks[i] = dirty_malloc(size, 0xA5);
                        for (size_t i = 0; i < n; i++)
                                free(blocks[round == 1 ? i : n - 1 - i]);
                        for (size_t i = 0; i < n; i++) {
                                size_t cn, cm;

                                calloc_shape(size, round + (unsigned)i, &cn, &cm);
                                blocks[i] = checked_calloc(cn, cm);
                        }
                        for (size_t i = 0; i < n; i++)
                                free(blocks[i]);
                }
        }
        /* A large dirty block split into smaller calloc'd ones. */
        for (unsigned round = 0; round < 8; round++) {
                void *big = dirty_malloc((size_t)4 << 20, 0x5A);

                free(big);
                for (size_t i = 0; i < 4; i++)
                        blocks[i] = checked_calloc((size_t)1 << 20, 1);
                for (size_t i = 0; i < 16; i++)
                        blocks[4 + i] = checked_calloc(1, (size_t)60000);
                for (size_t i = 0; i < 20; i++)
                        free(blocks[i]);
        }
        /* A dirty block shrunk by realloc leaves a dirty tail behind. */
        for (unsigned round = 0; round < 32; round++) {
                size_t big = (size_t)65536 << (round % 6);
                void *p = dirty_malloc(big, 0xC3);

                p = launder(realloc(p, 100 + round));
                if (!p)
                        check_fatal("realloc shrink returned NULL");
                free(p);
                p = checked_calloc(big, 1);
                free(p);
        }
}

static void *calloc_thread(void *arg)
{
        unsigned me = (unsigned)(uintptr_t)arg, next = (me + 1) % CALLOC_THREADS;
        uint64_t rng = stress_mix64(seed ^ me);
        void *mine[CALLOC_BATCH];

        for (long it = 0; it < calloc_iters; it++) {
                /* Dirty blocks go to the next thread, which frees them (a remote free). */
                for (size_t i = 0; i < CALLOC_BATCH; i++) {
                        unsigned char *p = dirty_malloc(rng_log_size(&rng, 1, (size_t)256 << 10),
                                                        0xE7);
                        unsigned char *old = atomic_exchange(&dirty_xfer[next][i], p);

                        free(old);
                }
                for (size_t i = 0; i < CALLOC_BATCH; i++)
                        free(atomic_exchange(&dirty_xfer[me][i], NULL));
                for (size_t i = 0; i < CALLOC_BATCH; i++) {
                        size_t size = rng_log_size(&rng, 1, (size_t)256 << 10), n, m;

                        calloc_shape(size, (unsigned)i, &n, &m);
                        mine[i] = checked_calloc(n, m);
                        memset(mine[i], 0x3C, size);
                }
                for (size_t i = 0; i < CALLOC_BATCH; i++)
                        free(mine[i]);
        }
        return NULL;
}

static void test_calloc(void)
{
        pthread_t tids[CALLOC_THREADS];

        calloc_single_thread();
        for (unsigned i = 0; i < CALLOC_THREADS; i++) {
                int err = pthread_create(&tids[i], NULL, calloc_thread, (void *)(uintptr_t)i);

                if (err)
                        check_fatal("pthread_create: %s", strerror(err));
        }
        for (unsigned i = 0; i < CALLOC_THREADS; i++)
                pthread_join(tids[i], NULL);
        for (unsigned t = 0; t < CALLOC_THREADS; t++)
                for (size_t i = 0; i < CALLOC_BATCH; i++)
                        free(atomic_exchange(&dirty_xfer[t][i], NULL));
        calloc_single_thread();
}

/* ---------------------------------------------------------------------------------- */
/* teardown: the main thread leaves through pthread_exit() with keys set                */

static void teardown_alloc(const char *when)
{
        for (size_t size = 1; size <= ((size_t)4 << 20); size *= 7) {
                unsigned char *p = launder(malloc(size));

                if (!p)
                        check_fatal("malloc(%zu) returned NULL %s", size, when);
                pat_fill(p, size, size);
                p = launder(realloc(p, size * 2));
                if (!p || pat_check(p, size, size, size) != STRESS_OK)
                        check_fatal("realloc lost contents %s", when);
                free(p);
        }
}

static unsigned long long main_key_expected;

static void atexit_check(void)
{
        teardown_alloc("in an atexit handler");
        /* The main thread's key destructors ran in pthread_exit() before this handler. */
        if (atomic_load(&key_dtor_calls) != main_key_expected)
                check_fatal("teardown: %llu key destructor calls after the main thread's "
                            "pthread_exit, expected %llu",
                            (unsigned long long)atomic_load(&key_dtor_calls),
                            main_key_expected);
        queue_free_all(&gifts, my_ctx(), "free of a block made by the main thread's destructors");
        flush_ctx(my_ctx());
        check_balance("teardown");
}

static void __attribute__((destructor)) elf_destructor(void)
{
        teardown_alloc("in an ELF destructor");
}

int main(int argc, char **argv)
{
        long key_threads, dead_cycles;
        double t0, t;

        stress_begin("misc-robust", 90);
        key_threads = stress_arg(argc, argv, 1, 600, 0, 10000000);
        dead_cycles = stress_arg(argc, argv, 2, 200, 0, 10000000);
        align_iters = stress_arg(argc, argv, 3, 1500, 0, 100000000);
        calloc_iters = stress_arg(argc, argv, 4, 200, 0, 100000000);
        seed = (uint64_t)time(NULL);

        t0 = t = stress_now();
        test_keys(key_threads);
        printf("misc-robust: keys: %ld threads, %llu key and %llu thread_local destructor "
               "calls, RSS %.1f -> %.1f MiB, after a purge %.1f -> %.1f MiB, %.2f s\n",
               key_threads, (unsigned long long)atomic_load(&key_dtor_calls),
               (unsigned long long)atomic_load(&tls_dtor_calls), keys_rss_base / 1048576.0,
               keys_rss_last / 1048576.0, keys_rss_purged_base / 1048576.0,
               keys_rss_purged / 1048576.0, stress_now() - t);
        t = stress_now();
        test_dead(dead_cycles);
        printf("misc-robust: dead: %ld cycles, RSS %.1f MiB, %.2f s\n", dead_cycles,
               stress_rss() / 1048576.0, stress_now() - t);
        t = stress_now();
        test_align();
        printf("misc-robust: align: %d threads x %ld allocations, RSS %.1f MiB, %.2f s\n",
               ALIGN_THREADS, align_iters, stress_rss() / 1048576.0, stress_now() - t);
        t = stress_now();
        test_calloc();
        printf("misc-robust: calloc: RSS %.1f MiB, %.2f s\n", stress_rss() / 1048576.0,
               stress_now() - t);
        printf("misc-robust: ok: %.2f s\n", stress_now() - t0);
        fflush(stdout);

        /* Leave through pthread_exit() with keys set: their destructors run on the way out,
         * then exit() runs atexit_check and the ELF destructor. */
        main_key_expected = atomic_load(&key_dtor_calls) + (unsigned long long)NKEYS *
                            (KEY_REARMS + 1);
        if (atexit(atexit_check) != 0)
                check_fatal("atexit failed");
        set_keys(my_ctx());
        pthread_exit(NULL);
}
