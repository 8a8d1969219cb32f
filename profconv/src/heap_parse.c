/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * heap_parse: the heap_v2 text format (docs/profiling.md, jemalloc's prof_dump) into a
 * pc_profile_t.  Strict, because the input may come from a process we do not trust: every
 * line must have one of the shapes below, numbers must fit 64 bits, the text must end with
 * a newline (a dump cut short is refused rather than half read).
 *
 *   heap_v2/R
 *     t*: CUROBJS: CURBYTES [CUMOBJS: CUMBYTES]
 *     tN: ... [...] [NAME]                        zero or more threads
 *   @ 0xPC 0xPC ...                              per record: the stack,
 *     t*: ... [...]                              its total,
 *     tN: ... [...]                              zero or more threads
 *   (empty line)
 *   MAPPED_LIBRARIES:                             optional, /proc/PID/maps to the end
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "pc/profconv.h"

typedef struct cursor {
        const char *p, *end;
        unsigned line;       /* number of the line last returned */
        const char *ls, *le; /* that line, without its newline */
} cursor_t;

/* The next line; false at the end of the text. */
static bool next_line(cursor_t *c)
{
        if (c->p >= c->end)
                return false;
        const char *nl = memchr(c->p, '\n', (size_t)(c->end - c->p));
        c->ls = c->p;
        c->le = nl != NULL ? nl : c->end;
        c->p = nl != NULL ? nl + 1 : c->end;
        c->line++;
        return true;
}

static bool is_digit(char ch)
{
        return ch >= '0' && ch <= '9';
}

/* Decimal u64 at *s (< e); advances *s.  False if none or overflow. */
static bool parse_dec(const char **s, const char *e, uint64_t *out)
{
        const char *p = *s;
        uint64_t v = 0;
        if (p >= e || !is_digit(*p))
                return false;
        for (; p < e && is_digit(*p); p++) {
                unsigned d = (unsigned)(*p - '0');
                if (v > (UINT64_MAX - d) / 10)
                        return false;
                v = v * 10 + d;
        }
        *s = p;
        *out = v;
        return true;
}

static int hexval(char ch)
{
        if (ch >= '0' && ch <= '9')
                return ch - '0';
        if (ch >= 'a' && ch <= 'f')
                return ch - 'a' + 10;
        if (ch >= 'A' && ch <= 'F')
                return ch - 'A' + 10;
        return -1;
}

/* Hex u64 (no prefix) at *s; advances.  False if none or more than 16 digits. */
static bool parse_hex(const char **s, const char *e, uint64_t *out)
{
        const char *p = *s;
        uint64_t v = 0;
        int n = 0;
        for (; p < e && hexval(*p) >= 0; p++, n++) {
                if (n == 16)
                        return false;
                v = v << 4 | (uint64_t)hexval(*p);
        }
        if (n == 0)
                return false;
        *s = p;
        *out = v;
        return true;
}

static bool skip_spaces(const char **s, const char *e, bool need)
{
        const char *p = *s;
        while (p < e && (*p == ' ' || *p == '\t'))
                p++;
        bool any = p != *s;
        *s = p;
        return any || !need;
}

static bool expect(const char **s, const char *e, char ch)
{
        if (*s >= e || **s != ch)
                return false;
        (*s)++;
        return true;
}

/* "  t*: a: b [c: d]" or "  tN: a: b [c: d]" (jeprof's regular expression, spaces as
 * loose as it allows).  *uid is UINT64_MAX for t*.  Returns the end of what was read, or
 * NULL. */
static const char *parse_counts(const char *s, const char *e, uint64_t *uid, pc_counts_t *c)
{
        skip_spaces(&s, e, false);
        if (!expect(&s, e, 't'))
                return NULL;
        if (s < e && *s == '*') {
                s++;
                *uid = UINT64_MAX;
        } else if (!parse_dec(&s, e, uid) || *uid == UINT64_MAX) {
                return NULL;
        }
        if (!expect(&s, e, ':') || !skip_spaces(&s, e, true) || !parse_dec(&s, e, &c->cur_objs) ||
            !expect(&s, e, ':') || !skip_spaces(&s, e, true) || !parse_dec(&s, e, &c->cur_bytes) ||
            !skip_spaces(&s, e, true) || !expect(&s, e, '[') || !skip_spaces(&s, e, false) ||
            !parse_dec(&s, e, &c->cum_objs) || !expect(&s, e, ':') || !skip_spaces(&s, e, true) ||
            !parse_dec(&s, e, &c->cum_bytes) || !expect(&s, e, ']'))
                return NULL;
        return s;
}

static bool grow(void **v, size_t *cap, size_t n, size_t size)
{
        if (n < *cap)
                return true;
        size_t nc = *cap ? *cap * 2 : 16;
        void *d = realloc(*v, nc * size);
        if (d == NULL)
                return false;
        *v = d;
        *cap = nc;
        return true;
}

typedef struct parser {
        cursor_t c;
        pc_profile_t p;
        size_t cap_threads, cap_records, cap_maps;
        pc_error_t *err;
} parser_t;

static int bad(parser_t *ps, const char *what)
{
        pc_set_error(ps->err, ps->c.line, "line %u: %s", ps->c.line, what);
        return -EINVAL;
}

static int oom(parser_t *ps)
{
        pc_set_error(ps->err, ps->c.line, "out of memory at line %u", ps->c.line);
        return -ENOMEM;
}

static char *dup_range(const char *s, const char *e)
{
        char *d = malloc((size_t)(e - s) + 1);
        if (d != NULL) {
                memcpy(d, s, (size_t)(e - s));
                d[e - s] = '\0';
        }
        return d;
}

static int parse_header(parser_t *ps)
{
        cursor_t *c = &ps->c;
        if (!next_line(c)) {
                c->line = 1;
                return bad(ps, "empty input (expected a heap_v2/R header)");
        }
        const char *s = c->ls;
        static const char magic[] = "heap_v2/";
        if ((size_t)(c->le - s) < sizeof(magic) - 1 || memcmp(s, magic, sizeof(magic) - 1))
                return bad(ps, "not a heap_v2 profile (the first line must be heap_v2/R)");
        s += sizeof(magic) - 1;
        if (!parse_dec(&s, c->le, &ps->p.period) || s != c->le)
                return bad(ps, "heap_v2/R: R is not a decimal number");
        if (ps->p.period == 0)
                return bad(ps, "heap_v2/R: the sampling period R must be > 0");
        uint64_t uid;
        if (!next_line(c))
                return bad(ps, "truncated: no t* total line after the header");
        s = parse_counts(c->ls, c->le, &uid, &ps->p.total);
        if (s == NULL || uid != UINT64_MAX || s != c->le)
                return bad(ps, "expected the process total \"  t*: OBJS: BYTES [OBJS: BYTES]\"");
        /* Thread lines until the first stack or the end of the records. */
        while (c->p < c->end && *c->p != '@' && *c->p != '\n') {
                next_line(c);
                pc_thread_t t = {0};
                s = parse_counts(c->ls, c->le, &t.uid, &t.c);
                if (s == NULL || t.uid == UINT64_MAX)
                        return bad(ps, "expected a thread line \"  tN: OBJS: BYTES [OBJS: "
                                       "BYTES] [NAME]\"");
                if (s < c->le && *s != ' ')
                        return bad(ps, "junk after a thread line's counts");
                if (s < c->le)
                        s++;
                if (!grow((void **)&ps->p.threads, &ps->cap_threads, ps->p.nthreads,
                          sizeof(pc_thread_t)) ||
                    (t.name = dup_range(s, c->le)) == NULL)
                        return oom(ps);
                ps->p.threads[ps->p.nthreads++] = t;
        }
        return 0;
}

static int parse_stack(parser_t *ps, pc_record_t *r)
{
        cursor_t *c = &ps->c;
        const char *s = c->ls + 1, *e = c->le;
        uint64_t pcs[PC_MAX_FRAMES];
        size_t n = 0;
        while (s < e) {
                if (!skip_spaces(&s, e, true))
                        return bad(ps, "stack line: addresses must be separated by spaces");
                if (s == e)
                        break;
                uint64_t a;
                if (!expect(&s, e, '0') || !expect(&s, e, 'x') || !parse_hex(&s, e, &a))
                        return bad(ps, "stack line: expected an address 0xHEX");
                if (n == PC_MAX_FRAMES)
                        return bad(ps, "stack line: more than 1024 frames");
                pcs[n++] = a;
        }
        r->npcs = n;
        r->pcs = malloc((n ? n : 1) * sizeof(uint64_t));
        if (r->pcs == NULL)
                return oom(ps);
        memcpy(r->pcs, pcs, n * sizeof(uint64_t));
        return 0;
}

static int parse_records(parser_t *ps)
{
        cursor_t *c = &ps->c;
        while (c->p < c->end && *c->p == '@') {
                next_line(c);
                pc_record_t r = {0};
                int rc = parse_stack(ps, &r);
                if (rc != 0)
                        return rc;
                if (!grow((void **)&ps->p.records, &ps->cap_records, ps->p.nrecords,
                          sizeof(pc_record_t))) {
                        free(r.pcs);
                        return oom(ps);
                }
                ps->p.records[ps->p.nrecords++] = r;
                uint64_t uid;
                if (!next_line(c))
                        return bad(ps, "truncated: a stack without its t* line");
                const char *s =
                        parse_counts(c->ls, c->le, &uid, &ps->p.records[ps->p.nrecords - 1].c);
                if (s == NULL || uid != UINT64_MAX || s != c->le)
                        return bad(ps, "expected the stack's total \"  t*: OBJS: BYTES [OBJS: "
                                       "BYTES]\"");
                while (c->p < c->end && *c->p != '@' && *c->p != '\n') {
                        next_line(c);
                        pc_counts_t tc;
                        s = parse_counts(c->ls, c->le, &uid, &tc);
                        if (s == NULL || uid == UINT64_MAX || s != c->le)
                                return bad(ps, "expected a thread line \"  tN: OBJS: BYTES "
                                               "[OBJS: BYTES]\" (or the next @ stack)");
                }
        }
        return 0;
}

/* "start-end perms offset dev inode [path]" */
static int parse_map(parser_t *ps, pc_map_t *m)
{
        const char *s = ps->c.ls, *e = ps->c.le;
        uint64_t dev;
        if (!parse_hex(&s, e, &m->start) || !expect(&s, e, '-') || !parse_hex(&s, e, &m->end) ||
            m->end < m->start || !skip_spaces(&s, e, true) || e - s < 4)
                return bad(ps, "MAPPED_LIBRARIES: expected START-END PERMS OFFSET DEV INODE "
                               "[PATH]");
        memcpy(m->perms, s, 4);
        m->perms[4] = '\0';
        s += 4;
        if (!skip_spaces(&s, e, true) || !parse_hex(&s, e, &m->offset) ||
            !skip_spaces(&s, e, true) || !parse_hex(&s, e, &dev) || !expect(&s, e, ':') ||
            !parse_hex(&s, e, &dev) || !skip_spaces(&s, e, true) || !parse_dec(&s, e, &m->inode) ||
            (s < e && *s != ' ' && *s != '\t'))
                return bad(ps, "MAPPED_LIBRARIES: expected START-END PERMS OFFSET DEV INODE "
                               "[PATH]");
        skip_spaces(&s, e, false);
        if (e - s >= PC_MAX_PATH)
                return bad(ps, "MAPPED_LIBRARIES: path too long");
        if ((m->path = dup_range(s, e)) == NULL)
                return oom(ps);
        return 0;
}

static int parse_maps(parser_t *ps)
{
        cursor_t *c = &ps->c;
        if (!next_line(c))
                return 0; /* records, then one empty line, then nothing */
        if (c->le == c->ls)
                return bad(ps, "a second empty line (expected MAPPED_LIBRARIES:)");
        if ((size_t)(c->le - c->ls) != 17 || memcmp(c->ls, "MAPPED_LIBRARIES:", 17) != 0)
                return bad(ps, "expected MAPPED_LIBRARIES: after the empty line");
        ps->p.has_maps = true;
        while (next_line(c)) {
                pc_map_t m = {0};
                int rc = parse_map(ps, &m);
                if (rc != 0)
                        return rc;
                if (!grow((void **)&ps->p.maps, &ps->cap_maps, ps->p.nmaps, sizeof(pc_map_t))) {
                        free(m.path);
                        return oom(ps);
                }
                ps->p.maps[ps->p.nmaps++] = m;
        }
        return 0;
}

static int parse_all(parser_t *ps, size_t len)
{
        cursor_t *c = &ps->c;
        if (len > PC_MAX_INPUT)
                return bad(ps, "input larger than 2 GiB");
        if (len > 0 && memchr(c->p, '\0', len) != NULL) {
                const char *z = memchr(c->p, '\0', len);
                unsigned line = 1;
                for (const char *q = c->p; q < z; q++)
                        line += *q == '\n';
                c->line = line;
                return bad(ps, "a NUL byte (not a text profile)");
        }
        if (len > 0 && c->end[-1] != '\n') {
                unsigned line = 1;
                for (const char *q = c->p; q < c->end; q++)
                        line += *q == '\n';
                c->line = line;
                return bad(ps, "truncated: the last line has no newline");
        }
        int rc = parse_header(ps);
        if (rc == 0)
                rc = parse_records(ps);
        if (rc != 0)
                return rc;
        if (!next_line(c))
                return 0; /* no maps section (jemalloc could not read /proc/PID/maps) */
        if (c->le != c->ls)
                return bad(ps, "expected an @ stack line, or an empty line before "
                               "MAPPED_LIBRARIES:");
        return parse_maps(ps);
}

int pc_heap_parse(const char *buf, size_t len, pc_profile_t *ret, pc_error_t *err)
{
        parser_t ps;
        memset(&ps, 0, sizeof(ps));
        ps.c.p = buf;
        ps.c.end = buf + len;
        ps.err = err;
        int rc = parse_all(&ps, len);
        if (rc != 0) {
                pc_profile_free(&ps.p);
                return rc;
        }
        *ret = ps.p;
        return 0;
}

void pc_profile_free(pc_profile_t *p)
{
        for (size_t i = 0; i < p->nthreads; i++)
                free(p->threads[i].name);
        for (size_t i = 0; i < p->nrecords; i++)
                free(p->records[i].pcs);
        for (size_t i = 0; i < p->nmaps; i++)
                free(p->maps[i].path);
        free(p->threads);
        free(p->records);
        free(p->maps);
        memset(p, 0, sizeof(*p));
}
