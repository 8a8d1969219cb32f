/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Conformance of malloc_stats_print's JSON form ("J", the document jemalloc 5.3.0 writes) and the text form's
 * headline figures.  The captured output is parsed by a small strict JSON parser
 * (RFC 8259 grammar, compact framing) that also detects duplicate keys within an object.
 * jemalloc 5.3.0 writes some keys twice (opt.stats_print, opt.stats_print_opts,
 * hpa_shard.{full,empty}_slabs.nactive_huge), so on jemalloc the duplicate-key check expects
 * duplicates, and on liballoc none.  Checked: the top-level structure and key order, the
 * arenas.bin / lextent arrays against arenas.nbins / nlextents and the per-class sizes,
 * stats.allocated against mallctl("stats.allocated") read right after (nothing allocated
 * in between), the stats.arenas keys against arena.<i>.initialized (merged, destroyed,
 * per arena), the arena objects' keys, what each option letter removes, the write_cb
 * chunking, a NULL write_cb going to the malloc_message hook, and the text form's
 * Begin/End markers and "Allocated:" line.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jemalloc/jemalloc.h>

#include "impl.h"

/* ---- capture (static storage: the callbacks must not allocate) ---------------------- */

#define SINK_CAP (4u << 20)
static struct {
        char buf[SINK_CAP];
        size_t len;
        unsigned chunks;
        unsigned empty_chunks;
        size_t max_chunk;
        bool overflow;
} sink;

static void sink_reset(void)
{
        sink.len = 0;
        sink.chunks = 0;
        sink.empty_chunks = 0;
        sink.max_chunk = 0;
        sink.overflow = false;
        sink.buf[0] = '\0';
}

static void sink_append(const char *s)
{
        size_t n = strlen(s);
        sink.chunks++;
        if (n == 0)
                sink.empty_chunks++;
        if (n > sink.max_chunk)
                sink.max_chunk = n;
        if (sink.len + n + 1 > sizeof(sink.buf)) {
                sink.overflow = true;
                n = sizeof(sink.buf) - 1 - sink.len;
        }
        memcpy(sink.buf + sink.len, s, n);
        sink.len += n;
        sink.buf[sink.len] = '\0';
}

static int opaque_token;
static int bad_opaque;

static void write_cb(void *cbopaque, const char *s)
{
        if (cbopaque != &opaque_token)
                bad_opaque++;
        sink_append(s);
}

static void message_hook(void *cbopaque, const char *s)
{
        (void)cbopaque;
        sink_append(s);
}

static void capture(const char *opts)
{
        sink_reset();
        malloc_stats_print(write_cb, &opaque_token, opts);
}

/* ---- a strict JSON parser building a node table ------------------------------------ */

enum jtype { J_OBJECT, J_ARRAY, J_STRING, J_NUMBER, J_TRUE, J_FALSE, J_NULL };

typedef struct jnode {
        enum jtype type;
        int parent, first, last, next, nchild;
        const char *key; /* member name (raw, between the quotes), NULL in arrays */
        size_t keylen;
        const char *val; /* strings: raw contents; numbers: the digits */
        size_t vallen;
} jnode;

#define JMAX_NODES 200000
static jnode jn[JMAX_NODES];
static int jcount;

static struct {
        const char *s, *end, *p;
        const char *err;
        size_t err_at;
        int ndups;
        char first_dup[128];
        int depth;
} jp;

static bool jfail(const char *msg)
{
        if (jp.err == NULL) {
                jp.err = msg;
                jp.err_at = (size_t)(jp.p - jp.s);
        }
        return false;
}

static void jws(void)
{
        while (jp.p < jp.end && (*jp.p == ' ' || *jp.p == '\t' || *jp.p == '\n' || *jp.p == '\r'))
                jp.p++;
}

