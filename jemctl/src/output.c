/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * output: messages, human sizes, aligned tables and JSON on stdout; checked readers of
 * the members of a response (a malformed answer reads as "missing", never a crash).
 */
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "jemctl.h"

size_t jc_sanitize_buf(char *s, size_t n, bool keep_lines)
{
        size_t k = 0;
        for (size_t i = 0; i < n; i++) {
                unsigned char c = (unsigned char)s[i];
                if (keep_lines && (c == '\n' || c == '\t')) {
                        s[k++] = (char)c;
                } else if (c == 0xc2 && i + 1 < n && (unsigned char)s[i + 1] >= 0x80 &&
                    (unsigned char)s[i + 1] < 0xa0) {
                        s[k++] = '?';
                        i++;
                } else {
                        s[k++] = c < 0x20 || c == 0x7f ? '?' : (char)c;
                }
        }
        return k;
}

char *jc_sanitize_text(char *s)
{
        if (s != NULL)
                s[jc_sanitize_buf(s, strlen(s), false)] = '\0';
        return s;
}

/* One string member: replaced only when something changes (a string may hold NULs:
 * those become '?' too). */
static void sanitize_string(json_t *j)
{
        const char *s = json_string_value(j);
        size_t n = json_string_length(j);
        bool bad = false;
        for (size_t i = 0; i < n && !bad; i++) {
                unsigned char c = (unsigned char)s[i];
                bad = c < 0x20 || c == 0x7f ||
                      (c == 0xc2 && i + 1 < n && (unsigned char)s[i + 1] >= 0x80 &&
                       (unsigned char)s[i + 1] < 0xa0);
        }
        if (!bad)
                return;
        char *d = malloc(n + 1);
        if (d == NULL)
                return;
        memcpy(d, s, n);
        size_t k = jc_sanitize_buf(d, n, false);
        d[k] = '\0';
        json_string_setn(j, d, k);
        free(d);
}

void jc_sanitize_json(json_t *j)
{
        size_t i;
        const char *k;
        json_t *v;
        if (json_is_string(j)) {
                sanitize_string(j);
        } else if (json_is_array(j)) {
                json_array_foreach(j, i, v) jc_sanitize_json(v);
        } else if (json_is_object(j)) {
                json_object_foreach(j, k, v) jc_sanitize_json(v);
        }
}

void jc_err(const char *fmt, ...)
{
        char buf[2048];
        va_list ap;
        va_start(ap, fmt);
        int n = vsnprintf(buf, sizeof(buf), fmt, ap);
        va_end(ap);
        if (n < 0)
                return;
        size_t len = (size_t)n < sizeof(buf) ? (size_t)n : sizeof(buf) - 1;
        /* Texts from the process end up here: no terminal control characters. */
        len = jc_sanitize_buf(buf, len, false);
        fflush(stdout);
        const char *host = jc_hosts_current() != NULL ? jc_hosts_current() : jc_remote_host();
        if (host != NULL)
                fprintf(stderr, "jemctl: %s: %.*s\n", host, (int)len, buf);
        else
                fprintf(stderr, "jemctl: %.*s\n", (int)len, buf);
}

const char *jc_fmt_bytes(char buf[32], uint64_t b)
{
        static const char *const units[] = {"KiB", "MiB", "GiB", "TiB", "PiB", "EiB"};
        if (b < 1024) {
                snprintf(buf, 32, "%" PRIu64 " B", b);
                return buf;
        }
        double v = (double)b / 1024.0;
        unsigned u = 0;
        while (v >= 1024.0 && u + 1 < sizeof(units) / sizeof(units[0])) {
                v /= 1024.0;
                u++;
        }
        snprintf(buf, 32, v < 10.0 ? "%.2f %s" : "%.1f %s", v, units[u]);
        return buf;
}

void jc_print_json(json_t *doc, bool pretty)
{
        if (jc_hosts_take_json(doc))
                return; /* printed with the other hosts' (hosts.c) */
        pretty = pretty && !jc_opt->multi; /* one document per line per process */
        size_t flags = JSON_ENCODE_ANY | JSON_PRESERVE_ORDER | (pretty ? JSON_INDENT(2)
                                                                        : JSON_COMPACT);
        char *s = json_dumps(doc, flags);
        if (s == NULL) {
                jc_err("cannot encode the JSON output (out of memory?)");
                return;
        }
        fputs(s, stdout);
        fputc('\n', stdout);
        free(s);
}

