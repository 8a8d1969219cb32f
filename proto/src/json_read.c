/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * json_read: a strict JSON tokenizer into a caller's token array (no allocation).  The
 * recursion is bounded by max_depth (at most 64), the work by the text length and the
 * token count; duplicate keys are rejected, strings must be valid UTF-8.
 */
#include <string.h>

#include "jp/proto.h"

#define DEPTH_LIMIT 64

typedef struct parser {
        const char *s;
        size_t len, pos;
        jp_tok_t *toks;
        unsigned cap, n, max_depth;
} parser_t;

static void skip_ws(parser_t *p)
{
        while (p->pos < p->len) {
                char c = p->s[p->pos];
                if (c != ' ' && c != '\t' && c != '\n' && c != '\r')
                        return;
                p->pos++;
        }
}

static int new_tok(parser_t *p, enum jp_type type, size_t start)
{
        if (p->n >= p->cap)
                return -1;
        jp_tok_t *t = &p->toks[p->n];
        t->type = (uint8_t)type;
        t->start = (uint32_t)start;
        t->end = (uint32_t)start;
        t->size = 0;
        t->next = 0;
        return (int)p->n++;
}

static int hexval(char c)
{
        if (c >= '0' && c <= '9')
                return c - '0';
        if (c >= 'a' && c <= 'f')
                return c - 'a' + 10;
        if (c >= 'A' && c <= 'F')
                return c - 'A' + 10;
        return -1;
}

/* Length of the UTF-8 sequence at s[0..n), or 0 if it is not well formed. */
static size_t utf8_len(const unsigned char *s, size_t n)
{
        unsigned char c = s[0];
        size_t need;
        uint32_t cp;
        if (c < 0x80)
                return 1;
        if (c >= 0xc2 && c <= 0xdf) {
                need = 2;
                cp = c & 0x1f;
        } else if (c >= 0xe0 && c <= 0xef) {
                need = 3;
                cp = c & 0x0f;
        } else if (c >= 0xf0 && c <= 0xf4) {
                need = 4;
                cp = c & 0x07;
        } else {
                return 0;
        }
        if (n < need)
                return 0;
        for (size_t i = 1; i < need; i++) {
                if ((s[i] & 0xc0) != 0x80)
                        return 0;
                cp = cp << 6 | (s[i] & 0x3f);
        }
        if ((need == 3 && (cp < 0x800 || (cp >= 0xd800 && cp <= 0xdfff))) ||
            (need == 4 && (cp < 0x10000 || cp > 0x10ffff)))
                return 0;
        return need;
}

static bool parse_string(parser_t *p, int *ret)
{
        size_t start = ++p->pos; /* past the quote */
        while (p->pos < p->len) {
                unsigned char c = (unsigned char)p->s[p->pos];
                if (c == '"') {
                        int t = new_tok(p, JP_STRING, start);
                        if (t < 0)
                                return false;
                        p->toks[t].end = (uint32_t)p->pos;
                        p->toks[t].next = p->n;
                        p->pos++;
                        *ret = t;
                        return true;
                }
                if (c < 0x20)
                        return false;
                if (c == '\\') {
                        if (++p->pos >= p->len)
                                return false;
                        char e = p->s[p->pos];
                        if (e == 'u') {
                                if (p->pos + 4 >= p->len)
                                        return false;
                                for (int i = 1; i <= 4; i++)
                                        if (hexval(p->s[p->pos + (size_t)i]) < 0)
                                                return false;
                                p->pos += 5;
                                continue;
                        }
                        if (strchr("\"\\/bfnrt", e) == NULL || e == '\0')
                                return false;
                        p->pos++;
                        continue;
                }
                size_t n = utf8_len((const unsigned char *)p->s + p->pos, p->len - p->pos);
                if (n == 0)
                        return false;
                p->pos += n;
        }
        return false;
}

