/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * prof: sampling, backtraces and the table of live samples (prof.h explains the scheme).
 *
 * Records: a context per distinct backtrace (prof_ctx, kept until prof.reset), and under it
 * one count record per thread that allocated there (prof_tctx, dropped when its last
 * sampled object is freed unless prof_accum keeps cumulative counts).  Each sampled object
 * is a span of its own whose prof_tctx points to its record, so free finds it without a
 * lookup.  One mutex guards the tables; it is taken once per sample and once per free of
 * a sampled object, never while unwinding.  Memory for records comes from mappings of
 * prof's own, never from malloc.
 */
#include "prof/prof.h"
#include "os/probes.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "core/arena.h"
#include "core/conf.h"
#include "core/large.h"
#include "os/os.h"
#include "core/pagemap.h"
#include "prof/prof_data.h"
#include "core/sizeclass.h"
#include "core/thread.h"

__thread uint8_t la_tls_prof_busy __attribute__((tls_model("initial-exec")));

la_mutex_t la_prof_lock = LA_MUTEX_INITIALIZER("profiling", LA_RANK_PROF); /* tables, thread records */
la_mutex_t la_prof_dump_mtx = LA_MUTEX_INITIALIZER("profile dump", LA_RANK_PROF_DUMP); /* dumps, resets */

static _Atomic size_t lg_sample;   /* current sampling rate */
static _Atomic bool active_init = true; /* prof.thread_active_init */
static uint32_t epoch = 1;         /* bumped by prof.reset (under la_prof_lock) */

/* Per thread: its record, its byte countdown and random state, thread.prof.active. */
static __thread la_prof_tdata_t *tls_tdata __attribute__((tls_model("initial-exec")));
static __thread int64_t tls_bytes_left __attribute__((tls_model("initial-exec")));
static __thread uint64_t tls_rng __attribute__((tls_model("initial-exec")));
static __thread uint8_t tls_active __attribute__((tls_model("initial-exec"))); /* 0 init */
static pthread_key_t tdata_key;
static uint64_t next_uid;

/* ---- memory for records -------------------------------------------------------------- */

#define CHUNK_SIZE ((size_t)1 << 20)

typedef struct chunk {
        struct chunk *next;
        size_t used, size;
} chunk_t;

typedef struct pool {
        chunk_t *chunks;
        void *free_list; /* fixed-size pools: freed records */
} pool_t;

static pool_t ctx_pool, tctx_pool, tdata_pool;

/* Bump allocation from the pool's chunks (la_prof_lock held). */
static void *pool_alloc(pool_t *p, size_t size)
{
        size = la_align_up(size, 16);
        if (p->free_list != NULL) { /* fixed-size pools only ever free */
                void *r = p->free_list;
                p->free_list = *(void **)r;
                memset(r, 0, size);
                return r;
        }
        chunk_t *c = p->chunks;
        if (c == NULL || c->size - c->used < size) {
                size_t sz = size + sizeof(chunk_t) > CHUNK_SIZE
                                    ? la_align_up(size + sizeof(chunk_t), LA_PAGE)
                                    : CHUNK_SIZE;
                c = la_os_map(sz, LA_PAGE);
                if (c == NULL)
                        return NULL;
                c->size = sz;
                c->used = la_align_up(sizeof(chunk_t), 16);
                c->next = p->chunks;
                p->chunks = c;
        }
        void *r = (char *)c + c->used;
        c->used += size;
        return r;
}

static void pool_free(pool_t *p, void *r)
{
        *(void **)r = p->free_list;
        p->free_list = r;
}

static void pool_release(pool_t *p)
{
        while (p->chunks != NULL) {
                chunk_t *c = p->chunks;
                p->chunks = c->next;
                la_os_unmap(c, c->size);
        }
        p->free_list = NULL;
}

/* ---- random draws -------------------------------------------------------------------- */

