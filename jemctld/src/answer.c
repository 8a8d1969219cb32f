/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * answer: the parts of a process's `info` and `stats` answers that jemctld keeps (the
 * figures and a few bounded strings), so that no answer's size outlives its parsing.
 */
#include <stdbool.h>
#include <string.h>

#include "answer.h"

#define STR_SHORT 64
#define STR_PATH 4096
#define CMDLINE_ARGS 64
#define CMDLINE_BYTES 4096
#define FIG_DEPTH 3
#define FIG_MEMBERS 64
#define FIG_ELEMENTS 4352 /* 4096 manual arenas and automatic ones */

static const struct {
        const char *key;
        size_t max; /* 0: an integer */
} info_keys[] = {
        {"pid", 0},           {"ppid", 0},         {"gid", 0},
        {"start_time", 0},    {"comm", STR_SHORT}, {"exe", STR_PATH},
        {"cgroup", STR_PATH}, {"allocator", STR_SHORT},
        {"allocator_version", STR_SHORT},          {"jemalloc_version", STR_SHORT * 2},
        {"runtime_dir", STR_PATH},                 {"socket", STR_PATH},
};

static json_t *cmdline(const json_t *v)
{
        json_t *a = json_array();
        size_t i, bytes = 0;
        const json_t *s;
        json_array_foreach(v, i, s)
        {
                if (i >= CMDLINE_ARGS || !json_is_string(s))
                        break;
                bytes += json_string_length(s);
                if (bytes > CMDLINE_BYTES)
                        break;
                json_array_append(a, (json_t *)s);
        }
        return a;
}

json_t *jd_answer_info(const json_t *res, uid_t uid)
{
        json_t *o = json_object();
        if (o == NULL)
                return NULL;
        for (size_t i = 0; i < sizeof(info_keys) / sizeof(info_keys[0]); i++) {
                json_t *v = json_object_get(res, info_keys[i].key);
                bool keep = info_keys[i].max == 0
                                    ? json_is_integer(v)
                                    : json_is_string(v) &&
                                              json_string_length(v) <= info_keys[i].max;
                if (keep)
                        json_object_set(o, info_keys[i].key, v);
        }
        json_t *cl = json_object_get(res, "cmdline");
        if (json_is_array(cl))
                json_object_set_new(o, "cmdline", cmdline(cl));
        json_object_set_new(o, "uid", json_integer((json_int_t)uid));
        return o;
}

static json_t *figures(const json_t *v, int depth)
{
        if (json_is_number(v) || json_is_boolean(v) || json_is_null(v))
                return json_deep_copy(v);
        if (json_is_string(v))
                return json_string_length(v) <= STR_SHORT ? json_deep_copy(v) : NULL;
        if (depth >= FIG_DEPTH)
                return NULL;
        if (json_is_array(v)) {
                json_t *a = json_array();
                size_t i;
                const json_t *e;
                json_array_foreach(v, i, e)
                {
                        if (i >= FIG_ELEMENTS)
                                break;
                        json_t *k = figures(e, depth + 1);
                        if (k != NULL)
                                json_array_append_new(a, k);
                }
                return a;
        }
        if (!json_is_object(v))
                return NULL;
        json_t *o = json_object();
        size_t n = 0;
        const char *key;
        const json_t *m;
        json_object_foreach((json_t *)v, key, m)
        {
                if (n >= FIG_MEMBERS || strlen(key) > STR_SHORT)
                        continue;
                json_t *k = figures(m, depth + 1);
                if (k != NULL && json_object_set_new(o, key, k) == 0)
                        n++;
        }
        return o;
}

json_t *jd_answer_stats(const json_t *res)
{
        return json_is_object(res) ? figures(res, 0) : NULL;
}
