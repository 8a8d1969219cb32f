/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Unit tests of jemctld's history (jemctld/src/history.c): the ring's growth, wrap and
 * bound, a reused pid, the cap on processes, forgetting a process that left, the sums per
 * comm / unit and the fragmentation figures.  The poller's table is built by hand.
 */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../common/check.h"
#include "history.h"

/* What history.c uses of the daemon (manager.c, poll.c). */
static jd_manager_t jd;
static double now = 1000;

double jd_wall(void)
{
        return now;
}

#include "stub_observer.h"

static jd_proc_t *add_proc(pid_t pid, const char *comm, const char *cgroup, double start)
{
        jd_proc_t *p = calloc(1, sizeof(*p));
        p->pid = pid;
        p->m = &jd;
        p->info = json_pack("{s:i, s:s, s:s, s:f}", "pid", (int)pid, "comm", comm, "cgroup", cgroup,
                            "start_time", start);
        p->next = jd.procs;
        jd.procs = p;
        return p;
}

static void set_stats(jd_proc_t *p, json_int_t allocated)
{
        json_decref(p->stats);
        p->stats = json_pack("{s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:i, s:i, s:[{s:i, s:i}]}",
                             "allocated", allocated, "active", allocated * 2, "resident",
                             allocated * 3, "mapped", allocated * 4, "retained", (json_int_t)5,
                             "metadata", (json_int_t)6, "rss", allocated * 4, "dirty_decay_ms",
                             10000, "muzzy_decay_ms", -1, "arenas", "pdirty", 2, "pmuzzy", 1);
}

/* *pp leaves the table: the observer told, as poll.c does, then freed. */
static void drop(jd_proc_t **pp)
{
        jd_proc_t *p = *pp;
        *pp = p->next;
        if (observer != NULL && observer->gone != NULL)
                observer->gone(&jd, p);
        json_decref(p->info);
        json_decref(p->stats);
        free(p);
}

static void clear_procs(void)
{
        while (jd.procs != NULL)
                drop(&jd.procs);
        jd.cycle_gen++;
        jd_history_stop(&jd);
        jd_history_start(&jd);
}

static json_int_t col_at(json_t *doc, const char *col, size_t i)
{
        return json_integer_value(
                json_array_get(json_object_get(json_object_get(doc, "samples"), col), i));
}

static size_t nsamples(json_t *doc)
{
        return json_array_size(json_object_get(json_object_get(doc, "samples"), "t"));
}

static void test_ring_wraps_at_bound(void)
{
        jd_proc_t *p = add_proc(100, "a", "/", 1);
        for (int i = 1; i <= JD_HIST_SAMPLES + 40; i++) {
                jd.cycle_gen++;
                now += 1;
                set_stats(p, i);
                jd_history_record(p);
                if (i == 10) {
                        json_t *d = jd_history_pid_json(&jd, 100);
                        EXPECT_EQ(nsamples(d), 10);
                        json_decref(d);
                }
        }
        json_t *d = jd_history_pid_json(&jd, 100);
        EXPECT(d != NULL);
        EXPECT_EQ(nsamples(d), JD_HIST_SAMPLES);
        /* Oldest first: samples 41 .. 400. */
        EXPECT_EQ(col_at(d, "allocated", 0), 41);
        EXPECT_EQ(col_at(d, "allocated", JD_HIST_SAMPLES - 1), JD_HIST_SAMPLES + 40);
        EXPECT_EQ(col_at(d, "resident", 0), 123);
        EXPECT_EQ(col_at(d, "dirty", 0), 2 * (json_int_t)sysconf(_SC_PAGESIZE));
        EXPECT_EQ(col_at(d, "muzzy_decay_ms", 0) + 1, 0);
        json_t *t = json_object_get(json_object_get(d, "samples"), "t");
        EXPECT(json_real_value(json_array_get(t, 0)) <
              json_real_value(json_array_get(t, JD_HIST_SAMPLES - 1)));
        json_decref(d);
        EXPECT_EQ(jd_history_rings(), 1);
        EXPECT(jd_history_bytes() >= JD_HIST_SAMPLES * sizeof(jd_sample_t));
        EXPECT(jd_history_bytes() <= JD_HIST_SAMPLES * sizeof(jd_sample_t) + 256);
        clear_procs();
}

static void test_reused_pid_restarts(void)
{
        jd_proc_t *p = add_proc(200, "a", "/", 1);
        for (int i = 0; i < 5; i++) {
                jd.cycle_gen++;
                set_stats(p, 7);
                jd_history_record(p);
        }
        /* The pid reused by another process: its record goes, a new one comes. */
        drop(&jd.procs);
        p = add_proc(200, "a", "/", 2);
        jd.cycle_gen++;
        set_stats(p, 9);
        jd_history_record(p);
        json_t *d = jd_history_pid_json(&jd, 200);
        EXPECT_EQ(nsamples(d), 1);
        EXPECT_EQ(col_at(d, "allocated", 0), 9);
        json_decref(d);
        EXPECT(jd_history_pid_json(&jd, 201) == NULL);
        clear_procs();
}

