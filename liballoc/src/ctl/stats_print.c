/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * stats_print: malloc_stats_print and opt.stats_print -- jemalloc 5.3.0's printer
 * (src/stats.c and its emitter) in both of its forms: the human tables ("text") and, with
 * the option letter J, one compact JSON document (docs: stats-json.md).  The option
 * letters g m d a b l x e h drop sections exactly as in 5.3.0.
 *
 * Every figure is read through the mallctl namespace (la_ctl_*), the way jemalloc's printer
 * reads it through mallctl: an epoch refresh first, then names; the loops over arenas,
 * size classes and mutexes translate each name to a MIB once and patch its index slots.
 * A name that fails (ENOENT: not in this build, e.g. opt.prof*, opt.utrace) is left out,
 * as jemalloc leaves out the key whose mallctl fails; a figure that is needed for a row
 * and cannot be read prints as 0.
 *
 * Nothing here allocates (the printer runs at exit and from malloc_stats_print in any
 * state): output is formatted into a 4 KiB buffer on the stack, without the printf family,
 * and handed to write_cb -- or, when write_cb is NULL, to la_message (malloc_message, else
 * stderr) -- each time the buffer fills and once at the end.  No lock is held while
 * write_cb runs, so it may allocate or call mallctl.
 *
 * Deliberate differences from 5.3.0, so that the JSON is valid (RFC 8259: no duplicate
 * keys) and the text says each thing once:
 *  - opt.stats_print and opt.stats_print_opts are written once (5.3.0 writes both twice,
 *    in JSON and in text);
 *  - hpa_shard.full_slabs and hpa_shard.empty_slabs carry ndirty_huge where 5.3.0 writes
 *    nactive_huge a second time (a copy-paste slip in its stats.c);
 *  - JSON strings are escaped (5.3.0 copies them raw).
 */
#include "stats/stats.h"

#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/types.h>

#include "ctl/ctl.h"
#include "ctl/stats_emit.h"
#include "os/util.h"

/* ---- reading the namespace --------------------------------------------------------- */

typedef struct mib {
        size_t mib[LA_CTL_MAX_DEPTH];
        size_t len; /* 0: the name did not resolve; reads fail */
} mib_t;

/* v is zeroed first, so that a failed read leaves 0. */
static int rd(const char *name, void *v, size_t sz)
{
        size_t len = sz;
        memset(v, 0, sz);
        return la_ctl_byname(name, v, &len, NULL, 0);
}

static bool mib_init(mib_t *m, const char *name)
{
        m->len = LA_CTL_MAX_DEPTH;
        if (la_ctl_nametomib(name, m->mib, &m->len) != 0) {
                m->len = 0;
                return false;
        }
        return true;
}

static int mib_rd(const mib_t *m, void *v, size_t sz)
{
        size_t len = sz;
        memset(v, 0, sz);
        if (m->len == 0)
                return ENOENT;
        return la_ctl_bymib(m->mib, m->len, v, &len, NULL, 0);
}

static size_t join(char *name, size_t cap, const char *a, const char *b, const char *c)
{
        la_strlcpy(name, a, cap);
        la_strlcat(name, b, cap);
        return la_strlcat(name, c, cap);
}

/* MIBs of prefix+leaves[k], for loops that then patch the index slots. */
static void mibs_init(mib_t *out, const char *prefix, const char *const *leaves, size_t n)
{
        char name[128];
        for (size_t k = 0; k < n; k++) {
                join(name, sizeof(name), prefix, leaves[k], "");
                mib_init(&out[k], name);
        }
}

static void mibs_patch(mib_t *m, size_t n, size_t slot, size_t v)
{
        for (size_t k = 0; k < n; k++)
                if (slot < m[k].len)
                        m[k].mib[slot] = v;
}

/* The position of a named component: the MIB of prefix+name, entry slot. */
static size_t child_pos(const char *prefix, const char *name, size_t slot)
{
        char buf[128];
        mib_t m;
        join(buf, sizeof(buf), prefix, name, "");
        return mib_init(&m, buf) && slot < m.len ? m.mib[slot] : SIZE_MAX;
}

/* stats.arenas.<i>.<leaf>: translated with 4096 (always valid), then patched. */
static int sa_rd(size_t i, const char *leaf, void *v, size_t sz)
{
        char name[128];
        mib_t m;
        join(name, sizeof(name), "stats.arenas.4096.", leaf, "");
        memset(v, 0, sz);
        if (!mib_init(&m, name))
                return ENOENT;
        m.mib[2] = i;
        return mib_rd(&m, v, sz);
}

static uint64_t sa_u64(size_t i, const char *leaf)
{
        uint64_t v;
        sa_rd(i, leaf, &v, sizeof(v));
        return v;
}

static size_t sa_zu(size_t i, const char *leaf)
{
        size_t v;
        sa_rd(i, leaf, &v, sizeof(v));
        return v;
}

static uint64_t rate_per_second(uint64_t value, uint64_t uptime_ns)
{
        const uint64_t billion = 1000000000;
        if (uptime_ns == 0 || value == 0)
                return 0;
        if (uptime_ns < billion)
                return value;
        return value / (uptime_ns / billion);
}

/* Counters sz bytes wide (uint32_t, size_t or uint64_t), read by name or through a MIB
 * and widened. */
typedef union num {
        uint32_t u32;
        size_t z;
        uint64_t u64;
} num_t;

static uint64_t num_get(const num_t *x, size_t sz)
{
        if (sz == sizeof(uint64_t))
                return x->u64;
        return sz == sizeof(size_t) ? x->z : x->u32;
}

static uint64_t rd_num(const char *name, size_t sz)
{
        num_t x;
        rd(name, &x, sz);
        return num_get(&x, sz);
}

static uint64_t mib_num(const mib_t *m, size_t sz)
{
        num_t x;
        mib_rd(m, &x, sz);
        return num_get(&x, sz);
}

/* n counters of one width, through m[0..n-1]. */
static void mibs_read(const mib_t *m, size_t n, size_t sz, uint64_t *v)
{
        for (size_t k = 0; k < n; k++)
                v[k] = mib_num(&m[k], sz);
}

/* MIBs of stats.arenas.<i>.<prefix><leaves[k]>; prefix's own indices are patched later. */
static void arena_mibs(mib_t *out, size_t i, const char *prefix, const char *const *leaves,
                       size_t n)
{
        char name[96];
        join(name, sizeof(name), "stats.arenas.4096.", prefix, "");
        mibs_init(out, name, leaves, n);
        mibs_patch(out, n, 2, i);
}

/* ---- tables ------------------------------------------------------------------------ */

/* A text table column: its width (including the gap before it) and title; a nonzero rate
 * adds a "(#/sec)" column that wide after it, holding the value per second of uptime. */
typedef struct col {
        unsigned char width, rate;
        const char *title;
} col_t;

static void header_cells(em_t *em, const col_t *cols, size_t n)
{
        for (size_t k = 0; k < n; k++) {
                em_cell_t(em, cols[k].width, cols[k].title);
                if (cols[k].rate != 0)
                        em_cell_t(em, cols[k].rate, "(#/sec)");
        }
}

