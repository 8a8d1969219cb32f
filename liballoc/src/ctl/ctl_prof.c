/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * ctl_prof: prof.* and thread.prof.* (heap profiling, prof.h).  jemalloc's semantics,
 * with one extension: prof.active, prof.dump and the rest work in a process started
 * without prof:true, so profiling can be switched on live.
 */
#include <stdatomic.h>
#include <string.h>
#include <sys/types.h>

#include "core/conf.h"
#include "ctl/ctl_tree.h"
#include "prof/prof.h"
#include "core/sizeclass.h"

/* Read the old value, then write the new one (when given). */
#define RW(T, getter, setter)                                                              \
        T old_v = (getter);                                                                \
        if (newp != NULL) {                                                                \
                T want_;                                                                   \
                int rc_ = la_ctl_write_in(newp, newlen, &want_, sizeof(T));                \
                if (rc_ != 0)                                                              \
                        return rc_;                                                        \
                setter;                                                                    \
        }                                                                                  \
        return la_ctl_read_out(oldp, oldlenp, &old_v, sizeof(T))

CTL_FN(prof_active_ctl)
{
        CTL_UNUSED();
        RW(bool, la_prof_get_active(), la_prof_set_active(want_));
}

CTL_FN(prof_thread_active_init_ctl)
{
        CTL_UNUSED();
        RW(bool, la_prof_thread_active_init(NULL), la_prof_thread_active_init(&want_));
}

CTL_FN(prof_gdump_ctl)
{
        CTL_UNUSED();
        RW(bool, la_prof_gdump(NULL), la_prof_gdump(&want_));
}

CTL_FN(thread_prof_active_ctl)
{
        CTL_UNUSED();
        RW(bool, la_prof_thread_active(NULL), la_prof_thread_active(&want_));
}

CTL_FN(prof_dump_ctl)
{
        CTL_UNUSED();
        CTL_WRITEONLY();
        const char *path = NULL;
        if (newp != NULL) {
                int rc = la_ctl_write_in(newp, newlen, &path, sizeof(path));
                if (rc != 0)
                        return rc;
        }
        return la_prof_dump_file(path) == 0 ? 0 : EFAULT;
}

CTL_FN(prof_prefix_ctl)
{
        CTL_UNUSED();
        CTL_WRITEONLY();
        const char *p = NULL;
        if (newp == NULL)
                return EINVAL;
        int rc = la_ctl_write_in(newp, newlen, &p, sizeof(p));
        if (rc != 0)
                return rc;
        return p == NULL ? EFAULT : la_prof_set_prefix(p) == 0 ? 0 : EFAULT;
}

CTL_FN(prof_reset_ctl)
{
        CTL_UNUSED();
        CTL_WRITEONLY();
        size_t lg = la_prof_lg_sample();
        if (newp != NULL) {
                int rc = la_ctl_write_in(newp, newlen, &lg, sizeof(lg));
                if (rc != 0)
                        return rc;
                if (lg > 63)
                        lg = 63; /* as jemalloc: clamped, not refused */
        }
        la_prof_reset(&lg);
        return 0;
}

CTL_RO(prof_interval_ctl, uint64_t, la_prof_interval())
CTL_RO(prof_lg_sample_ctl, size_t, la_prof_lg_sample())

/* prof.log_start / log_stop: jemalloc's JSON allocation log is not implemented. */
CTL_FN(prof_log_ctl)
{
        CTL_UNUSED();
        (void)oldp, (void)oldlenp, (void)newp, (void)newlen;
        return EFAULT;
}


/* thread.prof.name: read or write, not both in one call. */
CTL_FN(thread_prof_name_ctl)
{
        CTL_UNUSED();
        if (newp != NULL && (oldp != NULL || oldlenp != NULL))
                return EPERM;
        if (newp != NULL) {
                const char *name = NULL;
                int rc = la_ctl_write_in(newp, newlen, &name, sizeof(name));
                if (rc != 0)
                        return rc;
                return la_prof_thread_name_set(name);
        }
        const char *cur = la_prof_thread_name();
        return la_ctl_read_out(oldp, oldlenp, &cur, sizeof(cur));
}

const ctl_node_t la_ctl_thread_prof_nodes[] = {
        CTL_LEAF("name", thread_prof_name_ctl, "const char *", "rw"),
        CTL_LEAF("active", thread_prof_active_ctl, "bool", "rw"),
        CTL_END,
};

/* prof.stats.{bins,lextents}.<i>.{live,accum}: only with opt.prof_stats, as jemalloc. */

static int prof_bin_ok(size_t i)
{
        return la_opt.prof_stats && i < LA_NBINS ? 0 : ENOENT;
}

