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

#define OPT(T, name) CTL_RO(opt_##name##_ctl, T, la_opt.name)
#define OPT_STR(name) CTL_RO(opt_##name##_ctl, const char *, (const char *)la_opt.name)

OPT(bool, abort)
OPT(bool, abort_conf)
OPT(bool, confirm_conf)
/* Heap profiling (prof.h). */
OPT(bool, prof)
OPT_STR(prof_prefix)
OPT(bool, prof_active)
OPT(bool, prof_thread_active_init)
OPT(size_t, lg_prof_sample)
OPT(ssize_t, lg_prof_interval)
OPT(bool, prof_gdump)
OPT(bool, prof_final)
OPT(bool, prof_leak)
OPT(bool, prof_leak_error)
OPT(bool, prof_accum)
OPT(ssize_t, prof_recent_alloc_max)
OPT(bool, prof_stats)
OPT(bool, prof_sys_thread_name)
OPT_STR(prof_time_resolution)

CTL_RO(opt_cache_oblivious_ctl, bool, false) /* no random offset inside large runs */
OPT(bool, trust_madvise)
OPT(bool, hpa)
OPT(size_t, hpa_slab_max_alloc)
OPT(size_t, hpa_hugification_threshold)
OPT(uint64_t, hpa_hugify_delay_ms)
OPT(uint64_t, hpa_min_purge_interval_ms)
OPT(uint32_t, hpa_dirty_mult)
OPT(size_t, hpa_sec_nshards)
OPT(size_t, hpa_sec_max_alloc)
OPT(size_t, hpa_sec_max_bytes)
OPT(size_t, hpa_sec_bytes_after_flush)
OPT(size_t, hpa_sec_batch_fill_extra)
OPT_STR(metadata_thp)
OPT(bool, retain)
OPT_STR(dss)
OPT(unsigned, narenas)
OPT_STR(percpu_arena)
OPT(size_t, oversize_threshold)
OPT(int64_t, mutex_max_spin)
OPT(bool, background_thread)
OPT(size_t, max_background_threads)
OPT(ssize_t, dirty_decay_ms)
OPT(ssize_t, muzzy_decay_ms)
OPT(size_t, lg_extent_max_active_fit)
OPT(bool, stats_print)
OPT_STR(stats_print_opts)
OPT(int64_t, stats_interval)
OPT_STR(stats_interval_opts)
OPT_STR(junk)
OPT(bool, zero)
OPT(bool, experimental_infallible_new)
OPT(bool, tcache)
OPT(size_t, tcache_max)
OPT(unsigned, tcache_nslots_small_min)
OPT(unsigned, tcache_nslots_small_max)
OPT(unsigned, tcache_nslots_large)
OPT(ssize_t, lg_tcache_nslots_mul)
OPT(size_t, tcache_gc_incr_bytes)
OPT(size_t, tcache_gc_delay_bytes)
OPT(unsigned, lg_tcache_flush_small_div)
OPT(unsigned, lg_tcache_flush_large_div)
OPT_STR(thp)
OPT_STR(zero_realloc)
CTL_ABSENT(opt_absent_ctl)

