/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * ctl_stats: stats.* and stats.arenas.<i>.*, read from the epoch snapshot (stats.h).
 * MIB layout: stats(0).arenas(1).<i>(2).<leaf or group>(3).<j or leaf>(4)...; a named
 * component's MIB entry is its position, so the mutex handlers find the mutex and the
 * counter they serve in mib[] and one handler serves all of them.
 */
#include <string.h>

#include "ctl/ctl_tree.h"
#include "stats/stats.h"

#define SNAP la_stats_get()

CTL_RO(stats_allocated_ctl, size_t, SNAP->allocated)
CTL_RO(stats_active_ctl, size_t, SNAP->active)
CTL_RO(stats_metadata_ctl, size_t, SNAP->metadata)
CTL_RO(stats_metadata_thp_ctl, size_t, 0) /* metadata never uses transparent huge pages */
CTL_RO(stats_resident_ctl, size_t, SNAP->resident)
CTL_RO(stats_mapped_ctl, size_t, SNAP->mapped)
CTL_RO(stats_retained_ctl, size_t, SNAP->retained)
CTL_RO(stats_zero_reallocs_ctl, size_t, SNAP->zero_reallocs)
CTL_RO(stats_bg_num_threads_ctl, size_t, SNAP->bg_num_threads)
CTL_RO(stats_bg_num_runs_ctl, uint64_t, SNAP->bg_num_runs)
CTL_RO(stats_bg_run_interval_ctl, uint64_t, SNAP->bg_run_interval)

/* ---- mutex counters ---------------------------------------------------------------- */

static int mutex_counter(const la_mutex_prof_t *m, size_t counter, void *oldp, size_t *oldlenp)
{
        uint64_t v;
        switch (counter) {
        case 0: v = m->num_ops; break;
        case 1: v = m->num_wait; break;
        case 2: v = m->num_spin_acq; break;
        case 3: v = m->num_owner_switch; break;
        case 4: v = m->total_wait_time; break;
        case 5: v = m->max_wait_time; break;
        default: {
                uint32_t n = m->max_num_thds;
                return la_ctl_read_out(oldp, oldlenp, &n, sizeof(n));
        }
        }
        return la_ctl_read_out(oldp, oldlenp, &v, sizeof(v));
}

#define MUTEX_COUNTERS(h)                                                                  \
        {                                                                                  \
                CTL_LEAF("num_ops", h, "uint64_t", "r-"),                                  \
                CTL_LEAF("num_wait", h, "uint64_t", "r-"),                                 \
                CTL_LEAF("num_spin_acq", h, "uint64_t", "r-"),                             \
                CTL_LEAF("num_owner_switch", h, "uint64_t", "r-"),                         \
                CTL_LEAF("total_wait_time", h, "uint64_t", "r-"),                          \
                CTL_LEAF("max_wait_time", h, "uint64_t", "r-"),                            \
                CTL_LEAF("max_num_thds", h, "uint32_t", "r-"), CTL_END,                   \
        }

/* stats.mutexes.<m>.<counter>: mib = stats, mutexes, m, counter */
CTL_FN(stats_gmutex_ctl)
{
        (void)miblen;
        CTL_READONLY();
        return mutex_counter(&SNAP->mutexes[mib[2]], mib[3], oldp, oldlenp);
}
static const ctl_node_t gmutex_counters[] = MUTEX_COUNTERS(stats_gmutex_ctl);

CTL_FN(stats_mutexes_reset_ctl)
{
        CTL_UNUSED();
        CTL_NEITHER();
        la_stats_mutexes_reset();
        return 0;
}

static const ctl_node_t stats_mutexes_nodes[] = {
        CTL_NODE("background_thread", gmutex_counters),
        CTL_NODE("max_per_bg_thd", gmutex_counters),
        CTL_NODE("ctl", gmutex_counters),
        CTL_NODE("prof", gmutex_counters),
        CTL_NODE("prof_thds_data", gmutex_counters),
        CTL_NODE("prof_dump", gmutex_counters),
        CTL_NODE("prof_recent_alloc", gmutex_counters),
        CTL_NODE("prof_recent_dump", gmutex_counters),
        CTL_NODE("prof_stats", gmutex_counters),
        CTL_LEAF("reset", stats_mutexes_reset_ctl, "void", "--"),
        CTL_END,
};