static uint64_t rng_next(void)
{
        if (LA_UNLIKELY(tls_rng == 0)) {
                struct timespec ts;
                clock_gettime(CLOCK_MONOTONIC, &ts);
                tls_rng = (uint64_t)(uintptr_t)&tls_rng ^ ((uint64_t)ts.tv_nsec << 20) ^
                          (uint64_t)ts.tv_sec ^ 0x9e3779b97f4a7c15ull;
        }
        /* splitmix64 */
        uint64_t z = (tls_rng += 0x9e3779b97f4a7c15ull);
        z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
        z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
        return z ^ (z >> 31);
}

/* -ln(u) for u uniform in (0, 1]: an exponential draw of mean 1.  A new thread draws once
 * per class it uses, so this is cheaper than libm's log: u = x * 2^-53 with x = 2^e * m,
 * m in [1, 2), and ln m = 2 atanh((m - 1) / (m + 1)) by its series (five terms: the
 * relative error is below 1e-5, far inside what sampling distances need). */
static double exp_draw(void)
{
        uint64_t x = (rng_next() >> 11) + 1; /* 1 .. 2^53 */
        double d = (double)x;
        uint64_t bits;
        memcpy(&bits, &d, sizeof(bits));
        int e = (int)((bits >> 52) & 0x7ff) - 1023;
        bits = (bits & 0x000fffffffffffffull) | 0x3ff0000000000000ull;
        double m;
        memcpy(&m, &bits, sizeof(m));
        double t = (m - 1.0) / (m + 1.0), t2 = t * t;
        double ln_m = 2.0 * t * (1.0 + t2 * (1.0 / 3 + t2 * (1.0 / 5 + t2 * (1.0 / 7 + t2 / 9))));
        double ln_u = (double)(e - 53) * 0.69314718055994530942 + ln_m;
        return ln_u < 0 ? -ln_u : 0.0;
}

static double rate(void)
{
        return (double)((uint64_t)1 << atomic_load_explicit(&lg_sample, memory_order_relaxed));
}

/* R / size of each class, for the draws (set when the rate is). */
static double cls_scale[LA_NBINS];

static void set_scales(void)
{
        double r = rate();
        for (unsigned c = 0; c < LA_NBINS; c++)
                cls_scale[c] = r / (double)la_cls_size[c];
}

/* Blocks of class c that go out before the next sampled one: the sampled one is the
 * n-th, n geometric with each block taken with probability p = 1 - exp(-size/R), drawn
 * as floor(ln(u) / ln(1 - p)) + 1. */
static uint32_t draw_blocks(unsigned c)
{
        double n = floor(exp_draw() * cls_scale[c]);
        return n >= (double)UINT32_MAX ? UINT32_MAX : (uint32_t)n;
}

/* Bytes up to and including the next sampled one. */
static int64_t draw_bytes(void)
{
        double n = floor(exp_draw() * rate()) + 1.0;
        return n >= 9.0e18 ? INT64_MAX : (int64_t)n;
}

/* ---- per-thread state ---------------------------------------------------------------- */

static bool thread_active_now(void)
{
        if (tls_active == 0)
                tls_active = atomic_load_explicit(&active_init, memory_order_relaxed) ? 1 : 2;
        return tls_active == 1;
}

static void tdata_unref_locked(la_prof_tdata_t *td)
{
        if (--td->refs == 0) {
                td->prev != NULL ? (void)(td->prev->next = td->next)
                                 : (void)(la_prof_threads = td->next);
                if (td->next != NULL)
                        td->next->prev = td->prev;
                pool_free(&tdata_pool, td);
        }
}

static void tdata_exit(void *arg)
{
        la_prof_tdata_t *td = arg;
        if (td == NULL)
                return;
        la_mutex_lock(&la_prof_lock);
        td->dead = true;
        tdata_unref_locked(td);
        la_mutex_unlock(&la_prof_lock);
        tls_tdata = NULL;
}

