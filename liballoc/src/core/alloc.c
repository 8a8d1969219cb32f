/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * alloc: generic paths.  Small requests go to the calling thread's heap, or, when the
 * caller asked for a specific arena or no tcache (or the thread has no heap), to the
 * arena's shared heap under the arena lock.  Large and huge requests go to large.c.
 */
#include "core/alloc.h"
#include "core/upcalls.h"

#include <errno.h>
#include <string.h>

#include "core/arena.h"
#include "core/conf.h"
#include "core/harden.h"
#include "core/heap.h"
#include "core/init.h"
#include "core/large.h"
#include "core/lcache.h"
#include "core/pagemap.h"
#include "core/sizeclass.h"
#include "core/tcache.h"
#include "core/thread.h"

static void *shared_small(la_arena_t *a, unsigned c)
{
        la_mutex_lock(&a->lock);
        void *p = la_shared_pop_locked(a, c);
        if (p != NULL)
                a->shared->nmalloc[c]++;
        la_mutex_unlock(&a->lock);
        return p;
}

static void *heap_small(la_heap_t *h, unsigned c)
{
        la_block_t *b = h->fl[c];
        void *p;
        if (b != NULL) {
                if (LA_UNLIKELY(!la_block_ok(b)))
                        la_fl_corrupt(b);
                h->fl[c] = la_block_next(b);
                b->link = 0;
                p = b;
        } else {
                if (LA_UNLIKELY(h->prof_armed))
                        return la_up.prof.heap_small(h, c); /* counts it */
                p = la_heap_alloc_refill(h, c);
        }
        if (p != NULL)
                h->nmalloc[c]++;
        return p;
}

/* opt.zero / opt.junk on a new allocation (the allocation paths all come here once fill
 * is on: threads have no private heap then). */
static LA_COLD void fill_alloc(void *p, size_t usize, bool zero)
{
        if (zero || la_opt.zero)
                memset(p, 0, usize);
        else if (la_opt.junk_alloc)
                memset(p, 0xa5, usize);
}

static void *alloc_usize_nofill(size_t usize, size_t align, bool zero, la_arena_t *a,
                                bool explicit_arena, la_heap_t *h);

static void *alloc_usize(size_t usize, size_t align, bool zero, la_arena_t *a,
                         bool explicit_arena, la_heap_t *h)
{
        void *p = alloc_usize_nofill(usize, align, zero, a, explicit_arena, h);
        if (LA_UNLIKELY(la_opt.fill) && p != NULL)
                fill_alloc(p, usize, zero);
        return p;
}

static void *alloc_usize_nofill(size_t usize, size_t align, bool zero, la_arena_t *a,
                                bool explicit_arena, la_heap_t *h)
{
        void *p;
        /* Sampling of everything an armed thread heap does not sample itself. */
        if (LA_UNLIKELY(atomic_load_explicit(&la_prof_active, memory_order_relaxed)) &&
            (h == NULL || !h->prof_armed || usize > LA_SMALL_MAX) && la_up.prof.count(usize)) {
                p = la_up.prof.alloc_sampled(a, explicit_arena, usize, align, zero);
                if (p != NULL) {
                        la_account_alloc(la_tls_heap, usize);
                        return p;
                }
        }
        if (usize <= LA_SMALL_MAX) {
                unsigned c = la_size2cls(usize);
                p = h != NULL ? heap_small(h, c) : shared_small(a, c);
                /* Blocks from a shared or explicit heap are the calling thread's bytes
                 * too (thread.allocated), as in jemalloc. */
                if (p != NULL && (h == NULL || h->kind != LA_HEAP_THREAD))
                        la_account_alloc(la_tls_heap, usize);
                if (p != NULL && zero)
                        memset(p, 0, usize);
                return p;
        }
        /* A run of this class the thread parked (lcache.h): no arena lock. */
        if (h != NULL && usize <= LA_LCACHE_MAX && align <= LA_PAGE && !explicit_arena &&
            (p = la_lcache_alloc(h, usize, zero)) != NULL) {
                la_account_alloc(la_tls_heap, usize);
                return p;
        }
        p = la_large_alloc(a, explicit_arena, usize, align, zero);
        if (p != NULL)
                la_account_alloc(la_tls_heap, usize);
        return p;
}

/* What la_malloc_slow does for a request that neither a refill from the current slab nor a
 * parked run served (inline in malloc_small, which saves its registers once). */
