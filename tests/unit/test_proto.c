/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Unit tests of the control protocol's codec (proto/, docs/protocol.md): framing, the
 * strict JSON reader (grammar, limits, UTF-8, duplicate keys), the accessors, the writer
 * (commas, escaping, overflow) and the request / response envelopes.  Every text handed
 * to the parser is first copied into a buffer of exactly its length (no NUL after it), so
 * the ASan build catches any read past the end.
 */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "../common/check.h"
#include "jp/proto.h"

static jp_tok_t toks[2 * JP_MAX_TOKENS];
static char *exact; /* the last text parsed, in a buffer of exactly its length */
static size_t exact_len;

/* The text s[0..len) in a fresh buffer of exactly len bytes (freed on the next call). */
static const char *dup_exact(const char *s, size_t len)
{
        free(exact);
        exact = malloc(len ? len : 1);
        if (exact == NULL)
                abort();
        memcpy(exact, s, len);
        exact_len = len;
        return exact;
}

static int parse_n(const char *s, size_t len, unsigned cap, unsigned depth, size_t *off)
{
        const char *e = dup_exact(s, len);
        return jp_parse(e, len, toks, cap, depth, off);
}

static int parse(const char *s)
{
        return parse_n(s, strlen(s), JP_MAX_TOKENS, JP_MAX_DEPTH, NULL);
}

static bool rejects(const char *s)
{
        return parse(s) < 0;
}

static enum jp_err req_parse(const char *s, jp_request_t *req)
{
        size_t len = strlen(s);
        const char *e = dup_exact(s, len);
        return jp_request_parse(e, len, toks, JP_MAX_TOKENS, req);
}

/* Writer output as a C string (the writer does not terminate it). */
static char wbuf[4096];
static const char *wstr(const jp_writer_t *w)
{
        static char out[sizeof(wbuf) + 1];
        memcpy(out, w->buf, w->len);
        out[w->len] = '\0';
        return out;
}

/* ---- framing ----------------------------------------------------------------------- */

static void frame_round_trip(void)
{
        uint8_t h[JP_HDR_SIZE];
        jp_frame_put(h, 0x01020304u);
        EXPECT(h[0] == 1 && h[1] == 2 && h[2] == 3 && h[3] == 4);
        EXPECT_EQ(jp_frame_get(h), 0x01020304u);
        static const uint32_t vals[] = {0, 1, 255, 256, 65535, 65536, 0x7fffffffu,
                                        0x80000000u, UINT32_MAX};
        for (unsigned i = 0; i < sizeof(vals) / sizeof(vals[0]); i++) {
                jp_frame_put(h, vals[i]);
                EXPECT_EQ(jp_frame_get(h), vals[i]);
        }
        jp_frame_put(h, 5);
        EXPECT(h[0] == 0 && h[1] == 0 && h[2] == 0 && h[3] == 5);
}

static void frame_limits(void)
{
        EXPECT(jp_frame_check(0, JP_REQ_MAX) == JP_ERR_BAD_FRAME);
        EXPECT(jp_frame_check(1, JP_REQ_MAX) == JP_OK);
        EXPECT(jp_frame_check(JP_REQ_MAX, JP_REQ_MAX) == JP_OK);
        EXPECT(jp_frame_check(JP_REQ_MAX + 1, JP_REQ_MAX) == JP_ERR_TOO_LARGE);
        EXPECT(jp_frame_check(0x7fffffffu, JP_REQ_MAX) == JP_ERR_TOO_LARGE);
        EXPECT(jp_frame_check(UINT32_MAX, JP_REQ_MAX) == JP_ERR_TOO_LARGE);
        EXPECT(jp_frame_check(JP_RESP_MAX, JP_RESP_MAX) == JP_OK);
        EXPECT(jp_frame_check(JP_RESP_MAX + 1, JP_RESP_MAX) == JP_ERR_TOO_LARGE);
        EXPECT(jp_frame_check(0, JP_RESP_MAX) == JP_ERR_BAD_FRAME);
        EXPECT_EQ(JP_REQ_MAX, 65536);
        EXPECT_EQ(JP_RESP_MAX, 16777216);
}

/* ---- reading ----------------------------------------------------------------------- */

static void parse_structure(void)
{
        const char *s = " {\"a\": [1, \"x\"], \"b\": null, \"c\": {\"d\": true}} ";
        int n = parse(s);
        EXPECT_EQ(n, 11);
        if (n != 11)
                return;
        const char *e = exact;
        /* 0 obj, 1 "a", 2 arr, 3 1, 4 "x", 5 "b", 6 null, 7 "c", 8 obj, 9 "d", 10 true */
        EXPECT(toks[0].type == JP_OBJECT && toks[0].size == 3 && toks[0].next == 11);
        EXPECT_EQ(toks[0].start, 1);
        EXPECT_EQ(toks[0].end, strlen(s) - 1);
        EXPECT(toks[1].type == JP_STRING && toks[1].next == 2);
        EXPECT(toks[1].end - toks[1].start == 1 && e[toks[1].start] == 'a');
        EXPECT(toks[2].type == JP_ARRAY && toks[2].size == 2 && toks[2].next == 5);
        EXPECT(e[toks[2].start] == '[' && e[toks[2].end - 1] == ']');
        EXPECT(toks[3].type == JP_NUMBER && toks[3].next == 4);
        EXPECT(toks[4].type == JP_STRING && toks[4].next == 5);
        EXPECT(toks[5].type == JP_STRING && toks[6].type == JP_NULL && toks[6].next == 7);
        EXPECT(toks[7].type == JP_STRING && toks[8].type == JP_OBJECT && toks[8].size == 1);
        EXPECT(toks[8].next == 11 && toks[9].type == JP_STRING && toks[10].type == JP_TRUE);
        EXPECT(toks[9].next == 10 && toks[10].next == 11);
}

static void parse_structure_literals(void)
{
        EXPECT_EQ(parse("{\"t\":true,\"f\":false,\"n\":null}"), 7);
        EXPECT(toks[2].type == JP_TRUE && toks[4].type == JP_FALSE && toks[6].type == JP_NULL);
        EXPECT(toks[2].end - toks[2].start == 4 && toks[4].end - toks[4].start == 5);
        EXPECT_EQ(parse("[]"), 1);
        EXPECT(toks[0].type == JP_ARRAY && toks[0].size == 0 && toks[0].next == 1);
        EXPECT_EQ(parse("{}"), 1);
        EXPECT(toks[0].type == JP_OBJECT && toks[0].size == 0);
        EXPECT_EQ(parse("[[],[[]],{}]"), 5);
        EXPECT(toks[0].size == 3 && toks[1].next == 2 && toks[2].next == 4 && toks[4].next == 5);
        /* Scalars at the top level, whitespace of all four kinds around. */
        EXPECT_EQ(parse("\t\r\n 42 \n"), 1);
        EXPECT(toks[0].type == JP_NUMBER);
        EXPECT_EQ(parse("\"s\""), 1);
        EXPECT_EQ(parse("null"), 1);
}

static void parse_numbers(void)
{
        static const char *const good[] = {"0", "-0", "1", "-1", "10", "1.5", "-0.25", "1e5",
                                            "1E5", "1e+5", "1e-5", "0.0e0", "123456789012345678901234567890",
                                            "-1.0E-10"};
        for (unsigned i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
                int n = parse(good[i]);
                EXPECT(n == 1 && toks[0].type == JP_NUMBER);
                if (n != 1)
                        fprintf(stderr, "  rejected number %s\n", good[i]);
                EXPECT_EQ(toks[0].end - toks[0].start, strlen(good[i]));
        }
        static const char *const bad[] = {"01", "-01", "1.", ".5", "-", "+1", "1e", "1e+",
                                           "1.e5", "--1", "0x10", "1.5.5", "Infinity", "NaN",
                                           "-.5", "00", "1 2", "[01]", "[1.]", "{\"a\":-}"};
        for (unsigned i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
                EXPECT(rejects(bad[i]));
                if (!rejects(bad[i]))
                        fprintf(stderr, "  accepted number %s\n", bad[i]);
        }
}

static void parse_strings_and_escapes(void)
{
        char out[64];
        EXPECT_EQ(parse("\"a\\\"b\\\\c\\/d\\be\\ff\\ng\\rh\\ti\""), 1);
        EXPECT_EQ(jp_str_copy(exact, &toks[0], out, sizeof(out)), 17);
        EXPECT(memcmp(out, "a\"b\\c/d\be\ff\ng\rh\ti", 18) == 0);
        /* \u: BMP, a surrogate pair (U+1F600), a lone surrogate (U+FFFD), upper-case hex. */
        EXPECT_EQ(parse("\"\\u00e9\\u20AC\\ud83d\\ude00\\ud800x\""), 1);
        int n = jp_str_copy(exact, &toks[0], out, sizeof(out));
        EXPECT_EQ(n, 2 + 3 + 4 + 3 + 1);
        EXPECT(memcmp(out, "\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80\xef\xbf\xbdx", 13) == 0);
        /* Raw UTF-8 up to 4 bytes, and DEL, are fine. */
        EXPECT_EQ(parse("\"\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80\x7f\""), 1);
        EXPECT_EQ(toks[0].end - toks[0].start, 10);
        EXPECT(rejects("\"\\x\""));
        EXPECT(rejects("\"\\u12G4\""));
        EXPECT(rejects("\"\\u123\""));
        EXPECT(rejects("\"\\u"));
        EXPECT(rejects("\"\\"));
        EXPECT(rejects("\"abc"));
        EXPECT(rejects("\"\\'\""));
        EXPECT(parse_n("\"\\u0000\"", 8, 4, 4, NULL) == 1); /* parses; copying refuses it */
}

