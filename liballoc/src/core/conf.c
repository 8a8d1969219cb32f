/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * conf: the MALLOC_CONF grammar (key:value[,key:value...]) and the option table.  Values
 * are scanned in place; string options are copied into fixed buffers inside la_opt.
 */
#include "core/conf.h"

#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "os/util.h"

la_opt_t la_opt = {
        .retain = true,
        .tcache = true,
        .prof_active = true,
        .prof_thread_active_init = true,
        .cache_oblivious = true,
        .dirty_decay_ms = 10000,
        .muzzy_decay_ms = 0,
        .lg_tcache_nslots_mul = 1,
        .lg_prof_interval = -1,
        .mutex_max_spin = 600,
        .stats_interval = -1,
        .tcache_max = 32768,
        .tcache_nslots_small_min = 20,
        .tcache_nslots_small_max = 200,
        .tcache_nslots_large = 20,
        .lg_tcache_flush_small_div = 1,
        .lg_tcache_flush_large_div = 1,
        .tcache_gc_incr_bytes = 65536,
        .oversize_threshold = 8388608,
        .lg_extent_max_active_fit = 6,
        .max_background_threads = 4,
        .lg_prof_sample = 19,
        .hpa_slab_max_alloc = 65536,
        .hpa_sec_nshards = 4,
        .hpa_sec_max_alloc = 32768,
        .hpa_sec_max_bytes = 262144,
        .hpa_hugification_threshold = 1992294, /* 95% of a 2 MiB huge page */
        .hpa_hugify_delay_ms = 10000,
        .hpa_min_purge_interval_ms = 5000,
        .hpa_dirty_mult = 16384, /* 0.25 */
        .hpa_sec_bytes_after_flush = 131072,
        .metadata_thp = "disabled",
        .dss = "secondary",
        .percpu_arena = "disabled",
        .thp = "default",
        .zero_realloc = "free",
        .junk = "false",
        .prof_time_resolution = "default",
        .foreign_free = "abort",
        .pressure = "auto",
        .pressure_threshold_ms = 200,
        .pressure_window_ms = 2000,
        .pressure_arm_mb = 16,
        .huge_cache = (size_t)128 << 20,
        .prof_prefix = "jeprof",
};

LA_EXPORT const char *malloc_conf __attribute__((weak));

enum kind {
        K_BOOL, K_UNSIGNED, K_SSIZE, K_SIZE, K_U64, K_I64, K_ENUM, K_STR, K_OPTS,
        K_FXP, /* 16.16 fixed point "a[.b]" (hpa_dirty_mult also takes -1) */
        K_IGNORE
};

typedef struct opt_desc {
        const char *name;
        enum kind kind;
        void *ptr;
        int64_t min, max;
        bool clip;
        const char *const *choices; /* K_ENUM */
} opt_desc_t;

static const char *const thp_modes[] = {"default", "always", "never", NULL};
static const char *const mthp_modes[] = {"disabled", "auto", "always", NULL};
static const char *const dss_modes[] = {"disabled", "primary", "secondary", NULL};
static const char *const percpu_modes[] = {"percpu", "phycpu", "disabled", NULL};
static const char *const zr_modes[] = {"alloc", "free", "abort", NULL};
static const char *const junk_modes[] = {"true", "false", "alloc", "free", NULL};
static const char *const ptr_modes[] = {"default", "high", NULL};
static const char *const foreign_modes[] = {"abort", "warn", "ignore", NULL};
static const char *const pressure_modes[] = {"auto", "off", NULL};

#define B(n) {#n, K_BOOL, &la_opt.n, 0, 0, false, NULL}
#define U(n, lo, hi, c) {#n, K_UNSIGNED, &la_opt.n, lo, hi, c, NULL}
#define SS(n, lo, hi, c) {#n, K_SSIZE, &la_opt.n, lo, hi, c, NULL}
#define SZ(n, lo, hi, c) {#n, K_SIZE, &la_opt.n, lo, hi, c, NULL}
#define I64(n, lo, hi) {#n, K_I64, &la_opt.n, lo, hi, false, NULL}
#define U64(n) {#n, K_U64, &la_opt.n, 0, INT64_MAX, false, NULL}
#define E(n, ch) {#n, K_ENUM, &la_opt.n, 0, 0, false, ch}
#define IGN(n) {#n, K_IGNORE, NULL, 0, 0, false, NULL}

