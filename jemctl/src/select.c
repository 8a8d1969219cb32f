/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * select: the selectors --comm NAME, --unit UNIT and --all, which turn a command on one
 * process into the same command on every matching process.  Which processes match is
 * asked of jemctld when it runs and watches the same runtime directory (it already knows
 * every process's comm and cgroup); otherwise jemctl scans the runtime directory itself
 * and reads /proc/PID/comm and /proc/PID/cgroup.  Both give the same answer.  The daemon
 * only names pids: every request then goes from jemctl straight to each process's socket,
 * where SO_PEERCRED of jemctl itself is what the process authorizes; jemctld never acts
 * for jemctl.
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jcl/sock.h>

#include "jemctl.h"

#define JC_DAEMON_URL_DEFAULT "http://127.0.0.1:9464"
/* How long jemctl waits for the daemon before scanning by itself. */
#define JC_DAEMON_TIMEOUT 2.0

bool jc_selecting(void)
{
        return jc_opt->sel_comm != NULL || jc_opt->sel_unit != NULL || jc_opt->sel_all;
}

static bool matches(const char *comm, const char *cgroup)
{
        if (jc_opt->sel_comm != NULL && !jp_comm_matches(comm, jc_opt->sel_comm))
                return false;
        if (jc_opt->sel_unit != NULL && !jp_unit_matches(cgroup, jc_opt->sel_unit))
                return false;
        return true;
}

bool jc_select_match_local(pid_t pid)
{
        if (jc_remote_active())
                return jc_remote_selected(pid);
        if (jc_opt->sel_all)
                return true;
        char comm[64], cg[4096];
        const char *c = jcl_proc_comm(pid, comm, sizeof(comm)) ? comm : NULL;
        const char *g = jc_opt->sel_unit != NULL && jcl_proc_cgroup(pid, cg, sizeof(cg)) ? cg
                                                                                      : NULL;
        return matches(c, g);
}

/* ---- through the daemon --------------------------------------------------------------- */

static void put_query(char *q, size_t cap, const char *key, const char *v)
{
        size_t n = strlen(q);
        n += (size_t)snprintf(q + n, n < cap ? cap - n : 0, "%s%s=", strchr(q, '?') ? "&" : "?",
                              key);
        for (const unsigned char *c = (const unsigned char *)v; *c != '\0' && n + 4 < cap; c++) {
                if ((*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') ||
                    (*c >= '0' && *c <= '9') || strchr("-_.~", *c) != NULL)
                        q[n++] = (char)*c;
                else
                        n += (size_t)snprintf(q + n, cap - n, "%%%02X", *c);
        }
        q[n < cap ? n : cap - 1] = '\0';
}

static bool same_dir(const char *a, const char *b)
{
        if (a == NULL)
                return false;
        if (strcmp(a, b) == 0)
                return true;
        char ra[PATH_MAX], rb[PATH_MAX];
        return realpath(a, ra) != NULL && realpath(b, rb) != NULL && strcmp(ra, rb) == 0;
}

static int row_by_pid(const void *a, const void *b)
{
        json_int_t x = json_integer_value(json_object_get(*(json_t *const *)a, "pid"));
        json_int_t y = json_integer_value(json_object_get(*(json_t *const *)b, "pid"));
        return (x > y) - (x < y);
}

int jc_daemon_rows(json_t **rows)
{
        if (jc_remote_active())
                return JC_NOCONN; /* this host's jemctld knows nothing of that one */
        if (jc_opt->no_daemon)
                return JC_NOCONN;
        const char *url = jc_opt->daemon_url;
        bool explicit = url != NULL;
        if (url == NULL && (url = getenv("JEMCTLD_URL")) != NULL && url[0] != '\0')
                explicit = true;
        if (url == NULL || url[0] == '\0')
                url = JC_DAEMON_URL_DEFAULT;
        char dir[JC_PATH_MAX + 64];
        if (jc_runtime_dir(dir, sizeof(dir)) != JC_OK)
                return JC_NOCONN;
        char q[2048] = "/api/v1/select";
        if (jc_opt->sel_comm != NULL)
                put_query(q, sizeof(q), "comm", jc_opt->sel_comm);
        if (jc_opt->sel_unit != NULL)
                put_query(q, sizeof(q), "unit", jc_opt->sel_unit);
        char *body = NULL;
        int status = 0;
        double t = jc_opt->timeout < JC_DAEMON_TIMEOUT ? jc_opt->timeout : JC_DAEMON_TIMEOUT;
        long owner = -1;
        int rc = jc_http_get(url, q, t, &body, &status, &owner);
        if (rc == -EPERM) {
                /* Whatever the address: a stranger's answer would choose our targets. */
                if (owner >= 0)
                        fprintf(stderr,
                                "jemctl: jemctld at %s is served by uid %ld, not root or you; not "
                                "trusted, scanning %s instead\n",
                                url, owner, dir);
                else
                        fprintf(stderr,
                                "jemctl: cannot tell who serves jemctld at %s; not trusted, scanning "
                                "%s instead\n",
                                url, dir);
                return JC_NOCONN;
        }
        if (rc != 0 || status != 200) {
                if (explicit)
                        fprintf(stderr, "jemctl: jemctld at %s: %s; scanning %s instead\n", url,
                                rc == -EINVAL ? "not an http://HOST:PORT address"
                                : rc != 0     ? strerror(-rc)
                                              : "unexpected HTTP status",
                                dir);
                free(body);
                return JC_NOCONN;
        }
        json_error_t err;
        json_t *doc = json_loads(body, 0, &err);
        free(body);
        json_t *procs = json_object_get(doc, "processes");
        const char *rdir = json_string_value(json_object_get(doc, "runtime_dir"));
        if (!json_is_array(procs)) {
                if (explicit)
                        fprintf(stderr,
                                "jemctl: jemctld at %s: malformed answer; scanning %s "
                                "instead\n",
                                url, dir);
                json_decref(doc);
                return JC_NOCONN;
        }
        if (!same_dir(rdir, dir)) {
                char shown[JC_PATH_MAX + 64];
                snprintf(shown, sizeof(shown), "%s", rdir ? rdir : "?");
                jc_sanitize_text(shown);
                if (explicit)
                        fprintf(stderr,
                                "jemctl: jemctld at %s watches %s, not %s; scanning "
                                "instead\n",
                                url, shown, dir);
                json_decref(doc);
                return JC_NOCONN;
        }
        /* Sorted by pid, as the scan lists them. */
        size_t n = json_array_size(procs);
        json_t **v = calloc(n + 1, sizeof(*v));
        if (v == NULL) {
                json_decref(doc);
                return JC_NOCONN;
        }
        for (size_t i = 0; i < n; i++)
                v[i] = json_array_get(procs, i);
        qsort(v, n, sizeof(*v), row_by_pid);
        *rows = json_array();
        for (size_t i = 0; i < n; i++)
                json_array_append(*rows, v[i]);
        free(v);
        json_decref(doc);
        /* The rows carry what each process said of itself (its comm, relayed by the
         * daemon): for a terminal, sanitized as the answers of a process read directly
         * are (client.c); JSON output escapes control characters itself. */
        if (!jc_opt->json)
                jc_sanitize_json(*rows);
        return JC_OK;
}

/* ---- the pids ------------------------------------------------------------------------- */

static int by_pid(const void *a, const void *b)
{
        pid_t x = *(const pid_t *)a, y = *(const pid_t *)b;
        return (x > y) - (x < y);
}

static void describe(char *buf, size_t cap)
{
        int n = 0;
        if (jc_opt->sel_all)
                n = snprintf(buf, cap, "--all");
        if (jc_opt->sel_comm != NULL)
                n += snprintf(buf + n, cap - (size_t)n, "%s--comm %s", n ? " " : "",
                              jc_opt->sel_comm);
        if (jc_opt->sel_unit != NULL && (size_t)n < cap)
                snprintf(buf + n, cap - (size_t)n, "%s--unit %s", n ? " " : "", jc_opt->sel_unit);
}

int jc_select_pids(pid_t **out, size_t *n, bool *via_daemon)
{
        *out = NULL;
        *n = 0;
        json_t *rows = NULL;
        pid_t *v = NULL;
        size_t k = 0;
        if (jc_remote_active()) {
                *via_daemon = false;
                return jc_remote_select(out, n);
        }
        *via_daemon = jc_daemon_rows(&rows) == JC_OK;
        if (*via_daemon) {
                v = calloc(json_array_size(rows) + 1, sizeof(*v));
                size_t i;
                json_t *r;
                json_array_foreach(rows, i, r) {
                        json_int_t p = json_integer_value(json_object_get(r, "pid"));
                        if (v != NULL && p > 0 && p <= INT_MAX)
                                v[k++] = (pid_t)p;
                }
                json_decref(rows);
        } else {
                char dir[JC_PATH_MAX + 64];
                int rc = jc_runtime_dir(dir, sizeof(dir));
                if (rc != JC_OK)
                        return rc;
                jc_sock_t *socks;
                size_t ns;
                rc = jc_list_sockets(dir, &socks, &ns);
                if (rc != JC_OK)
                        return rc;
                v = calloc(ns + 1, sizeof(*v));
                for (size_t i = 0; v != NULL && i < ns; i++)
                        if (jc_pid_alive(socks[i].pid) && jc_select_match_local(socks[i].pid))
                                v[k++] = socks[i].pid;
                free(socks);
        }
        if (v == NULL) {
                jc_err("out of memory");
                return JC_FAIL;
        }
        if (k == 0) {
                char d[512];
                describe(d, sizeof(d));
                jc_err("no process matches %s", d);
                free(v);
                return JC_NOCONN;
        }
        qsort(v, k, sizeof(*v), by_pid);
        *out = v;
        *n = k;
        return JC_OK;
}

int jc_for_each_selected(int (*fn)(int, char **), int argc, char **argv, bool header)
{
        pid_t *pids;
        size_t n;
        bool via;
        int rc = jc_select_pids(&pids, &n, &via);
        if (rc != JC_OK)
                return rc;
        char **args = calloc((size_t)argc + 2, sizeof(*args));
        if (args == NULL) {
                free(pids);
                jc_err("out of memory");
                return JC_FAIL;
        }
        for (int i = 0; i < argc; i++)
                args[i + 1] = argv[i];
        int worst = JC_OK;
        size_t failed = 0;
        for (size_t i = 0; i < n; i++) {
                char pid[16];
                snprintf(pid, sizeof(pid), "%d", (int)pids[i]);
                args[0] = pid;
                if (header && !jc_opt->json)
                        printf("%spid %s:\n", i > 0 ? "\n" : "", pid);
                fflush(stdout);
                int r = fn(argc + 1, args);
                fflush(stdout);
                if (r != JC_OK) {
                        failed++;
                        if (r > worst)
                                worst = r;
                }
        }
        if (failed > 0)
                jc_err("%zu of %zu processes failed", failed, n);
        free(args);
        free(pids);
        return worst;
}

/* Verbs that take selectors, and whether each process's output gets a "pid N:" header
 * (decay, purge and prof already say "pid N: ..." on every line). */
static const struct {
        const char *verb;
        bool header;
} sel_verbs[] = {
        {"ps", false}, {"decay", false}, {"purge", false}, {"prof", false},
        {"set", true}, {"get", true},    {"stats", true},  {"info", true},
};

int jc_select_run(const char *verb, int (*fn)(int, char **), int min_args, int max_args, int npos,
                  char **pos)
{
        size_t i;
        for (i = 0; i < sizeof(sel_verbs) / sizeof(sel_verbs[0]); i++)
                if (strcmp(sel_verbs[i].verb, verb) == 0)
                        break;
        const char *why = NULL;
        char msg[160];
        if (i == sizeof(sel_verbs) / sizeof(sel_verbs[0])) {
                snprintf(msg, sizeof(msg), "--comm, --unit and --all do not apply to '%s'", verb);
                why = msg;
        } else if (jc_opt->sel_comm != NULL && jc_opt->sel_comm[0] == '\0') {
                why = "--comm needs a command name";
        } else if (jc_opt->sel_unit != NULL && jc_opt->sel_unit[0] == '\0') {
                why = "--unit needs a unit name";
        } else if (jc_opt->sel_all && (jc_opt->sel_comm != NULL || jc_opt->sel_unit != NULL)) {
                why = "--all selects every process: it does not go with --comm or --unit";
        } else if (strcmp(verb, "prof") == 0 && npos > 0 &&
                   (strcmp(pos[0], "dump") == 0 || strcmp(pos[0], "convert") == 0)) {
                why = "prof dump and prof convert take one process: give its PID";
        } else if (strcmp(verb, "ps") != 0 &&
                   (npos < min_args - 1 || (max_args >= 0 && npos > max_args - 1))) {
                snprintf(msg, sizeof(msg),
                         "%s arguments for '%s' with a selector (its "
                         "arguments without the PID)",
                         npos < min_args - 1 ? "missing" : "too many", verb);
                why = msg;
        }
        if (why != NULL) {
                jc_err("%s", why);
                fputs("Try 'jemctl --help'.\n", stderr);
                return JC_USAGE;
        }
        if (strcmp(verb, "ps") == 0)
                return fn(npos, pos);
        return jc_for_each_selected(fn, npos, pos, sel_verbs[i].header);
}
