/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * req: the typed request builders, one per request kind with arguments: each writes the
 * members beside {"v", "id", "op"} under the keys of docs/protocol.md (JP_ARG_*), so the
 * clients never spell them.
 */
#include <string.h>

#include "jp/proto.h"

static const char *const prof_actions[JP_PROF_NACTIONS] = {
        [JP_PROF_ON] = "on",         [JP_PROF_OFF] = "off",   [JP_PROF_STATUS] = "status",
        [JP_PROF_RESET] = "reset",   [JP_PROF_DUMP] = "dump",
};

const char *jp_prof_action_name(enum jp_prof_action a)
{
        return (unsigned)a < JP_PROF_NACTIONS ? prof_actions[a] : "?";
}

enum jp_prof_action jp_prof_action_parse(const char *s)
{
        for (unsigned i = 0; s != NULL && i < JP_PROF_NACTIONS; i++)
                if (strcmp(s, prof_actions[i]) == 0)
                        return (enum jp_prof_action)i;
        return JP_PROF_NACTIONS;
}

void jp_req_get_begin(jp_writer_t *w)
{
        jp_w_key(w, JP_ARG_NAMES);
        jp_w_arr(w);
}

void jp_req_get_name(jp_writer_t *w, const char *name)
{
        jp_w_str(w, name);
}

void jp_req_get_end(jp_writer_t *w)
{
        jp_w_arr_end(w);
}

void jp_req_get(jp_writer_t *w, const char *const *names, size_t n)
{
        jp_req_get_begin(w);
        for (size_t i = 0; i < n; i++)
                jp_req_get_name(w, names[i]);
        jp_req_get_end(w);
}

void jp_req_set_begin(jp_writer_t *w)
{
        jp_w_key(w, JP_ARG_VALUES);
        jp_w_obj(w);
}

void jp_req_set_bool(jp_writer_t *w, const char *name, bool v)
{
        jp_w_key(w, name);
        jp_w_bool(w, v);
}

void jp_req_set_u64(jp_writer_t *w, const char *name, uint64_t v)
{
        jp_w_key(w, name);
        jp_w_u64(w, v);
}

void jp_req_set_i64(jp_writer_t *w, const char *name, int64_t v)
{
        jp_w_key(w, name);
        jp_w_i64(w, v);
}

void jp_req_set_str(jp_writer_t *w, const char *name, const char *v)
{
        jp_w_key(w, name);
        jp_w_str(w, v);
}

void jp_req_set_null(jp_writer_t *w, const char *name)
{
        jp_w_key(w, name);
        jp_w_null(w);
}

void jp_req_set_end(jp_writer_t *w)
{
        jp_w_obj_end(w);
}

void jp_req_list(jp_writer_t *w, const char *prefix)
{
        if (prefix == NULL)
                return;
        jp_w_key(w, JP_ARG_PREFIX);
        jp_w_str(w, prefix);
}

void jp_req_stats(jp_writer_t *w, bool full)
{
        jp_w_key(w, JP_ARG_FULL);
        jp_w_bool(w, full);
}

void jp_req_purge(jp_writer_t *w, uint64_t arena, bool pressure)
{
        if (arena != JP_ARENA_ALL) {
                jp_w_key(w, JP_ARG_ARENA);
                jp_w_u64(w, arena);
        }
        if (pressure) {
                jp_w_key(w, JP_ARG_PRESSURE);
                jp_w_bool(w, true);
        }
}

void jp_req_decay_all(jp_writer_t *w, int64_t dirty_ms, bool has_muzzy, int64_t muzzy_ms)
{
        jp_w_key(w, JP_ARG_DIRTY_MS);
        jp_w_i64(w, dirty_ms);
        if (has_muzzy) {
                jp_w_key(w, JP_ARG_MUZZY_MS);
                jp_w_i64(w, muzzy_ms);
        }
}

void jp_req_prof(jp_writer_t *w, enum jp_prof_action action, bool has_lg, uint64_t lg_sample)
{
        jp_w_key(w, JP_ARG_ACTION);
        jp_w_str(w, jp_prof_action_name(action));
        if (has_lg) {
                jp_w_key(w, JP_ARG_LG_SAMPLE);
                jp_w_u64(w, lg_sample);
        }
}