/* opt.prof_sys_thread_name: the name the system knows the thread by (its comm). */
static void sys_thread_name(la_prof_tdata_t *td)
{
        int fd = open("/proc/thread-self/comm", O_RDONLY | O_CLOEXEC);
        if (fd < 0)
                return;
        char b[LA_PROF_NAME_MAX];
        ssize_t n = read(fd, b, sizeof(b) - 1);
        close(fd);
        if (n <= 0)
                return;
        while (n > 0 && (b[n - 1] == '\n' || b[n - 1] == '\0'))
                n--;
        b[n] = '\0';
        for (ssize_t i = 0; i < n; i++)
                if (b[i] < 0x20 || b[i] > 0x7e)
                        b[i] = '_';
        la_mutex_lock(&la_prof_lock);
        memcpy(td->name, b, (size_t)n + 1);
        la_mutex_unlock(&la_prof_lock);
}

/* The calling thread's record, created on first use. */
static la_prof_tdata_t *tdata_get(void)
{
        la_prof_tdata_t *td = tls_tdata;
        if (td != NULL)
                return td;
        la_mutex_lock(&la_prof_lock);
        td = pool_alloc(&tdata_pool, sizeof(*td));
        if (td != NULL) {
                memset(td, 0, sizeof(*td));
                td->uid = next_uid++;
                td->refs = 1; /* the thread itself */
                td->next = la_prof_threads;
                if (td->next != NULL)
                        td->next->prev = td;
                la_prof_threads = td;
        }
        la_mutex_unlock(&la_prof_lock);
        if (td == NULL)
                return NULL;
        if (la_opt.prof_sys_thread_name)
                sys_thread_name(td);
        tls_tdata = td;
        la_prof_aside_t aside = la_prof_aside_begin(); /* setspecific may allocate */
        pthread_setspecific(tdata_key, td);
        la_prof_aside_end(aside);
        return td;
}

/* ---- heaps: list truncation ---------------------------------------------------------- */

#define UNDRAWN UINT64_MAX

/* The allocation count of class c at which the next sample falls, drawn from now. */
static void draw_at(la_heap_t *h, unsigned c)
{
        h->prof_at[c] = h->nmalloc[c] + draw_blocks(c);
}

/* Cuts h->fl[c] so that the list ends just before the next sampled block.  The list
 * comes from one slab, so when the sample is further away than the slab has blocks there
 * is nothing to cut and nothing to walk: the common case costs a compare. */
void la_prof_cap(la_heap_t *h, unsigned c)
{
        la_block_t *b = h->fl[c];
        if (b == NULL)
                return;
        if (h->prof_at[c] == UNDRAWN)
                draw_at(h, c);
        uint64_t n = h->prof_at[c] - h->nmalloc[c]; /* blocks before the sampled one */
        la_span_t *s = h->cur[c];
        if (s != NULL && n >= s->nregs)
                return;
        if (n == 0) {
                h->prof_rest[c] = b;
                h->fl[c] = NULL;
                return;
        }
        for (uint64_t k = 1; k < n && la_block_next(b) != NULL; k++)
                b = la_block_next(b);
        h->prof_rest[c] = la_block_next(b);
        la_block_set_next(b, NULL);
}

/* Puts every held-back list part back behind its list. */
static void merge_rests(la_heap_t *h)
{
        for (unsigned c = 0; c < LA_NBINS; c++) {
                la_block_t *r = h->prof_rest[c];
                if (r == NULL)
                        continue;
                h->prof_rest[c] = NULL;
                la_block_t *b = h->fl[c];
                if (b == NULL) {
                        h->fl[c] = r;
                        continue;
                }
                while (la_block_next(b) != NULL)
                        b = la_block_next(b);
                la_block_set_next(b, r);
        }
}

void la_prof_heap_sync(la_heap_t *h)
{
        if (h->kind != LA_HEAP_THREAD || la_tls_prof_busy)
                return;
        uint32_t g = atomic_load_explicit(&la_prof_gen, memory_order_acquire);
        bool want = atomic_load_explicit(&la_prof_active, memory_order_relaxed) &&
                    thread_active_now();
        merge_rests(h);
        h->prof_gen = g;
        h->prof_armed = want;
        if (!want)
                return;
        /* Distances are drawn when a class is first used (a new thread draws none). */
        for (unsigned c = 0; c < LA_NBINS; c++) {
                h->prof_at[c] = UNDRAWN;
                la_prof_cap(h, c);
        }
}

