/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * conf: run-time options (jemalloc's opt.*), parsed once at start-up from the compiled-in
 * string, the malloc_conf symbol, the /etc/malloc.conf link name and MALLOC_CONF, in that
 * order, later settings winning.  Parsing never allocates; bad pairs print jemalloc's
 * one-line warnings and are skipped.
 */
#ifndef LA_CONF_H
#define LA_CONF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define LA_CONF_STR_MAX 128
#define LA_MAX_AUTO_ARENAS 1024 /* automatic arenas; leaves room for arenas.create */

typedef struct la_opt {
        bool abort, abort_conf, confirm_conf, trust_madvise, retain, stats_print, zero,
                tcache, background_thread, hpa, prof, prof_active, prof_thread_active_init,
                prof_accum, prof_gdump, prof_final, prof_leak, prof_leak_error, prof_stats,
                prof_sys_thread_name, utrace, xmalloc, experimental_infallible_new,
                cache_oblivious, ctl, ctl_set, hardened;
        /* Derived from junk/zero: fill on allocation or free; fill = any of them or
         * hardened (every thread then takes the slow paths, where the filling is done). */
        bool junk_alloc, junk_free, fill;
        unsigned narenas, tcache_nslots_small_min, tcache_nslots_small_max,
                tcache_nslots_large, lg_tcache_flush_small_div, lg_tcache_flush_large_div;
        ssize_t dirty_decay_ms, muzzy_decay_ms, lg_tcache_nslots_mul, lg_prof_interval,
                prof_recent_alloc_max;
        int64_t mutex_max_spin, stats_interval;
        size_t tcache_max, tcache_gc_incr_bytes, tcache_gc_delay_bytes, oversize_threshold,
                lg_extent_max_active_fit, max_background_threads, lg_prof_sample,
                pressure_threshold_ms, pressure_window_ms, pressure_arm_mb, huge_cache,
                hpa_slab_max_alloc, hpa_sec_nshards, hpa_sec_max_alloc, hpa_sec_max_bytes,
                hpa_hugification_threshold, hpa_sec_bytes_after_flush,
                hpa_sec_batch_fill_extra;
        uint64_t hpa_hugify_delay_ms, hpa_min_purge_interval_ms;
        uint32_t hpa_dirty_mult; /* 16.16 fixed point; UINT32_MAX = off ("-1") */
        const char *metadata_thp, *dss, *percpu_arena, *thp, *zero_realloc, *junk,
                *prof_time_resolution, *foreign_free, *pressure;
        char stats_print_opts[16], stats_interval_opts[16], prof_prefix[LA_CONF_STR_MAX];
} la_opt_t;

extern la_opt_t la_opt;

/* Parses every source into la_opt; ncpus decides the narenas default. */
void la_conf_init(unsigned ncpus);
/* Parses one string into la_opt (exposed for unit tests).  Returns the number of
 * rejected pairs. */
int la_conf_parse(const char *s);

#endif