static LA_ALWAYS_INLINE void *malloc_general_inline(size_t size)
{
        if (LA_UNLIKELY(!la_ready())) {
                void *p = la_boot_alloc(size);
                if (p == NULL)
                        errno = ENOMEM;
                return p;
        }
        size_t usize = la_s2u(size);
        if (LA_UNLIKELY(usize == 0)) {
                errno = ENOMEM;
                return NULL;
        }
        la_heap_t *h = la_thread_heap();
        la_arena_t *a = h != NULL ? h->arena : la_thread_arena();
        void *p = alloc_usize(usize, 0, false, a, false, h);
        if (p == NULL)
                errno = ENOMEM;
        if (LA_UNLIKELY(atomic_load_explicit(&la_prof_dump_pending, memory_order_relaxed)))
                la_up.prof.dump_due();
        return p;
}

/* The same, out of line: what la_malloc_slow's larger requests tail-call. */
static __attribute__((noinline)) void *malloc_general(size_t size)
{
        return malloc_general_inline(size);
}

/* la_malloc_slow for size <= LA_LOOKUP_MAX. */
static __attribute__((noinline)) void *malloc_small(size_t size)
{
        la_heap_t *th = la_tls_heap;
        if (LA_UNLIKELY(th->prof_gen != atomic_load_explicit(&la_prof_gen, memory_order_relaxed)))
                la_up.prof.heap_sync(th);
        /* The common miss: the hoisted list ran dry but the current slab has blocks its
         * owner freed since (a malloc/free pair loop lives here).  Take them in one go. */
        unsigned c = th->size2cls[(size + 7) >> 3];
        if (LA_UNLIKELY(th->fl[c] != NULL))
                la_fl_corrupt(th->fl[c]); /* malloc's fast path refused it */
        la_span_t *cur = th->cur[c];
        /* (Few blocks there while other slabs of the class have some: the full refill
         * below gathers them.) */
        if (cur != NULL && cur->local_free != NULL &&
            (cur->capacity - cur->used >= LA_GATHER_MIN || th->partial[c] == NULL) &&
            (LA_LIKELY(!th->prof_armed) || !la_prof_heap_due(th, c))) {
                la_block_t *b = la_span_take_local(cur);
                th->fl[c] = la_block_next(b);
                b->link = 0;
                th->nmalloc[c]++;
                th->nfills[c]++;
                if (LA_UNLIKELY(th->prof_armed))
                        la_prof_heap_installed(th, c);
                return b;
        }
        return malloc_general_inline(size);
}

/* la_malloc_slow for a larger request when the thread's heap is behind la_prof_gen. */
static LA_COLD void *malloc_sync(size_t size, la_heap_t *th)
{
        la_up.prof.heap_sync(th);
        return malloc_general(size);
}

/* la_heap_publish(h), then p. */
static LA_COLD void *publish_then(la_heap_t *h, void *p)
{
        la_heap_publish(h);
        return p;
}

/* The rest of la_malloc_slow is in functions it tail-calls, so that it saves no registers
 * on its own path: taking back a parked run. */
void *la_malloc_slow(size_t size)
{
        if (LA_LIKELY(size <= LA_LOOKUP_MAX))
                return malloc_small(size);
        la_heap_t *th = la_tls_heap;
        /* A run of this class the thread parked (lcache.h), taken back before anything
         * else is looked at: only a thread heap of a set-up allocator without fill parks
         * runs (la_lcache_allowed), and with profiling off no sample is due (nor does the
         * heap's sampling state matter to a large class).  A 64 KiB malloc/free pair loop
         * lives here. */
        if (size - (LA_SMALL_MAX + 1) < LA_LCACHE_MAX - LA_SMALL_MAX &&
            !atomic_load_explicit(&la_prof_active, memory_order_relaxed)) {
                unsigned k = la_lcache_cls_tab[(size - (LA_SMALL_MAX + 1)) >> 11];
                la_span_t *s = th->lcache[k];
                if (s != NULL) {
                        void *p = la_lcache_take(th, k, s);
                        /* la_account_thread, with the publishing a tail call so that
                         * this path keeps p in no saved register (2 instructions). */
                        th->allocated_large += s->usize;
                        if (LA_UNLIKELY(th->publish))
                                return publish_then(th, p);
                        return p;
                }
        }
        if (LA_UNLIKELY(th->prof_gen != atomic_load_explicit(&la_prof_gen, memory_order_relaxed)))
                return malloc_sync(size, th);
        return malloc_general(size);
}