static const opt_desc_t opts[] = {
        B(confirm_conf), B(abort), B(abort_conf), B(trust_madvise), B(retain),
        E(metadata_thp, mthp_modes), E(dss, dss_modes),
        U(narenas, 1, UINT_MAX, false), IGN(narenas_ratio), IGN(bin_shards),
        I64(mutex_max_spin, -1, INT64_MAX),
        SS(dirty_decay_ms, -1, 18446744072000ll, false),
        SS(muzzy_decay_ms, -1, 18446744072000ll, false),
        B(stats_print), {"stats_print_opts", K_OPTS, la_opt.stats_print_opts, 0, 0, 0, NULL},
        I64(stats_interval, -1, INT64_MAX),
        {"stats_interval_opts", K_OPTS, la_opt.stats_interval_opts, 0, 0, 0, NULL},
        E(junk, junk_modes), B(zero), B(experimental_infallible_new), B(tcache),
        SZ(tcache_max, 0, 8388608, true), IGN(lg_tcache_max),
        SS(lg_tcache_nslots_mul, -16, 16, false),
        U(tcache_nslots_small_min, 1, 2048, true), U(tcache_nslots_small_max, 1, 2048, true),
        U(tcache_nslots_large, 1, 2048, true), SZ(tcache_gc_incr_bytes, 1024, INT64_MAX, true),
        SZ(tcache_gc_delay_bytes, 0, INT64_MAX, false),
        U(lg_tcache_flush_small_div, 1, 16, true), U(lg_tcache_flush_large_div, 1, 16, true),
        SZ(oversize_threshold, 0, 0x7000000000000000ll, false),
        SZ(lg_extent_max_active_fit, 0, 64, false), E(percpu_arena, percpu_modes),
        B(background_thread), SZ(max_background_threads, 1, 4096, true), B(hpa),
        SZ(hpa_slab_max_alloc, 4096, 2097152, true),
        SZ(hpa_hugification_threshold, 4096, 2097152, true),
        {"hpa_hugification_threshold_ratio", K_FXP, &la_opt.hpa_hugification_threshold, 0, 0,
         false, NULL},
        U64(hpa_hugify_delay_ms), U64(hpa_min_purge_interval_ms),
        {"hpa_dirty_mult", K_FXP, &la_opt.hpa_dirty_mult, 0, 0, false, NULL},
        SZ(hpa_sec_nshards, 0, INT64_MAX, false),
        SZ(hpa_sec_max_alloc, 4096, INT64_MAX, true), SZ(hpa_sec_max_bytes, 4096, INT64_MAX, true),
        SZ(hpa_sec_bytes_after_flush, 4096, INT64_MAX, true),
        SZ(hpa_sec_batch_fill_extra, 0, 512, true), IGN(slab_sizes),
        B(prof), {"prof_prefix", K_STR, la_opt.prof_prefix, 0, 0, 0, NULL}, B(prof_active),
        B(prof_thread_active_init), SZ(lg_prof_sample, 0, 63, true), B(prof_accum),
        SS(lg_prof_interval, -1, 63, false), B(prof_gdump), B(prof_final), B(prof_leak),
        B(prof_leak_error), IGN(prof_log), SS(prof_recent_alloc_max, -1, INT64_MAX, false),
        B(prof_stats), B(prof_sys_thread_name), E(prof_time_resolution, ptr_modes),
        IGN(prof_unbias), E(thp, thp_modes), E(zero_realloc, zr_modes),
        IGN(lg_san_uaf_align), IGN(san_guard_small), IGN(san_guard_large),
        /* liballoc's own: the control thread (ctl:true|false); what free/realloc do with a
         * pointer liballoc does not know (foreign_free:abort|warn|ignore); the hardened
         * mode (hardened:true, harden.h); the memory-pressure watch (pressure:auto|off and
         * the trigger it arms itself, pressure.h); the bytes of freed huge mappings the
         * huge arena keeps for reuse (huge_cache, hcache.h). */
        {"ctl", K_BOOL, &la_opt.ctl, 0, 0, false, NULL}, E(foreign_free, foreign_modes),
        B(hardened), E(pressure, pressure_modes), SZ(pressure_threshold_ms, 1, 10000, false),
        SZ(pressure_window_ms, 500, 10000, false), SZ(pressure_arm_mb, 0, 1048576, false),
        SZ(huge_cache, 0, (size_t)1 << 40, false),
};