const ctl_node_t la_ctl_opt_nodes[] = {
        CTL_LEAF("abort", opt_abort_ctl, "bool", "r-"),
        CTL_LEAF("abort_conf", opt_abort_conf_ctl, "bool", "r-"),
        CTL_LEAF("cache_oblivious", opt_cache_oblivious_ctl, "bool", "r-"),
        CTL_LEAF("trust_madvise", opt_trust_madvise_ctl, "bool", "r-"),
        CTL_LEAF("confirm_conf", opt_confirm_conf_ctl, "bool", "r-"),
        CTL_LEAF("hpa", opt_hpa_ctl, "bool", "r-"),
        CTL_LEAF("hpa_slab_max_alloc", opt_hpa_slab_max_alloc_ctl, "size_t", "r-"),
        CTL_LEAF("hpa_hugification_threshold", opt_hpa_hugification_threshold_ctl, "size_t",
                 "r-"),
        CTL_LEAF("hpa_hugify_delay_ms", opt_hpa_hugify_delay_ms_ctl, "uint64_t", "r-"),
        CTL_LEAF("hpa_min_purge_interval_ms", opt_hpa_min_purge_interval_ms_ctl, "uint64_t",
                 "r-"),
        CTL_LEAF("hpa_dirty_mult", opt_hpa_dirty_mult_ctl, "fxp_t", "r-"),
        CTL_LEAF("hpa_sec_nshards", opt_hpa_sec_nshards_ctl, "size_t", "r-"),
        CTL_LEAF("hpa_sec_max_alloc", opt_hpa_sec_max_alloc_ctl, "size_t", "r-"),
        CTL_LEAF("hpa_sec_max_bytes", opt_hpa_sec_max_bytes_ctl, "size_t", "r-"),
        CTL_LEAF("hpa_sec_bytes_after_flush", opt_hpa_sec_bytes_after_flush_ctl, "size_t",
                 "r-"),
        CTL_LEAF("hpa_sec_batch_fill_extra", opt_hpa_sec_batch_fill_extra_ctl, "size_t",
                 "r-"),
        CTL_LEAF("metadata_thp", opt_metadata_thp_ctl, "const char *", "r-"),
        CTL_LEAF("retain", opt_retain_ctl, "bool", "r-"),
        CTL_LEAF("dss", opt_dss_ctl, "const char *", "r-"),
        CTL_LEAF("narenas", opt_narenas_ctl, "unsigned", "r-"),
        CTL_LEAF("percpu_arena", opt_percpu_arena_ctl, "const char *", "r-"),
        CTL_LEAF("oversize_threshold", opt_oversize_threshold_ctl, "size_t", "r-"),
        CTL_LEAF("mutex_max_spin", opt_mutex_max_spin_ctl, "int64_t", "r-"),
        CTL_LEAF("background_thread", opt_background_thread_ctl, "bool", "r-"),
        CTL_LEAF("max_background_threads", opt_max_background_threads_ctl, "size_t", "r-"),
        CTL_LEAF("dirty_decay_ms", opt_dirty_decay_ms_ctl, "ssize_t", "r-"),
        CTL_LEAF("muzzy_decay_ms", opt_muzzy_decay_ms_ctl, "ssize_t", "r-"),
        CTL_LEAF("lg_extent_max_active_fit", opt_lg_extent_max_active_fit_ctl, "size_t", "r-"),
        CTL_LEAF("stats_print", opt_stats_print_ctl, "bool", "r-"),
        CTL_LEAF("stats_print_opts", opt_stats_print_opts_ctl, "const char *", "r-"),
        CTL_LEAF("stats_interval", opt_stats_interval_ctl, "int64_t", "r-"),
        CTL_LEAF("stats_interval_opts", opt_stats_interval_opts_ctl, "const char *", "r-"),
        CTL_LEAF("junk", opt_junk_ctl, "const char *", "r-"),
        CTL_LEAF("zero", opt_zero_ctl, "bool", "r-"),
        CTL_LEAF("utrace", opt_absent_ctl, "bool", "r-"),
        CTL_LEAF("xmalloc", opt_absent_ctl, "bool", "r-"),
        CTL_LEAF("experimental_infallible_new", opt_experimental_infallible_new_ctl, "bool",
                 "r-"),
        CTL_LEAF("tcache", opt_tcache_ctl, "bool", "r-"),
        CTL_LEAF("tcache_max", opt_tcache_max_ctl, "size_t", "r-"),
        CTL_LEAF("tcache_nslots_small_min", opt_tcache_nslots_small_min_ctl, "unsigned", "r-"),
        CTL_LEAF("tcache_nslots_small_max", opt_tcache_nslots_small_max_ctl, "unsigned", "r-"),
        CTL_LEAF("tcache_nslots_large", opt_tcache_nslots_large_ctl, "unsigned", "r-"),
        CTL_LEAF("lg_tcache_nslots_mul", opt_lg_tcache_nslots_mul_ctl, "ssize_t", "r-"),
        CTL_LEAF("tcache_gc_incr_bytes", opt_tcache_gc_incr_bytes_ctl, "size_t", "r-"),
        CTL_LEAF("tcache_gc_delay_bytes", opt_tcache_gc_delay_bytes_ctl, "size_t", "r-"),
        CTL_LEAF("lg_tcache_flush_small_div", opt_lg_tcache_flush_small_div_ctl, "unsigned",
                 "r-"),
        CTL_LEAF("lg_tcache_flush_large_div", opt_lg_tcache_flush_large_div_ctl, "unsigned",
                 "r-"),
        CTL_LEAF("thp", opt_thp_ctl, "const char *", "r-"),
        CTL_LEAF("lg_san_uaf_align", opt_absent_ctl, "ssize_t", "r-"),
        CTL_LEAF("prof", opt_prof_ctl, "bool", "r-"),
        CTL_LEAF("prof_prefix", opt_prof_prefix_ctl, "const char *", "r-"),
        CTL_LEAF("prof_active", opt_prof_active_ctl, "bool", "r-"),
        CTL_LEAF("prof_thread_active_init", opt_prof_thread_active_init_ctl, "bool", "r-"),
        CTL_LEAF("lg_prof_sample", opt_lg_prof_sample_ctl, "size_t", "r-"),
        CTL_LEAF("lg_prof_interval", opt_lg_prof_interval_ctl, "ssize_t", "r-"),
        CTL_LEAF("prof_gdump", opt_prof_gdump_ctl, "bool", "r-"),
        CTL_LEAF("prof_final", opt_prof_final_ctl, "bool", "r-"),
        CTL_LEAF("prof_leak", opt_prof_leak_ctl, "bool", "r-"),
        CTL_LEAF("prof_leak_error", opt_prof_leak_error_ctl, "bool", "r-"),
        CTL_LEAF("prof_accum", opt_prof_accum_ctl, "bool", "r-"),
        CTL_LEAF("prof_recent_alloc_max", opt_prof_recent_alloc_max_ctl, "ssize_t", "r-"),
        CTL_LEAF("prof_stats", opt_prof_stats_ctl, "bool", "r-"),
        CTL_LEAF("prof_sys_thread_name", opt_prof_sys_thread_name_ctl, "bool", "r-"),
        CTL_LEAF("prof_time_resolution", opt_prof_time_resolution_ctl, "const char *", "r-"),
        CTL_LEAF("zero_realloc", opt_zero_realloc_ctl, "const char *", "r-"),
        CTL_END,
};

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
