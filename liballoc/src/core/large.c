/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * large: page runs and standalone mappings.  Large runs register their first and last
 * page in the page map (free() and sallocx() are given the start; the last page lets a
 * freed neighbour coalesce); huge mappings register their first page only.
 */
#include "core/large.h"
#include "core/upcalls.h"

#include <string.h>

#include "core/conf.h"
#include "core/hcache.h"
#include "core/meta.h"
#include "os/os.h"
#include "core/pagemap.h"

static bool is_huge(la_arena_t *a, size_t usize)
{
        size_t t = atomic_load_explicit(&a->oversize_threshold, memory_order_relaxed);
        return t >= LA_LARGE_MIN && usize >= t;
}

static void huge_count(uint64_t *counter)
{
        __atomic_fetch_add(counter, 1, __ATOMIC_RELAXED);
}

/* A huge mapping resized in place or moved: a free of its old class and an allocation
 * of the new one, as far as the per-class counts go. */
static void huge_recount(la_arena_t *a, la_span_t *s, size_t new_usize)
{
        unsigned cls = la_size2cls(new_usize);
        if (cls == s->cls)
                return;
        huge_count(&a->stats.huge_ndalloc[s->cls - LA_NBINS]);
        huge_count(&a->stats.huge_nmalloc[cls - LA_NBINS]);
        s->cls = (uint8_t)cls;
}

static void *run_alloc(la_arena_t *a, size_t npages, size_t usize, unsigned cls, size_t align,
                       bool zero, bool grow);

static void *huge_alloc(la_arena_t *a, size_t usize, size_t align, bool zero)
{
        if (atomic_load_explicit(&a->keep_huge, memory_order_relaxed)) {
                /* The arena keeps freed huge mappings as dirty runs: reuse a free run
                 * that fits before mapping more. */
                void *p = run_alloc(a, usize >> 12, usize, la_size2cls(usize), align, zero,
                                    false);
                if (p != NULL)
                        return p;
        }
        /* A mapping the huge arena kept (hcache.h); not for calloc, whose fresh pages
         * read as zero without a memset. */
        la_span_t *s = align <= LA_PAGE && !zero ? la_hcache_take(a, usize) : NULL;
        void *p;
        if (s != NULL) {
                p = (void *)s->base;
        } else {
                s = la_span_new();
                if (s == NULL)
                        return NULL;
                p = la_os_map(usize, align > LA_PAGE ? align : LA_PAGE);
                if (p == NULL) {
                        la_span_delete(s);
                        return NULL;
                }
                atomic_fetch_add(&a->huge_mapped, usize);
        }
        s->kind = LA_SPAN_HUGE;
        la_span_set_arena(s, a);
        s->arena_ind = a->ind;
        s->base = (uintptr_t)p;
        s->npages = usize >> 12;
        s->usize = usize;
        s->map_size = usize;
        s->aligned = align > LA_PAGE;
        s->cls = (uint8_t)la_size2cls(usize);
        if (la_pm_set_ends(s->base, 1, s) != 0) {
                atomic_fetch_sub(&a->huge_mapped, usize);
                la_os_unmap(p, usize);
                la_span_delete(s);
                return NULL;
        }
        atomic_fetch_add(&a->huge_allocated, usize);
        atomic_fetch_add(&a->nmalloc_huge, 1);
        huge_count(&a->stats.huge_nmalloc[s->cls - LA_NBINS]);
        if (a->manual) {
                la_mutex_lock(&a->lock);
                la_arena_inuse_link_locked(a, s);
                la_mutex_unlock(&a->lock);
        }
        return p;
}

/* The hardened mode's guard page behind a large run (its last page, counted in npages):
 * made inaccessible once the run is set up, accessible again before the run is freed.
 * When the kernel refuses (out of memory maps), the page stays an unguarded spare. */
static void guard_on(la_span_t *s)
{
        void *g = (void *)(s->base + ((s->npages - 1) << 12));
        __atomic_store_n(&s->guarded, la_os_guard(g, LA_PAGE, true), __ATOMIC_RELAXED);
}

void la_large_unguard(la_span_t *s)
{
        if (__atomic_load_n(&s->guarded, __ATOMIC_RELAXED)) {
                la_os_guard((void *)(s->base + ((s->npages - 1) << 12)), LA_PAGE, false);
                __atomic_store_n(&s->guarded, 0, __ATOMIC_RELAXED);
        }
}

static __thread unsigned guard_tick __attribute__((tls_model("initial-exec")));

/* Whether the next large run of this thread gets a guard page: in the hardened mode, the
 * first of every LA_GUARD_EVERY (an mprotect pair per run costs too much on every one:
 * 50x on mixed-sizes). */
static bool guard_next(void)
{
        if (LA_LIKELY(!la_opt.hardened))
                return false;
        return guard_tick++ % LA_GUARD_EVERY == 0;
}

