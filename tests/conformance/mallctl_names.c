/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Conformance of the whole mallctl namespace against liballoc/mallctl-names.tsv, the list of
 * every leaf of jemalloc 5.3.0's tree (395 names; see the file's header for its columns).
 * The list comes from $MALLCTL_NAMES or argv[1]; run.sh passes the repository's file, once
 * with no configuration and once with MALLOC_CONF=prof:true,prof_stats:true.
 *
 * Each name is expanded with <i>=0 (also 4096 = MALLCTL_ARENAS_ALL for
 * arena.<i>.{initialized,decay,purge,dss} and stats.arenas.<i>.*; the last class for the
 * bin/lextent indices) and <j>=0 plus the last valid index (arenas.nbins-1,
 * arenas.nlextents-1, 198 page-size classes, 63 pageslab classes).  Then, by kind:
 *   lookup              mallctlnametomib succeeds and gives one MIB slot per component;
 *   read_size           fixed-size readable names: the right size reads 0, *oldlenp kept;
 *                       a 64-byte buffer gives EINVAL with *oldlenp = sizeof(type) and the
 *                       value copied (tcache.create, arenas.create, pactivep: EINVAL only);
 *   bymib_same          mallctlbymib with that MIB answers as mallctl by name (status,
 *                       length and value, except for names whose value moves by itself);
 *   readonly_write_eperm  r- names: a write with a newp of the right size (the value just
 *                       read) gives EPERM;
 *   action_oldp_eperm   -- names: passing an oldp gives EPERM (harmless ones only:
 *                       arena.<i>.reset/destroy are tried on a fresh arenas.create arena, the
 *                       prof.* actions are not exercised; stats.mutexes.reset ignores its
 *                       arguments in jemalloc 5.3.0, so 0 is accepted there), and the
 *                       harmless ones called with nothing return 0;
 *   writeonly_read_eperm  -w names outside prof.*: a read attempt gives EPERM;
 *   needs_unmet_enoent  names whose "needs" is not met in this run (config.* / opt.* read
 *                       from the implementation itself) give ENOENT when read, and the
 *                       opt.prof_stats ones are not even found by mallctlnametomib.
 * Needs that cannot be read (pthreads, cxx, uaf, or a config.* name the implementation
 * lacks) accept either a proper read or ENOENT.  One line per kind and top-level group; a
 * failing line names the offending (expanded) names, and the full list goes to stderr.
 * Last, partial MIB iteration: nametomib once, patch the index slots, read by MIB.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jemalloc/jemalloc.h>

#include "impl.h"

#define MAX_ROWS 1024
#define MAX_NAME 192
#define EXPECTED_LEAVES 395

struct row {
        char name[MAX_NAME];
        char type[64];
        char rw[4];
        char needs[32];
};

static struct row rows[MAX_ROWS];
static int nrows;

/* ---- per-kind, per-section result collection ---- */

enum kind { K_LOOKUP, K_READ, K_BYMIB, K_ROWRITE, K_ACTION, K_WOREAD, K_UNMET, NKINDS };
static const char *const kind_names[NKINDS] = {
        "lookup",       "read_size",           "bymib_same",        "readonly_write_eperm",
        "action_oldp_eperm", "writeonly_read_eperm", "needs_unmet_enoent",
};

static const char *const sections[] = {
        "root",  "thread", "config",        "opt",          "tcache",      "arena",
        "arenas", "prof",  "stats",         "stats.mutexes", "stats.arenas", "experimental",
};
#define NSECTIONS ((int)(sizeof(sections) / sizeof(sections[0])))

struct group {
        int items;
        int fails;
        int omitted;
        char list[360];
};

static struct group groups[NKINDS][NSECTIONS];

static int section_of(const char *name)
{
        const char *dot = strchr(name, '.');
        size_t n;

        if (dot == NULL)
                return 0;
        if (strncmp(name, "stats.mutexes.", 14) == 0)
                return 9;
        if (strncmp(name, "stats.arenas.", 13) == 0)
                return 10;
        n = (size_t)(dot - name);
        for (int s = 1; s < NSECTIONS; s++)
                if (strlen(sections[s]) == n && strncmp(sections[s], name, n) == 0)
                        return s;
        return 0;
}