void la_prof_heap_unarm(la_heap_t *h)
{
        merge_rests(h);
        h->prof_armed = false;
        h->prof_gen = 0; /* resynchronised at its next slow path if profiling is on */
}


void *la_prof_heap_small(la_heap_t *h, unsigned c)
{
        if (LA_UNLIKELY(h->prof_at[c] == UNDRAWN))
                draw_at(h, c);
        if (LA_UNLIKELY(h->nmalloc[c] >= h->prof_at[c])) {
                size_t usize = la_cls_size[c];
                void *p = la_prof_alloc_sampled(h->arena, false, usize, 0, false);
                draw_at(h, c);
                if (h->prof_rest[c] != NULL) {
                        h->fl[c] = h->prof_rest[c];
                        h->prof_rest[c] = NULL;
                        la_prof_cap(h, c);
                }
                if (p != NULL) {
                        la_account_alloc(h, usize);
                        return p;
                }
                la_block_t *b = h->fl[c]; /* could not sample: an ordinary block then */
                if (b != NULL) {
                        h->fl[c] = la_block_next(b);
                        b->link = 0;
                        h->nmalloc[c]++;
                        return b;
                }
        }
        void *p = la_heap_alloc_refill(h, c);
        if (p != NULL) {
                h->nmalloc[c]++;
                la_prof_heap_installed(h, c);
        }
        return p;
}

bool la_prof_count(size_t usize)
{
        if (la_tls_prof_busy || !thread_active_now())
                return false;
        if (LA_UNLIKELY(tls_bytes_left == 0))
                tls_bytes_left = draw_bytes();
        tls_bytes_left -= (int64_t)usize;
        if (tls_bytes_left > 0)
                return false;
        tls_bytes_left = draw_bytes();
        return true;
}

/* ---- the record tables --------------------------------------------------------------- */

la_prof_ctx_t **la_prof_ctx_table;
size_t la_prof_ctx_nbuckets, la_prof_nctx;
la_prof_tdata_t *la_prof_threads;
static uint64_t nsamples, sampled_bytes; /* live, unscaled */
/* prof.stats.* (opt.prof_stats): sampled objects per size class, live and ever. */
static struct {
        uint64_t req_sum, count;
} stats_live[LA_NCLASSES], stats_accum[LA_NCLASSES];

void la_prof_stats_read(unsigned cls, bool accum, uint64_t out[2])
{
        la_mutex_lock(&la_prof_lock);
        out[0] = accum ? stats_accum[cls].req_sum : stats_live[cls].req_sum;
        out[1] = accum ? stats_accum[cls].count : stats_live[cls].count;
        la_mutex_unlock(&la_prof_lock);
}

static uint64_t bt_hash(const uintptr_t *f, unsigned n)
{
        uint64_t h = 0xcbf29ce484222325ull ^ n;
        for (unsigned i = 0; i < n; i++) {
                h ^= f[i];
                h *= 0x100000001b3ull;
                h ^= h >> 29;
        }
        return h;
}

static bool table_grow_locked(void)
{
        size_t nb = la_prof_ctx_nbuckets == 0 ? 1024 : la_prof_ctx_nbuckets * 2;
        la_prof_ctx_t **t = la_os_map(la_align_up(nb * sizeof(*t), LA_PAGE), LA_PAGE);
        if (t == NULL)
                return false;
        for (size_t i = 0; i < la_prof_ctx_nbuckets; i++) {
                la_prof_ctx_t *x = la_prof_ctx_table[i];
                while (x != NULL) {
                        la_prof_ctx_t *next = x->hnext;
                        size_t b = x->hash & (nb - 1);
                        x->hnext = t[b];
                        t[b] = x;
                        x = next;
                }
        }
        if (la_prof_ctx_table != NULL)
                la_os_unmap(la_prof_ctx_table,
                            la_align_up(la_prof_ctx_nbuckets * sizeof(*t), LA_PAGE));
        la_prof_ctx_table = t;
        la_prof_ctx_nbuckets = nb;
        return true;
}