static void parse_rejects_control_chars(void)
{
        for (int c = 0; c < 0x20; c++) {
                char s[4] = {'"', (char)c, '"', 0};
                EXPECT(parse_n(s, 3, 4, 4, NULL) < 0);
        }
        EXPECT(parse_n("\"\x7f\"", 3, 4, 4, NULL) == 1);
}

static void parse_rejects_bad_utf8(void)
{
        static const char *const bad[] = {
                "\"\x80\"",             /* lone continuation */
                "\"\xc0\x80\"",         /* overlong NUL */
                "\"\xc1\xbf\"",         /* overlong */
                "\"\xe0\x80\x80\"",     /* overlong 3-byte */
                "\"\xed\xa0\x80\"",     /* UTF-16 surrogate */
                "\"\xf0\x80\x80\x80\"", /* overlong 4-byte */
                "\"\xf4\x90\x80\x80\"", /* above U+10FFFF */
                "\"\xf5\x80\x80\x80\"", "\"\xff\"", "\"\xfe\"",
                "\"\xe2\x82\"",         /* cut short before the quote */
                "\"\xc3\"",             /* cut short */
                "\"\xc3x\"",            /* bad continuation */
        };
        for (unsigned i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
                EXPECT(rejects(bad[i]));
                if (!rejects(bad[i]))
                        fprintf(stderr, "  accepted bad UTF-8 #%u\n", i);
        }
        /* Cut short at the very end of the text (no quote after it). */
        EXPECT(parse_n("\"\xe2\x82", 3, 4, 4, NULL) < 0);
        EXPECT(parse_n("\"\xf0\x9f\x98", 4, 4, 4, NULL) < 0);
        /* Boundaries that are valid. */
        EXPECT(!rejects("\"\xc2\x80\xdf\xbf\xe0\xa0\x80\xed\x9f\xbf\xee\x80\x80\xf0\x90\x80\x80"
                       "\xf4\x8f\xbf\xbf\""));
}

static void parse_rejects_trailing_and_syntax(void)
{
        static const char *const bad[] = {
                "", " ", "{} x", "{}{}", "{} {", "[1,]", "[,1]", "{\"a\":1,}", "{,}", "{\"a\"}",
                "{\"a\":}", "{\"a\" 1}", "{a:1}", "{'a':1}", "[1 2]", "[", "]", "{", "}", "tru",
                "nul", "truex", "True", "[1]]", "{\"a\":1}}", "\"a\" \"b\"", "/*c*/1", "[1,,2]",
                "{\"a\":1 \"b\":2}", "{1:2}",
        };
        for (unsigned i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
                EXPECT(rejects(bad[i]));
                if (!rejects(bad[i]))
                        fprintf(stderr, "  accepted \"%s\"\n", bad[i]);
        }
        size_t off = 99;
        EXPECT(parse_n("{} x", 4, 8, 8, &off) < 0);
        EXPECT_EQ(off, 3);
        EXPECT(parse_n("[1,]", 4, 8, 8, &off) < 0);
        EXPECT_EQ(off, 3);
        EXPECT(parse_n("", 0, 8, 8, &off) < 0);
        EXPECT_EQ(off, 0);
        /* A text that goes on past len is judged on its first len bytes only. */
        EXPECT(parse_n("[1,2]", 4, 8, 8, &off) < 0);
        EXPECT(off <= 4);
        EXPECT(parse_n("true", 3, 8, 8, NULL) < 0);
        EXPECT(parse_n("\"ab\"", 3, 8, 8, NULL) < 0);
        EXPECT(parse_n("12", 1, 8, 8, NULL) == 1);
        /* An embedded NUL is just a bad byte. */
        EXPECT(parse_n("{}\0", 3, 8, 8, NULL) < 0);
        EXPECT(parse_n("[\0]", 3, 8, 8, NULL) < 0);
}

static void parse_depth_limit(void)
{
        char s[256];
        for (unsigned d = 1; d <= 20; d++) {
                size_t n = 0;
                for (unsigned i = 0; i < d; i++)
                        s[n++] = '[';
                for (unsigned i = 0; i < d; i++)
                        s[n++] = ']';
                int r = parse_n(s, n, 64, 8, NULL);
                EXPECT(d <= 8 ? r == (int)d : r < 0);
        }
        /* Objects count as levels too. */
        EXPECT(parse_n("{\"a\":{\"b\":[1]}}", 15, 16, 3, NULL) == 6);
        EXPECT(parse_n("{\"a\":{\"b\":[1]}}", 15, 16, 2, NULL) < 0);
        /* Depth 0 refuses any container but still reads scalars. */
        EXPECT(parse_n("[]", 2, 4, 0, NULL) < 0);
        EXPECT(parse_n("7", 1, 4, 0, NULL) == 1);
        /* Any max_depth is capped at 64: 100 levels are refused. */
        char deep[200];
        memset(deep, '[', 100);
        memset(deep + 100, ']', 100);
        EXPECT(parse_n(deep, 200, 256, 1000, NULL) < 0);
        EXPECT(parse_n(deep + 36, 128, 256, 1000, NULL) == 64);
}

static void parse_token_limit(void)
{
        EXPECT(parse_n("[1,2,3]", 7, 4, 8, NULL) == 4);
        EXPECT(parse_n("[1,2,3]", 7, 3, 8, NULL) < 0);
        EXPECT(parse_n("{\"a\":1}", 7, 2, 8, NULL) < 0);
        EXPECT(parse_n("{\"a\":1}", 7, 3, 8, NULL) == 3);
        EXPECT(parse_n("1", 1, 0, 8, NULL) < 0);
        /* 1024 tokens fit, 1025 do not (an array of 1023 and 1024 zeros). */
        static char big[4 * 1100];
        size_t n = 0;
        big[n++] = '[';
        for (unsigned i = 0; i < 1024; i++) {
                if (i)
                        big[n++] = ',';
                big[n++] = '0';
        }
        big[n++] = ']';
        EXPECT(parse_n(big, n, JP_MAX_TOKENS, 8, NULL) < 0);
        EXPECT(parse_n(big, n, JP_MAX_TOKENS + 1, 8, NULL) == 1025);
        n = 0;
        big[n++] = '[';
        for (unsigned i = 0; i < 1023; i++) {
                if (i)
                        big[n++] = ',';
                big[n++] = '0';
        }
        big[n++] = ']';
        EXPECT(parse_n(big, n, JP_MAX_TOKENS, 8, NULL) == 1024);
        EXPECT_EQ(toks[0].size, 1023);
        EXPECT_EQ(toks[0].next, 1024);
}

static void parse_duplicate_keys(void)
{
        EXPECT(rejects("{\"a\":1,\"a\":2}"));
        EXPECT(rejects("{\"a\":1,\"b\":2,\"a\":3}"));
        EXPECT(rejects("{\"a\":{\"x\":1},\"b\":[1,2],\"a\":null}"));
        EXPECT(rejects("{\"v\":1,\"op\":\"x\",\"x\":{\"k\":1,\"k\":1}}"));
        /* Same key in different objects, and a key equal to a value, are fine. */
        EXPECT(!rejects("{\"a\":1,\"b\":{\"a\":2},\"c\":[{\"a\":3},{\"a\":4}]}"));
        EXPECT(!rejects("{\"a\":\"a\",\"b\":\"a\"}"));
        EXPECT(!rejects("{\"a\":1,\"ab\":2,\"b\":3,\"\":4}"));
        /* Compared unescaped (proto.h): an escaped spelling is the same key. */
        EXPECT(rejects("{\"a\":1,\"\\u0061\":2}"));
        EXPECT(rejects("{\"op\":\"info\",\"v\":1,\"\\u006fp\":\"set\"}"));
        EXPECT(rejects("{\"\\n\":1,\"\\u000a\":2}"));
        EXPECT(!rejects("{\"a\":1,\"\\u0062\":2,\"ab\":3,\"\\u0061\\u0062c\":4}"));
}

/* ---- access ------------------------------------------------------------------------ */

