/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * ctl_arena: the names that act: thread.*, tcache.*, arena.<i>.*, arenas.*,
 * background_thread (prof.* and thread.prof.* are in ctl_prof.c) and
 * experimental.*.
 */
#include <string.h>

#include <jemalloc/jemalloc.h>

#include "core/alloc.h"
#include "core/arena.h"
#include "bg/bg.h"
#include "core/conf.h"
#include "ctl/ctl_tree.h"
#include "prof/prof.h"
#include "core/decay.h"
#include "core/heap.h"
#include "ctl/hooks.h"
#include "core/pagemap.h"
#include "core/sizeclass.h"
#include "stats/stats.h"
#include "core/tcache.h"
#include "core/thread.h"

/* Reads the current value into old, and if newp is given takes the new value into *want
 * (returning its error); the caller applies it. */
#define CTL_RW_BEGIN(T, cur, want)                                                         \
        T old_v = (cur);                                                                   \
        T want;                                                                            \
        bool writing = newp != NULL;                                                       \
        if (writing) {                                                                     \
                int rc_ = la_ctl_write_in(newp, newlen, &want, sizeof(T));                 \
                if (rc_ != 0)                                                              \
                        return rc_;                                                        \
        }
#define CTL_RW_END() return la_ctl_read_out(oldp, oldlenp, &old_v, sizeof(old_v))

/* ---- background_thread ------------------------------------------------------------- */

int la_ctl_background_thread(CTL_ARGS)
{
        CTL_UNUSED();
        CTL_RW_BEGIN(bool, la_bg_enabled(), want)
        if (writing && la_bg_enable(want) != 0)
                return EFAULT;
        CTL_RW_END();
}

int la_ctl_max_background_threads(CTL_ARGS)
{
        CTL_UNUSED();
        CTL_RW_BEGIN(size_t, la_bg_get_max(), want)
        if (writing) {
                int rc = la_bg_set_max(want);
                if (rc != 0)
                        return rc == -EINVAL ? EINVAL : EFAULT;
        }
        CTL_RW_END();
}

/* ---- thread.* ---------------------------------------------------------------------- */

CTL_FN(thread_arena_ctl)
{
        CTL_UNUSED();
        CTL_RW_BEGIN(unsigned, la_thread_arena()->ind, want)
        if (writing && la_thread_set_arena(want) != 0)
                return EFAULT;
        CTL_RW_END();
}

CTL_RO(thread_allocated_ctl, uint64_t, la_thread_allocated())
CTL_RO(thread_deallocated_ctl, uint64_t, la_thread_deallocated())
CTL_RO(thread_allocatedp_ctl, uint64_t *, la_thread_counterp(false))
CTL_RO(thread_deallocatedp_ctl, uint64_t *, la_thread_counterp(true))
CTL_RO(thread_peak_read_ctl, uint64_t, la_thread_peak(false))

CTL_FN(thread_peak_reset_ctl)
{
        CTL_UNUSED();
        CTL_NEITHER();
        la_thread_peak(true);
        return 0;
}

CTL_FN(thread_tcache_enabled_ctl)
{
        CTL_UNUSED();
        CTL_RW_BEGIN(bool, la_thread_tcache_get(), want)
        if (writing)
                la_thread_tcache_set(want);
        CTL_RW_END();
}

CTL_FN(thread_tcache_flush_ctl)
{
        CTL_UNUSED();
        CTL_NEITHER();
        la_thread_tcache_flush();
        return 0;
}

CTL_FN(thread_idle_ctl)
{
        CTL_UNUSED();
        CTL_NEITHER();
        la_thread_idle();
        return 0;
}


