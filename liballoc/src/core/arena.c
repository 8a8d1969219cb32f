/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * arena: page runs.  Free runs sit in size buckets per state (dirty, muzzy, clean) and, for
 * dirty and muzzy, in an age list the decay engine purges from the oldest end.  Freed runs
 * coalesce with free neighbours of the same state, found through the page map entries of
 * their first and last pages.  New address space comes from regions reserved with
 * MAP_NORESERVE that double in size (4 MiB ... 1 GiB); regions are never unmapped (jemalloc's
 * retain:true), so purged space is reused before new space is reserved.
 */
#include "core/arena.h"
#include "core/upcalls.h"

#include <errno.h>
#include <string.h>

#include "core/conf.h"
#include "core/large.h"
#include "os/probes.h"
#include "core/meta.h"
#include "os/os.h"
#include "core/pagemap.h"
#include "core/tcache.h"

#define REGION_MIN ((size_t)4 << 20)
#define REGION_MAX ((size_t)1 << 30)

la_arena_t *la_arenas[LA_MAX_ARENAS];
_Atomic unsigned la_narenas_total;
unsigned la_narenas_auto;
_Atomic ssize_t la_default_decay_ms[2];
static la_mutex_t arenas_lock; /* creation of arenas */

static unsigned bucket_of(size_t npages)
{
        if (npages <= 32)
                return (unsigned)npages - 1;
        unsigned lg = la_lg_floor(npages);
        unsigned b = 32 + (lg - 5) * 4 + (unsigned)((npages - ((size_t)1 << lg)) >> (lg - 2));
        return b < LA_RUN_NBUCKETS ? b : LA_RUN_NBUCKETS - 1;
}

/* ---- free-run bookkeeping ---------------------------------------------------------- */

/* Refreshes the lock-free copy of a's unpurged page count (steal_unpurged_locked). */
static void publish_unpurged(la_arena_t *a)
{
        atomic_store_explicit(&a->unpurged_hint,
                              a->npages[LA_RUN_DIRTY] + a->npages[LA_RUN_MUZZY],
                              memory_order_relaxed);
}

/* The *_locked functions' callers hold the arena lock. */
#define ASSERT_ARENA_LOCKED(a) LA_ASSERT_INTERNAL(la_mutex_held_by_me(&(a)->lock))

static void bin_insert(la_arena_t *a, la_span_t *s)
{
        LA_ASSERT_INTERNAL(s->kind == LA_SPAN_FREE && s->state < LA_RUN_NSTATES);
        unsigned b = bucket_of(s->npages);
        la_span_list_push(&a->bins[s->state][b], s);
        a->nonempty[s->state] |= (uint64_t)1 << b;
        a->npages[s->state] += s->npages;
        if (s->state != LA_RUN_CLEAN) {
                publish_unpurged(a);
                int q = s->state; /* 0 dirty, 1 muzzy */
                LA_SPAN_QUEUE_PUSH_TAIL(a->lru_head[q], a->lru_tail[q], s, lru_next, lru_prev);
        }
}

static void bin_remove(la_arena_t *a, la_span_t *s)
{
        unsigned b = bucket_of(s->npages);
        la_span_list_unlink(&a->bins[s->state][b], s);
        if (a->bins[s->state][b] == NULL)
                a->nonempty[s->state] &= ~((uint64_t)1 << b);
        a->npages[s->state] -= s->npages;
        if (s->state != LA_RUN_CLEAN) {
                publish_unpurged(a);
                int q = s->state;
                LA_SPAN_QUEUE_UNLINK(a->lru_head[q], a->lru_tail[q], s, lru_next, lru_prev);
        }
        s->lru_next = s->lru_prev = NULL;
}

static bool mergeable(la_arena_t *a, const la_span_t *n, uint8_t state)
{
        /* The arena first: a neighbour of another arena is that arena's to change. */
        return n != NULL && la_span_arena_seen(n) == a && n->kind == LA_SPAN_FREE &&
               n->state == state;
}

#define SPAN_CACHE_MAX 256

la_span_t *la_arena_span_new_locked(la_arena_t *a)
{
        la_span_t *s = a->span_cache;
        if (s == NULL)
                return la_span_new();
        a->span_cache = s->next;
        a->span_cache_n--;
        memset(s, 0, sizeof(*s));
        return s;
}

void la_arena_span_delete_locked(la_arena_t *a, la_span_t *s)
{
        if (a->span_cache_n >= SPAN_CACHE_MAX) {
                la_span_delete(s);
                return;
        }
        s->kind = LA_SPAN_FREE;
        s->npages = 0;
        s->base = 0;
        s->next = a->span_cache;
        a->span_cache = s;
        a->span_cache_n++;
}