/* ---- stats.arenas.<i> -------------------------------------------------------------- */

static int stats_arena_index_ok(size_t i)
{
        return la_stats_arena(i) != NULL ? 0 : ENOENT;
}

/* Leaf of stats.arenas.<i> whose value is an expression of `as` (the arena snapshot). */
#define CTL_SA(fn, T, expr)                                                                \
        CTL_FN(fn)                                                                         \
        {                                                                                  \
                (void)miblen;                                                              \
                CTL_READONLY();                                                            \
                const la_arena_snap_t *as = la_stats_arena(mib[2]);                        \
                if (as == NULL)                                                            \
                        return ENOENT;                                                     \
                T v = (T)(expr);                                                           \
                return la_ctl_read_out(oldp, oldlenp, &v, sizeof(T));                      \
        }

CTL_SA(sa_nthreads_ctl, unsigned, as->nthreads)
CTL_SA(sa_uptime_ctl, uint64_t, as->uptime_ns)
CTL_SA(sa_dss_ctl, const char *, as->dss)
CTL_SA(sa_dirty_decay_ms_ctl, ssize_t, as->dirty_decay_ms)
CTL_SA(sa_muzzy_decay_ms_ctl, ssize_t, as->muzzy_decay_ms)
CTL_SA(sa_pactive_ctl, size_t, as->pactive)
CTL_SA(sa_pdirty_ctl, size_t, as->pdirty)
CTL_SA(sa_pmuzzy_ctl, size_t, as->pmuzzy)
CTL_SA(sa_mapped_ctl, size_t, as->mapped)
CTL_SA(sa_retained_ctl, size_t, as->retained)
CTL_SA(sa_extent_avail_ctl, size_t, as->extent_avail)
CTL_SA(sa_dirty_npurge_ctl, uint64_t, as->npurge[0])
CTL_SA(sa_dirty_nmadvise_ctl, uint64_t, as->nmadvise[0])
CTL_SA(sa_dirty_purged_ctl, uint64_t, as->purged[0])
CTL_SA(sa_muzzy_npurge_ctl, uint64_t, as->npurge[1])
CTL_SA(sa_muzzy_nmadvise_ctl, uint64_t, as->nmadvise[1])
CTL_SA(sa_muzzy_purged_ctl, uint64_t, as->purged[1])
CTL_SA(sa_base_ctl, size_t, as->base)
CTL_SA(sa_internal_ctl, size_t, as->internal)
CTL_SA(sa_zero_ctl, size_t, 0)
CTL_SA(sa_resident_ctl, size_t, as->resident)

/* small.* and large.*: the same counters of the two kinds, fields small_<leaf> and
 * large_<leaf> of the snapshot. */
#define CLASS_COUNTS(X)                                                                    \
        X(allocated, size_t)                                                               \
        X(nmalloc, uint64_t)                                                               \
        X(ndalloc, uint64_t)                                                               \
        X(nrequests, uint64_t)                                                             \
        X(nfills, uint64_t)                                                                \
        X(nflushes, uint64_t)
#define SMALL_FN(n, T) CTL_SA(sa_small_##n##_ctl, T, as->small_##n)
#define SMALL_LEAF(n, T) CTL_LEAF(#n, sa_small_##n##_ctl, #T, "r-"),
#define LARGE_FN(n, T) CTL_SA(sa_large_##n##_ctl, T, as->large_##n)
#define LARGE_LEAF(n, T) CTL_LEAF(#n, sa_large_##n##_ctl, #T, "r-"),
CLASS_COUNTS(SMALL_FN)
CLASS_COUNTS(LARGE_FN)
static const ctl_node_t sa_small_nodes[] = {CLASS_COUNTS(SMALL_LEAF) CTL_END};
static const ctl_node_t sa_large_nodes[] = {CLASS_COUNTS(LARGE_LEAF) CTL_END};

