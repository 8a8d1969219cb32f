/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * stats and watch: the summary of a process's allocator (key figures, fragmentation, one
 * row per arena), the full malloc_stats_print document, and a refreshing view of it.
 */
#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "jemctl.h"

int jc_stats_summary(jc_conn_t *c, json_t **summary)
{
        jp_req_stats(jc_begin(c, JP_OP_STATS), false);
        int rc = jc_call(c, summary);
        if (rc != JC_OK)
                return rc;
        static const char *const need[] = {"allocated", "active", "metadata", "resident",
                                           "mapped",    "retained", "rss"};
        const char *bad = NULL;
        uint64_t v;
        if (!json_is_object(*summary))
                bad = "it is not an object";
        for (size_t i = 0; bad == NULL && i < sizeof(need) / sizeof(need[0]); i++)
                if (!jc_get_u64(*summary, need[i], &v))
                        bad = need[i];
        json_t *arenas = json_object_get(*summary, "arenas");
        if (bad == NULL && arenas != NULL && !json_is_array(arenas))
                bad = "arenas";
        if (bad != NULL) {
                jc_err("pid %d: malformed answer: the stats summary lacks a valid \"%s\"",
                       (int)c->pid, bad);
                json_decref(*summary);
                *summary = NULL;
                rc = JC_FAIL;
        }
        return rc;
}

/* The allocator's page size (arenas.page), or the system's. */
static uint64_t page_size(jc_conn_t *c)
{
        static const char *const names[] = {"arenas.page"};
        jp_req_get(jc_begin(c, JP_OP_GET), names, 1);
        json_t *r = NULL;
        uint64_t page = 0;
        if (jc_call(c, &r) == JC_OK) {
                json_t *e = json_object_get(json_object_get(r, JP_ARG_VALUES), "arenas.page");
                jc_get_u64(e, "value", &page);
        }
        json_decref(r);
        if (page == 0 || (page & (page - 1)) != 0) {
                long p = sysconf(_SC_PAGESIZE);
                page = p > 0 ? (uint64_t)p : 4096;
        }
        return page;
}

static uint64_t u(const json_t *o, const char *k)
{
        uint64_t v = 0;
        jc_get_u64(o, k, &v);
        return v;
}

static const char *ms_text(char buf[32], const json_t *o, const char *k)
{
        int64_t v;
        if (!jc_get_i64(o, k, &v))
                return "?";
        if (v < 0)
                return "never";
        snprintf(buf, 32, "%" PRId64, v);
        return buf;
}

static json_t *ratio_json(double r)
{
        return isnan(r) ? json_null() : json_real(r);
}

/* Adds the derived figures to a summary: "page", "fragmentation" (jp_frag: the same
 * names and definitions as jemctld's JSON and dashboard). */
static void add_derived(json_t *s, uint64_t page)
{
        jp_frag_t fr;
        jp_frag(u(s, "allocated"), u(s, "active"), u(s, "resident"), u(s, "rss"), &fr);
        json_t *f = json_object();
        json_object_set_new(f, "frag_ratio", ratio_json(fr.frag_ratio));
        json_object_set_new(f, "resident_ratio", ratio_json(fr.resident_ratio));
        json_object_set_new(f, "rss_ratio", ratio_json(fr.rss_ratio));
        json_object_set_new(f, "unused_bytes", json_integer((json_int_t)fr.unused_bytes));
        json_object_set_new(s, "page", json_integer((json_int_t)page));
        json_object_set_new(s, "fragmentation", f);
}

static void print_arenas(const json_t *s, uint64_t page)
{
        json_t *arenas = json_object_get(s, "arenas");
        if (!json_is_array(arenas))
                return;
        jc_table_t t;
        jc_table_init(&t, 7, "rrrrrrr");
        jc_table_add(&t, "ARENA", "THREADS", "ACTIVE_MIB", "DIRTY_MIB", "MUZZY_MIB",
                     "DIRTY_MS", "MUZZY_MS");
        size_t i;
        json_t *a;
        json_array_foreach(arenas, i, a) {
                char idx[24], thr[24], act[32], dir[32], muz[32], dms[32], mms[32];
                snprintf(idx, sizeof(idx), "%" PRIu64, u(a, "index"));
                snprintf(thr, sizeof(thr), "%" PRIu64, u(a, "nthreads"));
                snprintf(act, sizeof(act), "%.2f", (double)(u(a, "pactive") * page) / 1048576.0);
                snprintf(dir, sizeof(dir), "%.2f", (double)(u(a, "pdirty") * page) / 1048576.0);
                snprintf(muz, sizeof(muz), "%.2f", (double)(u(a, "pmuzzy") * page) / 1048576.0);
                jc_table_add(&t, idx, thr, act, dir, muz, ms_text(dms, a, "dirty_decay_ms"),
                             ms_text(mms, a, "muzzy_decay_ms"));
        }
        jc_table_print(&t, "  ");
        jc_table_free(&t);
}

