/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * get, set and ls: the mallctl namespace of a process.  set first asks the process for
 * the type of each name (op list) and converts VALUE to it on this side, so a value that
 * does not fit is refused before anything is changed.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "jemctl.h"

/* One line for a name the process answered with an error; value: what set wrote (NULL
 * for get and actions).  An unknown name gets the closest known one; a value the name
 * refuses (EFAULT, as in jemalloc) is said in those words. */
static void print_entry_error(pid_t pid, const char *name, const json_t *entry,
                              const char *value)
{
        json_t *e = json_object_get(entry, "error");
        const char *code = jc_get_str(e, "code"), *msg = jc_get_str(e, "message");
        char hint[300] = "";
        if (code != NULL && strcmp(code, "ENOENT") == 0) {
                char best[256];
                if (jc_suggest_name(pid, name, best, sizeof(best))[0] != '\0')
                        snprintf(hint, sizeof(hint), " (did you mean '%s'?)", best);
        } else if (code != NULL && strcmp(code, "EFAULT") == 0 && value != NULL) {
                msg = "the process refused this value (out of range for the name)";
                snprintf(hint, sizeof(hint), ": %s", value);
        }
        jc_err("%s: %s%s%s%s", name, code != NULL ? code : "error", msg != NULL ? ": " : "",
               msg != NULL ? msg : "", hint);
}

/* ---- get ---------------------------------------------------------------------------- */

int cmd_get(int argc, char **argv)
{
        pid_t pid = jc_parse_pid(argv[0]);
        if (pid < 0)
                return JC_USAGE;
        for (int i = 1; i < argc; i++)
                if (argv[i][0] == '\0' || strlen(argv[i]) >= 256) {
                        jc_err("'%s' is not a mallctl name", argv[i]);
                        return JC_USAGE;
                }
        jc_conn_t c;
        int rc = jc_connect(pid, &c, false, NULL);
        if (rc != JC_OK)
                return rc;
        /* stats.* are a snapshot taken at each epoch: refresh it first, through the stats
         * summary (it advances the epoch and needs only read permission). */
        int status = JC_OK;
        for (int i = 1; i < argc; i++)
                if (strncmp(argv[i], "stats.", 6) == 0) {
                        json_t *s = NULL;
                        status = jc_stats_summary(&c, &s);
                        json_decref(s);
                        break;
                }
        if (status != JC_OK) {
                jc_close(&c);
                return status;
        }
        json_t *all = json_object(); /* name -> entry, in the order asked */
        for (int first = 1; first < argc && status == JC_OK;) {
                jp_writer_t *w = jc_begin(&c, JP_OP_GET);
                jp_req_get_begin(w);
                int last = first, n = 0;
                for (; last < argc && n < JP_MAX_NAMES; last++) {
                        if (json_object_get(all, argv[last]) != NULL)
                                continue; /* asked twice: once is enough */
                        bool dup = false;
                        for (int k = first; k < last && !dup; k++)
                                dup = strcmp(argv[k], argv[last]) == 0;
                        if (dup)
                                continue;
                        jp_req_get_name(w, argv[last]);
                        n++;
                }
                jp_req_get_end(w);
                json_t *r = NULL;
                if (n > 0) {
                        status = jc_call(&c, &r);
                        json_t *vals = json_object_get(r, JP_ARG_VALUES);
                        if (status == JC_OK && !json_is_object(vals)) {
                                jc_err("pid %d: malformed answer: no \"values\" object",
                                       (int)pid);
                                status = JC_FAIL;
                        }
                        for (int k = first; status == JC_OK && k < last; k++) {
                                if (json_object_get(all, argv[k]) != NULL)
                                        continue;
                                json_t *e = json_object_get(vals, argv[k]);
                                json_object_set(all, argv[k], json_is_object(e) ? e
                                                                               : json_null());
                        }
                }
                json_decref(r);
                first = last;
        }
        jc_close(&c);
        if (status != JC_OK) {
                json_decref(all);
                return status;
        }
        for (int i = 1; i < argc; i++) {
                json_t *e = json_object_get(all, argv[i]);
                if (json_is_null(e)) {
                        jc_err("%s: no (well-formed) answer for this name", argv[i]);
                        status = JC_FAIL;
                } else if (json_object_get(e, "error") != NULL ||
                           json_object_get(e, "value") == NULL) {
                        print_entry_error(pid, argv[i], e, NULL);
                        status = JC_FAIL;
                } else if (!jc_opt->json) {
                        char *v = jc_value_text(json_object_get(e, "value"));
                        printf("%s = %s\n", argv[i], v != NULL ? v : "?");
                        free(v);
                }
        }
        if (jc_opt->json) {
                json_t *doc = json_pack("{s:I,s:o}", "pid", (json_int_t)pid, "values", all);
                jc_print_json(doc, true);
                json_decref(doc);
        } else {
                json_decref(all);
        }
        return status;
}

