/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * prom: all of `/metrics`, the Prometheus text exposition format (0.0.4): its route (GET
 * and HEAD, ?pid=N for one process's series), the per-process label sets (cached in
 * p->labels), the per-process byte gauges, whether each process's last poll succeeded,
 * its dirty and muzzy page bytes, its settings and start time; the daemon's poll counters,
 * build, history size and its own process_* figures (which describe jemctld itself, never
 * a target: Prometheus's convention).  The store, the conversions, the governor and
 * /debug/pprof add their own families through the functions their headers name.
 */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/http.h>

#include <jp/proto.h>

#include "bus.h"
#include "convert.h"
#include "governor.h"
#include "history.h"
#include "http_parse.h"
#include "http_reply.h"
#include "pprof_http.h"
#include "prom.h"
#include "store.h"

/* ---- label sets ---------------------------------------------------------------------- */

/* A label value: backslash, double quote and newline escaped. */
static void put_label(struct evbuffer *b, const char *name, const char *v, bool comma)
{
        evbuffer_add_printf(b, "%s%s=\"", comma ? "," : "", name);
        /* Runs of plain bytes in one call (a call per byte was the top of a scrape's
         * profile at 1,000 processes). */
        for (const char *c = v != NULL ? v : ""; *c != '\0';) {
                size_t run = strcspn(c, "\\\"\n");
                evbuffer_add(b, c, run);
                c += run;
                if (*c == '\0')
                        break;
                evbuffer_add(b, *c == '\\' ? "\\\\" : *c == '"' ? "\\\"" : "\\n", 2);
                c++;
        }
        evbuffer_add(b, "\"", 1);
}

static void build_labels(struct evbuffer *b, const jd_proc_t *p)
{
        char pid[16];
        snprintf(pid, sizeof(pid), "%d", (int)p->pid);
        evbuffer_add(b, "{", 1);
        put_label(b, "pid", pid, false);
        const char *comm = json_string_value(json_object_get(p->info, "comm"));
        const char *cg = json_string_value(json_object_get(p->info, "cgroup"));
        put_label(b, "comm", comm, true);
        put_label(b, "cgroup", cg, true);
        size_t ulen = 0;
        const char *u = jd_cgroup_unit(cg, &ulen);
        if (u != NULL) {
                char unit[256];
                snprintf(unit, sizeof(unit), "%.*s", (int)ulen, u);
                put_label(b, "unit", unit, true);
        }
        evbuffer_add(b, "}", 1);
}

/* The label set of p, built once per `info` and kept in p->labels (a process's labels
 * go into every one of its series: rebuilding them was most of a scrape's time). */
static void put_labels(struct evbuffer *b, const jd_proc_t *cp)
{
        jd_proc_t *p = (jd_proc_t *)cp; /* the cache only */
        if (p->labels == NULL && p->info != NULL) {
                struct evbuffer *t = evbuffer_new();
                if (t != NULL) {
                        build_labels(t, p);
                        size_t n = evbuffer_get_length(t);
                        p->labels = malloc(n + 1);
                        if (p->labels != NULL) {
                                evbuffer_remove(t, p->labels, n);
                                p->labels[n] = '\0';
                        }
                        evbuffer_free(t);
                }
        }
        if (p->labels != NULL)
                evbuffer_add(b, p->labels, strlen(p->labels));
        else
                build_labels(b, p);
}

/* ---- the families ------------------------------------------------------------------- */

static void head(struct evbuffer *b, const char *name, const char *type, const char *help)
{
        evbuffer_add_printf(b, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

/* The one process of /metrics?pid=N, or NULL for all (more). */
static const jd_proc_t *only;
/* The table of the /metrics being written (more). */
static const jd_proc_t *all;

/* One per-process family of the given type; value() says whether p has a value and
 * which. */
static void typed_family(struct evbuffer *b, const char *name, const char *type,
                         const char *help, bool (*value)(const jd_proc_t *p, double *v))
{
        bool headed = false;
        for (const jd_proc_t *p = only != NULL ? only : all; p != NULL;
             p = only != NULL ? NULL : p->next) {
                double v;
                if (!jd_proc_visible(p) || p->info == NULL || !value(p, &v))
                        continue;
                if (!headed)
                        head(b, name, type, help);
                headed = true;
                evbuffer_add_printf(b, "%s", name);
                put_labels(b, p);
                evbuffer_add_printf(b, " %.17g\n", v);
        }
}

static void family(struct evbuffer *b, const char *name, const char *help,
                   bool (*value)(const jd_proc_t *p, double *v))
{
        typed_family(b, name, "gauge", help, value);
}

static bool up(const jd_proc_t *p, double *v)
{
        *v = p->error[0] == '\0' && p->last_ok > 0 ? 1 : 0;
        return true;
}

static bool pages(const jd_proc_t *p, double *v, const char *key)
{
        const json_t *arenas = json_object_get(p->stats, "arenas");
        if (!json_is_array(arenas))
                return false;
        double n = 0;
        size_t i;
        const json_t *a;
        json_array_foreach(arenas, i, a) n += json_number_value(json_object_get(a, key));
        *v = n * (double)sysconf(_SC_PAGESIZE);
        return true;
}

static bool dirty(const jd_proc_t *p, double *v)
{
        return pages(p, v, "pdirty");
}

static bool muzzy(const jd_proc_t *p, double *v)
{
        return pages(p, v, "pmuzzy");
}

static bool bgthread(const jd_proc_t *p, double *v)
{
        const json_t *bt = json_object_get(p->stats, "background_thread");
        if (!json_is_boolean(bt))
                return false;
        *v = json_is_true(bt) ? 1 : 0;
        return true;
}

/* The memory-pressure watch's figures (the stats summary's "pressure" object). */
static bool pressure_num(const jd_proc_t *p, double *v, const char *key)
{
        const json_t *n = json_object_get(json_object_get(p->stats, JP_ARG_PRESSURE), key);
        if (!json_is_number(n))
                return false;
        *v = json_number_value(n);
        return true;
}

static bool pressure_events(const jd_proc_t *p, double *v)
{
        return pressure_num(p, v, "events");
}

static bool pressure_purges(const jd_proc_t *p, double *v)
{
        return pressure_num(p, v, "purges");
}

static bool pressure_bytes(const jd_proc_t *p, double *v)
{
        return pressure_num(p, v, "bytes_returned");
}

static bool pressure_last(const jd_proc_t *p, double *v)
{
        if (!pressure_num(p, v, "last_event_ms") || *v == 0)
                return false;
        *v /= 1000;
        return true;
}

static bool pressure_watching(const jd_proc_t *p, double *v)
{
        const char *w =
                json_string_value(json_object_get(json_object_get(p->stats, JP_ARG_PRESSURE), "watch"));
        if (w == NULL)
                return false;
        *v = strncmp(w, "psi:", 4) == 0 || strncmp(w, "fifo:", 5) == 0 ||
             strncmp(w, "socket:", 7) == 0;
        return true;
}

static bool start_time(const jd_proc_t *p, double *v)
{
        const json_t *t = json_object_get(p->info, "start_time");
        if (!json_is_number(t))
                return false;
        *v = json_number_value(t);
        return true;
}

/* process_* of jemctld itself, from /proc/self. */
static void self(struct evbuffer *b)
{
        long page = sysconf(_SC_PAGESIZE), hz = sysconf(_SC_CLK_TCK);
        unsigned long long vsize = 0, rss = 0;
        FILE *f = fopen("/proc/self/statm", "r");
        if (f != NULL) {
                if (fscanf(f, "%llu %llu", &vsize, &rss) != 2)
                        vsize = rss = 0;
                fclose(f);
        }
        /* utime, stime and starttime are fields 14, 15 and 22 of /proc/self/stat. */
        unsigned long long ut = 0, st = 0, start = 0;
        char buf[1024];
        f = fopen("/proc/self/stat", "r");
        if (f != NULL) {
                size_t n = fread(buf, 1, sizeof(buf) - 1, f);
                buf[n] = '\0';
                fclose(f);
                const char *s = strrchr(buf, ')');
                if (s == NULL || sscanf(s + 2,
                                        "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu "
                                        "%llu %*d %*d %*d %*d %*d %*d %llu",
                                        &ut, &st, &start) != 3)
                        ut = st = start = 0;
        }
        unsigned long long btime = 0;
        f = fopen("/proc/stat", "r");
        if (f != NULL) {
                while (fgets(buf, sizeof(buf), f) != NULL)
                        if (sscanf(buf, "btime %llu", &btime) == 1)
                                break;
                fclose(f);
        }
        size_t fds = 0;
        DIR *d = opendir("/proc/self/fd");
        if (d != NULL) {
                struct dirent *e;
                while ((e = readdir(d)) != NULL)
                        fds += e->d_name[0] != '.';
                closedir(d);
                fds--; /* the directory's own descriptor */
        }
        struct rlimit rl;
        double maxfds = getrlimit(RLIMIT_NOFILE, &rl) == 0 ? (double)rl.rlim_cur : 0;
        head(b, "process_cpu_seconds_total", "counter",
             "Total user and system CPU time spent by jemctld in seconds.");
        evbuffer_add_printf(b, "process_cpu_seconds_total %.2f\n", (double)(ut + st) / (double)hz);
        head(b, "process_resident_memory_bytes", "gauge",
             "Resident memory size of jemctld in bytes.");
        evbuffer_add_printf(b, "process_resident_memory_bytes %llu\n",
                            rss * (unsigned long long)page);
        head(b, "process_virtual_memory_bytes", "gauge",
             "Virtual memory size of jemctld in bytes.");
        evbuffer_add_printf(b, "process_virtual_memory_bytes %llu\n",
                            vsize * (unsigned long long)page);
        head(b, "process_start_time_seconds", "gauge",
             "Start time of jemctld since the Unix epoch in seconds.");
        evbuffer_add_printf(b, "process_start_time_seconds %.2f\n",
                            (double)btime + (double)start / (double)hz);
        head(b, "process_open_fds", "gauge", "Open file descriptors of jemctld.");
        evbuffer_add_printf(b, "process_open_fds %zu\n", fds);
        head(b, "process_max_fds", "gauge", "Maximum open file descriptors of jemctld.");
        evbuffer_add_printf(b, "process_max_fds %.0f\n", maxfds);
}

/* The families after the byte gauges: those of every process, or of `one` alone (and then
 * none of the daemon's own).  Reads /proc/self; allocates. */
static void more(const jd_manager_t *m, struct evbuffer *b, const jd_proc_t *one)
{
        only = one;
        all = m->procs;
        family(b, "liballoc_up", "Whether the last poll of the process succeeded (1) or not (0).",
               up);
        family(b, "liballoc_dirty_bytes",
               "Bytes in dirty pages (freed, not yet purged), all arenas.", dirty);
        family(b, "liballoc_muzzy_bytes", "Bytes in muzzy pages (lazily purged), all arenas.",
               muzzy);
        family(b, "liballoc_background_thread_enabled",
               "Whether the allocator's background purging thread is enabled (1) or not (0).",
               bgthread);
        family(b, "liballoc_pressure_watching",
               "Whether the process watches for memory pressure (1) or not (0).",
               pressure_watching);
        typed_family(b, "liballoc_pressure_events_total", "counter",
                     "Memory-pressure events the process has seen.", pressure_events);
        typed_family(b, "liballoc_pressure_purges_total", "counter",
                     "Purges memory-pressure events made the process do.", pressure_purges);
        typed_family(b, "liballoc_pressure_returned_bytes_total", "counter",
                     "Bytes the process gave back because of memory pressure.",
                     pressure_bytes);
        family(b, "liballoc_pressure_last_event_timestamp_seconds",
               "Time of the process's last memory-pressure event since the Unix epoch.",
               pressure_last);
        family(b, "liballoc_process_start_time_seconds",
               "Start time of the process since the Unix epoch in seconds.", start_time);
        only = all = NULL;
        if (one != NULL)
                return; /* one process's series: none of the daemon's own */
        jd_governor_metrics(b); /* the daemon's own purges (governor.c) */
        jd_pprof_metrics(b);
        if (strcmp(m->opt.bus, "none") != 0) {
                head(b, "jemctld_dbus_up", "gauge",
                     "Whether jemctld owns its name on the D-Bus bus (1) or serves without "
                     "its D-Bus API (0).");
                evbuffer_add_printf(b, "jemctld_dbus_up %d\n", jd_bus_up() ? 1 : 0);
        }
        head(b, "jemctld_build_info", "gauge", "The version of jemctld (always 1).");
        evbuffer_add_printf(b, "jemctld_build_info{version=\"%s\"} 1\n", JEMCTLD_VERSION);
        head(b, "jemctld_history_bytes", "gauge",
             "Bytes held by the in-memory history of the dashboard.");
        evbuffer_add_printf(b, "jemctld_history_bytes %zu\n", jd_history_bytes());
        head(b, "jemctld_history_processes", "gauge", "Processes with a history kept.");
        evbuffer_add_printf(b, "jemctld_history_processes %zu\n", jd_history_rings());
        head(b, "jemctld_history_dropped_total", "counter",
             "Samples not kept because the history holds its maximum of processes.");
        evbuffer_add_printf(b, "jemctld_history_dropped_total %llu\n",
                            (unsigned long long)jd_history_dropped());
        jd_store_metrics(b); /* jemctld_profile_*: the profile store (store.c) */
        jd_convert_metrics(b); /* jemctld_profile_conversions_* (convert.c) */
        self(b);
}

/* ---- the route ---------------------------------------------------------------------- */

static void put_number(struct evbuffer *b, const json_t *v)
{
        if (json_is_integer(v))
                evbuffer_add_printf(b, " %lld\n", (long long)json_integer_value(v));
        else
                evbuffer_add_printf(b, " %.17g\n", json_number_value(v));
}

static const struct {
        const char *name, *key, *help;
} gauges[] = {
        {"liballoc_allocated_bytes", "allocated", "Bytes allocated by the application."},
        {"liballoc_active_bytes", "active", "Bytes in active pages."},
        {"liballoc_resident_bytes", "resident", "Bytes in resident data pages of the allocator."},
        {"liballoc_mapped_bytes", "mapped", "Bytes in active extents mapped by the allocator."},
        {"liballoc_retained_bytes", "retained", "Bytes in virtual memory retained, not returned to the OS."},
        {"liballoc_metadata_bytes", "metadata", "Bytes of allocator metadata."},
        {"liballoc_rss_bytes", "rss", "Resident set size of the process in bytes."},
        {"liballoc_dirty_decay_seconds", "dirty_decay_ms", "Dirty page decay time (arenas.dirty_decay_ms / 1000); -1: never decays."},
        {"liballoc_muzzy_decay_seconds", "muzzy_decay_ms", "Muzzy page decay time (arenas.muzzy_decay_ms / 1000); -1: never decays."},
        {"liballoc_arenas", "narenas", "Number of arenas."},
};

/* Every process's series and the daemon's own, or (/metrics?pid=N) one process's only:
 * a scrape per process costs that process's series, not the whole table. */
static void metrics(const jd_manager_t *m, struct evbuffer *b, const jd_proc_t *one)
{
        for (size_t g = 0; g < sizeof(gauges) / sizeof(gauges[0]); g++) {
                bool head = false;
                for (const jd_proc_t *p = one != NULL ? one : m->procs; p != NULL;
                     p = one != NULL ? NULL : p->next) {
                        if (!jd_proc_visible(p) || p->stats == NULL || p->info == NULL)
                                continue;
                        json_t *v = json_object_get(p->stats, gauges[g].key);
                        if (!json_is_number(v))
                                continue;
                        if (!head) {
                                evbuffer_add_printf(b, "# HELP %s %s\n# TYPE %s gauge\n",
                                                    gauges[g].name, gauges[g].help,
                                                    gauges[g].name);
                                head = true;
                        }
                        evbuffer_add_printf(b, "%s", gauges[g].name);
                        put_labels(b, p);
                        if (strstr(gauges[g].key, "_ms") != NULL) {
                                /* Base unit: seconds; -1 (never) stays -1. */
                                double ms = json_number_value(v);
                                evbuffer_add_printf(b, " %.17g\n", ms < 0 ? -1.0 : ms / 1000.0);
                        } else {
                                put_number(b, v);
                        }
                }
        }
        if (one != NULL) {
                more(m, b, one);
                return;
        }
        evbuffer_add_printf(b,
                            "# HELP jemctld_processes Processes with a trusted control socket.\n"
                            "# TYPE jemctld_processes gauge\n"
                            "jemctld_processes %zu\n"
                            "# HELP jemctld_poll_errors_total Polls that failed.\n"
                            "# TYPE jemctld_poll_errors_total counter\n"
                            "jemctld_poll_errors_total %llu\n"
                            "# HELP jemctld_polls_total Polls finished.\n"
                            "# TYPE jemctld_polls_total counter\n"
                            "jemctld_polls_total %llu\n"
                            "# HELP jemctld_poll_duration_seconds Duration of the last complete poll cycle.\n"
                            "# TYPE jemctld_poll_duration_seconds gauge\n"
                            "jemctld_poll_duration_seconds %.6f\n"
                            "# HELP jemctld_up Whether the daemon is up.\n"
                            "# TYPE jemctld_up gauge\n"
                            "jemctld_up 1\n",
                            jd_nprocs_visible(m), (unsigned long long)m->poll_errors,
                            (unsigned long long)m->polls, m->poll_duration);
        more(m, b, NULL);
}

/* ?pid=N of /metrics: 0 and *one (that process, or NULL without pid=), or answered with
 * 400 or 404. */
static int metrics_query(const jd_manager_t *m, struct evhttp_request *req,
                         const jd_proc_t **one)
{
        long pid;
        *one = NULL;
        const char *why =
                jd_parse_metrics_query(evhttp_uri_get_query(evhttp_request_get_evhttp_uri(req)),
                                       &pid);
        if (why != NULL) {
                jd_reply_error(req, JSON_COMPACT, 400, "Bad Request", "bad_request", "%s", why);
                return -1;
        }
        jd_proc_t *p = jd_proc_find(m, (pid_t)pid);
        if (pid > 0 && (p == NULL || !jd_proc_visible(p))) {
                jd_reply_error(req, JSON_COMPACT, HTTP_NOTFOUND, "Not Found", "no_such_process",
                               "pid %ld is not a process this daemon knows", pid);
                return -1;
        }
        *one = pid > 0 ? p : NULL;
        return 0;
}

bool jd_prom_handle(jd_manager_t *m, struct evhttp_request *req, const char *path)
{
        if (strcmp(path, "/metrics") != 0)
                return false;
        struct evbuffer *b = evbuffer_new();
        if (b == NULL) {
                evhttp_send_error(req, HTTP_INTERNAL, NULL);
                return true;
        }
        const jd_proc_t *one;
        if (jd_reply_read_only(req) && metrics_query(m, req, &one) == 0) {
                metrics(m, b, one);
                jd_reply_headers(req, "text/plain; version=0.0.4; charset=utf-8");
                jd_reply_send(req, HTTP_OK, "OK", b);
        }
        evbuffer_free(b);
        return true;
}
