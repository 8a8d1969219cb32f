/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Unit tests of jemctld's capture policies and option parsing (jemctld/src/policy.c),
 * linked with policy.c alone: the store, the calls, the history and the table are stubs
 * that record what the policies asked for.  Sizes and durations at their limits, every
 * option's bad value, and the decisions: resident above, growth over the window,
 * periodic, cooldown, comm/unit filters, a capture in flight, sampling switched on once.
 */
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "call.h"
#include "../common/check.h"
#include "history.h"
#include "policy.h"
#include "store.h"

/* ---- stubs of what policy.c uses ---------------------------------------------------- */

static jd_manager_t jd;
jd_store_opts_t jd_store_opt;
double jd_convert_timeout;
static double now = 100000;
static int ncaptures, nsampling;
static char last_reason[32];
static bool busy;
static jd_sample_t old_sample;
static bool have_old;
static double old_at; /* the time asked for */

double jd_wall(void)
{
        return now;
}
void jd_log(const char *fmt, ...)
{
        (void)fmt;
}

#include "stub_observer.h"

jd_proc_t *jd_proc_find(const jd_manager_t *m, pid_t pid)
{
        for (jd_proc_t *p = m->procs; p != NULL; p = p->next)
                if (p->pid == pid)
                        return p;
        return NULL;
}
const char *jd_proc_comm(const jd_proc_t *p)
{
        return json_string_value(json_object_get(p->info, "comm"));
}
const char *jd_proc_unit(const jd_proc_t *p, char *buf, size_t cap)
{
        const char *u = json_string_value(json_object_get(p->info, "unit"));
        if (u == NULL)
                return NULL;
        snprintf(buf, cap, "%s", u);
        return buf;
}
const jd_sample_t *jd_history_sample_before(const jd_proc_t *p, double t)
{
        (void)p;
        old_at = t;
        return have_old ? &old_sample : NULL;
}
jd_call_t *jd_call(jd_manager_t *m, pid_t pid, const jd_req_t *req, uid_t as_uid,
                   double timeout, jd_call_cb_t cb, void *arg)
{
        (void)m, (void)pid, (void)timeout, (void)cb, (void)arg;
        if (req->op == JP_OP_PROF && req->u.prof.action == JP_PROF_ON && as_uid == JD_CALL_ANY_UID)
                nsampling++;
        return NULL;
}
int jd_store_capture(jd_manager_t *m, pid_t pid, uid_t as_uid, const char *reason,
                     jd_store_cb_t cb, void *arg)
{
        (void)m, (void)pid, (void)as_uid, (void)cb, (void)arg;
        ncaptures++;
        snprintf(last_reason, sizeof(last_reason), "%s", reason);
        return 0;
}
bool jd_store_busy(const jd_proc_t *p)
{
        (void)p;
        return busy;
}
double jd_store_last_capture(pid_t pid, long long start)
{
        (void)pid, (void)start;
        return 0;
}
long long jd_store_proc_start(const jd_manager_t *m, pid_t pid)
{
        jd_proc_t *p = jd_proc_find(m, pid);
        return p != NULL ? (long long)json_integer_value(json_object_get(p->info, "start_time"))
                         : 0;
}

static jd_proc_t *proc(pid_t pid, const char *comm, const char *unit, json_int_t resident)
{
        jd_proc_t *p = calloc(1, sizeof(*p));
        p->pid = pid;
        p->m = &jd;
        p->info = json_pack("{s:s,s:s?,s:I}", "comm", comm, "unit", unit, "start_time",
                            (json_int_t)5000 + pid);
        p->stats = json_pack("{s:I}", "resident", resident);
        p->next = jd.procs;
        jd.procs = p;
        return p;
}

/* p leaves the table: the observer told, as poll.c does, then freed. */
static void drop(jd_proc_t *p)
{
        for (jd_proc_t **pp = &jd.procs; *pp != NULL; pp = &(*pp)->next)
                if (*pp == p) {
                        *pp = p->next;
                        break;
                }
        if (observer != NULL && observer->gone != NULL)
                observer->gone(&jd, p);
        json_decref(p->info);
        json_decref(p->stats);
        free(p);
}

static void reset(void)
{
        while (jd.procs != NULL)
                drop(jd.procs);
        jd.cycle_gen++;
        jd_policy_stop(&jd);
        jd_policy_start(&jd);
        memset(&jd_policy_opt, 0, sizeof(jd_policy_opt));
        jd_policy_opt.cooldown = JD_POLICY_COOLDOWN;
        ncaptures = nsampling = 0;
        last_reason[0] = '\0';
        busy = have_old = false;
}

static int opt(const char *name, const char *arg)
{
        FILE *saved = stderr;
        stderr = fopen("/dev/null", "w"); /* the messages of the bad values */
        int rc = jd_policy_option(name, arg, "");
        fclose(stderr);
        stderr = saved;
        return rc;
}