/* ---- set ---------------------------------------------------------------------------- */

typedef struct setarg {
        char *name;
        const char *value; /* text after '=' */
        char type[64];     /* "" when the process does not know the name */
        enum jp_kind kind;
        bool known; /* false: the process does not know the name (it will say so) */
        json_t *json; /* the converted value */
} setarg_t;

/* The type of a name, asked with op list; "" if the process has no such name. */
static int learn_type(jc_conn_t *c, setarg_t *a)
{
        char norm[256];
        jp_name_pattern(a->name, norm, sizeof(norm), NULL);
        jp_req_list(jc_begin(c, JP_OP_LIST), a->name);
        json_t *r = NULL;
        int rc = jc_call(c, &r);
        if (rc != JC_OK)
                return rc;
        json_t *names = json_object_get(r, JP_ARG_NAMES);
        size_t i;
        json_t *e;
        a->type[0] = '\0';
        json_array_foreach(names, i, e) {
                const char *n = jc_get_str(e, "name"), *t = jc_get_str(e, "type");
                if (n != NULL && t != NULL && strcmp(n, norm) == 0) {
                        snprintf(a->type, sizeof(a->type), "%s", t);
                        break;
                }
        }
        json_decref(r);
        a->known = a->type[0] != '\0';
        a->kind = jp_type_kind(a->type);
        return JC_OK;
}

static const char *kind_hint(enum jp_kind k)
{
        switch (k) {
        case JP_K_BOOL: return "true, false, 1 or 0";
        case JP_K_U32: return "an unsigned integer below 2^32";
        case JP_K_U64: return "an unsigned integer";
        case JP_K_I64: return "a signed integer; -1 means never for decay times";
        case JP_K_VOID: return "no value";
        default: return "a value";
        }
}

/* Converts the text for the name's type; false (with the message printed) if it does
 * not fit. */
static bool convert(setarg_t *a)
{
        const char *v = a->value;
        uint64_t uv;
        int64_t iv;
        if (!a->known) {
                a->json = json_null(); /* the process reports the name as unknown */
                return true;
        }
        switch (a->kind) {
        case JP_K_BOOL:
                if (strcmp(v, "true") == 0 || strcmp(v, "1") == 0)
                        a->json = json_true();
                else if (strcmp(v, "false") == 0 || strcmp(v, "0") == 0)
                        a->json = json_false();
                break;
        case JP_K_U32:
        case JP_K_U64:
                if (jc_parse_u64(v, &uv) && (a->kind == JP_K_U64 || uv <= UINT32_MAX) &&
                    uv <= INT64_MAX)
                        a->json = json_integer((json_int_t)uv);
                else if (jc_parse_u64(v, &uv) && a->kind == JP_K_U64)
                        a->json = json_real((double)uv); /* written back exactly below */
                break;
        case JP_K_I64:
                if (jc_parse_i64(v, &iv))
                        a->json = json_integer((json_int_t)iv);
                break;
        case JP_K_STR:
                a->json = json_string(v);
                break;
        case JP_K_VOID:
                if (v[0] == '\0' || strcmp(v, "null") == 0)
                        a->json = json_null();
                break;
        case JP_K_OTHER:
                jc_err("%s has type %s, which the control protocol does not carry", a->name,
                       a->type);
                return false;
        }
        if (a->json == NULL && a->kind == JP_K_VOID) {
                jc_err("%s is an action (void): it takes no value (write '%s=')", a->name,
                       a->name);
                return false;
        }
        if (a->json == NULL) {
                jc_err("%s: '%s' is not a valid %s (expected %s)", a->name, v, a->type,
                       kind_hint(a->kind));
                return false;
        }
        return true;
}

static void write_value(jp_writer_t *w, const setarg_t *a)
{
        uint64_t uv;
        switch (a->kind) {
        case JP_K_BOOL: jp_req_set_bool(w, a->name, json_is_true(a->json)); break;
        case JP_K_U32:
        case JP_K_U64:
                jc_parse_u64(a->value, &uv);
                jp_req_set_u64(w, a->name, uv);
                break;
        case JP_K_I64: jp_req_set_i64(w, a->name, (int64_t)json_integer_value(a->json)); break;
        case JP_K_STR: jp_req_set_str(w, a->name, a->value); break;
        default: jp_req_set_null(w, a->name); break;
        }
}