/* A header line's start: lead (e.g. "bins:") takes its width from the first column's. */
static void header_lead(em_t *em, const char *lead, const col_t *cols, size_t n)
{
        em_puts(em, lead);
        em_cell_t(em, cols[0].width - strlen(lead), cols[0].title);
        header_cells(em, cols + 1, n - 1);
}

static void row_cells(em_t *em, const col_t *cols, size_t n, const uint64_t *v, uint64_t uptime)
{
        for (size_t k = 0; k < n; k++) {
                em_cell_u(em, cols[k].width, v[k]);
                if (cols[k].rate != 0)
                        em_cell_u(em, cols[k].rate, rate_per_second(v[k], uptime));
        }
}

/* n counters as JSON keys. */
static void json_counters(em_t *em, const char *const *keys, const uint64_t *v, size_t n)
{
        for (size_t k = 0; k < n; k++)
                em_json_kv(em, keys[k], vu(v[k]));
}

/* Text only: labels[0] v[0] labels[1] v[1] ... */
static void text_list(em_t *em, const char *const *labels, const uint64_t *v, size_t n)
{
        for (size_t k = 0; k < n && !em->json; k++) {
                em_puts(em, labels[k]);
                em_text_u(em, v[k]);
        }
}

static const char *const gap_line = "                     ---\n";

/* In text, a run of empty rows is left out and marked by one gap_line, written when the
 * run ends (gap_row, for each row; true if it is empty) or after the table (gap_end). */
static bool gap_row(em_t *em, bool *in_gap, bool empty)
{
        if (*in_gap && !empty)
                em_text(em, gap_line);
        *in_gap = empty;
        return empty;
}

static void gap_end(em_t *em, bool in_gap)
{
        if (in_gap)
                em_text(em, gap_line);
}

/* ---- mutex counters ---------------------------------------------------------------- */

#define NCOUNTERS 7
static const char *const counter_names[NCOUNTERS] = {
        "num_ops",         "num_wait",      "num_spin_acq", "num_owner_switch",
        "total_wait_time", "max_wait_time", "max_num_thds",
};
/* The text columns of the counters (after the optional 21-wide name column). */
static const col_t mutex_cols[NCOUNTERS] = {
        {16, 8, "n_lock_ops"},     {16, 8, "n_waiting"},      {16, 8, "n_spin_acq"},
        {16, 8, "n_owner_switch"}, {16, 10, "total_wait_ns"}, {16, 0, "max_wait_ns"},
        {12, 0, "max_n_thds"},
};

static const char *const global_mutex_names[] = {
        "background_thread",
        "max_per_bg_thd",
        "ctl",
        "prof",
        "prof_thds_data",
        "prof_dump",
        "prof_recent_alloc",
        "prof_recent_dump",
        "prof_stats",
};
static const char *const arena_mutex_names[] = {
        "large",          "extent_avail", "extents_dirty", "extents_muzzy", "extents_retained",
        "decay_dirty",    "decay_muzzy",  "base",          "tcache_list",   "hpa_shard",
        "hpa_shard_grow", "hpa_sec",
};

static void mutex_read(const mib_t cm[NCOUNTERS], uint64_t out[NCOUNTERS])
{
        mibs_read(cm, NCOUNTERS - 1, sizeof(uint64_t), out);
        out[NCOUNTERS - 1] = mib_num(&cm[NCOUNTERS - 1], sizeof(uint32_t)); /* max_num_thds */
}

static void mutex_json(em_t *em, const char *key, const uint64_t m[NCOUNTERS])
{
        em_json_object_kv_begin(em, key);
        json_counters(em, counter_names, m, NCOUNTERS);
        em_json_object_end(em);
}

/* One mutex table (global or one arena's): prefix names the group, e.g.
 * "stats.mutexes." (mutex slot 2) or "stats.arenas.4096.mutexes." (arena 2, mutex 4). */
static void mutex_table(em_t *em, const char *prefix, size_t arena, bool arena_slot,
                        const char *const *names, size_t n, uint64_t uptime)
{
        char first[96];
        mib_t cm[NCOUNTERS];
        size_t slot = arena_slot ? 4 : 2;
        join(first, sizeof(first), prefix, names[0], ".");
        mibs_init(cm, first, counter_names, NCOUNTERS);
        if (arena_slot)
                mibs_patch(cm, NCOUNTERS, 2, arena);
        if (!em->json) {
                em_cell_l(em, 21, "");
                header_cells(em, mutex_cols, NCOUNTERS);
                em_putc(em, '\n');
        }
        em_json_object_kv_begin(em, "mutexes");
        for (size_t k = 0; k < n; k++) {
                uint64_t m[NCOUNTERS];
                size_t pos = child_pos(prefix, names[k], slot);
                if (pos == SIZE_MAX)
                        continue;
                mibs_patch(cm, NCOUNTERS, slot, pos);
                mutex_read(cm, m);
                mutex_json(em, names[k], m);
                if (!em->json) {
                        em_cell_l(em, 21, names[k]);
                        row_cells(em, mutex_cols, NCOUNTERS, m, uptime);
                        em_putc(em, '\n');
                }
        }
        em_json_object_end(em);
}

/* ---- per-arena sections ------------------------------------------------------------ */

typedef struct opts {
        bool json, general, merged, destroyed, unmerged, bins, large, mutex, extents, hpa;
} opts_t;

typedef struct ctx {
        opts_t o;
        bool prof_stats; /* config.prof && opt.prof && opt.prof_stats */
        size_t page;
        unsigned nbins, nlextents;
        mib_t lextent_size; /* arenas.lextent.<j>.size */
} ctx_t;

/* prof.stats.{bins,lextents}.<j>.{live,accum} (merged stats only, with opt.prof_stats):
 * requested bytes and count of each, as 4 columns (titles = JSON keys). */
typedef struct prof_stats {
        uint64_t req_sum, count;
} prof_stats_t;
#define NPROF 4
static const char *const prof_leaves[2] = {"live", "accum"};
static const col_t prof_cols[NPROF] = {
        {21, 0, "prof_live_requested"},
        {17, 0, "prof_live_count"},
        {21, 0, "prof_accum_requested"},
        {17, 0, "prof_accum_count"},
};

static void prof_read(mib_t ps[2], size_t j, uint64_t out[NPROF])
{
        mibs_patch(ps, 2, 3, j);
        for (int q = 0; q < 2; q++) {
                prof_stats_t s;
                mib_rd(&ps[q], &s, sizeof(s));
                out[2 * q] = s.req_sum;
                out[2 * q + 1] = s.count;
        }
}

static void prof_json(em_t *em, const uint64_t p[NPROF])
{
        for (int k = 0; k < NPROF; k++)
                em_json_kv(em, prof_cols[k].title, vu(p[k]));
}

/* arenas.bin.<j>.*: the MIBs come from mibs_init(m, "arenas.bin.0.", bin_info_leaves, NBI). */
enum { BI_SIZE, BI_NREGS, BI_SLAB_SIZE, BI_NSHARDS, NBI };
static const char *const bin_info_leaves[NBI] = {"size", "nregs", "slab_size", "nshards"};

static void bin_info_read(mib_t m[NBI], size_t j, uint64_t out[NBI])
{
        static const unsigned char sz[NBI] = {sizeof(size_t), sizeof(uint32_t), sizeof(size_t),
                                              sizeof(uint32_t)};
        mibs_patch(m, NBI, 2, j);
        for (int k = 0; k < NBI; k++)
                out[k] = mib_num(&m[k], sz[k]);
}