void *la_alloc_flags(size_t size, la_flags_t f)
{
        if (LA_UNLIKELY(!la_ready()))
                return f.align > 16 ? NULL : la_boot_alloc(size);
        if (LA_UNLIKELY(f.align > LA_ALIGN_MAX))
                return NULL; /* no address space can satisfy it */
        size_t usize = f.align != 0 ? la_sa2u(size, f.align) : la_s2u(size);
        if (LA_UNLIKELY(usize == 0))
                return NULL;
        la_heap_t *h = NULL;
        la_arena_t *a;
        if (f.tcache >= 2) {
                /* An explicit cache (tcache.create): used unless the caller asked for an
                 * arena other than the cache's. */
                h = la_tcache_heap(f.tcache - 2);
                if (h != NULL && f.arena >= 0 && h->arena->ind != (unsigned)f.arena)
                        h = NULL;
                if (h != NULL)
                        return alloc_usize(usize, f.align, f.zero, h->arena, f.arena >= 0, h);
        }
        if (f.arena >= 0) {
                a = la_arena_get((unsigned)f.arena, true);
                if (a == NULL)
                        return NULL;
                if (!f.tcache_none) {
                        h = la_thread_heap();
                        if (h != NULL && h->arena != a)
                                h = NULL;
                }
        } else {
                h = f.tcache_none ? NULL : la_thread_heap();
                a = h != NULL ? h->arena : la_thread_arena();
        }
        return alloc_usize(usize, f.align, f.zero, a, f.arena >= 0, h);
}

/* What is wrong with p as a block of span s (which the page map gives for p), or NULL
 * when p is the start of a block that may be live. */
static inline const char *bad_block(const la_span_t *s, const void *p)
{
        switch (s->kind) {
        case LA_SPAN_SMALL: {
                uint64_t q = la_span_block_at(s, (uintptr_t)p - s->base);
                if (LA_UNLIKELY(q == UINT64_MAX))
                        return "invalid pointer (not the start of a block)";
                if (LA_UNLIKELY(q >= la_span_capacity(s)))
                        return "invalid pointer (never allocated)";
                return NULL;
        }
        case LA_SPAN_LARGE:
                if (LA_UNLIKELY(__atomic_load_n(&s->parked, __ATOMIC_RELAXED)))
                        return "double free or invalid pointer"; /* parked (lcache.h) */
                /* fall through */
        case LA_SPAN_HUGE:
                return (uintptr_t)p == s->base ? NULL
                                               : "invalid pointer (inside a large allocation)";
        default:
                /* Its pages are free: a double free, or a pointer into freed memory. */
                return "double free or invalid pointer";
        }
}

/* Misuse the slow paths can see: never returns (message, then the abort hook). */
static LA_COLD void invalid_ptr(const char *fn, const char *what, const void *p)
{
        char msg[160];
        la_strlcpy(msg, fn, sizeof(msg));
        la_strlcat(msg, "(): ", sizeof(msg));
        la_strlcat(msg, what, sizeof(msg));
        la_fatal_ptr(msg, p);
}

/* A pointer the page map does not know: not allocated by liballoc (a stack, static or
 * another allocator's block), or inside memory liballoc no longer uses.  opt.foreign_free
 * says what happens: abort (default), warn once and ignore it, or ignore it. */
LA_COLD void la_foreign_ptr(const char *fn, const void *p)
{
        if (la_opt.foreign_free[0] == 'i')
                return;
        char msg[160];
        la_strlcpy(msg, fn, sizeof(msg));
        la_strlcat(msg, "(): invalid pointer (not allocated by liballoc, or freed)", sizeof(msg));
        if (la_opt.foreign_free[0] == 'a')
                la_fatal_ptr(msg, p);
        static _Atomic bool warned;
        if (!atomic_exchange_explicit(&warned, true, memory_order_relaxed)) {
                char num[24];
                la_messagef("liballoc: ", msg, ": ", la_fmt_hex(num, (uintptr_t)p),
                            " (ignored: foreign_free:warn; further ones are not reported)",
                            (const char *)NULL);
        }
}

/* la_free_slow of NULL, the bootstrap buffer, or a pointer that is not ours. */
static LA_COLD void free_unknown(void *p)
{
        if (p != NULL && !la_boot_owns(p))
                la_foreign_ptr("free", p);
}