/* arenas.{dirty,muzzy}_decay_ms are, as in jemalloc, only the default of the arenas made
 * from now on: said on stderr, with what changes the existing ones. */
static void default_only_note(pid_t pid, const char *name)
{
        const char *which = strcmp(name, "arenas.dirty_decay_ms") == 0   ? "dirty"
                            : strcmp(name, "arenas.muzzy_decay_ms") == 0 ? "muzzy"
                                                                         : NULL;
        if (which == NULL)
                return;
        fprintf(stderr,
                "note: %s is the default of arenas created from now on; the existing arenas "
                "keep their %s decay time.  To change them all: jemctl decay %d %s\n",
                name, which, (int)pid,
                which[0] == 'd' ? "DIRTY_MS [MUZZY_MS]" : "DIRTY_MS MUZZY_MS");
}

static int set_one_batch(jc_conn_t *c, setarg_t *args, int n, json_t *out, bool *any_err)
{
        jp_writer_t *w = jc_begin(c, JP_OP_SET);
        jp_req_set_begin(w);
        for (int i = 0; i < n; i++)
                write_value(w, &args[i]);
        jp_req_set_end(w);
        json_t *r = NULL;
        int rc = jc_call(c, &r);
        if (rc != JC_OK)
                return rc;
        json_t *vals = json_object_get(r, JP_ARG_VALUES);
        if (!json_is_object(vals)) {
                json_decref(r);
                jc_err("pid %d: malformed answer: no \"values\" object", (int)c->pid);
                return JC_FAIL;
        }
        for (int i = 0; i < n; i++) {
                setarg_t *a = &args[i];
                json_t *e = json_object_get(vals, a->name);
                json_t *old = json_object_get(e, "old");
                if (old == NULL)
                        old = json_object_get(e, "value");
                if (!json_is_object(e)) {
                        jc_err("%s: the process did not answer for this name", a->name);
                        *any_err = true;
                        json_object_set_new(out, a->name, json_null());
                        continue;
                }
                json_t *entry = json_deep_copy(e);
                if (json_object_get(e, "error") != NULL) {
                        print_entry_error(c->pid, a->name, e,
                                          a->kind == JP_K_VOID ? NULL : a->value);
                        *any_err = true;
                        json_object_set_new(out, a->name, entry);
                        continue;
                }
                if (a->kind != JP_K_VOID)
                        json_object_set(entry, "new", a->json);
                json_object_set_new(out, a->name, entry);
                if (jc_opt->json)
                        continue;
                if (a->kind == JP_K_VOID) {
                        printf("%s: done\n", a->name);
                } else {
                        char *ot = old != NULL ? jc_value_text(old) : NULL;
                        char *nt = a->kind == JP_K_STR ? strdup(a->value) : jc_value_text(a->json);
                        if (a->kind == JP_K_U64 || a->kind == JP_K_U32) {
                                free(nt);
                                nt = strdup(a->value);
                        }
                        printf("%s: %s -> %s\n", a->name, ot != NULL ? ot : "(unreadable)",
                               nt != NULL ? nt : "?");
                        free(ot);
                        free(nt);
                        default_only_note(c->pid, a->name);
                }
        }
        json_decref(r);
        return JC_OK;
}

int cmd_set(int argc, char **argv)
{
        pid_t pid = jc_parse_pid(argv[0]);
        if (pid < 0)
                return JC_USAGE;
        int n = argc - 1;
        setarg_t *args = calloc((size_t)n, sizeof(*args));
        if (args == NULL)
                return JC_FAIL;
        int rc = JC_OK;
        for (int i = 0; i < n && rc == JC_OK; i++) {
                char *eq = strchr(argv[i + 1], '=');
                if (eq == NULL || eq == argv[i + 1] || eq - argv[i + 1] >= 256) {
                        jc_err("'%s' is not NAME=VALUE (an action takes NAME=)", argv[i + 1]);
                        fputs("Try 'jemctl --help'.\n", stderr);
                        rc = JC_USAGE;
                        break;
                }
                args[i].name = strndup(argv[i + 1], (size_t)(eq - argv[i + 1]));
                args[i].value = eq + 1;
                for (int k = 0; k < i; k++)
                        if (strcmp(args[k].name, args[i].name) == 0) {
                                jc_err("%s is given twice", args[i].name);
                                rc = JC_USAGE;
                        }
        }
        jc_conn_t c;
        if (rc == JC_OK)
                rc = jc_connect(pid, &c, false, NULL);
        bool connected = rc == JC_OK;
        for (int i = 0; i < n && rc == JC_OK; i++)
                rc = learn_type(&c, &args[i]);
        for (int i = 0; i < n && rc == JC_OK; i++)
                if (!convert(&args[i]))
                        rc = JC_USAGE; /* nothing has been changed */
        json_t *out = json_object();
        bool any_err = false;
        for (int first = 0; first < n && rc == JC_OK; first += JP_MAX_NAMES) {
                int cnt = n - first < JP_MAX_NAMES ? n - first : JP_MAX_NAMES;
                rc = set_one_batch(&c, args + first, cnt, out, &any_err);
        }
        if (connected)
                jc_close(&c);
        if (rc == JC_OK && jc_opt->json) {
                json_t *doc = json_pack("{s:I,s:O}", "pid", (json_int_t)pid, "values", out);
                jc_print_json(doc, true);
                json_decref(doc);
        }
        json_decref(out);
        for (int i = 0; i < n; i++) {
                free(args[i].name);
                json_decref(args[i].json);
        }
        free(args);
        return rc != JC_OK ? rc : any_err ? JC_FAIL : JC_OK;
}

