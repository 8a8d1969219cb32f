/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * args: the typed request readers, the mirror of the builders (req.c): the arguments of a
 * parsed request, read under the keys of docs/protocol.md (JP_ARG_*) and checked against
 * the types and limits the protocol states, each in one place.  What only the server can
 * know (how many arenas it has, whether a name exists) it checks after.
 */
#include <string.h>

#include "jp/proto.h"

/* The value of key in the request object, or -1. */
static int arg(const char *s, const jp_tok_t *toks, const jp_request_t *req, const char *key)
{
        return jp_obj_find(s, toks, req->args, key);
}

/* An optional boolean: false when absent; false (not read) when not a boolean. */
static bool opt_bool(const char *s, const jp_tok_t *toks, const jp_request_t *req,
                     const char *key, bool *out)
{
        int t = arg(s, toks, req, key);
        *out = t >= 0 && toks[t].type == JP_TRUE;
        return t < 0 || toks[t].type == JP_TRUE || toks[t].type == JP_FALSE;
}

void jp_names_begin(jp_names_iter_t *it, const jp_tok_t *toks, int names)
{
        it->toks = toks;
        it->object = names >= 0 && toks[names].type == JP_OBJECT;
        it->left = names >= 0 ? toks[names].size : 0;
        it->next = (uint32_t)names + 1;
}

bool jp_names_next(jp_names_iter_t *it, int *name, int *value)
{
        if (it->left == 0)
                return false;
        it->left--;
        *name = (int)it->next;
        *value = it->object ? (int)it->toks[it->next].next : -1;
        it->next = it->toks[it->object ? (uint32_t)*value : it->next].next;
        return true;
}

/* get: "names", an array of strings; set: "values", an object (its keys are the names).
 * At most JP_MAX_NAMES, each shorter than JP_NAME_MAX bytes after unescaping, no NUL. */
static enum jp_err read_names(const char *s, const jp_tok_t *toks, const jp_request_t *req,
                              jp_args_t *a, const char **msg)
{
        bool get = req->op == JP_OP_GET;
        *msg = get ? "\"names\" must be an array of at most 256 different names, "
                     "each shorter than 256 bytes"
                   : "\"values\" must be an object of at most 256 different names, "
                     "each shorter than 256 bytes";
        a->names = arg(s, toks, req, get ? JP_ARG_NAMES : JP_ARG_VALUES);
        if (a->names < 0 || toks[a->names].type != (get ? JP_ARRAY : JP_OBJECT) ||
            toks[a->names].size > JP_MAX_NAMES)
                return JP_ERR_BAD_REQUEST;
        jp_names_iter_t it;
        int n, v;
        char name[JP_NAME_MAX];
        jp_names_begin(&it, toks, a->names);
        while (jp_names_next(&it, &n, &v))
                if (toks[n].type != JP_STRING || jp_str_copy(s, &toks[n], name, sizeof(name)) < 0)
                        return JP_ERR_BAD_REQUEST;
        return JP_OK;
}

static enum jp_err read_list(const char *s, const jp_tok_t *toks, const jp_request_t *req,
                             jp_args_t *a, const char **msg)
{
        int p = arg(s, toks, req, JP_ARG_PREFIX);
        *msg = "\"prefix\" must be a string shorter than 256 bytes";
        if (p >= 0 && (toks[p].type != JP_STRING ||
                       jp_str_copy(s, &toks[p], a->prefix, sizeof(a->prefix)) < 0))
                return JP_ERR_BAD_REQUEST;
        return JP_OK;
}

static enum jp_err read_stats(const char *s, const jp_tok_t *toks, const jp_request_t *req,
                              jp_args_t *a, const char **msg)
{
        *msg = "\"full\" must be true or false";
        return opt_bool(s, toks, req, JP_ARG_FULL, &a->full) ? JP_OK : JP_ERR_BAD_REQUEST;
}

static enum jp_err read_purge(const char *s, const jp_tok_t *toks, const jp_request_t *req,
                              jp_args_t *a, const char **msg)
{
        int t = arg(s, toks, req, JP_ARG_ARENA);
        *msg = "\"arena\" must be an arena index, or 4096 (all); \"pressure\" true or false";
        if (t >= 0 && (!jp_get_u64(s, &toks[t], &a->arena) || a->arena > JP_ARENA_ALL))
                return JP_ERR_BAD_REQUEST;
        return opt_bool(s, toks, req, JP_ARG_PRESSURE, &a->pressure) ? JP_OK
                                                                     : JP_ERR_BAD_REQUEST;
}

static enum jp_err read_decay_all(const char *s, const jp_tok_t *toks, const jp_request_t *req,
                                  jp_args_t *a, const char **msg)
{
        int d = arg(s, toks, req, JP_ARG_DIRTY_MS);
        int m = arg(s, toks, req, JP_ARG_MUZZY_MS);
        *msg = "\"dirty_ms\" (and \"muzzy_ms\") must be decay times: -1 (never), "
               "0 (at once) or milliseconds";
        if (d < 0 || !jp_get_i64(s, &toks[d], &a->dirty_ms) || a->dirty_ms < -1)
                return JP_ERR_BAD_REQUEST;
        a->has_muzzy = m >= 0;
        if (m >= 0 && (!jp_get_i64(s, &toks[m], &a->muzzy_ms) || a->muzzy_ms < -1))
                return JP_ERR_BAD_REQUEST;
        return JP_OK;
}

static enum jp_err read_prof(const char *s, const jp_tok_t *toks, const jp_request_t *req,
                             jp_args_t *a, const char **msg)
{
        char v[16];
        int t = arg(s, toks, req, JP_ARG_ACTION);
        int l = arg(s, toks, req, JP_ARG_LG_SAMPLE);
        *msg = "\"action\" must be on, off, status, reset or dump; \"lg_sample\" an "
               "integer from 0 to 63";
        if (t < 0 || toks[t].type != JP_STRING || jp_str_copy(s, &toks[t], v, sizeof(v)) < 0 ||
            (a->action = jp_prof_action_parse(v)) == JP_PROF_NACTIONS)
                return JP_ERR_BAD_REQUEST;
        a->has_lg = l >= 0;
        if (l >= 0 && (!jp_get_u64(s, &toks[l], &a->lg_sample) || a->lg_sample > 63))
                return JP_ERR_BAD_REQUEST;
        return JP_OK;
}

enum jp_err jp_args_read(const char *s, const jp_tok_t *toks, const jp_request_t *req,
                         jp_args_t *a, const char **msg)
{
        memset(a, 0, sizeof(*a));
        a->names = -1;
        a->arena = JP_ARENA_ALL;
        a->action = JP_PROF_NACTIONS;
        enum jp_err e = JP_OK;
        switch (req->op) {
        case JP_OP_GET:
        case JP_OP_SET: e = read_names(s, toks, req, a, msg); break;
        case JP_OP_LIST: e = read_list(s, toks, req, a, msg); break;
        case JP_OP_STATS: e = read_stats(s, toks, req, a, msg); break;
        case JP_OP_PURGE: e = read_purge(s, toks, req, a, msg); break;
        case JP_OP_DECAY_ALL: e = read_decay_all(s, toks, req, a, msg); break;
        case JP_OP_PROF: e = read_prof(s, toks, req, a, msg); break;
        default: break; /* hello, info: no arguments */
        }
        if (e == JP_OK)
                *msg = NULL;
        return e;
}