static const ctl_node_t thread_tcache_nodes[] = {
        CTL_LEAF("enabled", thread_tcache_enabled_ctl, "bool", "rw"),
        CTL_LEAF("flush", thread_tcache_flush_ctl, "void", "--"),
        CTL_END,
};
static const ctl_node_t thread_peak_nodes[] = {
        CTL_LEAF("read", thread_peak_read_ctl, "uint64_t", "r-"),
        CTL_LEAF("reset", thread_peak_reset_ctl, "void", "--"),
        CTL_END,
};
const ctl_node_t la_ctl_thread_nodes[] = {
        CTL_LEAF("arena", thread_arena_ctl, "unsigned", "rw"),
        CTL_LEAF("allocated", thread_allocated_ctl, "uint64_t", "r-"),
        CTL_LEAF("allocatedp", thread_allocatedp_ctl, "uint64_t *", "r-"),
        CTL_LEAF("deallocated", thread_deallocated_ctl, "uint64_t", "r-"),
        CTL_LEAF("deallocatedp", thread_deallocatedp_ctl, "uint64_t *", "r-"),
        CTL_NODE("peak", thread_peak_nodes),
        CTL_NODE("tcache", thread_tcache_nodes),
        CTL_NODE("prof", la_ctl_thread_prof_nodes),
        CTL_LEAF("idle", thread_idle_ctl, "void", "--"),
        CTL_END,
};

/* ---- tcache.* ---------------------------------------------------------------------- */

CTL_FN(tcache_create_ctl)
{
        CTL_UNUSED();
        CTL_READONLY();
        if (oldp == NULL || oldlenp == NULL || *oldlenp != sizeof(unsigned)) {
                if (oldlenp != NULL)
                        *oldlenp = 0;
                return EINVAL;
        }
        unsigned id;
        if (la_tcache_create(&id) != 0)
                return EFAULT;
        return la_ctl_read_out(oldp, oldlenp, &id, sizeof(id));
}

static int tcache_op(void *oldp, size_t *oldlenp, void *newp, size_t newlen, bool destroy)
{
        CTL_WRITEONLY();
        unsigned id;
        if (newp == NULL)
                return EINVAL;
        int rc = la_ctl_write_in(newp, newlen, &id, sizeof(id));
        if (rc != 0)
                return rc;
        rc = destroy ? la_tcache_destroy(id) : la_tcache_flush(id);
        return rc != 0 ? EFAULT : 0;
}

CTL_FN(tcache_flush_ctl)
{
        CTL_UNUSED();
        return tcache_op(oldp, oldlenp, newp, newlen, false);
}

CTL_FN(tcache_destroy_ctl)
{
        CTL_UNUSED();
        return tcache_op(oldp, oldlenp, newp, newlen, true);
}

const ctl_node_t la_ctl_tcache_nodes[] = {
        CTL_LEAF("create", tcache_create_ctl, "unsigned", "r-"),
        CTL_LEAF("flush", tcache_flush_ctl, "unsigned", "-w"),
        CTL_LEAF("destroy", tcache_destroy_ctl, "unsigned", "-w"),
        CTL_END,
};

/* ---- arena.<i>.* (mib[1] is the index) --------------------------------------------- */

int la_ctl_arena_index_ok(size_t i)
{
        /* i == narenas is jemalloc's deprecated alias of 4096 (Redis purges with it). */
        return i <= atomic_load(&la_narenas_total) || i == LA_ARENAS_ALL ||
                               i == LA_ARENAS_DESTROYED
                       ? 0
                       : ENOENT;
}

static bool is_all(size_t ind)
{
        return ind == LA_ARENAS_ALL || ind == atomic_load(&la_narenas_total);
}

CTL_FN(arena_initialized_ctl)
{
        (void)miblen;
        CTL_READONLY();
        bool v = mib[1] == LA_ARENAS_ALL || la_stats_arena(mib[1]) != NULL;
        return la_ctl_read_out(oldp, oldlenp, &v, sizeof(v));
}

static int arena_purge_common(size_t ind, bool all)
{
        /* The caller's own heap may hold slabs that other threads emptied: give those
         * back first, so that a purge from the application's thread returns them. */
        la_thread_trim();
        if (is_all(ind)) {
                unsigned n = atomic_load(&la_narenas_total);
                for (unsigned i = 0; i < n; i++) {
                        la_arena_t *a = la_arena_get(i, false);
                        if (a != NULL)
                                la_arena_decay(a, all);
                }
                return 0;
        }
        la_arena_t *a = ind < LA_MAX_ARENAS ? la_arena_get((unsigned)ind, false) : NULL;
        if (a != NULL)
                la_arena_decay(a, all);
        return 0;
}

