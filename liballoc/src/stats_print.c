/*
 * stats_print: malloc_stats_print (temporary minimal printer).  Definitions follow jemalloc:
 * allocated = live usable bytes; active = pages of slabs and large/huge allocations;
 * resident = active + dirty pages + metadata (an upper bound); mapped = active + dirty +
 * muzzy + metadata; retained = reserved address space handed back to the OS.
 */
#include "stats.h"

#include <stdatomic.h>
#include <stdbool.h>
#include <string.h>

#include "arena.h"
#include "conf.h"
#include "meta.h"
#include "os.h"
#include "thread.h"
#include "ctl.h"

/* ---- malloc_stats_print ------------------------------------------------------------ */

typedef struct out {
        void (*cb)(void *, const char *);
        void *opaque;
        char buf[4096];
        size_t len;
} out_t;

static void out_flush(out_t *o)
{
        if (o->len == 0)
                return;
        o->buf[o->len] = '\0';
        if (o->cb != NULL)
                o->cb(o->opaque, o->buf);
        else
                la_message(o->buf);
        o->len = 0;
}

static void out_str(out_t *o, const char *s)
{
        while (*s != '\0') {
                if (o->len == sizeof(o->buf) - 1)
                        out_flush(o);
                o->buf[o->len++] = *s++;
        }
}

static void out_u64(out_t *o, uint64_t v)
{
        char num[24];
        out_str(o, la_fmt_u64(num, v));
}

static void out_i64(out_t *o, int64_t v)
{
        char num[24];
        out_str(o, la_fmt_i64(num, v));
}

/* JSON: one compact document, no whitespace, no trailing newline (jemalloc's framing). */
static void json_key(out_t *o, const char *key)
{
        out_str(o, "\"");
        out_str(o, key);
        out_str(o, "\":");
}

static void json_u64(out_t *o, const char *key, uint64_t v, bool more)
{
        json_key(o, key);
        out_u64(o, v);
        out_str(o, more ? "," : "");
}

static void json_i64(out_t *o, const char *key, int64_t v, bool more)
{
        json_key(o, key);
        out_i64(o, v);
        out_str(o, more ? "," : "");
}

static void json_bool(out_t *o, const char *key, bool v, bool more)
{
        json_key(o, key);
        out_str(o, v ? "true" : "false");
        out_str(o, more ? "," : "");
}

static void json_str(out_t *o, const char *key, const char *v, bool more)
{
        json_key(o, key);
        out_str(o, "\"");
        out_str(o, v);
        out_str(o, more ? "\"," : "\"");
}

static void print_json_general(out_t *o)
{
        json_str(o, "version", "5.3.0-0-g54eaed1d8b56b1aa528be3bdd1877e59c56fa90c", true);
        out_str(o, "\"config\":{");
        json_bool(o, "cache_oblivious", false, true);
        json_bool(o, "debug", false, true);
        json_bool(o, "fill", true, true);
        json_bool(o, "lazy_lock", false, true);
        json_str(o, "malloc_conf", "", true);
        json_bool(o, "opt_safety_checks", false, true);
        json_bool(o, "prof", false, true);
        json_bool(o, "prof_libgcc", false, true);
        json_bool(o, "prof_libunwind", false, true);
        json_bool(o, "stats", true, true);
        json_bool(o, "utrace", false, true);
        json_bool(o, "xmalloc", false, false);
        out_str(o, "},\"opt\":{");
        json_bool(o, "abort", la_opt.abort, true);
        json_bool(o, "abort_conf", la_opt.abort_conf, true);
        json_bool(o, "retain", la_opt.retain, true);
        json_str(o, "dss", la_opt.dss, true);
        json_u64(o, "narenas", la_opt.narenas, true);
        json_u64(o, "oversize_threshold", la_opt.oversize_threshold, true);
        json_bool(o, "background_thread", la_opt.background_thread, true);
        json_i64(o, "dirty_decay_ms", la_opt.dirty_decay_ms, true);
        json_i64(o, "muzzy_decay_ms", la_opt.muzzy_decay_ms, true);
        json_str(o, "junk", la_opt.junk, true);
        json_bool(o, "zero", la_opt.zero, true);
        json_bool(o, "tcache", la_opt.tcache, true);
        json_u64(o, "tcache_max", la_opt.tcache_max, true);
        json_str(o, "thp", la_opt.thp, true);
        json_bool(o, "stats_print", la_opt.stats_print, true);
        json_str(o, "stats_print_opts", la_opt.stats_print_opts, true);
        json_str(o, "zero_realloc", la_opt.zero_realloc, false);
        out_str(o, "},\"arenas\":{");
        json_u64(o, "narenas", atomic_load(&la_narenas_total), true);
        json_i64(o, "dirty_decay_ms", atomic_load(&la_default_decay_ms[0]), true);
        json_i64(o, "muzzy_decay_ms", atomic_load(&la_default_decay_ms[1]), true);
        json_u64(o, "quantum", LA_QUANTUM, true);
        json_u64(o, "page", LA_PAGE, true);
        json_u64(o, "tcache_max", la_opt.tcache_max, true);
        json_u64(o, "nbins", LA_NBINS, true);
        json_u64(o, "nlextents", LA_NLEXTENTS, false);
        out_str(o, "},");
}

