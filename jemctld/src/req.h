/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * req: a request the daemon makes of a process, typed: the operation and its arguments,
 * which jd_req_write turns into members of the request with proto's builders (jp_req_*),
 * so no module of the daemon spells an argument key.  Pure: no I/O, no allocation, so
 * tests/fuzz/fuzz_http.c drives it with http_parse.c.
 */
#ifndef JEMCTLD_REQ_H
#define JEMCTLD_REQ_H

#include <stdbool.h>
#include <stdint.h>

#include <jansson.h>
#include <jp/proto.h>

/* Zeroed arguments ask for the server's defaults where there are any (a purge of every
 * arena); prof's action has none: set it (jd_req_prof). */
typedef struct jd_req {
        enum jp_op op;
        union {
                struct {
                        const json_t *names; /* an array of strings (borrowed) */
                } get;
                struct {
                        const char *name;    /* borrowed */
                        const json_t *value; /* a boolean, an integer, a string or null */
                } set;
                struct {
                        bool has_arena; /* false (as zeroed): every arena */
                        uint64_t arena;
                        bool pressure; /* what a memory-pressure event does */
                } purge;
                struct {
                        int64_t dirty_ms, muzzy_ms;
                        bool has_muzzy;
                } decay;
                struct {
                        enum jp_prof_action action;
                        bool has_lg;
                        unsigned lg_sample;
                } prof;
        } u;
} jd_req_t;

/* The request {"op": JP_OP_PROF, "action": action} (no lg_sample). */
static inline jd_req_t jd_req_prof(enum jp_prof_action action)
{
        return (jd_req_t){.op = JP_OP_PROF, .u.prof = {.action = action}};
}

/* Writes req's arguments into w, between jp_request_begin and jp_request_end: 0, or
 * -EINVAL when a get name is not a string or a set value is none of the kinds above
 * (then w holds a partial request). */
int jd_req_write(jp_writer_t *w, const jd_req_t *req);

#endif
