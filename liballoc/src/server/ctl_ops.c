/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * ctl_ops: what each request of the control protocol does (docs/protocol.md): hello,
 * info, get, set, list, stats, purge, decay-all, prof; argument checks and permissions.
 * Runs on the control thread (ctl_server.c), one request at a time.
 */
#include "server/ctl_ops.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/conf.h"
#include "core/decay.h"
#include "prof/prof.h"
#include "ctl/ctl.h"
#include "stats/stats.h"
#include "os/util.h"

/* Reads a small file whole (NUL-terminated); returns its length or -1. */
static ssize_t read_file(const char *path, char *buf, size_t cap)
{
        int fd = open(path, O_RDONLY | O_CLOEXEC);
        if (fd < 0)
                return -1;
        size_t n = 0;
        while (n + 1 < cap) {
                ssize_t r = read(fd, buf + n, cap - 1 - n);
                if (r < 0 && errno == EINTR)
                        continue;
                if (r <= 0)
                        break;
                n += (size_t)r;
        }
        close(fd);
        buf[n] = '\0';
        return (ssize_t)n;
}

static uint64_t rss_bytes(void)
{
        char buf[128];
        if (read_file("/proc/self/statm", buf, sizeof(buf)) <= 0)
                return 0;
        const char *p = strchr(buf, ' ');
        return p != NULL ? strtoull(p + 1, NULL, 10) * (uint64_t)LA_PAGE : 0;
}

static void epoch(void)
{
        uint64_t e = 1;
        size_t sz = sizeof(e);
        la_ctl_byname("epoch", &e, &sz, &e, sz);
}

static size_t rd_size(const char *name)
{
        size_t v = 0, sz = sizeof(v);
        la_ctl_byname(name, &v, &sz, NULL, 0);
        return v;
}

static ssize_t rd_ssize(const char *name)
{
        ssize_t v = 0;
        size_t sz = sizeof(v);
        la_ctl_byname(name, &v, &sz, NULL, 0);
        return v;
}

/* "<prefix><i>.<leaf>" into buf. */
static const char *arena_name(char *buf, size_t cap, const char *prefix, unsigned i,
                              const char *leaf)
{
        char num[24];
        la_strlcpy(buf, prefix, cap);
        la_strlcat(buf, la_fmt_u64(num, i), cap);
        la_strlcat(buf, ".", cap);
        la_strlcat(buf, leaf, cap);
        return buf;
}

/* ---- value kinds of the namespace's C types ---------------------------------------- */

static size_t kind_size(enum jp_kind k)
{
        switch (k) {
        case JP_K_BOOL: return sizeof(bool);
        case JP_K_U32: return sizeof(uint32_t);
        case JP_K_U64: return sizeof(uint64_t);
        case JP_K_I64: return sizeof(int64_t);
        case JP_K_STR: return sizeof(const char *);
        default: return 0;
        }
}

typedef union value {
        bool b;
        uint32_t u32;
        uint64_t u64;
        int64_t i64;
        const char *s;
} value_t;

static void write_value(jp_writer_t *w, enum jp_kind k, const value_t *v)
{
        switch (k) {
        case JP_K_BOOL: jp_w_bool(w, v->b); break;
        case JP_K_U32: jp_w_u64(w, v->u32); break;
        case JP_K_U64: jp_w_u64(w, v->u64); break;
        case JP_K_I64: jp_w_i64(w, v->i64); break;
        case JP_K_STR: jp_w_str(w, v->s); break;
        default: jp_w_null(w); break;
        }
}

/* {"type": ..., "<key>": value}: a get or set entry. */
static void write_typed(jp_writer_t *w, const char *type, const char *key, enum jp_kind kind,
                        const value_t *v)
{
        jp_w_obj(w);
        jp_w_key(w, "type");
        jp_w_str(w, type);
        if (key != NULL) {
                jp_w_key(w, key);
                write_value(w, kind, v);
        }
        jp_w_obj_end(w);
}

static void write_error_obj(jp_writer_t *w, const char *code, const char *message)
{
        jp_w_obj(w);
        jp_w_key(w, "error");
        jp_w_obj(w);
        jp_w_key(w, "code");
        jp_w_str(w, code);
        jp_w_key(w, "message");
        jp_w_str(w, message);
        jp_w_obj_end(w);
        jp_w_obj_end(w);
}