static int prof_lextent_ok(size_t i)
{
        return la_opt.prof_stats && i < LA_NLEXTENTS ? 0 : ENOENT;
}

/* mib: prof, stats, bins|lextents, <i>, live|accum */
CTL_FN(prof_stats_ctl)
{
        CTL_READONLY();
        if (miblen != 5)
                return ENOENT;
        unsigned cls = (unsigned)mib[3] + (mib[2] == 1 ? LA_NBINS : 0);
        uint64_t v[2];
        la_prof_stats_read(cls, mib[4] == 1, v);
        return la_ctl_read_out(oldp, oldlenp, v, sizeof(v));
}

static const ctl_node_t prof_stats_class_nodes[] = {
        CTL_LEAF("live", prof_stats_ctl, "prof_stats_t", "r-"),
        CTL_LEAF("accum", prof_stats_ctl, "prof_stats_t", "r-"),
        CTL_END,
};
static const ctl_node_t prof_stats_class_i[] = {CTL_NODE(NULL, prof_stats_class_nodes)};
static const ctl_node_t prof_stats_nodes[] = {
        CTL_INDEXED("bins", prof_stats_class_i, prof_bin_ok),
        CTL_INDEXED("lextents", prof_stats_class_i, prof_lextent_ok),
        CTL_END,
};

/* experimental.prof_recent.*: the size of jemalloc's ring of recent sampled allocations
 * is kept and read back, but liballoc records none: a dump lists an empty array. */
static _Atomic ssize_t recent_max = -2; /* -2: not set yet, opt.prof_recent_alloc_max */

CTL_FN(prof_recent_max_ctl)
{
        CTL_UNUSED();
        ssize_t cur = atomic_load(&recent_max);
        if (cur == -2)
                cur = la_opt.prof_recent_alloc_max;
        if (newp != NULL) {
                ssize_t want;
                int rc = la_ctl_write_in(newp, newlen, &want, sizeof(want));
                if (rc != 0)
                        return rc;
                if (want < -1)
                        return EINVAL;
                atomic_store(&recent_max, want);
        }
        return la_ctl_read_out(oldp, oldlenp, &cur, sizeof(cur));
}

CTL_FN(prof_recent_dump_ctl)
{
        CTL_UNUSED();
        CTL_WRITEONLY();
        struct {
                void (*cb)(void *, const char *);
                void *opaque;
        } arg;
        if (newp == NULL)
                return EINVAL;
        int rc = la_ctl_write_in(newp, newlen, &arg, sizeof(arg));
        if (rc != 0)
                return rc;
        if (arg.cb == NULL)
                return EINVAL;
        char num[24], doc[160];
        ssize_t max = atomic_load(&recent_max);
        if (max == -2)
                max = la_opt.prof_recent_alloc_max;
        la_strlcpy(doc, "{\"sample_interval\":", sizeof(doc));
        la_strlcat(doc, la_fmt_u64(num, (uint64_t)1 << la_prof_lg_sample()), sizeof(doc));
        la_strlcat(doc, ",\"recent_alloc_max\":", sizeof(doc));
        la_strlcat(doc, la_fmt_i64(num, (int64_t)max), sizeof(doc));
        la_strlcat(doc, ",\"recent_alloc\":[]}", sizeof(doc));
        arg.cb(arg.opaque, doc);
        return 0;
}

const ctl_node_t la_ctl_prof_recent_nodes[] = {
        CTL_LEAF("alloc_max", prof_recent_max_ctl, "ssize_t", "rw"),
        CTL_LEAF("alloc_dump", prof_recent_dump_ctl, "struct:prof_recent_alloc_dump", "-w"),
        CTL_END,
};

const ctl_node_t la_ctl_prof_nodes[] = {
        CTL_LEAF("thread_active_init", prof_thread_active_init_ctl, "bool", "rw"),
        CTL_LEAF("active", prof_active_ctl, "bool", "rw"),
        CTL_LEAF("dump", prof_dump_ctl, "const char *", "-w"),
        CTL_LEAF("gdump", prof_gdump_ctl, "bool", "rw"),
        CTL_LEAF("prefix", prof_prefix_ctl, "const char *", "-w"),
        CTL_LEAF("reset", prof_reset_ctl, "size_t", "-w"),
        CTL_LEAF("interval", prof_interval_ctl, "uint64_t", "r-"),
        CTL_LEAF("lg_sample", prof_lg_sample_ctl, "size_t", "r-"),
        CTL_LEAF("log_start", prof_log_ctl, "const char *", "-w"),
        CTL_LEAF("log_stop", prof_log_ctl, "void", "--"),
        CTL_NODE("stats", prof_stats_nodes),
        CTL_END,
};
