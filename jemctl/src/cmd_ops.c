/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * info, decay and purge: one operation each on one process (prof: cmd_prof.c).
 */
#include <errno.h>
#include <inttypes.h>
#include <pwd.h>
#include <grp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "jemctl.h"

static uint64_t u(const json_t *o, const char *k)
{
        uint64_t v = 0;
        jc_get_u64(o, k, &v);
        return v;
}

/* ---- info --------------------------------------------------------------------------- */

static void line(const char *key, const char *val)
{
        printf("%-18s %s\n", key, val != NULL ? val : "-");
}

int cmd_info(int argc, char **argv)
{
        (void)argc;
        pid_t pid = jc_parse_pid(argv[0]);
        if (pid < 0)
                return JC_USAGE;
        json_t *r = NULL;
        int rc = jc_simple(pid, JP_OP_INFO, &r);
        if (rc != JC_OK)
                return rc;
        uint64_t rpid;
        if (!json_is_object(r) || !jc_get_u64(r, "pid", &rpid)) {
                jc_err("pid %d: malformed answer: info is not an object with a pid", (int)pid);
                json_decref(r);
                return JC_FAIL;
        }
        if (jc_opt->json) {
                jc_print_json(r, true);
                json_decref(r);
                return JC_OK;
        }
        char buf[512];
        uint64_t v;
        snprintf(buf, sizeof(buf), "%" PRIu64, u(r, "pid"));
        line("pid:", buf);
        snprintf(buf, sizeof(buf), "%" PRIu64, u(r, "ppid"));
        line("ppid:", buf);
        if (jc_get_u64(r, "uid", &v)) {
                struct passwd *pw = getpwuid((uid_t)v);
                snprintf(buf, sizeof(buf), "%" PRIu64 "%s%s%s", v, pw ? " (" : "",
                         pw ? pw->pw_name : "", pw ? ")" : "");
                line("uid:", buf);
        }
        if (jc_get_u64(r, "gid", &v)) {
                struct group *gr = getgrgid((gid_t)v);
                snprintf(buf, sizeof(buf), "%" PRIu64 "%s%s%s", v, gr ? " (" : "",
                         gr ? gr->gr_name : "", gr ? ")" : "");
                line("gid:", buf);
        }
        line("command:", jc_get_str(r, "comm"));
        line("executable:", jc_get_str(r, "exe"));
        json_t *cmd = json_object_get(r, "cmdline");
        if (json_is_array(cmd)) {
                size_t i;
                json_t *a;
                printf("%-18s", "command line:");
                json_array_foreach(cmd, i, a) {
                        const char *s = json_string_value(a);
                        bool plain = s != NULL && s[0] != '\0' &&
                                     strpbrk(s, " \t\n'\"\\$`*?[]{}()<>|&;#~") == NULL;
                        if (plain) {
                                printf(" %s", s);
                        } else {
                                fputs(" '", stdout);
                                for (const char *p = s ? s : ""; *p; p++)
                                        fputs(*p == '\'' ? "'\\''" : (char[2]){*p, 0}, stdout);
                                fputc('\'', stdout);
                        }
                }
                fputc('\n', stdout);
        }
        if (jc_get_u64(r, "start_time", &v) && v > 0) {
                time_t t = (time_t)v;
                struct tm tm;
                char ts[64];
                strftime(ts, sizeof(ts), "%Y-%m-%d %H:%M:%S %z", localtime_r(&t, &tm));
                long age = (long)(time(NULL) - t);
                snprintf(buf, sizeof(buf), "%s (%ldd %02ld:%02ld:%02ld ago)", ts,
                         age / 86400, age / 3600 % 24, age / 60 % 60, age % 60);
                line("started:", buf);
        }
        line("cgroup:", jc_get_str(r, "cgroup"));
        const char *jv = jc_get_str(r, "jemalloc_version");
        snprintf(buf, sizeof(buf), "%s %s%s%s%s",
                 jc_get_str(r, "allocator") ? jc_get_str(r, "allocator") : "?",
                 jc_get_str(r, "allocator_version") ? jc_get_str(r, "allocator_version")
                                                    : "?",
                 jv != NULL ? " (jemalloc " : "", jv != NULL ? jv : "",
                 jv != NULL ? " ABI)" : "");
        line("allocator:", buf);
        line("runtime directory:", jc_get_str(r, "runtime_dir"));
        line("socket:", jc_get_str(r, "socket"));
        json_decref(r);
        return JC_OK;
}