static void obj_find(void)
{
        const char *s = "{\"a\":[1,{\"z\":0}],\"b\":{\"c\":2},\"k\\u00e9y\":3,\"d\":\"x\"}";
        int n = parse(s);
        EXPECT(n > 0);
        const char *e = exact;
        int a = jp_obj_find(e, toks, 0, "a");
        EXPECT(a == 2 && toks[a].type == JP_ARRAY);
        int b = jp_obj_find(e, toks, 0, "b");
        EXPECT(b > 0 && toks[b].type == JP_OBJECT);
        int c = jp_obj_find(e, toks, b, "c");
        EXPECT(c > 0 && toks[c].type == JP_NUMBER);
        EXPECT(jp_obj_find(e, toks, 0, "c") == -1);  /* not a member of the outer object */
        EXPECT(jp_obj_find(e, toks, 0, "z") == -1);  /* nested in an array */
        int k = jp_obj_find(e, toks, 0, "k\xc3\xa9y"); /* found through its escape */
        EXPECT(k > 0 && toks[k].type == JP_NUMBER);
        int d = jp_obj_find(e, toks, 0, "d");
        EXPECT(d > 0 && toks[d].type == JP_STRING);
        EXPECT(jp_obj_find(e, toks, 0, "") == -1);
        EXPECT(jp_obj_find(e, toks, 0, "aa") == -1);
        EXPECT(jp_obj_find(e, toks, a, "a") == -1); /* not an object */
        EXPECT(jp_obj_find(e, toks, -1, "a") == -1);
        EXPECT(parse("{}") == 1);
        EXPECT(jp_obj_find(exact, toks, 0, "a") == -1);
}

static void str_eq(void)
{
        EXPECT(parse("[\"hello\",\"h\\u0065llo\",\"\",\"\\u00e9\",\"\\ud83d\\ude00\",1]") > 0);
        const char *e = exact;
        EXPECT(jp_str_eq(e, &toks[1], "hello"));
        EXPECT(!jp_str_eq(e, &toks[1], "hell"));
        EXPECT(!jp_str_eq(e, &toks[1], "hello!"));
        EXPECT(!jp_str_eq(e, &toks[1], ""));
        EXPECT(jp_str_eq(e, &toks[2], "hello"));
        EXPECT(jp_str_eq(e, &toks[3], ""));
        EXPECT(!jp_str_eq(e, &toks[3], "x"));
        EXPECT(jp_str_eq(e, &toks[4], "\xc3\xa9"));
        EXPECT(jp_str_eq(e, &toks[5], "\xf0\x9f\x98\x80"));
        EXPECT(!jp_str_eq(e, &toks[6], "1")); /* a number is no string */
}

static void str_copy(void)
{
        char out[16];
        EXPECT(parse("[\"abc\",\"a\\u0000b\",\"\\n\",\"\\u00e9\",\"\",\"\\ud83d\\ude00\",true]") > 0);
        const char *e = exact;
        EXPECT(jp_str_copy(e, &toks[1], out, 4) == 3 && strcmp(out, "abc") == 0);
        EXPECT(jp_str_copy(e, &toks[1], out, 3) == -1); /* no room for the NUL */
        EXPECT(jp_str_copy(e, &toks[1], out, 1) == -1);
        EXPECT(jp_str_copy(e, &toks[1], out, 0) == -1);
        EXPECT(jp_str_copy(e, &toks[2], out, sizeof(out)) == -1); /* \u0000 */
        EXPECT(jp_str_copy(e, &toks[3], out, 2) == 1 && out[0] == '\n' && out[1] == '\0');
        EXPECT(jp_str_copy(e, &toks[4], out, 3) == 2 && strcmp(out, "\xc3\xa9") == 0);
        EXPECT(jp_str_copy(e, &toks[4], out, 2) == -1); /* the 2-byte sequence is not cut */
        EXPECT(jp_str_copy(e, &toks[5], out, 1) == 0 && out[0] == '\0');
        EXPECT(jp_str_copy(e, &toks[6], out, 5) == 4);
        EXPECT(jp_str_copy(e, &toks[6], out, 4) == -1);
        EXPECT(jp_str_copy(e, &toks[7], out, sizeof(out)) == -1); /* not a string */
        /* Escapes only shrink: the copy of n raw bytes fits in n + 1. */
        EXPECT(parse("\"\\\"\\\\\\/\\b\\f\\n\\r\\t\"") == 1);
        EXPECT(jp_str_copy(exact, &toks[0], out, 9) == 8);
        EXPECT(memcmp(out, "\"\\/\b\f\n\r\t", 9) == 0);
}

static bool u64_of(const char *s, uint64_t *v)
{
        if (parse(s) != 1)
                return false;
        return jp_get_u64(exact, &toks[0], v);
}

static bool i64_of(const char *s, int64_t *v)
{
        if (parse(s) != 1)
                return false;
        return jp_get_i64(exact, &toks[0], v);
}

static void get_integers(void)
{
        uint64_t u = 1;
        int64_t i = 1;
        EXPECT(u64_of("0", &u) && u == 0);
        EXPECT(u64_of("42", &u) && u == 42);
        EXPECT(u64_of("18446744073709551615", &u) && u == UINT64_MAX);
        EXPECT(!u64_of("18446744073709551616", &u));
        EXPECT(!u64_of("99999999999999999999", &u));
        EXPECT(!u64_of("-1", &u));
        EXPECT(!u64_of("-0", &u));
        EXPECT(!u64_of("1.0", &u));
        EXPECT(!u64_of("1e3", &u));
        EXPECT(!u64_of("\"5\"", &u));
        EXPECT(!u64_of("true", &u));
        EXPECT(i64_of("0", &i) && i == 0);
        EXPECT(i64_of("-0", &i) && i == 0);
        EXPECT(i64_of("-1", &i) && i == -1);
        EXPECT(i64_of("9223372036854775807", &i) && i == INT64_MAX);
        EXPECT(!i64_of("9223372036854775808", &i));
        EXPECT(i64_of("-9223372036854775808", &i) && i == INT64_MIN);
        EXPECT(!i64_of("-9223372036854775809", &i));
        EXPECT(!i64_of("-18446744073709551616", &i));
        EXPECT(!i64_of("18446744073709551615", &i));
        EXPECT(!i64_of("-1.5", &i));
        EXPECT(!i64_of("2E2", &i));
        EXPECT(!i64_of("null", &i));
        /* Failures leave the output alone. */
        u = 7;
        EXPECT(!u64_of("-3", &u) && u == 7);
}

/* ---- writing ----------------------------------------------------------------------- */

static void writer_commas_and_nesting(void)
{
        jp_writer_t w;
        jp_w_init(&w, wbuf, sizeof(wbuf));
        jp_w_obj(&w);
        jp_w_key(&w, "a");
        jp_w_u64(&w, 1);
        jp_w_key(&w, "b");
        jp_w_arr(&w);
        jp_w_bool(&w, true);
        jp_w_bool(&w, false);
        jp_w_null(&w);
        jp_w_str(&w, "x");
        jp_w_str(&w, NULL);
        jp_w_arr(&w);
        jp_w_arr_end(&w);
        jp_w_obj(&w);
        jp_w_obj_end(&w);
        jp_w_arr_end(&w);
        jp_w_key(&w, "c");
        jp_w_obj(&w);
        jp_w_key(&w, "d");
        jp_w_i64(&w, -5);
        jp_w_key(&w, "e");
        jp_w_raw(&w, "[1,2]", 5);
        jp_w_obj_end(&w);
        jp_w_key(&w, "f");
        jp_w_strn(&w, "xyz", 2);
        jp_w_obj_end(&w);
        EXPECT(!w.overflow);
        EXPECT_STR(wstr(&w), "{\"a\":1,\"b\":[true,false,null,\"x\",null,[],{}],\"c\":{\"d\":-5,"
                            "\"e\":[1,2]},\"f\":\"xy\"}");
        EXPECT(parse(wstr(&w)) > 0);

        /* Deep nesting (the comma state is per level). */
        jp_w_init(&w, wbuf, sizeof(wbuf));
        for (int d = 0; d < 12; d++) {
                jp_w_arr(&w);
                jp_w_u64(&w, (uint64_t)d);
        }
        for (int d = 0; d < 12; d++) {
                jp_w_arr_end(&w);
                jp_w_u64(&w, 9);
        }
        char want[128];
        size_t k = 0;
        for (int d = 0; d < 12; d++)
                k += (size_t)snprintf(want + k, sizeof(want) - k, "%s[%d", d ? "," : "", d);
        for (int d = 0; d < 11; d++)
                k += (size_t)snprintf(want + k, sizeof(want) - k, "],9");
        snprintf(want + k, sizeof(want) - k, "]9");
        EXPECT_STR(wstr(&w), want);

        /* Extremes of the integers. */
        jp_w_init(&w, wbuf, sizeof(wbuf));
        jp_w_arr(&w);
        jp_w_u64(&w, UINT64_MAX);
        jp_w_i64(&w, INT64_MIN);
        jp_w_i64(&w, INT64_MAX);
        jp_w_u64(&w, 0);
        jp_w_i64(&w, 0);
        jp_w_arr_end(&w);
        EXPECT_STR(wstr(&w), "[18446744073709551615,-9223372036854775808,9223372036854775807,0,0]");
        EXPECT(parse(wstr(&w)) == 6);
        int64_t i;
        EXPECT(jp_get_i64(exact, &toks[2], &i) && i == INT64_MIN);
}

