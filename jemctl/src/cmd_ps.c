/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * ps: every process with a reachable control socket in the runtime directory, with its
 * key figures.  Stale sockets (pid gone, or connection refused) are skipped; --clean
 * removes those of this user whose process is gone.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "jemctl.h"

/* info + stats summary of one process, as a row object; JC_OK or a status. */
static int probe(pid_t pid, json_t **row, enum jc_conn_fail *why)
{
        jc_conn_t c;
        int rc = jc_connect(pid, &c, true, why);
        if (rc != JC_OK)
                return rc;
        json_t *info = NULL, *s = NULL;
        jc_begin(&c, JP_OP_INFO);
        rc = jc_call(&c, &info);
        if (rc == JC_OK)
                rc = jc_stats_summary(&c, &s);
        jc_close(&c);
        if (rc == JC_OK) {
                const char *comm = jc_get_str(info, "comm");
                *row = json_object();
                json_object_set_new(*row, "pid", json_integer(pid));
                json_object_set_new(*row, "comm", comm ? json_string(comm) : json_null());
                static const char *const keys[] = {"allocated", "active", "resident", "rss",
                                                   "dirty_decay_ms", "muzzy_decay_ms"};
                for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
                        json_t *v = json_object_get(s, keys[i]);
                        json_object_set_new(*row, keys[i],
                                            json_is_integer(v) ? json_copy(v) : json_null());
                }
                json_object_set_new(*row, "socket", json_string(c.path));
        }
        json_decref(info);
        json_decref(s);
        return rc;
}

static const char *bytes_cell(char buf[32], const json_t *row, const char *k)
{
        uint64_t v;
        return jc_get_u64(row, k, &v) ? jc_fmt_bytes(buf, v) : "?";
}

static const char *ms_cell(char buf[32], const json_t *row, const char *k)
{
        int64_t v;
        if (!jc_get_i64(row, k, &v))
                return "?";
        if (v < 0)
                return "never";
        snprintf(buf, 32, "%" PRId64, v);
        return buf;
}

/* Nothing found: say where ps looked and why a process may not be there (stderr only;
 * the table or JSON on stdout stays as it is, and so does the exit status). */
static void explain_empty(const char *dir, bool missing, size_t stale, bool daemon)
{
        if (daemon) {
                fprintf(stderr, "jemctl: no process found: jemctld lists none (it scans the "
                                "runtime directory of its own user)\n");
                return;
        }
        if (missing) {
                fprintf(stderr,
                        "jemctl: no process found: the runtime directory %s does not exist\n"
                        "jemctl: create it with: mkdir -m 700 -p '%s'; processes running "
                        "liballoc that still allocate pick it up within a few seconds\n",
                        dir, dir);
        } else {
                fprintf(stderr, "jemctl: no process found in the runtime directory %s%s\n", dir,
                        stale > 0 ? " (only stale sockets)" : "");
        }
        fprintf(stderr, "jemctl: a process is listed when it runs with liballoc (LD_PRELOAD or "
                        "linked), is not started with MALLOC_CONF=ctl:false, and uses the same "
                        "runtime directory: $JEMCTL_RUNTIME_DIR, else /run/jemctl for root, "
                        "else $XDG_RUNTIME_DIR/jemctl (same user, same environment)\n");
}

/* The human table: one row per process. */
static void print_table(json_t *rows)
{
        jc_table_t t;
        jc_table_init(&t, 8, "rlrrrrrr");
        jc_table_add(&t, "PID", "COMMAND", "ALLOCATED", "ACTIVE", "RESIDENT", "RSS",
                     "DIRTY_MS", "MUZZY_MS");
        size_t i;
        json_t *row;
        json_array_foreach(rows, i, row) {
                char pid[24], b[4][32], d[32], m[32];
                uint64_t p = 0;
                jc_get_u64(row, "pid", &p);
                snprintf(pid, sizeof(pid), "%" PRIu64, p);
                const char *comm = jc_get_str(row, "comm");
                jc_table_add(&t, pid, comm ? comm : "?", bytes_cell(b[0], row, "allocated"),
                             bytes_cell(b[1], row, "active"), bytes_cell(b[2], row, "resident"),
                             bytes_cell(b[3], row, "rss"), ms_cell(d, row, "dirty_decay_ms"),
                             ms_cell(m, row, "muzzy_decay_ms"));
        }
        jc_table_print(&t, "");
        jc_table_free(&t);
}

int cmd_ps(int argc, char **argv)
{
        (void)argc;
        (void)argv;
        char dir[JC_PATH_MAX + 64];
        int rc = jc_runtime_dir(dir, sizeof(dir));
        if (rc != JC_OK)
                return rc;
        jc_sock_t *socks;
        size_t n;
        struct stat st;
        json_t *rows = NULL;
        size_t removed = 0, stale = 0;
        int status = JC_OK;
        bool dir_missing = false, used_daemon = false;
        /* jemctld's table when it runs (select.c): no connection to every process. */
        if (!jc_opt->clean && jc_daemon_rows(&rows) == JC_OK) {
                size_t i;
                json_t *row;
                json_array_foreach(rows, i, row) {
                        json_object_del(row, "cgroup");
                        json_object_del(row, "unit");
                        json_object_del(row, "error");
                }
                used_daemon = true;
                goto print;
        }
        dir_missing = stat(dir, &st) != 0 && errno == ENOENT;
        rc = jc_list_sockets(dir, &socks, &n);
        if (rc != JC_OK)
                return rc;
        rows = json_array();
        for (size_t i = 0; i < n; i++) {
                json_t *row = NULL;
                if (jc_selecting() && !jc_select_match_local(socks[i].pid))
                        continue;
                enum jc_conn_fail why = JC_CF_NONE;
                int r = probe(socks[i].pid, &row, &why);
                if (r == JC_OK) {
                        json_array_append_new(rows, row);
                        continue;
                }
                if (why == JC_CF_STALE || why == JC_CF_GONE || why == JC_CF_NOSOCK) {
                        /* NOSOCK: it went away between the listing and the connect. */
                        stale += why != JC_CF_NOSOCK;
                        if (jc_opt->clean && why == JC_CF_GONE && jc_remove_stale(&socks[i])) {
                                removed++;
                                if (!jc_opt->json)
                                        fprintf(stderr, "jemctl: removed stale socket %s\n",
                                                socks[i].path);
                        }
                        continue;
                }
                if (why == JC_CF_PERM)
                        jc_err("permission denied: pid %d: cannot connect to %s",
                               (int)socks[i].pid, socks[i].path);
                else if (why != JC_CF_NONE)
                        jc_err("pid %d: cannot connect to %s", (int)socks[i].pid,
                               socks[i].path);
                /* Else the request failed and said why already. */
                status = JC_FAIL;
        }
        free(socks);
print:
        if (jc_selecting() && json_array_size(rows) == 0 && status == JC_OK) {
                jc_err("no process matches the selectors");
                json_decref(rows);
                return JC_NOCONN;
        }
        if (json_array_size(rows) == 0 && status == JC_OK && !jc_selecting())
                explain_empty(dir, dir_missing, stale, used_daemon);
        if (jc_opt->json) {
                jc_print_json(rows, true);
        } else {
                print_table(rows);
                if (stale > removed && !jc_opt->clean)
                        fprintf(stderr, "jemctl: %zu stale socket%s skipped ('jemctl ps "
                                        "--clean' removes those whose process is gone)\n",
                                stale, stale == 1 ? "" : "s");
        }
        json_decref(rows);
        return status;
}