/* ---- operations -------------------------------------------------------------------- */

static void op_hello(la_ctl_req_t *c)
{
        const char *version = NULL;
        size_t sz = sizeof(version);
        la_ctl_byname("version", &version, &sz, NULL, 0);
        jp_w_obj(c->w);
        jp_w_key(c->w, "protocol");
        jp_w_arr(c->w);
        jp_w_u64(c->w, JP_VERSION);
        jp_w_arr_end(c->w);
        jp_w_key(c->w, "server");
        jp_w_str(c->w, "liballoc");
        jp_w_key(c->w, "version"); /* liballoc's own; jemalloc's ABI version beside it */
        jp_w_str(c->w, LA_VERSION);
        jp_w_key(c->w, "jemalloc_version");
        jp_w_str(c->w, version);
        jp_w_key(c->w, "pid");
        jp_w_u64(c->w, (uint64_t)getpid());
        jp_w_obj_end(c->w);
}

/* Field n (1-based) of /proc/self/stat, counted after the command name. */
static uint64_t stat_field(const char *stat, int n)
{
        const char *p = strrchr(stat, ')');
        if (p == NULL)
                return 0;
        p += 2; /* field 3 starts here */
        for (int f = 3; f < n && *p != '\0'; f++) {
                p = strchr(p, ' ');
                if (p == NULL)
                        return 0;
                p++;
        }
        return strtoull(p, NULL, 10);
}

static void op_info(la_ctl_req_t *c)
{
        jp_writer_t *w = c->w;
        char *buf = c->scratch.info.buf;
        const size_t cap = sizeof(c->scratch.info.buf);
        jp_w_obj(w);
        jp_w_key(w, "pid");
        jp_w_u64(w, (uint64_t)getpid());
        jp_w_key(w, "ppid");
        jp_w_u64(w, (uint64_t)getppid());
        jp_w_key(w, "uid");
        jp_w_u64(w, (uint64_t)geteuid());
        jp_w_key(w, "gid");
        jp_w_u64(w, (uint64_t)getegid());
        jp_w_key(w, "comm");
        ssize_t n = read_file("/proc/self/comm", buf, cap);
        if (n > 0 && buf[n - 1] == '\n')
                buf[--n] = '\0';
        jp_w_str(w, n >= 0 ? buf : NULL);
        jp_w_key(w, "exe");
        n = readlink("/proc/self/exe", buf, cap - 1);
        if (n >= 0)
                buf[n] = '\0';
        jp_w_str(w, n >= 0 ? buf : NULL);
        jp_w_key(w, "cmdline");
        jp_w_arr(w);
        n = read_file("/proc/self/cmdline", buf, cap);
        for (ssize_t i = 0; i < n;) {
                size_t len = strnlen(buf + i, (size_t)(n - i));
                jp_w_strn(w, buf + i, len);
                i += (ssize_t)len + 1;
        }
        jp_w_arr_end(w);
        jp_w_key(w, "start_time");
        uint64_t start = 0, btime = 0;
        if (read_file("/proc/self/stat", buf, cap) > 0)
                start = stat_field(buf, 22);
        if (read_file("/proc/stat", buf, cap) > 0) {
                const char *b = strstr(buf, "\nbtime ");
                btime = b != NULL ? strtoull(b + 7, NULL, 10) : 0;
        }
        long hz = sysconf(_SC_CLK_TCK);
        jp_w_u64(w, btime + (hz > 0 ? start / (uint64_t)hz : 0));
        jp_w_key(w, "cgroup");
        n = read_file("/proc/self/cgroup", buf, cap);
        char *cg = c->scratch.info.cgroup;
        if (n > 0 && jp_cgroup_of(buf, cg, sizeof(c->scratch.info.cgroup)) > 0)
                jp_w_str(w, cg);
        else
                jp_w_null(w);
        jp_w_key(w, "allocator");
        jp_w_str(w, "liballoc");
        jp_w_key(w, "allocator_version");
        jp_w_str(w, LA_VERSION);
        jp_w_key(w, "jemalloc_version"); /* the `version` mallctl: the ABI it stands in for */
        const char *version = NULL;
        size_t sz = sizeof(version);
        la_ctl_byname("version", &version, &sz, NULL, 0);
        jp_w_str(w, version);
        jp_w_key(w, "runtime_dir");
        jp_w_str(w, c->dir);
        jp_w_key(w, "socket");
        jp_w_str(w, c->path);
        jp_w_obj_end(w);
}