static void print_json(out_t *o, const la_stats_snapshot_t *s, bool general)
{
        out_str(o, "{\"jemalloc\":{");
        if (general)
                print_json_general(o);
        out_str(o, "\"stats\":{");
        json_u64(o, "allocated", s->allocated, true);
        json_u64(o, "active", s->active, true);
        json_u64(o, "metadata", s->metadata, true);
        json_u64(o, "resident", s->resident, true);
        json_u64(o, "mapped", s->mapped, true);
        json_u64(o, "retained", s->retained, true);
        json_u64(o, "zero_reallocs", s->zero_reallocs, false);
        out_str(o, "}}}");
}

static void print_text_general(out_t *o);
static void print_text_totals(out_t *o, const la_stats_snapshot_t *s);

static void print_decay_row(out_t *o, const char *label, ssize_t ms, size_t npages,
                            const la_arena_stats_t *st, int q)
{
        out_str(o, label);
        out_i64(o, ms);
        out_str(o, " ");
        out_u64(o, npages);
        out_str(o, " ");
        out_u64(o, st->npurge[q]);
        out_str(o, " ");
        out_u64(o, st->nmadvise[q]);
        out_str(o, " ");
        out_u64(o, st->purged[q]);
}

static void print_text(out_t *o, const la_stats_snapshot_t *s, bool general)
{
        out_str(o, "___ Begin jemalloc statistics ___\n");
        if (general)
                print_text_general(o);
        print_text_totals(o, s);
}

static void print_text_general(out_t *o)
{
        out_str(o, "Version: \"5.3.0-0-g54eaed1d8b56b1aa528be3bdd1877e59c56fa90c\" (liballoc "
                   "0.1.0)\n");
        out_str(o, "Run-time option settings:\n  opt.narenas: ");
        out_u64(o, la_opt.narenas);
        out_str(o, "\n  opt.dirty_decay_ms: ");
        out_i64(o, la_opt.dirty_decay_ms);
        out_str(o, "\n  opt.muzzy_decay_ms: ");
        out_i64(o, la_opt.muzzy_decay_ms);
        out_str(o, "\n  opt.tcache: ");
        out_str(o, la_opt.tcache ? "true" : "false");
        out_str(o, "\nArenas: ");
        out_u64(o, atomic_load(&la_narenas_total));
        out_str(o, "\nQuantum size: 16\nPage size: 4096\n");
}

static void print_text_totals(out_t *o, const la_stats_snapshot_t *s)
{
        out_str(o, "Allocated: ");
        out_u64(o, s->allocated);
        out_str(o, ", active: ");
        out_u64(o, s->active);
        out_str(o, ", metadata: ");
        out_u64(o, s->metadata);
        out_str(o, ", resident: ");
        out_u64(o, s->resident);
        out_str(o, ", mapped: ");
        out_u64(o, s->mapped);
        out_str(o, ", retained: ");
        out_u64(o, s->retained);
        out_str(o, "\n");
        unsigned n = atomic_load(&la_narenas_total);
        for (unsigned i = 0; i < n; i++) {
                la_arena_t *a = la_arena_get(i, false);
                if (a == NULL)
                        continue;
                la_mutex_lock(&a->lock);
                la_arena_stats_t st = a->stats;
                size_t pd = a->npages[LA_RUN_DIRTY], pm = a->npages[LA_RUN_MUZZY];
                ssize_t dms = a->decay[0].ms, mms = a->decay[1].ms;
                la_mutex_unlock(&a->lock);
                out_str(o, "arenas[");
                out_u64(o, i);
                out_str(o, "]:\nassigned threads: ");
                out_u64(o, atomic_load(&a->nthreads));
                out_str(o, "\ndecaying:  time       npages       sweeps     madvises       purged\n");
                print_decay_row(o, "   dirty: ", dms, pd, &st, 0);
                print_decay_row(o, "\n   muzzy: ", mms, pm, &st, 1);
                out_str(o, "\nactive pages: ");
                out_u64(o, st.pactive);
                out_str(o, ", slabs: ");
                out_u64(o, st.nslabs);
                (void)0;
                out_str(o, ", large: ");
                out_u64(o, st.large_allocated);
                out_str(o, " bytes (");
                out_u64(o, st.nmalloc_large);
                out_str(o, " allocated, ");
                out_u64(o, st.ndalloc_large);
                out_str(o, " freed), huge: ");
                out_u64(o, atomic_load(&a->huge_allocated));
                out_str(o, " bytes\n");
        }
        out_str(o, "--- End jemalloc statistics ---\n");
}

void la_stats_print(void (*write_cb)(void *, const char *), void *cbopaque, const char *opts)
{
        uint64_t e = 1;
        size_t sz = sizeof(e);
        la_ctl_byname("epoch", &e, &sz, &e, sz);
        bool json = opts != NULL && strchr(opts, 'J') != NULL;
        out_t o;
        o.cb = write_cb;
        o.opaque = cbopaque;
        o.len = 0;
        la_stats_snapshot_t s = *la_stats_get();
        bool general = opts == NULL || strchr(opts, 'g') == NULL;
        if (json)
                print_json(&o, &s, general);
        else
                print_text(&o, &s, general);
        out_flush(&o);
}
