/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Unit tests of jemctld's typed requests (jemctld/src/req.c) and of the HTTP writes'
 * bodies turned into them (http_parse.c): each written with proto's builders and read
 * back with proto's parser.  Zeroed arguments ask for the server's defaults (a purge of
 * every arena), and a set value of another kind is refused.
 */
#include <stdlib.h>
#include <string.h>

#include "../common/check.h"
#include "http_parse.h"
#include "req.h"

static char buf[JP_REQ_MAX];
static jp_tok_t toks[JP_MAX_TOKENS];
static jp_request_t r;

/* Writes req and parses it back into r: the result of jd_req_write, or -1000 when the
 * text is not a request of req's op. */
static int round_trip(const jd_req_t *req)
{
        jp_writer_t w;
        jp_w_init(&w, buf, sizeof(buf));
        jp_request_begin(&w, 3, req->op);
        int rc = jd_req_write(&w, req);
        jp_request_end(&w);
        if (rc != 0)
                return rc;
        if (w.overflow || jp_request_parse(buf, w.len, toks, JP_MAX_TOKENS, &r) != JP_OK ||
            r.op != req->op)
                return -1000;
        return 0;
}

static int arg(const char *key)
{
        return jp_obj_find(buf, toks, r.args, key);
}

static int64_t arg_i64(const char *key)
{
        int64_t v = INT64_MIN;
        int a = arg(key);
        return a >= 0 && jp_get_i64(buf, &toks[a], &v) ? v : INT64_MIN;
}

static void test_purge(void)
{
        jd_req_t req = {.op = JP_OP_PURGE};
        EXPECT(round_trip(&req) == 0 && toks[0].size == 3); /* every arena: no argument */
        req.u.purge.has_arena = true;
        req.u.purge.arena = 0;
        EXPECT(round_trip(&req) == 0 && arg_i64("arena") == 0);
        req = (jd_req_t){.op = JP_OP_PURGE, .u.purge.pressure = true};
        EXPECT(round_trip(&req) == 0 && arg("arena") < 0 && toks[arg("pressure")].type == JP_TRUE);
}

static void test_get_set(void)
{
        json_t *names = json_pack("[ss]", "stats.allocated", "opt.narenas");
        jd_req_t req = {.op = JP_OP_GET, .u.get.names = names};
        EXPECT(round_trip(&req) == 0 && toks[arg("names")].size == 2);
        json_array_append_new(names, json_integer(1));
        EXPECT(round_trip(&req) == -EINVAL); /* a name that is no string */
        json_decref(names);
        json_t *vals[] = {json_true(), json_integer(-1), json_string("x"), json_null(),
                          json_real(1.5), json_object()};
        const uint8_t types[] = {JP_TRUE, JP_NUMBER, JP_STRING, JP_NULL};
        for (unsigned i = 0; i < 6; i++) {
                req = (jd_req_t){.op = JP_OP_SET, .u.set = {.name = "a.b", .value = vals[i]}};
                int rc = round_trip(&req);
                if (i >= 4) {
                        EXPECT(rc == -EINVAL);
                } else {
                        int o = arg("values");
                        EXPECT(rc == 0 && o > 0 && toks[o].size == 1);
                        int v = o > 0 ? jp_obj_find(buf, toks, o, "a.b") : -1;
                        EXPECT(v > 0 && toks[v].type == types[i]);
                }
                json_decref(vals[i]);
        }
}

static void test_decay_prof(void)
{
        jd_req_t req = {.op = JP_OP_DECAY_ALL, .u.decay = {.dirty_ms = 250}};
        EXPECT(round_trip(&req) == 0 && arg_i64("dirty_ms") == 250 && arg("muzzy_ms") < 0);
        req.u.decay.has_muzzy = true;
        req.u.decay.muzzy_ms = -1;
        EXPECT(round_trip(&req) == 0 && arg_i64("muzzy_ms") == -1);
        req = jd_req_prof(JP_PROF_STATUS);
        EXPECT(round_trip(&req) == 0 && jp_str_eq(buf, &toks[arg("action")], "status") &&
               arg("lg_sample") < 0);
        req.u.prof.has_lg = true;
        req.u.prof.lg_sample = 19;
        EXPECT(round_trip(&req) == 0 && arg_i64("lg_sample") == 19);
        req = (jd_req_t){.op = JP_OP_STATS};
        EXPECT(round_trip(&req) == 0 && toks[0].size == 3);
}

/* An HTTP write's body, through jd_parse_op_args, to the request the process gets. */
static void test_http_bodies(void)
{
        static const struct {
                enum jd_op_kind kind;
                const char *body, *key;
                int64_t want;
        } cases[] = {
                {JD_OP_DECAY, "{\"ms\": 0, \"muzzy_ms\": 10}", "muzzy_ms", 10},
                {JD_OP_PURGE, "{\"arena\": 2}", "arena", 2},
                {JD_OP_PURGE, "{}", "arena", INT64_MIN},
                {JD_OP_SET, "{\"name\": \"arena.0.dirty_decay_ms\", \"value\": 7}", NULL, 7},
                {JD_OP_PROFILE, "{\"format\": \"heap\"}", "format", INT64_MIN},
        };
        char why[128];
        for (unsigned i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
                json_t *body = json_loads(cases[i].body, 0, NULL);
                jd_op_req_t op = {.pid = 1, .kind = cases[i].kind};
                jd_req_t req;
                EXPECT(jd_parse_op_args(&op, body, &req, why, sizeof(why)));
                EXPECT(round_trip(&req) == 0);
                if (cases[i].key != NULL) {
                        EXPECT(arg_i64(cases[i].key) == cases[i].want);
                } else {
                        int v = jp_obj_find(buf, toks, arg("values"), op.name);
                        int64_t x = 0;
                        EXPECT(v > 0 && jp_get_i64(buf, &toks[v], &x) && x == cases[i].want);
                }
                json_decref(body);
        }
}

int main(void)
{
        check_label = "jemctld-req";
        RUN("unit/jdreq", test_purge);
        RUN("unit/jdreq", test_get_set);
        RUN("unit/jdreq", test_decay_prof);
        RUN("unit/jdreq", test_http_bodies);
        return check_finish();
}
