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
#include "stats.h"

#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/types.h>

#include "ctl.h"
#include "util.h"

/* ---- output ------------------------------------------------------------------------ */

#define EM_BUF 4096

/* jemalloc's emitter, reduced to what the printer uses.  JSON is always compact. */
typedef struct em {
        void (*cb)(void *, const char *);
        void *opaque;
        bool json;
        bool item_at_depth; /* JSON: a value was already written at this depth */
        bool emitted_key;   /* JSON: a key was written; its value comes next */
        int depth;          /* JSON: object nesting; text: dict indentation */
        size_t len;
        char buf[EM_BUF];
} em_t;

static void em_flush(em_t *em)
{
        if (em->len == 0)
                return;
        em->buf[em->len] = '\0';
        if (em->cb != NULL)
                em->cb(em->opaque, em->buf);
        else
                la_message(em->buf);
        em->len = 0;
}

static void em_write(em_t *em, const char *s, size_t n)
{
        while (n > 0) {
                size_t room = EM_BUF - 1 - em->len;
                if (room == 0) {
                        em_flush(em);
                        continue;
                }
                size_t k = n < room ? n : room;
                memcpy(em->buf + em->len, s, k);
                em->len += k;
                s += k;
                n -= k;
        }
}

static void em_puts(em_t *em, const char *s)
{
        em_write(em, s, strlen(s));
}

static void em_putc(em_t *em, char c)
{
        em_write(em, &c, 1);
}

static void em_pad(em_t *em, size_t n)
{
        static const char spaces[] = "                                ";
        while (n > 0) {
                size_t k = n < sizeof(spaces) - 1 ? n : sizeof(spaces) - 1;
                em_write(em, spaces, k);
                n -= k;
        }
}

/* A value: bool, unsigned or signed integer, string (quoted in both forms, escaped in
 * JSON) or title (a bare table word). */
enum vtype { V_BOOL, V_U64, V_I64, V_STR, V_TITLE };
typedef struct val {
        enum vtype t;
        union {
                bool b;
                uint64_t u;
                int64_t i;
                const char *s;
        };
} val_t;

static val_t vb(bool b)
{
        val_t v = {.t = V_BOOL, .b = b};
        return v;
}
static val_t vu(uint64_t u)
{
        val_t v = {.t = V_U64, .u = u};
        return v;
}
static val_t vi(int64_t i)
{
        val_t v = {.t = V_I64, .i = i};
        return v;
}
static val_t vs(const char *s)
{
        val_t v = {.t = V_STR, .s = s != NULL ? s : ""};
        return v;
}
static val_t vt(const char *s)
{
        val_t v = {.t = V_TITLE, .s = s != NULL ? s : ""};
        return v;
}

static void json_string(em_t *em, const char *s)
{
        static const char hex[] = "0123456789abcdef";
        const char *run = s;
        em_putc(em, '"');
        for (; *s != '\0'; s++) {
                unsigned char c = (unsigned char)*s;
                if (c >= 0x20 && c != '"' && c != '\\')
                        continue;
                em_write(em, run, (size_t)(s - run));
                char esc[7] = {'\\', (char)c, '\0', '\0', '\0', '\0', '\0'};
                if (c == '\n')
                        esc[1] = 'n';
                else if (c == '\t')
                        esc[1] = 't';
                else if (c == '\r')
                        esc[1] = 'r';
                else if (c < 0x20) {
                        esc[1] = 'u';
                        esc[2] = '0';
                        esc[3] = '0';
                        esc[4] = hex[c >> 4];
                        esc[5] = hex[c & 15];
                }
                em_puts(em, esc);
                run = s + 1;
        }
        em_write(em, run, (size_t)(s - run));
        em_putc(em, '"');
}

enum { JUST_NONE, JUST_LEFT, JUST_RIGHT };

/* Writes v, padded to width with the given justification (text only). */
static void em_value(em_t *em, val_t v, int just, size_t width)
{
        char num[24];
        const char *s;
        size_t n, quotes = 0;
        switch (v.t) {
        case V_BOOL:
                s = v.b ? "true" : "false";
                break;
        case V_U64:
                s = la_fmt_u64(num, v.u);
                break;
        case V_I64:
                s = la_fmt_i64(num, v.i);
                break;
        case V_STR:
                if (em->json) {
                        json_string(em, v.s);
                        return;
                }
                s = v.s;
                quotes = 2;
                break;
        default:
                s = v.s;
                break;
        }
        n = strlen(s) + quotes;
        if (just == JUST_RIGHT && width > n)
                em_pad(em, width - n);
        if (quotes != 0)
                em_putc(em, '"');
        em_puts(em, s);
        if (quotes != 0)
                em_putc(em, '"');
        if (just == JUST_LEFT && width > n)
                em_pad(em, width - n);
}

/* -- JSON -- */

static void json_key_prefix(em_t *em)
{
        if (em->emitted_key) {
                em->emitted_key = false;
                return;
        }
        if (em->item_at_depth)
                em_putc(em, ',');
}

static void json_key(em_t *em, const char *key)
{
        if (!em->json)
                return;
        json_key_prefix(em);
        json_string(em, key);
        em_putc(em, ':');
        em->emitted_key = true;
}

static void json_value(em_t *em, val_t v)
{
        if (!em->json)
                return;
        json_key_prefix(em);
        em_value(em, v, JUST_NONE, 0);
        em->item_at_depth = true;
}

static void json_kv(em_t *em, const char *key, val_t v)
{
        json_key(em, key);
        json_value(em, v);
}

static void json_open(em_t *em, char c)
{
        if (!em->json)
                return;
        json_key_prefix(em);
        em_putc(em, c);
        em->depth++;
        em->item_at_depth = false;
}

static void json_close(em_t *em, char c)
{
        if (!em->json)
                return;
        em->depth--;
        em->item_at_depth = true;
        em_putc(em, c);
}