static la_prof_ctx_t *ctx_get_locked(const uintptr_t *f, unsigned n)
{
        if (la_prof_nctx >= la_prof_ctx_nbuckets && !table_grow_locked() &&
            la_prof_ctx_table == NULL)
                return NULL;
        uint64_t h = bt_hash(f, n);
        size_t b = h & (la_prof_ctx_nbuckets - 1);
        for (la_prof_ctx_t *x = la_prof_ctx_table[b]; x != NULL; x = x->hnext)
                if (x->hash == h && x->nframes == n &&
                    memcmp(x->frames, f, n * sizeof(*f)) == 0)
                        return x;
        la_prof_ctx_t *x = pool_alloc(&ctx_pool, sizeof(*x) + n * sizeof(*f));
        if (x == NULL)
                return NULL;
        x->hash = h;
        x->nframes = n;
        x->tctxs = NULL;
        memcpy(x->frames, f, n * sizeof(*f));
        x->hnext = la_prof_ctx_table[b];
        la_prof_ctx_table[b] = x;
        la_prof_nctx++;
        return x;
}

static la_prof_tctx_t *tctx_get_locked(la_prof_ctx_t *x, la_prof_tdata_t *td)
{
        for (la_prof_tctx_t *t = x->tctxs; t != NULL; t = t->next)
                if (t->td == td)
                        return t;
        la_prof_tctx_t *t = pool_alloc(&tctx_pool, sizeof(*t));
        if (t == NULL)
                return NULL;
        memset(t, 0, sizeof(*t));
        t->ctx = x;
        t->td = td;
        td->refs++;
        t->prev = NULL;
        t->next = x->tctxs;
        if (t->next != NULL)
                t->next->prev = t;
        x->tctxs = t;
        return t;
}

static void tctx_drop_locked(la_prof_tctx_t *t)
{
        la_prof_ctx_t *x = t->ctx;
        if (t->prev != NULL)
                t->prev->next = t->next;
        else
                x->tctxs = t->next;
        if (t->next != NULL)
                t->next->prev = t->prev;
        tdata_unref_locked(t->td);
        pool_free(&tctx_pool, t);
}

/* 1 / P(an object of usize bytes is sampled): what one sample stands for. */
static double weight(size_t usize)
{
        double p = -la_expm1_neg(-(double)usize / rate());
        return p > 0 ? 1.0 / p : 1.0;
}

/* Records the sampled object at p (a span of its own). */
static void record(void *p, size_t usize, const uintptr_t *frames, unsigned n,
                   la_prof_tdata_t *td)
{
        la_span_t *s = la_pm_lookup(p);
        if (s == NULL || td == NULL)
                return;
        double w = weight(usize);
        la_mutex_lock(&la_prof_lock);
        la_prof_ctx_t *x = ctx_get_locked(frames, n);
        la_prof_tctx_t *t = x != NULL ? tctx_get_locked(x, td) : NULL;
        if (t != NULL) {
                t->cur.objs++;
                t->cur.bytes += usize;
                t->cur.uobjs += w;
                t->cur.ubytes += w * (double)usize;
                if (la_opt.prof_accum) {
                        t->accum.objs++;
                        t->accum.bytes += usize;
                        t->accum.uobjs += w;
                        t->accum.ubytes += w * (double)usize;
                }
                nsamples++;
                sampled_bytes += usize;
                unsigned cls = la_size2cls(usize);
                stats_live[cls].req_sum += usize;
                stats_live[cls].count++;
                stats_accum[cls].req_sum += usize;
                stats_accum[cls].count++;
                s->prof_tctx = t;
                s->prof_epoch = epoch;
        }
        la_mutex_unlock(&la_prof_lock);
        uint64_t wbytes = (uint64_t)(w * (double)usize);
        LA_PROBE3(prof_alloc, p, usize, wbytes);
        LA_OTEL_ALLOC(p, usize, wbytes);
        if (la_opt.lg_prof_interval >= 0)
                la_prof_interval_add(w * (double)usize);
}