CTL_FN(arena_purge_ctl)
{
        (void)miblen;
        CTL_NEITHER();
        return arena_purge_common(mib[1], true);
}

CTL_FN(arena_decay_ctl)
{
        (void)miblen;
        CTL_NEITHER();
        return arena_purge_common(mib[1], false);
}

static int arena_reset_common(size_t ind, bool destroy)
{
        if (ind >= LA_MAX_ARENAS)
                return EFAULT;
        return la_arena_reset((unsigned)ind, destroy) != 0 ? EFAULT : 0;
}

CTL_FN(arena_reset_ctl)
{
        (void)miblen;
        CTL_NEITHER();
        return arena_reset_common(mib[1], false);
}

CTL_FN(arena_destroy_ctl)
{
        (void)miblen;
        CTL_NEITHER();
        return arena_reset_common(mib[1], true);
}

/* The existing arena of a per-arena name, or NULL (EFAULT for the caller). */
static la_arena_t *arena_of(size_t ind)
{
        return ind < LA_MAX_ARENAS ? la_arena_get((unsigned)ind, false) : NULL;
}

static const char *const dss_names[] = {"disabled", "primary", "secondary"};

CTL_FN(arena_dss_ctl)
{
        (void)miblen;
        size_t ind = mib[1];
        la_arena_t *a = is_all(ind) ? NULL : arena_of(ind);
        if (!is_all(ind) && a == NULL)
                return EFAULT;
        const char *cur = a != NULL ? a->dss : la_opt.dss;
        CTL_RW_BEGIN(const char *, cur, want)
        if (writing) {
                const char *match = NULL;
                for (unsigned k = 0; k < 3 && want != NULL; k++)
                        if (strcmp(want, dss_names[k]) == 0)
                                match = dss_names[k];
                if (match == NULL)
                        return EINVAL;
                /* Recorded only: liballoc never uses sbrk (docs/mallctl.md). */
                if (a != NULL)
                        a->dss = match;
                else
                        la_opt.dss = match;
        }
        CTL_RW_END();
}

CTL_FN(arena_oversize_ctl)
{
        (void)miblen;
        la_arena_t *a = arena_of(mib[1]);
        if (a == NULL)
                return EFAULT;
        CTL_RW_BEGIN(size_t, atomic_load(&a->oversize_threshold), want)
        if (writing)
                atomic_store(&a->oversize_threshold, want);
        CTL_RW_END();
}

static int arena_decay_ms_ctl(int which, size_t ind, void *oldp, size_t *oldlenp, void *newp,
                              size_t newlen)
{
        la_arena_t *a = arena_of(ind);
        if (a == NULL)
                return EFAULT;
        CTL_RW_BEGIN(ssize_t, la_arena_get_decay_ms(a, which), want)
        if (writing && la_arena_set_decay_ms(a, which, want) != 0)
                return EFAULT;
        CTL_RW_END();
}

CTL_FN(arena_dirty_ctl)
{
        (void)miblen;
        return arena_decay_ms_ctl(0, mib[1], oldp, oldlenp, newp, newlen);
}

CTL_FN(arena_muzzy_ctl)
{
        (void)miblen;
        return arena_decay_ms_ctl(1, mib[1], oldp, oldlenp, newp, newlen);
}

CTL_FN(arena_extent_hooks_ctl)
{
        (void)miblen;
        if (arena_of(mib[1]) == NULL)
                return EFAULT;
        CTL_RW_BEGIN(extent_hooks_t *, &la_default_hooks, want)
        if (writing && want != &la_default_hooks)
                return EINVAL; /* custom extent hooks are not supported */
        CTL_RW_END();
}

CTL_FN(arena_retain_grow_limit_ctl)
{
        (void)miblen;
        la_arena_t *a = arena_of(mib[1]);
        if (a == NULL)
                return EFAULT;
        CTL_RW_BEGIN(size_t, atomic_load(&a->retain_grow_limit), want)
        if (writing) {
                if (want < LA_PAGE)
                        return EFAULT;
                atomic_store(&a->retain_grow_limit, want);
        }
        CTL_RW_END();
}