static void writer_escaping(void)
{
        jp_writer_t w;
        jp_w_init(&w, wbuf, sizeof(wbuf));
        jp_w_obj(&w);
        jp_w_key(&w, "k\"\n");
        jp_w_str(&w, "q\"b\\s/\n\r\t\b\f\x01\x1f\x7f\xc3\xa9");
        jp_w_key(&w, "nul");
        jp_w_strn(&w, "a\0b", 3);
        jp_w_obj_end(&w);
        EXPECT(!w.overflow);
        EXPECT_STR(wstr(&w), "{\"k\\\"\\n\":\"q\\\"b\\\\s/\\n\\r\\t\\u0008\\u000c\\u0001\\u001f"
                            "\x7f\xc3\xa9\",\"nul\":\"a\\u0000b\"}");
        /* It reads back to the same bytes. */
        EXPECT(parse(wstr(&w)) == 5);
        char out[64];
        EXPECT(jp_str_copy(exact, &toks[2], out, sizeof(out)) == 16);
        EXPECT(strcmp(out, "q\"b\\s/\n\r\t\b\f\x01\x1f\x7f\xc3\xa9") == 0);
        EXPECT(jp_str_eq(exact, &toks[1], "k\"\n"));
        /* Every control character is escaped. */
        char all[32];
        for (int c = 0; c < 32; c++)
                all[c] = (char)c;
        jp_w_init(&w, wbuf, sizeof(wbuf));
        jp_w_strn(&w, all, 32);
        EXPECT(parse(wstr(&w)) == 1);
        for (size_t k = 0; k < w.len; k++)
                EXPECT((unsigned char)w.buf[k] >= 0x20);
}

static void writer_overflow(void)
{
        jp_writer_t w;
        /* Exactly fitting is no overflow. */
        jp_w_init(&w, wbuf, 9);
        jp_w_obj(&w);
        jp_w_key(&w, "abc");
        jp_w_u64(&w, 1);
        jp_w_obj_end(&w);
        EXPECT(!w.overflow);
        EXPECT_EQ(w.len, 9);
        /* One byte less: flagged, and nothing is written past cap. */
        memset(wbuf, '#', sizeof(wbuf));
        jp_w_init(&w, wbuf, 8);
        jp_w_obj(&w);
        jp_w_key(&w, "abc");
        jp_w_u64(&w, 1);
        jp_w_obj_end(&w);
        EXPECT(w.overflow);
        EXPECT(w.len <= 8);
        EXPECT(wbuf[8] == '#');
        /* Once overflowed, len stops growing even if later pieces would fit. */
        jp_w_init(&w, wbuf, 4);
        jp_w_str(&w, "toolong");
        size_t len = w.len;
        EXPECT(w.overflow);
        jp_w_null(&w);
        jp_w_u64(&w, 1);
        EXPECT_EQ(w.len, len);
        EXPECT(w.overflow);
        /* Escapes that do not fit. */
        memset(wbuf, '#', sizeof(wbuf));
        jp_w_init(&w, wbuf, 5);
        jp_w_str(&w, "\x01");
        EXPECT(w.overflow && wbuf[5] == '#');
        /* A zero-capacity writer. */
        jp_w_init(&w, wbuf, 0);
        jp_w_obj(&w);
        EXPECT(w.overflow && w.len == 0);
        /* reserve / commit */
        jp_w_init(&w, wbuf, 16);
        jp_w_arr(&w);
        jp_w_u64(&w, 1);
        char *p = jp_w_reserve(&w, 3);
        EXPECT(p != NULL);
        if (p != NULL) {
                memcpy(p, "234", 3);
                jp_w_commit(&w, 3);
        }
        jp_w_arr_end(&w);
        EXPECT_STR(wstr(&w), "[1,234]");
        EXPECT(jp_w_reserve(&w, 100) == NULL);
        EXPECT(w.overflow);
}

/* ---- messages ---------------------------------------------------------------------- */

static void request_parse_valid(void)
{
        jp_request_t r;
        EXPECT(req_parse("{\"v\":1,\"id\":7,\"op\":\"get\",\"names\":[\"a\"]}", &r) == JP_OK);
        EXPECT(r.id == 7 && r.op == JP_OP_GET && r.args == 0 && r.ntoks == 10);
        EXPECT(req_parse("{\"op\":\"hello\",\"v\":1}", &r) == JP_OK);
        EXPECT(r.id == 0 && r.op == JP_OP_HELLO);
        EXPECT(req_parse(" {\"v\":1,\"id\":18446744073709551615,\"op\":\"h\\u0065llo\"} ", &r) ==
              JP_OK);
        EXPECT(r.id == UINT64_MAX && r.op == JP_OP_HELLO);
        /* Unknown members are ignored. */
        EXPECT(req_parse("{\"v\":1,\"op\":\"info\",\"future\":{\"x\":[1,2]}}", &r) == JP_OK);
        EXPECT(r.op == JP_OP_INFO);
        static const char *const ops[] = {"hello", "info", "get", "set", "list",
                                           "stats", "purge", "decay-all", "prof"};
        for (unsigned i = 0; i < JP_NOPS; i++) {
                char s[96];
                snprintf(s, sizeof(s), "{\"v\":1,\"id\":%u,\"op\":\"%s\"}", i, ops[i]);
                EXPECT(req_parse(s, &r) == JP_OK);
                EXPECT(r.op == (enum jp_op)i && r.id == i);
                EXPECT_STR(jp_op_name((enum jp_op)i), ops[i]);
        }
        EXPECT_STR(jp_op_name(JP_NOPS), "?");
}

static void request_parse_errors(void)
{
        jp_request_t r;
        /* Version. */
        EXPECT(req_parse("{\"v\":2,\"id\":5,\"op\":\"hello\"}", &r) == JP_ERR_UNSUPPORTED_VERSION);
        EXPECT(r.id == 5);
        EXPECT(req_parse("{\"v\":0,\"op\":\"hello\"}", &r) == JP_ERR_UNSUPPORTED_VERSION);
        EXPECT(req_parse("{\"v\":18446744073709551615,\"op\":\"hello\"}", &r) ==
              JP_ERR_UNSUPPORTED_VERSION);
        EXPECT(req_parse("{\"id\":5,\"op\":\"hello\"}", &r) == JP_ERR_BAD_REQUEST);
        EXPECT(r.id == 5);
        EXPECT(req_parse("{\"v\":\"1\",\"op\":\"hello\"}", &r) == JP_ERR_BAD_REQUEST);
        EXPECT(req_parse("{\"v\":1.0,\"op\":\"hello\"}", &r) == JP_ERR_BAD_REQUEST);
        EXPECT(req_parse("{\"v\":-1,\"op\":\"hello\"}", &r) == JP_ERR_BAD_REQUEST);
        EXPECT(req_parse("{\"v\":null,\"op\":\"hello\"}", &r) == JP_ERR_BAD_REQUEST);
        /* Operation. */
        EXPECT(req_parse("{\"v\":1,\"id\":9,\"op\":\"frob\"}", &r) == JP_ERR_UNKNOWN_OP);
        EXPECT(r.id == 9 && r.op == JP_NOPS);
        EXPECT(req_parse("{\"v\":1,\"op\":\"HELLO\"}", &r) == JP_ERR_UNKNOWN_OP);
        EXPECT(req_parse("{\"v\":1,\"op\":\"hello \"}", &r) == JP_ERR_UNKNOWN_OP);
        EXPECT(req_parse("{\"v\":1,\"op\":\"\"}", &r) == JP_ERR_UNKNOWN_OP);
        EXPECT(req_parse("{\"v\":1,\"id\":3}", &r) == JP_ERR_BAD_REQUEST);
        EXPECT(r.id == 3);
        EXPECT(req_parse("{\"v\":1,\"op\":5}", &r) == JP_ERR_BAD_REQUEST);
        EXPECT(req_parse("{\"v\":1,\"op\":[\"hello\"]}", &r) == JP_ERR_BAD_REQUEST);
        /* Id. */
        EXPECT(req_parse("{\"v\":1,\"id\":-1,\"op\":\"hello\"}", &r) == JP_ERR_BAD_REQUEST);
        EXPECT(req_parse("{\"v\":1,\"id\":\"7\",\"op\":\"hello\"}", &r) == JP_ERR_BAD_REQUEST);
        EXPECT(req_parse("{\"v\":1,\"id\":1.5,\"op\":\"hello\"}", &r) == JP_ERR_BAD_REQUEST);
        EXPECT(req_parse("{\"v\":1,\"id\":18446744073709551616,\"op\":\"hello\"}", &r) ==
              JP_ERR_BAD_REQUEST);
        /* Not one well-formed object. */
        EXPECT(req_parse("[1]", &r) == JP_ERR_BAD_JSON);
        EXPECT(req_parse("\"hello\"", &r) == JP_ERR_BAD_JSON);
        EXPECT(req_parse("", &r) == JP_ERR_BAD_JSON);
        EXPECT(req_parse("{\"v\":1,\"op\":\"hello\"", &r) == JP_ERR_BAD_JSON);
        EXPECT(req_parse("{\"v\":1,\"op\":\"hello\"}x", &r) == JP_ERR_BAD_JSON);
        EXPECT(req_parse("{\"v\":1,\"op\":\"hello\",\"op\":\"set\"}", &r) == JP_ERR_BAD_JSON);
        EXPECT(r.args == -1 && r.id == 0);
        /* Depth 8 is the limit of a request (the envelope is level 1). */
        EXPECT(req_parse("{\"v\":1,\"op\":\"hello\",\"x\":[[[[[[[1]]]]]]]}", &r) == JP_OK);
        EXPECT(req_parse("{\"v\":1,\"op\":\"hello\",\"x\":[[[[[[[[1]]]]]]]]}", &r) ==
              JP_ERR_BAD_JSON);
}