static bool digits(parser_t *p)
{
        size_t start = p->pos;
        while (p->pos < p->len && p->s[p->pos] >= '0' && p->s[p->pos] <= '9')
                p->pos++;
        return p->pos > start;
}

static bool parse_number(parser_t *p, int *ret)
{
        size_t start = p->pos;
        if (p->s[p->pos] == '-')
                p->pos++;
        if (p->pos < p->len && p->s[p->pos] == '0')
                p->pos++;
        else if (!digits(p))
                return false;
        if (p->pos < p->len && p->s[p->pos] == '.') {
                p->pos++;
                if (!digits(p))
                        return false;
        }
        if (p->pos < p->len && (p->s[p->pos] == 'e' || p->s[p->pos] == 'E')) {
                p->pos++;
                if (p->pos < p->len && (p->s[p->pos] == '+' || p->s[p->pos] == '-'))
                        p->pos++;
                if (!digits(p))
                        return false;
        }
        int t = new_tok(p, JP_NUMBER, start);
        if (t < 0)
                return false;
        p->toks[t].end = (uint32_t)p->pos;
        p->toks[t].next = p->n;
        *ret = t;
        return true;
}

static bool parse_literal(parser_t *p, const char *lit, enum jp_type type, int *ret)
{
        size_t n = strlen(lit);
        if (p->len - p->pos < n || memcmp(p->s + p->pos, lit, n) != 0)
                return false;
        int t = new_tok(p, type, p->pos);
        if (t < 0)
                return false;
        p->pos += n;
        p->toks[t].end = (uint32_t)p->pos;
        p->toks[t].next = p->n;
        *ret = t;
        return true;
}

static bool next_cp(const char *s, size_t *pos, size_t end, uint32_t *cp);

/* Whether two string tokens hold the same text once unescaped ("op" and "\u006fp" are one
 * key: a reader that kept the first and another that kept the last would disagree). */
static bool same_key(const parser_t *p, const jp_tok_t *a, const jp_tok_t *b)
{
        if (a->end - a->start == b->end - b->start &&
            memcmp(p->s + a->start, p->s + b->start, a->end - a->start) == 0)
                return true;
        size_t pa = a->start, pb = b->start;
        for (;;) {
                uint32_t ca, cb;
                bool ha = next_cp(p->s, &pa, a->end, &ca), hb = next_cp(p->s, &pb, b->end, &cb);
                if (!ha || !hb)
                        return ha == hb;
                if (ca != cb)
                        return false;
        }
}

static bool parse_value(parser_t *p, unsigned depth, int *ret);

static bool parse_container(parser_t *p, unsigned depth, bool object, int *ret)
{
        if (depth >= p->max_depth)
                return false;
        int t = new_tok(p, object ? JP_OBJECT : JP_ARRAY, p->pos);
        if (t < 0)
                return false;
        char close = object ? '}' : ']';
        p->pos++;
        skip_ws(p);
        if (p->pos < p->len && p->s[p->pos] == close) {
                p->pos++;
        } else {
                for (;;) {
                        int v;
                        if (object) {
                                if (p->pos >= p->len || p->s[p->pos] != '"')
                                        return false;
                                int k;
                                if (!parse_string(p, &k))
                                        return false;
                                /* Duplicate keys: compare with the earlier ones. */
                                for (uint32_t i = (uint32_t)t + 1; i < (uint32_t)k;
                                     i = p->toks[p->toks[i].next].next)
                                        if (same_key(p, &p->toks[i], &p->toks[k]))
                                                return false;
                                skip_ws(p);
                                if (p->pos >= p->len || p->s[p->pos] != ':')
                                        return false;
                                p->pos++;
                                skip_ws(p);
                        }
                        if (!parse_value(p, depth + 1, &v))
                                return false;
                        p->toks[t].size++;
                        skip_ws(p);
                        if (p->pos >= p->len)
                                return false;
                        if (p->s[p->pos] == ',') {
                                p->pos++;
                                skip_ws(p);
                                continue;
                        }
                        if (p->s[p->pos] != close)
                                return false;
                        p->pos++;
                        break;
                }
        }
        p->toks[t].end = (uint32_t)p->pos;
        p->toks[t].next = p->n;
        *ret = t;
        return true;
}

