/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * req: a typed request's arguments through proto's request builders (req.h).
 */
#include <errno.h>

#include "req.h"

static int write_get(jp_writer_t *w, const json_t *names)
{
        size_t i;
        const json_t *n;
        jp_req_get_begin(w);
        json_array_foreach((json_t *)names, i, n)
        {
                if (!json_is_string(n))
                        return -EINVAL;
                jp_req_get_name(w, json_string_value(n));
        }
        jp_req_get_end(w);
        return 0;
}

static int write_set(jp_writer_t *w, const char *name, const json_t *v)
{
        jp_req_set_begin(w);
        switch (json_typeof(v)) {
        case JSON_TRUE:
        case JSON_FALSE:
                jp_req_set_bool(w, name, json_is_true(v));
                break;
        case JSON_INTEGER:
                jp_req_set_i64(w, name, (int64_t)json_integer_value(v));
                break;
        case JSON_STRING:
                jp_req_set_str(w, name, json_string_value(v));
                break;
        case JSON_NULL:
                jp_req_set_null(w, name);
                break;
        default:
                return -EINVAL;
        }
        jp_req_set_end(w);
        return 0;
}

int jd_req_write(jp_writer_t *w, const jd_req_t *req)
{
        switch (req->op) {
        case JP_OP_GET:
                return write_get(w, req->u.get.names);
        case JP_OP_SET:
                if (req->u.set.name == NULL || req->u.set.value == NULL)
                        return -EINVAL;
                return write_set(w, req->u.set.name, req->u.set.value);
        case JP_OP_PURGE:
                jp_req_purge(w, req->u.purge.has_arena ? req->u.purge.arena : JP_ARENA_ALL,
                             req->u.purge.pressure);
                return 0;
        case JP_OP_DECAY_ALL:
                jp_req_decay_all(w, req->u.decay.dirty_ms, req->u.decay.has_muzzy,
                                 req->u.decay.muzzy_ms);
                return 0;
        case JP_OP_PROF:
                jp_req_prof(w, req->u.prof.action, req->u.prof.has_lg, req->u.prof.lg_sample);
                return 0;
        default: /* hello, info, stats (the summary), list (every name): no arguments */
                return 0;
        }
}