static const ctl_node_t arena_i_nodes[] = {
        CTL_LEAF("initialized", arena_initialized_ctl, "bool", "r-"),
        CTL_LEAF("decay", arena_decay_ctl, "void", "--"),
        CTL_LEAF("purge", arena_purge_ctl, "void", "--"),
        CTL_LEAF("reset", arena_reset_ctl, "void", "--"),
        CTL_LEAF("destroy", arena_destroy_ctl, "void", "--"),
        CTL_LEAF("dss", arena_dss_ctl, "const char *", "rw"),
        CTL_LEAF("oversize_threshold", arena_oversize_ctl, "size_t", "rw"),
        CTL_LEAF("dirty_decay_ms", arena_dirty_ctl, "ssize_t", "rw"),
        CTL_LEAF("muzzy_decay_ms", arena_muzzy_ctl, "ssize_t", "rw"),
        CTL_LEAF("extent_hooks", arena_extent_hooks_ctl, "extent_hooks_t *", "rw"),
        CTL_LEAF("retain_grow_limit", arena_retain_grow_limit_ctl, "size_t", "rw"),
        CTL_END,
};
const ctl_node_t la_ctl_arena_i[] = {CTL_NODE(NULL, arena_i_nodes)};

/* ---- arenas.* ---------------------------------------------------------------------- */

CTL_RO(arenas_narenas_ctl, unsigned, atomic_load(&la_narenas_total))
CTL_RO(arenas_quantum_ctl, size_t, LA_QUANTUM)
CTL_RO(arenas_page_ctl, size_t, LA_PAGE)
CTL_RO(arenas_tcache_max_ctl, size_t, la_opt.tcache_max)
CTL_RO(arenas_nbins_ctl, unsigned, LA_NBINS)
CTL_RO(arenas_nhbins_ctl, unsigned, la_size2cls(la_opt.tcache_max) + 1)
CTL_RO(arenas_nlextents_ctl, unsigned, LA_NLEXTENTS)

static int bin_index_ok(size_t i)
{
        return i < LA_NBINS ? 0 : ENOENT;
}
CTL_RO(arenas_bin_size_ctl, size_t, la_cls_size[mib[2]]) /* usable: less the canary */
CTL_RO(arenas_bin_nregs_ctl, uint32_t, la_bin_info[mib[2]].nregs)
CTL_RO(arenas_bin_slab_size_ctl, size_t, la_bin_info[mib[2]].slab_size)
CTL_RO(arenas_bin_nshards_ctl, uint32_t, 1)
static const ctl_node_t arenas_bin_nodes[] = {
        CTL_LEAF("size", arenas_bin_size_ctl, "size_t", "r-"),
        CTL_LEAF("nregs", arenas_bin_nregs_ctl, "uint32_t", "r-"),
        CTL_LEAF("slab_size", arenas_bin_slab_size_ctl, "size_t", "r-"),
        CTL_LEAF("nshards", arenas_bin_nshards_ctl, "uint32_t", "r-"),
        CTL_END,
};
static const ctl_node_t arenas_bin_i[] = {CTL_NODE(NULL, arenas_bin_nodes)};

static int lextent_index_ok(size_t i)
{
        return i < LA_NLEXTENTS ? 0 : ENOENT;
}
CTL_RO(arenas_lextent_size_ctl, size_t, la_cls_size[LA_NBINS + mib[2]])
static const ctl_node_t arenas_lextent_nodes[] = {
        CTL_LEAF("size", arenas_lextent_size_ctl, "size_t", "r-"),
        CTL_END,
};
static const ctl_node_t arenas_lextent_i[] = {CTL_NODE(NULL, arenas_lextent_nodes)};

static int arenas_decay_ctl(int which, void *oldp, size_t *oldlenp, void *newp, size_t newlen)
{
        CTL_RW_BEGIN(ssize_t, atomic_load(&la_default_decay_ms[which]), want)
        if (writing) {
                if (!la_decay_ms_valid(want))
                        return EFAULT;
                atomic_store(&la_default_decay_ms[which], want);
        }
        CTL_RW_END();
}

