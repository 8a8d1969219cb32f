/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * history: one ring of samples per process (history.h has the memory bound), hung off the
 * process's record (its JD_SLOT_HISTORY slot) and freed when the record goes; the
 * aggregates per comm / unit computed from them on request, and the fragmentation figures
 * of a stats summary.  Owns nothing of the poller's table: it reads it.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jp/proto.h>

#include "history.h"

/* A record's samples (a reused pid is a new record, so a new ring). */
typedef struct ring {
        uint32_t head;     /* index of the oldest sample */
        uint32_t len, cap;
        jd_sample_t *s;
} ring_t;

static size_t nrings;      /* rings hung off records, at most JD_HIST_PROCS */
static size_t ring_bytes;  /* what they hold */
static uint64_t dropped;
static uint64_t swept_gen;

/* ---- helpers ------------------------------------------------------------------------- */

static uint64_t u64(const json_t *o, const char *key)
{
        const json_t *v = json_object_get(o, key);
        if (json_is_integer(v))
                return json_integer_value(v) > 0 ? (uint64_t)json_integer_value(v) : 0;
        if (json_is_real(v))
                return json_real_value(v) > 0 ? (uint64_t)json_real_value(v) : 0;
        return 0;
}

static int32_t ms32(const json_t *o, const char *key)
{
        const json_t *v = json_object_get(o, key);
        if (!json_is_number(v))
                return -1;
        double d = json_number_value(v);
        return d < 0 ? -1 : d > INT32_MAX ? INT32_MAX : (int32_t)d;
}

const char *jd_proc_comm(const jd_proc_t *p)
{
        return json_string_value(json_object_get(p->info, "comm"));
}

const char *jd_cgroup_unit(const char *cg, size_t *len)
{
        const char *best = NULL;
        size_t bl = 0;
        for (const char *c = cg != NULL ? cg : ""; *c != '\0';) {
                c += strspn(c, "/");
                size_t l = strcspn(c, "/");
                if ((l > 8 && memcmp(c + l - 8, ".service", 8) == 0) ||
                    (l > 6 && memcmp(c + l - 6, ".scope", 6) == 0)) {
                        best = c;
                        bl = l;
                }
                c += l;
        }
        *len = bl;
        return best;
}

const char *jd_proc_unit(const jd_proc_t *p, char *buf, size_t cap)
{
        size_t n;
        const char *u = jd_cgroup_unit(json_string_value(json_object_get(p->info, "cgroup")), &n);
        if (u == NULL || n >= cap)
                return NULL;
        memcpy(buf, u, n);
        buf[n] = '\0';
        return buf;
}

static jd_proc_t *find_proc(const jd_manager_t *m, pid_t pid)
{
        for (jd_proc_t *p = m->procs; p != NULL; p = p->next)
                if (p->pid == pid && jd_proc_visible(p))
                        return p;
        return NULL;
}

static ring_t *ring_of(const jd_proc_t *p)
{
        return p->slot[JD_SLOT_HISTORY];
}

static void ring_drop(jd_proc_t *p)
{
        ring_t *r = p->slot[JD_SLOT_HISTORY];
        if (r == NULL)
                return;
        ring_bytes -= sizeof(*r) + r->cap * sizeof(jd_sample_t);
        nrings--;
        free(r->s);
        free(r);
        p->slot[JD_SLOT_HISTORY] = NULL;
}

/* Forgets the rings of hidden processes (those that left are dropped at `gone`). */
static void sweep(const jd_manager_t *m)
{
        for (jd_proc_t *p = m->procs; p != NULL; p = p->next)
                if (!jd_proc_visible(p))
                        ring_drop(p);
}

static const jd_sample_t *ring_at(const ring_t *r, uint32_t i)
{
        return &r->s[(r->head + i) % r->cap];
}

/* Room for one more sample: grows the ring up to JD_HIST_SAMPLES, then overwrites the
 * oldest.  The samples are kept in order when growing. */
static jd_sample_t *ring_push(ring_t *r)
{
        if (r->len == r->cap && r->cap < JD_HIST_SAMPLES) {
                uint32_t cap = r->cap == 0 ? JD_HIST_FIRST : r->cap * 2;
                if (cap > JD_HIST_SAMPLES)
                        cap = JD_HIST_SAMPLES;
                jd_sample_t *s = malloc(cap * sizeof(*s));
                if (s == NULL)
                        return NULL;
                for (uint32_t i = 0; i < r->len; i++)
                        s[i] = *ring_at(r, i);
                free(r->s);
                ring_bytes += (cap - r->cap) * sizeof(*s);
                r->s = s;
                r->cap = cap;
                r->head = 0;
        }
        if (r->len < r->cap)
                return &r->s[(r->head + r->len++) % r->cap];
        jd_sample_t *s = &r->s[r->head];
        r->head = (r->head + 1) % r->cap;
        return s;
}

