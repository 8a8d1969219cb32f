/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * msg: requests and responses of protocol version 1 on top of the JSON reader and
 * writer: the envelope ({"v", "id", "op"} / {"v", "id", "ok", "result" | "error"}).
 */
#include "jp/proto.h"

static const char *const op_names[JP_NOPS] = {
        [JP_OP_HELLO] = "hello",   [JP_OP_INFO] = "info",   [JP_OP_GET] = "get",
        [JP_OP_SET] = "set",       [JP_OP_LIST] = "list",   [JP_OP_STATS] = "stats",
        [JP_OP_PURGE] = "purge",   [JP_OP_DECAY_ALL] = "decay-all",
        [JP_OP_PROF] = "prof",
};

const char *jp_op_name(enum jp_op op)
{
        return (unsigned)op < JP_NOPS ? op_names[op] : "?";
}

enum jp_err jp_request_parse(const char *s, size_t len, jp_tok_t *toks, unsigned cap,
                             jp_request_t *req)
{
        req->id = 0;
        req->op = JP_NOPS;
        req->args = -1;
        req->ntoks = 0;
        int n = jp_parse(s, len, toks, cap, JP_MAX_DEPTH, NULL);
        if (n <= 0 || toks[0].type != JP_OBJECT)
                return JP_ERR_BAD_JSON;
        req->ntoks = n;
        req->args = 0;
        int id = jp_obj_find(s, toks, 0, "id");
        if (id >= 0 && !jp_get_u64(s, &toks[id], &req->id))
                return JP_ERR_BAD_REQUEST;
        int v = jp_obj_find(s, toks, 0, "v");
        uint64_t ver;
        if (v < 0 || !jp_get_u64(s, &toks[v], &ver))
                return JP_ERR_BAD_REQUEST;
        if (ver != JP_VERSION)
                return JP_ERR_UNSUPPORTED_VERSION;
        int op = jp_obj_find(s, toks, 0, "op");
        if (op < 0 || toks[op].type != JP_STRING)
                return JP_ERR_BAD_REQUEST;
        for (unsigned i = 0; i < JP_NOPS; i++) {
                if (jp_str_eq(s, &toks[op], op_names[i])) {
                        req->op = (enum jp_op)i;
                        return JP_OK;
                }
        }
        return JP_ERR_UNKNOWN_OP;
}

void jp_request_begin(jp_writer_t *w, uint64_t id, enum jp_op op)
{
        jp_w_obj(w);
        jp_w_key(w, "v");
        jp_w_u64(w, JP_VERSION);
        jp_w_key(w, "id");
        jp_w_u64(w, id);
        jp_w_key(w, "op");
        jp_w_str(w, jp_op_name(op));
}

void jp_request_end(jp_writer_t *w)
{
        jp_w_obj_end(w);
}

static void envelope(jp_writer_t *w, uint64_t id, bool ok)
{
        jp_w_obj(w);
        jp_w_key(w, "v");
        jp_w_u64(w, JP_VERSION);
        jp_w_key(w, "id");
        jp_w_u64(w, id);
        jp_w_key(w, "ok");
        jp_w_bool(w, ok);
}

void jp_response_begin(jp_writer_t *w, uint64_t id)
{
        envelope(w, id, true);
        jp_w_key(w, "result");
}

void jp_response_end(jp_writer_t *w)
{
        jp_w_obj_end(w);
}

void jp_response_error(jp_writer_t *w, uint64_t id, enum jp_err e, const char *message)
{
        envelope(w, id, false);
        jp_w_key(w, "error");
        jp_w_obj(w);
        jp_w_key(w, "code");
        jp_w_str(w, jp_err_code(e));
        jp_w_key(w, "message");
        jp_w_str(w, message != NULL ? message : jp_err_message(e));
        if (e == JP_ERR_UNSUPPORTED_VERSION) {
                jp_w_key(w, "versions");
                jp_w_arr(w);
                jp_w_u64(w, JP_VERSION);
                jp_w_arr_end(w);
        }
        jp_w_obj_end(w);
        jp_w_obj_end(w);
}