void *la_prof_alloc_sampled(void *arena, bool arena_explicit, size_t usize, size_t align,
                            bool zero)
{
        la_arena_t *a = arena;
        uintptr_t frames[LA_PROF_BT_MAX];
        unsigned n = la_prof_capture(frames);
        la_prof_tdata_t *td = tdata_get();
        void *p;
        if (usize <= LA_SMALL_MAX) /* counted as the smallest large class, whatever align */
                p = la_large_alloc_sampled_small(a, usize, align, zero);
        else
                p = la_large_alloc(a, arena_explicit, usize, align, zero);
        if (p != NULL)
                record(p, usize, frames, n, td);
        return p;
}

void la_prof_free(la_span_t *s)
{
        la_prof_tctx_t *t = s->prof_tctx;
        size_t usize = s->usize;
        LA_PROBE2(prof_free, (void *)s->base, usize);
        LA_OTEL_FREE((void *)s->base);
        s->prof_tctx = NULL;
        la_mutex_lock(&la_prof_lock);
        if (s->prof_epoch == epoch) {
                double w = weight(usize);
                t->cur.objs--;
                t->cur.bytes -= usize;
                t->cur.uobjs -= w;
                t->cur.ubytes -= w * (double)usize;
                nsamples--;
                sampled_bytes -= usize;
                unsigned cls = la_size2cls(usize);
                stats_live[cls].req_sum -= usize;
                stats_live[cls].count--;
                if (t->cur.objs == 0 && t->accum.objs == 0)
                        tctx_drop_locked(t);
        }
        la_mutex_unlock(&la_prof_lock);
}

void la_prof_resize(la_span_t *s, size_t old_usize, size_t new_usize)
{
        la_prof_tctx_t *t = s->prof_tctx;
        la_mutex_lock(&la_prof_lock);
        if (s->prof_epoch == epoch) {
                /* Still one sample, standing for as many objects as when it was taken. */
                double w = weight(old_usize);
                t->cur.bytes += new_usize - old_usize;
                t->cur.ubytes += w * ((double)new_usize - (double)old_usize);
                sampled_bytes += new_usize - old_usize;
                unsigned oc = la_size2cls(old_usize), nc = la_size2cls(new_usize);
                stats_live[oc].req_sum -= old_usize;
                stats_live[oc].count--;
                stats_live[nc].req_sum += new_usize;
                stats_live[nc].count++;
        }
        la_mutex_unlock(&la_prof_lock);
}

/* ---- controls ------------------------------------------------------------------------ */

static void bump_gen(void)
{
        uint32_t g = atomic_load(&la_prof_gen) + 1;
        if (g == 0 || g == UINT32_MAX)
                g = 1;
        atomic_store_explicit(&la_prof_gen, g, memory_order_release);
}

bool la_prof_set_active(bool on)
{
        if (on)
                la_prof_bt_warm();
        bool old = atomic_exchange(&la_prof_active, on);
        if (old != on)
                bump_gen();
        return old;
}

bool la_prof_get_active(void)
{
        return atomic_load(&la_prof_active);
}

bool la_prof_thread_active_init(bool *set)
{
        bool old = atomic_load(&active_init);
        if (set != NULL) {
                atomic_store(&active_init, *set);
        }
        return old;
}

bool la_prof_thread_active(const bool *set)
{
        bool old = thread_active_now();
        if (set != NULL && *set != old) {
                tls_active = *set ? 1 : 2;
                la_heap_t *h = la_tls_heap;
                if (h->kind == LA_HEAP_THREAD)
                        la_prof_heap_sync(h);
                tls_bytes_left = 0;
        }
        return old;
}

const char *la_prof_thread_name(void)
{
        la_prof_tdata_t *td = tls_tdata;
        return td != NULL ? td->name : "";
}

int la_prof_thread_name_set(const char *name)
{
        if (name == NULL)
                return EFAULT;
        for (const char *c = name; *c != '\0'; c++)
                if (!((*c >= 0x21 && *c <= 0x7e) || *c == ' ' || *c == '\t'))
                        return EFAULT; /* printable only, as jemalloc */
        la_prof_tdata_t *td = tdata_get();
        if (td == NULL)
                return EAGAIN;
        la_mutex_lock(&la_prof_lock);
        la_strlcpy(td->name, name, sizeof(td->name));
        la_mutex_unlock(&la_prof_lock);
        return 0;
}