static bool any_error;

#define PAIR_PART_MAX 120
#define PAIR_BUF (2 * PAIR_PART_MAX + 2)

/* "key:value" into pair (each part cut at PAIR_PART_MAX bytes), for the messages. */
static const char *format_pair(char pair[PAIR_BUF], const char *k, size_t klen, const char *v,
                               size_t vlen)
{
        size_t kl = klen < PAIR_PART_MAX ? klen : PAIR_PART_MAX;
        size_t vl = vlen < PAIR_PART_MAX ? vlen : PAIR_PART_MAX;
        memcpy(pair, k, kl);
        pair[kl] = ':';
        memcpy(pair + kl + 1, v, vl);
        pair[kl + 1 + vl] = '\0';
        return pair;
}

static void conf_error(const char *msg, const char *k, size_t klen, const char *v, size_t vlen)
{
        char pair[PAIR_BUF];
        la_messagef(msg, ": ", format_pair(pair, k, klen, v, vlen), (const char *)NULL);
        if (!(klen > 13 && memcmp(k, "experimental_", 13) == 0))
                any_error = true;
}

/* strtoumax-style: base auto-detect, whole value consumed, optional '-'. */
static bool parse_int(const char *v, size_t vlen, bool is_signed, int64_t *ret, bool *ret_neg)
{
        char buf[64];
        if (vlen == 0 || vlen >= sizeof(buf))
                return false;
        memcpy(buf, v, vlen);
        buf[vlen] = '\0';
        char *end;
        int saved = errno;
        errno = 0;
        bool neg = buf[0] == '-';
        if (neg && !is_signed) {
                errno = saved;
                return false;
        }
        unsigned long long u = strtoull(neg ? buf + 1 : buf, &end, 0);
        bool ok = errno == 0 && *end == '\0' && end != (neg ? buf + 1 : buf);
        errno = saved;
        if (!ok)
                return false;
        *ret_neg = neg;
        if (neg)
                *ret = u > (unsigned long long)INT64_MAX ? INT64_MIN : -(int64_t)u;
        else
                *ret = u > (unsigned long long)INT64_MAX ? INT64_MAX : (int64_t)u;
        return true;
}

/* "int[.frac]" as 16.16 fixed point (jemalloc's fxp_t); false if malformed or >= 65536. */
static bool parse_fxp(const char *v, size_t vlen, uint32_t *ret)
{
        size_t i = 0;
        uint64_t ip = 0;
        if (vlen == 0)
                return false;
        for (; i < vlen && v[i] >= '0' && v[i] <= '9'; i++) {
                ip = ip * 10 + (uint64_t)(v[i] - '0');
                if (ip >= 65536)
                        return false;
        }
        if (i == 0)
                return false;
        uint64_t frac = 0, scale = 1;
        if (i < vlen && v[i] == '.') {
                i++;
                for (; i < vlen && v[i] >= '0' && v[i] <= '9'; i++) {
                        if (scale < 1000000000ull) {
                                frac = frac * 10 + (uint64_t)(v[i] - '0');
                                scale *= 10;
                        }
                }
        }
        if (i != vlen)
                return false;
        *ret = (uint32_t)((ip << 16) + (frac * 65536 + scale / 2) / scale);
        return true;
}

static bool streq(const char *a, size_t alen, const char *lit)
{
        return strlen(lit) == alen && memcmp(a, lit, alen) == 0;
}