/* la_free_slow of small block p of slab s, which bad_block let through. */
static __attribute__((noinline)) void free_small(void *p, la_span_t *s)
{
        if (LA_UNLIKELY(la_block_maybe_free(p))) {
                la_small_free_suspect(s, p); /* returns: it only looked free */
                /* (Never true in the hardened mode: LA_OWNER_HARD, harden.h.) */
                la_heap_t *h = la_tls_heap;
                if (la_span_owner_fast(s) == (uintptr_t)h) {
                        la_small_free_own(h, s, p); /* the fast path's push */
                        return;
                }
        }
        /* A thread whose first call is a free (a consumer of blocks other threads make)
         * gets its heap here, as on its first malloc: its frees then count in its own
         * heap, where without one each was an atomic add to a counter of the slab's arena
         * that every such thread shares (la_small_free_slow). */
        if (LA_UNLIKELY(la_tls_state == LA_THREAD_NEW))
                (void)la_thread_heap();
        if (LA_UNLIKELY(la_opt.hardened)) {
                la_harden_free_small(s, p); /* junk and quarantine */
                return;
        }
        if (LA_UNLIKELY(la_opt.junk_free))
                memset(p, 0x5a, s->block_size);
        la_small_free_slow(s, p);
}

/* la_free_slow of large or huge run s (at p), which bad_block let through and which is not
 * parked: back to its arena. */
static __attribute__((noinline)) void free_large(void *p, la_span_t *s)
{
        if (LA_UNLIKELY(la_opt.junk_free))
                memset(p, 0x5a, s->usize);
        la_account_dealloc(la_tls_heap, s->usize);
        la_large_free(s);
}

/* The rest of la_free_slow is in functions it tail-calls, so that it saves no registers
 * on its own path: parking a large run. */
void la_free_slow(void *p, la_span_t *s)
{
        if (s == NULL) {
                free_unknown(p);
                return;
        }
        const char *bad = bad_block(s, p);
        if (LA_UNLIKELY(bad != NULL))
                invalid_ptr("free", bad, p);
        if (s->kind == LA_SPAN_SMALL) {
                free_small(p, s);
                return;
        }
        if (s->kind == LA_SPAN_LARGE) {
                /* Parked for this thread's next one (lcache.h).  A heap that parks runs
                 * is a thread heap without fill (la_lcache_allowed): no junk to write. */
                la_heap_t *h = la_tls_heap;
                if (la_lcache_park(h, s)) {
                        la_account_thread(h, &h->deallocated_large, s->usize);
                        return;
                }
        }
        free_large(p, s); /* large or huge (bad_block let nothing else through) */
}

void la_sized_check(const void *p, const la_span_t *s, size_t size, int flags)
{
        const char *bad = bad_block(s, p);
        if (bad != NULL) /* the owner's fast path would not see it (8 bytes into a block) */
                invalid_ptr("free", bad, p);
        size_t have = s->kind == LA_SPAN_SMALL ? s->usable : s->usize;
        la_flags_t f = la_flags_decode(flags);
        if (la_s2u(size) == have || (f.align != 0 && la_sa2u(size, f.align) == have))
                return;
        char msg[160], num[24];
        la_strlcpy(msg, "sized free (sdallocx, sized delete): size mismatch (size ",
                   sizeof(msg));
        la_strlcat(msg, la_fmt_u64(num, size), sizeof(msg));
        la_strlcat(msg, " for a block of usable size ", sizeof(msg));
        la_strlcat(msg, la_fmt_u64(num, have), sizeof(msg));
        la_strlcat(msg, ")", sizeof(msg));
        la_fatal_ptr(msg, p);
}

void la_free_any(void *p)
{
        la_free_inline(p);
}

static size_t span_usize(const la_span_t *s)
{
        return s->kind == LA_SPAN_SMALL ? s->usable : s->usize;
}

size_t la_usable_size(const void *p)
{
        la_span_t *s = la_pm_lookup(p);
        if (s == NULL)
                return p != NULL && la_boot_owns(p) ? la_boot_usable(p) : 0;
        if (s->kind == LA_SPAN_SMALL)
                return s->usable;
        if ((s->kind == LA_SPAN_LARGE || s->kind == LA_SPAN_HUGE) && (uintptr_t)p == s->base)
                return s->usize;
        return 0;
}

size_t la_nalloc(size_t size, la_flags_t f)
{
        if (!la_ready())
                return 0;
        return f.align != 0 ? la_sa2u(size, f.align) : la_s2u(size);
}