char *jc_value_text(const json_t *v)
{
        if (json_is_string(v))
                return strdup(json_string_value(v));
        if (json_is_real(v)) { /* only integers past 2^63 come as reals */
                char buf[64];
                snprintf(buf, sizeof(buf), "%.0f", json_real_value(v));
                return strdup(buf);
        }
        if (v == NULL)
                return strdup("?");
        return json_dumps(v, JSON_ENCODE_ANY | JSON_COMPACT);
}

bool jc_get_u64(const json_t *obj, const char *key, uint64_t *out)
{
        json_t *v = json_is_object(obj) ? json_object_get(obj, key) : NULL;
        if (json_is_integer(v) && json_integer_value(v) >= 0) {
                *out = (uint64_t)json_integer_value(v);
                return true;
        }
        if (json_is_real(v) && json_real_value(v) >= 0 && json_real_value(v) < 1.9e19) {
                *out = (uint64_t)json_real_value(v);
                return true;
        }
        return false;
}

bool jc_get_i64(const json_t *obj, const char *key, int64_t *out)
{
        json_t *v = json_is_object(obj) ? json_object_get(obj, key) : NULL;
        if (!json_is_integer(v))
                return false;
        *out = (int64_t)json_integer_value(v);
        return true;
}

const char *jc_get_str(const json_t *obj, const char *key)
{
        json_t *v = json_is_object(obj) ? json_object_get(obj, key) : NULL;
        return json_is_string(v) ? json_string_value(v) : NULL;
}

/* ---- tables ------------------------------------------------------------------------- */

void jc_table_init(jc_table_t *t, unsigned ncols, const char *align)
{
        memset(t, 0, sizeof(*t));
        t->ncols = ncols;
        t->right = align;
}

/* Room for one more row. */
static void grow(jc_table_t *t)
{
        if (t->nrows < t->cap)
                return;
        size_t cap = t->cap ? t->cap * 2 : 16;
        char **c = realloc(t->cells, cap * t->ncols * sizeof(*c));
        if (c == NULL) {
                jc_err("out of memory");
                exit(JC_FAIL);
        }
        t->cells = c;
        t->cap = cap;
}

void jc_table_add(jc_table_t *t, ...)
{
        grow(t);
        va_list ap;
        va_start(ap, t);
        for (unsigned i = 0; i < t->ncols; i++) {
                const char *s = va_arg(ap, const char *);
                char *d = strdup(s != NULL ? s : "-");
                if (d == NULL) {
                        jc_err("out of memory");
                        exit(JC_FAIL);
                }
                t->cells[t->nrows * t->ncols + i] = d;
        }
        va_end(ap);
        t->nrows++;
}

void jc_table_add_row(jc_table_t *t, const char *first, char *const *rest)
{
        grow(t);
        for (unsigned i = 0; i < t->ncols; i++) {
                char *d = strdup(i == 0 ? first : rest[i - 1]);
                if (d == NULL) {
                        jc_err("out of memory");
                        exit(JC_FAIL);
                }
                t->cells[t->nrows * t->ncols + i] = d;
        }
        t->nrows++;
}

void jc_table_print(jc_table_t *t, const char *indent)
{
        if (jc_hosts_take_table(t, indent))
                return; /* one table with the other hosts' rows (hosts.c) */
        size_t width[16] = {0};
        unsigned nc = t->ncols < 16 ? t->ncols : 16;
        for (size_t r = 0; r < t->nrows; r++)
                for (unsigned i = 0; i < nc; i++) {
                        size_t l = strlen(t->cells[r * t->ncols + i]);
                        if (l > width[i])
                                width[i] = l;
                }
        for (size_t r = 0; r < t->nrows; r++) {
                fputs(indent, stdout);
                for (unsigned i = 0; i < nc; i++) {
                        const char *s = t->cells[r * t->ncols + i];
                        bool last = i + 1 == nc;
                        if (t->right[i] == 'r')
                                printf("%*s", (int)width[i], s);
                        else if (last)
                                fputs(s, stdout); /* no trailing blanks */
                        else
                                printf("%-*s", (int)width[i], s);
                        if (!last)
                                fputs("  ", stdout);
                }
                fputc('\n', stdout);
        }
}

void jc_table_free(jc_table_t *t)
{
        for (size_t i = 0; i < t->nrows * t->ncols; i++)
                free(t->cells[i]);
        free(t->cells);
        memset(t, 0, sizeof(*t));
}