/* util: curregs / (nregs * curslabs) as x.yyy (jemalloc's get_rate_str). */
static void bin_util(char util[8], uint64_t curregs, uint64_t nregs, uint64_t curslabs)
{
        uint64_t avail = nregs * curslabs;
        if (avail == 0) {
                la_strlcpy(util, "1", 8);
        } else if (curregs > avail) {
                la_strlcpy(util, " race", 8);
        } else {
                unsigned n = (unsigned)(curregs * 1000 / avail);
                char num[24];
                la_fmt_u64(num, n);
                if (n >= 1000)
                        la_strlcpy(util, "1", 8);
                else
                        join(util, 8, n < 10 ? "0.00" : n < 100 ? "0.0" : "0.", num, "");
        }
}

/* The bins table's numeric columns, with the prof columns after the first NBC_PROF and the
 * util columns (" " and "util", text) after the first NBC_UTIL; then the mutex columns. */
enum { NBC_PROF = 6, NBC_UTIL = 12, NBC = 16 };
static const col_t bin_cols[NBC] = {
        {20, 0, "size"},          {4, 0, "ind"},       {13, 0, "allocated"},
        {13, 8, "nmalloc"},       {13, 8, "ndalloc"},  {13, 10, "nrequests"},
        {9, 0, "nshards"},        {13, 0, "curregs"},  {13, 0, "curslabs"},
        {15, 0, "nonfull_slabs"}, {5, 0, "regs"},      {4, 0, "pgs"},
        {13, 8, "nfills"},        {13, 8, "nflushes"}, {13, 0, "nslabs"},
        {13, 8, "nreslabs"},
};

/* The per-bin counters stats.arenas.<i>.bins.<j>.* that bins_print reads. */
enum { NSLABS, NMALLOC, NDALLOC, CURREGS, NREQUESTS, NFILLS, NFLUSHES, NRESLABS, CURSLABS,
       NONFULL, NBL };
static const char *const bin_leaves[NBL] = {
        "nslabs", "nmalloc",  "ndalloc",  "curregs",  "nrequests",
        "nfills", "nflushes", "nreslabs", "curslabs", "nonfull_slabs",
};

static void bins_print(em_t *em, ctx_t *c, size_t i, uint64_t uptime)
{
        const char *const *leaves = bin_leaves;
        mib_t sb[NBL], info[NBI], mx[NCOUNTERS], ps[2];
        bool prof_on = c->prof_stats && i == LA_ARENAS_ALL;
        bool mutex = c->o.mutex;

        arena_mibs(sb, i, "bins.0.", leaves, NBL);
        mibs_init(info, "arenas.bin.0.", bin_info_leaves, NBI);
        if (mutex)
                arena_mibs(mx, i, "bins.0.mutex.", counter_names, NCOUNTERS);
        if (prof_on)
                mibs_init(ps, "prof.stats.bins.0.", prof_leaves, 2);

        if (!em->json) {
                header_lead(em, "bins:", bin_cols, NBC_PROF);
                if (prof_on)
                        header_cells(em, prof_cols, NPROF);
                header_cells(em, bin_cols + NBC_PROF, NBC_UTIL - NBC_PROF);
                em_cell_t(em, 1, " ");
                em_cell_t(em, 6, "util");
                header_cells(em, bin_cols + NBC_UTIL, NBC - NBC_UTIL);
                if (mutex)
                        header_cells(em, mutex_cols, NCOUNTERS);
                em_putc(em, '\n');
        }
        em_json_array_kv_begin(em, "bins");

        bool in_gap = false;
        for (unsigned j = 0; j < c->nbins; j++) {
                uint64_t v[NBL], bi[NBI], p[NPROF] = {0, 0, 0, 0}, m[NCOUNTERS];
                mibs_patch(sb, NBL, 4, j);
                v[NSLABS] = mib_num(&sb[NSLABS], sizeof(uint64_t));
                if (prof_on)
                        prof_read(ps, j, p);
                /* p[3]: prof_accum_count */
                if (gap_row(em, &in_gap, v[NSLABS] == 0 && (!prof_on || p[3] == 0)) && !em->json)
                        continue;

                bin_info_read(info, j, bi);
                for (int k = NMALLOC; k < NBL; k++) {
                        bool zu = k == CURREGS || k == CURSLABS || k == NONFULL;
                        v[k] = mib_num(&sb[k], zu ? sizeof(size_t) : sizeof(uint64_t));
                }
                if (mutex) {
                        mibs_patch(mx, NCOUNTERS, 4, j);
                        mutex_read(mx, m);
                }

                em_json_object_begin(em);
                json_counters(em, leaves + NMALLOC, v + NMALLOC, NFILLS - NMALLOC);
                if (prof_on)
                        prof_json(em, p);
                json_counters(em, leaves + NFILLS, v + NFILLS, NBL - NFILLS);
                if (mutex)
                        mutex_json(em, "mutex", m);
                em_json_object_end(em);
                if (em->json)
                        continue;

                char util[8];
                bin_util(util, v[CURREGS], bi[BI_NREGS], v[CURSLABS]);
                uint64_t allocated = v[CURREGS] * bi[BI_SIZE];
                uint64_t pgs = c->page != 0 ? bi[BI_SLAB_SIZE] / c->page : 0;
                const uint64_t row[NBC] = {
                        bi[BI_SIZE],    j,
                        allocated,      v[NMALLOC],
                        v[NDALLOC],     v[NREQUESTS],
                        bi[BI_NSHARDS], v[CURREGS],
                        v[CURSLABS],    v[NONFULL],
                        bi[BI_NREGS],   pgs,
                        v[NFILLS],      v[NFLUSHES],
                        v[NSLABS],      v[NRESLABS],
                };
                row_cells(em, bin_cols, NBC_PROF, row, uptime);
                if (prof_on)
                        row_cells(em, prof_cols, NPROF, p, uptime);
                row_cells(em, bin_cols + NBC_PROF, NBC_UTIL - NBC_PROF, row + NBC_PROF, uptime);
                em_cell_t(em, 1, " ");
                em_cell_t(em, 6, util);
                row_cells(em, bin_cols + NBC_UTIL, NBC - NBC_UTIL, row + NBC_UTIL, uptime);
                if (mutex)
                        row_cells(em, mutex_cols, NCOUNTERS, m, uptime);
                em_putc(em, '\n');
        }
        em_json_array_end(em);
        gap_end(em, in_gap);
}

/* The large table: the prof columns come before the last one. */
enum { NLC = 7 };
static const col_t lextent_cols[NLC] = {
        {20, 0, "size"},    {4, 0, "ind"},        {13, 0, "allocated"},   {13, 8, "nmalloc"},
        {13, 8, "ndalloc"}, {13, 8, "nrequests"}, {13, 0, "curlextents"},
};

