/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * policy: the capture policies (policy.h) and the parsing of the store's and the
 * policies' options.  Owns a little state per process, hung off its record (the
 * JD_SLOT_POLICY slot, freed when the record goes): when it was first seen, when a policy
 * last captured it, whether sampling was switched on.
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "call.h"
#include "convert.h"
#include "history.h"
#include "policy.h"
#include "store.h"

jd_policy_opts_t jd_policy_opt = {.cooldown = JD_POLICY_COOLDOWN};

typedef struct pstate {
        double first_seen;   /* wall clock */
        double last_capture; /* wall clock of the last capture started by a policy */
        bool sampling_sent;
} pstate_t;

/* ---- parsing ------------------------------------------------------------------------ */

int jd_parse_size(const char *s, uint64_t *ret)
{
        char *end;
        errno = 0;
        double v = strtod(s, &end);
        if (errno != 0 || end == s || !(v >= 0) || s[0] == '-')
                return -EINVAL;
        double mult = 1;
        switch (*end) {
        case 'k':
        case 'K':
                mult = 1024.0;
                end++;
                break;
        case 'M':
                mult = 1024.0 * 1024;
                end++;
                break;
        case 'G':
                mult = 1024.0 * 1024 * 1024;
                end++;
                break;
        case 'T':
                mult = 1024.0 * 1024 * 1024 * 1024;
                end++;
                break;
        default:
                break;
        }
        if (mult > 1 && *end == 'i')
                end++;
        if (*end == 'B')
                end++;
        v *= mult;
        if (*end != '\0' || v >= 18446744073709551616.0)
                return -EINVAL;
        *ret = (uint64_t)v;
        return 0;
}

int jd_parse_duration(const char *s, double *ret)
{
        return jp_parse_duration(s, 366 * 86400.0, ret);
}

/* "50%/10m". */
static int parse_growth(const char *s, double *pct, double *window)
{
        char *end;
        errno = 0;
        double v = strtod(s, &end);
        if (errno != 0 || end == s || !(v > 0) || !isfinite(v) || end[0] != '%' || end[1] != '/')
                return -EINVAL;
        if (jd_parse_duration(end + 2, window) != 0)
                return -EINVAL;
        *pct = v;
        return 0;
}

static int bad(const char *where, const char *name, const char *arg, const char *why)
{
        fprintf(stderr, "jemctld: %sbad --%s: %s (%s)\n", where, name, arg != NULL ? arg : "", why);
        return 2;
}