CTL_FN(arenas_dirty_ctl)
{
        CTL_UNUSED();
        return arenas_decay_ctl(0, oldp, oldlenp, newp, newlen);
}

CTL_FN(arenas_muzzy_ctl)
{
        CTL_UNUSED();
        return arenas_decay_ctl(1, oldp, oldlenp, newp, newlen);
}

static int create_arena(void *oldp, size_t *oldlenp, extent_hooks_t *hooks)
{
        if (oldp == NULL || oldlenp == NULL || *oldlenp != sizeof(unsigned)) {
                if (oldlenp != NULL)
                        *oldlenp = 0;
                return EINVAL;
        }
        if (hooks != NULL && hooks != &la_default_hooks)
                return EINVAL; /* custom extent hooks are not supported */
        unsigned ind;
        if (la_arena_create(&ind) != 0)
                return EAGAIN;
        return la_ctl_read_out(oldp, oldlenp, &ind, sizeof(ind));
}

CTL_FN(arenas_create_ctl)
{
        CTL_UNUSED();
        extent_hooks_t *hooks = NULL;
        if (newp != NULL && la_ctl_write_in(newp, newlen, &hooks, sizeof(hooks)) != 0)
                return EINVAL;
        return create_arena(oldp, oldlenp, hooks);
}

CTL_FN(arenas_lookup_ctl)
{
        CTL_UNUSED();
        void *ptr;
        if (newp == NULL || la_ctl_write_in(newp, newlen, &ptr, sizeof(ptr)) != 0)
                return EINVAL;
        la_span_t *s = la_pm_lookup(ptr);
        if (s == NULL || s->kind == LA_SPAN_FREE)
                return EINVAL;
        unsigned ind = s->arena_ind;
        return la_ctl_read_out(oldp, oldlenp, &ind, sizeof(ind));
}

const ctl_node_t la_ctl_arenas_nodes[] = {
        CTL_LEAF("narenas", arenas_narenas_ctl, "unsigned", "r-"),
        CTL_LEAF("dirty_decay_ms", arenas_dirty_ctl, "ssize_t", "rw"),
        CTL_LEAF("muzzy_decay_ms", arenas_muzzy_ctl, "ssize_t", "rw"),
        CTL_LEAF("quantum", arenas_quantum_ctl, "size_t", "r-"),
        CTL_LEAF("page", arenas_page_ctl, "size_t", "r-"),
        CTL_LEAF("tcache_max", arenas_tcache_max_ctl, "size_t", "r-"),
        CTL_LEAF("nbins", arenas_nbins_ctl, "unsigned", "r-"),
        CTL_LEAF("nhbins", arenas_nhbins_ctl, "unsigned", "r-"),
        CTL_INDEXED("bin", arenas_bin_i, bin_index_ok),
        CTL_LEAF("nlextents", arenas_nlextents_ctl, "unsigned", "r-"),
        CTL_INDEXED("lextent", arenas_lextent_i, lextent_index_ok),
        CTL_LEAF("create", arenas_create_ctl, "unsigned", "rw"),
        CTL_LEAF("lookup", arenas_lookup_ctl, "unsigned", "rw"),
        CTL_END,
};

/* ---- experimental.* ---------------------------------------------------------------- */

/* hooks.install: liballoc has no allocation hook slots (EAGAIN: none free). */
CTL_FN(exp_hooks_install_ctl)
{
        CTL_UNUSED();
        (void)newlen;
        if (oldp == NULL || oldlenp == NULL || newp == NULL)
                return EINVAL;
        return EAGAIN;
}

CTL_FN(exp_hooks_remove_ctl)
{
        CTL_UNUSED();
        (void)newp, (void)newlen;
        CTL_WRITEONLY();
        return EINVAL; /* no handle was ever given out */
}

/* hooks.prof_backtrace / prof_dump: the unwinder replacement and the callback told each
 * dump's file name (prof.h). */