size_t la_prof_lg_sample(void)
{
        return atomic_load(&lg_sample);
}

void la_prof_counts(uint64_t *samples, uint64_t *bytes)
{
        la_mutex_lock(&la_prof_lock);
        *samples = nsamples;
        *bytes = sampled_bytes;
        la_mutex_unlock(&la_prof_lock);
}

/* Frees the thread records nothing refers to any more. */
static void prune_threads_locked(void)
{
        la_prof_tdata_t **pp = &la_prof_threads;
        while (*pp != NULL) {
                la_prof_tdata_t *td = *pp;
                if (td->refs != 0) {
                        pp = &td->next;
                        continue;
                }
                *pp = td->next;
                if (td->next != NULL)
                        td->next->prev = td->prev;
                pool_free(&tdata_pool, td);
        }
}

void la_prof_reset(const size_t *lg)
{
        la_mutex_lock(&la_prof_dump_mtx);
        la_mutex_lock(&la_prof_lock);
        /* Older records become unreachable: their objects' frees see another epoch. */
        epoch++;
        for (la_prof_tdata_t *td = la_prof_threads; td != NULL; td = td->next)
                td->refs = td->dead ? 0 : 1;
        prune_threads_locked();
        pool_release(&ctx_pool);
        pool_release(&tctx_pool);
        if (la_prof_ctx_table != NULL)
                memset(la_prof_ctx_table, 0, la_prof_ctx_nbuckets * sizeof(*la_prof_ctx_table));
        la_prof_nctx = 0;
        nsamples = sampled_bytes = 0;
        if (lg != NULL) {
                atomic_store(&lg_sample, *lg);
                set_scales();
        }
        la_mutex_unlock(&la_prof_lock);
        la_mutex_unlock(&la_prof_dump_mtx);
        bump_gen(); /* heaps redraw their distances */
}

/* ---- start-up, fork ------------------------------------------------------------------ */

LA_BOOT void la_prof_boot(void)
{
        atomic_store(&lg_sample, la_opt.lg_prof_sample);
        set_scales();
        atomic_store(&active_init, la_opt.prof_thread_active_init);
        tls_active = 0; /* this thread may have looked before the option was known */
        pthread_key_create(&tdata_key, tdata_exit);
        la_prof_dump_boot();
        if (la_opt.prof && la_opt.prof_active)
                la_prof_set_active(true);
}

void la_prof_prefork(void)
{
        la_mutex_prefork(&la_prof_dump_mtx);
        la_mutex_prefork(&la_prof_lock);
}

void la_prof_postfork_parent(void)
{
        la_mutex_postfork_parent(&la_prof_lock);
        la_mutex_postfork_parent(&la_prof_dump_mtx);
}

void la_prof_postfork_child(void)
{
        bool whole = la_mutex_postfork_child(&la_prof_lock);
        la_mutex_postfork_child(&la_prof_dump_mtx);
        if (!whole)
                return; /* its holder may have been editing the thread list: leave it */
        /* The other threads are gone; their records stay with the objects they sampled
         * (the child inherited those) and are shown as exited threads. */
        for (la_prof_tdata_t *td = la_prof_threads; td != NULL; td = td->next)
                if (td != tls_tdata && !td->dead) {
                        td->dead = true;
                        td->refs--;
                }
        prune_threads_locked();
}

LA_BOOT void la_prof_register(void)
{
        la_up.prof = (la_sampler_t){
                .heap_sync = la_prof_heap_sync,
                .heap_unarm = la_prof_heap_unarm,
                .heap_small = la_prof_heap_small,
                .cap = la_prof_cap,
                .count = la_prof_count,
                .alloc_sampled = la_prof_alloc_sampled,
                .resize = la_prof_resize,
                .free = la_prof_free,
                .dump_due = la_prof_dump_due,
        };
}