static void lextents_print(em_t *em, ctx_t *c, size_t i, uint64_t uptime)
{
        enum { NMALLOC, NDALLOC, NREQUESTS, CUR, NLL };
        static const char *const leaves[NLL] = {"nmalloc", "ndalloc", "nrequests", "curlextents"};
        mib_t sl[NLL], ps[2];
        bool prof_on = c->prof_stats && i == LA_ARENAS_ALL;

        arena_mibs(sl, i, "lextents.0.", leaves, NLL);
        if (prof_on)
                mibs_init(ps, "prof.stats.lextents.0.", prof_leaves, 2);
        if (!em->json) {
                header_lead(em, "large:", lextent_cols, NLC - 1);
                if (prof_on)
                        header_cells(em, prof_cols, NPROF);
                header_cells(em, lextent_cols + NLC - 1, 1);
                em_putc(em, '\n');
        }
        em_json_array_kv_begin(em, "lextents");

        bool in_gap = false;
        for (unsigned j = 0; j < c->nlextents; j++) {
                uint64_t v[NLL], p[NPROF] = {0, 0, 0, 0};
                size_t size;
                mibs_patch(sl, NLL, 4, j);
                mibs_read(sl, CUR, sizeof(uint64_t), v);
                v[CUR] = mib_num(&sl[CUR], sizeof(size_t));
                c->lextent_size.mib[2] = j;
                mib_rd(&c->lextent_size, &size, sizeof(size));
                if (prof_on)
                        prof_read(ps, j, p);
                bool empty = gap_row(em, &in_gap, v[NREQUESTS] == 0);
                em_json_object_begin(em);
                if (prof_on)
                        prof_json(em, p);
                em_json_kv(em, "curlextents", vu(v[CUR]));
                em_json_object_end(em);
                if (em->json || empty)
                        continue;
                const uint64_t row[NLC] = {size,       c->nbins + j, v[CUR] * size, v[NMALLOC],
                                           v[NDALLOC], v[NREQUESTS], v[CUR]};
                row_cells(em, lextent_cols, NLC - 1, row, uptime);
                if (prof_on)
                        row_cells(em, prof_cols, NPROF, p, uptime);
                row_cells(em, lextent_cols + NLC - 1, 1, row + NLC - 1, uptime);
                em_putc(em, '\n');
        }
        em_json_array_end(em);
        gap_end(em, in_gap);
}

/* Size of page-size class j (jemalloc's sz_pind2sz): the page multiples among the small
 * classes (1, 2 and 3 pages), then the large classes. */
static size_t psz_size(ctx_t *c, size_t j)
{
        size_t size;
        if (j < 3)
                return (j + 1) * c->page;
        c->lextent_size.mib[2] = j - 3;
        mib_rd(&c->lextent_size, &size, sizeof(size));
        return size;
}

static void extents_print(em_t *em, ctx_t *c, size_t i)
{
        static const char *const leaves[6] = {"ndirty",      "nmuzzy",      "nretained",
                                              "dirty_bytes", "muzzy_bytes", "retained_bytes"};
        static const col_t cols[10] = {
                {20, 0, "size"},   {4, 0, "ind"},    {13, 0, "ndirty"},    {13, 0, "dirty"},
                {13, 0, "nmuzzy"}, {13, 0, "muzzy"}, {13, 0, "nretained"}, {13, 0, "retained"},
                {13, 0, "ntotal"}, {13, 0, "total"},
        };
        mib_t se[6];
        arena_mibs(se, i, "extents.0.", leaves, 6);
        if (!em->json) {
                header_lead(em, "extents:", cols, 10);
                em_putc(em, '\n');
        }
        em_json_array_kv_begin(em, "extents");
        bool in_gap = false;
        for (size_t j = 0; j < LA_NPSIZES; j++) {
                uint64_t v[6];
                mibs_patch(se, 6, 4, j);
                mibs_read(se, 6, sizeof(size_t), v);
                uint64_t total = v[0] + v[1] + v[2];
                bool empty = gap_row(em, &in_gap, total == 0);
                em_json_object_begin(em);
                json_counters(em, leaves, v, 6);
                em_json_object_end(em);
                if (em->json || empty)
                        continue;
                const uint64_t row[10] = {psz_size(c, j), j,    v[0], v[3],  v[1],
                                          v[4],           v[2], v[5], total, v[3] + v[4] + v[5]};
                row_cells(em, cols, 10, row, 0);
                em_putc(em, '\n');
        }
        em_json_array_end(em);
        gap_end(em, in_gap);
}

enum {
        H_NPAGESLABS_HUGE,
        H_NACTIVE_HUGE,
        H_NDIRTY_HUGE,
        H_NPAGESLABS_NONHUGE,
        H_NACTIVE_NONHUGE,
        H_NDIRTY_NONHUGE,
        NHL,
        H_NRETAINED_NONHUGE = NHL /* computed */
};
static const char *const hpa_leaves[NHL] = {
        "npageslabs_huge",    "nactive_huge",    "ndirty_huge",
        "npageslabs_nonhuge", "nactive_nonhuge", "ndirty_nonhuge",
};
#define HUGEPAGE_SIZE ((size_t)2 << 20)
#define PSSET_NPSIZES 64

/* The hpa_leaves through hm, then the nonhuge pages neither active nor dirty. */
static void hpa_read(const ctx_t *c, const mib_t hm[NHL], uint64_t v[NHL + 1])
{
        mibs_read(hm, NHL, sizeof(size_t), v);
        v[H_NRETAINED_NONHUGE] = v[H_NPAGESLABS_NONHUGE] * (HUGEPAGE_SIZE / c->page) -
                                 v[H_NACTIVE_NONHUGE] - v[H_NDIRTY_NONHUGE];
}

/* full_slabs / empty_slabs: text lines and JSON object. */
static void hpa_slabs_print(em_t *em, ctx_t *c, size_t i, const char *group, const char *title)
{
        static const char *const labels[] = {
                "      npageslabs: ",
                " huge, ",
                " nonhuge\n      nactive: ",
                " huge, ",
                " nonhuge \n      ndirty: ",
                " huge, ",
                " nonhuge \n      nretained: 0 huge, ",
        };
        char prefix[64];
        mib_t hm[NHL];
        uint64_t v[NHL + 1];
        join(prefix, sizeof(prefix), "hpa_shard.", group, ".");
        arena_mibs(hm, i, prefix, hpa_leaves, NHL);
        hpa_read(c, hm, v);
        const uint64_t line_v[LA_ARRAY_LEN(labels)] = {
                v[H_NPAGESLABS_HUGE],   v[H_NPAGESLABS_NONHUGE], v[H_NACTIVE_HUGE],
                v[H_NACTIVE_NONHUGE],   v[H_NDIRTY_HUGE],        v[H_NDIRTY_NONHUGE],
                v[H_NRETAINED_NONHUGE],
        };
        em_text(em, title);
        text_list(em, labels, line_v, LA_ARRAY_LEN(labels));
        em_text(em, " nonhuge \n");
        /* 5.3.0 writes nactive_huge twice here and no ndirty_huge: we write each once. */
        em_json_object_kv_begin(em, group);
        json_counters(em, hpa_leaves, v, NHL);
        em_json_object_end(em);
}