CTL_FN(exp_prof_bt_hook_ctl)
{
        CTL_UNUSED();
        if (oldp == NULL && newp == NULL)
                return EINVAL;
        la_prof_bt_hook_t old = la_prof_bt_hook_get();
        if (newp != NULL) {
                la_prof_bt_hook_t h;
                int rc = la_ctl_write_in(newp, newlen, &h, sizeof(h));
                if (rc != 0)
                        return rc;
                if (h == NULL)
                        return EINVAL;
                la_prof_bt_hook_set(h);
        }
        return la_ctl_read_out(oldp, oldlenp, &old, sizeof(old));
}

CTL_FN(exp_prof_dump_hook_ctl)
{
        CTL_UNUSED();
        if (oldp == NULL && newp == NULL)
                return EINVAL;
        void (*old)(const char *) = la_prof_dump_hook_get();
        if (newp != NULL) {
                void (*h)(const char *);
                int rc = la_ctl_write_in(newp, newlen, &h, sizeof(h));
                if (rc != 0)
                        return rc;
                la_prof_dump_hook_set(h);
        }
        return la_ctl_read_out(oldp, oldlenp, &old, sizeof(old));
}

CTL_FN(exp_safety_check_abort_ctl)
{
        CTL_UNUSED();
        CTL_WRITEONLY();
        void (*fn)(const char *);
        int rc = la_ctl_write_in(newp, newlen, &fn, sizeof(fn));
        if (rc != 0)
                return rc;
        la_safety_check_abort = fn;
        return 0;
}

typedef struct {
        void *slabcur;
        size_t nfree, nregs, size, bin_nfree, bin_nregs;
} util_query_t;

static void util_of(const void *p, util_query_t *q)
{
        memset(q, 0, sizeof(*q));
        la_span_t *s = la_pm_lookup(p);
        if (s == NULL || s->kind == LA_SPAN_FREE)
                return;
        if (s->kind != LA_SPAN_SMALL) {
                q->nregs = 1;
                q->size = s->usize;
                q->bin_nregs = 1;
                return;
        }
        uint32_t used = __atomic_load_n(&s->used, __ATOMIC_RELAXED);
        q->nregs = s->nregs;
        q->nfree = used < s->nregs ? s->nregs - used : 0;
        q->size = s->usable;
        q->slabcur = (void *)s->base;
        const la_arena_snap_t *as = la_stats_arena(s->arena_ind);
        if (as != NULL) {
                const la_bin_snap_t *b = &as->bins[s->cls];
                q->bin_nregs = b->curslabs * s->nregs;
                q->bin_nfree = q->bin_nregs > b->curregs ? q->bin_nregs - b->curregs : 0;
        }
}

CTL_FN(exp_util_query_ctl)
{
        CTL_UNUSED();
        const void *p;
        if (newp == NULL || oldp == NULL || oldlenp == NULL ||
            la_ctl_write_in(newp, newlen, &p, sizeof(p)) != 0 ||
            *oldlenp != sizeof(util_query_t))
                return EINVAL;
        util_query_t q;
        util_of(p, &q);
        return la_ctl_read_out(oldp, oldlenp, &q, sizeof(q));
}

CTL_FN(exp_util_batch_ctl)
{
        CTL_UNUSED();
        if (newp == NULL || oldp == NULL || oldlenp == NULL || newlen == 0 ||
            newlen % sizeof(void *) != 0)
                return EINVAL;
        size_t n = newlen / sizeof(void *);
        if (*oldlenp != n * 3 * sizeof(size_t))
                return EINVAL;
        const void *const *ptrs = newp;
        size_t *out = oldp;
        for (size_t k = 0; k < n; k++) {
                util_query_t q;
                util_of(ptrs[k], &q);
                out[3 * k] = q.nfree;
                out[3 * k + 1] = q.nregs;
                out[3 * k + 2] = q.size;
        }
        return 0;
}

static int exp_arena_index_ok(size_t i)
{
        return i < atomic_load(&la_narenas_total) ? 0 : ENOENT;
}