/* Names whose read acts (creates an arena or a cache): not for get, which read-only peers
 * may use; set with a null value performs the read and answers its value. */
static bool read_acts(const char *name)
{
        return strcmp(name, "arenas.create") == 0 || strcmp(name, "tcache.create") == 0;
}

static bool has_suffix(const char *s, const char *suffix)
{
        size_t n = strlen(s), m = strlen(suffix);
        return n >= m && strcmp(s + n - m, suffix) == 0;
}

/* Writes a peer may not make over the socket, whatever its permissions: each would act on
 * the control thread instead of the application, race with an application thread, free
 * memory the application may still hold, or open a path the request chose
 * (docs/security.md, "The host is never harmed").  The message says why; NULL if allowed.
 * The in-process mallctl is not affected. */
static const char *socket_refused(const char *name)
{
        if (strncmp(name, "thread.", 7) == 0)
                return "refused over the socket: thread.* names act on the calling thread, "
                       "which here is the control thread, not an application thread";
        if (strcmp(name, "tcache.flush") == 0 || strcmp(name, "tcache.destroy") == 0)
                return "refused over the socket: an explicit cache belongs to the application "
                       "threads that use it and cannot be flushed or destroyed safely from "
                       "another thread";
        if (strncmp(name, "arena.", 6) == 0 &&
            (has_suffix(name, ".reset") || has_suffix(name, ".destroy")))
                return "refused over the socket: resetting or destroying an arena frees every "
                       "block in it, which the application (or the control thread) may still "
                       "hold";
        if (strcmp(name, "prof.dump") == 0 || strcmp(name, "prof.prefix") == 0)
                return "refused over the socket: no request chooses a path the target writes; "
                       "use the prof operation with action dump (a memfd)";
        return NULL;
}

static void write_errno(jp_writer_t *w, int rc)
{
        write_error_obj(w, jp_errno_code(rc), jp_errno_message(rc));
}

/* What get or set does with one name of the namespace (its type and rw as `list` reports
 * them); val is a set's value token, NULL for a get.  Writes the name's entry. */
typedef void name_op_fn(la_ctl_req_t *c, const char *name, const char *type, const char *rw,
                        const jp_tok_t *val);

/* {"values": {"<name>": <entry>, ...}}, one entry per name of the request, in its order;
 * a name the namespace lacks gets its error entry without reaching op. */
static void answer_each_name(la_ctl_req_t *c, name_op_fn *op)
{
        jp_writer_t *w = c->w;
        jp_names_iter_t it;
        int n, v;
        jp_w_obj(w);
        jp_w_key(w, JP_ARG_VALUES);
        jp_w_obj(w);
        jp_names_begin(&it, c->toks, c->args.names);
        while (jp_names_next(&it, &n, &v)) {
                char name[LA_CTL_NAME_MAX];
                const char *type, *rw;
                jp_str_copy(c->s, &c->toks[n], name, sizeof(name)); /* checked: fits, no NUL */
                jp_w_key(w, name);
                int rc = la_ctl_leaf_info(name, &type, &rw);
                if (rc != 0)
                        write_errno(w, rc);
                else
                        op(c, name, type, rw, v >= 0 ? &c->toks[v] : NULL);
        }
        jp_w_obj_end(w);
        jp_w_obj_end(w);
}

static void get_one(la_ctl_req_t *c, const char *name, const char *type, const char *rw,
                    const jp_tok_t *val)
{
        (void)val;
        if (read_acts(name)) {
                write_error_obj(c->w, "EPERM", "reading this name creates an arena or a "
                                               "cache: use set with the value null");
                return;
        }
        enum jp_kind kind = jp_type_kind(type);
        value_t v;
        memset(&v, 0, sizeof(v));
        size_t sz = kind_size(kind);
        if (rw[0] != 'r') {
                write_error_obj(c->w, "EPERM", "this name cannot be read");
                return;
        }
        if (sz == 0) {
                write_error_obj(c->w, "bad_value",
                                "values of this type are not carried over the protocol");
                return;
        }
        int rc = la_ctl_byname(name, &v, &sz, NULL, 0);
        if (rc != 0)
                write_errno(c->w, rc);
        else
                write_typed(c->w, type, "value", kind, &v);
}