static void hpa_print(em_t *em, ctx_t *c, size_t i, uint64_t uptime)
{
        static const char *const totals[4] = {"npurge_passes", "npurges", "nhugifies",
                                              "ndehugifies"};
        static const char *const titles[4] = {
                "  Purge passes: ", "  Purges: ", "  Hugeifies: ", "  Dehugifies: "};
        /* size, ind, the hpa_leaves, nretained_nonhuge */
        static const col_t cols[NHL + 3] = {
                {20, 0, "size"},
                {4, 0, "ind"},
                {16, 0, "npageslabs_huge"},
                {16, 0, "nactive_huge"},
                {16, 0, "ndirty_huge"},
                {20, 0, "npageslabs_nonhuge"},
                {20, 0, "nactive_nonhuge"},
                {20, 0, "ndirty_nonhuge"},
                {20, 0, "nretained_nonhuge"},
        };
        uint64_t t[4];
        char name[64];
        for (int k = 0; k < 4; k++) {
                join(name, sizeof(name), "hpa_shard.", totals[k], "");
                t[k] = sa_u64(i, name);
        }
        size_t sec_bytes = sa_zu(i, "hpa_sec_bytes");
        em_kv(em, "sec_bytes", "Bytes in small extent cache", vu(sec_bytes));
        if (!em->json) {
                em_puts(em, "HPA shard stats:\n");
                for (int k = 0; k < 4; k++) {
                        em_puts(em, titles[k]);
                        em_text_u(em, t[k]);
                        em_puts(em, " (");
                        em_text_u(em, rate_per_second(t[k], uptime));
                        em_puts(em, " / sec)\n");
                }
                em_putc(em, '\n');
        }
        em_json_object_kv_begin(em, "hpa_shard");
        json_counters(em, totals, t, 4);
        hpa_slabs_print(em, c, i, "full_slabs", "  In full slabs:\n");
        hpa_slabs_print(em, c, i, "empty_slabs", "  In empty slabs:\n");
        em_text(em, "\n");

        mib_t hm[NHL];
        arena_mibs(hm, i, "hpa_shard.nonfull_slabs.0.", hpa_leaves, NHL);
        if (!em->json) {
                header_cells(em, cols, NHL + 3);
                em_putc(em, '\n');
        }
        em_json_array_kv_begin(em, "nonfull_slabs");
        bool in_gap = false;
        for (size_t j = 0; j < PSSET_NPSIZES && j < LA_NPSIZES; j++) {
                uint64_t row[NHL + 3];
                mibs_patch(hm, NHL, 5, j);
                hpa_read(c, hm, row + 2);
                bool empty = gap_row(em, &in_gap,
                                     row[2 + H_NPAGESLABS_HUGE] == 0 &&
                                             row[2 + H_NPAGESLABS_NONHUGE] == 0);
                if (!em->json && !empty) {
                        row[0] = psz_size(c, j);
                        row[1] = j;
                        row_cells(em, cols, NHL + 3, row, 0);
                        em_putc(em, '\n');
                }
                em_json_object_begin(em);
                json_counters(em, hpa_leaves, row + 2, NHL);
                em_json_object_end(em);
        }
        em_json_array_end(em);
        em_json_object_end(em); /* hpa_shard */
        gap_end(em, in_gap);
}

/* An arena's decay: its settings, pages and purges (the text's "decaying:" table).
 * Returns its active pages. */
static size_t arena_decay_print(em_t *em, size_t i)
{
        ssize_t decay_ms[2];
        sa_rd(i, "dirty_decay_ms", &decay_ms[0], sizeof(ssize_t));
        sa_rd(i, "muzzy_decay_ms", &decay_ms[1], sizeof(ssize_t));
        size_t pactive = sa_zu(i, "pactive");
        size_t npages[2] = {sa_zu(i, "pdirty"), sa_zu(i, "pmuzzy")};
        static const char *const purge_leaves[2][3] = {
                {"dirty_npurge", "dirty_nmadvise", "dirty_purged"},
                {"muzzy_npurge", "muzzy_nmadvise", "muzzy_purged"},
        };
        static const col_t decay_cols[6] = {
                {9, 0, "decaying:"}, {6, 0, "time"},      {13, 0, "npages"},
                {13, 0, "sweeps"},   {13, 0, "madvises"}, {13, 0, "purged"},
        };
        uint64_t purge[2][3];
        for (int q = 0; q < 2; q++)
                for (int k = 0; k < 3; k++)
                        purge[q][k] = sa_u64(i, purge_leaves[q][k]);
        em_json_kv(em, "dirty_decay_ms", vi(decay_ms[0]));
        em_json_kv(em, "muzzy_decay_ms", vi(decay_ms[1]));
        em_json_kv(em, "pactive", vu(pactive));
        em_json_kv(em, "pdirty", vu(npages[0]));
        em_json_kv(em, "pmuzzy", vu(npages[1]));
        for (int q = 0; q < 2; q++)
                json_counters(em, purge_leaves[q], purge[q], 3);
        if (!em->json) {
                header_cells(em, decay_cols, 6);
                em_putc(em, '\n');
                for (int q = 0; q < 2; q++) {
                        em_cell_t(em, 9, q == 0 ? "dirty:" : "muzzy:");
                        if (decay_ms[q] >= 0)
                                em_cell_i(em, 6, decay_ms[q]);
                        else
                                em_cell_t(em, 6, "N/A");
                        em_cell_u(em, 13, npages[q]);
                        row_cells(em, decay_cols + 3, 3, purge[q], 0);
                        em_putc(em, '\n');
                }
        }
        return pactive;
}

/* An arena's small, large and total allocation counts, and its active bytes. */
static void arena_counts_print(em_t *em, ctx_t *c, size_t i, uint64_t uptime, size_t pactive)
{
        /* small / large / total allocation counts */
        static const char *const count_leaves[6] = {"allocated", "nmalloc", "ndalloc",
                                                    "nrequests", "nfills",  "nflushes"};
        static const col_t count_cols[6] = {
                {16, 0, "allocated"},  {16, 10, "nmalloc"}, {16, 10, "ndalloc"},
                {16, 10, "nrequests"}, {16, 10, "nfill"},   {16, 10, "nflush"},
        };
        uint64_t counts[3][6];
        if (!em->json) {
                em_cell_l(em, 21, "");
                header_cells(em, count_cols, 6);
                em_putc(em, '\n');
        }
        for (int g = 0; g < 2; g++) {
                const char *group = g == 0 ? "small" : "large";
                char name[64];
                for (int k = 0; k < 6; k++) {
                        join(name, sizeof(name), group, ".", count_leaves[k]);
                        if (k == 0)
                                counts[g][k] = sa_zu(i, name);
                        else
                                counts[g][k] = sa_u64(i, name);
                }
                em_json_object_kv_begin(em, group);
                json_counters(em, count_leaves, counts[g], 6);
                em_json_object_end(em);
        }
        for (int k = 0; k < 6; k++)
                counts[2][k] = counts[0][k] + counts[1][k];
        if (!em->json) {
                static const char *const row_titles[3] = {"small:", "large:", "total:"};
                for (int g = 0; g < 3; g++) {
                        em_cell_l(em, 21, row_titles[g]);
                        row_cells(em, count_cols, 6, counts[g], uptime);
                        em_putc(em, '\n');
                }
                em_cell_l(em, 21, "");
                em_cell_t(em, 16, "");
                em_putc(em, '\n');
                em_cell_l(em, 21, "active:");
                em_cell_u(em, 16, (uint64_t)pactive * c->page);
                em_putc(em, '\n');
        }
}