__attribute__((format(printf, 4, 5))) static bool item(enum kind k, const char *name, bool ok,
                                                       const char *fmt, ...)
{
        struct group *g = &groups[k][section_of(name)];
        char reason[160], entry[260];
        va_list ap;

        g->items++;
        if (ok)
                return true;
        va_start(ap, fmt);
        vsnprintf(reason, sizeof(reason), fmt, ap);
        va_end(ap);
        g->fails++;
        fprintf(stderr, "mallctl_names: %s: %s: %s\n", kind_names[k], name, reason);
        snprintf(entry, sizeof(entry), "%s%s (%s)", g->list[0] ? ", " : "", name, reason);
        /* Cap the list: at most 8 names and what fits in the buffer. */
        if (g->fails - g->omitted <= 8 && strlen(g->list) + strlen(entry) < sizeof(g->list))
                strcat(g->list, entry);
        else
                g->omitted++;
        return false;
}

static void report_groups(void)
{
        for (int k = 0; k < NKINDS; k++) {
                for (int s = 0; s < NSECTIONS; s++) {
                        struct group *g = &groups[k][s];
                        if (g->items == 0)
                                continue;
                        CHECKF(cname("names/%s/%s", kind_names[k], sections[s]), g->fails == 0,
                               "%d of %d failed: %s%s", g->fails, g->items, g->list,
                               g->omitted ? cname(" ... and %d more", g->omitted) : "");
                }
        }
}

/* ---- the TSV ---- */

static bool load_rows(const char *path)
{
        FILE *f = fopen(path, "r");
        char line[512];
        int bad = 0, dup = 0;

        if (f == NULL) {
                CHECKF("names/tsv_readable", false, "cannot open %s", path);
                return false;
        }
        while (fgets(line, sizeof(line), f) != NULL) {
                char *s = line, *fields[4];
                int nf = 0;

                if (line[0] == '#' || line[0] == '\n' || line[0] == '\0')
                        continue;
                line[strcspn(line, "\r\n")] = '\0';
                while (nf < 4 && s != NULL)
                        fields[nf++] = strsep(&s, "\t");
                if (nf != 4 || s != NULL || nrows >= MAX_ROWS ||
                    strlen(fields[0]) >= MAX_NAME || strlen(fields[1]) >= 64 ||
                    strlen(fields[2]) != 2 || strlen(fields[3]) >= 32 ||
                    strchr("r-", fields[2][0]) == NULL || strchr("w-", fields[2][1]) == NULL) {
                        fprintf(stderr, "mallctl_names: malformed line: %s\n", line);
                        bad++;
                        continue;
                }
                struct row *r = &rows[nrows++];
                snprintf(r->name, sizeof(r->name), "%s", fields[0]);
                snprintf(r->type, sizeof(r->type), "%s", fields[1]);
                snprintf(r->rw, sizeof(r->rw), "%s", fields[2]);
                snprintf(r->needs, sizeof(r->needs), "%s", fields[3]);
        }
        fclose(f);
        for (int a = 0; a < nrows; a++)
                for (int b = a + 1; b < nrows; b++)
                        if (strcmp(rows[a].name, rows[b].name) == 0)
                                dup++;
        CHECKF("names/tsv_well_formed", bad == 0 && dup == 0, "%d malformed lines, %d duplicates",
               bad, dup);
        CHECKF("names/tsv_leaf_count", nrows == EXPECTED_LEAVES, "%d names, want %d", nrows,
               EXPECTED_LEAVES);
        return nrows > 0;
}

/* ---- what the implementation says about itself ---- */

enum need { MET, UNMET, UNKNOWN };

static enum need st_stats, st_prof, st_opt_prof, st_opt_prof_stats, st_fill, st_utrace,
        st_xmalloc, st_retain;
static unsigned nbins, nlextents;
static size_t page_size;

static enum need read_flag(const char *name)
{
        bool b = false;
        size_t len = sizeof(b);

        if (mallctl(name, &b, &len, NULL, 0) != 0 || len != sizeof(b))
                return UNKNOWN;
        return b ? MET : UNMET;
}