static bool jhex(char c)
{
        return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

/* Parses a string at jp.p (on the opening quote); returns its raw contents. */
static bool jstring(const char **out, size_t *len)
{
        if (jp.p >= jp.end || *jp.p != '"')
                return jfail("expected '\"'");
        const char *start = ++jp.p;
        while (jp.p < jp.end && *jp.p != '"') {
                unsigned char c = (unsigned char)*jp.p;
                if (c < 0x20)
                        return jfail("control character in string");
                if (c == '\\') {
                        jp.p++;
                        if (jp.p >= jp.end)
                                return jfail("truncated escape");
                        if (*jp.p == 'u') {
                                for (int k = 1; k <= 4; k++)
                                        if (jp.p + k >= jp.end || !jhex(jp.p[k]))
                                                return jfail("bad \\u escape");
                                jp.p += 4;
                        } else if (strchr("\"\\/bfnrt", *jp.p) == NULL) {
                                return jfail("bad escape");
                        }
                }
                jp.p++;
        }
        if (jp.p >= jp.end)
                return jfail("unterminated string");
        *out = start;
        *len = (size_t)(jp.p - start);
        jp.p++;
        return true;
}

static bool jdigits(void)
{
        if (jp.p >= jp.end || *jp.p < '0' || *jp.p > '9')
                return false;
        while (jp.p < jp.end && *jp.p >= '0' && *jp.p <= '9')
                jp.p++;
        return true;
}

static bool jnumber(void)
{
        if (jp.p < jp.end && *jp.p == '-')
                jp.p++;
        if (jp.p < jp.end && *jp.p == '0') {
                jp.p++;
        } else if (!jdigits()) {
                return jfail("bad number");
        }
        if (jp.p < jp.end && *jp.p == '.') {
                jp.p++;
                if (!jdigits())
                        return jfail("bad fraction");
        }
        if (jp.p < jp.end && (*jp.p == 'e' || *jp.p == 'E')) {
                jp.p++;
                if (jp.p < jp.end && (*jp.p == '+' || *jp.p == '-'))
                        jp.p++;
                if (!jdigits())
                        return jfail("bad exponent");
        }
        return true;
}

static int jnew(enum jtype t, int parent, const char *key, size_t keylen)
{
        if (jcount == JMAX_NODES) {
                jfail("too many nodes");
                return -1;
        }
        int n = jcount++;
        jn[n] = (jnode){t, parent, -1, -1, -1, 0, key, keylen, NULL, 0};
        if (parent >= 0) {
                if (jn[parent].last >= 0)
                        jn[jn[parent].last].next = n;
                else
                        jn[parent].first = n;
                jn[parent].last = n;
                jn[parent].nchild++;
        }
        return n;
}

static bool jvalue(int parent, const char *key, size_t keylen);

static void jnote_dup(int obj, const char *key, size_t keylen)
{
        for (int c = jn[obj].first; c >= 0; c = jn[c].next) {
                if (jn[c].keylen == keylen && memcmp(jn[c].key, key, keylen) == 0) {
                        if (jp.ndups++ == 0) {
                                const char *pk = jn[obj].key ? jn[obj].key : "";
                                int pl = jn[obj].key ? (int)jn[obj].keylen : 0;
                                snprintf(jp.first_dup, sizeof(jp.first_dup), "%.*s.%.*s", pl, pk,
                                         (int)keylen, key);
                        }
                        return;
                }
        }
}

static bool jobject(int parent, const char *key, size_t keylen)
{
        int n = jnew(J_OBJECT, parent, key, keylen);
        if (n < 0)
                return false;
        jp.p++; /* '{' */
        jws();
        if (jp.p < jp.end && *jp.p == '}') {
                jp.p++;
                return true;
        }
        for (;;) {
                const char *k;
                size_t kl;
                jws();
                if (!jstring(&k, &kl))
                        return false;
                jnote_dup(n, k, kl);
                jws();
                if (jp.p >= jp.end || *jp.p != ':')
                        return jfail("expected ':'");
                jp.p++;
                if (!jvalue(n, k, kl))
                        return false;
                jws();
                if (jp.p < jp.end && *jp.p == ',') {
                        jp.p++;
                        continue;
                }
                if (jp.p < jp.end && *jp.p == '}') {
                        jp.p++;
                        return true;
                }
                return jfail("expected ',' or '}'");
        }
}

static bool jarray(int parent, const char *key, size_t keylen)
{
        int n = jnew(J_ARRAY, parent, key, keylen);
        if (n < 0)
                return false;
        jp.p++; /* '[' */
        jws();
        if (jp.p < jp.end && *jp.p == ']') {
                jp.p++;
                return true;
        }
        for (;;) {
                if (!jvalue(n, NULL, 0))
                        return false;
                jws();
                if (jp.p < jp.end && *jp.p == ',') {
                        jp.p++;
                        continue;
                }
                if (jp.p < jp.end && *jp.p == ']') {
                        jp.p++;
                        return true;
                }
                return jfail("expected ',' or ']'");
        }
}

static bool jliteral(const char *lit)
{
        size_t n = strlen(lit);
        if ((size_t)(jp.end - jp.p) < n || memcmp(jp.p, lit, n) != 0)
                return jfail("bad literal");
        jp.p += n;
        return true;
}

static bool jvalue(int parent, const char *key, size_t keylen)
{
        bool ok;
        jws();
        if (jp.p >= jp.end)
                return jfail("unexpected end");
        if (++jp.depth > 64)
                return jfail("nesting too deep");
        const char *start = jp.p;
        switch (*jp.p) {
        case '{':
                ok = jobject(parent, key, keylen);
                break;
        case '[':
                ok = jarray(parent, key, keylen);
                break;
        case '"': {
                const char *s;
                size_t l;
                ok = jstring(&s, &l);
                if (ok) {
                        int n = jnew(J_STRING, parent, key, keylen);
                        ok = n >= 0;
                        if (ok) {
                                jn[n].val = s;
                                jn[n].vallen = l;
                        }
                }
                break;
        }
        case 't':
                ok = jliteral("true") && jnew(J_TRUE, parent, key, keylen) >= 0;
                break;
        case 'f':
                ok = jliteral("false") && jnew(J_FALSE, parent, key, keylen) >= 0;
                break;
        case 'n':
                ok = jliteral("null") && jnew(J_NULL, parent, key, keylen) >= 0;
                break;
        default:
                ok = jnumber();
                if (ok) {
                        int n = jnew(J_NUMBER, parent, key, keylen);
                        ok = n >= 0;
                        if (ok) {
                                jn[n].val = start;
                                jn[n].vallen = (size_t)(jp.p - start);
                        }
                }
                break;
        }
        jp.depth--;
        return ok;
}

/* Parses s[0..len) as one JSON document; returns the root node or -1. */
static int jparse(const char *s, size_t len)
{
        memset(&jp, 0, sizeof(jp));
        jp.s = jp.p = s;
        jp.end = s + len;
        jcount = 0;
        if (!jvalue(-1, NULL, 0))
                return -1;
        jws();
        if (jp.p != jp.end) {
                jfail("trailing characters");
                return -1;
        }
        return 0;
}

/* True if s has no whitespace outside strings (compact framing). */
static bool json_compact(const char *s, size_t len)
{
        bool in_str = false;
        for (size_t i = 0; i < len; i++) {
                char c = s[i];
                if (in_str) {
                        if (c == '\\')
                                i++;
                        else if (c == '"')
                                in_str = false;
                } else if (c == '"') {
                        in_str = true;
                } else if (c == ' ' || c == '\t' || c == '\n' || c == '\r') {
                        return false;
                }
        }
        return true;
}

static int jget(int obj, const char *key)
{
        if (obj < 0 || jn[obj].type != J_OBJECT)
                return -1;
        size_t kl = strlen(key);
        for (int c = jn[obj].first; c >= 0; c = jn[c].next)
                if (jn[c].keylen == kl && memcmp(jn[c].key, key, kl) == 0)
                        return c;
        return -1;
}

/* Path of keys separated by '/' (keys may contain dots: "stats.arenas"). */
static int jpath(int node, const char *path)
{
        char key[128];
        while (node >= 0 && *path != '\0') {
                const char *slash = strchr(path, '/');
                size_t n = slash ? (size_t)(slash - path) : strlen(path);
                if (n >= sizeof(key))
                        return -1;
                memcpy(key, path, n);
                key[n] = '\0';
                node = jget(node, key);
                path += n + (slash ? 1 : 0);
        }
        return node;
}

static int jat(int arr, int idx)
{
        if (arr < 0)
                return -1;
        int c = jn[arr].first;
        while (c >= 0 && idx-- > 0)
                c = jn[c].next;
        return c;
}

static bool ju64(int node, uint64_t *out)
{
        char tmp[32];
        if (node < 0 || jn[node].type != J_NUMBER || jn[node].vallen >= sizeof(tmp) ||
            jn[node].val[0] == '-')
                return false;
        memcpy(tmp, jn[node].val, jn[node].vallen);
        tmp[jn[node].vallen] = '\0';
        errno = 0;
        char *end;
        *out = strtoull(tmp, &end, 10);
        return errno == 0 && *end == '\0';
}

static bool ji64(int node, int64_t *out)
{
        char tmp[32];
        if (node < 0 || jn[node].type != J_NUMBER || jn[node].vallen >= sizeof(tmp))
                return false;
        memcpy(tmp, jn[node].val, jn[node].vallen);
        tmp[jn[node].vallen] = '\0';
        errno = 0;
        char *end;
        *out = strtoll(tmp, &end, 10);
        return errno == 0 && *end == '\0';
}

static bool jstr_is(int node, const char *want)
{
        return node >= 0 && jn[node].type == J_STRING && jn[node].vallen == strlen(want) &&
               memcmp(jn[node].val, want, jn[node].vallen) == 0;
}

/* The object's keys joined with ',' (for messages and order checks). */
static const char *jkeys(int obj)
{
        static char buf[4096];
        size_t len = 0;
        buf[0] = '\0';
        if (obj < 0)
                return "(missing)";
        for (int c = jn[obj].first; c >= 0; c = jn[c].next) {
                int n = snprintf(buf + len, sizeof(buf) - len, "%s%.*s", len ? "," : "",
                                 (int)jn[c].keylen, jn[c].key ? jn[c].key : "");
                if (n < 0 || (size_t)n >= sizeof(buf) - len)
                        break;
                len += (size_t)n;
        }
        return buf;
}

static bool starts_with(const char *s, const char *prefix)
{
        return strncmp(s, prefix, strlen(prefix)) == 0;
}

/* Parses the sink; reports syntax as NAME/valid.  Returns the "jemalloc" object or -1. */
static int parse_sink(const char *name)
{
        int root = jparse(sink.buf, sink.len);
        CHECKF(cname("%s/valid", name), root == 0 && !sink.overflow, "%s at byte %zu of %zu%s",
               jp.err ? jp.err : "ok", jp.err_at, sink.len,
               sink.overflow ? " (capture overflow)" : "");
        if (root != 0)
                return -1;
        return jget(root, "jemalloc");
}

static uint64_t mallctl_u64(const char *name, size_t size)
{
        uint64_t v = 0;
        if (size == sizeof(uint32_t)) {
                uint32_t u = 0;
                size_t sz = sizeof(u);
                if (mallctl(name, &u, &sz, NULL, 0) == 0)
                        v = u;
        } else {
                size_t sz = size;
                mallctl(name, &v, &sz, NULL, 0);
        }
        return v;
}

static void epoch(void)
{
        uint64_t e = 1;
        size_t sz = sizeof(e);
        mallctl("epoch", &e, &sz, &e, sz);
}

/* ---- checks ------------------------------------------------------------------------ */

static const char *const arena_keys =
        "nthreads,uptime_ns,dss,dirty_decay_ms,muzzy_decay_ms,pactive,pdirty,pmuzzy,"
        "dirty_npurge,dirty_nmadvise,dirty_purged,muzzy_npurge,muzzy_nmadvise,muzzy_purged,"
        "small,large,mapped,retained,base,internal,metadata_thp,tcache_bytes,"
        "tcache_stashed_bytes,resident,abandoned_vm,extent_avail,mutexes,bins,lextents,"
        "extents,sec_bytes,hpa_shard";
static const char *const mutex_counters =
        "num_ops,num_wait,num_spin_acq,num_owner_switch,total_wait_time,max_wait_time,"
        "max_num_thds";
static const char *const totals_keys =
        "allocated,active,metadata,metadata_thp,resident,mapped,retained,zero_reallocs";

static unsigned extra_arena;

static void check_general(int je)
{
        bool config_prof = false;
        size_t sz = sizeof(config_prof);
        mallctl("config.prof", &config_prof, &sz, NULL, 0);
        CHECK_STR("stats_json/top_keys", jkeys(je),
                  config_prof ? "version,config,opt,prof,arenas,stats,stats.arenas"
                              : "version,config,opt,arenas,stats,stats.arenas");
        const char *version = NULL;
        sz = sizeof(version);
        mallctl("version", &version, &sz, NULL, 0);
        CHECK("stats_json/version", version != NULL && jstr_is(jget(je, "version"), version));
        CHECK_STR("stats_json/config_keys", jkeys(jget(je, "config")),
                  "cache_oblivious,debug,fill,lazy_lock,malloc_conf,opt_safety_checks,prof,"
                  "prof_libgcc,prof_libunwind,stats,utrace,xmalloc");
        int cfg_stats = jpath(je, "config/stats");
        CHECK("stats_json/config_stats_true", cfg_stats >= 0 && jn[cfg_stats].type == J_TRUE);

        int opt = jget(je, "opt");
        CHECKF("stats_json/opt_first_keys",
               starts_with(jkeys(opt), "abort,abort_conf,cache_oblivious,confirm_conf,retain,dss,"
                                       "narenas,percpu_arena,oversize_threshold,hpa,"),
               "opt keys: %.200s", jkeys(opt));
        CHECKF("stats_json/opt_last_keys",
               strstr(jkeys(opt), "stats_interval,stats_interval_opts,zero_realloc") != NULL &&
                       jn[jn[opt].last].keylen == strlen("zero_realloc"),
               "opt keys: %s", jkeys(opt));
        uint64_t v;
        CHECK("stats_json/opt_narenas_matches",
              ju64(jget(opt, "narenas"), &v) && v == mallctl_u64("opt.narenas", 4));
        int64_t dirty;
        ssize_t want_dirty = 0;
        sz = sizeof(want_dirty);
        mallctl("opt.dirty_decay_ms", &want_dirty, &sz, NULL, 0);
        CHECK("stats_json/opt_dirty_decay_ms_matches",
              ji64(jget(opt, "dirty_decay_ms"), &dirty) && dirty == want_dirty);
        CHECK("stats_json/opt_hpa_dirty_mult_is_string",
              jget(opt, "hpa_dirty_mult") >= 0 && jn[jget(opt, "hpa_dirty_mult")].type == J_STRING);
        CHECK("stats_json/opt_zero_realloc", jstr_is(jget(opt, "zero_realloc"), "free"));

        int arenas = jget(je, "arenas");
        CHECK_STR("stats_json/arenas_keys", jkeys(arenas),
                  "narenas,dirty_decay_ms,muzzy_decay_ms,quantum,page,tcache_max,nbins,nhbins,"
                  "bin,nlextents,lextent");
        uint64_t nbins = mallctl_u64("arenas.nbins", 4);
        uint64_t nlextents = mallctl_u64("arenas.nlextents", 4);
        uint64_t jnbins = 0, jnlext = 0;
        CHECK("stats_json/arenas_nbins", ju64(jget(arenas, "nbins"), &jnbins) && jnbins == nbins);
        CHECK("stats_json/arenas_nlextents",
              ju64(jget(arenas, "nlextents"), &jnlext) && jnlext == nlextents);
        int bin = jget(arenas, "bin"), lext = jget(arenas, "lextent");
        CHECK_EQ("stats_json/arenas_bin_length", bin >= 0 ? jn[bin].nchild : -1, nbins);
        CHECK_EQ("stats_json/arenas_lextent_length", lext >= 0 ? jn[lext].nchild : -1, nlextents);
        CHECK_STR("stats_json/arenas_bin_keys", jkeys(jat(bin, 0)), "size,nregs,slab_size,nshards");
        GROUP_BEGIN("stats_json/arenas_bin_values");
        for (unsigned j = 0; j < nbins; j++) {
                uint64_t size = 0, nregs = 0;
                char name[64];
                snprintf(name, sizeof(name), "arenas.bin.%u.size", j);
                uint64_t want_size = mallctl_u64(name, sizeof(size_t));
                snprintf(name, sizeof(name), "arenas.bin.%u.nregs", j);
                uint64_t want_nregs = mallctl_u64(name, sizeof(uint32_t));
                bool ok = ju64(jget(jat(bin, (int)j), "size"), &size);
                EXPECTF(ok && size == want_size, "bin %u size %" PRIu64 ", want %" PRIu64, j, size,
                       want_size);
                ok = ju64(jget(jat(bin, (int)j), "nregs"), &nregs);
                EXPECTF(ok && nregs == want_nregs, "bin %u nregs %" PRIu64 ", want %" PRIu64, j,
                       nregs, want_nregs);
        }
        GROUP_END();
        GROUP_BEGIN("stats_json/arenas_lextent_values");
        for (unsigned j = 0; j < nlextents; j++) {
                uint64_t size = 0;
                char name[64];
                snprintf(name, sizeof(name), "arenas.lextent.%u.size", j);
                uint64_t want = mallctl_u64(name, sizeof(size_t));
                bool ok = ju64(jget(jat(lext, (int)j), "size"), &size);
                EXPECTF(ok && size == want, "lextent %u size %" PRIu64 ", want %" PRIu64, j, size,
                       want);
        }
        GROUP_END();
}

static void check_arena_object(const char *name, int a, bool merged)
{
        uint64_t nbins = mallctl_u64("arenas.nbins", 4);
        uint64_t nlextents = mallctl_u64("arenas.nlextents", 4);
        CHECK_STR(cname("stats_json/%s/keys", name), jkeys(a), arena_keys);
        CHECK_STR(cname("stats_json/%s/small_keys", name), jkeys(jget(a, "small")),
                  "allocated,nmalloc,ndalloc,nrequests,nfills,nflushes");
        CHECK_STR(cname("stats_json/%s/mutex_names", name), jkeys(jget(a, "mutexes")),
                  "large,extent_avail,extents_dirty,extents_muzzy,extents_retained,decay_dirty,"
                  "decay_muzzy,base,tcache_list,hpa_shard,hpa_shard_grow,hpa_sec");
        CHECK_STR(cname("stats_json/%s/mutex_counters", name), jkeys(jpath(a, "mutexes/large")),
                  mutex_counters);
        int bins = jget(a, "bins"), lext = jget(a, "lextents"), ext = jget(a, "extents");
        CHECK_EQ(cname("stats_json/%s/bins_length", name), bins >= 0 ? jn[bins].nchild : -1, nbins);
        CHECK_STR(cname("stats_json/%s/bin_keys", name), jkeys(jat(bins, 0)),
                  "nmalloc,ndalloc,curregs,nrequests,nfills,nflushes,nreslabs,curslabs,"
                  "nonfull_slabs,mutex");
        CHECK_EQ(cname("stats_json/%s/lextents_length", name), lext >= 0 ? jn[lext].nchild : -1,
                 nlextents);
        CHECK_STR(cname("stats_json/%s/lextent_keys", name), jkeys(jat(lext, 0)), "curlextents");
        CHECK_EQ(cname("stats_json/%s/extents_length", name), ext >= 0 ? jn[ext].nchild : -1, 199);
        CHECK_STR(cname("stats_json/%s/extent_keys", name), jkeys(jat(ext, 0)),
                  "ndirty,nmuzzy,nretained,dirty_bytes,muzzy_bytes,retained_bytes");
        int hpa = jget(a, "hpa_shard");
        CHECK_STR(cname("stats_json/%s/hpa_keys", name), jkeys(hpa),
                  "npurge_passes,npurges,nhugifies,ndehugifies,full_slabs,empty_slabs,"
                  "nonfull_slabs");
        int nonfull = jget(hpa, "nonfull_slabs");
        CHECK_EQ(cname("stats_json/%s/hpa_nonfull_length", name),
                 nonfull >= 0 ? jn[nonfull].nchild : -1, 64);
        CHECK_STR(cname("stats_json/%s/hpa_nonfull_keys", name), jkeys(jat(nonfull, 0)),
                  "npageslabs_huge,nactive_huge,ndirty_huge,npageslabs_nonhuge,nactive_nonhuge,"
                  "ndirty_nonhuge");
        if (merged) {
                int64_t d = 0;
                CHECK(cname("stats_json/%s/dss_na", name), jstr_is(jget(a, "dss"), "N/A"));
                CHECK(cname("stats_json/%s/decay_minus_one", name),
                      ji64(jget(a, "dirty_decay_ms"), &d) && d == -1);
        }
}

static void check_stats_arenas(int je)
{
        int sa = jget(je, "stats.arenas");
        unsigned narenas = (unsigned)mallctl_u64("arenas.narenas", 4);
        char want[4096] = "";
        unsigned ninit = 0;
        for (unsigned i = 0; i < narenas; i++) {
                char name[64];
                bool init = false;
                size_t sz = sizeof(init);
                snprintf(name, sizeof(name), "arena.%u.initialized", i);
                if (mallctl(name, &init, &sz, NULL, 0) == 0 && init) {
                        size_t l = strlen(want);
                        snprintf(want + l, sizeof(want) - l, ",%u", i);
                        ninit++;
                }
        }
        char expect[4200];
        snprintf(expect, sizeof(expect), "%s%s", ninit > 1 ? "merged" : "",
                 ninit > 1 ? want : want + 1);
        CHECK_STR("stats_json/stats_arenas_keys", jkeys(sa), expect);
        CHECKF("stats_json/extra_arena_listed", strstr(jkeys(sa), cname(",%u", extra_arena)),
               "arena %u missing from %s", extra_arena, jkeys(sa));
        if (jget(sa, "merged") >= 0)
                check_arena_object("merged", jget(sa, "merged"), true);
        check_arena_object("arena0", jget(sa, "0"), false);
}

/*
 * The printed stats.allocated against mallctl("stats.allocated") read after the print (and
 * an epoch), nothing allocated in between.  jemalloc's malloc_stats_print allocates its
 * 64 KiB output buffer before the printer's epoch refresh and frees it on return, so its
 * printed figure may exceed the later one by exactly that buffer; liballoc's printer does
 * not allocate, so its figures are equal.
 */
static bool allocated_matches(uint64_t printed, uint64_t later)
{
        if (impl_is_jemalloc() && printed == later + 65536)
                return true;
        return printed == later;
}

/* With "J": the whole document. */
static void test_json_full(void)
{
        bad_opaque = 0;
        capture("J");
        /* Read the mallctl figure before anything else can allocate. */
        epoch();
        size_t allocated = 0, sz = sizeof(allocated);
        int rc = mallctl("stats.allocated", &allocated, &sz, NULL, 0);

        CHECK("stats_json/cbopaque", bad_opaque == 0);
        CHECK("stats_json/compact", json_compact(sink.buf, sink.len));
        CHECK("stats_json/no_trailing_newline", sink.len > 0 && sink.buf[sink.len - 1] == '}');
        CHECK("stats_json/prefix", starts_with(sink.buf, "{\"jemalloc\":{\"version\":\""));
        CHECKF("stats_json/chunks",
               sink.chunks >= 1 && sink.empty_chunks == 0 && sink.max_chunk <= 65536,
               "%u chunks, %u empty, largest %zu", sink.chunks, sink.empty_chunks, sink.max_chunk);
        int je = parse_sink("stats_json/J");
        if (impl_is_jemalloc())
                /* 5.3.0's known quirk: opt.stats_print(_opts) and nactive_huge twice. */
                CHECKF("stats_json/duplicate_keys", jp.ndups > 0,
                       "jemalloc 5.3.0 was expected to repeat keys");
        else
                CHECKF("stats_json/duplicate_keys", jp.ndups == 0, "%d duplicate keys, first %s",
                       jp.ndups, jp.first_dup);
        fprintf(stderr, "%s: J output %zu bytes in %u chunks, %d nodes\n", impl_name(), sink.len,
                sink.chunks, jcount);
        if (je < 0)
                return;
        uint64_t jalloc = 0;
        bool got = ju64(jpath(je, "stats/allocated"), &jalloc);
        CHECK("stats_json/allocated_mallctl_ok", rc == 0);
        CHECKF("stats_json/allocated_matches_mallctl", got && allocated_matches(jalloc, allocated),
               "JSON %" PRIu64 ", mallctl %zu", jalloc, allocated);

        int stats = jget(je, "stats");
        CHECK_STR("stats_json/stats_keys", jkeys(stats),
                  "allocated,active,metadata,metadata_thp,resident,mapped,retained,"
                  "zero_reallocs,background_thread,mutexes");
        CHECK_STR("stats_json/background_thread_keys", jkeys(jget(stats, "background_thread")),
                  "num_threads,num_runs,run_interval");
        CHECK_STR("stats_json/global_mutex_names", jkeys(jget(stats, "mutexes")),
                  "background_thread,max_per_bg_thd,ctl,prof,prof_thds_data,prof_dump,"
                  "prof_recent_alloc,prof_recent_dump,prof_stats");
        CHECK_STR("stats_json/global_mutex_counters", jkeys(jpath(stats, "mutexes/ctl")),
                  mutex_counters);
        uint64_t active = 0, jallocated = 0;
        CHECK("stats_json/active_ge_allocated",
              ju64(jget(stats, "active"), &active) && ju64(jget(stats, "allocated"), &jallocated) &&
                      active >= jallocated);
        check_general(je);
        check_stats_arenas(je);
}

static bool has_key_anywhere(int from, const char *key)
{
        for (int n = from; n < jcount; n++)
                if (jn[n].key != NULL && jn[n].keylen == strlen(key) &&
                    memcmp(jn[n].key, key, jn[n].keylen) == 0)
                        return true;
        return false;
}

/* The first per-arena (or merged) object under stats.arenas. */
static int first_arena(int je)
{
        int sa = jget(je, "stats.arenas");
        return sa >= 0 ? jn[sa].first : -1;
}

static void test_option_letters(void)
{
        int je;

        capture("Jg");
        je = parse_sink("stats_json/Jg");
        CHECK_STR("stats_json/Jg/top_keys", jkeys(je), "stats,stats.arenas");

        capture("Jgmdablxeh");
        je = parse_sink("stats_json/Jgmdablxeh");
        CHECK_STR("stats_json/Jgmdablxeh/top_keys", jkeys(je), "stats");
        CHECK_STR("stats_json/Jgmdablxeh/stats_keys", jkeys(jget(je, "stats")),
                  cname("%s,background_thread", totals_keys));

        capture("Jx");
        je = parse_sink("stats_json/Jx");
        CHECK("stats_json/Jx/no_mutexes",
              je >= 0 && !has_key_anywhere(0, "mutexes") && !has_key_anywhere(0, "mutex"));

        capture("Jb");
        je = parse_sink("stats_json/Jb");
        CHECK("stats_json/Jb/no_bins", je >= 0 && first_arena(je) >= 0 &&
                                               jget(first_arena(je), "bins") < 0 &&
                                               jget(first_arena(je), "lextents") >= 0);

        capture("Jl");
        je = parse_sink("stats_json/Jl");
        CHECK("stats_json/Jl/no_lextents", je >= 0 && first_arena(je) >= 0 &&
                                                   jget(first_arena(je), "lextents") < 0 &&
                                                   jget(first_arena(je), "bins") >= 0);

        capture("Je");
        je = parse_sink("stats_json/Je");
        CHECK("stats_json/Je/no_extents", je >= 0 && first_arena(je) >= 0 &&
                                                  jget(first_arena(je), "extents") < 0 &&
                                                  jget(first_arena(je), "sec_bytes") >= 0);

        capture("Jh");
        je = parse_sink("stats_json/Jh");
        CHECK("stats_json/Jh/no_hpa", je >= 0 && first_arena(je) >= 0 &&
                                              jget(first_arena(je), "hpa_shard") < 0 &&
                                              jget(first_arena(je), "sec_bytes") < 0 &&
                                              jget(first_arena(je), "extents") >= 0);

        capture("Ja");
        je = parse_sink("stats_json/Ja");
        CHECK_STR("stats_json/Ja/stats_arenas_keys", jkeys(jget(je, "stats.arenas")), "merged");

        capture("Jm");
        je = parse_sink("stats_json/Jm");
        CHECKF("stats_json/Jm/no_merged",
               je >= 0 && jget(jget(je, "stats.arenas"), "merged") < 0 &&
                       jget(jget(je, "stats.arenas"), "0") >= 0,
               "stats.arenas keys %s", jkeys(jget(je, "stats.arenas")));

        capture("Jma");
        je = parse_sink("stats_json/Jma");
        /* "d" not given: stats.arenas is still opened (empty without destroyed arenas). */
        CHECK_STR("stats_json/Jma/top_keys", jkeys(je),
                  jget(je, "prof") >= 0 ? "version,config,opt,prof,arenas,stats,stats.arenas"
                                        : "version,config,opt,arenas,stats,stats.arenas");
        CHECK_STR("stats_json/Jma/stats_arenas_empty", jkeys(jget(je, "stats.arenas")), "");

        capture("Jmda");
        je = parse_sink("stats_json/Jmda");
        CHECK("stats_json/Jmda/no_stats_arenas", je >= 0 && jget(je, "stats.arenas") < 0);
}

static void test_text(void)
{
        capture(NULL);
        epoch();
        size_t allocated = 0, sz = sizeof(allocated);
        mallctl("stats.allocated", &allocated, &sz, NULL, 0);

        CHECK("stats_text/begin", starts_with(sink.buf, "___ Begin jemalloc statistics ___\n"));
        CHECK("stats_text/end", sink.len >= 32 && strcmp(sink.buf + sink.len - 32,
                                                         "--- End jemalloc statistics ---\n") == 0);
        const char *line = strstr(sink.buf, "\nAllocated: ");
        size_t a = 0, act = 0, meta = 0, thp = 0, res = 0, map = 0, ret = 0;
        int n = line ? sscanf(line + 1,
                              "Allocated: %zu, active: %zu, metadata: %zu (n_thp %zu), "
                              "resident: %zu, mapped: %zu, retained: %zu\n",
                              &a, &act, &meta, &thp, &res, &map, &ret)
                     : 0;
        CHECKF("stats_text/allocated_line", n == 7, "parsed %d fields", n);
        CHECKF("stats_text/allocated_matches_mallctl", allocated_matches(a, allocated),
               "text %zu, mallctl %zu", a, allocated);
        CHECK("stats_text/sections",
              strstr(sink.buf, "\nBuild-time option settings\n") &&
                      strstr(sink.buf, "\nRun-time option settings\n") &&
                      strstr(sink.buf, "\n  opt.narenas: ") &&
                      strstr(sink.buf, "\nBackground threads: ") &&
                      strstr(sink.buf, "\nMerged arenas stats:\n") &&
                      strstr(sink.buf, "\narenas[0]:\n") &&
                      strstr(sink.buf, "\nassigned threads: ") &&
                      strstr(sink.buf, "\ndecaying:  time       npages") &&
                      strstr(sink.buf, "\nbins:           size ind    allocated") &&
                      strstr(sink.buf, "\nlarge:          size ind    allocated") &&
                      strstr(sink.buf, "\nextents:        size ind       ndirty") &&
                      strstr(sink.buf, "\nresident: ") && strstr(sink.buf, "\nmapped: "));
        CHECK("stats_text/arena_line", strstr(sink.buf, cname("\narenas[%u]:\n", extra_arena)));
        fprintf(stderr, "%s: text output %zu bytes in %u chunks\n", impl_name(), sink.len,
                sink.chunks);

        capture("gmdablxeh");
        CHECK("stats_text/all_letters",
              starts_with(sink.buf, "___ Begin jemalloc statistics ___\nAllocated: ") &&
                      strstr(sink.buf, "\nBackground threads: ") && !strstr(sink.buf, "arenas[") &&
                      !strstr(sink.buf, "n_lock_ops"));
}

/* The printer allocates nothing from the application's heap: the calling thread's
 * allocation counters do not move across a print whose write_cb does not allocate. */
static void test_no_allocation(void)
{
        uint64_t a0 = 0, d0 = 0, a1 = 0, d1 = 0;
        size_t sz = sizeof(uint64_t);
        mallctl("thread.allocated", &a0, &sz, NULL, 0);
        mallctl("thread.deallocated", &d0, &sz, NULL, 0);
        capture("J");
        capture(NULL);
        mallctl("thread.allocated", &a1, &sz, NULL, 0);
        mallctl("thread.deallocated", &d1, &sz, NULL, 0);
        CHECKF("stats_json/print_allocates_nothing", a1 == a0 && d1 == d0,
               "thread.allocated +%" PRIu64 ", thread.deallocated +%" PRIu64, a1 - a0, d1 - d0);
}

static void test_null_write_cb(void)
{
        malloc_message = message_hook;
        sink_reset();
        malloc_stats_print(NULL, NULL, "J");
        malloc_message = NULL;
        int je = parse_sink("stats_json/null_write_cb");
        CHECK("stats_json/null_write_cb/has_stats", je >= 0 && jget(je, "stats") >= 0);
}

static void test_destroyed(void)
{
        char name[64];
        snprintf(name, sizeof(name), "arena.%u.destroy", extra_arena);
        int rc = mallctl(name, NULL, NULL, NULL, 0);
        CHECKF("stats_json/destroy_arena", rc == 0, "mallctl(\"%s\") = %d", name, rc);
        if (rc != 0)
                return;
        capture("J");
        int je = parse_sink("stats_json/destroyed");
        int sa = jget(je, "stats.arenas");
        CHECKF("stats_json/destroyed/present", jget(sa, "destroyed") >= 0, "stats.arenas keys %s",
               jkeys(sa));
        CHECKF("stats_json/destroyed/arena_gone", jget(sa, cname("%u", extra_arena)) < 0,
               "stats.arenas keys %s", jkeys(sa));
        if (jget(sa, "destroyed") >= 0)
                check_arena_object("destroyed", jget(sa, "destroyed"), true);
        capture("Ja");
        je = parse_sink("stats_json/destroyed_Ja");
        CHECK_STR("stats_json/destroyed_Ja/keys", jkeys(jget(je, "stats.arenas")),
                  "merged,destroyed");
        capture("Jd");
        je = parse_sink("stats_json/destroyed_Jd");
        CHECK("stats_json/destroyed_Jd/absent",
              je >= 0 && jget(jget(je, "stats.arenas"), "destroyed") < 0);
}

/* The parser itself: accepts what RFC 8259 accepts, rejects the rest, counts duplicates. */
static void test_parser(void)
{
        static const struct {
                const char *doc;
                bool valid;
                int dups;
        } cases[] = {
                {"{\"a\":1,\"b\":[true,false,null,-1,0.5e+3,\"x\\u00e9\\n\"],\"c\":{}}", true, 0},
                {"{\"a\":1,\"a\":2}", true, 1},
                {"{\"o\":{\"a\":1},\"p\":{\"a\":1}}", true, 0},
                {"{\"a\":1,}", false, 0},
                {"{\"a\":01}", false, 0},
                {"{\"a\":1}}", false, 0},
                {"{\"a\":\"\\q\"}", false, 0},
                {"{\"a\":\"\t\"}", false, 0},
                {"{\"a\" 1}", false, 0},
                {"[1,2", false, 0},
                {"{\"a\":tru}", false, 0},
        };
        GROUP_BEGIN("stats_json/parser_selftest");
        for (size_t k = 0; k < sizeof(cases) / sizeof(cases[0]); k++) {
                int root = jparse(cases[k].doc, strlen(cases[k].doc));
                EXPECTF((root == 0) == cases[k].valid, "case %zu (%s): valid=%d", k, cases[k].doc,
                       root == 0);
                EXPECTF(!cases[k].valid || jp.ndups == cases[k].dups, "case %zu: %d duplicates", k,
                       jp.ndups);
        }
        GROUP_END();
}

int main(void)
{
        impl_init();
        test_parser();
        /* A second arena, so that the merged object is printed; destroyed at the end. */
        size_t sz = sizeof(extra_arena);
        int rc = mallctl("arenas.create", &extra_arena, &sz, NULL, 0);
        CHECKF("stats_json/arenas_create", rc == 0, "rc %d", rc);
        void *p = mallocx(100, MALLOCX_ARENA(extra_arena) | MALLOCX_TCACHE_NONE);
        void *q = mallocx(50000, MALLOCX_ARENA(extra_arena) | MALLOCX_TCACHE_NONE);
        CHECK("stats_json/arena_alloc", p != NULL && q != NULL);
        void *keep[64];
        for (int i = 0; i < 64; i++)
                keep[i] = escape(malloc((size_t)(i + 1) * 24));

        test_json_full();
        test_option_letters();
        test_text();
        test_null_write_cb();
        test_no_allocation();

        dallocx(p, MALLOCX_TCACHE_NONE);
        dallocx(q, MALLOCX_TCACHE_NONE);
        test_destroyed();
        for (int i = 0; i < 64; i++)
                free(keep[i]);
        return check_finish();
}