/* Inserts free run s (kind FREE, state set), merging with free neighbours of its state. */
static void run_insert_coalesce(la_arena_t *a, la_span_t *s)
{
        if (s->base > s->region_lo) {
                la_span_t *l = la_pm_lookup((void *)(s->base - LA_PAGE));
                if (mergeable(a, l, s->state) && l->base + la_span_bytes(l) == s->base) {
                        bin_remove(a, l);
                        /* Its last page becomes an interior page: it must not name a
                         * descriptor that is about to be reused (its first page becomes
                         * s's, set below). */
                        if (l->npages > 1)
                                la_pm_clear_one(l->base + ((l->npages - 1) << 12));
                        s->base = l->base;
                        s->npages += l->npages;
                        la_arena_span_delete_locked(a, l);
                }
        }
        uintptr_t end = s->base + la_span_bytes(s);
        if (end < s->region_hi) {
                la_span_t *r = la_pm_lookup((void *)end);
                if (mergeable(a, r, s->state) && r->base == end) {
                        bin_remove(a, r);
                        if (r->npages > 1)
                                la_pm_clear_one(r->base); /* likewise its first page */
                        s->npages += r->npages;
                        la_arena_span_delete_locked(a, r);
                }
        }
        la_pm_set_ends(s->base, s->npages, s);
        bin_insert(a, s);
}

/* Splits the tail of s beyond npages off as a free run of the same state. */
static void split_tail(la_arena_t *a, la_span_t *s, size_t npages)
{
        if (s->npages == npages)
                return;
        la_span_t *t = la_arena_span_new_locked(a);
        if (t == NULL)
                return; /* keep the whole run: wasteful but correct */
        t->kind = LA_SPAN_FREE;
        t->state = s->state == LA_RUN_PURGING ? LA_RUN_DIRTY : s->state;
        la_span_set_arena(t, a);
        t->arena_ind = a->ind;
        t->base = s->base + (npages << 12);
        t->npages = s->npages - npages;
        t->region_lo = s->region_lo;
        t->region_hi = s->region_hi;
        t->freed_ns = s->freed_ns;
        s->npages = npages;
        la_pm_set_ends(t->base, t->npages, t);
        bin_insert(a, t);
}

static la_span_t *find_fit(la_arena_t *a, unsigned state, size_t npages)
{
        unsigned b = bucket_of(npages);
        for (la_span_t *s = a->bins[state][b]; s != NULL; s = s->next)
                if (s->npages >= npages)
                        return s;
        uint64_t mask = b + 1 < 64 ? a->nonempty[state] & ~(((uint64_t)2 << b) - 1) : 0;
        if (mask == 0)
                return NULL;
        return a->bins[state][__builtin_ctzll(mask)];
}

static la_span_t *grow_locked(la_arena_t *a, size_t npages, size_t align)
{
        size_t bytes = npages << 12;
        uintptr_t start = la_align_up(a->region_cur, align);
        if (a->region_cur == 0 || start + bytes > a->region_end || start < a->region_cur) {
                size_t size = a->next_region_size;
                size_t limit = atomic_load_explicit(&a->retain_grow_limit,
                                                    memory_order_relaxed);
                if (size > limit)
                        size = la_align_up(limit, LA_PAGE); /* arena.<i>.retain_grow_limit */
                while (size < bytes + align)
                        size <<= 1;
                void *m = la_os_map(size, align > LA_PAGE ? align : LA_PAGE);
                if (m == NULL) {
                        /* Retry with just what is needed. */
                        size = la_align_up(bytes, LA_PAGE);
                        m = la_os_map(size, align > LA_PAGE ? align : LA_PAGE);
                        if (m == NULL)
                                return NULL;
                }
                if (a->region_cur != 0 && a->region_cur < a->region_end) {
                        /* The unused tail of the old region becomes a clean free run. */
                        la_span_t *t = la_arena_span_new_locked(a);
                        if (t != NULL) {
                                t->kind = LA_SPAN_FREE;
                                t->state = LA_RUN_CLEAN;
                                la_span_set_arena(t, a);
                                t->arena_ind = a->ind;
                                t->base = a->region_cur;
                                t->npages = (a->region_end - a->region_cur) >> 12;
                                t->region_lo = a->region_lo;
                                t->region_hi = a->region_end;
                                a->stats.mapped += la_span_bytes(t);
                                run_insert_coalesce(a, t);
                        }
                }
                if (a->next_region_size < REGION_MAX)
                        a->next_region_size <<= 1;
                a->region_lo = a->region_cur = (uintptr_t)m;
                a->region_end = (uintptr_t)m + size;
                start = a->region_cur;
        }
        la_span_t *s = la_arena_span_new_locked(a);
        if (s == NULL)
                return NULL;
        if (start > a->region_cur) {
                /* Alignment gap: keep it as a clean run. */
                la_span_t *g = la_arena_span_new_locked(a);
                if (g != NULL) {
                        g->kind = LA_SPAN_FREE;
                        g->state = LA_RUN_CLEAN;
                        la_span_set_arena(g, a);
                        g->arena_ind = a->ind;
                        g->base = a->region_cur;
                        g->npages = (start - a->region_cur) >> 12;
                        g->region_lo = a->region_lo;
                        g->region_hi = a->region_end;
                        a->stats.mapped += la_span_bytes(g);
                        run_insert_coalesce(a, g);
                }
        }
        la_span_set_arena(s, a);
        s->arena_ind = a->ind;
        s->base = start;
        s->npages = npages;
        s->region_lo = a->region_lo;
        s->region_hi = a->region_end;
        s->state = LA_RUN_CLEAN;
        a->region_cur = start + bytes;
        a->stats.mapped += bytes;
        if (la_up.grew != NULL)
                la_up.grew(bytes);
        return s;
}

/* Takes a free run of `state` holding npages aligned to align out of a's bins (the lead
 * cut off for the alignment and the tail beyond npages stay free in a), or NULL. */
