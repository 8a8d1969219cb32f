/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * fuzz_proto: a libFuzzer target for the control protocol's codec (proto/).  Arbitrary
 * bytes go to jp_request_parse (as the control thread does with a request payload) and to
 * jp_parse with small token caps and depths chosen from the input; the results are checked
 * against the codec's invariants, and the writer is exercised with what was read:
 *
 *   - parsing never reads outside [data, data + size) (the input lives in a heap buffer of
 *     exactly that size, so AddressSanitizer catches it);
 *   - on success: every token lies within the text, strings are inside quotes, 0 < n <=
 *     cap, each token's `next` is past itself and no further than its parent's, members of
 *     containers are walked exactly by `next`, objects have string keys and no key twice,
 *     nesting stays within max_depth;  on failure: the error offset is within the text;
 *   - jp_obj_find finds each key of an object at its value; jp_str_copy / jp_str_eq agree;
 *     jp_get_u64 / jp_get_i64 agree with each other;
 *   - a string read back is written by the writer and parsed again to the same bytes;
 *   - the error response for the request's outcome is well formed, carries the id, and
 *     overflows cleanly into a buffer too small for it.
 *
 * Build and run: tests/fuzz/run.sh [SECONDS]
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "jp/proto.h"

#define FUZZ_ASSERT(cond)                                                                  \
        do {                                                                               \
                if (!(cond)) {                                                             \
                        fprintf(stderr, "fuzz_proto: %s:%d: invariant broken: %s\n",       \
                                __FILE__, __LINE__, #cond);                                \
                        abort();                                                           \
                }                                                                          \
        } while (0)

static jp_tok_t toks[JP_MAX_TOKENS];
static jp_tok_t toks2[JP_MAX_TOKENS];
static unsigned depth_used; /* levels of containers seen by check_tree */

static bool is_container(const jp_tok_t *t)
{
        return t->type == JP_OBJECT || t->type == JP_ARRAY;
}

/* Checks the subtree at index i (its parent spans [lo, hi) in the text and ends at token
 * limit); returns the index past it. */
static uint32_t check_tree(const char *s, size_t len, const jp_tok_t *t, uint32_t i,
                           uint32_t limit, uint32_t lo, uint32_t hi, unsigned depth,
                           unsigned max_depth)
{
        FUZZ_ASSERT(i < limit);
        const jp_tok_t *k = &t[i];
        FUZZ_ASSERT(k->type >= JP_OBJECT && k->type <= JP_NULL);
        FUZZ_ASSERT(k->start <= k->end && k->end <= len);
        FUZZ_ASSERT(k->start >= lo && k->end <= hi);
        FUZZ_ASSERT(k->next > i && k->next <= limit);
        switch (k->type) {
        case JP_STRING:
                FUZZ_ASSERT(k->start >= 1 && s[k->start - 1] == '"');
                FUZZ_ASSERT(k->end < len && s[k->end] == '"');
                FUZZ_ASSERT(k->next == i + 1);
                break;
        case JP_NUMBER:
                FUZZ_ASSERT(k->end > k->start);
                FUZZ_ASSERT(s[k->start] == '-' || (s[k->start] >= '0' && s[k->start] <= '9'));
                FUZZ_ASSERT(k->next == i + 1);
                break;
        case JP_TRUE:
                FUZZ_ASSERT(k->end - k->start == 4 && memcmp(s + k->start, "true", 4) == 0);
                break;
        case JP_FALSE:
                FUZZ_ASSERT(k->end - k->start == 5 && memcmp(s + k->start, "false", 5) == 0);
                break;
        case JP_NULL:
                FUZZ_ASSERT(k->end - k->start == 4 && memcmp(s + k->start, "null", 4) == 0);
                break;
        default: {
                FUZZ_ASSERT(depth < max_depth);
                if (depth + 1 > depth_used)
                        depth_used = depth + 1;
                bool obj = k->type == JP_OBJECT;
                FUZZ_ASSERT(k->end - k->start >= 2);
                FUZZ_ASSERT(s[k->start] == (obj ? '{' : '['));
                FUZZ_ASSERT(s[k->end - 1] == (obj ? '}' : ']'));
                uint32_t j = i + 1;
                for (uint32_t m = 0; m < k->size; m++) {
                        if (obj) {
                                FUZZ_ASSERT(j < k->next && t[j].type == JP_STRING);
                                /* No key twice (as written). */
                                for (uint32_t q = i + 1; q < j; q = t[t[q].next].next)
                                        FUZZ_ASSERT(!(t[q].end - t[q].start ==
                                                              t[j].end - t[j].start &&
                                                      memcmp(s + t[q].start, s + t[j].start,
                                                             t[j].end - t[j].start) == 0));
                                j = check_tree(s, len, t, j, k->next, k->start + 1, k->end - 1,
                                               depth + 1, max_depth);
                        }
                        j = check_tree(s, len, t, j, k->next, k->start + 1, k->end - 1,
                                       depth + 1, max_depth);
                }
                FUZZ_ASSERT(j == k->next);
                break;
        }
        }
        if (!is_container(k))
                FUZZ_ASSERT(k->size == 0);
        return k->next;
}

/* Per-token checks of the accessors, and a write / read round trip of strings. */
static void check_access(const char *s, const jp_tok_t *t, int n)
{
        static char copy[70000], out[2 * 6 * 70000 + 64];
        for (int i = 0; i < n; i++) {
                const jp_tok_t *k = &t[i];
                if (k->type == JP_STRING) {
                        size_t raw = k->end - k->start;
                        int c = jp_str_copy(s, k, copy, raw + 1); /* escapes only shrink */
                        if (c < 0) {
                                /* Only a \u0000 refuses a buffer of raw + 1 bytes. */
                                FUZZ_ASSERT(memmem(s + k->start, raw, "\\u0000", 6) != NULL);
                                continue;
                        }
                        FUZZ_ASSERT((size_t)c <= raw && copy[c] == '\0');
                        FUZZ_ASSERT(strlen(copy) == (size_t)c);
                        FUZZ_ASSERT(jp_str_eq(s, k, copy));
                        if (c > 0) {
                                /* One byte too few is refused. */
                                FUZZ_ASSERT(jp_str_copy(s, k, out, (size_t)c) == -1);
                        }
                        /* Written and read again: the same bytes. */
                        jp_writer_t w;
                        jp_w_init(&w, out, sizeof(out));
                        jp_w_obj(&w);
                        jp_w_key(&w, copy);
                        jp_w_strn(&w, copy, (size_t)c);
                        jp_w_obj_end(&w);
                        FUZZ_ASSERT(!w.overflow);
                        int m = jp_parse(out, w.len, toks2, 3, 1, NULL);
                        FUZZ_ASSERT(m == 3);
                        FUZZ_ASSERT(jp_str_eq(out, &toks2[1], copy));
                        FUZZ_ASSERT(jp_str_eq(out, &toks2[2], copy));
                        FUZZ_ASSERT(jp_str_copy(out, &toks2[2], copy + c + 1,
                                                sizeof(copy) - (size_t)c - 1) == c);
                        FUZZ_ASSERT(memcmp(copy, copy + c + 1, (size_t)c) == 0);
                } else if (k->type == JP_NUMBER) {
                        uint64_t u;
                        int64_t v;
                        bool gu = jp_get_u64(s, k, &u), gi = jp_get_i64(s, k, &v);
                        if (gu && u <= INT64_MAX)
                                FUZZ_ASSERT(gi && v == (int64_t)u);
                        if (gi && v > 0)
                                FUZZ_ASSERT(gu && u == (uint64_t)v);
                        if (gu) {
                                /* Written back: the same digits (no leading zeros). */
                                char b[32];
                                jp_writer_t w;
                                jp_w_init(&w, b, sizeof(b));
                                jp_w_u64(&w, u);
                                FUZZ_ASSERT(w.len == k->end - k->start &&
                                            memcmp(b, s + k->start, w.len) == 0);
                        }
                } else if (k->type == JP_OBJECT) {
                        uint32_t j = (uint32_t)i + 1;
                        for (uint32_t m = 0; m < k->size; m++) {
                                int c = jp_str_copy(s, &t[j], copy, sizeof(copy));
                                uint32_t v = t[j].next;
                                if (c >= 0) {
                                        int f = jp_obj_find(s, t, i, copy);
                                        /* Keys are unique as written, not after unescaping:
                                         * the first equal one wins. */
                                        FUZZ_ASSERT(f >= 0 && (uint32_t)f <= v);
                                        FUZZ_ASSERT(jp_str_eq(s, &t[f - 1], copy));
                                }
                                j = t[v].next;
                        }
                } else {
                        FUZZ_ASSERT(jp_obj_find(s, t, i, "v") == -1 || k->type == JP_OBJECT);
                }
        }
}

static void check_parse(const char *s, size_t len, unsigned cap, unsigned depth)
{
        size_t off = (size_t)-1;
        int n = jp_parse(s, len, toks, cap, depth, &off);
        if (n < 0) {
                FUZZ_ASSERT(off <= len);
                return;
        }
        FUZZ_ASSERT(n > 0 && (unsigned)n <= cap);
        depth_used = 0;
        FUZZ_ASSERT(check_tree(s, len, toks, 0, (uint32_t)n, 0, (uint32_t)len, 0,
                               depth > 64 ? 64 : depth) == (uint32_t)n);
        check_access(s, toks, n);
        /* Fewer tokens than needed, or one level less, are refused. */
        FUZZ_ASSERT(jp_parse(s, len, toks2, (unsigned)n - 1, depth, NULL) < 0);
        unsigned used = depth_used;
        FUZZ_ASSERT(used <= depth);
        if (used > 0)
                FUZZ_ASSERT(jp_parse(s, len, toks2, (unsigned)n, used - 1, NULL) < 0);
        FUZZ_ASSERT(jp_parse(s, len, toks2, (unsigned)n, used, NULL) == n);
}

/* The typed readers on what parsed: a refusal says why; what they accept is within the
 * protocol's limits, and the names they accept all unescape into JP_NAME_MAX bytes. */
static void check_args(const char *s, const jp_request_t *req)
{
        jp_args_t a;
        const char *msg = NULL;
        enum jp_err e = jp_args_read(s, toks, req, &a, &msg);
        FUZZ_ASSERT(e == JP_OK || e == JP_ERR_BAD_REQUEST);
        FUZZ_ASSERT((e == JP_OK) == (msg == NULL));
        if (e != JP_OK)
                return;
        FUZZ_ASSERT(a.arena <= JP_ARENA_ALL && a.dirty_ms >= -1 && a.muzzy_ms >= -1);
        FUZZ_ASSERT(a.lg_sample <= 63 && strlen(a.prefix) < JP_NAME_MAX);
        FUZZ_ASSERT((a.names >= 0) == (req->op == JP_OP_GET || req->op == JP_OP_SET));
        jp_names_iter_t it;
        int n, v;
        unsigned count = 0;
        char name[JP_NAME_MAX];
        jp_names_begin(&it, toks, a.names);
        while (jp_names_next(&it, &n, &v)) {
                FUZZ_ASSERT(n > a.names && n < req->ntoks && toks[n].type == JP_STRING);
                FUZZ_ASSERT(jp_str_copy(s, &toks[n], name, sizeof(name)) >= 0);
                FUZZ_ASSERT((v >= 0) == (req->op == JP_OP_SET) && v < req->ntoks);
                count++;
        }
        FUZZ_ASSERT(count <= JP_MAX_NAMES);
}

static void check_request(const char *s, size_t len)
{
        jp_request_t req;
        enum jp_err e = jp_request_parse(s, len, toks, JP_MAX_TOKENS, &req);
        FUZZ_ASSERT((unsigned)e < JP_NERRS);
        FUZZ_ASSERT(e == JP_OK || e == JP_ERR_BAD_JSON || e == JP_ERR_BAD_REQUEST ||
                    e == JP_ERR_UNSUPPORTED_VERSION || e == JP_ERR_UNKNOWN_OP);
        if (e == JP_ERR_BAD_JSON) {
                FUZZ_ASSERT(req.id == 0);
        } else {
                FUZZ_ASSERT(req.args == 0 && req.ntoks > 0 && req.ntoks <= JP_MAX_TOKENS);
                FUZZ_ASSERT(toks[0].type == JP_OBJECT);
                FUZZ_ASSERT(check_tree(s, len, toks, 0, (uint32_t)req.ntoks, 0, (uint32_t)len,
                                       0, JP_MAX_DEPTH) == (uint32_t)req.ntoks);
        }
        if (e == JP_OK) {
                FUZZ_ASSERT((unsigned)req.op < JP_NOPS);
                int op = jp_obj_find(s, toks, 0, "op");
                FUZZ_ASSERT(op > 0 && jp_str_eq(s, &toks[op], jp_op_name(req.op)));
                check_args(s, &req);
        } else {
                FUZZ_ASSERT(req.op == JP_NOPS);
        }
        /* The answer the server would give: well formed, with the id. */
        static char buf[1024];
        jp_writer_t w;
        jp_w_init(&w, buf, sizeof(buf));
        enum jp_err answer = e == JP_OK ? JP_ERR_NOT_SUPPORTED : e;
        jp_response_error(&w, req.id, answer, NULL);
        FUZZ_ASSERT(!w.overflow);
        int n = jp_parse(buf, w.len, toks2, 32, JP_MAX_DEPTH, NULL);
        FUZZ_ASSERT(n > 0);
        int id = jp_obj_find(buf, toks2, 0, "id");
        uint64_t idv;
        FUZZ_ASSERT(id > 0 && jp_get_u64(buf, &toks2[id], &idv) && idv == req.id);
        int ok = jp_obj_find(buf, toks2, 0, "ok");
        FUZZ_ASSERT(ok > 0 && toks2[ok].type == JP_FALSE);
        /* The same answer into smaller buffers: flagged, never written past the end. */
        size_t full = w.len;
        const size_t caps[] = {0, 1, full / 2, full > 7 ? full - 7 : 0, full - 1,
                               (size_t)(len * 7919u) % full};
        for (size_t c = 0; c < sizeof(caps) / sizeof(caps[0]); c++) {
                size_t cap = caps[c];
                memset(buf, 0x5a, sizeof(buf));
                jp_w_init(&w, buf, cap);
                jp_response_error(&w, req.id, answer, NULL);
                FUZZ_ASSERT(w.overflow && w.len <= cap);
                for (size_t i = cap; i < sizeof(buf); i++)
                        FUZZ_ASSERT(buf[i] == 0x5a);
        }
        /* A message taken from the request itself (as bytes, escaped by the writer). */
        jp_w_init(&w, buf, sizeof(buf));
        jp_w_obj(&w);
        jp_w_key(&w, "m");
        jp_w_strn(&w, s, len < 100 ? len : 100);
        jp_w_obj_end(&w);
        FUZZ_ASSERT(!w.overflow);
        for (size_t i = 0; i < w.len; i++)
                FUZZ_ASSERT((unsigned char)buf[i] >= 0x20);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        if (size > JP_REQ_MAX)
                return 0;
        /* A copy of exactly size bytes: any read past the end is a heap overflow. */
        char *s = malloc(size ? size : 1);
        if (s == NULL)
                return 0;
        memcpy(s, data, size);
        check_request(s, size);
        /* Small caps and depths, picked from the input so the fuzzer can steer them. */
        unsigned cap = size ? (unsigned)(uint8_t)s[size - 1] % 64 + 1 : 1;
        unsigned depth = size ? (unsigned)(uint8_t)s[0] % 10 : 0;
        check_parse(s, size, cap, depth);
        check_parse(s, size, JP_MAX_TOKENS, JP_MAX_DEPTH);
        /* Framing: a header read from the input. */
        if (size >= JP_HDR_SIZE) {
                uint32_t len = jp_frame_get((const uint8_t *)s);
                uint8_t h[JP_HDR_SIZE];
                jp_frame_put(h, len);
                FUZZ_ASSERT(memcmp(h, s, JP_HDR_SIZE) == 0);
                enum jp_err e = jp_frame_check(len, JP_REQ_MAX);
                FUZZ_ASSERT(e == (len == 0 ? JP_ERR_BAD_FRAME
                                           : len > JP_REQ_MAX ? JP_ERR_TOO_LARGE : JP_OK));
        }
        free(s);
        return 0;
}