/* An arena's memory figures (mapped, retained, ..., resident). */
static void arena_mem_print(em_t *em, size_t i)
{
        static const char *const mem_leaves[] = {
                "mapped",
                "retained",
                "base",
                "internal",
                "metadata_thp",
                "tcache_bytes",
                "tcache_stashed_bytes",
                "resident",
                "abandoned_vm",
                "extent_avail",
        };
        for (size_t k = 0; k < LA_ARRAY_LEN(mem_leaves); k++) {
                size_t v = sa_zu(i, mem_leaves[k]);
                em_json_kv(em, mem_leaves[k], vu(v));
                if (!em->json) {
                        char title[32];
                        join(title, sizeof(title), mem_leaves[k], ":", "");
                        em_cell_l(em, 21, title);
                        em_cell_u(em, 16, v);
                        em_putc(em, '\n');
                }
        }
}

static void arena_print(em_t *em, ctx_t *c, size_t i)
{
        unsigned nthreads;
        const char *dss;
        sa_rd(i, "nthreads", &nthreads, sizeof(nthreads));
        em_kv(em, "nthreads", "assigned threads", vu(nthreads));
        uint64_t uptime = sa_u64(i, "uptime");
        em_kv(em, "uptime_ns", "uptime", vu(uptime));
        sa_rd(i, "dss", &dss, sizeof(dss));
        em_kv(em, "dss", "dss allocation precedence", vs(dss));

        size_t pactive = arena_decay_print(em, i);
        arena_counts_print(em, c, i, uptime, pactive);
        arena_mem_print(em, i);

        if (c->o.mutex)
                mutex_table(em, "stats.arenas.4096.mutexes.", i, true, arena_mutex_names,
                            LA_ARRAY_LEN(arena_mutex_names), uptime);
        if (c->o.bins)
                bins_print(em, c, i, uptime);
        if (c->o.large)
                lextents_print(em, c, i, uptime);
        if (c->o.extents)
                extents_print(em, c, i);
        if (c->o.hpa)
                hpa_print(em, c, i, uptime);
}

/* ---- general information ----------------------------------------------------------- */

enum otype { O_BOOL, O_UNSIGNED, O_SIZE, O_SSIZE, O_INT64, O_UINT64, O_STR, O_FXP };

/* Reads name as type t into *v; false if the name fails (then the key is left out). */
static bool read_typed(const char *name, enum otype t, val_t *v)
{
        union {
                bool b;
                unsigned u;
                size_t z;
                ssize_t sz;
                int64_t i64;
                uint64_t u64;
                const char *s;
        } x;
        static const size_t sizes[] = {
                [O_BOOL] = sizeof(bool),        [O_UNSIGNED] = sizeof(unsigned),
                [O_SIZE] = sizeof(size_t),      [O_SSIZE] = sizeof(ssize_t),
                [O_INT64] = sizeof(int64_t),    [O_UINT64] = sizeof(uint64_t),
                [O_STR] = sizeof(const char *),
        };
        if (rd(name, &x, sizes[t]) != 0)
                return false;
        switch (t) {
        case O_BOOL:
                *v = vb(x.b);
                break;
        case O_UNSIGNED:
                *v = vu(x.u);
                break;
        case O_SIZE:
                *v = vu(x.z);
                break;
        case O_SSIZE:
                *v = vi(x.sz);
                break;
        case O_INT64:
                *v = vi(x.i64);
                break;
        case O_UINT64:
                *v = vu(x.u64);
                break;
        default:
                *v = vs(x.s);
                break;
        }
        return true;
}

/* name read as t: "json_k":v, and in text "table_k: v" (JSON only where table_k is NULL);
 * nothing if the name fails. */
static void typed_kv(em_t *em, const char *name, enum otype t, const char *json_k,
                     const char *table_k)
{
        val_t v;
        if (!read_typed(name, t, &v))
                return;
        if (table_k != NULL)
                em_kv(em, json_k, table_k, v);
        else
                em_json_kv(em, json_k, v);
}

/* jemalloc's fxp_print: 16.16 fixed point as decimal, fraction without trailing zeros. */
static void fxp_print(uint32_t a, char *buf, size_t cap)
{
        uint32_t fractional_part = a & ((1U << 16) - 1);
        int leading_zeros = 0;
        uint64_t digits = fractional_part;
        char num[24];
        for (int i = 0; i < 14; i++) {
                if (digits < (1U << 16) && digits * 10 >= (1U << 16))
                        leading_zeros = i;
                digits *= 10;
        }
        digits >>= 16;
        while (digits > 0 && digits % 10 == 0)
                digits /= 10;
        join(buf, cap, la_fmt_u64(num, a >> 16), ".", "");
        for (int i = 0; i < leading_zeros; i++)
                la_strlcat(buf, "0", cap);
        la_strlcat(buf, la_fmt_u64(num, digits), cap);
}

/* Build-time settings (config.*) and run-time options (opt.*, with the mutable
 * counterpart as a note in text). */
static const char *const config_names[] = {
        "cache_oblivious",
        "debug",
        "fill",
        "lazy_lock",
        "malloc_conf",
        "opt_safety_checks",
        "prof",
        "prof_libgcc",
        "prof_libunwind",
        "stats",
        "utrace",
        "xmalloc",
};
static const struct {
        const char *name;
        enum otype t;
        const char *mutable_name; /* current value, shown as a note in text */
} opts[] = {
        {"abort", O_BOOL, NULL},
        {"abort_conf", O_BOOL, NULL},
        {"cache_oblivious", O_BOOL, NULL},
        {"confirm_conf", O_BOOL, NULL},
        {"retain", O_BOOL, NULL},
        {"dss", O_STR, NULL},
        {"narenas", O_UNSIGNED, NULL},
        {"percpu_arena", O_STR, NULL},
        {"oversize_threshold", O_SIZE, NULL},
        {"hpa", O_BOOL, NULL},
        {"hpa_slab_max_alloc", O_SIZE, NULL},
        {"hpa_hugification_threshold", O_SIZE, NULL},
        {"hpa_hugify_delay_ms", O_UINT64, NULL},
        {"hpa_min_purge_interval_ms", O_UINT64, NULL},
        {"hpa_dirty_mult", O_FXP, NULL},
        {"hpa_sec_nshards", O_SIZE, NULL},
        {"hpa_sec_max_alloc", O_SIZE, NULL},
        {"hpa_sec_max_bytes", O_SIZE, NULL},
        {"hpa_sec_bytes_after_flush", O_SIZE, NULL},
        {"hpa_sec_batch_fill_extra", O_SIZE, NULL},
        {"metadata_thp", O_STR, NULL},
        {"mutex_max_spin", O_INT64, NULL},
        {"background_thread", O_BOOL, "background_thread"},
        {"dirty_decay_ms", O_SSIZE, "arenas.dirty_decay_ms"},
        {"muzzy_decay_ms", O_SSIZE, "arenas.muzzy_decay_ms"},
        {"lg_extent_max_active_fit", O_SIZE, NULL},
        {"junk", O_STR, NULL},
        {"zero", O_BOOL, NULL},
        {"utrace", O_BOOL, NULL},
        {"xmalloc", O_BOOL, NULL},
        {"experimental_infallible_new", O_BOOL, NULL},
        {"tcache", O_BOOL, NULL},
        {"tcache_max", O_SIZE, NULL},
        {"tcache_nslots_small_min", O_UNSIGNED, NULL},
        {"tcache_nslots_small_max", O_UNSIGNED, NULL},
        {"tcache_nslots_large", O_UNSIGNED, NULL},
        {"lg_tcache_nslots_mul", O_SSIZE, NULL},
        {"tcache_gc_incr_bytes", O_SIZE, NULL},
        {"tcache_gc_delay_bytes", O_SIZE, NULL},
        {"lg_tcache_flush_small_div", O_UNSIGNED, NULL},
        {"lg_tcache_flush_large_div", O_UNSIGNED, NULL},
        {"thp", O_STR, NULL},
        {"prof", O_BOOL, NULL},
        {"prof_prefix", O_STR, NULL},
        {"prof_active", O_BOOL, "prof.active"},
        {"prof_thread_active_init", O_BOOL, "prof.thread_active_init"},
        {"lg_prof_sample", O_SSIZE, "prof.lg_sample"},
        {"prof_accum", O_BOOL, NULL},
        {"lg_prof_interval", O_SSIZE, NULL},
        {"prof_gdump", O_BOOL, NULL},
        {"prof_final", O_BOOL, NULL},
        {"prof_leak", O_BOOL, NULL},
        {"prof_leak_error", O_BOOL, NULL},
        /* 5.3.0 writes the next two twice (duplicate JSON keys); once here. */
        {"stats_print", O_BOOL, NULL},
        {"stats_print_opts", O_STR, NULL},
        {"stats_interval", O_INT64, NULL},
        {"stats_interval_opts", O_STR, NULL},
        {"zero_realloc", O_STR, NULL},
};