/* ---- decay and purge ---------------------------------------------------------------- */

/* An "error" member inside a successful result (the mallctl call failed), or a result
 * without its RSS figures (malformed). */
static bool result_error(pid_t pid, const json_t *r, const char *what)
{
        const char *e = jc_get_str(r, "error");
        uint64_t v;
        if (e == NULL) {
                if (jc_get_u64(r, "rss_before", &v) && jc_get_u64(r, "rss_after", &v) &&
                    (strcmp(what, "decay-all") != 0 || jc_get_u64(r, "arenas", &v)))
                        return false;
                jc_err("pid %d: malformed answer: the %s result lacks its figures", (int)pid,
                       what);
                return true;
        }
        jc_err("pid %d: %s failed: %s%s", (int)pid, what, e,
               strcmp(e, "EFAULT") == 0 || strcmp(e, "ENOENT") == 0 ? " (no such arena)"
               : strcmp(e, "EINVAL") == 0 ? " (invalid value)" : "");
        return true;
}

static void sleep_ms(long ms)
{
        struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
        while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
                ;
}

static void print_rss(const char *label, uint64_t v, uint64_t before)
{
        char b[2][32];
        printf("%-12s %12s", label, jc_fmt_bytes(b[0], v));
        if (v != before)
                printf("  (%s%s)", v < before ? "-" : "+",
                       jc_fmt_bytes(b[1], v < before ? before - v : v - before));
        fputc('\n', stdout);
}

/* The end of a one-line result (selectors): ", rss A -> B (-D)". */
static void rss_line(uint64_t before, uint64_t after)
{
        char b[3][32];
        printf(", rss %s -> %s", jc_fmt_bytes(b[0], before), jc_fmt_bytes(b[1], after));
        if (after != before)
                printf(" (%s%s)", after < before ? "-" : "+",
                       jc_fmt_bytes(b[2], after < before ? before - after : after - before));
        fputc('\n', stdout);
}

#define SETTLE_MS 200