static void apply(const opt_desc_t *d, const char *k, size_t klen, const char *v, size_t vlen)
{
        int64_t iv;
        bool neg;
        switch (d->kind) {
        case K_BOOL:
                if (streq(v, vlen, "true"))
                        *(bool *)d->ptr = true;
                else if (streq(v, vlen, "false"))
                        *(bool *)d->ptr = false;
                else
                        conf_error("Invalid conf value", k, klen, v, vlen);
                if (d->ptr == &la_opt.ctl)
                        la_opt.ctl_set = true;
                return;
        case K_ENUM:
                for (const char *const *c = d->choices; *c != NULL; c++) {
                        if (vlen <= strlen(*c) && memcmp(*c, v, vlen) == 0 &&
                            (vlen > 0 || d->choices == thp_modes || d->choices == dss_modes ||
                             d->choices == mthp_modes || d->choices == percpu_modes)) {
                                *(const char **)d->ptr = *c;
                                return;
                        }
                }
                conf_error("Invalid conf value", k, klen, v, vlen);
                return;
        case K_STR: {
                size_t n = vlen < LA_CONF_STR_MAX - 1 ? vlen : LA_CONF_STR_MAX - 1;
                memcpy(d->ptr, v, n);
                ((char *)d->ptr)[n] = '\0';
                return;
        }
        case K_OPTS: {
                char *out = d->ptr;
                size_t n = 0;
                out[0] = '\0';
                for (size_t i = 0; i < vlen && n < 15; i++)
                        if (strchr("Jgmdablxeh", v[i]) != NULL && memchr(out, v[i], n) == NULL)
                                out[n++] = v[i];
                out[n] = '\0';
                return;
        }
        case K_FXP: {
                uint32_t fx;
                if (d->ptr == &la_opt.hpa_dirty_mult && streq(v, vlen, "-1")) {
                        la_opt.hpa_dirty_mult = UINT32_MAX;
                } else if (!parse_fxp(v, vlen, &fx)) {
                        conf_error("Invalid conf value", k, klen, v, vlen);
                } else if (d->ptr == &la_opt.hpa_dirty_mult) {
                        la_opt.hpa_dirty_mult = fx;
                } else if (fx > 65536) {
                        conf_error("Out-of-range conf value", k, klen, v, vlen);
                } else { /* hpa_hugification_threshold_ratio: a share of a 2 MiB page */
                        la_opt.hpa_hugification_threshold = (size_t)(((uint64_t)2097152 * fx) >> 16);
                }
                return;
        }
        case K_IGNORE:
                return;
        default:
                break;
        }
        if (d->ptr == &la_opt.narenas && streq(v, vlen, "default")) {
                la_opt.narenas = 0;
                return;
        }
        if (!parse_int(v, vlen, d->kind == K_SSIZE || d->kind == K_I64, &iv, &neg)) {
                conf_error("Invalid conf value", k, klen, v, vlen);
                return;
        }
        if (iv < d->min || iv > d->max) {
                if (!d->clip) {
                        conf_error("Out-of-range conf value", k, klen, v, vlen);
                        return;
                }
                iv = iv < d->min ? d->min : d->max;
        }
        switch (d->kind) {
        case K_UNSIGNED:
                *(unsigned *)d->ptr = (unsigned)iv;
                break;
        case K_SSIZE:
                *(ssize_t *)d->ptr = (ssize_t)iv;
                break;
        case K_SIZE:
                *(size_t *)d->ptr = (size_t)iv;
                break;
        case K_U64:
                *(uint64_t *)d->ptr = (uint64_t)iv;
                break;
        case K_I64:
                *(int64_t *)d->ptr = iv;
                break;
        default:
                break;
        }
}

static void apply_pair(const char *k, size_t klen, const char *v, size_t vlen)
{
        if (streq(k, klen, "lg_tcache_max")) {
                int64_t iv;
                bool neg;
                if (!parse_int(v, vlen, false, &iv, &neg)) {
                        conf_error("Invalid conf value", k, klen, v, vlen);
                        return;
                }
                la_opt.tcache_max = (size_t)1 << (iv > 23 ? 23 : iv);
                return;
        }
        if (streq(k, klen, "max_background_threads")) {
                int64_t iv;
                bool neg;
                if (parse_int(v, vlen, false, &iv, &neg)) {
                        la_opt.max_background_threads = iv >= 1 && iv <= 4095 ? (size_t)iv : 4;
                        return;
                }
        }
        for (size_t i = 0; i < LA_ARRAY_LEN(opts); i++) {
                if (streq(k, klen, opts[i].name)) {
                        apply(&opts[i], k, klen, v, vlen);
                        return;
                }
        }
        conf_error("Invalid conf pair", k, klen, v, vlen);
}

/* Pass 1 (jemalloc's order): only confirm_conf is looked at, silently, so that pass 2 can
 * echo every source and pair when it is on. */
static bool probing;

