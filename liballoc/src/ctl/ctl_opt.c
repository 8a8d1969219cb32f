/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * ctl_opt: opt.* (the options after MALLOC_CONF processing, read-only) and config.* (what
 * this build has).  utrace, xmalloc and lg_san_uaf_align are absent as in Debian's build;
 * config.prof is true (heap profiling, prof.h).
 */
#include <stdbool.h>

#include "core/conf.h"
#include "ctl/ctl_tree.h"
#include "prof/prof.h"

/* ---- opt.* ------------------------------------------------------------------------- */

/* Every opt.* leaf once, in the order of jemalloc's tree (the order `list` and
 * malloc_stats_print follow):
 *   V(name, T)      la_opt.name, of C type T
 *   X(name, T, ty)  la_opt.name, of C type T, listed as type ty (jemalloc's fxp_t)
 *   S(name)         la_opt.name, a string
 *   K(name, T, v)   the constant v
 *   A(name, T)      absent in this build as in Debian's (ENOENT), listed as type T */
#define OPT_LEAVES(V, X, S, K, A)                                                          \
        V(abort, bool)                                                                     \
        V(abort_conf, bool)                                                                \
        K(cache_oblivious, bool, false) /* no random offset in large runs */               \
        V(trust_madvise, bool)                                                             \
        V(confirm_conf, bool)                                                              \
        V(hpa, bool)                                                                       \
        V(hpa_slab_max_alloc, size_t)                                                      \
        V(hpa_hugification_threshold, size_t)                                              \
        V(hpa_hugify_delay_ms, uint64_t)                                                   \
        V(hpa_min_purge_interval_ms, uint64_t)                                             \
        X(hpa_dirty_mult, uint32_t, "fxp_t")                                               \
        V(hpa_sec_nshards, size_t)                                                         \
        V(hpa_sec_max_alloc, size_t)                                                       \
        V(hpa_sec_max_bytes, size_t)                                                       \
        V(hpa_sec_bytes_after_flush, size_t)                                               \
        V(hpa_sec_batch_fill_extra, size_t)                                                \
        S(metadata_thp)                                                                    \
        V(retain, bool)                                                                    \
        S(dss)                                                                             \
        V(narenas, unsigned)                                                               \
        S(percpu_arena)                                                                    \
        V(oversize_threshold, size_t)                                                      \
        V(mutex_max_spin, int64_t)                                                         \
        V(background_thread, bool)                                                         \
        V(max_background_threads, size_t)                                                  \
        V(dirty_decay_ms, ssize_t)                                                         \
        V(muzzy_decay_ms, ssize_t)                                                         \
        V(lg_extent_max_active_fit, size_t)                                                \
        V(stats_print, bool)                                                               \
        S(stats_print_opts)                                                                \
        V(stats_interval, int64_t)                                                         \
        S(stats_interval_opts)                                                             \
        S(junk)                                                                            \
        V(zero, bool)                                                                      \
        A(utrace, bool)                                                                    \
        A(xmalloc, bool)                                                                   \
        V(experimental_infallible_new, bool)                                               \
        V(tcache, bool)                                                                    \
        V(tcache_max, size_t)                                                              \
        V(tcache_nslots_small_min, unsigned)                                               \
        V(tcache_nslots_small_max, unsigned)                                               \
        V(tcache_nslots_large, unsigned)                                                   \
        V(lg_tcache_nslots_mul, ssize_t)                                                   \
        V(tcache_gc_incr_bytes, size_t)                                                    \
        V(tcache_gc_delay_bytes, size_t)                                                   \
        V(lg_tcache_flush_small_div, unsigned)                                             \
        V(lg_tcache_flush_large_div, unsigned)                                             \
        S(thp)                                                                             \
        A(lg_san_uaf_align, ssize_t)                                                       \
        V(prof, bool)                                                                      \
        S(prof_prefix)                                                                     \
        V(prof_active, bool)                                                               \
        V(prof_thread_active_init, bool)                                                   \
        V(lg_prof_sample, size_t)                                                          \
        V(lg_prof_interval, ssize_t)                                                       \
        V(prof_gdump, bool)                                                                \
        V(prof_final, bool)                                                                \
        V(prof_leak, bool)                                                                 \
        V(prof_leak_error, bool)                                                           \
        V(prof_accum, bool)                                                                \
        V(prof_recent_alloc_max, ssize_t)                                                  \
        V(prof_stats, bool)                                                                \
        V(prof_sys_thread_name, bool)                                                      \
        S(prof_time_resolution)                                                            \
        S(zero_realloc)

#define FN_V(n, T) CTL_RO(opt_##n##_ctl, T, la_opt.n)
#define FN_X(n, T, ty) FN_V(n, T)
#define FN_S(n) CTL_RO(opt_##n##_ctl, const char *, (const char *)la_opt.n)
#define FN_K(n, T, v) CTL_RO(opt_##n##_ctl, T, v)
#define FN_A(n, T)
OPT_LEAVES(FN_V, FN_X, FN_S, FN_K, FN_A)
CTL_ABSENT(opt_absent_ctl)

#define LEAF_V(n, T) CTL_LEAF(#n, opt_##n##_ctl, #T, "r-"),
#define LEAF_X(n, T, ty) CTL_LEAF(#n, opt_##n##_ctl, ty, "r-"),
#define LEAF_S(n) CTL_LEAF(#n, opt_##n##_ctl, "const char *", "r-"),
#define LEAF_K(n, T, v) CTL_LEAF(#n, opt_##n##_ctl, #T, "r-"),
#define LEAF_A(n, T) CTL_LEAF(#n, opt_absent_ctl, #T, "r-"),
const ctl_node_t la_ctl_opt_nodes[] = {OPT_LEAVES(LEAF_V, LEAF_X, LEAF_S, LEAF_K, LEAF_A) CTL_END};

/* ---- config.* ---------------------------------------------------------------------- */

CTL_RO(config_true_ctl, bool, true)
CTL_RO(config_false_ctl, bool, false)
CTL_RO(config_libunwind_ctl, bool, la_prof_uses_libunwind())
CTL_RO(config_debug_ctl, bool, la_debug)
CTL_RO(config_malloc_conf_ctl, const char *, "")

const ctl_node_t la_ctl_config_nodes[] = {
        CTL_LEAF("cache_oblivious", config_false_ctl, "bool", "r-"),
        CTL_LEAF("debug", config_debug_ctl, "bool", "r-"),
        CTL_LEAF("fill", config_true_ctl, "bool", "r-"),
        CTL_LEAF("lazy_lock", config_false_ctl, "bool", "r-"),
        CTL_LEAF("malloc_conf", config_malloc_conf_ctl, "const char *", "r-"),
        CTL_LEAF("opt_safety_checks", config_false_ctl, "bool", "r-"),
        CTL_LEAF("prof", config_true_ctl, "bool", "r-"),
        CTL_LEAF("prof_libgcc", config_false_ctl, "bool", "r-"),
        CTL_LEAF("prof_libunwind", config_libunwind_ctl, "bool", "r-"),
        CTL_LEAF("stats", config_true_ctl, "bool", "r-"),
        CTL_LEAF("utrace", config_false_ctl, "bool", "r-"),
        CTL_LEAF("xmalloc", config_false_ctl, "bool", "r-"),
        CTL_END,
};