/* Tries to satisfy the resize without moving; true if p now has usable size new_usize. */
static bool resize_in_place(void *p, la_span_t *s, size_t new_usize, size_t align, bool zero)
{
        if (align != 0 && ((uintptr_t)p & (align - 1)) != 0)
                return false;
        size_t old = span_usize(s);
        if (s->kind == LA_SPAN_SMALL || (s->prof_tctx != NULL && old <= LA_SMALL_MAX))
                return new_usize == old; /* a sampled small object has its own pages */
        if (new_usize <= LA_SMALL_MAX)
                return false;
        if (new_usize == old)
                return true;
        if (la_large_resize(s, new_usize, zero)) {
                if (LA_UNLIKELY(s->prof_tctx != NULL))
                        la_up.prof.resize(s, old, new_usize);
                return true;
        }
        return false;
}

/* A resize that kept the pointer counts, as in jemalloc, as an allocation of the new size
 * and a free of the old one (thread.allocated / thread.deallocated). */
static void account_resize(size_t old, size_t new_usize)
{
        la_heap_t *h = la_tls_heap;
        la_account_alloc(h, new_usize);
        la_account_dealloc(h, old);
}

void *la_realloc_flags(void *p, size_t size, la_flags_t f)
{
        la_span_t *s = la_pm_lookup(p);
        if (s == NULL || s->kind == LA_SPAN_FREE) {
                if (p != NULL && la_boot_owns(p)) {
                        void *q = la_alloc_flags(size, f);
                        if (q != NULL) {
                                size_t old = la_boot_usable(p);
                                memcpy(q, p, old < size ? old : size);
                        }
                        return q;
                }
                if (p != NULL)
                        la_foreign_ptr("realloc", p);
                return NULL; /* not ours: we cannot know its size */
        }
        const char *bad = bad_block(s, p);
        if (LA_UNLIKELY(bad != NULL))
                invalid_ptr("realloc", bad, p);
        if (f.align > LA_ALIGN_MAX)
                return NULL;
        size_t new_usize = f.align != 0 ? la_sa2u(size, f.align) : la_s2u(size);
        if (new_usize == 0)
                return NULL;
        size_t old = span_usize(s);
        if (resize_in_place(p, s, new_usize, f.align, f.zero)) {
                account_resize(old, new_usize);
                return p;
        }
        if (s->kind == LA_SPAN_HUGE && f.align <= LA_PAGE && new_usize > LA_SMALL_MAX &&
            new_usize >= la_opt.oversize_threshold) {
                void *q = la_huge_remap(s, new_usize);
                if (q != NULL) {
                        if (LA_UNLIKELY(s->prof_tctx != NULL))
                                la_up.prof.resize(s, old, new_usize);
                        account_resize(old, new_usize);
                        return q; /* mremap'd pages past the old end read as zero */
                }
        }
        void *q = la_alloc_flags(size, f);
        if (q == NULL)
                return NULL;
        memcpy(q, p, old < size ? old : size);
        if (f.zero && new_usize > old && q != NULL)
                memset((char *)q + old, 0, new_usize - old);
        la_free_any(p);
        return q;
}

size_t la_xalloc(void *p, size_t size, size_t extra, la_flags_t f)
{
        la_span_t *s = la_pm_lookup(p);
        if (s == NULL || s->kind == LA_SPAN_FREE)
                return 0;
        size_t old = span_usize(s);
        if (size > LA_LARGE_MAX)
                return old;
        if (extra > LA_LARGE_MAX - size)
                extra = LA_LARGE_MAX - size;
        size_t want_max = f.align != 0 ? la_sa2u(size + extra, f.align) : la_s2u(size + extra);
        size_t want_min = f.align != 0 ? la_sa2u(size, f.align) : la_s2u(size);
        if (want_min == 0)
                return old;
        if (s->kind == LA_SPAN_SMALL) {
                /* Small objects only "resize" within their class. */
                return old;
        }
        size_t got = old;
        if (want_max != 0 && resize_in_place(p, s, want_max, f.align, f.zero))
                got = want_max;
        else if (want_min != want_max && resize_in_place(p, s, want_min, f.align, f.zero))
                got = want_min;
        else
                return span_usize(s);
        if (got != old)
                account_resize(old, got); /* jemalloc counts a resize that changed size */
        return got;
}