static void op_get(la_ctl_req_t *c)
{
        answer_each_name(c, get_one);
}

/* Converts a JSON value token for a name of kind k; false if it does not fit. */
static bool parse_value(la_ctl_req_t *c, const jp_tok_t *t, enum jp_kind k, value_t *v,
                        char *strbuf, size_t strcap)
{
        uint64_t u;
        switch (k) {
        case JP_K_BOOL:
                if (t->type != JP_TRUE && t->type != JP_FALSE)
                        return false;
                v->b = t->type == JP_TRUE;
                return true;
        case JP_K_U32:
                if (!jp_get_u64(c->s, t, &u) || u > UINT32_MAX)
                        return false;
                v->u32 = (uint32_t)u;
                return true;
        case JP_K_U64:
                return jp_get_u64(c->s, t, &v->u64);
        case JP_K_I64:
                return jp_get_i64(c->s, t, &v->i64);
        case JP_K_STR:
                if (t->type == JP_NULL) {
                        v->s = NULL;
                        return true;
                }
                if (jp_str_copy(c->s, t, strbuf, strcap) < 0)
                        return false;
                v->s = strbuf;
                return true;
        case JP_K_VOID:
                return t->type == JP_NULL;
        default:
                return false;
        }
}

static void set_one(la_ctl_req_t *c, const char *name, const char *type, const char *rw,
                    const jp_tok_t *val)
{
        jp_writer_t *w = c->w;
        const char *why = socket_refused(name);
        if (why != NULL) {
                write_error_obj(w, jp_err_code(JP_ERR_PERMISSION), why);
                return;
        }
        enum jp_kind kind = jp_type_kind(type);
        value_t nv, ov;
        memset(&ov, 0, sizeof(ov));
        size_t osz = kind_size(kind);
        int rc;
        if (read_acts(name) && val->type == JP_NULL) {
                rc = la_ctl_byname(name, &ov, &osz, NULL, 0);
                if (rc != 0)
                        write_errno(w, rc);
                else
                        write_typed(w, type, "value", kind, &ov);
                return;
        }
        if (!parse_value(c, val, kind, &nv, c->scratch.str, sizeof(c->scratch.str))) {
                write_error_obj(w, "bad_value", "the value does not fit the name's type");
                return;
        }
        bool readable = kind != JP_K_VOID && rw[0] == 'r';
        if (kind == JP_K_VOID)
                rc = la_ctl_byname(name, NULL, NULL, NULL, 0);
        else
                rc = la_ctl_byname(name, readable ? &ov : NULL, readable ? &osz : NULL, &nv,
                                   kind_size(kind));
        if (rc != 0)
                write_errno(w, rc);
        else
                write_typed(w, type, readable ? "old" : NULL, kind, &ov);
}

static void op_set(la_ctl_req_t *c)
{
        answer_each_name(c, set_one);
}

/* list: the prefix may use real indices ("stats.arenas.0.bins") or <i>/<j>. */
typedef struct list_arg {
        jp_writer_t *w;
        char prefix[LA_CTL_NAME_MAX];
} list_arg_t;

static void normalise_prefix(char *p)
{
        char out[LA_CTL_NAME_MAX];
        jp_name_pattern(p, out, sizeof(out), NULL);
        la_strlcpy(p, out, LA_CTL_NAME_MAX);
}

static int list_one(const char *name, const char *type, const char *rw, void *arg)
{
        list_arg_t *a = arg;
        size_t pl = strlen(a->prefix);
        if (pl != 0 && (strncmp(name, a->prefix, pl) != 0 ||
                        (name[pl] != '\0' && name[pl] != '.' && a->prefix[pl - 1] != '.')))
                return 0;
        jp_w_obj(a->w);
        jp_w_key(a->w, "name");
        jp_w_str(a->w, name);
        jp_w_key(a->w, "type");
        jp_w_str(a->w, type);
        jp_w_key(a->w, "rw");
        jp_w_str(a->w, rw);
        jp_w_obj_end(a->w);
        return 0;
}