/* ---- ls ----------------------------------------------------------------------------- */

static int list_names(jc_conn_t *c, const char *prefix, json_t **r)
{
        jp_req_list(jc_begin(c, JP_OP_LIST), prefix);
        return jc_call(c, r);
}

int cmd_ls(int argc, char **argv)
{
        pid_t pid = jc_parse_pid(argv[0]);
        if (pid < 0)
                return JC_USAGE;
        const char *prefix = argc > 1 ? argv[1] : NULL;
        if (prefix != NULL && strlen(prefix) >= 256) {
                jc_err("prefix too long");
                return JC_USAGE;
        }
        jc_conn_t c;
        int rc = jc_connect(pid, &c, false, NULL);
        if (rc != JC_OK)
                return rc;
        json_t *r = NULL;
        rc = list_names(&c, prefix, &r);
        /* The process matches whole components ("arenas.dirty" is no name's prefix there);
         * a person means the start of the text: the names under the parent that start so. */
        if (rc == JC_OK && prefix != NULL && json_array_size(json_object_get(r, JP_ARG_NAMES)) == 0 &&
            prefix[0] != '\0' && prefix[strlen(prefix) - 1] != '.') {
                char parent[256];
                snprintf(parent, sizeof(parent), "%s", prefix);
                char *dot = strrchr(parent, '.');
                if (dot != NULL)
                        *dot = '\0';
                json_t *all = NULL;
                if (list_names(&c, dot != NULL ? parent : NULL, &all) == JC_OK) {
                        json_t *keep = json_array();
                        size_t i;
                        json_t *e;
                        json_array_foreach(json_object_get(all, JP_ARG_NAMES), i, e) {
                                const char *n = jc_get_str(e, "name");
                                if (n != NULL && strncmp(n, prefix, strlen(prefix)) == 0)
                                        json_array_append(keep, e);
                        }
                        json_object_set_new(r, JP_ARG_NAMES, keep);
                }
                json_decref(all);
        }
        jc_close(&c);
        if (rc != JC_OK)
                return rc;
        json_t *names = json_object_get(r, JP_ARG_NAMES);
        size_t k;
        json_t *ent;
        bool entries_ok = json_is_array(names);
        json_array_foreach(names, k, ent) {
                if (jc_get_str(ent, "name") == NULL || jc_get_str(ent, "type") == NULL ||
                    jc_get_str(ent, "rw") == NULL)
                        entries_ok = false;
        }
        if (!entries_ok) {
                jc_err("pid %d: malformed answer: \"names\" is not an array of "
                       "{name, type, rw}",
                       (int)pid);
                json_decref(r);
                return JC_FAIL;
        }
        if (jc_opt->json) {
                json_t *doc = json_pack("{s:I,s:O}", "pid", (json_int_t)pid, "names", names);
                jc_print_json(doc, true);
                json_decref(doc);
        } else {
                jc_table_t t;
                jc_table_init(&t, 3, "lll");
                jc_table_add(&t, "NAME", "TYPE", "RW");
                size_t i;
                json_t *e;
                json_array_foreach(names, i, e) {
                        jc_table_add(&t, jc_get_str(e, "name"), jc_get_str(e, "type"),
                                     jc_get_str(e, "rw"));
                }
                if (json_array_size(names) > 0)
                        jc_table_print(&t, "");
                jc_table_free(&t);
        }
        if (json_array_size(names) == 0 && prefix != NULL) {
                jc_err("pid %d: no names under '%s'", (int)pid, prefix);
                rc = JC_FAIL;
        }
        json_decref(r);
        return rc;
}