static void request_token_limit(void)
{
        /* {"v":1,"op":"hello","x":[0,...]}: 7 tokens + the zeros. */
        static char s[8192];
        jp_request_t r;
        for (unsigned zeros = 1017; zeros <= 1018; zeros++) {
                size_t n = (size_t)snprintf(s, sizeof(s), "{\"v\":1,\"op\":\"hello\",\"x\":[");
                for (unsigned i = 0; i < zeros; i++) {
                        if (i)
                                s[n++] = ',';
                        s[n++] = '0';
                }
                s[n++] = ']';
                s[n++] = '}';
                s[n] = '\0';
                enum jp_err e = req_parse(s, &r);
                EXPECT(zeros == 1017 ? e == JP_OK && r.ntoks == 1024 : e == JP_ERR_BAD_JSON);
        }
}

static void request_build_round_trip(void)
{
        jp_writer_t w;
        jp_w_init(&w, wbuf, sizeof(wbuf));
        jp_request_begin(&w, 42, JP_OP_GET);
        jp_w_key(&w, "names");
        jp_w_arr(&w);
        jp_w_str(&w, "stats.allocated");
        jp_w_str(&w, "opt.narenas");
        jp_w_arr_end(&w);
        jp_request_end(&w);
        EXPECT(!w.overflow);
        EXPECT_STR(wstr(&w), "{\"v\":1,\"id\":42,\"op\":\"get\",\"names\":[\"stats.allocated\","
                            "\"opt.narenas\"]}");
        jp_request_t r;
        EXPECT(req_parse(wstr(&w), &r) == JP_OK);
        EXPECT(r.id == 42 && r.op == JP_OP_GET);
        int a = jp_obj_find(exact, toks, r.args, "names");
        EXPECT(a > 0 && toks[a].type == JP_ARRAY && toks[a].size == 2);
}

/* ---- request builders: each request built, then read back by jp_request_parse --------- */

/* The request's argument keys are exactly keys[0..n) beside "v", "id" and "op": spelled
 * here as docs/protocol.md spells them, not with JP_ARG_*, so a builder (or a constant)
 * that writes another key, or one key too many, fails. */
static bool args_exactly(const jp_request_t *r, const char *const *keys, unsigned n)
{
        if (toks[r->args].size != 3 + n)
                return false;
        uint32_t i = (uint32_t)r->args + 1;
        for (uint32_t k = 0; k < toks[r->args].size; k++, i = toks[toks[i].next].next) {
                bool known = jp_str_eq(exact, &toks[i], "v") || jp_str_eq(exact, &toks[i], "id") ||
                             jp_str_eq(exact, &toks[i], "op");
                for (unsigned j = 0; j < n && !known; j++)
                        known = jp_str_eq(exact, &toks[i], keys[j]);
                if (!known)
                        return false;
        }
        return true;
}

/* Ends the request in w, parses it back into r (op checked) and returns whether it did. */
static bool built(jp_writer_t *w, enum jp_op op, jp_request_t *r)
{
        jp_request_end(w);
        return !w->overflow && req_parse(wstr(w), r) == JP_OK && r->op == op && r->id == 9;
}

static jp_writer_t *begin(jp_writer_t *w, enum jp_op op)
{
        jp_w_init(w, wbuf, sizeof(wbuf));
        jp_request_begin(w, 9, op);
        return w;
}

static int64_t arg_i64(const jp_request_t *r, const char *key)
{
        int a = jp_obj_find(exact, toks, r->args, key);
        int64_t v = INT64_MIN;
        return a >= 0 && jp_get_i64(exact, &toks[a], &v) ? v : INT64_MIN;
}

static bool arg_is(const jp_request_t *r, const char *key, uint8_t type, const char *str)
{
        int a = jp_obj_find(exact, toks, r->args, key);
        return a >= 0 && toks[a].type == type && (str == NULL || jp_str_eq(exact, &toks[a], str));
}

static void req_checker_sees_wrong_keys(void)
{
        /* The checker itself: a misspelled, a missing or an extra key is caught. */
        static const char *const decay[] = {"dirty_ms", "muzzy_ms"};
        jp_request_t r;
        EXPECT(req_parse("{\"v\":1,\"id\":9,\"op\":\"decay-all\",\"dirty_ms\":1,\"muzzy_ms\":2}",
                         &r) == JP_OK);
        EXPECT(args_exactly(&r, decay, 2));
        EXPECT(req_parse("{\"v\":1,\"id\":9,\"op\":\"decay-all\",\"dirty_ms\":1,\"muzzy\":2}",
                         &r) == JP_OK);
        EXPECT(!args_exactly(&r, decay, 2));
        EXPECT(req_parse("{\"v\":1,\"id\":9,\"op\":\"decay-all\",\"dirty_ms\":1}", &r) == JP_OK);
        EXPECT(!args_exactly(&r, decay, 2));
        EXPECT(args_exactly(&r, decay, 1));
        EXPECT(req_parse("{\"v\":1,\"id\":9,\"op\":\"decay-all\",\"dirty_ms\":1,\"x\":2}", &r) ==
               JP_OK);
        EXPECT(!args_exactly(&r, decay, 1));
}

static void req_get(void)
{
        static const char *const keys[] = {"names"};
        static const char *const names[] = {"stats.allocated", "opt.narenas", "arena.0.\"q\""};
        jp_writer_t w;
        jp_request_t r;
        jp_req_get(begin(&w, JP_OP_GET), names, 3);
        EXPECT(built(&w, JP_OP_GET, &r) && args_exactly(&r, keys, 1));
        int a = jp_obj_find(exact, toks, r.args, "names");
        EXPECT(a > 0 && toks[a].type == JP_ARRAY && toks[a].size == 3);
        for (uint32_t k = 0, i = (uint32_t)a + 1; a > 0 && k < 3; k++, i = toks[i].next)
                EXPECT(jp_str_eq(exact, &toks[i], names[k]));
        /* One at a time: the same text. */
        char once[sizeof(wbuf)];
        memcpy(once, wstr(&w), w.len + 1);
        begin(&w, JP_OP_GET);
        jp_req_get_begin(&w);
        for (unsigned k = 0; k < 3; k++)
                jp_req_get_name(&w, names[k]);
        jp_req_get_end(&w);
        EXPECT(built(&w, JP_OP_GET, &r));
        EXPECT_STR(wstr(&w), once);
        jp_req_get(begin(&w, JP_OP_GET), names, 0);
        EXPECT(built(&w, JP_OP_GET, &r) && args_exactly(&r, keys, 1));
        EXPECT(arg_is(&r, "names", JP_ARRAY, NULL));
}

static void req_set(void)
{
        static const char *const keys[] = {"values"};
        jp_writer_t w;
        jp_request_t r;
        jp_req_set_begin(begin(&w, JP_OP_SET));
        jp_req_set_bool(&w, "background_thread", true);
        jp_req_set_u64(&w, "arena.0.retain_grow_limit", UINT64_MAX);
        jp_req_set_i64(&w, "arenas.dirty_decay_ms", -1);
        jp_req_set_str(&w, "prof.thread_active_init", "x\"y");
        jp_req_set_str(&w, "thread.prof.name", NULL);
        jp_req_set_null(&w, "arena.0.purge");
        jp_req_set_end(&w);
        EXPECT(built(&w, JP_OP_SET, &r) && args_exactly(&r, keys, 1));
        int o = jp_obj_find(exact, toks, r.args, "values");
        EXPECT(o > 0 && toks[o].type == JP_OBJECT && toks[o].size == 6);
        if (o <= 0)
                return;
        uint64_t u = 0;
        int64_t i = 0;
        int v = jp_obj_find(exact, toks, o, "background_thread");
        EXPECT(v > 0 && toks[v].type == JP_TRUE);
        v = jp_obj_find(exact, toks, o, "arena.0.retain_grow_limit");
        EXPECT(v > 0 && jp_get_u64(exact, &toks[v], &u) && u == UINT64_MAX);
        v = jp_obj_find(exact, toks, o, "arenas.dirty_decay_ms");
        EXPECT(v > 0 && jp_get_i64(exact, &toks[v], &i) && i == -1);
        v = jp_obj_find(exact, toks, o, "prof.thread_active_init");
        EXPECT(v > 0 && jp_str_eq(exact, &toks[v], "x\"y"));
        v = jp_obj_find(exact, toks, o, "thread.prof.name");
        EXPECT(v > 0 && toks[v].type == JP_NULL);
        v = jp_obj_find(exact, toks, o, "arena.0.purge");
        EXPECT(v > 0 && toks[v].type == JP_NULL);
        /* The names in the order written (set applies them in order). */
        EXPECT(jp_str_eq(exact, &toks[o + 1], "background_thread"));
}