int jd_policy_option(const char *name, const char *arg, const char *where)
{
        uint64_t n;
        double d;
        jd_store_opts_t *so = &jd_store_opt;
        jd_policy_opts_t *po = &jd_policy_opt;
        if (strcmp(name, "profile-dir") == 0) {
                if (arg[0] != '/' || strlen(arg) >= sizeof(so->dir) - 100)
                        return bad(where, name, arg, "an absolute directory name");
                snprintf(so->dir, sizeof(so->dir), "%s", arg);
                size_t l = strlen(so->dir);
                while (l > 1 && so->dir[l - 1] == '/')
                        so->dir[--l] = '\0';
        } else if (strcmp(name, "profile-max-count") == 0) {
                if (jd_parse_size(arg, &n) != 0 || n == 0 || n > 100000 ||
                    strspn(arg, "0123456789") != strlen(arg))
                        return bad(where, name, arg, "a count from 1 to 100000");
                so->max_per_proc = (unsigned)n;
        } else if (strcmp(name, "profile-max-bytes") == 0 ||
                   strcmp(name, "profile-max-total") == 0) {
                if (jd_parse_size(arg, &n) != 0 || n == 0)
                        return bad(where, name, arg, "a size such as 256M or 1G");
                if (name[12] == 'b')
                        so->max_bytes_proc = n;
                else
                        so->max_bytes_total = n;
        } else if (strcmp(name, "capture-timeout") == 0) {
                if (jd_parse_duration(arg, &d) != 0 || d > 3600)
                        return bad(where, name, arg, "a duration such as 30 or 2m, at most 1h");
                so->capture_timeout = d;
        } else if (strcmp(name, "convert-timeout") == 0) {
                if (jd_parse_duration(arg, &d) != 0 || !(d > 0) || d > 3600)
                        return bad(where, name, arg, "a duration such as 20 or 1m, at most 1h");
                jd_convert_timeout = d;
        } else if (strcmp(name, "capture-resident-above") == 0) {
                if (jd_parse_size(arg, &n) != 0)
                        return bad(where, name, arg, "a size such as 2G, or 0 for off");
                po->resident_above = n;
        } else if (strcmp(name, "capture-growth") == 0) {
                if (strcmp(arg, "0") == 0 || strcmp(arg, "off") == 0)
                        po->growth_pct = 0;
                else if (parse_growth(arg, &po->growth_pct, &po->growth_window) != 0)
                        return bad(where, name, arg, "PERCENT%/DURATION such as 50%/10m, or off");
        } else if (strcmp(name, "capture-every") == 0 || strcmp(name, "capture-cooldown") == 0) {
                bool every = name[8] == 'e';
                if (strcmp(arg, "0") == 0 || strcmp(arg, "off") == 0)
                        d = 0;
                else if (jd_parse_duration(arg, &d) != 0)
                        return bad(where, name, arg, "a duration such as 90s, 10m, 1h or 1d");
                if (every)
                        po->every = d;
                else
                        po->cooldown = d;
        } else if (strcmp(name, "capture-comm") == 0) {
                if (arg[0] == '\0' || strlen(arg) >= sizeof(po->comm))
                        return bad(where, name, arg, "a process name");
                snprintf(po->comm, sizeof(po->comm), "%s", arg);
        } else if (strcmp(name, "capture-unit") == 0) {
                if (arg[0] == '\0' || strlen(arg) >= sizeof(po->unit))
                        return bad(where, name, arg, "a unit name such as redis.service");
                snprintf(po->unit, sizeof(po->unit), "%s", arg);
        } else if (strcmp(name, "capture-enable-sampling") == 0) {
                po->enable_sampling = true;
        } else if (strcmp(name, "prof-auto") == 0) {
                char *end;
                long lg = JD_PROF_AUTO_LG;
                if (arg == NULL || strcmp(arg, "on") == 0 || strcmp(arg, "true") == 0)
                        lg = JD_PROF_AUTO_LG;
                else if (strcmp(arg, "off") == 0 || strcmp(arg, "false") == 0)
                        lg = 0;
                else if ((lg = strtol(arg, &end, 10)) < 12 || lg > 30 || end == arg ||
                         *end != '\0')
                        return bad(where, name, arg,
                                   "lg_sample from 12 to 30 (2^LG bytes between samples), on "
                                   "or off");
                po->prof_auto_lg = (unsigned)lg;
        } else {
                return bad(where, name, arg, "unknown option");
        }
        return 0;
}

/* ---- per-process state -------------------------------------------------------------- */

/* p's state, made when first asked for; NULL if out of memory. */
static pstate_t *state_of(jd_proc_t *p)
{
        pstate_t *s = p->slot[JD_SLOT_POLICY];
        if (s != NULL)
                return s;
        s = calloc(1, sizeof(*s));
        if (s == NULL)
                return NULL;
        s->first_seen = jd_wall();
        /* After a restart, the store remembers the last capture: the cooldown holds. */
        s->last_capture = jd_store_last_capture(p->pid, jd_store_proc_start(p->m, p->pid));
        p->slot[JD_SLOT_POLICY] = s;
        return s;
}

static void on_polled(jd_manager_t *m, jd_proc_t *p)
{
        (void)m;
        jd_policy_check(p);
}

static void on_gone(jd_manager_t *m, jd_proc_t *p)
{
        (void)m;
        free(p->slot[JD_SLOT_POLICY]);
        p->slot[JD_SLOT_POLICY] = NULL;
}

static jd_observer_t observer = {.polled = on_polled, .gone = on_gone};

void jd_policy_start(jd_manager_t *m)
{
        jd_manager_subscribe(m, &observer);
}

void jd_policy_stop(jd_manager_t *m)
{
        jd_manager_unsubscribe(m, &observer);
        for (jd_proc_t *p = m->procs; p != NULL; p = p->next)
                on_gone(m, p);
}

/* ---- evaluation --------------------------------------------------------------------- */

static bool matches(const jd_proc_t *p)
{
        const jd_policy_opts_t *po = &jd_policy_opt;
        if (po->comm[0] != '\0') {
                const char *comm = jd_proc_comm(p);
                if (comm == NULL || strcmp(comm, po->comm) != 0)
                        return false;
        }
        if (po->unit[0] != '\0') {
                char buf[256];
                const char *unit = jd_proc_unit(p, buf, sizeof(buf));
                if (unit == NULL || strcmp(unit, po->unit) != 0)
                        return false;
        }
        return true;
}

/* The sampling calls to one process (--capture-enable-sampling, --prof-auto): its pid
 * and its manager, which the second call of --prof-auto runs on.  Freed by the last
 * callback. */
typedef struct sampling {
        jd_manager_t *m;
        pid_t pid;
} sampling_t;