static void json_object_begin(em_t *em)
{
        json_open(em, '{');
}
static void json_object_kv_begin(em_t *em, const char *key)
{
        json_key(em, key);
        json_open(em, '{');
}
static void json_object_end(em_t *em)
{
        json_close(em, '}');
}
static void json_array_kv_begin(em_t *em, const char *key)
{
        json_key(em, key);
        json_open(em, '[');
}
static void json_array_end(em_t *em)
{
        json_close(em, ']');
}

/* -- text -- */

static void text(em_t *em, const char *s)
{
        if (!em->json)
                em_puts(em, s);
}

static void text_u(em_t *em, uint64_t v)
{
        char num[24];
        if (!em->json)
                em_puts(em, la_fmt_u64(num, v));
}

/* Table cells: no separators, the widths include the gaps (as jemalloc's rows). */
static void cell_u(em_t *em, size_t width, uint64_t v)
{
        em_value(em, vu(v), JUST_RIGHT, width);
}
static void cell_i(em_t *em, size_t width, int64_t v)
{
        em_value(em, vi(v), JUST_RIGHT, width);
}
static void cell_t(em_t *em, size_t width, const char *s)
{
        em_value(em, vt(s), JUST_RIGHT, width);
}
static void cell_l(em_t *em, size_t width, const char *s)
{
        em_value(em, vt(s), JUST_LEFT, width);
}

/* -- both -- */

/* "json_key":v, or in text "<indent>table_key: v[ (note_key: note)]\n". */
static void kv_note(em_t *em, const char *json_k, const char *table_k, val_t v, const char *note_k,
                    val_t note)
{
        if (em->json) {
                json_kv(em, json_k, v);
                return;
        }
        em_pad(em, (size_t)em->depth * 2);
        em_puts(em, table_k);
        em_puts(em, ": ");
        em_value(em, v, JUST_NONE, 0);
        if (note_k != NULL) {
                em_puts(em, " (");
                em_puts(em, note_k);
                em_puts(em, ": ");
                em_value(em, note, JUST_NONE, 0);
                em_putc(em, ')');
        }
        em_putc(em, '\n');
        em->item_at_depth = true;
}

static void kv(em_t *em, const char *json_k, const char *table_k, val_t v)
{
        kv_note(em, json_k, table_k, v, NULL, vb(false));
}

static void dict_begin(em_t *em, const char *json_k, const char *table_header)
{
        if (em->json) {
                json_object_kv_begin(em, json_k);
                return;
        }
        em_pad(em, (size_t)em->depth * 2);
        em_puts(em, table_header);
        em_putc(em, '\n');
        em->depth++;
        em->item_at_depth = false;
}

static void dict_end(em_t *em)
{
        if (em->json) {
                json_object_end(em);
                return;
        }
        em->depth--;
        em->item_at_depth = true;
}

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

/* ---- mutex counters ---------------------------------------------------------------- */