static void sample_of(const jd_manager_t *m, jd_sample_t *s, const json_t *st)
{
        memset(s, 0, sizeof(*s));
        s->t = jd_wall();
        s->gen = (uint32_t)m->cycle_gen;
        s->allocated = u64(st, "allocated");
        s->active = u64(st, "active");
        s->resident = u64(st, "resident");
        s->mapped = u64(st, "mapped");
        s->retained = u64(st, "retained");
        s->metadata = u64(st, "metadata");
        s->rss = u64(st, "rss");
        s->dirty_decay_ms = ms32(st, "dirty_decay_ms");
        s->muzzy_decay_ms = ms32(st, "muzzy_decay_ms");
        uint64_t page = (uint64_t)sysconf(_SC_PAGESIZE);
        size_t i;
        const json_t *a;
        json_array_foreach(json_object_get(st, "arenas"), i, a)
        {
                s->dirty += u64(a, "pdirty") * page;
                s->muzzy += u64(a, "pmuzzy") * page;
        }
}

/* ---- recording ----------------------------------------------------------------------- */

void jd_history_record(jd_proc_t *p)
{
        if (p == NULL || p->stats == NULL)
                return;
        const jd_manager_t *m = p->m;
        if (swept_gen != m->cycle_gen) {
                sweep(m);
                swept_gen = m->cycle_gen;
        }
        ring_t *r = ring_of(p);
        if (r == NULL) {
                if (nrings == JD_HIST_PROCS) {
                        sweep(m);
                        if (nrings == JD_HIST_PROCS) {
                                dropped++;
                                return;
                        }
                }
                r = calloc(1, sizeof(*r));
                if (r == NULL)
                        return;
                p->slot[JD_SLOT_HISTORY] = r;
                nrings++;
                ring_bytes += sizeof(*r);
        }
        jd_sample_t *s = ring_push(r);
        if (s != NULL)
                sample_of(p->m, s, p->stats);
}

static void on_polled(jd_manager_t *m, jd_proc_t *p)
{
        (void)m;
        jd_history_record(p);
}

static void on_gone(jd_manager_t *m, jd_proc_t *p)
{
        (void)m;
        ring_drop(p);
}

static jd_observer_t observer = {.polled = on_polled, .gone = on_gone};

void jd_history_start(jd_manager_t *m)
{
        jd_manager_subscribe(m, &observer);
}

void jd_history_stop(jd_manager_t *m)
{
        jd_manager_unsubscribe(m, &observer);
        for (jd_proc_t *p = m->procs; p != NULL; p = p->next)
                ring_drop(p);
}

size_t jd_history_bytes(void)
{
        return ring_bytes;
}

size_t jd_history_rings(void)
{
        return nrings;
}

const jd_sample_t *jd_history_sample_before(const jd_proc_t *p, double t)
{
        const ring_t *r = ring_of(p);
        const jd_sample_t *best = NULL;
        for (uint32_t i = 0; r != NULL && i < r->len; i++) {
                const jd_sample_t *s = ring_at(r, i);
                if (s->t > t)
                        break;
                best = s;
        }
        return best;
}

uint64_t jd_history_dropped(void)
{
        return dropped;
}

/* ---- queries ------------------------------------------------------------------------- */

/* The columns of a history document, in the order of jd_sample_t. */
static const char *const cols[] = {"allocated", "active", "resident", "mapped", "retained",
                                   "metadata",  "rss",    "dirty",    "muzzy"};
#define NCOLS (sizeof(cols) / sizeof(cols[0]))

static uint64_t col(const jd_sample_t *s, size_t c)
{
        const uint64_t v[NCOLS] = {s->allocated, s->active, s->resident, s->mapped, s->retained,
                                   s->metadata,  s->rss,    s->dirty,    s->muzzy};
        return v[c];
}

/* {"t": [...], "allocated": [...], ...}: columns of equal length. */
typedef struct table {
        json_t *obj, *t, *c[NCOLS], *dd, *md;
} table_t;