static void op_list(la_ctl_req_t *c)
{
        list_arg_t a;
        a.w = c->w;
        la_strlcpy(a.prefix, c->args.prefix, sizeof(a.prefix));
        normalise_prefix(a.prefix);
        jp_w_obj(c->w);
        jp_w_key(c->w, JP_ARG_NAMES);
        jp_w_arr(c->w);
        la_ctl_walk(list_one, &a);
        jp_w_arr_end(c->w);
        jp_w_obj_end(c->w);
}

static void op_stats_summary(la_ctl_req_t *c)
{
        jp_writer_t *w = c->w;
        static const char *const totals[] = {"allocated", "active",   "metadata",
                                              "resident",  "mapped",   "retained"};
        char name[96];
        epoch();
        jp_w_obj(w);
        jp_w_key(w, "epoch");
        uint64_t e = 0;
        size_t sz = sizeof(e);
        la_ctl_byname("epoch", &e, &sz, NULL, 0);
        jp_w_u64(w, e);
        for (unsigned i = 0; i < LA_ARRAY_LEN(totals); i++) {
                la_strlcpy(name, "stats.", sizeof(name));
                la_strlcat(name, totals[i], sizeof(name));
                jp_w_key(w, totals[i]);
                jp_w_u64(w, rd_size(name));
        }
        jp_w_key(w, "rss");
        jp_w_u64(w, rss_bytes());
        unsigned narenas = 0;
        sz = sizeof(narenas);
        la_ctl_byname("arenas.narenas", &narenas, &sz, NULL, 0);
        jp_w_key(w, "narenas");
        jp_w_u64(w, narenas);
        jp_w_key(w, "dirty_decay_ms");
        jp_w_i64(w, rd_ssize("arenas.dirty_decay_ms"));
        jp_w_key(w, "muzzy_decay_ms");
        jp_w_i64(w, rd_ssize("arenas.muzzy_decay_ms"));
        bool bg = false;
        sz = sizeof(bg);
        la_ctl_byname("background_thread", &bg, &sz, NULL, 0);
        jp_w_key(w, "background_thread");
        jp_w_bool(w, bg);
        /* The memory-pressure watch (pressure.h): liballoc's own names. */
        jp_w_key(w, JP_ARG_PRESSURE);
        jp_w_obj(w);
        const char *watch = "off";
        sz = sizeof(watch);
        la_ctl_byname("pressure.watch", &watch, &sz, NULL, 0);
        jp_w_key(w, "watch");
        jp_w_str(w, watch);
        static const char *const pressure[] = {"events", "purges", "bytes_returned",
                                               "last_event_ms"};
        for (unsigned i = 0; i < LA_ARRAY_LEN(pressure); i++) {
                uint64_t v = 0;
                sz = sizeof(v);
                la_strlcpy(name, "stats.pressure.", sizeof(name));
                la_strlcat(name, pressure[i], sizeof(name));
                la_ctl_byname(name, &v, &sz, NULL, 0);
                jp_w_key(w, pressure[i]);
                jp_w_u64(w, v);
        }
        jp_w_obj_end(w);
        jp_w_key(w, "arenas");
        jp_w_arr(w);
        static const char *const leaves[] = {"pactive", "pdirty", "pmuzzy"};
        for (unsigned i = 0; i < narenas; i++) {
                bool init = false;
                sz = sizeof(init);
                if (la_ctl_byname(arena_name(name, sizeof(name), "arena.", i, "initialized"),
                                  &init, &sz, NULL, 0) != 0 ||
                    !init)
                        continue;
                jp_w_obj(w);
                jp_w_key(w, "index");
                jp_w_u64(w, i);
                unsigned nthreads = 0;
                sz = sizeof(nthreads);
                la_ctl_byname(arena_name(name, sizeof(name), "stats.arenas.", i, "nthreads"),
                              &nthreads, &sz, NULL, 0);
                jp_w_key(w, "nthreads");
                jp_w_u64(w, nthreads);
                for (unsigned k = 0; k < LA_ARRAY_LEN(leaves); k++) {
                        jp_w_key(w, leaves[k]);
                        jp_w_u64(w, rd_size(arena_name(name, sizeof(name), "stats.arenas.", i,
                                                       leaves[k])));
                }
                jp_w_key(w, "dirty_decay_ms");
                jp_w_i64(w, rd_ssize(arena_name(name, sizeof(name), "stats.arenas.", i,
                                                "dirty_decay_ms")));
                jp_w_key(w, "muzzy_decay_ms");
                jp_w_i64(w, rd_ssize(arena_name(name, sizeof(name), "stats.arenas.", i,
                                                "muzzy_decay_ms")));
                jp_w_key(w, "small_allocated");
                jp_w_u64(w, rd_size(arena_name(name, sizeof(name), "stats.arenas.", i,
                                               "small.allocated")));
                jp_w_key(w, "large_allocated");
                jp_w_u64(w, rd_size(arena_name(name, sizeof(name), "stats.arenas.", i,
                                               "large.allocated")));
                jp_w_obj_end(w);
        }
        jp_w_arr_end(w);
        jp_w_obj_end(w);
}