/* ---- parsing ------------------------------------------------------------------------ */

static void test_sizes(void)
{
        uint64_t v = 7;
        EXPECT(jd_parse_size("0", &v) == 0 && v == 0);
        EXPECT(jd_parse_size("2G", &v) == 0 && v == 2ull << 30);
        EXPECT(jd_parse_size("512M", &v) == 0 && v == 512ull << 20);
        EXPECT(jd_parse_size("64k", &v) == 0 && v == 65536);
        EXPECT(jd_parse_size("1.5KiB", &v) == 0 && v == 1536);
        EXPECT(jd_parse_size("1TB", &v) == 0 && v == 1ull << 40);
        EXPECT(jd_parse_size("1048576", &v) == 0 && v == 1048576);
        EXPECT(jd_parse_size("15E", &v) != 0 && v == 1048576); /* untouched on failure */
        EXPECT(jd_parse_size("", &v) != 0);
        EXPECT(jd_parse_size("-1", &v) != 0);
        EXPECT(jd_parse_size("2GG", &v) != 0);
        EXPECT(jd_parse_size("G", &v) != 0);
        EXPECT(jd_parse_size("99999999999T", &v) != 0); /* beyond 2^64 */
}

static void test_durations(void)
{
        double d = 0;
        EXPECT(jd_parse_duration("90", &d) == 0 && d == 90);
        EXPECT(jd_parse_duration("90s", &d) == 0 && d == 90);
        EXPECT(jd_parse_duration("10m", &d) == 0 && d == 600);
        EXPECT(jd_parse_duration("1.5h", &d) == 0 && d == 5400);
        EXPECT(jd_parse_duration("366d", &d) == 0 && d == 366 * 86400.0);
        EXPECT(jd_parse_duration("367d", &d) != 0);
        EXPECT(jd_parse_duration("0", &d) != 0);
        EXPECT(jd_parse_duration("-5m", &d) != 0);
        EXPECT(jd_parse_duration("5x", &d) != 0);
        EXPECT(jd_parse_duration("nan", &d) != 0);
}

static void test_options(void)
{
        reset();
        EXPECT(opt("profile-max-count", "100000") == 0 && jd_store_opt.max_per_proc == 100000);
        EXPECT(opt("profile-max-count", "100001") == 2);
        EXPECT(opt("profile-max-count", "0") == 2);
        EXPECT(opt("profile-max-count", "1") == 0 && jd_store_opt.max_per_proc == 1);
        EXPECT(opt("profile-max-count", "1k") == 2);
        EXPECT(opt("profile-max-bytes", "256M") == 0 && jd_store_opt.max_bytes_proc == 256 << 20);
        EXPECT(opt("profile-max-total", "1G") == 0 && jd_store_opt.max_bytes_total == 1 << 30);
        EXPECT(opt("profile-max-total", "0") == 2);
        EXPECT(opt("profile-dir", "relative/dir") == 2);
        EXPECT(opt("profile-dir", "/var/lib/x//") == 0 && strcmp(jd_store_opt.dir, "/var/lib/x") == 0);
        EXPECT(opt("capture-timeout", "3600") == 0 && jd_store_opt.capture_timeout == 3600);
        EXPECT(opt("convert-timeout", "1.5") == 0 && jd_convert_timeout == 1.5);
        EXPECT(opt("convert-timeout", "0") != 0 && opt("convert-timeout", "2h") != 0);
        EXPECT(opt("capture-timeout", "3601") == 2);
        EXPECT(opt("capture-growth", "50%/10m") == 0 && jd_policy_opt.growth_pct == 50 &&
              jd_policy_opt.growth_window == 600);
        EXPECT(opt("capture-growth", "50") == 2);
        EXPECT(opt("capture-growth", "50%") == 2);
        EXPECT(opt("capture-growth", "0%/1m") == 2);
        EXPECT(opt("capture-growth", "off") == 0 && jd_policy_opt.growth_pct == 0);
        EXPECT(opt("capture-every", "1h") == 0 && jd_policy_opt.every == 3600);
        EXPECT(opt("capture-every", "off") == 0 && jd_policy_opt.every == 0);
        EXPECT(opt("capture-cooldown", "0") == 0 && jd_policy_opt.cooldown == 0);
        EXPECT(opt("capture-resident-above", "2G") == 0 && jd_policy_opt.resident_above == 2ull << 30);
        EXPECT(opt("capture-resident-above", "lots") == 2);
        EXPECT(opt("capture-comm", "") == 2);
        EXPECT(opt("capture-enable-sampling", NULL) == 0 && jd_policy_opt.enable_sampling);
}

/* ---- decisions ---------------------------------------------------------------------- */