static void req_list_stats(void)
{
        static const char *const prefix[] = {"prefix"}, *const full[] = {"full"};
        jp_writer_t w;
        jp_request_t r;
        jp_req_list(begin(&w, JP_OP_LIST), "arena.0.");
        EXPECT(built(&w, JP_OP_LIST, &r) && args_exactly(&r, prefix, 1));
        EXPECT(arg_is(&r, "prefix", JP_STRING, "arena.0."));
        jp_req_list(begin(&w, JP_OP_LIST), NULL);
        EXPECT(built(&w, JP_OP_LIST, &r) && args_exactly(&r, prefix, 0));
        jp_req_stats(begin(&w, JP_OP_STATS), true);
        EXPECT(built(&w, JP_OP_STATS, &r) && args_exactly(&r, full, 1));
        EXPECT(arg_is(&r, "full", JP_TRUE, NULL));
        jp_req_stats(begin(&w, JP_OP_STATS), false);
        EXPECT(built(&w, JP_OP_STATS, &r) && args_exactly(&r, full, 1));
        EXPECT(arg_is(&r, "full", JP_FALSE, NULL));
}

static void req_purge(void)
{
        static const char *const arena[] = {"arena"}, *const pressure[] = {"pressure"};
        jp_writer_t w;
        jp_request_t r;
        jp_req_purge(begin(&w, JP_OP_PURGE), 3, false);
        EXPECT(built(&w, JP_OP_PURGE, &r) && args_exactly(&r, arena, 1));
        EXPECT(arg_i64(&r, "arena") == 3);
        jp_req_purge(begin(&w, JP_OP_PURGE), 0, false);
        EXPECT(built(&w, JP_OP_PURGE, &r) && arg_i64(&r, "arena") == 0);
        jp_req_purge(begin(&w, JP_OP_PURGE), JP_ARENA_ALL, false);
        EXPECT(built(&w, JP_OP_PURGE, &r) && args_exactly(&r, arena, 0));
        EXPECT(JP_ARENA_ALL == 4096); /* docs/protocol.md: the server's default */
        jp_req_purge(begin(&w, JP_OP_PURGE), JP_ARENA_ALL, true);
        EXPECT(built(&w, JP_OP_PURGE, &r) && args_exactly(&r, pressure, 1));
        EXPECT(arg_is(&r, "pressure", JP_TRUE, NULL));
}

static void req_decay_all(void)
{
        static const char *const keys[] = {"dirty_ms", "muzzy_ms"};
        jp_writer_t w;
        jp_request_t r;
        jp_req_decay_all(begin(&w, JP_OP_DECAY_ALL), 5000, true, -1);
        EXPECT(built(&w, JP_OP_DECAY_ALL, &r) && args_exactly(&r, keys, 2));
        EXPECT(arg_i64(&r, "dirty_ms") == 5000 && arg_i64(&r, "muzzy_ms") == -1);
        jp_req_decay_all(begin(&w, JP_OP_DECAY_ALL), 0, false, 7);
        EXPECT(built(&w, JP_OP_DECAY_ALL, &r) && args_exactly(&r, keys, 1));
        EXPECT(arg_i64(&r, "dirty_ms") == 0);
        jp_req_decay_all(begin(&w, JP_OP_DECAY_ALL), INT64_MIN, false, 0);
        EXPECT(built(&w, JP_OP_DECAY_ALL, &r) && arg_i64(&r, "dirty_ms") == INT64_MIN);
}

static void req_prof(void)
{
        static const char *const keys[] = {"action", "lg_sample"};
        static const char *const names[] = {"on", "off", "status", "reset", "dump"};
        jp_writer_t w;
        jp_request_t r;
        for (unsigned a = 0; a < JP_PROF_NACTIONS; a++) {
                EXPECT_STR(jp_prof_action_name((enum jp_prof_action)a), names[a]);
                EXPECT(jp_prof_action_parse(names[a]) == (enum jp_prof_action)a);
                jp_req_prof(begin(&w, JP_OP_PROF), (enum jp_prof_action)a, false, 0);
                EXPECT(built(&w, JP_OP_PROF, &r) && args_exactly(&r, keys, 1));
                EXPECT(arg_is(&r, "action", JP_STRING, names[a]));
        }
        EXPECT(jp_prof_action_parse("dumps") == JP_PROF_NACTIONS);
        EXPECT(jp_prof_action_parse("") == JP_PROF_NACTIONS);
        EXPECT(jp_prof_action_parse(NULL) == JP_PROF_NACTIONS);
        EXPECT_STR(jp_prof_action_name(JP_PROF_NACTIONS), "?");
        jp_req_prof(begin(&w, JP_OP_PROF), JP_PROF_ON, true, 19);
        EXPECT(built(&w, JP_OP_PROF, &r) && args_exactly(&r, keys, 2));
        EXPECT(arg_is(&r, "action", JP_STRING, "on") && arg_i64(&r, "lg_sample") == 19);
}

static void req_overflow(void)
{
        /* A builder past the end of the buffer: reported once, like any writer. */
        char small[40];
        jp_writer_t w;
        jp_w_init(&w, small, sizeof(small));
        jp_request_begin(&w, 9, JP_OP_DECAY_ALL);
        jp_req_decay_all(&w, 1000000, true, 1000000);
        jp_request_end(&w);
        EXPECT(w.overflow && w.len <= sizeof(small));
}

/* ---- the readers: what a builder writes reads back the same, and every argument the
 * protocol does not allow is refused ---------------------------------------------------- */

/* Reads the arguments of request text t (parsed first); the reader's answer. */
static enum jp_err read_args(const char *t, jp_args_t *a)
{
        jp_request_t r;
        const char *msg = "unset";
        if (req_parse(t, &r) != JP_OK)
                return JP_NERRS;
        enum jp_err e = jp_args_read(exact, toks, &r, a, &msg);
        /* A refusal always says why; a success says nothing. */
        if ((e == JP_OK) != (msg == NULL))
                return JP_NERRS;
        return e;
}

static enum jp_err read_built(jp_writer_t *w, jp_args_t *a)
{
        jp_request_end(w);
        return w->overflow ? JP_NERRS : read_args(wstr(w), a);
}

