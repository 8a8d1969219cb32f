/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * json_write: compact JSON into a caller's buffer, commas and colons placed by the
 * writer.  Overflow cuts the text and is reported once, at the end, by the flag.
 */
#include <string.h>

#include "jp/proto.h"

void jp_w_init(jp_writer_t *w, char *buf, size_t cap)
{
        memset(w, 0, sizeof(*w));
        w->buf = buf;
        w->cap = cap;
}

static void put(jp_writer_t *w, const char *s, size_t n)
{
        if (w->overflow)
                return;
        if (n > w->cap - w->len) {
                w->overflow = true;
                return;
        }
        memcpy(w->buf + w->len, s, n);
        w->len += n;
}

/* Called before every value or key: a comma between siblings. */
static void sep(jp_writer_t *w)
{
        if (w->after_key) {
                w->after_key = false;
                return;
        }
        if (w->depth > 0 && w->depth <= sizeof(w->need_comma)) {
                if (w->need_comma[w->depth - 1])
                        put(w, ",", 1);
                w->need_comma[w->depth - 1] = true;
        }
}

static void w_open(jp_writer_t *w, char c)
{
        sep(w);
        put(w, &c, 1);
        w->depth++;
        if (w->depth <= sizeof(w->need_comma))
                w->need_comma[w->depth - 1] = false;
}

static void close_(jp_writer_t *w, char c)
{
        if (w->depth > 0)
                w->depth--;
        put(w, &c, 1);
}

void jp_w_obj(jp_writer_t *w)
{
        w_open(w, '{');
}

void jp_w_obj_end(jp_writer_t *w)
{
        close_(w, '}');
}

void jp_w_arr(jp_writer_t *w)
{
        w_open(w, '[');
}

void jp_w_arr_end(jp_writer_t *w)
{
        close_(w, ']');
}

static void put_escaped(jp_writer_t *w, const char *s, size_t n)
{
        static const char hex[] = "0123456789abcdef";
        put(w, "\"", 1);
        size_t run = 0;
        for (size_t i = 0; i < n; i++) {
                unsigned char c = (unsigned char)s[i];
                if (c >= 0x20 && c != '"' && c != '\\')
                        continue;
                put(w, s + run, i - run);
                run = i + 1;
                char esc[6] = {'\\', 0, 0, 0, 0, 0};
                size_t k = 2;
                switch (c) {
                case '"': esc[1] = '"'; break;
                case '\\': esc[1] = '\\'; break;
                case '\n': esc[1] = 'n'; break;
                case '\r': esc[1] = 'r'; break;
                case '\t': esc[1] = 't'; break;
                default:
                        esc[1] = 'u';
                        esc[2] = '0';
                        esc[3] = '0';
                        esc[4] = hex[c >> 4];
                        esc[5] = hex[c & 15];
                        k = 6;
                }
                put(w, esc, k);
        }
        put(w, s + run, n - run);
        put(w, "\"", 1);
}

void jp_w_key(jp_writer_t *w, const char *key)
{
        sep(w);
        put_escaped(w, key, strlen(key));
        put(w, ":", 1);
        w->after_key = true;
}

void jp_w_strn(jp_writer_t *w, const char *s, size_t n)
{
        sep(w);
        put_escaped(w, s, n);
}

void jp_w_str(jp_writer_t *w, const char *s)
{
        if (s == NULL) {
                jp_w_null(w);
                return;
        }
        jp_w_strn(w, s, strlen(s));
}

static char *fmt_u64(char *end, uint64_t v)
{
        *--end = '\0';
        do {
                *--end = (char)('0' + v % 10);
                v /= 10;
        } while (v != 0);
        return end;
}

void jp_w_u64(jp_writer_t *w, uint64_t v)
{
        char buf[24];
        char *p = fmt_u64(buf + sizeof(buf), v);
        sep(w);
        put(w, p, strlen(p));
}

void jp_w_i64(jp_writer_t *w, int64_t v)
{
        char buf[24];
        uint64_t u = v < 0 ? (uint64_t)0 - (uint64_t)v : (uint64_t)v;
        char *p = fmt_u64(buf + sizeof(buf), u);
        if (v < 0)
                *--p = '-';
        sep(w);
        put(w, p, strlen(p));
}

void jp_w_bool(jp_writer_t *w, bool v)
{
        sep(w);
        put(w, v ? "true" : "false", v ? 4 : 5);
}

void jp_w_null(jp_writer_t *w)
{
        sep(w);
        put(w, "null", 4);
}

void jp_w_raw(jp_writer_t *w, const char *json, size_t n)
{
        sep(w);
        put(w, json, n);
}

char *jp_w_reserve(jp_writer_t *w, size_t n)
{
        sep(w);
        if (w->overflow || n > w->cap - w->len) {
                w->overflow = true;
                return NULL;
        }
        return w->buf + w->len;
}

void jp_w_commit(jp_writer_t *w, size_t used)
{
        if (!w->overflow && used <= w->cap - w->len)
                w->len += used;
}