#define NCOUNTERS 7
static const char *const counter_names[NCOUNTERS] = {
        "num_ops",         "num_wait",      "num_spin_acq", "num_owner_switch",
        "total_wait_time", "max_wait_time", "max_num_thds",
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

typedef struct mtx {
        uint64_t c[NCOUNTERS];
} mtx_t;

static void mutex_read(const mib_t cm[NCOUNTERS], mtx_t *out)
{
        for (int k = 0; k < NCOUNTERS - 1; k++)
                mib_rd(&cm[k], &out->c[k], sizeof(uint64_t));
        uint32_t thds;
        mib_rd(&cm[NCOUNTERS - 1], &thds, sizeof(thds));
        out->c[NCOUNTERS - 1] = thds;
}

static void mutex_json(em_t *em, const mtx_t *m)
{
        for (int k = 0; k < NCOUNTERS; k++)
                json_kv(em, counter_names[k], vu(m->c[k]));
}

/* Column titles (after the optional 21-wide name column). */
static void mutex_header(em_t *em)
{
        cell_t(em, 16, "n_lock_ops");
        cell_t(em, 8, "(#/sec)");
        cell_t(em, 16, "n_waiting");
        cell_t(em, 8, "(#/sec)");
        cell_t(em, 16, "n_spin_acq");
        cell_t(em, 8, "(#/sec)");
        cell_t(em, 16, "n_owner_switch");
        cell_t(em, 8, "(#/sec)");
        cell_t(em, 16, "total_wait_ns");
        cell_t(em, 10, "(#/sec)");
        cell_t(em, 16, "max_wait_ns");
        cell_t(em, 12, "max_n_thds");
}

static void mutex_cells(em_t *em, const mtx_t *m, uint64_t uptime)
{
        for (int k = 0; k < 5; k++) {
                cell_u(em, 16, m->c[k]);
                cell_u(em, k == 4 ? 10 : 8, rate_per_second(m->c[k], uptime));
        }
        cell_u(em, 16, m->c[5]);
        cell_u(em, 12, m->c[6]);
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
                cell_l(em, 21, "");
                mutex_header(em);
                em_putc(em, '\n');
        }
        json_object_kv_begin(em, "mutexes");
        for (size_t k = 0; k < n; k++) {
                mtx_t m;
                size_t pos = child_pos(prefix, names[k], slot);
                if (pos == SIZE_MAX)
                        continue;
                mibs_patch(cm, NCOUNTERS, slot, pos);
                mutex_read(cm, &m);
                json_object_kv_begin(em, names[k]);
                mutex_json(em, &m);
                json_object_end(em);
                if (!em->json) {
                        cell_l(em, 21, names[k]);
                        mutex_cells(em, &m, uptime);
                        em_putc(em, '\n');
                }
        }
        json_object_end(em);
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

typedef struct prof_stats {
        uint64_t req_sum, count;
} prof_stats_t;

static const char *const gap_line = "                     ---\n";

static void bins_print(em_t *em, ctx_t *c, size_t i, uint64_t uptime)
{
        enum {
                NSLABS,
                NMALLOC,
                NDALLOC,
                CURREGS,
                NREQUESTS,
                NFILLS,
                NFLUSHES,
                NRESLABS,
                CURSLABS,
                NONFULL,
                NBL
        };
        static const char *const leaves[NBL] = {
                "nslabs", "nmalloc",  "ndalloc",  "curregs",  "nrequests",
                "nfills", "nflushes", "nreslabs", "curslabs", "nonfull_slabs",
        };
        static const char *const info_leaves[4] = {"size", "nregs", "slab_size", "nshards"};
        static const char *const prof_leaves[2] = {"live", "accum"};
        mib_t sb[NBL], info[4], mx[NCOUNTERS], ps[2];
        bool prof_on = c->prof_stats && i == LA_ARENAS_ALL;
        bool mutex = c->o.mutex;

        mibs_init(sb, "stats.arenas.4096.bins.0.", leaves, NBL);
        mibs_patch(sb, NBL, 2, i);
        mibs_init(info, "arenas.bin.0.", info_leaves, 4);
        if (mutex) {
                mibs_init(mx, "stats.arenas.4096.bins.0.mutex.", counter_names, NCOUNTERS);
                mibs_patch(mx, NCOUNTERS, 2, i);
        }
        if (prof_on)
                mibs_init(ps, "prof.stats.bins.0.", prof_leaves, 2);

        if (!em->json) {
                em_puts(em, "bins:");
                cell_t(em, 15, "size");
                cell_t(em, 4, "ind");
                cell_t(em, 13, "allocated");
                cell_t(em, 13, "nmalloc");
                cell_t(em, 8, "(#/sec)");
                cell_t(em, 13, "ndalloc");
                cell_t(em, 8, "(#/sec)");
                cell_t(em, 13, "nrequests");
                cell_t(em, 10, "(#/sec)");
                if (prof_on) {
                        cell_t(em, 21, "prof_live_requested");
                        cell_t(em, 17, "prof_live_count");
                        cell_t(em, 21, "prof_accum_requested");
                        cell_t(em, 17, "prof_accum_count");
                }
                cell_t(em, 9, "nshards");
                cell_t(em, 13, "curregs");
                cell_t(em, 13, "curslabs");
                cell_t(em, 15, "nonfull_slabs");
                cell_t(em, 5, "regs");
                cell_t(em, 4, "pgs");
                cell_t(em, 1, " ");
                cell_t(em, 6, "util");
                cell_t(em, 13, "nfills");
                cell_t(em, 8, "(#/sec)");
                cell_t(em, 13, "nflushes");
                cell_t(em, 8, "(#/sec)");
                cell_t(em, 13, "nslabs");
                cell_t(em, 13, "nreslabs");
                cell_t(em, 8, "(#/sec)");
                if (mutex)
                        mutex_header(em);
                em_putc(em, '\n');
        }
        json_array_kv_begin(em, "bins");

        bool in_gap = false;
        for (unsigned j = 0; j < c->nbins; j++) {
                uint64_t v[NBL];
                prof_stats_t live = {0, 0}, accum = {0, 0};
                mibs_patch(sb, NBL, 4, j);
                mibs_patch(info, 4, 2, j);
                mib_rd(&sb[NSLABS], &v[NSLABS], sizeof(uint64_t));
                if (prof_on) {
                        mibs_patch(ps, 2, 3, j);
                        mib_rd(&ps[0], &live, sizeof(live));
                        mib_rd(&ps[1], &accum, sizeof(accum));
                }
                bool in_gap_prev = in_gap;
                in_gap = v[NSLABS] == 0 && (!prof_on || accum.count == 0);
                if (in_gap_prev && !in_gap)
                        text(em, gap_line);
                if (in_gap && !em->json)
                        continue;

                size_t reg_size, slab_size, sz;
                uint32_t nregs, nshards;
                mib_rd(&info[0], &reg_size, sizeof(reg_size));
                mib_rd(&info[1], &nregs, sizeof(nregs));
                mib_rd(&info[2], &slab_size, sizeof(slab_size));
                mib_rd(&info[3], &nshards, sizeof(nshards));
                for (int k = NMALLOC; k < NBL; k++) {
                        if (k == CURREGS || k == CURSLABS || k == NONFULL) {
                                mib_rd(&sb[k], &sz, sizeof(sz));
                                v[k] = sz;
                        } else {
                                mib_rd(&sb[k], &v[k], sizeof(uint64_t));
                        }
                }
                mtx_t m;
                if (mutex) {
                        mibs_patch(mx, NCOUNTERS, 4, j);
                        mutex_read(mx, &m);
                }

                json_object_begin(em);
                json_kv(em, "nmalloc", vu(v[NMALLOC]));
                json_kv(em, "ndalloc", vu(v[NDALLOC]));
                json_kv(em, "curregs", vu(v[CURREGS]));
                json_kv(em, "nrequests", vu(v[NREQUESTS]));
                if (prof_on) {
                        json_kv(em, "prof_live_requested", vu(live.req_sum));
                        json_kv(em, "prof_live_count", vu(live.count));
                        json_kv(em, "prof_accum_requested", vu(accum.req_sum));
                        json_kv(em, "prof_accum_count", vu(accum.count));
                }
                json_kv(em, "nfills", vu(v[NFILLS]));
                json_kv(em, "nflushes", vu(v[NFLUSHES]));
                json_kv(em, "nreslabs", vu(v[NRESLABS]));
                json_kv(em, "curslabs", vu(v[CURSLABS]));
                json_kv(em, "nonfull_slabs", vu(v[NONFULL]));
                if (mutex) {
                        json_object_kv_begin(em, "mutex");
                        mutex_json(em, &m);
                        json_object_end(em);
                }
                json_object_end(em);
                if (em->json)
                        continue;

                /* util: curregs / (nregs * curslabs) as x.yyy (jemalloc's get_rate_str). */
                char util[8];
                uint64_t avail = (uint64_t)nregs * v[CURSLABS];
                if (avail == 0) {
                        la_strlcpy(util, "1", sizeof(util));
                } else if (v[CURREGS] > avail) {
                        la_strlcpy(util, " race", sizeof(util));
                } else {
                        unsigned n = (unsigned)(v[CURREGS] * 1000 / avail);
                        char num[24];
                        la_fmt_u64(num, n);
                        if (n >= 1000)
                                la_strlcpy(util, "1", sizeof(util));
                        else
                                join(util, sizeof(util),
                                     n < 10    ? "0.00"
                                     : n < 100 ? "0.0"
                                               : "0.",
                                     num, "");
                }
                cell_u(em, 20, reg_size);
                cell_u(em, 4, j);
                cell_u(em, 13, v[CURREGS] * reg_size);
                cell_u(em, 13, v[NMALLOC]);
                cell_u(em, 8, rate_per_second(v[NMALLOC], uptime));
                cell_u(em, 13, v[NDALLOC]);
                cell_u(em, 8, rate_per_second(v[NDALLOC], uptime));
                cell_u(em, 13, v[NREQUESTS]);
                cell_u(em, 10, rate_per_second(v[NREQUESTS], uptime));
                if (prof_on) {
                        cell_u(em, 21, live.req_sum);
                        cell_u(em, 17, live.count);
                        cell_u(em, 21, accum.req_sum);
                        cell_u(em, 17, accum.count);
                }
                cell_u(em, 9, nshards);
                cell_u(em, 13, v[CURREGS]);
                cell_u(em, 13, v[CURSLABS]);
                cell_u(em, 15, v[NONFULL]);
                cell_u(em, 5, nregs);
                cell_u(em, 4, c->page != 0 ? slab_size / c->page : 0);
                cell_t(em, 1, " ");
                cell_t(em, 6, util);
                cell_u(em, 13, v[NFILLS]);
                cell_u(em, 8, rate_per_second(v[NFILLS], uptime));
                cell_u(em, 13, v[NFLUSHES]);
                cell_u(em, 8, rate_per_second(v[NFLUSHES], uptime));
                cell_u(em, 13, v[NSLABS]);
                cell_u(em, 13, v[NRESLABS]);
                cell_u(em, 8, rate_per_second(v[NRESLABS], uptime));
                if (mutex)
                        mutex_cells(em, &m, uptime);
                em_putc(em, '\n');
        }
        json_array_end(em);
        if (in_gap)
                text(em, gap_line);
}

static void lextents_print(em_t *em, ctx_t *c, size_t i, uint64_t uptime)
{
        static const char *const leaves[4] = {"nmalloc", "ndalloc", "nrequests", "curlextents"};
        static const char *const prof_leaves[2] = {"live", "accum"};
        mib_t sl[4], ps[2];
        bool prof_on = c->prof_stats && i == LA_ARENAS_ALL;

        mibs_init(sl, "stats.arenas.4096.lextents.0.", leaves, 4);
        mibs_patch(sl, 4, 2, i);
        if (prof_on)
                mibs_init(ps, "prof.stats.lextents.0.", prof_leaves, 2);
        if (!em->json) {
                em_puts(em, "large:");
                cell_t(em, 14, "size");
                cell_t(em, 4, "ind");
                cell_t(em, 13, "allocated");
                cell_t(em, 13, "nmalloc");
                cell_t(em, 8, "(#/sec)");
                cell_t(em, 13, "ndalloc");
                cell_t(em, 8, "(#/sec)");
                cell_t(em, 13, "nrequests");
                cell_t(em, 8, "(#/sec)");
                if (prof_on) {
                        cell_t(em, 21, "prof_live_requested");
                        cell_t(em, 17, "prof_live_count");
                        cell_t(em, 21, "prof_accum_requested");
                        cell_t(em, 17, "prof_accum_count");
                }
                cell_t(em, 13, "curlextents");
                em_putc(em, '\n');
        }
        json_array_kv_begin(em, "lextents");

        bool in_gap = false;
        for (unsigned j = 0; j < c->nlextents; j++) {
                uint64_t nmalloc, ndalloc, nrequests;
                size_t size, cur;
                prof_stats_t live = {0, 0}, accum = {0, 0};
                mibs_patch(sl, 4, 4, j);
                mib_rd(&sl[0], &nmalloc, sizeof(nmalloc));
                mib_rd(&sl[1], &ndalloc, sizeof(ndalloc));
                mib_rd(&sl[2], &nrequests, sizeof(nrequests));
                bool in_gap_prev = in_gap;
                in_gap = nrequests == 0;
                if (in_gap_prev && !in_gap)
                        text(em, gap_line);
                c->lextent_size.mib[2] = j;
                mib_rd(&c->lextent_size, &size, sizeof(size));
                mib_rd(&sl[3], &cur, sizeof(cur));
                if (prof_on) {
                        mibs_patch(ps, 2, 3, j);
                        mib_rd(&ps[0], &live, sizeof(live));
                        mib_rd(&ps[1], &accum, sizeof(accum));
                }
                json_object_begin(em);
                if (prof_on) {
                        json_kv(em, "prof_live_requested", vu(live.req_sum));
                        json_kv(em, "prof_live_count", vu(live.count));
                        json_kv(em, "prof_accum_requested", vu(accum.req_sum));
                        json_kv(em, "prof_accum_count", vu(accum.count));
                }
                json_kv(em, "curlextents", vu(cur));
                json_object_end(em);
                if (em->json || in_gap)
                        continue;
                cell_u(em, 20, size);
                cell_u(em, 4, c->nbins + j);
                cell_u(em, 13, (uint64_t)cur * size);
                cell_u(em, 13, nmalloc);
                cell_u(em, 8, rate_per_second(nmalloc, uptime));
                cell_u(em, 13, ndalloc);
                cell_u(em, 8, rate_per_second(ndalloc, uptime));
                cell_u(em, 13, nrequests);
                cell_u(em, 8, rate_per_second(nrequests, uptime));
                if (prof_on) {
                        cell_u(em, 21, live.req_sum);
                        cell_u(em, 17, live.count);
                        cell_u(em, 21, accum.req_sum);
                        cell_u(em, 17, accum.count);
                }
                cell_u(em, 13, cur);
                em_putc(em, '\n');
        }
        json_array_end(em);
        if (in_gap)
                text(em, gap_line);
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
        mib_t se[6];
        mibs_init(se, "stats.arenas.4096.extents.0.", leaves, 6);
        mibs_patch(se, 6, 2, i);
        if (!em->json) {
                em_puts(em, "extents:");
                cell_t(em, 12, "size");
                cell_t(em, 4, "ind");
                cell_t(em, 13, "ndirty");
                cell_t(em, 13, "dirty");
                cell_t(em, 13, "nmuzzy");
                cell_t(em, 13, "muzzy");
                cell_t(em, 13, "nretained");
                cell_t(em, 13, "retained");
                cell_t(em, 13, "ntotal");
                cell_t(em, 13, "total");
                em_putc(em, '\n');
        }
        json_array_kv_begin(em, "extents");
        bool in_gap = false;
        for (size_t j = 0; j < LA_NPSIZES; j++) {
                size_t v[6];
                mibs_patch(se, 6, 4, j);
                for (int k = 0; k < 6; k++)
                        mib_rd(&se[k], &v[k], sizeof(size_t));
                size_t total = v[0] + v[1] + v[2];
                size_t total_bytes = v[3] + v[4] + v[5];
                bool in_gap_prev = in_gap;
                in_gap = total == 0;
                if (in_gap_prev && !in_gap)
                        text(em, gap_line);
                json_object_begin(em);
                for (int k = 0; k < 6; k++)
                        json_kv(em, leaves[k], vu(v[k]));
                json_object_end(em);
                if (em->json || in_gap)
                        continue;
                cell_u(em, 20, psz_size(c, j));
                cell_u(em, 4, j);
                cell_u(em, 13, v[0]);
                cell_u(em, 13, v[3]);
                cell_u(em, 13, v[1]);
                cell_u(em, 13, v[4]);
                cell_u(em, 13, v[2]);
                cell_u(em, 13, v[5]);
                cell_u(em, 13, total);
                cell_u(em, 13, total_bytes);
                em_putc(em, '\n');
        }
        json_array_end(em);
        if (in_gap)
                text(em, gap_line);
}

enum {
        H_NPAGESLABS_HUGE,
        H_NACTIVE_HUGE,
        H_NDIRTY_HUGE,
        H_NPAGESLABS_NONHUGE,
        H_NACTIVE_NONHUGE,
        H_NDIRTY_NONHUGE,
        NHL
};
static const char *const hpa_leaves[NHL] = {
        "npageslabs_huge",    "nactive_huge",    "ndirty_huge",
        "npageslabs_nonhuge", "nactive_nonhuge", "ndirty_nonhuge",
};
#define HUGEPAGE_SIZE ((size_t)2 << 20)
#define PSSET_NPSIZES 64

/* full_slabs / empty_slabs: text lines and JSON object. */
static void hpa_slabs_print(em_t *em, ctx_t *c, size_t i, const char *group, const char *title)
{
        char prefix[64];
        mib_t hm[NHL];
        size_t v[NHL];
        join(prefix, sizeof(prefix), "stats.arenas.4096.hpa_shard.", group, ".");
        mibs_init(hm, prefix, hpa_leaves, NHL);
        mibs_patch(hm, NHL, 2, i);
        for (int k = 0; k < NHL; k++)
                mib_rd(&hm[k], &v[k], sizeof(size_t));
        size_t nretained = v[H_NPAGESLABS_NONHUGE] * (HUGEPAGE_SIZE / c->page) -
                           v[H_NACTIVE_NONHUGE] - v[H_NDIRTY_NONHUGE];
        if (!em->json) {
                em_puts(em, title);
                em_puts(em, "      npageslabs: ");
                text_u(em, v[H_NPAGESLABS_HUGE]);
                em_puts(em, " huge, ");
                text_u(em, v[H_NPAGESLABS_NONHUGE]);
                em_puts(em, " nonhuge\n      nactive: ");
                text_u(em, v[H_NACTIVE_HUGE]);
                em_puts(em, " huge, ");
                text_u(em, v[H_NACTIVE_NONHUGE]);
                em_puts(em, " nonhuge \n      ndirty: ");
                text_u(em, v[H_NDIRTY_HUGE]);
                em_puts(em, " huge, ");
                text_u(em, v[H_NDIRTY_NONHUGE]);
                em_puts(em, " nonhuge \n      nretained: 0 huge, ");
                text_u(em, nretained);
                em_puts(em, " nonhuge \n");
        }
        /* 5.3.0 writes nactive_huge twice here and no ndirty_huge: we write each once. */
        json_object_kv_begin(em, group);
        for (int k = 0; k < NHL; k++)
                json_kv(em, hpa_leaves[k], vu(v[k]));
        json_object_end(em);
}

static void hpa_print(em_t *em, ctx_t *c, size_t i, uint64_t uptime)
{
        static const char *const totals[4] = {"npurge_passes", "npurges", "nhugifies",
                                              "ndehugifies"};
        static const char *const titles[4] = {
                "  Purge passes: ", "  Purges: ", "  Hugeifies: ", "  Dehugifies: "};
        uint64_t t[4];
        char name[64];
        for (int k = 0; k < 4; k++) {
                join(name, sizeof(name), "hpa_shard.", totals[k], "");
                t[k] = sa_u64(i, name);
        }
        size_t sec_bytes = sa_zu(i, "hpa_sec_bytes");
        kv(em, "sec_bytes", "Bytes in small extent cache", vu(sec_bytes));
        if (!em->json) {
                em_puts(em, "HPA shard stats:\n");
                for (int k = 0; k < 4; k++) {
                        em_puts(em, titles[k]);
                        text_u(em, t[k]);
                        em_puts(em, " (");
                        text_u(em, rate_per_second(t[k], uptime));
                        em_puts(em, " / sec)\n");
                }
                em_putc(em, '\n');
        }
        json_object_kv_begin(em, "hpa_shard");
        for (int k = 0; k < 4; k++)
                json_kv(em, totals[k], vu(t[k]));
        hpa_slabs_print(em, c, i, "full_slabs", "  In full slabs:\n");
        hpa_slabs_print(em, c, i, "empty_slabs", "  In empty slabs:\n");
        text(em, "\n");

        mib_t hm[NHL];
        mibs_init(hm, "stats.arenas.4096.hpa_shard.nonfull_slabs.0.", hpa_leaves, NHL);
        mibs_patch(hm, NHL, 2, i);
        if (!em->json) {
                cell_t(em, 20, "size");
                cell_t(em, 4, "ind");
                for (int k = 0; k < NHL; k++)
                        cell_t(em, k < 3 ? 16 : 20, hpa_leaves[k]);
                cell_t(em, 20, "nretained_nonhuge");
                em_putc(em, '\n');
        }
        json_array_kv_begin(em, "nonfull_slabs");
        bool in_gap = false;
        for (size_t j = 0; j < PSSET_NPSIZES && j < LA_NPSIZES; j++) {
                size_t v[NHL];
                mibs_patch(hm, NHL, 5, j);
                for (int k = 0; k < NHL; k++)
                        mib_rd(&hm[k], &v[k], sizeof(size_t));
                size_t nretained = v[H_NPAGESLABS_NONHUGE] * (HUGEPAGE_SIZE / c->page) -
                                   v[H_NACTIVE_NONHUGE] - v[H_NDIRTY_NONHUGE];
                bool in_gap_prev = in_gap;
                in_gap = v[H_NPAGESLABS_HUGE] == 0 && v[H_NPAGESLABS_NONHUGE] == 0;
                if (in_gap_prev && !in_gap)
                        text(em, gap_line);
                if (!em->json && !in_gap) {
                        cell_u(em, 20, psz_size(c, j));
                        cell_u(em, 4, j);
                        for (int k = 0; k < NHL; k++)
                                cell_u(em, k < 3 ? 16 : 20, v[k]);
                        cell_u(em, 20, nretained);
                        em_putc(em, '\n');
                }
                json_object_begin(em);
                for (int k = 0; k < NHL; k++)
                        json_kv(em, hpa_leaves[k], vu(v[k]));
                json_object_end(em);
        }
        json_array_end(em);
        json_object_end(em); /* hpa_shard */
        if (in_gap)
                text(em, gap_line);
}

static void arena_print(em_t *em, ctx_t *c, size_t i)
{
        unsigned nthreads;
        const char *dss;
        ssize_t decay_ms[2];
        sa_rd(i, "nthreads", &nthreads, sizeof(nthreads));
        kv(em, "nthreads", "assigned threads", vu(nthreads));
        uint64_t uptime = sa_u64(i, "uptime");
        kv(em, "uptime_ns", "uptime", vu(uptime));
        sa_rd(i, "dss", &dss, sizeof(dss));
        kv(em, "dss", "dss allocation precedence", vs(dss));

        sa_rd(i, "dirty_decay_ms", &decay_ms[0], sizeof(ssize_t));
        sa_rd(i, "muzzy_decay_ms", &decay_ms[1], sizeof(ssize_t));
        size_t pactive = sa_zu(i, "pactive");
        size_t npages[2] = {sa_zu(i, "pdirty"), sa_zu(i, "pmuzzy")};
        static const char *const purge_leaves[2][3] = {
                {"dirty_npurge", "dirty_nmadvise", "dirty_purged"},
                {"muzzy_npurge", "muzzy_nmadvise", "muzzy_purged"},
        };
        uint64_t purge[2][3];
        for (int q = 0; q < 2; q++)
                for (int k = 0; k < 3; k++)
                        purge[q][k] = sa_u64(i, purge_leaves[q][k]);
        json_kv(em, "dirty_decay_ms", vi(decay_ms[0]));
        json_kv(em, "muzzy_decay_ms", vi(decay_ms[1]));
        json_kv(em, "pactive", vu(pactive));
        json_kv(em, "pdirty", vu(npages[0]));
        json_kv(em, "pmuzzy", vu(npages[1]));
        for (int q = 0; q < 2; q++)
                for (int k = 0; k < 3; k++)
                        json_kv(em, purge_leaves[q][k], vu(purge[q][k]));
        if (!em->json) {
                cell_t(em, 9, "decaying:");
                cell_t(em, 6, "time");
                cell_t(em, 13, "npages");
                cell_t(em, 13, "sweeps");
                cell_t(em, 13, "madvises");
                cell_t(em, 13, "purged");
                em_putc(em, '\n');
                for (int q = 0; q < 2; q++) {
                        cell_t(em, 9, q == 0 ? "dirty:" : "muzzy:");
                        if (decay_ms[q] >= 0)
                                cell_i(em, 6, decay_ms[q]);
                        else
                                cell_t(em, 6, "N/A");
                        cell_u(em, 13, npages[q]);
                        for (int k = 0; k < 3; k++)
                                cell_u(em, 13, purge[q][k]);
                        em_putc(em, '\n');
                }
        }

        /* small / large / total allocation counts */
        static const char *const count_leaves[6] = {"allocated", "nmalloc", "ndalloc",
                                                    "nrequests", "nfills",  "nflushes"};
        static const char *const count_titles[6] = {"allocated", "nmalloc", "ndalloc",
                                                    "nrequests", "nfill",   "nflush"};
        uint64_t counts[3][6];
        if (!em->json) {
                cell_l(em, 21, "");
                cell_t(em, 16, count_titles[0]);
                for (int k = 1; k < 6; k++) {
                        cell_t(em, 16, count_titles[k]);
                        cell_t(em, 10, "(#/sec)");
                }
                em_putc(em, '\n');
        }
        for (int g = 0; g < 2; g++) {
                const char *group = g == 0 ? "small" : "large";
                char name[64];
                json_object_kv_begin(em, group);
                for (int k = 0; k < 6; k++) {
                        join(name, sizeof(name), group, ".", count_leaves[k]);
                        if (k == 0)
                                counts[g][k] = sa_zu(i, name);
                        else
                                counts[g][k] = sa_u64(i, name);
                        json_kv(em, count_leaves[k], vu(counts[g][k]));
                }
                json_object_end(em);
        }
        for (int k = 0; k < 6; k++)
                counts[2][k] = counts[0][k] + counts[1][k];
        if (!em->json) {
                static const char *const row_titles[3] = {"small:", "large:", "total:"};
                for (int g = 0; g < 3; g++) {
                        cell_l(em, 21, row_titles[g]);
                        cell_u(em, 16, counts[g][0]);
                        for (int k = 1; k < 6; k++) {
                                cell_u(em, 16, counts[g][k]);
                                cell_u(em, 10, rate_per_second(counts[g][k], uptime));
                        }
                        em_putc(em, '\n');
                }
                cell_l(em, 21, "");
                cell_t(em, 16, "");
                em_putc(em, '\n');
                cell_l(em, 21, "active:");
                cell_u(em, 16, (uint64_t)pactive * c->page);
                em_putc(em, '\n');
        }

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
                json_kv(em, mem_leaves[k], vu(v));
                if (!em->json) {
                        char title[32];
                        join(title, sizeof(title), mem_leaves[k], ":", "");
                        cell_l(em, 21, title);
                        cell_u(em, 16, v);
                        em_putc(em, '\n');
                }
        }

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

static void general_print(em_t *em, ctx_t *c)
{
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
        char name[96];
        val_t v, note;

        if (read_typed("version", O_STR, &v))
                kv(em, "version", "Version", v);

        dict_begin(em, "config", "Build-time option settings");
        for (size_t k = 0; k < LA_ARRAY_LEN(config_names); k++) {
                join(name, sizeof(name), "config.", config_names[k], "");
                if (read_typed(name, strcmp(config_names[k], "malloc_conf") == 0 ? O_STR : O_BOOL,
                               &v))
                        kv(em, config_names[k], name, v);
        }
        dict_end(em);

        dict_begin(em, "opt", "Run-time option settings");
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
                        kv(em, opts[k].name, name, vs(buf));
                        continue;
                }
                if (!read_typed(name, opts[k].t, &v))
                        continue;
                if (opts[k].mutable_name == NULL) {
                        kv(em, opts[k].name, name, v);
                } else if (read_typed(opts[k].mutable_name, opts[k].t, &note)) {
                        kv_note(em, opts[k].name, name, v, opts[k].mutable_name, note);
                }
        }
        dict_end(em);

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
                dict_begin(em, "prof", "Profiling settings");
                for (size_t k = 0; k < LA_ARRAY_LEN(prof); k++) {
                        join(name, sizeof(name), "prof.", prof[k].name, "");
                        if (!read_typed(name, prof[k].t, &v))
                                v = prof[k].t == O_BOOL ? vb(false) : vu(0);
                        kv(em, prof[k].name, name, v);
                }
                dict_end(em);
        }

        /* JSON puts these in an "arenas" object; the text at the top level. */
        json_object_kv_begin(em, "arenas");
        if (read_typed("arenas.narenas", O_UNSIGNED, &v))
                kv(em, "narenas", "Arenas", v);
        if (read_typed("arenas.dirty_decay_ms", O_SSIZE, &v))
                json_kv(em, "dirty_decay_ms", v);
        if (read_typed("arenas.muzzy_decay_ms", O_SSIZE, &v))
                json_kv(em, "muzzy_decay_ms", v);
        if (read_typed("arenas.quantum", O_SIZE, &v))
                kv(em, "quantum", "Quantum size", v);
        if (read_typed("arenas.page", O_SIZE, &v))
                kv(em, "page", "Page size", v);
        if (read_typed("arenas.tcache_max", O_SIZE, &v))
                kv(em, "tcache_max", "Maximum thread-cached size class", v);
        kv(em, "nbins", "Number of bin size classes", vu(c->nbins));
        if (read_typed("arenas.nhbins", O_UNSIGNED, &v))
                kv(em, "nhbins", "Number of thread-cache bin size classes", v);
        if (em->json) {
                static const char *const leaves[4] = {"size", "nregs", "slab_size", "nshards"};
                mib_t bm[4];
                mibs_init(bm, "arenas.bin.0.", leaves, 4);
                json_array_kv_begin(em, "bin");
                for (unsigned j = 0; j < c->nbins; j++) {
                        size_t size, slab_size;
                        uint32_t nregs, nshards;
                        mibs_patch(bm, 4, 2, j);
                        mib_rd(&bm[0], &size, sizeof(size));
                        mib_rd(&bm[1], &nregs, sizeof(nregs));
                        mib_rd(&bm[2], &slab_size, sizeof(slab_size));
                        mib_rd(&bm[3], &nshards, sizeof(nshards));
                        json_object_begin(em);
                        json_kv(em, "size", vu(size));
                        json_kv(em, "nregs", vu(nregs));
                        json_kv(em, "slab_size", vu(slab_size));
                        json_kv(em, "nshards", vu(nshards));
                        json_object_end(em);
                }
                json_array_end(em);
        }
        kv(em, "nlextents", "Number of large size classes", vu(c->nlextents));
        if (em->json) {
                json_array_kv_begin(em, "lextent");
                for (unsigned j = 0; j < c->nlextents; j++) {
                        size_t size;
                        c->lextent_size.mib[2] = j;
                        mib_rd(&c->lextent_size, &size, sizeof(size));
                        json_object_begin(em);
                        json_kv(em, "size", vu(size));
                        json_object_end(em);
                }
                json_array_end(em);
        }
        json_object_end(em); /* arenas */
}