/* bins.<j>: mib = stats, arenas, i, bins, j, leaf */
static int bin_index_ok(size_t j)
{
        return j < LA_NBINS ? 0 : ENOENT;
}
/* Each leaf once: the field of the same name of the bin's snapshot. */
#define BIN_LEAVES(X)                                                                      \
        X(nmalloc, uint64_t)                                                               \
        X(ndalloc, uint64_t)                                                               \
        X(nrequests, uint64_t)                                                             \
        X(curregs, size_t)                                                                 \
        X(nfills, uint64_t)                                                                \
        X(nflushes, uint64_t)                                                              \
        X(nslabs, uint64_t)                                                                \
        X(nreslabs, uint64_t)                                                              \
        X(curslabs, size_t)                                                                \
        X(nonfull_slabs, size_t)
#define BIN_FN(n, T) CTL_SA(sb_##n##_ctl, T, as->bins[mib[4]].n)
#define BIN_LEAF(n, T) CTL_LEAF(#n, sb_##n##_ctl, #T, "r-"),
BIN_LEAVES(BIN_FN)

/* bins.<j>.mutex.<counter>: slabs belong to threads, there is no bin lock: all zero. */
CTL_FN(sb_mutex_ctl)
{
        (void)miblen;
        CTL_READONLY();
        if (la_stats_arena(mib[2]) == NULL)
                return ENOENT;
        la_mutex_prof_t zero;
        memset(&zero, 0, sizeof(zero));
        return mutex_counter(&zero, mib[6], oldp, oldlenp);
}
static const ctl_node_t sb_mutex_counters[] = MUTEX_COUNTERS(sb_mutex_ctl);

static const ctl_node_t sb_nodes[] = {
        BIN_LEAVES(BIN_LEAF) CTL_NODE("mutex", sb_mutex_counters),
        CTL_END,
};
static const ctl_node_t sb_j[] = {CTL_NODE(NULL, sb_nodes)};

/* lextents.<j> */
static int lext_index_ok(size_t j)
{
        return j < LA_NLEXTENTS ? 0 : ENOENT;
}
#define LEXTENT_LEAVES(X)                                                                  \
        X(nmalloc, uint64_t)                                                               \
        X(ndalloc, uint64_t)                                                               \
        X(nrequests, uint64_t)                                                             \
        X(curlextents, size_t)
#define LEXTENT_FN(n, T) CTL_SA(sl_##n##_ctl, T, as->lext[mib[4]].n)
#define LEXTENT_LEAF(n, T) CTL_LEAF(#n, sl_##n##_ctl, #T, "r-"),
LEXTENT_LEAVES(LEXTENT_FN)
static const ctl_node_t sl_nodes[] = {LEXTENT_LEAVES(LEXTENT_LEAF) CTL_END};
static const ctl_node_t sl_j[] = {CTL_NODE(NULL, sl_nodes)};

/* extents.<j>: free runs by page-size class */
static int extent_index_ok(size_t j)
{
        return j < LA_NPSIZES ? 0 : ENOENT;
}
#define EXTENT_LEAVES(X)                                                                   \
        X(ndirty, size_t)                                                                  \
        X(nmuzzy, size_t)                                                                  \
        X(nretained, size_t)                                                               \
        X(dirty_bytes, size_t)                                                             \
        X(muzzy_bytes, size_t)                                                             \
        X(retained_bytes, size_t)
#define EXTENT_FN(n, T) CTL_SA(se_##n##_ctl, T, as->extents[mib[4]].n)
#define EXTENT_LEAF(n, T) CTL_LEAF(#n, se_##n##_ctl, #T, "r-"),
EXTENT_LEAVES(EXTENT_FN)
static const ctl_node_t se_nodes[] = {EXTENT_LEAVES(EXTENT_LEAF) CTL_END};
static const ctl_node_t se_j[] = {CTL_NODE(NULL, se_nodes)};