static void test_process_cap_and_forget(void)
{
        jd_proc_t *ps[JD_HIST_PROCS + 6];
        for (int i = 0; i < JD_HIST_PROCS + 6; i++) {
                ps[i] = add_proc(1000 + i, "many", "/", 1);
                set_stats(ps[i], 1);
        }
        jd.cycle_gen++;
        for (int i = 0; i < JD_HIST_PROCS + 6; i++)
                jd_history_record(ps[i]);
        EXPECT_EQ(jd_history_rings(), JD_HIST_PROCS);
        EXPECT_EQ(jd_history_dropped(), 6);
        json_t *d = jd_history_pid_json(&jd, 1000 + JD_HIST_PROCS + 1);
        EXPECT(d == NULL);
        json_decref(d);
        /* Ten processes leave the table: the next cycle makes room for the others. */
        for (jd_proc_t **pp = &jd.procs; *pp != NULL;) {
                jd_proc_t *p = *pp;
                if (p->pid < 1010) {
                        drop(pp);
                } else {
                        pp = &p->next;
                }
        }
        jd.cycle_gen++;
        for (int i = JD_HIST_PROCS; i < JD_HIST_PROCS + 6; i++)
                jd_history_record(ps[i]);
        EXPECT_EQ(jd_history_rings(), JD_HIST_PROCS - 10 + 6);
        EXPECT_EQ(jd_history_dropped(), 6);
        d = jd_history_pid_json(&jd, 1000 + JD_HIST_PROCS + 1);
        EXPECT(d != NULL && nsamples(d) == 1);
        json_decref(d);
        clear_procs();
}

static void test_groups_sum_per_cycle(void)
{
        jd_proc_t *a = add_proc(300, "srv", "/system.slice/srv.service", 1);
        jd_proc_t *b = add_proc(301, "srv", "/system.slice/srv.service/", 1);
        jd_proc_t *c = add_proc(302, "other", "/user.slice", 1);
        for (int i = 1; i <= 3; i++) {
                jd.cycle_gen++;
                set_stats(a, 10 * i);
                set_stats(b, 100 * i);
                set_stats(c, 1000);
                jd_history_record(a);
                if (i != 2) /* b's poll failed in cycle 2 */
                        jd_history_record(b);
                jd_history_record(c);
        }
        json_t *d = jd_history_group_json(&jd, "comm", "srv");
        EXPECT(d != NULL);
        EXPECT_EQ(nsamples(d), 3);
        EXPECT_EQ(col_at(d, "allocated", 0), 110);
        EXPECT_EQ(col_at(d, "allocated", 1), 20);
        EXPECT_EQ(col_at(d, "processes", 1), 1);
        EXPECT_EQ(col_at(d, "allocated", 2), 330);
        EXPECT_EQ(json_array_size(json_object_get(d, "pids")), 2);
        json_decref(d);
        d = jd_history_group_json(&jd, "unit", "srv.service");
        EXPECT(d != NULL && nsamples(d) == 3 && col_at(d, "allocated", 2) == 330);
        json_decref(d);
        EXPECT(jd_history_group_json(&jd, "unit", "user.slice") == NULL);
        EXPECT(jd_history_group_json(&jd, "comm", "nope") == NULL);

        json_t *g = jd_groups_json(&jd, "unit");
        EXPECT_EQ(json_array_size(g), 2);
        json_t *g0 = json_array_get(g, 0), *g1 = json_array_get(g, 1);
        EXPECT(strcmp(json_string_value(json_object_get(g0, "unit")), "srv.service") == 0);
        EXPECT_EQ(json_integer_value(json_object_get(g0, "allocated")), 330);
        EXPECT_EQ(json_integer_value(json_object_get(g0, "processes")), 2);
        EXPECT(json_is_null(json_object_get(g1, "unit")));
        EXPECT_EQ(json_integer_value(json_object_get(g1, "rss")), 4000);
        json_decref(g);

        char buf[64];
        EXPECT(strcmp(jd_proc_unit(b, buf, sizeof(buf)), "srv.service") == 0);
        EXPECT(jd_proc_unit(c, buf, sizeof(buf)) == NULL);
        EXPECT(jd_proc_unit(a, buf, 5) == NULL); /* does not fit */
        clear_procs();
}

static void test_fragmentation(void)
{
        json_t *st = json_pack("{s:i, s:i, s:i, s:i}", "allocated", 100, "active", 150, "resident",
                               300, "rss", 600);
        json_t *f = jd_frag_json(st);
        EXPECT(json_real_value(json_object_get(f, "frag_ratio")) == 1.5);
        EXPECT(json_real_value(json_object_get(f, "resident_ratio")) == 2.0);
        EXPECT(json_real_value(json_object_get(f, "rss_ratio")) == 2.0);
        EXPECT_EQ(json_integer_value(json_object_get(f, "unused_bytes")), 200);
        json_decref(f);
        json_decref(st);
        st = json_pack("{s:i}", "allocated", 0);
        f = jd_frag_json(st);
        EXPECT(json_is_null(json_object_get(f, "frag_ratio")));
        json_decref(f);
        json_decref(st);
        EXPECT(json_is_null(jd_frag_json(NULL)));
}

int main(void)
{
        jd_history_start(&jd);
        check_run("unit/history/ring_wraps_at_bound", test_ring_wraps_at_bound);
        check_run("unit/history/reused_pid_restarts", test_reused_pid_restarts);
        check_run("unit/history/process_cap_and_forget", test_process_cap_and_forget);
        check_run("unit/history/groups_sum_per_cycle", test_groups_sum_per_cycle);
        check_run("unit/history/fragmentation", test_fragmentation);
        return check_finish();
}