static la_span_t *take_fit_locked(la_arena_t *a, unsigned state, size_t npages, size_t align)
{
        size_t extra = align > LA_PAGE ? (align >> 12) - 1 : 0;
        la_span_t *s = find_fit(a, state, npages + extra);
        if (s == NULL)
                return NULL;
        bin_remove(a, s);
        uintptr_t start = la_align_up(s->base, align > LA_PAGE ? align : LA_PAGE);
        if (start != s->base) {
                /* Give the lead back as its own free run. */
                la_span_t *lead = la_arena_span_new_locked(a);
                if (lead == NULL) {
                        bin_insert(a, s);
                        return NULL;
                }
                *lead = *s;
                lead->npages = (start - s->base) >> 12;
                s->base = start;
                s->npages -= lead->npages;
                la_pm_set_ends(lead->base, lead->npages, lead);
                bin_insert(a, lead);
        }
        split_tail(a, s, npages);
        return s;
}

/* Whether arena a may take freed pages from the other automatic arenas and give them its
 * own: automatic arenas only (a manual arena's pages stay its own for arena.<i>.reset and
 * destroy; the huge arena holds only purged mappings). */
static bool shares_pages(const la_arena_t *a)
{
        return !a->manual && !a->huge && !a->destroyed;
}

/* Smallest run worth taking from another arena (64 KiB): a piece an arena takes cannot
 * coalesce with its neighbours any more (they stay the other arena's), so taking runs
 * fragments the regions; slab-sized runs are cheap to make anew.  docs/architecture.md
 * has the figures. */
#define STEAL_MIN_PAGES 16

/*
 * Pages another automatic arena freed and has not purged yet (dirty, then muzzy), moved to
 * a, for runs of STEAL_MIN_PAGES and more.  Each thread allocates from one arena, so with threads spread over many arenas the
 * pages one arena freed would otherwise sit unused until its decay purged them while its
 * neighbours touched new pages: under thread churn RSS grew with the number of arenas.
 * Never waits: an arena whose lock is busy, or whose hint says it has too few such pages,
 * is skipped.  The run becomes a's (its free neighbours stay the other arena's).
 */
static la_span_t *steal_unpurged_locked(la_arena_t *a, size_t npages, size_t align)
{
        if (npages < STEAL_MIN_PAGES || !shares_pages(a))
                return NULL;
        size_t want = npages + (align > LA_PAGE ? (align >> 12) - 1 : 0);
        unsigned n = la_narenas_auto;
        /* Twice round: a lock that was busy the first time is often free the second. */
        for (unsigned k = 1; k < 2 * n; k++) {
                if (k == n)
                        continue;
                la_arena_t *b = __atomic_load_n(&la_arenas[(a->ind + k) % n],
                                                __ATOMIC_ACQUIRE);
                if (b == NULL || b == a || !shares_pages(b) ||
                    atomic_load_explicit(&b->unpurged_hint, memory_order_relaxed) < want ||
                    !la_mutex_trylock(&b->lock))
                        continue;
                la_span_t *s = take_fit_locked(b, LA_RUN_DIRTY, npages, align);
                if (s == NULL)
                        s = take_fit_locked(b, LA_RUN_MUZZY, npages, align);
                if (s != NULL) {
                        /* Under both locks: b's coalescing must not take it back. */
                        la_span_set_arena(s, a);
                        s->arena_ind = a->ind;
                        b->stats.mapped -= la_span_bytes(s);
                        a->stats.mapped += la_span_bytes(s);
                }
                la_mutex_unlock(&b->lock);
                if (s != NULL)
                        return s;
        }
        return NULL;
}

la_span_t *la_arena_run_reuse_locked(la_arena_t *a, size_t npages, size_t align,
                                     bool *ret_zeroed)
{
        /* Pages that are resident already first: ours, then another arena's; clean pages
         * (purged or never touched) cost new RSS. */
        *ret_zeroed = false;
        la_span_t *s = take_fit_locked(a, LA_RUN_DIRTY, npages, align);
        if (s == NULL)
                s = take_fit_locked(a, LA_RUN_MUZZY, npages, align);
        if (s == NULL)
                s = steal_unpurged_locked(a, npages, align);
        if (s == NULL) {
                s = take_fit_locked(a, LA_RUN_CLEAN, npages, align);
                *ret_zeroed = true;
        }
        return s;
}

la_span_t *la_arena_run_alloc_locked(la_arena_t *a, size_t npages, size_t align,
                                     bool *ret_zeroed)
{
        ASSERT_ARENA_LOCKED(a);
        la_span_t *s = la_arena_run_reuse_locked(a, npages, align, ret_zeroed);
        if (s != NULL)
                return s;
        s = grow_locked(a, npages, align > LA_PAGE ? align : LA_PAGE);
        *ret_zeroed = true;
        return s;
}

la_span_t *la_arena_take_run_locked(la_arena_t *a, la_span_t *r, size_t npages,
                                    bool *ret_zeroed)
{
        if (r->kind != LA_SPAN_FREE || r->state >= LA_RUN_NSTATES || r->npages < npages)
                return NULL;
        *ret_zeroed = r->state == LA_RUN_CLEAN;
        bin_remove(a, r);
        split_tail(a, r, npages);
        return r;
}

/* ---- purging ----------------------------------------------------------------------- */