CTL_FN(exp_pactivep_ctl)
{
        (void)miblen;
        CTL_READONLY();
        la_arena_t *a = arena_of(mib[2]);
        if (a == NULL)
                return EFAULT;
        size_t *p = &a->stats.pactive;
        return la_ctl_read_out(oldp, oldlenp, &p, sizeof(p));
}
static const ctl_node_t exp_arena_nodes[] = {
        CTL_LEAF("pactivep", exp_pactivep_ctl, "size_t *", "r-"),
        CTL_END,
};
static const ctl_node_t exp_arena_i[] = {CTL_NODE(NULL, exp_arena_nodes)};

CTL_FN(exp_arenas_create_ext_ctl)
{
        CTL_UNUSED();
        struct {
                extent_hooks_t *hooks;
                bool metadata_use_hooks;
        } cfg;
        memset(&cfg, 0, sizeof(cfg));
        if (newp != NULL && la_ctl_write_in(newp, newlen, &cfg, sizeof(cfg)) != 0)
                return EINVAL;
        return create_arena(oldp, oldlenp, cfg.hooks);
}

CTL_FN(exp_batch_alloc_ctl)
{
        CTL_UNUSED();
        struct {
                void **ptrs;
                size_t num, size;
                int flags;
        } in;
        if (newp == NULL || la_ctl_write_in(newp, newlen, &in, sizeof(in)) != 0)
                return EINVAL;
        if (oldp == NULL || oldlenp == NULL || *oldlenp != sizeof(size_t))
                return EINVAL;
        size_t filled = 0;
        la_flags_t f = la_flags_decode(in.flags);
        while (filled < in.num) {
                void *p = la_alloc_flags(in.size, f);
                if (p == NULL)
                        break;
                in.ptrs[filled++] = p;
        }
        return la_ctl_read_out(oldp, oldlenp, &filled, sizeof(filled));
}

CTL_FN(exp_activity_cb_ctl)
{
        CTL_UNUSED();
        la_activity_cb_t old = la_thread_activity_cb(NULL), want;
        if (newp != NULL) {
                int rc = la_ctl_write_in(newp, newlen, &want, sizeof(want));
                if (rc != 0)
                        return rc;
                la_thread_activity_cb(&want);
        }
        return la_ctl_read_out(oldp, oldlenp, &old, sizeof(old));
}

static const ctl_node_t exp_hooks_nodes[] = {
        CTL_LEAF("install", exp_hooks_install_ctl, "struct:hooks", "rw"),
        CTL_LEAF("remove", exp_hooks_remove_ctl, "void *", "-w"),
        CTL_LEAF("prof_backtrace", exp_prof_bt_hook_ctl, "prof_backtrace_hook_t", "rw"),
        CTL_LEAF("prof_dump", exp_prof_dump_hook_ctl, "prof_dump_hook_t", "rw"),
        CTL_LEAF("safety_check_abort", exp_safety_check_abort_ctl, "safety_check_abort_hook_t",
                 "-w"),
        CTL_END,
};
static const ctl_node_t exp_util_nodes[] = {
        CTL_LEAF("query", exp_util_query_ctl, "struct:utilization", "rw"),
        CTL_LEAF("batch_query", exp_util_batch_ctl, "struct:utilization_batch", "rw"),
        CTL_END,
};
static const ctl_node_t exp_thread_nodes[] = {
        CTL_LEAF("activity_callback", exp_activity_cb_ctl, "struct:activity_callback", "rw"),
        CTL_END,
};
const ctl_node_t la_ctl_experimental_nodes[] = {
        CTL_NODE("hooks", exp_hooks_nodes),
        CTL_NODE("utilization", exp_util_nodes),
        CTL_INDEXED("arenas", exp_arena_i, exp_arena_index_ok),
        CTL_LEAF("arenas_create_ext", exp_arenas_create_ext_ctl, "struct:arena_config", "rw"),
        CTL_NODE("prof_recent", la_ctl_prof_recent_nodes),
        CTL_LEAF("batch_alloc", exp_batch_alloc_ctl, "struct:batch_alloc", "rw"),
        CTL_NODE("thread", exp_thread_nodes),
        CTL_END,
};