static void probe_needs(void)
{
        unsigned u = 0;
        size_t len;

        st_stats = read_flag("config.stats");
        st_prof = read_flag("config.prof");
        st_opt_prof = st_prof == UNMET ? UNMET : read_flag("opt.prof");
        /* liballoc serves the opt.prof names without prof:true: profiling can be switched
         * on in a running process (docs/profiling.md). */
        if (!impl_is_jemalloc() && st_prof == MET)
                st_opt_prof = MET;
        st_opt_prof_stats = st_opt_prof == UNMET ? UNMET : read_flag("opt.prof_stats");
        if (st_opt_prof_stats == MET && st_opt_prof != MET)
                st_opt_prof_stats = st_opt_prof;
        st_fill = read_flag("config.fill");
        st_utrace = read_flag("config.utrace");
        st_xmalloc = read_flag("config.xmalloc");
        st_retain = read_flag("opt.retain");

        len = sizeof(u);
        nbins = mallctl("arenas.nbins", &u, &len, NULL, 0) == 0 ? u : 0;
        len = sizeof(u);
        nlextents = mallctl("arenas.nlextents", &u, &len, NULL, 0) == 0 ? u : 0;
        len = sizeof(page_size);
        if (mallctl("arenas.page", &page_size, &len, NULL, 0) != 0)
                page_size = 0;
        fprintf(stderr,
                "mallctl_names: %s: stats=%d prof=%d opt.prof=%d opt.prof_stats=%d fill=%d "
                "utrace=%d xmalloc=%d opt.retain=%d (0 met, 1 unmet, 2 unknown); nbins=%u "
                "nlextents=%u page=%zu\n",
                impl_name(), st_stats, st_prof, st_opt_prof, st_opt_prof_stats, st_fill,
                st_utrace, st_xmalloc, st_retain, nbins, nlextents, page_size);
}

static enum need need_state(const char *needs)
{
        if (strcmp(needs, "-") == 0)
                return MET;
        if (strcmp(needs, "stats") == 0)
                return st_stats;
        if (strcmp(needs, "prof") == 0)
                return st_prof;
        if (strcmp(needs, "opt.prof") == 0)
                return st_opt_prof;
        if (strcmp(needs, "opt.prof_stats") == 0)
                return st_opt_prof_stats;
        if (strcmp(needs, "fill") == 0)
                return st_fill;
        if (strcmp(needs, "utrace") == 0)
                return st_utrace;
        if (strcmp(needs, "xmalloc") == 0)
                return st_xmalloc;
        if (strcmp(needs, "opt.retain") == 0)
                return st_retain;
        return UNKNOWN; /* pthreads, cxx, uaf: no mallctl tells */
}

/* ---- types ---- */

/* sizeof the value a read exchanges; 0 when not a plain fixed-size read. */
static size_t type_size(const char *t)
{
        if (strcmp(t, "bool") == 0)
                return sizeof(bool);
        if (strcmp(t, "unsigned") == 0)
                return sizeof(unsigned);
        if (strcmp(t, "uint32_t") == 0)
                return sizeof(uint32_t);
        if (strcmp(t, "size_t") == 0 || strcmp(t, "ssize_t") == 0)
                return sizeof(size_t);
        if (strcmp(t, "uint64_t") == 0 || strcmp(t, "int64_t") == 0)
                return sizeof(uint64_t);
        if (strcmp(t, "const char *") == 0 || strcmp(t, "uint64_t *") == 0 ||
            strcmp(t, "size_t *") == 0 || strcmp(t, "void *") == 0 ||
            strcmp(t, "extent_hooks_t *") == 0 || strncmp(t, "fn:", 3) == 0)
                return sizeof(void *);
        if (strcmp(t, "prof_stats_t") == 0)
                return 2 * sizeof(uint64_t);
        if (strcmp(t, "struct:activity_callback") == 0)
                return 2 * sizeof(void *);
        return 0;
}

/* Values that move by themselves between two reads (or are created by the read). */
static bool is_volatile(const char *pattern)
{
        static const char *const v[] = {
                "thread.allocated",  "thread.deallocated", "thread.peak.read",
                "stats.zero_reallocs", "arenas.create",    "tcache.create",
        };
        for (size_t k = 0; k < sizeof(v) / sizeof(v[0]); k++)
                if (strcmp(pattern, v[k]) == 0)
                        return true;
        return false;
}

