/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * stats: the epoch snapshot.  Definitions follow jemalloc: allocated = live usable bytes;
 * active = pages of slabs and large/huge allocations; resident = active + dirty pages +
 * metadata (an upper bound); mapped = active + dirty + muzzy + metadata; retained =
 * reserved address space handed back to the OS (clean runs).
 *
 * Small-class counts come from the heaps: a heap counts what it allocated and freed in its
 * own arena; a block freed by a thread of another arena, or by a thread with no heap, is
 * counted out in its slab's arena (orphan_ndalloc).  So each block is counted in and out
 * in the same arena and the per-arena curregs is exact, as in jemalloc (the clamp at zero
 * only guards against the racy reads of other threads' counters).
 */
#include "stats/stats.h"

#include <stdatomic.h>
#include <string.h>

#include "core/arena.h"
#include "bg/bg.h"
#include "core/conf.h"
#include "core/meta.h"
#include "os/os.h"
#include "core/thread.h"

const char *const la_gmutex_names[LA_NGMUTEXES] = {
        "background_thread", "max_per_bg_thd", "ctl",
        "prof", "prof_thds_data", "prof_dump",
        "prof_recent_alloc", "prof_recent_dump", "prof_stats",
};
const char *const la_amutex_names[LA_NAMUTEXES] = {
        "large", "extent_avail", "extents_dirty", "extents_muzzy",
        "extents_retained", "decay_dirty", "decay_muzzy", "base",
        "tcache_list", "hpa_shard", "hpa_shard_grow", "hpa_sec",
};

static la_stats_snapshot_t snap;
static la_arena_snap_t *arena_snaps[LA_MAX_ARENAS]; /* NULL: not initialised at refresh */
static la_arena_snap_t *arena_bufs[LA_MAX_ARENAS];  /* buffers, kept once made */
static la_arena_snap_t merged, destroyed;
static bool any_destroyed;
static uint64_t epoch; /* 1 after the first refresh, which the first mallctl call makes */
static _Atomic uint64_t zero_reallocs;
static la_mutex_t *ctl_mutex; /* the mallctl tree's (ctl/), which stats reports and resets */

LA_BOOT void la_stats_set_ctl_mutex(la_mutex_t *m)
{
        ctl_mutex = m;
}

void la_stats_zero_realloc(void)
{
        atomic_fetch_add_explicit(&zero_reallocs, 1, memory_order_relaxed);
}

/* Index of the largest page-size class <= npages pages. */
static unsigned psz_index(size_t npages)
{
        size_t bytes = npages << 12;
        if (bytes < LA_LARGE_MIN)
                return (unsigned)(npages - 1); /* 4, 8, 12 KiB */
        unsigned c = la_size2cls(bytes);
        if (la_cls_size[c] > bytes)
                c--;
        return 3 + (c - LA_NBINS);
}

static void mutex_add(la_mutex_prof_t *d, const la_mutex_prof_t *s)
{
        d->num_ops += s->num_ops;
        d->num_wait += s->num_wait;
        d->num_spin_acq += s->num_spin_acq;
        d->num_owner_switch += s->num_owner_switch;
        d->total_wait_time += s->total_wait_time;
        if (s->max_wait_time > d->max_wait_time)
                d->max_wait_time = s->max_wait_time;
        if (s->max_num_thds > d->max_num_thds)
                d->max_num_thds = s->max_num_thds;
}

/* Large runs parked in thread heaps and taken back (lcache.h), per class: each parking a
 * free, each taking back an allocation. */
static void add_parked(la_arena_snap_t *as, const uint64_t *nmalloc, const uint64_t *ndalloc)
{
        for (unsigned k = 0; k < LA_LCACHE_NCLS; k++) {
                uint64_t m = __atomic_load_n(&nmalloc[k], __ATOMIC_RELAXED);
                uint64_t d = __atomic_load_n(&ndalloc[k], __ATOMIC_RELAXED);
                as->lext[k].nmalloc += m;
                as->lext[k].ndalloc += d;
                as->large_allocated += (m - d) * la_cls_size[LA_NBINS + k]; /* mod 2^64 */
        }
}

/* Arena-side figures, under the arena lock. */
static void read_arena(la_arena_t *a, la_arena_snap_t *as, uint64_t now)
{
        memset(as, 0, sizeof(*as));
        la_mutex_lock(&a->lock);
        const la_arena_stats_t *st = &a->stats;
        as->pactive = st->pactive;
        as->pdirty = a->npages[LA_RUN_DIRTY] + a->hcache.pages; /* kept huge mappings */
        as->pmuzzy = a->npages[LA_RUN_MUZZY];
        size_t clean = a->npages[LA_RUN_CLEAN] << 12;
        as->mapped = st->mapped - clean;
        as->retained = clean;
        for (int q = 0; q < 2; q++) {
                as->npurge[q] = st->npurge[q];
                as->nmadvise[q] = st->nmadvise[q];
                as->purged[q] = st->purged[q];
        }
        as->dirty_decay_ms = a->decay[0].ms;
        as->muzzy_decay_ms = a->decay[1].ms;
        as->large_allocated = st->large_allocated;
        for (unsigned c = 0; c < LA_NBINS; c++) {
                la_bin_snap_t *b = &as->bins[c];
                b->curslabs = st->slabs_cur[c];
                b->nslabs = st->slabs_total[c];
                b->nreslabs = st->reslabs[c];
                b->nonfull_slabs = st->abandoned_n[c];
                const la_heap_t *sh = a->shared;
                b->nmalloc = sh->nmalloc[c];
                b->ndalloc = sh->ndalloc[c] + atomic_load(&a->orphan_ndalloc[c]) +
                             a->reset_ndalloc[c];
                b->nfills = sh->nfills[c];
                b->nflushes = sh->nflushes[c];
        }
        for (unsigned j = 0; j < LA_NLEXTENTS; j++) {
                la_lext_snap_t *l = &as->lext[j];
                l->nmalloc = st->lext_nmalloc[j] +
                             __atomic_load_n(&st->huge_nmalloc[j], __ATOMIC_RELAXED);
                l->ndalloc = st->lext_ndalloc[j] +
                             __atomic_load_n(&st->huge_ndalloc[j], __ATOMIC_RELAXED);
        }
        /* Runs parked in the thread heaps that retired (live heaps: add_heap). */
        add_parked(as, st->lcache_nmalloc, st->lcache_ndalloc);
        for (unsigned q = 0; q < LA_RUN_NSTATES; q++) {
                for (unsigned b = 0; b < LA_RUN_NBUCKETS; b++) {
                        for (la_span_t *r = a->bins[q][b]; r != NULL; r = r->next) {
                                la_extent_snap_t *e = &as->extents[psz_index(r->npages)];
                                size_t bytes = la_span_bytes(r);
                                if (q == LA_RUN_DIRTY) {
                                        e->ndirty++;
                                        e->dirty_bytes += bytes;
                                } else if (q == LA_RUN_MUZZY) {
                                        e->nmuzzy++;
                                        e->muzzy_bytes += bytes;
                                } else {
                                        e->nretained++;
                                        e->retained_bytes += bytes;
                                }
                        }
                }
        }
        for (const la_span_t *r = a->hcache.head; r != NULL; r = r->lru_next) {
                la_extent_snap_t *e = &as->extents[psz_index(r->map_size >> 12)];
                e->ndirty++;
                e->dirty_bytes += r->map_size;
        }
        /* One lock does the work of jemalloc's large, extents and decay locks: it is
         * reported as "large". */
        as->mutexes[LA_AMUTEX_LARGE] = a->lock.prof;
        la_mutex_unlock(&a->lock);
        size_t huge = atomic_load(&a->huge_allocated);
        as->pactive += huge >> 12;
        as->large_allocated += huge;
        as->mapped += atomic_load(&a->huge_mapped);
        as->nthreads = atomic_load(&a->nthreads);
        as->uptime_ns = now - a->created_ns;
        as->dss = a->dss;
}

static void add_heap(const la_heap_t *h, void *arg)
{
        (void)arg;
        la_arena_snap_t *as = arena_snaps[h->arena->ind];
        if (as == NULL)
                return;
        for (unsigned c = 0; c < LA_NBINS; c++) {
                la_bin_snap_t *b = &as->bins[c];
                b->nmalloc += __atomic_load_n(&h->nmalloc[c], __ATOMIC_RELAXED);
                b->ndalloc += __atomic_load_n(&h->ndalloc[c], __ATOMIC_RELAXED);
                b->nfills += __atomic_load_n(&h->nfills[c], __ATOMIC_RELAXED);
                b->nflushes += __atomic_load_n(&h->nflushes[c], __ATOMIC_RELAXED);
        }
        add_parked(as, h->lcache_nmalloc, h->lcache_ndalloc); /* its parked runs */
}

static void add_retired(la_arena_t *a, void *arg)
{
        (void)arg;
        la_arena_snap_t *as = arena_snaps[a->ind];
        if (as == NULL)
                return;
        for (unsigned c = 0; c < LA_NBINS; c++) {
                as->bins[c].nmalloc += a->retired[c].nmalloc;
                as->bins[c].ndalloc += a->retired[c].ndalloc;
                as->bins[c].nfills += a->retired[c].nfills;
                as->bins[c].nflushes += a->retired[c].nflushes;
        }
}

/* Derived figures of one arena once its counters are summed. */
static void finish_arena(la_arena_snap_t *as)
{
        as->small_allocated = 0;
        as->small_nmalloc = as->small_ndalloc = as->small_nfills = as->small_nflushes = 0;
        for (unsigned c = 0; c < LA_NBINS; c++) {
                la_bin_snap_t *b = &as->bins[c];
                b->nrequests = b->nmalloc;
                b->curregs = b->nmalloc > b->ndalloc ? b->nmalloc - b->ndalloc : 0;
                as->small_allocated += b->curregs * la_cls_size[c];
                as->small_nmalloc += b->nmalloc;
                as->small_ndalloc += b->ndalloc;
                as->small_nfills += b->nfills;
                as->small_nflushes += b->nflushes;
        }
        as->small_nrequests = as->small_nmalloc;
        as->large_nmalloc = as->large_ndalloc = 0;
        for (unsigned j = 0; j < LA_NLEXTENTS; j++) {
                la_lext_snap_t *l = &as->lext[j];
                l->nrequests = l->nmalloc;
                l->curlextents = l->nmalloc > l->ndalloc ? l->nmalloc - l->ndalloc : 0;
                as->large_nmalloc += l->nmalloc;
                as->large_ndalloc += l->ndalloc;
        }
        as->large_nrequests = as->large_nfills = as->large_nmalloc;
        as->large_nflushes = 0;
        as->resident = (as->pactive + as->pdirty) * LA_PAGE + as->base;
}

/* d += s, field by field (merged and destroyed sums). */
static void arena_add(la_arena_snap_t *d, const la_arena_snap_t *s)
{
        d->nthreads += s->nthreads;
        if (s->uptime_ns > d->uptime_ns)
                d->uptime_ns = s->uptime_ns;
        d->pactive += s->pactive;
        d->pdirty += s->pdirty;
        d->pmuzzy += s->pmuzzy;
        d->mapped += s->mapped;
        d->retained += s->retained;
        d->base += s->base;
        d->internal += s->internal;
        d->resident += s->resident;
        d->extent_avail += s->extent_avail;
        for (int q = 0; q < 2; q++) {
                d->npurge[q] += s->npurge[q];
                d->nmadvise[q] += s->nmadvise[q];
                d->purged[q] += s->purged[q];
        }
        d->small_allocated += s->small_allocated;
        d->small_nmalloc += s->small_nmalloc;
        d->small_ndalloc += s->small_ndalloc;
        d->small_nrequests += s->small_nrequests;
        d->small_nfills += s->small_nfills;
        d->small_nflushes += s->small_nflushes;
        d->large_allocated += s->large_allocated;
        d->large_nmalloc += s->large_nmalloc;
        d->large_ndalloc += s->large_ndalloc;
        d->large_nrequests += s->large_nrequests;
        d->large_nfills += s->large_nfills;
        d->large_nflushes += s->large_nflushes;
        for (unsigned m = 0; m < LA_NAMUTEXES; m++)
                mutex_add(&d->mutexes[m], &s->mutexes[m]);
        for (unsigned c = 0; c < LA_NBINS; c++) {
                la_bin_snap_t *db = &d->bins[c];
                const la_bin_snap_t *sb = &s->bins[c];
                db->nmalloc += sb->nmalloc;
                db->ndalloc += sb->ndalloc;
                db->nrequests += sb->nrequests;
                db->nfills += sb->nfills;
                db->nflushes += sb->nflushes;
                db->nslabs += sb->nslabs;
                db->nreslabs += sb->nreslabs;
                db->curregs += sb->curregs;
                db->curslabs += sb->curslabs;
                db->nonfull_slabs += sb->nonfull_slabs;
        }
        for (unsigned j = 0; j < LA_NLEXTENTS; j++) {
                d->lext[j].nmalloc += s->lext[j].nmalloc;
                d->lext[j].ndalloc += s->lext[j].ndalloc;
                d->lext[j].nrequests += s->lext[j].nrequests;
                d->lext[j].curlextents += s->lext[j].curlextents;
        }
        for (unsigned k = 0; k < LA_NPSIZES; k++) {
                la_extent_snap_t *de = &d->extents[k];
                const la_extent_snap_t *se = &s->extents[k];
                de->ndirty += se->ndirty;
                de->nmuzzy += se->nmuzzy;
                de->nretained += se->nretained;
                de->dirty_bytes += se->dirty_bytes;
                de->muzzy_bytes += se->muzzy_bytes;
                de->retained_bytes += se->retained_bytes;
        }
}

uint64_t la_stats_refresh(void)
{
        uint64_t now = la_os_now_ns();
        unsigned n = atomic_load(&la_narenas_total);
        for (unsigned i = 0; i < n; i++) {
                la_arena_t *a = la_arena_get(i, false);
                arena_snaps[i] = NULL;
                if (a == NULL)
                        continue;
                if (arena_bufs[i] == NULL)
                        arena_bufs[i] = la_meta_alloc(sizeof(la_arena_snap_t), LA_CACHELINE);
                if (arena_bufs[i] == NULL)
                        continue; /* out of memory: the arena is left out of this epoch */
                read_arena(a, arena_bufs[i], now);
                arena_snaps[i] = arena_bufs[i];
        }
        for (unsigned i = n; i < LA_MAX_ARENAS && arena_snaps[i] != NULL; i++)
                arena_snaps[i] = NULL;
        la_heaps_collect(add_heap, add_retired, NULL);

        la_stats_snapshot_t s;
        memset(&s, 0, sizeof(s));
        s.metadata = la_meta_bytes();
        size_t meta_resident = la_align_up(s.metadata, LA_PAGE);
        if (arena_snaps[0] != NULL)
                arena_snaps[0]->base = meta_resident; /* global metadata lives with arena 0 */
        memset(&merged, 0, sizeof(merged));
        for (unsigned i = 0; i < n; i++) {
                if (arena_snaps[i] == NULL)
                        continue;
                finish_arena(arena_snaps[i]);
                arena_add(&merged, arena_snaps[i]);
        }
        /* The merged curregs come from the summed counters, so that the clamping of each
         * arena's to zero (racy reads) cannot leak into the sum. */
        finish_arena(&merged);
        merged.dss = "N/A";
        merged.uptime_ns = 0; /* jemalloc 5.3.0 reports 0 for the merged arena */
        merged.dirty_decay_ms = merged.muzzy_decay_ms = -1;
        s.active = merged.pactive * LA_PAGE;
        s.allocated = merged.small_allocated + merged.large_allocated;
        if (s.allocated > s.active)
                s.allocated = s.active; /* other threads' counters are read racily */
        s.resident = (merged.pactive + merged.pdirty) * LA_PAGE + meta_resident;
        s.mapped = merged.mapped + la_meta_mapped();
        if (s.mapped < s.resident)
                s.mapped = s.resident;
        s.retained = merged.retained;
        s.zero_reallocs = atomic_load(&zero_reallocs);
        la_bg_stats(&s.bg_num_threads, &s.bg_num_runs, &s.bg_run_interval);
        la_mutex_prof_read(la_bg_mutex(), &s.mutexes[LA_GMUTEX_BACKGROUND_THREAD], false);
        s.mutexes[LA_GMUTEX_CTL] = ctl_mutex->prof; /* held by our caller */
        snap = s;
        return ++epoch;
}

uint64_t la_stats_epoch(void)
{
        return epoch;
}

const la_stats_snapshot_t *la_stats_get(void)
{
        return &snap;
}

const la_arena_snap_t *la_stats_arena(size_t ind)
{
        if (ind == LA_ARENAS_ALL)
                return &merged;
        if (ind == LA_ARENAS_DESTROYED)
                return any_destroyed ? &destroyed : NULL;
        return ind < LA_MAX_ARENAS ? arena_snaps[ind] : NULL;
}

void la_stats_arena_destroyed(unsigned ind)
{
        la_arena_t *a = la_arena_get(ind, false);
        if (a == NULL)
                return;
        la_arena_snap_t *tmp = arena_bufs[ind];
        if (tmp == NULL)
                tmp = arena_bufs[ind] = la_meta_alloc(sizeof(la_arena_snap_t), LA_CACHELINE);
        if (tmp == NULL)
                return;
        read_arena(a, tmp, la_os_now_ns());
        /* The heap counters of a destroyed arena are all retired (no thread is bound). */
        for (unsigned c = 0; c < LA_NBINS; c++) {
                tmp->bins[c].nmalloc += a->retired[c].nmalloc;
                tmp->bins[c].ndalloc += a->retired[c].ndalloc;
                tmp->bins[c].nfills += a->retired[c].nfills;
                tmp->bins[c].nflushes += a->retired[c].nflushes;
        }
        finish_arena(tmp);
        arena_add(&destroyed, tmp);
        destroyed.dss = "N/A";
        destroyed.dirty_decay_ms = destroyed.muzzy_decay_ms = -1;
        any_destroyed = true;
        arena_snaps[ind] = NULL;
}

void la_stats_mutexes_reset(void)
{
        la_mutex_prof_t unused;
        unsigned n = atomic_load(&la_narenas_total);
        for (unsigned i = 0; i < n; i++) {
                la_arena_t *a = la_arena_get(i, false);
                if (a != NULL)
                        la_mutex_prof_read(&a->lock, &unused, true);
        }
        la_mutex_prof_read(la_bg_mutex(), &unused, true);
        memset(&ctl_mutex->prof, 0, sizeof(ctl_mutex->prof)); /* held by caller */
}