static void args_roundtrip(void)
{
        static const char *const names[] = {"stats.allocated", "arena.0.\"q\"", "opt.junk"};
        jp_writer_t w;
        jp_args_t a;
        jp_names_iter_t it;
        int n, v;
        unsigned k = 0;
        char name[JP_NAME_MAX];

        jp_req_get(begin(&w, JP_OP_GET), names, 3);
        EXPECT(read_built(&w, &a) == JP_OK && a.names > 0);
        jp_names_begin(&it, toks, a.names);
        for (; jp_names_next(&it, &n, &v); k++) {
                EXPECT(k < 3 && v == -1);
                EXPECT(jp_str_copy(exact, &toks[n], name, sizeof(name)) > 0);
                EXPECT_STR(name, k < 3 ? names[k] : "");
        }
        EXPECT(k == 3);

        jp_req_set_begin(begin(&w, JP_OP_SET));
        jp_req_set_bool(&w, "background_thread", true);
        jp_req_set_i64(&w, "arenas.dirty_decay_ms", -1);
        jp_req_set_null(&w, "arena.0.purge");
        jp_req_set_end(&w);
        EXPECT(read_built(&w, &a) == JP_OK && a.names > 0);
        jp_names_begin(&it, toks, a.names);
        static const uint8_t types[] = {JP_TRUE, JP_NUMBER, JP_NULL};
        for (k = 0; jp_names_next(&it, &n, &v); k++)
                EXPECT(k < 3 && v == n + 1 && toks[v].type == types[k]);
        EXPECT(k == 3);

        jp_req_list(begin(&w, JP_OP_LIST), "arena.0.\\");
        EXPECT(read_built(&w, &a) == JP_OK);
        EXPECT_STR(a.prefix, "arena.0.\\");
        jp_req_list(begin(&w, JP_OP_LIST), NULL);
        EXPECT(read_built(&w, &a) == JP_OK && a.prefix[0] == '\0' && a.names == -1);

        jp_req_stats(begin(&w, JP_OP_STATS), true);
        EXPECT(read_built(&w, &a) == JP_OK && a.full);
        jp_req_stats(begin(&w, JP_OP_STATS), false);
        EXPECT(read_built(&w, &a) == JP_OK && !a.full);

        jp_req_purge(begin(&w, JP_OP_PURGE), 3, false);
        EXPECT(read_built(&w, &a) == JP_OK && a.arena == 3 && !a.pressure);
        jp_req_purge(begin(&w, JP_OP_PURGE), JP_ARENA_ALL, true);
        EXPECT(read_built(&w, &a) == JP_OK && a.arena == JP_ARENA_ALL && a.pressure);

        jp_req_decay_all(begin(&w, JP_OP_DECAY_ALL), 5000, true, -1);
        EXPECT(read_built(&w, &a) == JP_OK && a.dirty_ms == 5000 && a.has_muzzy &&
               a.muzzy_ms == -1);
        jp_req_decay_all(begin(&w, JP_OP_DECAY_ALL), 0, false, 7);
        EXPECT(read_built(&w, &a) == JP_OK && a.dirty_ms == 0 && !a.has_muzzy);

        for (unsigned act = 0; act < JP_PROF_NACTIONS; act++) {
                jp_req_prof(begin(&w, JP_OP_PROF), (enum jp_prof_action)act, act == 0, 19);
                EXPECT(read_built(&w, &a) == JP_OK && a.action == (enum jp_prof_action)act);
                EXPECT(a.has_lg == (act == 0) && (act != 0 || a.lg_sample == 19));
        }
        jp_req_prof(begin(&w, JP_OP_PROF), JP_PROF_RESET, true, 63);
        EXPECT(read_built(&w, &a) == JP_OK && a.lg_sample == 63);

        /* No arguments: the defaults. */
        EXPECT(read_args("{\"v\":1,\"op\":\"hello\",\"x\":[1]}", &a) == JP_OK);
        EXPECT(a.names == -1 && a.arena == JP_ARENA_ALL && a.action == JP_PROF_NACTIONS);
        EXPECT(read_args("{\"v\":1,\"op\":\"purge\",\"unknown\":true}", &a) == JP_OK);
        EXPECT(a.arena == JP_ARENA_ALL && !a.pressure);
}

static void args_refused(void)
{
        static const char *const bad[] = {
                "{\"v\":1,\"op\":\"get\"}",
                "{\"v\":1,\"op\":\"get\",\"names\":\"stats.allocated\"}",
                "{\"v\":1,\"op\":\"get\",\"names\":[1]}",
                "{\"v\":1,\"op\":\"get\",\"names\":[\"a\\u0000b\"]}",
                "{\"v\":1,\"op\":\"get\",\"values\":{}}",
                "{\"v\":1,\"op\":\"set\",\"values\":[\"opt.junk\"]}",
                "{\"v\":1,\"op\":\"set\",\"names\":{}}",
                "{\"v\":1,\"op\":\"list\",\"prefix\":7}",
                "{\"v\":1,\"op\":\"list\",\"prefix\":null}",
                "{\"v\":1,\"op\":\"stats\",\"full\":1}",
                "{\"v\":1,\"op\":\"stats\",\"full\":\"true\"}",
                "{\"v\":1,\"op\":\"purge\",\"arena\":-1}",
                "{\"v\":1,\"op\":\"purge\",\"arena\":4097}",
                "{\"v\":1,\"op\":\"purge\",\"arena\":1.5}",
                "{\"v\":1,\"op\":\"purge\",\"pressure\":\"yes\"}",
                "{\"v\":1,\"op\":\"decay-all\"}",
                "{\"v\":1,\"op\":\"decay-all\",\"dirty_ms\":-2}",
                "{\"v\":1,\"op\":\"decay-all\",\"dirty_ms\":\"10\"}",
                "{\"v\":1,\"op\":\"decay-all\",\"dirty_ms\":0,\"muzzy_ms\":null}",
                "{\"v\":1,\"op\":\"decay-all\",\"muzzy_ms\":0}",
                "{\"v\":1,\"op\":\"prof\"}",
                "{\"v\":1,\"op\":\"prof\",\"action\":\"dumps\"}",
                "{\"v\":1,\"op\":\"prof\",\"action\":\"on\",\"lg_sample\":64}",
                "{\"v\":1,\"op\":\"prof\",\"action\":\"on\",\"lg_sample\":-1}",
                "{\"v\":1,\"op\":\"prof\",\"action\":true}",
        };
        jp_args_t a;
        for (unsigned i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
                enum jp_err e = read_args(bad[i], &a);
                if (e != JP_ERR_BAD_REQUEST)
                        fprintf(stderr, "# accepted or misread: %s\n", bad[i]);
                EXPECT(e == JP_ERR_BAD_REQUEST);
        }
        /* The limits themselves: 256 names, a name of 255 bytes; one more of each is out. */
        static char big[JP_REQ_MAX];
        for (unsigned count = 256; count <= 257; count++) {
                size_t len = (size_t)snprintf(big, sizeof(big), "{\"v\":1,\"op\":\"get\",\"names\":[");
                for (unsigned k = 0; k < count; k++)
                        len += (size_t)snprintf(big + len, sizeof(big) - len, "%s\"n%u\"",
                                                k ? "," : "", k);
                snprintf(big + len, sizeof(big) - len, "]}");
                EXPECT(read_args(big, &a) == (count == 256 ? JP_OK : JP_ERR_BAD_REQUEST));
        }
        for (unsigned nlen = 255; nlen <= 256; nlen++) {
                size_t len = (size_t)snprintf(big, sizeof(big), "{\"v\":1,\"op\":\"list\",\"prefix\":\"");
                memset(big + len, 'x', nlen);
                snprintf(big + len + nlen, sizeof(big) - len - nlen, "\"}");
                EXPECT(read_args(big, &a) == (nlen == 255 ? JP_OK : JP_ERR_BAD_REQUEST));
        }
}

static void response_shapes(void)
{
        jp_writer_t w;
        jp_w_init(&w, wbuf, sizeof(wbuf));
        jp_response_error(&w, 7, JP_ERR_BAD_JSON, NULL);
        EXPECT(!w.overflow);
        EXPECT_STR(wstr(&w), "{\"v\":1,\"id\":7,\"ok\":false,\"error\":{\"code\":\"bad_json\","
                            "\"message\":\"the payload is not one well-formed JSON object\"}}");
        jp_w_init(&w, wbuf, sizeof(wbuf));
        jp_response_error(&w, UINT64_MAX, JP_ERR_UNSUPPORTED_VERSION, "say \"1\"\n");
        EXPECT_STR(wstr(&w), "{\"v\":1,\"id\":18446744073709551615,\"ok\":false,\"error\":{\"code\":"
                            "\"unsupported_version\",\"message\":\"say \\\"1\\\"\\n\","
                            "\"versions\":[1]}}");
        EXPECT(parse(wstr(&w)) > 0);
        int e = jp_obj_find(exact, toks, 0, "error");
        EXPECT(e > 0 && jp_obj_find(exact, toks, e, "versions") > 0);
        /* Every code: a well-formed response with that code. */
        for (int k = 0; k < JP_NERRS; k++) {
                jp_w_init(&w, wbuf, sizeof(wbuf));
                jp_response_error(&w, 1, (enum jp_err)k, NULL);
                EXPECT(!w.overflow && parse(wstr(&w)) > 0);
                int er = jp_obj_find(exact, toks, 0, "error");
                int c = er > 0 ? jp_obj_find(exact, toks, er, "code") : -1;
                EXPECT(c > 0 && jp_str_eq(exact, &toks[c], jp_err_code((enum jp_err)k)));
                int ok = jp_obj_find(exact, toks, 0, "ok");
                EXPECT(ok > 0 && toks[ok].type == JP_FALSE);
        }
        /* Success. */
        jp_w_init(&w, wbuf, sizeof(wbuf));
        jp_response_begin(&w, 3);
        jp_w_obj(&w);
        jp_w_key(&w, "pid");
        jp_w_u64(&w, 12);
        jp_w_obj_end(&w);
        jp_response_end(&w);
        EXPECT_STR(wstr(&w), "{\"v\":1,\"id\":3,\"ok\":true,\"result\":{\"pid\":12}}");
        /* An error response in a small buffer overflows cleanly. */
        memset(wbuf, '#', sizeof(wbuf));
        jp_w_init(&w, wbuf, 20);
        jp_response_error(&w, 1, JP_ERR_INTERNAL, NULL);
        EXPECT(w.overflow && w.len <= 20 && wbuf[20] == '#');
}

static void type_kinds(void)
{
        EXPECT(jp_type_kind("bool") == JP_K_BOOL);
        EXPECT(jp_type_kind("unsigned") == JP_K_U32);
        EXPECT(jp_type_kind("fxp_t") == JP_K_U32);
        EXPECT(jp_type_kind("size_t") == JP_K_U64);
        EXPECT(jp_type_kind("ssize_t") == JP_K_I64);
        EXPECT(jp_type_kind("const char *") == JP_K_STR);
        EXPECT(jp_type_kind("void") == JP_K_VOID);
        EXPECT(jp_type_kind("extent_hooks_t *") == JP_K_OTHER);
        EXPECT(jp_type_kind("") == JP_K_OTHER);
        EXPECT(jp_type_kind(NULL) == JP_K_OTHER);
}