/* Reads that check the buffer size before anything else and leave *oldlenp at 0 or as it
 * was (VERIFY_READ, or the explicit size test of pactivep). */
static bool plain_einval_only(const char *pattern)
{
        return strcmp(pattern, "tcache.create") == 0 || strcmp(pattern, "arenas.create") == 0 ||
               strcmp(pattern, "experimental.arenas.<i>.pactivep") == 0;
}

/* ---- index expansion ---- */

static unsigned fresh_arena = UINT32_MAX; /* for arena.<i>.reset/destroy */

/* Candidate values for the index placeholder starting at pat[pos]. */
static int index_values(const char *pattern, size_t pos, size_t out[4])
{
        char prev[32];
        size_t end = pos - 1, start = end; /* pattern[pos-1] is the '.' */
        int n = 0;

        while (start > 0 && pattern[start - 1] != '.')
                start--;
        snprintf(prev, sizeof(prev), "%.*s", (int)(end - start), pattern + start);
        if (strcmp(prev, "arena") == 0 || strcmp(prev, "arenas") == 0) {
                const char *leaf = strrchr(pattern, '.') + 1;
                out[n++] = 0;
                if (strncmp(pattern, "stats.arenas.", 13) == 0 ||
                    (strncmp(pattern, "arena.", 6) == 0 &&
                     (strcmp(leaf, "initialized") == 0 || strcmp(leaf, "decay") == 0 ||
                      strcmp(leaf, "purge") == 0 || strcmp(leaf, "dss") == 0)))
                        out[n++] = MALLCTL_ARENAS_ALL;
                if (strncmp(pattern, "arena.", 6) == 0 &&
                    (strcmp(leaf, "reset") == 0 || strcmp(leaf, "destroy") == 0))
                        out[0] = fresh_arena; /* never arena 0 */
        } else if (strcmp(prev, "bin") == 0 || strcmp(prev, "bins") == 0) {
                out[n++] = 0;
                if (nbins > 1)
                        out[n++] = nbins - 1;
        } else if (strcmp(prev, "lextent") == 0 || strcmp(prev, "lextents") == 0) {
                out[n++] = 0;
                if (nlextents > 1)
                        out[n++] = nlextents - 1;
        } else if (strcmp(prev, "extents") == 0) {
                out[n++] = 0;
                if (page_size == 4096)
                        out[n++] = 198; /* SC_NPSIZES - 1 with 4 KiB pages */
        } else if (strcmp(prev, "nonfull_slabs") == 0) {
                out[n++] = 0;
                out[n++] = 63; /* PSSET_NPSIZES - 1 */
        } else {
                out[n++] = 0;
        }
        return n;
}

static int ncomponents(const char *name)
{
        int n = 1;
        for (const char *p = name; *p; p++)
                n += *p == '.';
        return n;
}

/* ---- the checks for one expanded name ---- */

static bool same_value(const char *type, const void *a, const void *b, size_t len)
{
        if (strcmp(type, "const char *") == 0) {
                const char *x, *y;
                memcpy(&x, a, sizeof(x));
                memcpy(&y, b, sizeof(y));
                return x == y || (x != NULL && y != NULL && strcmp(x, y) == 0);
        }
        return memcmp(a, b, len) == 0;
}

static bool is_harmless_action(const char *pattern)
{
        static const char *const h[] = {
                "thread.tcache.flush", "thread.peak.reset", "thread.idle",
                "arena.<i>.decay",     "arena.<i>.purge",   "stats.mutexes.reset",
        };
        for (size_t k = 0; k < sizeof(h) / sizeof(h[0]); k++)
                if (strcmp(pattern, h[k]) == 0)
                        return true;
        return false;
}