/* A page run of npages holding usize bytes, counted in large class cls. */
static void *run_alloc(la_arena_t *a, size_t npages, size_t usize, unsigned cls, size_t align,
                       bool zero, bool grow)
{
        bool zeroed, guard = guard_next();
        la_mutex_lock(&a->lock);
        la_span_t *s = grow ? la_arena_run_alloc_locked(a, npages + guard, align, &zeroed)
                            : la_arena_run_reuse_locked(a, npages + guard, align, &zeroed);
        if (s == NULL) {
                la_mutex_unlock(&a->lock);
                return NULL;
        }
        s->guarded = 0;
        s->kind = LA_SPAN_LARGE;
        __atomic_store_n(&s->owner, 0, __ATOMIC_RELAXED);
        s->usize = usize;
        s->cls = (uint8_t)cls;
        s->prof_tctx = NULL;
        if (la_pm_set_ends(s->base, s->npages, s) != 0) {
                la_arena_run_free_locked(a, s);
                la_mutex_unlock(&a->lock);
                return NULL;
        }
        la_arena_active_add_locked(a, s->npages);
        a->stats.large_allocated += usize;
        a->stats.nmalloc_large++;
        a->stats.lext_nmalloc[s->cls - LA_NBINS]++;
        la_arena_inuse_link_locked(a, s);
        la_arena_maybe_decay_locked(a);
        la_mutex_unlock(&a->lock);
        if (guard)
                guard_on(s);
        if (zero && !zeroed)
                memset((void *)s->base, 0, usize);
        return (void *)s->base;
}

void *la_large_alloc(la_arena_t *a, bool arena_explicit, size_t usize, size_t align, bool zero)
{
        if (is_huge(a, usize)) {
                la_arena_t *ha = arena_explicit ? a : la_arena_huge();
                return huge_alloc(ha != NULL ? ha : a, usize, align, zero);
        }
        return run_alloc(a, usize >> 12, usize, la_size2cls(usize), align, zero, true);
}

void *la_large_alloc_sampled_small(la_arena_t *a, size_t usize, size_t align, bool zero)
{
        return run_alloc(a, la_align_up(usize, LA_PAGE) >> 12, usize, LA_NBINS,
                         align > LA_PAGE ? align : 0, zero, true);
}

/* A freed huge mapping of an arena that keeps oversize frees (a decay time of -1, see
 * la_arena_keeps_oversize_locked): it becomes a dirty free run of the arena, a region of
 * its own, counted in pdirty, purged on the arena's decay curve (or by arena.<i>.purge /
 * decay) like any other dirty run and reused by the arena's later allocations.  As the
 * arena's regions, its address space stays reserved (jemalloc's retain:true); purging
 * returns the pages.  Otherwise it is unmapped at once, as jemalloc purges it.  Lock
 * held. */
static void huge_keep_locked(la_arena_t *a, la_span_t *s)
{
        a->stats.mapped += s->map_size;
        s->npages = s->map_size >> 12;
        s->region_lo = s->base;
        s->region_hi = s->base + s->map_size;
        s->usize = 0;
        s->map_size = 0;
        s->aligned = 0;
        s->prof_tctx = NULL;
        la_arena_run_free_locked(a, s);
}

/* A large run back to arena a, counted as a free. */
static void free_run(la_arena_t *a, la_span_t *s)
{
        la_large_unguard(s);
        la_mutex_lock(&a->lock);
        a->stats.pactive -= s->npages;
        a->stats.large_allocated -= s->usize;
        a->stats.ndalloc_large++;
        a->stats.lext_ndalloc[s->cls - LA_NBINS]++;
        la_arena_inuse_unlink_locked(a, s);
        la_arena_run_free_locked(a, s);
        la_mutex_unlock(&a->lock);
}

void la_large_free(la_span_t *s)
{
        if (LA_UNLIKELY(s->prof_tctx != NULL))
                la_up.prof.free(s);
        la_arena_t *a = s->arena;
        if (s->kind == LA_SPAN_HUGE) {
                /* The lock costs little next to munmap. */
                la_mutex_lock(&a->lock);
                la_arena_inuse_unlink_locked(a, s);
                atomic_fetch_sub(&a->huge_allocated, s->usize);
                atomic_fetch_add(&a->ndalloc_huge, 1);
                huge_count(&a->stats.huge_ndalloc[s->cls - LA_NBINS]);
                if (la_arena_keeps_oversize_locked(a)) {
                        atomic_fetch_sub(&a->huge_mapped, s->map_size);
                        huge_keep_locked(a, s);
                        la_mutex_unlock(&a->lock);
                        return;
                }
                /* Kept for the next huge allocation (hcache.h), else purged at once:
                 * counted as jemalloc counts its eager purge of an oversize extent (one
                 * madvise, its pages purged; no decay pass).  The decay step runs too, so
                 * that kept mappings age out while huge frees go on. */
                la_span_t *gone = la_hcache_put_locked(a, s);
                la_arena_maybe_decay_locked(a);
                la_mutex_unlock(&a->lock);
                la_hcache_unmap(gone);
                return;
        }
        free_run(a, s);
}