/* Purges runs of state `from` (dirty or muzzy) down to `limit` pages, oldest first.  Drops
 * the lock around madvise. */
static void purge_locked(la_arena_t *a, int from, size_t limit)
{
        if (a->npages[from] <= limit)
                return;
        la_span_t *list = NULL;
        size_t npurged = 0, nruns = 0;
        while (a->npages[from] > limit && a->lru_head[from] != NULL) {
                la_span_t *s = a->lru_head[from];
                bin_remove(a, s);
                s->state = LA_RUN_PURGING;
                s->next = list;
                list = s;
                npurged += s->npages;
                nruns++;
        }
        bool lazy = from == LA_RUN_DIRTY && a->decay[1].ms != 0;
        la_mutex_unlock(&a->lock);
        for (la_span_t *s = list; s != NULL; s = s->next) {
                if (lazy)
                        la_os_purge_lazy((void *)s->base, la_span_bytes(s));
                else
                        la_os_purge_forced((void *)s->base, la_span_bytes(s));
        }
        LA_PROBE3(purge, a->ind, (uint64_t)npurged << 12, lazy ? 1 : 0);
        la_mutex_lock(&a->lock);
        a->stats.npurge[from]++;
        a->stats.nmadvise[from] += nruns;
        a->stats.purged[from] += npurged;
        uint64_t now = la_os_coarse_ns();
        while (list != NULL) {
                la_span_t *s = list;
                list = s->next;
                s->state = lazy ? LA_RUN_MUZZY : LA_RUN_CLEAN;
                s->freed_ns = now;
                run_insert_coalesce(a, s);
        }
}

static void sweep_abandoned_locked(la_arena_t *a);

#define SWEEP_INTERVAL_NS 1000000000ull

static void decay_locked(la_arena_t *a, bool all)
{
        uint64_t now = la_os_coarse_ns();
        /* Abandoned slabs that other threads' frees emptied go back first, so that their
         * pages decay with the rest: at every purge of everything, else once a second (the
         * walk visits every abandoned slab). */
        if (all || now >= a->sweep_next_ns) {
                a->sweep_next_ns = now + SWEEP_INTERVAL_NS;
                sweep_abandoned_locked(a);
        }
        for (int q = 0; q < 2; q++) {
                if (all) {
                        purge_locked(a, q, 0);
                        la_decay_purged(&a->decay[q], a->npages[q]);
                        continue;
                }
                size_t limit = la_decay_limit(&a->decay[q], now, a->npages[q]);
                purge_locked(a, q, limit);
                la_decay_purged(&a->decay[q], a->npages[q]);
        }
        uint64_t step = a->decay[0].interval_ns;
        if (a->decay[1].interval_ns != 0 && (step == 0 || a->decay[1].interval_ns < step))
                step = a->decay[1].interval_ns;
        /* The huge arena's kept mappings (hcache.h), on their own curve. */
        la_span_t *gone = la_hcache_decay_locked(a, now, all);
        if (a->hcache.n != 0) {
                uint64_t hstep = a->hcache.decay.interval_ns;
                if (hstep != 0 && (step == 0 || hstep < step))
                        step = hstep;
        }
        a->decay_next_ns = step != 0 ? now + step : UINT64_MAX;
        if (gone != NULL) {
                la_mutex_unlock(&a->lock);
                la_hcache_unmap(gone);
                la_mutex_lock(&a->lock);
        }
}

void la_arena_huge_tick(void)
{
        la_arena_t *a = la_arena_get(la_narenas_auto, false);
        if (a == NULL || la_hcache_pages(&a->hcache) == 0 ||
            la_os_coarse_ns() < __atomic_load_n(&a->decay_next_ns, __ATOMIC_RELAXED))
                return;
        la_arena_decay(a, false);
}

void la_arena_maybe_decay_locked(la_arena_t *a)
{
        if (a->decay[0].ms == 0 || (a->decay[1].ms == 0 && a->npages[LA_RUN_MUZZY] != 0)) {
                decay_locked(a, false);
                return;
        }
        if (a->decay_next_ns == UINT64_MAX)
                return;
        uint64_t now = la_os_coarse_ns();
        /* File newly unused pages under the epoch they were freed in, not the epoch of the
         * next purge decision (which may come much later). */
        la_decay_update(&a->decay[0], now, a->npages[LA_RUN_DIRTY]);
        la_decay_update(&a->decay[1], now, a->npages[LA_RUN_MUZZY]);
        if (now >= a->decay_next_ns)
                decay_locked(a, false);
}

/*
 * An arena left without threads keeps only what its threads last needed.  Under thread
 * churn the unpurged pages an arena holds are its working set, taken and freed again by
 * every thread, so the decay curve (which counts each free as new) never lets them go;
 * and because requests do not always fit the pieces they come in, each arena touched a
 * fresh run now and then and its pool only grew (thread-churn: +1.0-1.6 MiB between
 * 10,000 and 200,000 threads, none of it ever purged; docs/performance.md).  jemalloc
 * purges everything when an arena's last thread leaves (six times slower under churn);
 * here the pages beyond the most in use since the last trim go, oldest first, at most
 * every TRIM_INTERVAL_NS, so that a churning program pays a purge per arena per interval
 * at most.  Not for decay_ms -1 (never) or 0 (purged at once already).
 */
#define TRIM_INTERVAL_NS 100000000ull