static void check_readable(const struct row *r, const char *name, const size_t *mib,
                           size_t miblen, enum need ns)
{
        size_t tsz = type_size(r->type);
        unsigned char a[64], b[64], w[64];
        size_t la = tsz, lb = tsz, lw = sizeof(w);
        void *lookup_ptr = NULL, *newp = NULL;
        size_t newlen = 0;
        bool lookup = strcmp(r->name, "arenas.lookup") == 0;
        int ra, rb, rw;

        if (lookup) {
                /* arenas.lookup: the pointer goes in through newp. */
                lookup_ptr = malloc(100);
                newp = &lookup_ptr;
                newlen = sizeof(lookup_ptr);
        }
        memset(a, 0x5a, sizeof(a));
        memset(b, 0x5a, sizeof(b));
        ra = mallctl(name, a, &la, newp, newlen);
        rb = mallctlbymib(mib, miblen, b, &lb, newp, newlen);
        if (ns == UNMET) {
                item(K_UNMET, name, ra == ENOENT, "read=%d", ra);
                item(K_BYMIB, name, rb == ra, "by name %d, by MIB %d", ra, rb);
                goto out;
        }
        if (ns == UNKNOWN && ra == ENOENT && rb == ENOENT)
                goto out; /* a feature this build may lack */
        item(K_READ, name, ra == 0 && la == tsz, "read=%d len=%zu want 0, %zu", ra, la, tsz);
        item(K_BYMIB, name,
             rb == ra && lb == la &&
                     (ra != 0 || is_volatile(r->name) || same_value(r->type, a, b, tsz)),
             "by name %d len %zu, by MIB %d len %zu%s", ra, la, rb, lb,
             rb == ra && lb == la ? ", values differ" : "");
        if (ra != 0)
                goto out;
        if (strcmp(r->name, "tcache.create") == 0) {
                unsigned id;
                memcpy(&id, a, sizeof(id));
                mallctl("tcache.destroy", NULL, NULL, &id, sizeof(id));
                if (rb == 0) {
                        memcpy(&id, b, sizeof(id));
                        mallctl("tcache.destroy", NULL, NULL, &id, sizeof(id));
                }
        }

        /* Wrong size: EINVAL; READ-style handlers copy the value and report its size. */
        memset(w, 0xa5, sizeof(w));
        rw = mallctl(name, w, &lw, newp, newlen);
        if (plain_einval_only(r->name))
                item(K_READ, name, rw == EINVAL, "64-byte read=%d want EINVAL", rw);
        else
                item(K_READ, name,
                     rw == EINVAL && lw == tsz &&
                             (is_volatile(r->name) || same_value(r->type, w, a, tsz)),
                     "64-byte read=%d len=%zu want EINVAL, %zu%s", rw, lw, tsz,
                     rw == EINVAL && lw == tsz ? ", value not copied" : "");

        /* Read-only: a write of the right size (the current value) is refused. */
        if (strcmp(r->rw, "r-") == 0) {
                int rwr;
                if (strcmp(r->name, "experimental.arenas.<i>.pactivep") == 0) {
                        /* Its handler checks oldp's size before the direction. */
                        unsigned char o[64];
                        size_t lo = tsz;
                        rwr = mallctl(name, o, &lo, a, tsz);
                } else {
                        rwr = mallctl(name, NULL, NULL, a, tsz);
                }
                item(K_ROWRITE, name, rwr == EPERM, "write=%d want EPERM", rwr);
        }
out:
        free(lookup_ptr);
}

static void check_action(const struct row *r, const char *name, const size_t *mib, size_t miblen,
                         enum need ns)
{
        unsigned char buf[16];
        size_t len = sizeof(buf), len2 = sizeof(buf);
        int ra, rb;

        if (strncmp(r->name, "prof.", 5) == 0)
                return; /* prof.* actions are not exercised */
        ra = mallctl(name, buf, &len, NULL, 0);
        rb = mallctlbymib(mib, miblen, buf, &len2, NULL, 0);
        item(K_BYMIB, name, ra == rb, "by name %d, by MIB %d", ra, rb);
        if (ns == UNMET) {
                item(K_UNMET, name, ra == ENOENT, "call=%d", ra);
                return;
        }
        if (ns == UNKNOWN && ra == ENOENT)
                return;
        if (strcmp(r->name, "stats.mutexes.reset") == 0)
                /* jemalloc 5.3.0 ignores the arguments of this one and resets. */
                item(K_ACTION, name, ra == EPERM || ra == 0, "with oldp=%d want EPERM or 0", ra);
        else
                item(K_ACTION, name, ra == EPERM, "with oldp=%d want EPERM", ra);
        if (is_harmless_action(r->name)) {
                int rn = mallctl(name, NULL, NULL, NULL, 0);
                item(K_ACTION, name, rn == 0, "plain call=%d want 0", rn);
        }
}