/* The full JSON of malloc_stats_print, appended piece by piece as the value of
 * "result" (the writer's comma logic is bypassed: it is one value). */
static void stats_cb(void *arg, const char *s)
{
        jp_writer_t *w = arg;
        size_t n = strlen(s);
        if (w->overflow || n > w->cap - w->len) {
                w->overflow = true;
                return;
        }
        memcpy(w->buf + w->len, s, n);
        w->len += n;
}

static void op_stats(la_ctl_req_t *c)
{
        if (c->args.full) {
                c->w->after_key = false; /* the document is the value of "result" */
                la_stats_print(stats_cb, c->w, "J");
                return;
        }
        op_stats_summary(c);
}

/* "pressure": true asks for what a memory-pressure event does (pressure.event: every
 * arena, the thread heaps' surplus, the purges that follow for a while) instead of one
 * arena's purge; jemctld's governor sends it.  "arena" is checked against
 * arenas.narenas (check_purge). */
static void op_purge(la_ctl_req_t *c)
{
        char name[64];
        uint64_t before = rss_bytes();
        int rc = c->args.pressure
                         ? la_ctl_byname("pressure.event", NULL, NULL, NULL, 0)
                         : la_ctl_byname(arena_name(name, sizeof(name), "arena.",
                                                    (unsigned)c->args.arena, "purge"),
                                         NULL, NULL, NULL, 0);
        jp_w_obj(c->w);
        if (rc != 0) {
                jp_w_key(c->w, "error");
                jp_w_str(c->w, jp_errno_code(rc));
        }
        jp_w_key(c->w, "rss_before");
        jp_w_u64(c->w, before);
        jp_w_key(c->w, "rss_after");
        jp_w_u64(c->w, rss_bytes());
        jp_w_obj_end(c->w);
}

static void op_decay_all(la_ctl_req_t *c)
{
        bool has_muzzy = c->args.has_muzzy;
        uint64_t before = rss_bytes();
        ssize_t d = (ssize_t)c->args.dirty_ms, m = (ssize_t)c->args.muzzy_ms;
        int rc = la_ctl_byname("arenas.dirty_decay_ms", NULL, NULL, &d, sizeof(d));
        if (rc == 0 && has_muzzy)
                rc = la_ctl_byname("arenas.muzzy_decay_ms", NULL, NULL, &m, sizeof(m));
        unsigned narenas = 0, set = 0;
        size_t sz = sizeof(narenas);
        la_ctl_byname("arenas.narenas", &narenas, &sz, NULL, 0);
        char name[64];
        for (unsigned i = 0; rc == 0 && i < narenas; i++) {
                /* EFAULT: an index no arena has used yet. */
                if (la_ctl_byname(arena_name(name, sizeof(name), "arena.", i, "dirty_decay_ms"),
                                  NULL, NULL, &d, sizeof(d)) == 0)
                        set++;
                if (has_muzzy)
                        la_ctl_byname(arena_name(name, sizeof(name), "arena.", i,
                                                 "muzzy_decay_ms"),
                                      NULL, NULL, &m, sizeof(m));
        }
        jp_w_obj(c->w);
        if (rc != 0) {
                jp_w_key(c->w, "error");
                jp_w_str(c->w, jp_errno_code(rc));
        }
        jp_w_key(c->w, "arenas");
        jp_w_u64(c->w, set);
        jp_w_key(c->w, "rss_before");
        jp_w_u64(c->w, before);
        jp_w_key(c->w, "rss_after");
        jp_w_u64(c->w, rss_bytes());
        jp_w_obj_end(c->w);
}