/* ---- totals and the arena loop ----------------------------------------------------- */

static void totals_print(em_t *em, ctx_t *c)
{
        static const char *const names[] = {"allocated", "active", "metadata", "metadata_thp",
                                            "resident",  "mapped", "retained", "zero_reallocs"};
        enum { ALLOCATED, ACTIVE, METADATA, METADATA_THP, RESIDENT, MAPPED, RETAINED, ZERO };
        size_t v[LA_ARRAY_LEN(names)];
        char name[64];
        for (size_t k = 0; k < LA_ARRAY_LEN(names); k++) {
                join(name, sizeof(name), "stats.", names[k], "");
                rd(name, &v[k], sizeof(size_t));
        }
        size_t bg_threads;
        uint64_t bg_runs, bg_interval;
        rd("stats.background_thread.num_threads", &bg_threads, sizeof(bg_threads));
        rd("stats.background_thread.num_runs", &bg_runs, sizeof(bg_runs));
        rd("stats.background_thread.run_interval", &bg_interval, sizeof(bg_interval));

        json_object_kv_begin(em, "stats");
        for (size_t k = 0; k < LA_ARRAY_LEN(names); k++)
                json_kv(em, names[k], vu(v[k]));
        if (!em->json) {
                em_puts(em, "Allocated: ");
                text_u(em, v[ALLOCATED]);
                em_puts(em, ", active: ");
                text_u(em, v[ACTIVE]);
                em_puts(em, ", metadata: ");
                text_u(em, v[METADATA]);
                em_puts(em, " (n_thp ");
                text_u(em, v[METADATA_THP]);
                em_puts(em, "), resident: ");
                text_u(em, v[RESIDENT]);
                em_puts(em, ", mapped: ");
                text_u(em, v[MAPPED]);
                em_puts(em, ", retained: ");
                text_u(em, v[RETAINED]);
                em_puts(em, "\nCount of realloc(non-null-ptr, 0) calls: ");
                text_u(em, v[ZERO]);
                em_putc(em, '\n');
        }
        json_object_kv_begin(em, "background_thread");
        json_kv(em, "num_threads", vu(bg_threads));
        json_kv(em, "num_runs", vu(bg_runs));
        json_kv(em, "run_interval", vu(bg_interval));
        json_object_end(em);
        if (!em->json) {
                em_puts(em, "Background threads: ");
                text_u(em, bg_threads);
                em_puts(em, ", num_runs: ");
                text_u(em, bg_runs);
                em_puts(em, ", run_interval: ");
                text_u(em, bg_interval);
                em_puts(em, " ns\n");
        }
        if (c->o.mutex) {
                /* Rates use arena 0's uptime, as in 5.3.0. */
                uint64_t uptime = sa_u64(0, "uptime");
                mutex_table(em, "stats.mutexes.", 0, false, global_mutex_names,
                            LA_ARRAY_LEN(global_mutex_names), uptime);
        }
        json_object_end(em); /* stats */
}