static void test_nothing_configured(void)
{
        reset();
        jd_proc_t *p = proc(10, "redis", NULL, 8ll << 30);
        jd_policy_check(p);
        EXPECT_EQ(ncaptures, 0);
        EXPECT_EQ(nsampling, 0);
}

static void test_resident_above_and_cooldown(void)
{
        reset();
        jd_policy_opt.resident_above = 1000;
        jd_policy_opt.cooldown = 60;
        jd_proc_t *at = proc(11, "a", NULL, 1000); /* at the threshold: not above */
        jd_proc_t *above = proc(12, "a", NULL, 1001);
        jd_policy_check(at);
        EXPECT_EQ(ncaptures, 0);
        jd_policy_check(above);
        EXPECT_EQ(ncaptures, 1);
        EXPECT(strcmp(last_reason, "resident") == 0);
        now += 59; /* within the cooldown */
        jd_policy_check(above);
        EXPECT_EQ(ncaptures, 1);
        now += 1;
        jd_policy_check(above);
        EXPECT_EQ(ncaptures, 2);
        now += 100;
        busy = true; /* a capture in flight: none more */
        jd_policy_check(above);
        EXPECT_EQ(ncaptures, 2);
}

static void test_growth(void)
{
        reset();
        jd_policy_opt.growth_pct = 50;
        jd_policy_opt.growth_window = 600;
        jd_proc_t *p = proc(13, "a", NULL, 1499);
        jd_policy_check(p); /* no sample that old yet */
        EXPECT_EQ(ncaptures, 0);
        have_old = true;
        old_sample.resident = 1000;
        jd_policy_check(p);
        EXPECT_EQ(ncaptures, 0); /* 49.9 % */
        EXPECT(old_at == now - 600);
        json_object_set_new(p->stats, "resident", json_integer(1500));
        jd_policy_check(p);
        EXPECT_EQ(ncaptures, 1);
        EXPECT(strcmp(last_reason, "growth") == 0);
}

static void test_periodic_and_filters(void)
{
        reset();
        jd_policy_opt.every = 3600;
        jd_policy_opt.cooldown = 0;
        snprintf(jd_policy_opt.comm, sizeof(jd_policy_opt.comm), "redis");
        snprintf(jd_policy_opt.unit, sizeof(jd_policy_opt.unit), "redis.service");
        jd_proc_t *match = proc(14, "redis", "redis.service", 1);
        jd_proc_t *other_comm = proc(15, "nginx", "redis.service", 1);
        jd_proc_t *other_unit = proc(16, "redis", "other.service", 1);
        jd_proc_t *no_unit = proc(17, "redis", NULL, 1);
        for (int i = 0; i < 2; i++) {
                jd_policy_check(match);
                jd_policy_check(other_comm);
                jd_policy_check(other_unit);
                jd_policy_check(no_unit);
                EXPECT_EQ(ncaptures, 0); /* first seen now: an hour to go */
                now += 3599;
        }
        now -= 3599; /* an hour after the first sight */
        now += 1;
        jd_policy_check(match);
        jd_policy_check(other_comm);
        jd_policy_check(other_unit);
        jd_policy_check(no_unit);
        EXPECT_EQ(ncaptures, 1);
        EXPECT(strcmp(last_reason, "periodic") == 0);
        now += 1800;
        jd_policy_check(match);
        EXPECT_EQ(ncaptures, 1); /* from the last capture now */
        now += 1800;
        jd_policy_check(match);
        EXPECT_EQ(ncaptures, 2);
}

static void test_sampling_once(void)
{
        reset();
        jd_policy_opt.enable_sampling = true;
        snprintf(jd_policy_opt.comm, sizeof(jd_policy_opt.comm), "redis");
        jd_proc_t *a = proc(18, "redis", NULL, 1);
        jd_proc_t *b = proc(19, "other", NULL, 1);
        for (int i = 0; i < 3; i++) {
                jd_policy_check(a);
                jd_policy_check(b);
        }
        EXPECT_EQ(nsampling, 1);
        EXPECT_EQ(ncaptures, 0);
        /* The pid reused by a new process (another start time, so a new record): switched
         * on again. */
        drop(a);
        a = proc(18, "redis", NULL, 1);
        a->start = 99999;
        json_object_set_new(a->info, "start_time", json_integer(99999));
        jd_policy_check(a);
        EXPECT_EQ(nsampling, 2);
}

int main(void)
{
        RUN("unit/policy", test_sizes);
        RUN("unit/policy", test_durations);
        RUN("unit/policy", test_options);
        RUN("unit/policy", test_nothing_configured);
        RUN("unit/policy", test_resident_above_and_cooldown);
        RUN("unit/policy", test_growth);
        RUN("unit/policy", test_periodic_and_filters);
        RUN("unit/policy", test_sampling_once);
        reset();
        return check_finish();
}