static void check_writeonly(const struct row *r, const char *name, enum need ns)
{
        unsigned char buf[64];
        size_t len = sizeof(buf);
        int ra;

        if (strncmp(r->name, "prof.", 5) == 0)
                return; /* prof.* actions are not exercised */
        ra = mallctl(name, buf, &len, NULL, 0);
        if (ns == UNMET) {
                item(K_UNMET, name, ra == ENOENT, "read=%d", ra);
                return;
        }
        if (ns == UNKNOWN && ra == ENOENT)
                return;
        item(K_WOREAD, name, ra == EPERM, "read=%d want EPERM", ra);
}

static void check_one(const struct row *r, const char *name)
{
        enum need ns = need_state(r->needs);
        bool index_need = strcmp(r->needs, "opt.prof_stats") == 0;
        size_t mib[16], miblen = 16;
        int rl = mallctlnametomib(name, mib, &miblen);

        if (index_need && ns == UNMET) {
                item(K_UNMET, name, rl == ENOENT, "nametomib=%d want ENOENT", rl);
                return;
        }
        if (index_need && ns == UNKNOWN && rl == ENOENT)
                return;
        if (rl != 0)
                item(K_LOOKUP, name, false, "nametomib=%d", rl);
        else
                item(K_LOOKUP, name, miblen == (size_t)ncomponents(name),
                     "miblen=%zu want %d", miblen, ncomponents(name));
        if (rl != 0)
                return;
        if (r->rw[0] == 'r' && type_size(r->type) != 0)
                check_readable(r, name, mib, miblen, ns);
        else if (strcmp(r->rw, "--") == 0)
                check_action(r, name, mib, miblen, ns);
        else if (strcmp(r->rw, "-w") == 0)
                check_writeonly(r, name, ns);
        /* The other struct-typed experimental names: lookup only. */
}

/* Expands the placeholders of rows[k] (recursively, left to right) and checks each name. */
static void expand(const struct row *r, const char *pattern)
{
        const char *p = strstr(pattern, "<i>");
        const char *q = strstr(pattern, "<j>");
        const char *ph = p != NULL && (q == NULL || p < q) ? p : q;
        size_t vals[4];
        int n;

        if (ph == NULL) {
                check_one(r, pattern);
                return;
        }
        n = index_values(pattern, (size_t)(ph - pattern), vals);
        for (int v = 0; v < n; v++) {
                char next[MAX_NAME + 32];
                snprintf(next, sizeof(next), "%.*s%zu%s", (int)(ph - pattern), pattern, vals[v],
                         ph + 3);
                expand(r, next);
        }
}

/* ---- partial MIB iteration ---- */