/* The human view of a summary (also each block of watch). */
static void print_summary(pid_t pid, const char *comm, const json_t *s, uint64_t page)
{
        char b[8][32];
        printf("pid %d%s%s%s  epoch %" PRIu64 "\n", (int)pid, comm ? " (" : "",
               comm ? comm : "", comm ? ")" : "", u(s, "epoch"));
        printf("  allocated %12s   active   %12s   resident %12s   rss      %12s\n",
               jc_fmt_bytes(b[0], u(s, "allocated")), jc_fmt_bytes(b[1], u(s, "active")),
               jc_fmt_bytes(b[2], u(s, "resident")), jc_fmt_bytes(b[3], u(s, "rss")));
        printf("  mapped    %12s   retained %12s   metadata %12s\n",
               jc_fmt_bytes(b[4], u(s, "mapped")), jc_fmt_bytes(b[5], u(s, "retained")),
               jc_fmt_bytes(b[6], u(s, "metadata")));
        jp_frag_t fr;
        jp_frag(u(s, "allocated"), u(s, "active"), u(s, "resident"), u(s, "rss"), &fr);
        char r1[16] = "-", r2[16] = "-";
        if (!isnan(fr.frag_ratio))
                snprintf(r1, sizeof(r1), "%.2f", fr.frag_ratio);
        if (!isnan(fr.resident_ratio))
                snprintf(r2, sizeof(r2), "%.2f", fr.resident_ratio);
        printf("  fragmentation %s (active/allocated)   resident/active %s   unused %s "
               "(resident - allocated)\n",
               r1, r2,
               jc_fmt_bytes(b[7], fr.unused_bytes > 0 ? (uint64_t)fr.unused_bytes : 0));
        char d[32], m[32];
        json_t *bg = json_object_get(s, "background_thread");
        const char *dt = ms_text(d, s, "dirty_decay_ms"), *mt = ms_text(m, s, "muzzy_decay_ms");
        printf("  decay (new arenas): dirty %s%s, muzzy %s%s; background thread %s\n", dt,
               isdigit((unsigned char)dt[0]) ? " ms" : "", mt,
               isdigit((unsigned char)mt[0]) ? " ms" : "",
               json_is_boolean(bg) ? (json_is_true(bg) ? "on" : "off") : "?");
        const json_t *pr = json_object_get(s, JP_ARG_PRESSURE);
        if (json_is_object(pr)) {
                const char *watch = json_string_value(json_object_get(pr, "watch"));
                printf("  memory pressure: watch %s; %" PRIu64 " events, %" PRIu64
                       " purges, %s returned",
                       watch != NULL ? watch : "?", u(pr, "events"), u(pr, "purges"),
                       jc_fmt_bytes(b[0], u(pr, "bytes_returned")));
                uint64_t last = u(pr, "last_event_ms");
                if (last != 0) {
                        time_t t = (time_t)(last / 1000);
                        struct tm tm;
                        char when[32];
                        strftime(when, sizeof(when), "%Y-%m-%d %H:%M:%S", localtime_r(&t, &tm));
                        printf(", last %s", when);
                }
                printf("\n");
        }
        printf("  arenas: %" PRIu64 "\n", u(s, "narenas"));
        print_arenas(s, page);
}

/* The "result" text of the last answer as the server wrote it, if it can be told
 * apart safely (checked by parsing it back); else NULL. */
static const char *raw_result(jc_conn_t *c, const json_t *result, size_t *len)
{
        const char *k = strstr(c->raw, "\"result\":");
        if (k == NULL)
                return NULL;
        const char *s = k + 9;
        const char *e = c->raw + c->raw_len;
        while (e > s && (e[-1] == ' ' || e[-1] == '\n' || e[-1] == '\t' || e[-1] == '\r'))
                e--;
        if (e <= s || e[-1] != '}')
                return NULL;
        e--; /* the envelope's closing brace */
        json_t *back = json_loadb(s, (size_t)(e - s), JSON_DECODE_INT_AS_REAL, NULL);
        json_t *want = json_loadb(s, (size_t)(e - s), 0, NULL);
        bool same = want != NULL ? json_equal(want, result) : back != NULL;
        json_decref(back);
        json_decref(want);
        if (!same)
                return NULL;
        *len = (size_t)(e - s);
        return s;
}

static int stats_full(jc_conn_t *c)
{
        jp_req_stats(jc_begin(c, JP_OP_STATS), true);
        json_t *r = NULL;
        int rc = jc_call(c, &r);
        if (rc != JC_OK)
                return rc;
        if (!json_is_object(r)) {
                jc_err("pid %d: malformed answer: the statistics are not an object",
                       (int)c->pid);
                json_decref(r);
                return JC_FAIL;
        }
        size_t len;
        const char *raw = jc_opt->json ? NULL : raw_result(c, r, &len);
        if (raw != NULL) {
                fwrite(raw, 1, len, stdout);
                if (len == 0 || raw[len - 1] != '\n')
                        fputc('\n', stdout);
        } else {
                jc_print_json(r, true);
        }
        json_decref(r);
        return JC_OK;
}