/* ---- prof ---------------------------------------------------------------------------- */

#define PROF_DUMP_MAX ((size_t)JP_DUMP_MAX) /* bytes of one dump passed to a client */

/* A sealed in-memory file holding a heap_v2 dump; -1 with *e set on failure. */
static int prof_dump_memfd(enum jp_err *e, const char **msg)
{
        int fd = memfd_create("liballoc-heap-profile", MFD_CLOEXEC | MFD_ALLOW_SEALING);
        if (fd < 0) {
                *e = JP_ERR_INTERNAL;
                *msg = "cannot create an in-memory file for the profile";
                return -1;
        }
        int rc = la_prof_dump_fd(fd, PROF_DUMP_MAX);
        if (rc != 0) {
                close(fd);
                *e = rc == EFBIG ? JP_ERR_TOO_LARGE : JP_ERR_INTERNAL;
                *msg = rc == EFBIG ? "the profile would exceed 256 MiB"
                                   : "writing the profile failed";
                return -1;
        }
        /* The reader gets exactly what was written: no one can change it afterwards. */
        fcntl(fd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE | F_SEAL_SEAL);
        return fd;
}

static void op_prof(la_ctl_req_t *c)
{
        enum jp_prof_action act = c->args.action;
        uint64_t lg = c->args.lg_sample;
        bool has_lg = c->args.has_lg;
        bool was = la_prof_get_active();
        if (act == JP_PROF_DUMP) {
                enum jp_err e = JP_OK;
                const char *msg = NULL;
                int fd = prof_dump_memfd(&e, &msg);
                if (fd < 0) {
                        jp_w_init(c->w, c->w->buf, c->w->cap);
                        jp_response_error(c->w, c->req.id, e, msg);
                        c->failed = true;
                        return;
                }
                struct stat st;
                fstat(fd, &st);
                c->pass_fd = fd;
                jp_w_obj(c->w);
                jp_w_key(c->w, "format");
                jp_w_str(c->w, "heap_v2");
                jp_w_key(c->w, "bytes");
                jp_w_u64(c->w, (uint64_t)st.st_size);
                jp_w_key(c->w, "fd");
                jp_w_bool(c->w, true);
                jp_w_obj_end(c->w);
                return;
        }
        if (act == JP_PROF_RESET || (act == JP_PROF_ON && has_lg && lg != la_prof_lg_sample())) {
                size_t v = (size_t)lg;
                la_prof_reset(has_lg ? &v : NULL);
        }
        if (act == JP_PROF_ON || act == JP_PROF_OFF)
                la_prof_set_active(act == JP_PROF_ON);
        uint64_t samples, bytes;
        la_prof_counts(&samples, &bytes);
        jp_w_obj(c->w);
        jp_w_key(c->w, "active");
        jp_w_bool(c->w, la_prof_get_active());
        jp_w_key(c->w, "was_active");
        jp_w_bool(c->w, was);
        jp_w_key(c->w, JP_ARG_LG_SAMPLE);
        jp_w_u64(c->w, la_prof_lg_sample());
        jp_w_key(c->w, "samples");
        jp_w_u64(c->w, samples);
        jp_w_key(c->w, "sampled_bytes");
        jp_w_u64(c->w, bytes);
        jp_w_obj_end(c->w);
}

/* ---- argument checks: jp_args_read has checked every argument's type and the
 * protocol's limits; these check what only this process knows.  Each passes before
 * anything is done (a request either runs whole or is refused whole); JP_OK, or the error
 * with *msg set ------------------------------------------------------------------------ */

/* The names of a get or set: none repeated (after unescaping), so the answer has exactly
 * one entry per name. */
static enum jp_err check_names(la_ctl_req_t *c, const char **msg)
{
        char(*names)[LA_CTL_NAME_MAX] = c->scratch.names;
        jp_names_iter_t it;
        int n, v;
        uint32_t k = 0;
        *msg = "a name appears twice in the request";
        jp_names_begin(&it, c->toks, c->args.names);
        for (; jp_names_next(&it, &n, &v); k++) {
                jp_str_copy(c->s, &c->toks[n], names[k], LA_CTL_NAME_MAX); /* checked */
                for (uint32_t j = 0; j < k; j++)
                        if (strcmp(names[j], names[k]) == 0)
                                return JP_ERR_BAD_REQUEST;
        }
        return JP_OK;
}