static void arena_block(em_t *em, ctx_t *c, size_t ind, const char *json_k, const char *text_head)
{
        text(em, text_head);
        json_object_kv_begin(em, json_k);
        arena_print(em, c, ind);
        json_object_end(em);
}

static void arenas_print(em_t *em, ctx_t *c)
{
        unsigned narenas;
        mib_t im;
        bool init;
        /* Which arenas are initialised: a bitmap for the first 4096 (re-read beyond). */
        uint64_t bits[LA_ARENAS_ALL / 64];
        unsigned ninitialized = 0;

        json_object_kv_begin(em, "stats.arenas");
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
        json_object_end(em); /* stats.arenas */
}

/* ---- entry ------------------------------------------------------------------------- */

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
        for (const char *p = opts; p != NULL && *p != '\0'; p++) {
                switch (*p) {
                case 'J':
                        c.o.json = true;
                        break;
                case 'g':
                        c.o.general = false;
                        break;
                case 'm':
                        c.o.merged = false;
                        break;
                case 'd':
                        c.o.destroyed = false;
                        break;
                case 'a':
                        c.o.unmerged = false;
                        break;
                case 'b':
                        c.o.bins = false;
                        break;
                case 'l':
                        c.o.large = false;
                        break;
                case 'x':
                        c.o.mutex = false;
                        break;
                case 'e':
                        c.o.extents = false;
                        break;
                case 'h':
                        c.o.hpa = false;
                        break;
                default:
                        break;
                }
        }

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
        text(&em, "___ Begin jemalloc statistics ___\n");
        json_object_kv_begin(&em, "jemalloc");
        if (c.o.general)
                general_print(&em, &c);
        if (config_stats) {
                totals_print(&em, &c);
                if (c.o.merged || c.o.destroyed || c.o.unmerged)
                        arenas_print(&em, &c);
        }
        json_object_end(&em); /* jemalloc */
        text(&em, "--- End jemalloc statistics ---\n");
        if (em.json)
                em_putc(&em, '}');
        em_flush(&em);
}