void la_arena_trim_idle(la_arena_t *a)
{
        la_mutex_lock(&a->lock);
        uint64_t now = la_os_coarse_ns();
        if (now >= a->trim_next_ns && a->decay[0].ms > 0) {
                a->trim_next_ns = now + TRIM_INTERVAL_NS;
                if (a->npages[LA_RUN_DIRTY] > a->active_peak) {
                        purge_locked(a, LA_RUN_DIRTY, a->active_peak);
                        la_decay_purged(&a->decay[0], a->npages[LA_RUN_DIRTY]);
                }
                a->active_peak = a->stats.pactive;
        }
        la_mutex_unlock(&a->lock);
}

void la_arena_decay(la_arena_t *a, bool all)
{
        la_mutex_lock(&a->lock);
        decay_locked(a, all);
        la_mutex_unlock(&a->lock);
}

size_t la_arena_purge_all(la_arena_t *a)
{
        la_mutex_lock(&a->lock);
        size_t n = a->npages[LA_RUN_DIRTY] + a->npages[LA_RUN_MUZZY] + a->hcache.pages;
        decay_locked(a, true);
        la_mutex_unlock(&a->lock);
        return n;
}

/* la_arena_run_free_locked without the decay step (which may drop the lock to purge). */
static void run_free_nodecay(la_arena_t *a, la_span_t *s)
{
        /* A slab, a large run, a huge mapping the arena keeps, or a run just taken from
         * the bins (an allocation that failed half-way): a's, and never still in a bin. */
        LA_ASSERT_INTERNAL(la_span_arena_seen(s) == a);
        LA_ASSERT_EXPENSIVE(s->kind != LA_SPAN_FREE || s->state >= LA_RUN_NSTATES ||
                            !la_span_listed(a->bins[s->state][bucket_of(s->npages)], s));
        s->kind = LA_SPAN_FREE;
        s->state = LA_RUN_DIRTY;
        __atomic_store_n(&s->owner, 0, __ATOMIC_RELAXED);
        s->freed_ns = 0;
        run_insert_coalesce(a, s);
}

void la_arena_run_free_locked(la_arena_t *a, la_span_t *s)
{
        ASSERT_ARENA_LOCKED(a);
        run_free_nodecay(a, s);
        la_arena_maybe_decay_locked(a);
}

int la_arena_set_decay_ms(la_arena_t *a, int which, ssize_t ms)
{
        if (!la_decay_ms_valid(ms))
                return -EINVAL;
        la_mutex_lock(&a->lock);
        /* As in jemalloc, a new decay time restarts the curve from what is unused now, and
         * the arena then purges according to the new setting. */
        la_decay_init(&a->decay[which], ms, la_os_coarse_ns(), a->npages[which]);
        atomic_store_explicit(&a->keep_huge, la_arena_keeps_oversize_locked(a),
                              memory_order_relaxed);
        if (ms == 0)
                purge_locked(a, which, 0);
        a->decay_next_ns = 0;
        la_arena_maybe_decay_locked(a);
        la_mutex_unlock(&a->lock);
        return 0;
}

ssize_t la_arena_get_decay_ms(la_arena_t *a, int which)
{
        return a->decay[which].ms;
}

/* ---- slabs ------------------------------------------------------------------------- */

void la_arena_inuse_link_locked(la_arena_t *a, la_span_t *s)
{
        if (!a->manual)
                return;
        s->lru_prev = NULL;
        s->lru_next = a->inuse;
        if (a->inuse != NULL)
                a->inuse->lru_prev = s;
        a->inuse = s;
}

void la_arena_inuse_unlink_locked(la_arena_t *a, la_span_t *s)
{
        if (!a->manual)
                return;
        if (s->lru_prev != NULL)
                s->lru_prev->lru_next = s->lru_next;
        else
                a->inuse = s->lru_next;
        if (s->lru_next != NULL)
                s->lru_next->lru_prev = s->lru_prev;
        s->lru_next = s->lru_prev = NULL;
}

/* The abandoned lists of a (lock held), with their counts: per class (stats) and in all
 * (abandoned_hint, which thread heaps read without the lock). */
static void abandoned_push_locked(la_arena_t *a, la_span_t *s)
{
        la_span_list_push(&a->abandoned[s->cls], s);
        a->stats.abandoned_n[s->cls]++;
        atomic_fetch_add_explicit(&a->abandoned_hint, 1, memory_order_relaxed);
}

static void abandoned_unlink_locked(la_arena_t *a, la_span_t *s)
{
        la_span_list_unlink(&a->abandoned[s->cls], s);
        a->stats.abandoned_n[s->cls]--;
        atomic_fetch_sub_explicit(&a->abandoned_hint, 1, memory_order_relaxed);
}

static la_span_t *slab_adopt_locked(la_arena_t *a, la_heap_t *h, unsigned c)
{
        la_span_t *s = a->abandoned[c];
        if (s == NULL)
                return NULL;
        LA_ASSERT_INTERNAL(s->kind == LA_SPAN_SMALL && s->cls == c && s->owner == 0);
        abandoned_unlink_locked(a, s);
        a->stats.reslabs[c]++;
        __atomic_store_n(&s->owner, la_heap_id(h), __ATOMIC_RELAXED);
        return s;
}