/* mutexes.<m>.<counter>: mib = stats, arenas, i, mutexes, m, counter */
CTL_FN(sa_mutex_ctl)
{
        (void)miblen;
        CTL_READONLY();
        const la_arena_snap_t *as = la_stats_arena(mib[2]);
        if (as == NULL)
                return ENOENT;
        return mutex_counter(&as->mutexes[mib[4]], mib[5], oldp, oldlenp);
}
static const ctl_node_t sa_mutex_counters[] = MUTEX_COUNTERS(sa_mutex_ctl);
static const ctl_node_t sa_mutexes_nodes[] = {
        CTL_NODE("large", sa_mutex_counters),
        CTL_NODE("extent_avail", sa_mutex_counters),
        CTL_NODE("extents_dirty", sa_mutex_counters),
        CTL_NODE("extents_muzzy", sa_mutex_counters),
        CTL_NODE("extents_retained", sa_mutex_counters),
        CTL_NODE("decay_dirty", sa_mutex_counters),
        CTL_NODE("decay_muzzy", sa_mutex_counters),
        CTL_NODE("base", sa_mutex_counters),
        CTL_NODE("tcache_list", sa_mutex_counters),
        CTL_NODE("hpa_shard", sa_mutex_counters),
        CTL_NODE("hpa_shard_grow", sa_mutex_counters),
        CTL_NODE("hpa_sec", sa_mutex_counters),
        CTL_END,
};

/* hpa_shard.*: we have no hugepage-aware allocator (opt.hpa is never used): all zero. */
static const ctl_node_t hpa_slab_nodes[] = {
        CTL_LEAF("npageslabs_nonhuge", sa_zero_ctl, "size_t", "r-"),
        CTL_LEAF("npageslabs_huge", sa_zero_ctl, "size_t", "r-"),
        CTL_LEAF("nactive_nonhuge", sa_zero_ctl, "size_t", "r-"),
        CTL_LEAF("nactive_huge", sa_zero_ctl, "size_t", "r-"),
        CTL_LEAF("ndirty_nonhuge", sa_zero_ctl, "size_t", "r-"),
        CTL_LEAF("ndirty_huge", sa_zero_ctl, "size_t", "r-"),
        CTL_END,
};
static int hpa_nonfull_index_ok(size_t j)
{
        return j < 64 ? 0 : ENOENT;
}
static const ctl_node_t hpa_nonfull_j[] = {CTL_NODE(NULL, hpa_slab_nodes)};
CTL_SA(sa_zero_u64_ctl, uint64_t, 0)
static const ctl_node_t hpa_shard_nodes[] = {
        CTL_NODE("full_slabs", hpa_slab_nodes),
        CTL_NODE("empty_slabs", hpa_slab_nodes),
        CTL_INDEXED("nonfull_slabs", hpa_nonfull_j, hpa_nonfull_index_ok),
        CTL_LEAF("npurge_passes", sa_zero_u64_ctl, "uint64_t", "r-"),
        CTL_LEAF("npurges", sa_zero_u64_ctl, "uint64_t", "r-"),
        CTL_LEAF("nhugifies", sa_zero_u64_ctl, "uint64_t", "r-"),
        CTL_LEAF("ndehugifies", sa_zero_u64_ctl, "uint64_t", "r-"),
        CTL_END,
};