static const char *comm_of(pid_t pid, char *buf, size_t cap)
{
        char p[64];
        if (jc_remote_active())
                return NULL; /* /proc here is not that host's */
        snprintf(p, sizeof(p), "/proc/%d/comm", (int)pid);
        FILE *f = fopen(p, "r");
        if (f == NULL)
                return NULL;
        if (fgets(buf, (int)cap, f) == NULL)
                buf[0] = '\0';
        fclose(f);
        buf[strcspn(buf, "\n")] = '\0';
        jc_sanitize_text(buf); /* the process names itself (PR_SET_NAME): any bytes */
        return buf[0] != '\0' ? buf : NULL;
}

int cmd_stats(int argc, char **argv)
{
        (void)argc;
        pid_t pid = jc_parse_pid(argv[0]);
        if (pid < 0)
                return JC_USAGE;
        jc_conn_t c;
        int rc = jc_connect(pid, &c, false, NULL);
        if (rc != JC_OK)
                return rc;
        if (jc_opt->full) {
                rc = stats_full(&c);
                jc_close(&c);
                return rc;
        }
        json_t *s = NULL;
        rc = jc_stats_summary(&c, &s);
        if (rc == JC_OK) {
                uint64_t page = page_size(&c);
                add_derived(s, page);
                if (jc_opt->json) {
                        json_object_set_new(s, "pid", json_integer(pid));
                        jc_print_json(s, true);
                } else {
                        char comm[64];
                        print_summary(pid, comm_of(pid, comm, sizeof(comm)), s, page);
                }
        }
        json_decref(s);
        jc_close(&c);
        return rc;
}

/* ---- watch -------------------------------------------------------------------------- */

static volatile sig_atomic_t stop;

static void on_signal(int sig)
{
        (void)sig;
        stop = 1;
}

static void sleep_s(double s)
{
        struct timespec ts = {(time_t)s, (long)((s - (double)(time_t)s) * 1e9)};
        while (!stop && nanosleep(&ts, &ts) != 0 && errno == EINTR)
                ;
}

int cmd_watch(int argc, char **argv)
{
        (void)argc;
        pid_t pid = jc_parse_pid(argv[0]);
        if (pid < 0)
                return JC_USAGE;
        struct sigaction sa;
        memset(&sa, 0, sizeof(sa));
        sa.sa_handler = on_signal;
        sigaction(SIGINT, &sa, NULL);
        sigaction(SIGTERM, &sa, NULL);
        bool tty = isatty(STDOUT_FILENO) && !jc_opt->json;
        uint64_t prev_alloc = 0, prev_rss = 0;
        struct timespec prev_t = {0, 0};
        int rc = JC_OK;
        char comm[64];
        const char *cm = comm_of(pid, comm, sizeof(comm));
        for (long n = 0; !stop && (jc_opt->count == 0 || n < jc_opt->count); n++) {
                if (n > 0)
                        sleep_s(jc_opt->interval);
                if (stop)
                        break;
                /* A connection per sample: the server closes idle ones after 5 s. */
                jc_conn_t c;
                rc = jc_connect(pid, &c, false, NULL);
                if (rc != JC_OK)
                        break;
                json_t *s = NULL;
                rc = jc_stats_summary(&c, &s);
                uint64_t page = rc == JC_OK ? page_size(&c) : 0;
                jc_close(&c);
                if (rc != JC_OK)
                        break;
                struct timespec t;
                clock_gettime(CLOCK_MONOTONIC, &t);
                double dt = n > 0 ? (double)(t.tv_sec - prev_t.tv_sec) +
                                            (double)(t.tv_nsec - prev_t.tv_nsec) / 1e9
                                  : 0;
                uint64_t alloc = u(s, "allocated"), rss = u(s, "rss");
                add_derived(s, page);
                if (jc_opt->json) {
                        json_object_set_new(s, "pid", json_integer(pid));
                        json_object_set_new(s, "time", json_integer((json_int_t)time(NULL)));
                        jc_print_json(s, false);
                } else {
                        char b[2][32];
                        time_t now = time(NULL);
                        struct tm tm;
                        char ts[32];
                        strftime(ts, sizeof(ts), "%H:%M:%S", localtime_r(&now, &tm));
                        if (tty)
                                fputs("\033[H\033[2J", stdout);
                        else if (n > 0)
                                fputc('\n', stdout);
                        printf("jemctl watch  %s  every %g s  (sample %ld)\n", ts,
                               jc_opt->interval, n + 1);
                        print_summary(pid, cm, s, page);
                        if (n > 0 && dt > 0) {
                                double da = ((double)alloc - (double)prev_alloc) / dt;
                                double dr = ((double)rss - (double)prev_rss) / dt;
                                printf("  change: allocated %s%s/s, rss %s%s/s\n",
                                       da < 0 ? "-" : "+",
                                       jc_fmt_bytes(b[0], (uint64_t)(da < 0 ? -da : da)),
                                       dr < 0 ? "-" : "+",
                                       jc_fmt_bytes(b[1], (uint64_t)(dr < 0 ? -dr : dr)));
                        }
                }
                fflush(stdout);
                json_decref(s);
                prev_alloc = alloc;
                prev_rss = rss;
                prev_t = t;
        }
        return rc;
}