/* Starts op on sg's process, called back with sg; false if nothing will call back. */
static bool sampling_call(sampling_t *sg, const jd_req_t *req, jd_call_cb_t cb)
{
        return jd_call(sg->m, sg->pid, req, JD_CALL_ANY_UID, sg->m->opt.timeout, cb, sg) != NULL;
}

static void on_sampling(jd_call_result_t *r, void *arg)
{
        sampling_t *sg = arg;
        pid_t pid = sg->pid;
        free(sg);
        if (r->status != JD_CALL_OK)
                jd_log("pid %d: cannot switch heap profile sampling on: %s", (int)pid,
                       r->message != NULL ? r->message : "failed");
        else if (jd_policy_opt.prof_auto_lg > 0)
                jd_log("pid %d: heap profile sampling switched on (prof-auto, one sample per "
                       "2^%u bytes)",
                       (int)pid, jd_policy_opt.prof_auto_lg);
        else
                jd_log("pid %d: heap profile sampling switched on (capture-enable-sampling)",
                       (int)pid);
}

/* --prof-auto: the answer of "status"; switches sampling on at the chosen rate unless the
 * process samples already (at whatever rate its owner chose). */
static void on_prof_status(jd_call_result_t *r, void *arg)
{
        sampling_t *sg = arg;
        if (r->status != JD_CALL_OK) {
                jd_log("pid %d: cannot read the heap profile state: %s", (int)sg->pid,
                       r->message != NULL ? r->message : "failed");
                free(sg);
                return;
        }
        if (json_is_true(json_object_get(r->result, "active"))) {
                free(sg);
                return;
        }
        jd_req_t req = jd_req_prof(JP_PROF_ON);
        req.u.prof.has_lg = true;
        req.u.prof.lg_sample = (unsigned)jd_policy_opt.prof_auto_lg;
        if (!sampling_call(sg, &req, on_sampling))
                free(sg);
}

static void on_captured(jd_store_result_t r, const jd_profile_t *pf, const char *msg, void *arg)
{
        (void)r, (void)pf, (void)msg, (void)arg; /* store.c logs and counts */
}

/* Which policy fires for p now, or NULL. */
static const char *reason_for(const jd_proc_t *p, const pstate_t *s, double now)
{
        const jd_policy_opts_t *po = &jd_policy_opt;
        json_t *jr = json_object_get(p->stats, "resident");
        uint64_t resident = json_is_integer(jr) ? (uint64_t)json_integer_value(jr) : 0;
        if (po->resident_above > 0 && resident > po->resident_above)
                return "resident";
        if (po->growth_pct > 0) {
                const jd_sample_t *old = jd_history_sample_before(p, now - po->growth_window);
                if (old != NULL && old->resident > 0 &&
                    (double)resident >= (double)old->resident * (1.0 + po->growth_pct / 100.0))
                        return "growth";
        }
        if (po->every > 0) {
                double since = s->last_capture > 0 ? s->last_capture : s->first_seen;
                if (now - since >= po->every)
                        return "periodic";
        }
        return NULL;
}

void jd_policy_check(jd_proc_t *p)
{
        const jd_policy_opts_t *po = &jd_policy_opt;
        bool any = po->resident_above > 0 || po->growth_pct > 0 || po->every > 0;
        if (!any && !po->enable_sampling && po->prof_auto_lg == 0)
                return;
        if (!jd_proc_visible(p) || p->info == NULL || !matches(p))
                return;
        pstate_t *s = state_of(p);
        if (s == NULL)
                return;
        if ((po->enable_sampling || po->prof_auto_lg > 0) && !s->sampling_sent) {
                s->sampling_sent = true;
                bool ask = po->prof_auto_lg > 0;
                jd_req_t req = jd_req_prof(ask ? JP_PROF_STATUS : JP_PROF_ON);
                sampling_t *sg = malloc(sizeof(*sg));
                if (sg != NULL) {
                        *sg = (sampling_t){.m = p->m, .pid = p->pid};
                        if (!sampling_call(sg, &req, ask ? on_prof_status : on_sampling))
                                free(sg);
                }
        }
        double now = jd_wall();
        if (!any || jd_store_busy(p) ||
            (s->last_capture > 0 && now - s->last_capture < po->cooldown))
                return;
        const char *reason = reason_for(p, s, now);
        if (reason == NULL)
                return;
        s->last_capture = now;
        jd_log("pid %d: capture policy \"%s\" fires", (int)p->pid, reason);
        jd_store_capture(p->m, p->pid, JD_CALL_ANY_UID, reason, on_captured, NULL);
}