static const ctl_node_t sa_nodes[] = {
        CTL_LEAF("nthreads", sa_nthreads_ctl, "unsigned", "r-"),
        CTL_LEAF("uptime", sa_uptime_ctl, "uint64_t", "r-"),
        CTL_LEAF("dss", sa_dss_ctl, "const char *", "r-"),
        CTL_LEAF("dirty_decay_ms", sa_dirty_decay_ms_ctl, "ssize_t", "r-"),
        CTL_LEAF("muzzy_decay_ms", sa_muzzy_decay_ms_ctl, "ssize_t", "r-"),
        CTL_LEAF("pactive", sa_pactive_ctl, "size_t", "r-"),
        CTL_LEAF("pdirty", sa_pdirty_ctl, "size_t", "r-"),
        CTL_LEAF("pmuzzy", sa_pmuzzy_ctl, "size_t", "r-"),
        CTL_LEAF("mapped", sa_mapped_ctl, "size_t", "r-"),
        CTL_LEAF("retained", sa_retained_ctl, "size_t", "r-"),
        CTL_LEAF("extent_avail", sa_extent_avail_ctl, "size_t", "r-"),
        CTL_LEAF("dirty_npurge", sa_dirty_npurge_ctl, "uint64_t", "r-"),
        CTL_LEAF("dirty_nmadvise", sa_dirty_nmadvise_ctl, "uint64_t", "r-"),
        CTL_LEAF("dirty_purged", sa_dirty_purged_ctl, "uint64_t", "r-"),
        CTL_LEAF("muzzy_npurge", sa_muzzy_npurge_ctl, "uint64_t", "r-"),
        CTL_LEAF("muzzy_nmadvise", sa_muzzy_nmadvise_ctl, "uint64_t", "r-"),
        CTL_LEAF("muzzy_purged", sa_muzzy_purged_ctl, "uint64_t", "r-"),
        CTL_LEAF("base", sa_base_ctl, "size_t", "r-"),
        CTL_LEAF("internal", sa_internal_ctl, "size_t", "r-"),
        CTL_LEAF("metadata_thp", sa_zero_ctl, "size_t", "r-"),
        CTL_LEAF("tcache_bytes", sa_zero_ctl, "size_t", "r-"),
        CTL_LEAF("tcache_stashed_bytes", sa_zero_ctl, "size_t", "r-"),
        CTL_LEAF("resident", sa_resident_ctl, "size_t", "r-"),
        CTL_LEAF("abandoned_vm", sa_zero_ctl, "size_t", "r-"),
        CTL_LEAF("hpa_sec_bytes", sa_zero_ctl, "size_t", "r-"),
        CTL_NODE("small", sa_small_nodes),
        CTL_NODE("large", sa_large_nodes),
        CTL_INDEXED("bins", sb_j, bin_index_ok),
        CTL_INDEXED("lextents", sl_j, lext_index_ok),
        CTL_INDEXED("extents", se_j, extent_index_ok),
        CTL_NODE("mutexes", sa_mutexes_nodes),
        CTL_NODE("hpa_shard", hpa_shard_nodes),
        CTL_END,
};
static const ctl_node_t sa_i[] = {CTL_NODE(NULL, sa_nodes)};

static const ctl_node_t stats_bg_nodes[] = {
        CTL_LEAF("num_threads", stats_bg_num_threads_ctl, "size_t", "r-"),
        CTL_LEAF("num_runs", stats_bg_num_runs_ctl, "uint64_t", "r-"),
        CTL_LEAF("run_interval", stats_bg_run_interval_ctl, "uint64_t", "r-"),
        CTL_END,
};

const ctl_node_t la_ctl_stats_nodes[] = {
        CTL_LEAF("allocated", stats_allocated_ctl, "size_t", "r-"),
        CTL_LEAF("active", stats_active_ctl, "size_t", "r-"),
        CTL_LEAF("metadata", stats_metadata_ctl, "size_t", "r-"),
        CTL_LEAF("metadata_thp", stats_metadata_thp_ctl, "size_t", "r-"),
        CTL_LEAF("resident", stats_resident_ctl, "size_t", "r-"),
        CTL_LEAF("mapped", stats_mapped_ctl, "size_t", "r-"),
        CTL_LEAF("retained", stats_retained_ctl, "size_t", "r-"),
        CTL_NODE("background_thread", stats_bg_nodes),
        CTL_NODE("mutexes", stats_mutexes_nodes),
        CTL_INDEXED("arenas", sa_i, stats_arena_index_ok),
        CTL_LEAF("zero_reallocs", stats_zero_reallocs_ctl, "size_t", "r-"),
        CTL_NODE("pressure", la_ctl_stats_pressure_nodes), /* liballoc's own */
        CTL_END,
};