la_span_t *la_arena_slab_get_locked(la_arena_t *a, la_heap_t *h, unsigned c, bool adopt)
{
        ASSERT_ARENA_LOCKED(a);
        la_span_t *s = adopt ? slab_adopt_locked(a, h, c) : NULL;
        if (s != NULL)
                return s;
        const la_bin_info_t *bi = &la_bin_info[c];
        bool zeroed;
        s = la_arena_run_alloc_locked(a, bi->slab_size >> 12, LA_PAGE, &zeroed);
        if (s == NULL)
                return NULL;
        if (la_pm_set_range(s->base, s->npages, s) != 0) {
                la_arena_run_free_locked(a, s);
                return NULL;
        }
        s->kind = LA_SPAN_SMALL;
        s->retired = 0;
        s->cls = (uint8_t)c;
        __atomic_store_n(&s->owner, la_heap_id(h), __ATOMIC_RELAXED);
        s->local_free = NULL;
        atomic_store_explicit(&s->thread_free, NULL, memory_order_relaxed);
        s->used = 0;
        la_span_set_capacity(s, 0);
        s->nregs = bi->nregs;
        s->block_size = bi->size;
        s->usable = (uint32_t)la_cls_size[c];
        s->zeroed = zeroed;
        la_arena_active_add_locked(a, s->npages);
        a->stats.nslabs++;
        a->stats.slabs_cur[c]++;
        a->stats.slabs_total[c]++;
        la_arena_inuse_link_locked(a, s);
        return s;
}

/* la_arena_slab_release_locked without the decay step. */
static void slab_release_nodecay(la_arena_t *a, la_span_t *s)
{
        LA_ASSERT(s->kind == LA_SPAN_SMALL);
        a->stats.pactive -= s->npages;
        a->stats.nslabs--;
        a->stats.slabs_cur[s->cls]--;
        la_arena_inuse_unlink_locked(a, s);
        /* Interior pages forget s (coalescing needs only the ends, which the free run sets
         * again): a late free of one of its blocks then finds no span and is reported,
         * instead of landing on whatever span this descriptor describes next. */
        if (s->npages > 2)
                la_pm_set_range(s->base + LA_PAGE, s->npages - 2, NULL);
        run_free_nodecay(a, s);
}

void la_arena_slab_release_locked(la_arena_t *a, la_span_t *s)
{
        ASSERT_ARENA_LOCKED(a);
        slab_release_nodecay(a, s);
        la_arena_maybe_decay_locked(a);
}

/* Moves the blocks other threads freed into abandoned (or being abandoned) slab s onto its
 * local list; true when s is empty now. */
static bool abandoned_collect(la_span_t *s)
{
        la_span_collect_remote(s);
        return s->used == 0;
}

void la_arena_slab_abandon_locked(la_arena_t *a, la_span_t *s)
{
        ASSERT_ARENA_LOCKED(a);
        LA_ASSERT_EXPENSIVE(!la_span_listed(a->abandoned[s->cls], s));
        __atomic_store_n(&s->owner, 0, __ATOMIC_RELAXED);
        /* Remote frees may still arrive; collect what is there now. */
        if (abandoned_collect(s)) {
                la_arena_slab_release_locked(a, s);
                return;
        }
        abandoned_push_locked(a, s);
}

/* Gives back the abandoned slabs whose last blocks other threads have freed since: no
 * heap owns them, so nothing else would until a heap of their class adopts them. */
static void sweep_abandoned_locked(la_arena_t *a)
{
        for (unsigned c = 0; c < LA_NBINS; c++) {
                la_span_t *s = a->abandoned[c];
                while (s != NULL) {
                        la_span_t *next = s->next;
                        if (abandoned_collect(s)) {
                                abandoned_unlink_locked(a, s);
                                slab_release_nodecay(a, s); /* keeps the lock */
                        }
                        s = next;
                }
        }
}

/* ---- arena objects ----------------------------------------------------------------- */

static la_arena_t *arena_new(unsigned ind)
{
        la_arena_t *a = la_meta_alloc(sizeof(la_arena_t), LA_CACHELINE);
        la_heap_t *shared = la_meta_alloc(sizeof(la_heap_t), LA_CACHELINE);
        if (a == NULL || shared == NULL)
                return NULL;
        la_mutex_init_ranked(&a->lock, "arena", LA_RANK_ARENA);
        a->ind = ind;
        a->next_region_size = REGION_MIN;
        uint64_t now = la_os_coarse_ns();
        a->huge = ind == la_narenas_auto;
        for (int q = 0; q < 2; q++) {
                /* As jemalloc, the huge arena purges at once unless the default says
                 * never (-1) or at once anyway. */
                ssize_t ms = atomic_load(&la_default_decay_ms[q]);
                if (a->huge && ms > 0)
                        ms = 0;
                la_decay_init(&a->decay[q], ms, now, 0);
        }
        atomic_store(&a->keep_huge, la_arena_keeps_oversize_locked(a));
        a->decay_next_ns = 0;
        a->created_ns = la_os_now_ns(); /* uptime: the precise clock */
        a->dss = la_opt.dss;
        atomic_store(&a->oversize_threshold, la_opt.oversize_threshold);
        atomic_store(&a->retain_grow_limit, (size_t)REGION_MAX);
        la_heap_init(shared, a, LA_HEAP_SHARED);
        a->shared = shared;
        return a;
}