static void set_pair(const char *k, size_t klen, const char *v, size_t vlen)
{
        if (probing) {
                if (streq(k, klen, "confirm_conf")) {
                        if (streq(v, vlen, "true"))
                                la_opt.confirm_conf = true;
                        else if (streq(v, vlen, "false"))
                                la_opt.confirm_conf = false;
                }
                return;
        }
        bool had_error = any_error;
        any_error = false;
        apply_pair(k, klen, v, vlen);
        if (!any_error && la_opt.confirm_conf) {
                char pair[PAIR_BUF];
                la_messagef("-- Set conf value: ", format_pair(pair, k, klen, v, vlen),
                            (const char *)NULL);
        }
        any_error = had_error || any_error;
}

/* A message about the string's syntax (not printed while probing). */
static void syntax_error(const char *msg)
{
        if (probing)
                return;
        la_messagef(msg, (const char *)NULL);
        any_error = true;
}

static bool key_char(char c)
{
        return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
               c == '_';
}

int la_conf_parse(const char *s)
{
        int before = any_error;
        any_error = false;
        const char *p = s;
        while (*p != '\0') {
                const char *k = p;
                while (key_char(*p))
                        p++;
                if (*p == '\0') {
                        syntax_error("Conf string ends with key");
                        break;
                }
                if (*p != ':' || p == k) {
                        syntax_error("Malformed conf string");
                        break;
                }
                size_t klen = (size_t)(p - k);
                const char *v = ++p;
                while (*p != ',' && *p != '\0')
                        p++;
                size_t vlen = (size_t)(p - v);
                set_pair(k, klen, v, vlen);
                if (*p == ',') {
                        p++;
                        if (*p == '\0')
                                syntax_error("Conf string ends with comma");
                }
        }
        int errors = any_error;
        if (any_error && la_opt.abort_conf && !probing) {
                la_messagef("Abort (abort_conf:true) on invalid conf value (see above).",
                            (const char *)NULL);
                abort();
        }
        any_error = before || any_error;
        return errors;
}

void la_conf_init(unsigned ncpus)
{
        static char link_buf[PATH_MAX + 1];
        const char *sources[3] = {NULL, NULL, NULL};
        sources[0] = malloc_conf;
        int saved = errno;
        ssize_t n = readlink("/etc/malloc.conf", link_buf, sizeof(link_buf) - 1);
        errno = saved;
        if (n > 0) {
                link_buf[n] = '\0';
                sources[1] = link_buf;
        }
        sources[2] = secure_getenv("MALLOC_CONF");
        probing = true;
        for (int i = 0; i < 3; i++)
                if (sources[i] != NULL)
                        la_conf_parse(sources[i]);
        probing = false;
        static const char *const what[5] = {
                "string specified via --with-malloc-conf",
                "string pointed to by the global variable malloc_conf",
                "\"name\" of the file referenced by the symbolic link named /etc/malloc.conf",
                "value of the environment variable MALLOC_CONF",
                "string pointed to by the global variable malloc_conf_2_conf_harder",
        };
        for (int i = 0; i < 5; i++) {
                const char *src = i >= 1 && i <= 3 ? sources[i - 1] : NULL;
                if (la_opt.confirm_conf) {
                        char num[24];
                        la_messagef("malloc_conf #", la_fmt_u64(num, (uint64_t)i + 1), " (",
                                    what[i], "): \"", src != NULL ? src : "", "\"",
                                    (const char *)NULL);
                }
                if (src != NULL)
                        la_conf_parse(src);
        }
        if (la_opt.narenas == 0)
                la_opt.narenas = ncpus > 1 ? 4 * ncpus : 1;
        if (la_opt.narenas > LA_MAX_AUTO_ARENAS) {
                char num[24];
                la_messagef("Reducing narenas to limit (", la_fmt_u64(num, LA_MAX_AUTO_ARENAS),
                            ")", (const char *)NULL);
                la_opt.narenas = LA_MAX_AUTO_ARENAS;
        }
        la_opt.junk_alloc = strcmp(la_opt.junk, "true") == 0 || strcmp(la_opt.junk, "alloc") == 0;
        la_opt.junk_free = strcmp(la_opt.junk, "true") == 0 || strcmp(la_opt.junk, "free") == 0;
        /* Filling is done on the slow paths: threads get no heap then.  (The hardened
         * mode keeps the heaps: its frees take the slow path by the owner tag, harden.h.) */
        la_opt.fill = la_opt.zero || la_opt.junk_alloc || la_opt.junk_free;
}