static void config_print(em_t *em)
{
        char name[96];
        em_dict_begin(em, "config", "Build-time option settings");
        for (size_t k = 0; k < LA_ARRAY_LEN(config_names); k++) {
                join(name, sizeof(name), "config.", config_names[k], "");
                typed_kv(em, name, strcmp(config_names[k], "malloc_conf") == 0 ? O_STR : O_BOOL,
                         config_names[k], name);
        }
        em_dict_end(em);
}

static void opts_print(em_t *em)
{
        char name[96];
        val_t v, note;
        em_dict_begin(em, "opt", "Run-time option settings");
        for (size_t k = 0; k < LA_ARRAY_LEN(opts); k++) {
                join(name, sizeof(name), "opt.", opts[k].name, "");
                if (opts[k].t == O_FXP) {
                        uint32_t u32;
                        char buf[32];
                        if (rd(name, &u32, sizeof(u32)) != 0)
                                continue;
                        if (u32 == UINT32_MAX)
                                la_strlcpy(buf, "-1", sizeof(buf));
                        else
                                fxp_print(u32, buf, sizeof(buf));
                        em_kv(em, opts[k].name, name, vs(buf));
                        continue;
                }
                if (!read_typed(name, opts[k].t, &v))
                        continue;
                if (opts[k].mutable_name == NULL) {
                        em_kv(em, opts[k].name, name, v);
                } else if (read_typed(opts[k].mutable_name, opts[k].t, &note)) {
                        em_kv_note(em, opts[k].name, name, v, opts[k].mutable_name, note);
                }
        }
        em_dict_end(em);
}

/* prof.*, where profiling is built in. */
static void prof_print(em_t *em)
{
        char name[96];
        val_t v;
        bool config_prof;
        rd("config.prof", &config_prof, sizeof(config_prof));
        if (config_prof) {
                static const struct {
                        const char *name;
                        enum otype t;
                } prof[] = {
                        {"thread_active_init", O_BOOL}, {"active", O_BOOL},     {"gdump", O_BOOL},
                        {"interval", O_UINT64},         {"lg_sample", O_SSIZE},
                };
                em_dict_begin(em, "prof", "Profiling settings");
                for (size_t k = 0; k < LA_ARRAY_LEN(prof); k++) {
                        join(name, sizeof(name), "prof.", prof[k].name, "");
                        if (!read_typed(name, prof[k].t, &v))
                                v = prof[k].t == O_BOOL ? vb(false) : vu(0);
                        em_kv(em, prof[k].name, name, v);
                }
                em_dict_end(em);
        }
}

/* arenas.*: the counts and sizes of the classes (JSON: an "arenas" object). */
static void arenas_general_print(em_t *em, ctx_t *c)
{
        /* JSON puts these in an "arenas" object; the text at the top level. */
        em_json_object_kv_begin(em, "arenas");
        typed_kv(em, "arenas.narenas", O_UNSIGNED, "narenas", "Arenas");
        typed_kv(em, "arenas.dirty_decay_ms", O_SSIZE, "dirty_decay_ms", NULL);
        typed_kv(em, "arenas.muzzy_decay_ms", O_SSIZE, "muzzy_decay_ms", NULL);
        typed_kv(em, "arenas.quantum", O_SIZE, "quantum", "Quantum size");
        typed_kv(em, "arenas.page", O_SIZE, "page", "Page size");
        typed_kv(em, "arenas.tcache_max", O_SIZE, "tcache_max", "Maximum thread-cached size class");
        em_kv(em, "nbins", "Number of bin size classes", vu(c->nbins));
        typed_kv(em, "arenas.nhbins", O_UNSIGNED, "nhbins",
                 "Number of thread-cache bin size classes");
        if (em->json) {
                mib_t bm[NBI];
                mibs_init(bm, "arenas.bin.0.", bin_info_leaves, NBI);
                em_json_array_kv_begin(em, "bin");
                for (unsigned j = 0; j < c->nbins; j++) {
                        uint64_t bi[NBI];
                        bin_info_read(bm, j, bi);
                        em_json_object_begin(em);
                        json_counters(em, bin_info_leaves, bi, NBI);
                        em_json_object_end(em);
                }
                em_json_array_end(em);
        }
        em_kv(em, "nlextents", "Number of large size classes", vu(c->nlextents));
        if (em->json) {
                em_json_array_kv_begin(em, "lextent");
                for (unsigned j = 0; j < c->nlextents; j++) {
                        size_t size;
                        c->lextent_size.mib[2] = j;
                        mib_rd(&c->lextent_size, &size, sizeof(size));
                        em_json_object_begin(em);
                        em_json_kv(em, "size", vu(size));
                        em_json_object_end(em);
                }
                em_json_array_end(em);
        }
        em_json_object_end(em); /* arenas */
}

static void general_print(em_t *em, ctx_t *c)
{
        typed_kv(em, "version", O_STR, "version", "Version");

        config_print(em);
        opts_print(em);
        prof_print(em);
        arenas_general_print(em, c);
}

/* ---- totals and the arena loop ----------------------------------------------------- */