void la_arenas_boot(void);
void la_arenas_boot(void)
{
        la_mutex_init_ranked(&arenas_lock, "arena creation", LA_RANK_ARENAS);
        atomic_store(&la_default_decay_ms[0], la_opt.dirty_decay_ms);
        atomic_store(&la_default_decay_ms[1], la_opt.muzzy_decay_ms);
        la_narenas_auto = la_opt.narenas;
        atomic_store(&la_narenas_total, la_narenas_auto + 1);
}

la_arena_t *la_arena_get(unsigned ind, bool create)
{
        if (ind >= LA_MAX_ARENAS)
                return NULL;
        la_arena_t *a = __atomic_load_n(&la_arenas[ind], __ATOMIC_ACQUIRE);
        if (a != NULL && __atomic_load_n(&a->destroyed, __ATOMIC_ACQUIRE))
                return NULL;
        if (a != NULL || !create)
                return a;
        if (ind >= atomic_load(&la_narenas_total))
                return NULL;
        la_mutex_lock(&arenas_lock);
        a = la_arenas[ind];
        if (a == NULL) {
                a = arena_new(ind);
                if (a != NULL)
                        __atomic_store_n(&la_arenas[ind], a, __ATOMIC_RELEASE);
        }
        la_mutex_unlock(&arenas_lock);
        return a;
}

/* Brings a destroyed arena back as a new manual one: its memory (free runs) is kept, its
 * counters start again. */
static void arena_reincarnate(la_arena_t *a)
{
        la_mutex_lock(&a->lock);
        uint64_t now = la_os_coarse_ns();
        la_arena_stats_t *st = &a->stats;
        for (int q = 0; q < 2; q++) {
                st->npurge[q] = st->nmadvise[q] = st->purged[q] = 0;
                la_decay_init(&a->decay[q], atomic_load(&la_default_decay_ms[q]), now,
                              a->npages[q]);
        }
        atomic_store(&a->keep_huge, la_arena_keeps_oversize_locked(a));
        st->nmalloc_large = st->ndalloc_large = 0;
        memset(st->slabs_total, 0, sizeof(st->slabs_total));
        memset(st->reslabs, 0, sizeof(st->reslabs));
        memset(st->lext_nmalloc, 0, sizeof(st->lext_nmalloc));
        memset(st->lext_ndalloc, 0, sizeof(st->lext_ndalloc));
        memset(st->huge_nmalloc, 0, sizeof(st->huge_nmalloc));
        memset(st->huge_ndalloc, 0, sizeof(st->huge_ndalloc));
        memset(a->retired, 0, sizeof(a->retired));
        memset(a->reset_ndalloc, 0, sizeof(a->reset_ndalloc));
        for (unsigned c = 0; c < LA_NBINS; c++)
                atomic_store(&a->orphan_ndalloc[c], 0);
        atomic_store(&a->nmalloc_huge, 0);
        atomic_store(&a->ndalloc_huge, 0);
        la_heap_init(a->shared, a, LA_HEAP_SHARED);
        a->created_ns = la_os_now_ns(); /* uptime: the precise clock */
        a->dss = la_opt.dss;
        atomic_store(&a->oversize_threshold, la_opt.oversize_threshold);
        __atomic_store_n(&a->destroyed, false, __ATOMIC_RELEASE);
        la_mutex_unlock(&a->lock);
}

int la_arena_create(unsigned *ret_ind)
{
        la_mutex_lock(&arenas_lock);
        unsigned total = atomic_load(&la_narenas_total);
        for (unsigned i = la_narenas_auto + 1; i < total; i++) {
                la_arena_t *d = la_arenas[i];
                if (d != NULL && __atomic_load_n(&d->destroyed, __ATOMIC_ACQUIRE)) {
                        arena_reincarnate(d); /* jemalloc reuses destroyed indices first */
                        la_mutex_unlock(&arenas_lock);
                        *ret_ind = i;
                        return 0;
                }
        }
        unsigned ind = total;
        la_arena_t *a = ind < LA_MAX_ARENAS ? arena_new(ind) : NULL;
        if (a == NULL) {
                la_mutex_unlock(&arenas_lock);
                return -EAGAIN;
        }
        a->manual = true;
        __atomic_store_n(&la_arenas[ind], a, __ATOMIC_RELEASE);
        atomic_store(&la_narenas_total, ind + 1);
        la_mutex_unlock(&arenas_lock);
        *ret_ind = ind;
        return 0;
}

/* The least loaded automatic arena (the first never used, if any); *load: its count of
 * threads as seen. */
static unsigned least_loaded(unsigned *load)
{
        unsigned best = 0, best_load = UINT32_MAX;
        for (unsigned i = 0; i < la_narenas_auto; i++) {
                la_arena_t *a = __atomic_load_n(&la_arenas[i], __ATOMIC_ACQUIRE);
                unsigned n = a != NULL ? atomic_load(&a->nthreads) : 0;
                if (n < best_load) {
                        best = i;
                        best_load = n;
                        if (n == 0)
                                break;
                }
        }
        *load = best_load;
        return best;
}

la_arena_t *la_arena_choose(void)
{
        unsigned load;
        la_arena_t *a = la_arena_get(least_loaded(&load), true);
        return a != NULL ? a : la_arena_get(0, true);
}