int cmd_decay(int argc, char **argv)
{
        pid_t pid = jc_parse_pid(argv[0]);
        if (pid < 0)
                return JC_USAGE;
        int64_t dirty, muzzy = 0;
        bool has_muzzy = argc > 2;
        if (!jc_parse_i64(argv[1], &dirty) || dirty < -1 ||
            (has_muzzy && (!jc_parse_i64(argv[2], &muzzy) || muzzy < -1))) {
                jc_err("decay times are milliseconds: integers >= 0, or -1 for never");
                fputs("Try 'jemctl --help'.\n", stderr);
                return JC_USAGE;
        }
        jc_conn_t c;
        int rc = jc_connect(pid, &c, false, NULL);
        if (rc != JC_OK)
                return rc;
        jp_req_decay_all(jc_begin(&c, JP_OP_DECAY_ALL), dirty, has_muzzy, muzzy);
        json_t *r = NULL, *s = NULL;
        rc = jc_call(&c, &r);
        if (rc == JC_OK && !json_is_object(r)) {
                jc_err("pid %d: malformed answer: decay-all result is not an object",
                       (int)pid);
                rc = JC_FAIL;
        }
        if (rc == JC_OK && result_error(pid, r, "decay-all"))
                rc = JC_FAIL;
        uint64_t settled = 0;
        bool have_settled = false;
        if (rc == JC_OK && !jc_opt->multi) {
                /* Pages handed back by other threads or a background thread show up a
                 * moment later: read RSS again after a short settle (not per process of
                 * a selector: one line each, and 1,000 processes do not wait 200 s). */
                sleep_ms(SETTLE_MS);
                if (jc_stats_summary(&c, &s) == JC_OK)
                        have_settled = jc_get_u64(s, "rss", &settled);
        }
        jc_close(&c);
        if (rc == JC_OK) {
                uint64_t before = u(r, "rss_before"), after = u(r, "rss_after");
                if (jc_opt->json) {
                        json_t *doc = json_pack("{s:I,s:I,s:o,s:O?,s:O?,s:O?,s:o}", "pid",
                                                (json_int_t)pid, JP_ARG_DIRTY_MS,
                                                (json_int_t)dirty, JP_ARG_MUZZY_MS,
                                                has_muzzy ? json_integer(muzzy) : json_null(),
                                                "arenas", json_object_get(r, "arenas"),
                                                "rss_before", json_object_get(r, "rss_before"),
                                                "rss_after", json_object_get(r, "rss_after"),
                                                "rss_settled",
                                                have_settled ? json_integer((json_int_t)settled)
                                                             : json_null());
                        jc_print_json(doc, true);
                        json_decref(doc);
                } else {
                        printf("pid %d: dirty_decay_ms=%" PRId64, (int)pid, dirty);
                        if (has_muzzy)
                                printf(" muzzy_decay_ms=%" PRId64, muzzy);
                        printf(" on %" PRIu64 " arena%s%s", u(r, "arenas"),
                               u(r, "arenas") == 1 ? "" : "s",
                               jc_opt->multi ? "" : " (and for new arenas)\n");
                        if (jc_opt->multi) {
                                rss_line(before, after);
                                goto out;
                        }
                        print_rss("rss before", before, before);
                        print_rss("rss after", after, before);
                        if (have_settled)
                                print_rss("rss settled", settled, before);
                }
        }
out:
        json_decref(r);
        json_decref(s);
        return rc;
}

int cmd_purge(int argc, char **argv)
{
        (void)argc;
        pid_t pid = jc_parse_pid(argv[0]);
        if (pid < 0)
                return JC_USAGE;
        jc_conn_t c;
        int rc = jc_connect(pid, &c, false, NULL);
        if (rc != JC_OK)
                return rc;
        jp_req_purge(jc_begin(&c, JP_OP_PURGE), jc_opt->have_arena ? jc_opt->arena : JP_ARENA_ALL,
                     false);
        json_t *r = NULL;
        rc = jc_call(&c, &r);
        jc_close(&c);
        if (rc == JC_OK && !json_is_object(r)) {
                jc_err("pid %d: malformed answer: purge result is not an object", (int)pid);
                rc = JC_FAIL;
        }
        if (rc == JC_OK && result_error(pid, r, "purge"))
                rc = JC_FAIL;
        if (rc == JC_OK) {
                if (jc_opt->json) {
                        json_object_set_new(r, "pid", json_integer(pid));
                        jc_print_json(r, true);
                } else {
                        uint64_t before = u(r, "rss_before");
                        if (jc_opt->have_arena && jc_opt->arena != 4096)
                                printf("pid %d: purged arena %u%s", (int)pid, jc_opt->arena,
                                       jc_opt->multi ? "" : "\n");
                        else
                                printf("pid %d: purged all arenas%s", (int)pid,
                                       jc_opt->multi ? "" : "\n");
                        if (jc_opt->multi) {
                                rss_line(before, u(r, "rss_after"));
                                json_decref(r);
                                return rc;
                        }
                        print_rss("rss before", before, before);
                        print_rss("rss after", u(r, "rss_after"), before);
                }
        }
        json_decref(r);
        return rc;
}