static void totals_print(em_t *em, ctx_t *c)
{
        /* stats.<names[k]> (size_t), written in text after labels[k] */
        static const char *const names[] = {"allocated", "active", "metadata", "metadata_thp",
                                            "resident",  "mapped", "retained", "zero_reallocs"};
        static const char *const labels[LA_ARRAY_LEN(names)] = {
                "Allocated: ",   ", active: ",
                ", metadata: ",  " (n_thp ",
                "), resident: ", ", mapped: ",
                ", retained: ",  "\nCount of realloc(non-null-ptr, 0) calls: ",
        };
        static const char *const bg_names[3] = {"num_threads", "num_runs", "run_interval"};
        static const char *const bg_labels[3] = {
                "Background threads: ", ", num_runs: ", ", run_interval: "};
        uint64_t v[LA_ARRAY_LEN(names)];
        char name[64];
        for (size_t k = 0; k < LA_ARRAY_LEN(names); k++) {
                join(name, sizeof(name), "stats.", names[k], "");
                v[k] = rd_num(name, sizeof(size_t));
        }
        const uint64_t bg[3] = {
                rd_num("stats.background_thread.num_threads", sizeof(size_t)),
                rd_num("stats.background_thread.num_runs", sizeof(uint64_t)),
                rd_num("stats.background_thread.run_interval", sizeof(uint64_t)),
        };

        em_json_object_kv_begin(em, "stats");
        json_counters(em, names, v, LA_ARRAY_LEN(names));
        text_list(em, labels, v, LA_ARRAY_LEN(names));
        em_text(em, "\n");
        em_json_object_kv_begin(em, "background_thread");
        json_counters(em, bg_names, bg, 3);
        em_json_object_end(em);
        text_list(em, bg_labels, bg, 3);
        em_text(em, " ns\n");
        if (c->o.mutex) {
                /* Rates use arena 0's uptime, as in 5.3.0. */
                uint64_t uptime = sa_u64(0, "uptime");
                mutex_table(em, "stats.mutexes.", 0, false, global_mutex_names,
                            LA_ARRAY_LEN(global_mutex_names), uptime);
        }
        em_json_object_end(em); /* stats */
}

static void arena_block(em_t *em, ctx_t *c, size_t ind, const char *json_k, const char *text_head)
{
        em_text(em, text_head);
        em_json_object_kv_begin(em, json_k);
        arena_print(em, c, ind);
        em_json_object_end(em);
}

static void arenas_print(em_t *em, ctx_t *c)
{
        unsigned narenas;
        mib_t im;
        bool init;
        /* Which arenas are initialised: a bitmap for the first 4096 (re-read beyond). */
        uint64_t bits[LA_ARENAS_ALL / 64];
        unsigned ninitialized = 0;

        em_json_object_kv_begin(em, "stats.arenas");
        rd("arenas.narenas", &narenas, sizeof(narenas));
        mib_init(&im, "arena.0.initialized");
        memset(bits, 0, sizeof(bits));
        for (unsigned i = 0; i < narenas; i++) {
                im.mib[1] = i;
                mib_rd(&im, &init, sizeof(init));
                if (!init)
                        continue;
                ninitialized++;
                if (i < LA_ARENAS_ALL)
                        bits[i / 64] |= (uint64_t)1 << (i % 64);
        }
        im.mib[1] = LA_ARENAS_DESTROYED;
        bool destroyed_initialized;
        mib_rd(&im, &destroyed_initialized, sizeof(destroyed_initialized));

        if (c->o.merged && (ninitialized > 1 || !c->o.unmerged))
                arena_block(em, c, LA_ARENAS_ALL, "merged", "Merged arenas stats:\n");
        if (destroyed_initialized && c->o.destroyed)
                arena_block(em, c, LA_ARENAS_DESTROYED, "destroyed", "Destroyed arenas stats:\n");
        if (c->o.unmerged) {
                for (unsigned i = 0; i < narenas; i++) {
                        if (i < LA_ARENAS_ALL) {
                                init = (bits[i / 64] >> (i % 64)) & 1;
                        } else {
                                im.mib[1] = i;
                                mib_rd(&im, &init, sizeof(init));
                        }
                        if (!init)
                                continue;
                        char num[24], head[48];
                        la_fmt_u64(num, i);
                        join(head, sizeof(head), "arenas[", num, "]:\n");
                        arena_block(em, c, i, num, head);
                }
        }
        em_json_object_end(em); /* stats.arenas */
}

/* ---- entry ------------------------------------------------------------------------- */

/* The option letters: J turns JSON on, each other one drops a section. */
static void opts_parse(opts_t *o, const char *opts)
{
        static const struct {
                char letter;
                size_t off;
        } letters[] = {
                {'J', offsetof(opts_t, json)},     {'g', offsetof(opts_t, general)},
                {'m', offsetof(opts_t, merged)},   {'d', offsetof(opts_t, destroyed)},
                {'a', offsetof(opts_t, unmerged)}, {'b', offsetof(opts_t, bins)},
                {'l', offsetof(opts_t, large)},    {'x', offsetof(opts_t, mutex)},
                {'e', offsetof(opts_t, extents)},  {'h', offsetof(opts_t, hpa)},
        };
        for (const char *p = opts; p != NULL && *p != '\0'; p++)
                for (size_t k = 0; k < LA_ARRAY_LEN(letters); k++)
                        if (*p == letters[k].letter)
                                *(bool *)((char *)o + letters[k].off) = *p == 'J';
}

void la_stats_print(void (*write_cb)(void *, const char *), void *cbopaque, const char *opts)
{
        uint64_t epoch = 1;
        size_t sz = sizeof(epoch);
        int err = la_ctl_byname("epoch", &epoch, &sz, &epoch, sizeof(epoch));
        if (err != 0) {
                la_message(err == EAGAIN ? "<jemalloc>: Memory allocation failure in "
                                           "mallctl(\"epoch\", ...)\n"
                                         : "<jemalloc>: Failure in mallctl(\"epoch\", ...)\n");
                return;
        }

        ctx_t c;
        bool config_stats;
        rd("config.stats", &config_stats, sizeof(config_stats));
        c.o = (opts_t){
                .json = false,
                .general = true,
                .merged = config_stats,
                .destroyed = config_stats,
                .unmerged = config_stats,
                .bins = true,
                .large = true,
                .mutex = true,
                .extents = true,
                .hpa = config_stats,
        };
        opts_parse(&c.o, opts);

        bool config_prof, opt_prof = false, opt_prof_stats = false;
        rd("config.prof", &config_prof, sizeof(config_prof));
        if (config_prof) {
                rd("opt.prof", &opt_prof, sizeof(opt_prof));
                rd("opt.prof_stats", &opt_prof_stats, sizeof(opt_prof_stats));
        }
        c.prof_stats = config_prof && opt_prof && opt_prof_stats;
        rd("arenas.page", &c.page, sizeof(c.page));
        if (c.page == 0)
                c.page = 4096;
        rd("arenas.nbins", &c.nbins, sizeof(c.nbins));
        rd("arenas.nlextents", &c.nlextents, sizeof(c.nlextents));
        mib_init(&c.lextent_size, "arenas.lextent.0.size");

        em_t em;
        em.cb = write_cb;
        em.opaque = cbopaque;
        em.json = c.o.json;
        em.item_at_depth = false;
        em.emitted_key = false;
        em.depth = 0;
        em.len = 0;

        if (em.json) {
                em_putc(&em, '{');
                em.depth = 1;
        }
        em_text(&em, "___ Begin jemalloc statistics ___\n");
        em_json_object_kv_begin(&em, "jemalloc");
        if (c.o.general)
                general_print(&em, &c);
        if (config_stats) {
                totals_print(&em, &c);
                if (c.o.merged || c.o.destroyed || c.o.unmerged)
                        arenas_print(&em, &c);
        }
        em_json_object_end(&em); /* jemalloc */
        em_text(&em, "--- End jemalloc statistics ---\n");
        if (em.json)
                em_putc(&em, '}');
        em_flush(&em);
}