/* The choice and the claim are one compare-and-swap of the count the choice saw: threads
 * that start together would otherwise all see the same arena idle (between a choice and
 * its increment lies the arena's creation) and share it, while others stay unused. */
la_arena_t *la_arena_choose_claim(void)
{
        for (unsigned tries = 0;; tries++) {
                unsigned load;
                la_arena_t *a = la_arena_get(least_loaded(&load), true);
                if (a == NULL) { /* it could not be made: the first arena, as la_arena_choose */
                        if ((a = la_arena_get(0, true)) != NULL)
                                atomic_fetch_add(&a->nthreads, 1);
                        return a;
                }
                if (tries >= 16) { /* a storm of new threads: any arena will do */
                        atomic_fetch_add(&a->nthreads, 1);
                        return a;
                }
                if (atomic_compare_exchange_strong(&a->nthreads, &load, load + 1))
                        return a;
        }
}

la_arena_t *la_arena_huge(void)
{
        return la_arena_get(la_narenas_auto, true);
}

void la_arenas_prefork(void)
{
        la_mutex_prefork(&arenas_lock);
        unsigned n = atomic_load(&la_narenas_total);
        for (unsigned i = 0; i < n; i++)
                if (la_arenas[i] != NULL)
                        la_mutex_prefork(&la_arenas[i]->lock);
}

void la_arenas_postfork_parent(void)
{
        unsigned n = atomic_load(&la_narenas_total);
        for (unsigned i = n; i-- > 0;)
                if (la_arenas[i] != NULL)
                        la_mutex_postfork_parent(&la_arenas[i]->lock);
        la_mutex_postfork_parent(&arenas_lock);
}

void la_arenas_postfork_child(void)
{
        unsigned n = atomic_load(&la_narenas_total);
        for (unsigned i = 0; i < n; i++) {
                if (la_arenas[i] != NULL) {
                        la_mutex_postfork_child(&la_arenas[i]->lock);
                        atomic_store(&la_arenas[i]->nthreads, 0);
                }
        }
        la_mutex_postfork_child(&arenas_lock);
}

/* ---- arena.<i>.reset / destroy ------------------------------------------------------ */

/* Drops every list of the arena's shared heap, counting the blocks cached in its free
 * lists out of their slabs' live counts. */
static void shared_heap_discard_locked(la_arena_t *a)
{
        la_heap_t *sh = a->shared;
        for (unsigned c = 0; c < LA_NBINS; c++) {
                for (la_block_t *b = sh->fl[c]; b != NULL; b = la_block_next(b))
                        sh->cur[c]->used--;
                sh->fl[c] = NULL;
                sh->cur[c] = NULL;
                sh->partial[c] = NULL;
                sh->full[c] = sh->full_tail[c] = NULL;
        }
        atomic_store_explicit(&sh->notified, NULL, memory_order_relaxed);
}

int la_arena_reset(unsigned ind, bool destroy)
{
        la_arena_t *a = la_arena_get(ind, false);
        if (a == NULL || !a->manual)
                return -EFAULT; /* automatic arenas cannot be reset (as in jemalloc) */
        if (atomic_load(&a->nthreads) != 0 || la_tcache_count_bound(ind) != 0)
                return -EFAULT; /* a thread or cache still owns slabs of it */
        la_span_t *huge = NULL;
        la_mutex_lock(&a->lock);
        la_harden_forget_locked(a);
        shared_heap_discard_locked(a);
        for (unsigned c = 0; c < LA_NBINS; c++) {
                a->abandoned[c] = NULL;
                a->stats.abandoned_n[c] = 0;
        }
        atomic_store_explicit(&a->abandoned_hint, 0, memory_order_relaxed);
        la_span_t *s;
        while ((s = a->inuse) != NULL) {
                switch (s->kind) {
                case LA_SPAN_SMALL: {
                        la_block_t *tf = atomic_exchange(&s->thread_free, NULL);
                        for (; tf != NULL; tf = la_block_next(tf))
                                s->used--;
                        a->reset_ndalloc[s->cls] += s->used;
                        la_arena_slab_release_locked(a, s);
                        break;
                }
                case LA_SPAN_LARGE:
                        if (s->prof_tctx != NULL)
                                la_up.prof.free(s);
                        la_large_unguard(s);
                        la_arena_inuse_unlink_locked(a, s);
                        a->stats.pactive -= s->npages;
                        a->stats.large_allocated -= s->usize;
                        a->stats.ndalloc_large++;
                        a->stats.lext_ndalloc[s->cls - LA_NBINS]++;
                        la_arena_run_free_locked(a, s);
                        break;
                default: /* huge: freed below, without the lock */
                        la_arena_inuse_unlink_locked(a, s);
                        s->lru_next = huge;
                        huge = s;
                        break;
                }
        }
        la_mutex_unlock(&a->lock);
        while (huge != NULL) {
                la_span_t *next = huge->lru_next;
                huge->lru_next = NULL;
                la_mutex_lock(&a->lock);
                la_arena_inuse_link_locked(a, huge); /* la_large_free unlinks it */
                la_mutex_unlock(&a->lock);
                la_large_free(huge);
                huge = next;
        }
        if (destroy) {
                la_arena_decay(a, true);
                if (la_up.arena_destroyed != NULL)
                        la_up.arena_destroyed(ind);
                __atomic_store_n(&a->destroyed, true, __ATOMIC_RELEASE);
        }
        return 0;
}