static bool huge_resize(la_span_t *s, size_t new_usize)
{
        la_arena_t *a = s->arena;
        if (new_usize <= s->map_size) {
                la_os_trim((void *)s->base, s->map_size, new_usize);
                atomic_fetch_sub(&a->huge_mapped, s->map_size - new_usize);
                s->map_size = new_usize;
        } else {
                if (!la_os_extend((void *)s->base, s->map_size, new_usize))
                        return false;
                atomic_fetch_add(&a->huge_mapped, new_usize - s->map_size);
                s->map_size = new_usize;
        }
        atomic_fetch_add(&a->huge_allocated, new_usize);
        atomic_fetch_sub(&a->huge_allocated, s->usize);
        s->usize = new_usize;
        s->npages = new_usize >> 12;
        huge_recount(a, s, new_usize);
        return true;
}

bool la_large_resize(la_span_t *s, size_t new_usize, bool zero)
{
        if (s->kind == LA_SPAN_HUGE)
                return is_huge(s->arena, new_usize) && huge_resize(s, new_usize);
        if (is_huge(s->arena, new_usize) || la_opt.hardened)
                return false; /* (hardened: the guard page stays where it is) */
        la_arena_t *a = s->arena;
        size_t old_pages = s->npages, new_pages = new_usize >> 12;
        la_mutex_lock(&a->lock);
        if (new_pages < old_pages) {
                la_span_t *t = la_arena_span_new_locked(a);
                if (t == NULL) {
                        la_mutex_unlock(&a->lock);
                        return false;
                }
                la_span_set_arena(t, a);
                t->arena_ind = a->ind;
                t->base = s->base + (new_pages << 12);
                t->npages = old_pages - new_pages;
                t->region_lo = s->region_lo;
                t->region_hi = s->region_hi;
                s->npages = new_pages;
                la_pm_set_ends(s->base, s->npages, s);
                a->stats.pactive -= t->npages;
                la_arena_run_free_locked(a, t);
        } else if (new_pages > old_pages) {
                uintptr_t end = s->base + (old_pages << 12);
                la_span_t *r = end < s->region_hi ? la_pm_lookup((void *)end) : NULL;
                size_t need = new_pages - old_pages;
                if (r == NULL || la_span_arena_seen(r) != a || r->kind != LA_SPAN_FREE ||
                    r->base != end ||
                    r->state >= LA_RUN_NSTATES || r->npages < need) {
                        la_mutex_unlock(&a->lock);
                        return false;
                }
                bool zeroed;
                la_span_t *got = la_arena_take_run_locked(a, r, need, &zeroed);
                if (got == NULL) {
                        la_mutex_unlock(&a->lock);
                        return false;
                }
                la_arena_span_delete_locked(a, got);
                s->npages = new_pages;
                la_pm_set_ends(s->base, s->npages, s);
                la_arena_active_add_locked(a, need);
                if (zero && !zeroed)
                        memset((void *)end, 0, need << 12);
        }
        a->stats.large_allocated += new_usize;
        a->stats.large_allocated -= s->usize;
        s->usize = new_usize;
        unsigned cls = la_size2cls(new_usize);
        if (cls != s->cls) {
                /* Counted as a free of the old class and an allocation of the new one. */
                a->stats.lext_ndalloc[s->cls - LA_NBINS]++;
                a->stats.lext_nmalloc[cls - LA_NBINS]++;
                s->cls = (uint8_t)cls;
        }
        la_mutex_unlock(&a->lock);
        return true;
}

void *la_huge_remap(la_span_t *s, size_t new_usize)
{
        if (s->aligned)
                return NULL;
        la_arena_t *a = s->arena;
        uintptr_t old = s->base;
        la_pm_set_ends(old, 1, NULL);
        void *p = la_os_remap((void *)old, s->map_size, new_usize);
        if (p == NULL) {
                la_pm_set_ends(old, 1, s);
                return NULL;
        }
        atomic_fetch_add(&a->huge_mapped, new_usize);
        atomic_fetch_sub(&a->huge_mapped, s->map_size);
        atomic_fetch_add(&a->huge_allocated, new_usize);
        atomic_fetch_sub(&a->huge_allocated, s->usize);
        s->base = (uintptr_t)p;
        s->map_size = new_usize;
        s->usize = new_usize;
        s->npages = new_usize >> 12;
        huge_recount(a, s, new_usize);
        la_pm_set_ends(s->base, 1, s);
        return p;
}