static void test_partial_mib(void)
{
        size_t mib[8], miblen = 8;
        int r;

        r = mallctlnametomib("stats.arenas.0.bins.0.nmalloc", mib, &miblen);
        CHECKF("names/partial_mib/nametomib", r == 0 && miblen == 6, "r=%d miblen=%zu", r,
               miblen);
        if (r == 0 && miblen == 6 && nbins > 1) {
                const size_t arenas[] = {0, MALLCTL_ARENAS_ALL};
                const size_t bins[] = {0, 1, nbins / 2, nbins - 1};
                GROUP_BEGIN("names/partial_mib/stats_arenas_bins_patched");
                for (size_t a = 0; a < 2; a++) {
                        for (size_t j = 0; j < 4; j++) {
                                char name[96];
                                uint64_t vm = 0, vn = 0;
                                size_t lm = sizeof(vm), ln = sizeof(vn);
                                mib[2] = arenas[a];
                                mib[4] = bins[j];
                                snprintf(name, sizeof(name), "stats.arenas.%zu.bins.%zu.nmalloc",
                                         arenas[a], bins[j]);
                                int rm = mallctlbymib(mib, miblen, &vm, &lm, NULL, 0);
                                int rn = mallctl(name, &vn, &ln, NULL, 0);
                                EXPECTF(rm == 0 && rn == 0 && vm == vn,
                                       "%s: by MIB %d (%ju), by name %d (%ju)", name, rm,
                                       (uintmax_t)vm, rn, (uintmax_t)vn);
                        }
                }
                GROUP_END();
                mib[2] = 0;
                mib[4] = nbins + 1;
                uint64_t v = 0;
                size_t l = sizeof(v);
                r = mallctlbymib(mib, miblen, &v, &l, NULL, 0);
                CHECKF("names/partial_mib/stats_bin_out_of_range_enoent", r == ENOENT,
                       "stats.arenas.0.bins.%u.nmalloc by MIB = %d, want ENOENT", nbins + 1, r);
        }

        /* Every size class through one MIB. */
        struct {
                const char *name;
                unsigned count;
        } classes[] = {{"arenas.bin.0.size", nbins}, {"arenas.lextent.0.size", nlextents}};
        for (size_t c = 0; c < 2; c++) {
                char label[96];
                const char *prefix = c == 0 ? "arenas.bin" : "arenas.lextent";
                snprintf(label, sizeof(label), "names/partial_mib/%s_size_all", prefix);
                miblen = 8;
                r = mallctlnametomib(classes[c].name, mib, &miblen);
                if (r != 0 || miblen != 4 || classes[c].count == 0) {
                        CHECKF(label, false, "nametomib(%s)=%d miblen=%zu count=%u",
                               classes[c].name, r, miblen, classes[c].count);
                        continue;
                }
                GROUP_BEGIN(label);
                size_t prev = 0;
                for (unsigned k = 0; k < classes[c].count; k++) {
                        char name[64];
                        size_t vm = 0, vn = 0, lm = sizeof(vm), ln = sizeof(vn);
                        mib[2] = k;
                        snprintf(name, sizeof(name), "%s.%u.size", prefix, k);
                        int rm = mallctlbymib(mib, miblen, &vm, &lm, NULL, 0);
                        int rn = mallctl(name, &vn, &ln, NULL, 0);
                        EXPECTF(rm == 0 && rn == 0 && vm == vn && vm > prev,
                               "%s: by MIB %d (%zu), by name %d (%zu), previous %zu", name, rm,
                               vm, rn, vn, prev);
                        prev = vm;
                }
                GROUP_END();
                mib[2] = classes[c].count + 1;
                size_t v = 0, l = sizeof(v);
                r = mallctlbymib(mib, miblen, &v, &l, NULL, 0);
                CHECKF(cname("names/partial_mib/%s_out_of_range_enoent", prefix), r == ENOENT,
                       "%s.%u.size by MIB = %d, want ENOENT", prefix, classes[c].count + 1, r);
        }
}

int main(int argc, char **argv)
{
        const char *path = getenv("MALLCTL_NAMES");
        uint64_t epoch = 1;
        size_t len = sizeof(epoch);

        impl_init();
        if (argc > 1)
                path = argv[1];
        if (path == NULL || path[0] == '\0') {
                CHECKF("names/tsv_given", false, "set MALLCTL_NAMES or pass the TSV path");
                return check_finish();
        }
        if (!load_rows(path))
                return check_finish();

        mallctl("epoch", &epoch, &len, &epoch, sizeof(epoch));
        probe_needs();

        /* A fresh, unused arena for the reset/destroy EPERM probes, so that even an
         * implementation that ran the action would only touch an empty arena of ours. */
        unsigned idx = 0;
        len = sizeof(idx);
        if (mallctl("arenas.create", &idx, &len, NULL, 0) == 0)
                fresh_arena = idx;
        /* The stats of arenas created now show up after the next refresh. */
        epoch = 1;
        len = sizeof(epoch);
        mallctl("epoch", &epoch, &len, &epoch, sizeof(epoch));

        for (int k = 0; k < nrows; k++) {
                const struct row *r = &rows[k];
                if (fresh_arena == UINT32_MAX && strncmp(r->name, "arena.<i>.", 10) == 0 &&
                    (strcmp(r->name + 10, "reset") == 0 || strcmp(r->name + 10, "destroy") == 0)) {
                        check_skip(cname("names/action_oldp_eperm/%s", r->name),
                                   "arenas.create failed, no arena to try it on");
                        continue;
                }
                expand(r, r->name);
        }
        report_groups();
        test_partial_mib();
        return check_finish();
}