/* The fragmentation figures: their definitions, and NaN where the divisor is 0. */
static void fragmentation(void)
{
        jp_frag_t f;
        jp_frag(1000, 1250, 5000, 6000, &f);
        EXPECT(f.frag_ratio == 1.25 && f.resident_ratio == 4.0 && f.rss_ratio == 1.2);
        EXPECT(f.unused_bytes == 4000);
        jp_frag(0, 0, 0, 100, &f);
        EXPECT(isnan(f.frag_ratio) && isnan(f.resident_ratio) && isnan(f.rss_ratio));
        EXPECT(f.unused_bytes == 0);
        jp_frag(4096, 4096, 0, 0, &f); /* an inconsistent snapshot: negative, not wrapped */
        EXPECT(f.unused_bytes == -4096 && f.resident_ratio == 0.0);
}

static void error_codes(void)
{
        static const char *const codes[] = {"ok", "bad_frame", "too_large", "bad_json",
                                             "bad_request", "unsupported_version", "unknown_op",
                                             "permission_denied", "busy", "timeout",
                                             "not_supported", "internal", "bad_value"};
        EXPECT_EQ(sizeof(codes) / sizeof(codes[0]), JP_NERRS);
        for (int k = 0; k < JP_NERRS; k++) {
                EXPECT_STR(jp_err_code((enum jp_err)k), codes[k]);
                EXPECT(jp_err_message((enum jp_err)k) != NULL &&
                      jp_err_message((enum jp_err)k)[0] != '\0');
        }
        EXPECT_STR(jp_err_code(JP_NERRS), "internal");
        EXPECT(jp_err_message(JP_NERRS) != NULL);
        EXPECT_STR(jp_errno_code(ENOENT), "ENOENT");
        EXPECT_STR(jp_errno_code(EINVAL), "EINVAL");
        EXPECT_STR(jp_errno_code(EPERM), "EPERM");
        EXPECT_STR(jp_errno_code(EFAULT), "EFAULT");
        EXPECT_STR(jp_errno_code(EAGAIN), "EAGAIN");
        EXPECT_STR(jp_errno_code(12345), "EUNKNOWN");
        EXPECT(jp_errno_message(ENOENT) != NULL && jp_errno_message(9999) != NULL);
}

static void runtime_dir(void)
{
        char b[32];
        EXPECT(jp_runtime_dir("/x/rt//", "/run/user/1", false, b, sizeof(b)) == 5);
        EXPECT_STR(b, "/x/rt");
        EXPECT(jp_runtime_dir("", NULL, true, b, sizeof(b)) == 11);
        EXPECT_STR(b, "/run/jemctl");
        EXPECT(jp_runtime_dir(NULL, "/run/user/1/", false, b, sizeof(b)) == 18);
        EXPECT_STR(b, "/run/user/1/jemctl");
        EXPECT(jp_runtime_dir(NULL, "", false, b, sizeof(b)) == -1);
        EXPECT(jp_runtime_dir(NULL, NULL, false, b, sizeof(b)) == -1);
        EXPECT(jp_runtime_dir(NULL, "/", false, b, sizeof(b)) == 7);
        EXPECT_STR(b, "/jemctl");
        EXPECT(jp_runtime_dir("/", NULL, false, b, sizeof(b)) == 1);
        EXPECT_STR(b, "/");
        EXPECT(jp_runtime_dir(NULL, "/a/very/long/runtime/directory", false, b, sizeof(b)) == -2);
        EXPECT(jp_runtime_dir("0123456789012345678901234567890", NULL, false, b, 32) == 31);
        EXPECT(jp_runtime_dir("01234567890123456789012345678901", NULL, false, b, 32) == -2);
}

static void name_pattern(void)
{
        char out[64], nums[2][24];
        jp_name_pattern("stats.arenas.3.bins.17.nregs", out, sizeof(out), nums);
        EXPECT_STR(out, "stats.arenas.<i>.bins.<j>.nregs");
        EXPECT_STR(nums[0], "3");
        EXPECT_STR(nums[1], "17");
        jp_name_pattern("arena.4096.purge", out, sizeof(out), NULL);
        EXPECT_STR(out, "arena.<i>.purge");
        jp_name_pattern("opt.narenas", out, sizeof(out), nums);
        EXPECT_STR(out, "opt.narenas");
        EXPECT_STR(nums[0], "");
        jp_name_pattern("a1.b", out, sizeof(out), NULL);
        EXPECT_STR(out, "a1.b");
        jp_name_pattern("averyveryverylongname.x", out, 8, NULL);
        EXPECT(strlen(out) < 8);
}

static void cgroup_of(void)
{
        char out[64];
        EXPECT(jp_cgroup_of("0::/system.slice/redis.service\n", out, sizeof(out)) == 27);
        EXPECT_STR(out, "/system.slice/redis.service");
        /* hybrid: the unified path is the root, systemd's units are in v1 name=systemd */
        const char *hybrid = "12:memory:/user.slice\n1:name=systemd:/system.slice/a.service\n"
                             "0::/\n";
        EXPECT(jp_cgroup_of(hybrid, out, sizeof(out)) > 0);
        EXPECT_STR(out, "/system.slice/a.service");
        EXPECT(jp_cgroup_of("0::/\n", out, sizeof(out)) == 1);
        EXPECT_STR(out, "/");
        EXPECT(jp_cgroup_of("1:name=systemd:/x.service", out, sizeof(out)) > 0);
        EXPECT_STR(out, "/x.service");
        EXPECT(jp_cgroup_of("4:cpu:/a\n", out, sizeof(out)) == 0);
        EXPECT(jp_cgroup_of("0::/a/long/path\n", out, 5) == 0);
        EXPECT(jp_cgroup_of("", out, sizeof(out)) == 0);
}

static void duration(void)
{
        double d = 0;
        EXPECT(jp_parse_duration("5", 86400, &d) == 0 && d == 5);
        EXPECT(jp_parse_duration("0.25", 86400, &d) == 0 && d == 0.25);
        EXPECT(jp_parse_duration("2m", 86400, &d) == 0 && d == 120);
        EXPECT(jp_parse_duration("1h", 86400, &d) == 0 && d == 3600);
        EXPECT(jp_parse_duration("1d", 86400, &d) == 0 && d == 86400);
        EXPECT(jp_parse_duration("2d", 86400, &d) == -EINVAL);
        const char *bad[] = {"", "0", "-1", "1x", "1ms", "nan", "inf", "1e400", "s", "1 s"};
        for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
                EXPECT(jp_parse_duration(bad[i], 86400, &d) == -EINVAL);
}

int main(void)
{
        RUN("unit/proto", frame_round_trip);
        RUN("unit/proto", frame_limits);
        RUN("unit/proto", parse_structure);
        RUN("unit/proto", parse_structure_literals);
        RUN("unit/proto", parse_numbers);
        RUN("unit/proto", parse_strings_and_escapes);
        RUN("unit/proto", parse_rejects_control_chars);
        RUN("unit/proto", parse_rejects_bad_utf8);
        RUN("unit/proto", parse_rejects_trailing_and_syntax);
        RUN("unit/proto", parse_depth_limit);
        RUN("unit/proto", parse_token_limit);
        RUN("unit/proto", parse_duplicate_keys);
        RUN("unit/proto", obj_find);
        RUN("unit/proto", str_eq);
        RUN("unit/proto", str_copy);
        RUN("unit/proto", get_integers);
        RUN("unit/proto", writer_commas_and_nesting);
        RUN("unit/proto", writer_escaping);
        RUN("unit/proto", writer_overflow);
        RUN("unit/proto", request_parse_valid);
        RUN("unit/proto", request_parse_errors);
        RUN("unit/proto", request_token_limit);
        RUN("unit/proto", request_build_round_trip);
        RUN("unit/proto", req_checker_sees_wrong_keys);
        RUN("unit/proto", req_get);
        RUN("unit/proto", req_set);
        RUN("unit/proto", req_list_stats);
        RUN("unit/proto", req_purge);
        RUN("unit/proto", req_decay_all);
        RUN("unit/proto", req_prof);
        RUN("unit/proto", req_overflow);
        RUN("unit/proto", args_roundtrip);
        RUN("unit/proto", args_refused);
        RUN("unit/proto", response_shapes);
        RUN("unit/proto", error_codes);
        RUN("unit/proto", type_kinds);
        RUN("unit/proto", fragmentation);
        RUN("unit/proto", runtime_dir);
        RUN("unit/proto", name_pattern);
        RUN("unit/proto", cgroup_of);
        RUN("unit/proto", duration);
        free(exact);
        return check_finish();
}