static bool parse_value(parser_t *p, unsigned depth, int *ret)
{
        if (p->pos >= p->len)
                return false;
        switch (p->s[p->pos]) {
        case '{': return parse_container(p, depth, true, ret);
        case '[': return parse_container(p, depth, false, ret);
        case '"': return parse_string(p, ret);
        case 't': return parse_literal(p, "true", JP_TRUE, ret);
        case 'f': return parse_literal(p, "false", JP_FALSE, ret);
        case 'n': return parse_literal(p, "null", JP_NULL, ret);
        default:
                if (p->s[p->pos] == '-' || (p->s[p->pos] >= '0' && p->s[p->pos] <= '9'))
                        return parse_number(p, ret);
                return false;
        }
}

int jp_parse(const char *s, size_t len, jp_tok_t *toks, unsigned cap, unsigned max_depth,
             size_t *err_off)
{
        parser_t p = {s, len, 0, toks, cap, 0, max_depth < DEPTH_LIMIT ? max_depth : DEPTH_LIMIT};
        int root;
        if (len > UINT32_MAX - 1) {
                if (err_off != NULL)
                        *err_off = 0;
                return -1;
        }
        skip_ws(&p);
        bool ok = parse_value(&p, 0, &root);
        if (ok) {
                skip_ws(&p);
                ok = p.pos == len;
        }
        if (!ok) {
                if (err_off != NULL)
                        *err_off = p.pos;
                return -1;
        }
        return (int)p.n;
}

/* ---- access ------------------------------------------------------------------------ */

int jp_obj_find(const char *s, const jp_tok_t *toks, int obj, const char *key)
{
        if (obj < 0 || toks[obj].type != JP_OBJECT)
                return -1;
        uint32_t i = (uint32_t)obj + 1;
        for (uint32_t m = 0; m < toks[obj].size; m++) {
                uint32_t v = toks[i].next; /* a key's subtree is just itself */
                if (jp_str_eq(s, &toks[i], key))
                        return (int)v;
                i = toks[v].next;
        }
        return -1;
}

/* Next code point of string token content s[*pos..end), unescaped; false at the end. */
static bool next_cp(const char *s, size_t *pos, size_t end, uint32_t *cp)
{
        if (*pos >= end)
                return false;
        unsigned char c = (unsigned char)s[*pos];
        if (c != '\\') {
                size_t n = utf8_len((const unsigned char *)s + *pos, end - *pos);
                if (n == 0)
                        n = 1; /* validated by the parser; be safe anyway */
                uint32_t v = n == 1 ? c : (uint32_t)(c & (0xff >> (n + 1)));
                for (size_t i = 1; i < n; i++)
                        v = v << 6 | ((unsigned char)s[*pos + i] & 0x3f);
                *pos += n;
                *cp = v;
                return true;
        }
        char e = s[*pos + 1];
        *pos += 2;
        switch (e) {
        case 'b': *cp = '\b'; return true;
        case 'f': *cp = '\f'; return true;
        case 'n': *cp = '\n'; return true;
        case 'r': *cp = '\r'; return true;
        case 't': *cp = '\t'; return true;
        case 'u': {
                uint32_t v = 0;
                for (int i = 0; i < 4; i++)
                        v = v << 4 | (uint32_t)hexval(s[*pos + (size_t)i]);
                *pos += 4;
                if (v >= 0xd800 && v <= 0xdbff && *pos + 6 <= end && s[*pos] == '\\' &&
                    s[*pos + 1] == 'u') {
                        uint32_t lo = 0;
                        bool ok = true;
                        for (int i = 0; i < 4; i++) {
                                int h = hexval(s[*pos + 2 + (size_t)i]);
                                ok = ok && h >= 0;
                                lo = lo << 4 | (uint32_t)(h < 0 ? 0 : h);
                        }
                        if (ok && lo >= 0xdc00 && lo <= 0xdfff) {
                                *pos += 6;
                                v = 0x10000 + ((v - 0xd800) << 10) + (lo - 0xdc00);
                        }
                }
                if (v >= 0xd800 && v <= 0xdfff)
                        v = 0xfffd; /* a lone surrogate */
                *cp = v;
                return true;
        }
        default: *cp = (unsigned char)e; return true; /* " \ / */
        }
}