static enum jp_err check_purge(la_ctl_req_t *c, const char **msg)
{
        unsigned narenas = 0;
        size_t sz = sizeof(narenas);
        la_ctl_byname("arenas.narenas", &narenas, &sz, NULL, 0);
        *msg = "\"arena\" must be an arena index below arenas.narenas, or 4096 (all)";
        return c->args.arena < narenas || c->args.arena == LA_ARENAS_ALL ? JP_OK
                                                                         : JP_ERR_BAD_REQUEST;
}

static enum jp_err check_decay_all(la_ctl_req_t *c, const char **msg)
{
        *msg = "\"dirty_ms\" (and \"muzzy_ms\") must be decay times: -1 (never), "
               "0 (at once) or milliseconds up to 18446744072000";
        return la_decay_ms_valid((ssize_t)c->args.dirty_ms) &&
                               (!c->args.has_muzzy || la_decay_ms_valid((ssize_t)c->args.muzzy_ms))
                       ? JP_OK
                       : JP_ERR_BAD_REQUEST;
}

/* ---- the table --------------------------------------------------------------------- */

#define DENIED_WRITE "this peer may read but not change settings"

typedef struct la_ctl_op {
        const char *name;   /* as the protocol spells it (jp_op_name) */
        unsigned perm;      /* the PERM_* the peer needs */
        const char *denied; /* the message when it lacks it */
        bool pure;          /* running it again changes nothing */
        enum jp_err (*check)(la_ctl_req_t *c, const char **msg); /* NULL: nothing more */
        void (*run)(la_ctl_req_t *c);
} la_ctl_op_t;

static const la_ctl_op_t ops[JP_NOPS] = {
        [JP_OP_HELLO] = {"hello", PERM_READ, NULL, true, NULL, op_hello},
        [JP_OP_INFO] = {"info", PERM_READ, NULL, true, NULL, op_info},
        [JP_OP_GET] = {"get", PERM_READ, NULL, true, check_names, op_get},
        [JP_OP_SET] = {"set", PERM_WRITE, DENIED_WRITE, false, check_names, op_set},
        [JP_OP_LIST] = {"list", PERM_READ, NULL, true, NULL, op_list},
        [JP_OP_STATS] = {"stats", PERM_READ, NULL, true, NULL, op_stats},
        [JP_OP_PURGE] = {"purge", PERM_WRITE, DENIED_WRITE, false, check_purge, op_purge},
        [JP_OP_DECAY_ALL] = {"decay-all", PERM_WRITE, DENIED_WRITE, false, check_decay_all,
                             op_decay_all},
        [JP_OP_PROF] = {"prof", PERM_PROF, "this peer may not capture profiles", false,
                        NULL, op_prof},
};

enum jp_err la_ctl_prepare(la_ctl_req_t *c, const char **msg)
{
        c->op = NULL;
        c->w = NULL;
        c->failed = false;
        c->pass_fd = -1;
        *msg = NULL;
        enum jp_err e = jp_request_parse(c->s, c->len, c->toks, JP_MAX_TOKENS, &c->req);
        if (e != JP_OK)
                return e;
        const la_ctl_op_t *op = &ops[c->req.op]; /* jp_request_parse knows only these */
        LA_ASSERT_INTERNAL(op->run != NULL && strcmp(op->name, jp_op_name(c->req.op)) == 0);
        if ((c->perms & op->perm) == 0) {
                *msg = op->denied;
                return JP_ERR_PERMISSION;
        }
        if ((e = jp_args_read(c->s, c->toks, &c->req, &c->args, msg)) != JP_OK)
                return e;
        if (op->check != NULL && (e = op->check(c, msg)) != JP_OK)
                return e;
        c->op = op;
        return JP_OK;
}

bool la_ctl_pure(const la_ctl_req_t *c)
{
        return c->op == NULL || c->op->pure;
}

void la_ctl_run(la_ctl_req_t *c, jp_writer_t *w)
{
        c->w = w;
        c->failed = false;
        jp_response_begin(w, c->req.id);
        c->op->run(c);
        if (!c->failed)
                jp_response_end(w);
}