static int table_init(table_t *tb, bool decay)
{
        tb->obj = json_object();
        tb->t = json_array();
        json_object_set_new(tb->obj, "t", tb->t);
        for (size_t c = 0; c < NCOLS; c++) {
                tb->c[c] = json_array();
                json_object_set_new(tb->obj, cols[c], tb->c[c]);
        }
        tb->dd = tb->md = NULL;
        if (decay) {
                tb->dd = json_array();
                tb->md = json_array();
                json_object_set_new(tb->obj, "dirty_decay_ms", tb->dd);
                json_object_set_new(tb->obj, "muzzy_decay_ms", tb->md);
        }
        return tb->obj != NULL ? 0 : -1;
}

static void table_add(table_t *tb, double t, const uint64_t *v)
{
        /* Milliseconds are enough for a chart and keep the document short. */
        json_array_append_new(tb->t, json_real((double)(int64_t)(t * 1000) / 1000));
        for (size_t c = 0; c < NCOLS; c++)
                json_array_append_new(tb->c[c], json_integer((json_int_t)v[c]));
}

static json_t *base_doc(const jd_manager_t *m)
{
        json_t *o = json_object();
        json_object_set_new(o, "interval", json_real(m->opt.interval));
        json_object_set_new(o, "capacity", json_integer(JD_HIST_SAMPLES));
        return o;
}

json_t *jd_history_pid_json(const jd_manager_t *m, pid_t pid)
{
        jd_proc_t *p = find_proc(m, pid);
        ring_t *r = p != NULL ? ring_of(p) : NULL;
        if (r == NULL)
                return NULL;
        json_t *o = base_doc(m);
        json_object_set_new(o, "pid", json_integer(pid));
        const char *comm = jd_proc_comm(p);
        char ub[256];
        const char *unit = jd_proc_unit(p, ub, sizeof(ub));
        json_object_set_new(o, "comm", comm != NULL ? json_string(comm) : json_null());
        json_object_set_new(o, "unit", unit != NULL ? json_string(unit) : json_null());
        table_t tb;
        table_init(&tb, true);
        for (uint32_t i = 0; i < r->len; i++) {
                const jd_sample_t *s = ring_at(r, i);
                uint64_t v[NCOLS];
                for (size_t c = 0; c < NCOLS; c++)
                        v[c] = col(s, c);
                table_add(&tb, s->t, v);
                json_array_append_new(tb.dd, json_integer(s->dirty_decay_ms));
                json_array_append_new(tb.md, json_integer(s->muzzy_decay_ms));
        }
        json_object_set_new(o, "samples", tb.obj);
        return o;
}

static bool in_group(const jd_proc_t *p, bool by_unit, const char *key)
{
        char ub[256];
        const char *v = by_unit ? jd_proc_unit(p, ub, sizeof(ub)) : jd_proc_comm(p);
        return v != NULL && strcmp(v, key) == 0;
}

typedef struct entry {
        uint32_t gen;
        const jd_sample_t *s;
} entry_t;

static int by_gen(const void *a, const void *b)
{
        uint32_t x = ((const entry_t *)a)->gen, y = ((const entry_t *)b)->gen;
        return x < y ? -1 : x > y;
}

/* The members' samples summed per poll cycle: a cycle's point is the sum over the
 * processes polled successfully in it, at the time of the latest of them. */
json_t *jd_history_group_json(const jd_manager_t *m, const char *by, const char *key)
{
        bool by_unit = strcmp(by, "unit") == 0;
        size_t n = 0;
        json_t *pids = json_array();
        for (jd_proc_t *p = m->procs; p != NULL; p = p->next) {
                if (jd_proc_visible(p) && ring_of(p) != NULL && in_group(p, by_unit, key)) {
                        n += ring_of(p)->len;
                        json_array_append_new(pids, json_integer(p->pid));
                }
        }
        if (json_array_size(pids) == 0) {
                json_decref(pids);
                return NULL;
        }
        entry_t *e = malloc((n ? n : 1) * sizeof(*e));
        if (e == NULL) {
                json_decref(pids);
                return NULL;
        }
        size_t k = 0;
        for (jd_proc_t *p = m->procs; p != NULL; p = p->next) {
                const ring_t *r = ring_of(p);
                if (!jd_proc_visible(p) || r == NULL || !in_group(p, by_unit, key))
                        continue;
                for (uint32_t j = 0; j < r->len; j++) {
                        e[k].s = ring_at(r, j);
                        e[k].gen = e[k].s->gen;
                        k++;
                }
        }
        qsort(e, k, sizeof(*e), by_gen);
        json_t *o = base_doc(m);
        json_object_set_new(o, by_unit ? "unit" : "comm", json_string(key));
        json_object_set_new(o, "pids", pids);
        table_t tb;
        table_init(&tb, false);
        json_t *np = json_array();
        json_object_set_new(tb.obj, "processes", np);
        for (size_t i = 0; i < k;) {
                uint64_t v[NCOLS] = {0};
                double t = 0;
                size_t j = i;
                for (; j < k && e[j].gen == e[i].gen; j++) {
                        for (size_t c = 0; c < NCOLS; c++)
                                v[c] += col(e[j].s, c);
                        if (e[j].s->t > t)
                                t = e[j].s->t;
                }
                table_add(&tb, t, v);
                json_array_append_new(np, json_integer((json_int_t)(j - i)));
                i = j;
        }
        free(e);
        json_object_set_new(o, "samples", tb.obj);
        return o;
}