static size_t put_utf8(uint32_t cp, char out[4])
{
        if (cp < 0x80) {
                out[0] = (char)cp;
                return 1;
        }
        if (cp < 0x800) {
                out[0] = (char)(0xc0 | cp >> 6);
                out[1] = (char)(0x80 | (cp & 0x3f));
                return 2;
        }
        if (cp < 0x10000) {
                out[0] = (char)(0xe0 | cp >> 12);
                out[1] = (char)(0x80 | ((cp >> 6) & 0x3f));
                out[2] = (char)(0x80 | (cp & 0x3f));
                return 3;
        }
        out[0] = (char)(0xf0 | cp >> 18);
        out[1] = (char)(0x80 | ((cp >> 12) & 0x3f));
        out[2] = (char)(0x80 | ((cp >> 6) & 0x3f));
        out[3] = (char)(0x80 | (cp & 0x3f));
        return 4;
}

int jp_str_copy(const char *s, const jp_tok_t *t, char *out, size_t cap)
{
        if (t->type != JP_STRING || cap == 0)
                return -1;
        size_t pos = t->start, n = 0;
        uint32_t cp;
        while (next_cp(s, &pos, t->end, &cp)) {
                char enc[4];
                size_t k = put_utf8(cp, enc);
                if (cp == 0 || n + k >= cap)
                        return -1;
                memcpy(out + n, enc, k);
                n += k;
        }
        out[n] = '\0';
        return (int)n;
}

bool jp_str_eq(const char *s, const jp_tok_t *t, const char *lit)
{
        if (t->type != JP_STRING)
                return false;
        size_t pos = t->start, i = 0, ll = strlen(lit);
        uint32_t cp;
        while (next_cp(s, &pos, t->end, &cp)) {
                char enc[4];
                size_t k = put_utf8(cp, enc);
                if (i + k > ll || memcmp(lit + i, enc, k) != 0)
                        return false;
                i += k;
        }
        return i == ll;
}

bool jp_get_u64(const char *s, const jp_tok_t *t, uint64_t *out)
{
        if (t->type != JP_NUMBER || t->end == t->start || s[t->start] == '-')
                return false;
        uint64_t v = 0;
        for (uint32_t i = t->start; i < t->end; i++) {
                char c = s[i];
                if (c < '0' || c > '9')
                        return false; /* a fraction or an exponent */
                uint64_t d = (uint64_t)(c - '0');
                if (v > (UINT64_MAX - d) / 10)
                        return false;
                v = v * 10 + d;
        }
        *out = v;
        return true;
}

bool jp_get_i64(const char *s, const jp_tok_t *t, int64_t *out)
{
        if (t->type != JP_NUMBER || t->end == t->start)
                return false;
        bool neg = s[t->start] == '-';
        jp_tok_t u = *t;
        if (neg)
                u.start++;
        uint64_t v;
        if (u.start == u.end || !jp_get_u64(s, &u, &v))
                return false;
        if (neg) {
                if (v > (uint64_t)INT64_MAX + 1)
                        return false;
                *out = v == (uint64_t)INT64_MAX + 1 ? INT64_MIN : -(int64_t)v;
        } else {
                if (v > (uint64_t)INT64_MAX)
                        return false;
                *out = (int64_t)v;
        }
        return true;
}
