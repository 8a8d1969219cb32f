/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * prom: the Prometheus families beyond the per-process byte gauges of http.c: whether each
 * process's last poll succeeded, its dirty and muzzy page bytes, its settings and start
 * time; the daemon's build, its history's size, and its own process_* figures (which
 * describe jemctld itself, never a target: Prometheus's convention).
 */
#include <dirent.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include <event2/buffer.h>

#include <jp/proto.h>

#include "bus.h"
#include "convert.h"
#include "governor.h"
#include "history.h"
#include "pprof_http.h"
#include "prom.h"
#include "store.h"

static void head(struct evbuffer *b, const char *name, const char *type, const char *help)
{
        evbuffer_add_printf(b, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

/* The one process of /metrics?pid=N, or NULL for all (jd_prom_more). */
static const jd_proc_t *only;
/* The table of the /metrics being written (jd_prom_more). */
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
                jd_prom_labels(b, p);
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

void jd_prom_more(const jd_manager_t *m, struct evbuffer *b, const jd_proc_t *one)
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