json_t *jd_frag_json(const json_t *stats)
{
        if (!json_is_object(stats))
                return json_null();
        jp_frag_t f; /* the definitions jemctl shares (proto.h) */
        jp_frag(u64(stats, "allocated"), u64(stats, "active"), u64(stats, "resident"),
                u64(stats, "rss"), &f);
        json_t *o = json_object();
        json_object_set_new(o, "frag_ratio",
                            isnan(f.frag_ratio) ? json_null() : json_real(f.frag_ratio));
        json_object_set_new(o, "resident_ratio", isnan(f.resident_ratio)
                                                         ? json_null()
                                                         : json_real(f.resident_ratio));
        json_object_set_new(o, "rss_ratio",
                            isnan(f.rss_ratio) ? json_null() : json_real(f.rss_ratio));
        json_object_set_new(o, "unused_bytes", json_integer((json_int_t)f.unused_bytes));
        return o;
}

/* ---- groups -------------------------------------------------------------------------- */

static const char *const gcols[] = {"allocated", "active",   "resident", "mapped",
                                    "retained",  "metadata", "rss"};
#define NGCOLS (sizeof(gcols) / sizeof(gcols[0]))

json_t *jd_groups_json(const jd_manager_t *m, const char *by)
{
        bool by_unit = strcmp(by, "unit") == 0;
        json_t *groups = json_object(); /* key -> group object */
        json_t *none = NULL;            /* processes without a key (or not polled yet) */
        for (jd_proc_t *p = m->procs; p != NULL; p = p->next) {
                if (!jd_proc_visible(p))
                        continue;
                char ub[256];
                const char *key = by_unit ? jd_proc_unit(p, ub, sizeof(ub)) : jd_proc_comm(p);
                json_t *g = key != NULL ? json_object_get(groups, key) : none;
                if (g == NULL) {
                        g = json_object();
                        json_object_set_new(g, by_unit ? "unit" : "comm",
                                            key != NULL ? json_string(key) : json_null());
                        json_object_set_new(g, "pids", json_array());
                        json_object_set_new(g, "errors", json_integer(0));
                        for (size_t c = 0; c < NGCOLS; c++)
                                json_object_set_new(g, gcols[c], json_integer(0));
                        if (key != NULL)
                                json_object_set_new(groups, key, g);
                        else
                                none = g;
                }
                json_array_append_new(json_object_get(g, "pids"), json_integer(p->pid));
                if (p->error[0] != '\0') {
                        json_t *e = json_object_get(g, "errors");
                        json_integer_set(e, json_integer_value(e) + 1);
                }
                for (size_t c = 0; c < NGCOLS && p->stats != NULL; c++) {
                        json_t *v = json_object_get(g, gcols[c]);
                        json_integer_set(v, json_integer_value(v) +
                                                    (json_int_t)u64(p->stats, gcols[c]));
                }
        }
        json_t *arr = json_array();
        const char *k;
        json_t *g;
        json_object_foreach(groups, k, g)
        {
                json_object_set_new(
                        g, "processes",
                        json_integer((json_int_t)json_array_size(json_object_get(g, "pids"))));
                json_object_set_new(g, "fragmentation", jd_frag_json(g));
                json_array_append(arr, g);
        }
        if (none != NULL) {
                json_object_set_new(
                        none, "processes",
                        json_integer((json_int_t)json_array_size(json_object_get(none, "pids"))));
                json_object_set_new(none, "fragmentation", jd_frag_json(none));
                json_array_append_new(arr, none);
        }
        json_decref(groups);
        return arr;
}
