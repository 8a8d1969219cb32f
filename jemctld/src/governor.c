/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * governor: purges on behalf of the host (governor.h).  Everything runs on the event loop:
 * a 1 s timer, the v1 threshold eventfds and one inotify descriptor for the v2
 * memory.events files.  The per-process state (gproc_t) hangs off the process's record,
 * in its JD_SLOT_GOVERNOR slot, freed when the record goes.
 */
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/event.h>

#include "bus.h"
#include "call.h"
#include "cgroup.h"
#include "events.h"
#include "governor.h"
#include "manager.h"
#include "policy.h" /* jd_parse_duration */

jd_gov_opts_t jd_gov_opt = {
        .mode = JD_GOV_ON,
        .trigger = 90,
        .target = 80,
        .psi = 20,
        .host_available = 5,
        .cooldown = 10,
};

#define TICK_S 1.0
#define REREAD_S 30.0  /* a process's cgroup, and a cgroup's ancestors, read again */
#define ROUND_GAP_S 1.0 /* per cgroup (and the host): one round of purges at most */
#define LINGER_S 10.0  /* a cgroup with no process left is dropped after this */
#define MAX_DEPTH 32   /* ancestors looked at for limits */
#define NACTIONS 128   /* actions kept for /api/v1/governor */
#define MIB (1024.0 * 1024.0)

enum reason { R_LIMIT, R_HIGH, R_PSI, R_HOST, NREASONS };
static const char *const reason_names[NREASONS] = {"limit", "high", "psi", "host"};

/* One watched cgroup: it has a limit and liballoc processes at or below it. */
typedef struct gov_cg {
        jd_manager_t *m;     /* whose processes it holds, whose loop its event is on */
        int version;
        char dir[JD_CG_PATH];
        uint64_t limit;      /* v1 limit_in_bytes; v2 memory.high if set, else memory.max */
        enum reason kind;    /* R_HIGH when limit is memory.high, else R_LIMIT */
        uint64_t usage;      /* at the last check, less the inactive page cache */
        uint64_t ev_high, ev_max; /* v2 memory.events counts at the last check */
        int efd;             /* v1 usage threshold, or -1 */
        uint64_t armed;      /* the threshold's bytes */
        struct event *ev;
        int wd;              /* v2 inotify watch of memory.events, or -1 */
        unsigned members;
        double empty_since;  /* monotonic, 0 while it has processes */
        double last_round;   /* monotonic */
        bool dead;           /* gone or unlimited: dropped at the next tick */
        bool arm_logged;
        struct gov_cg *next;
} gov_cg_t;

/* A process's own cgroup whose ancestors were looked at for limits, and when. */
typedef struct leaf {
        int version;
        double walked;
        struct leaf *next;
        char dir[];
} leaf_t;

typedef struct action {
        double time; /* wall clock */
        pid_t pid;
        char comm[32];
        char cgroup[JD_CG_PATH];
        enum reason reason;
        uint64_t usage, limit, bytes;
        double ms; /* how long the purge took */
        bool dry_run;
        char result[32];
} action_t;

/* What the governor keeps of one process (its record's JD_SLOT_GOVERNOR): its own memory
 * cgroup directory (NULL until read, or none), its cgroup version, when it was read and
 * when the process was last told to purge (monotonic, 0 never); a purge in flight; a
 * failed purge already logged. */
typedef struct gproc {
        char *memcg;
        int memcg_version;
        double memcg_read, last;
        bool busy, failed;
} gproc_t;

/* A purge in flight, for the process of the record keyed (pid, start). */
typedef struct pending {
        jd_manager_t *m;
        pid_t pid;
        unsigned long long start;
        enum reason reason;
        uint64_t usage, limit;
        double t0;
        char cgroup[JD_CG_PATH];
} pending_t;

static gov_cg_t *cgs;
static leaf_t *leaves;
static struct event *tick_ev, *ino_ev;
static int ino_fd = -1;
static bool have_mounts;
static double mounts_tried, host_last_round;
static bool host_logged;
static uint64_t n_actions[NREASONS], bytes_total, n_errors;

/* p's state, or NULL (none yet and make false, or out of memory). */
static gproc_t *gproc_of(jd_proc_t *p, bool make)
{
        gproc_t *g = p->slot[JD_SLOT_GOVERNOR];
        if (g == NULL && make) {
                g = calloc(1, sizeof(*g));
                p->slot[JD_SLOT_GOVERNOR] = g;
        }
        return g;
}
static action_t ring[NACTIONS];
static unsigned ring_next, ring_len;

/* ---- options ------------------------------------------------------------------------ */

static int parse_pct(const char *s, double *ret, double lo)
{
        char *end;
        errno = 0;
        double v = strtod(s, &end);
        if (*end == '%')
                end++;
        if (errno != 0 || end == s || *end != '\0' || !(v >= lo && v <= 100))
                return -EINVAL;
        *ret = v;
        return 0;
}

int jd_governor_option(const char *name, const char *arg, const char *where)
{
        int rc = 0;
        const char *why = "";
        if (strcmp(name, "governor") == 0) {
                if (strcmp(arg, "on") == 0)
                        jd_gov_opt.mode = JD_GOV_ON;
                else if (strcmp(arg, "dry-run") == 0)
                        jd_gov_opt.mode = JD_GOV_DRY_RUN;
                else if (strcmp(arg, "off") == 0)
                        jd_gov_opt.mode = JD_GOV_OFF;
                else
                        rc = -EINVAL, why = "on, dry-run or off";
        } else if (strcmp(name, "governor-trigger") == 0) {
                rc = parse_pct(arg, &jd_gov_opt.trigger, 1), why = "a percentage, 1-100";
        } else if (strcmp(name, "governor-target") == 0) {
                rc = parse_pct(arg, &jd_gov_opt.target, 1), why = "a percentage, 1-100";
        } else if (strcmp(name, "governor-psi") == 0) {
                rc = parse_pct(arg, &jd_gov_opt.psi, 0), why = "a percentage, 0 (off)-100";
        } else if (strcmp(name, "governor-host-available") == 0) {
                rc = parse_pct(arg, &jd_gov_opt.host_available, 0),
                why = "a percentage, 0 (off)-100";
        } else if (strcmp(name, "governor-cooldown") == 0) {
                rc = jd_parse_duration(arg, &jd_gov_opt.cooldown);
                why = "a duration such as 10s or 1m";
        }
        if (rc != 0) {
                fprintf(stderr, "jemctld: %sbad --%s: %s (%s)\n", where, name, arg, why);
                return 2;
        }
        return 0;
}

int jd_governor_check_options(void)
{
        if (jd_gov_opt.target >= jd_gov_opt.trigger) {
                fprintf(stderr, "jemctld: --governor-target (%g%%) must be below "
                                "--governor-trigger (%g%%)\n",
                        jd_gov_opt.target, jd_gov_opt.trigger);
                return 2;
        }
        return 0;
}

/* ---- actions ------------------------------------------------------------------------ */

static const char *comm_of(const jd_proc_t *p)
{
        const char *c = p != NULL ? json_string_value(json_object_get(p->info, "comm")) : NULL;
        return c != NULL ? c : "?";
}

static void record(const pending_t *pd, const char *comm, uint64_t bytes, double ms,
                   bool dry_run, const char *result)
{
        action_t *a = &ring[ring_next];
        ring_next = (ring_next + 1) % NACTIONS;
        if (ring_len < NACTIONS)
                ring_len++;
        memset(a, 0, sizeof(*a));
        a->time = jd_wall();
        a->pid = pd->pid;
        snprintf(a->comm, sizeof(a->comm), "%s", comm);
        snprintf(a->cgroup, sizeof(a->cgroup), "%s", pd->cgroup);
        a->reason = pd->reason;
        a->usage = pd->usage;
        a->limit = pd->limit;
        a->bytes = bytes;
        a->ms = ms;
        a->dry_run = dry_run;
        snprintf(a->result, sizeof(a->result), "%s", result);
        jd_bus_pressure_action(pd->m, (unsigned)pd->pid, pd->cgroup, reason_names[pd->reason],
                               bytes, dry_run);
        char d[160];
        if (dry_run)
                snprintf(d, sizeof(d), "%s: would purge (dry-run)", reason_names[pd->reason]);
        else
                snprintf(d, sizeof(d), "%s: %s, %.1f MiB returned", reason_names[pd->reason],
                         result, (double)bytes / MIB);
        jd_event(pd->pid, "pressure", "governor", d);
}

static uint64_t u64_of(const json_t *o, const char *key)
{
        const json_t *v = json_object_get(o, key);
        return json_is_integer(v) && json_integer_value(v) > 0
                       ? (uint64_t)json_integer_value(v)
                       : 0;
}

static void on_purged(jd_call_result_t *r, void *arg)
{
        pending_t *pd = arg;
        jd_proc_t *p = jd_proc_find_key(pd->m, pd->pid, pd->start);
        gproc_t *g = p != NULL ? gproc_of(p, false) : NULL;
        if (g != NULL)
                g->busy = false;
        double ms = (jd_mono() - pd->t0) * 1000.0;
        if (r->status == JD_CALL_OK) {
                uint64_t before = u64_of(r->result, "rss_before");
                uint64_t after = u64_of(r->result, "rss_after");
                uint64_t bytes = before > after ? before - after : 0;
                bytes_total += bytes;
                jd_log("governor: %s: pid %d (%s) returned %.1f MiB in %.0f ms (%s: usage "
                       "%.1f MiB of %.1f MiB)",
                       pd->cgroup, (int)pd->pid, comm_of(p), (double)bytes / MIB, ms,
                       reason_names[pd->reason], (double)pd->usage / MIB,
                       (double)pd->limit / MIB);
                if (g != NULL)
                        g->failed = false;
                record(pd, comm_of(p), bytes, ms, false, "ok");
        } else {
                n_errors++;
                /* Said once per process until it answers again: a process that does not
                 * answer is not worth a line every cooldown. */
                if (g == NULL || !g->failed)
                        jd_log("governor: %s: pid %d (%s) did not purge: %s", pd->cgroup,
                               (int)pd->pid, comm_of(p),
                               r->message != NULL ? r->message
                                                  : jd_call_status_name(r->status));
                if (g != NULL)
                        g->failed = true;
                record(pd, comm_of(p), 0, ms, false, jd_call_status_name(r->status));
        }
        free(pd);
}

/* Tells p to purge now (or, in dry-run, says it would). */
static void purge(jd_proc_t *p, const char *cgroup, enum reason why, uint64_t usage,
                  uint64_t limit, double now)
{
        gproc_t *g = gproc_of(p, true);
        if (g == NULL) {
                n_errors++;
                jd_log("governor: %s: cannot ask pid %d to purge: out of memory", cgroup,
                       (int)p->pid);
                return;
        }
        g->last = now;
        n_actions[why]++;
        pending_t local = {.m = p->m, .pid = p->pid, .start = p->start, .reason = why,
                           .usage = usage, .limit = limit, .t0 = now};
        snprintf(local.cgroup, sizeof(local.cgroup), "%s", cgroup);
        if (jd_gov_opt.mode == JD_GOV_DRY_RUN) {
                jd_log("governor: dry-run: %s: would purge pid %d (%s) (%s: usage %.1f MiB "
                       "of %.1f MiB)",
                       cgroup, (int)p->pid, comm_of(p), reason_names[why],
                       (double)usage / MIB, (double)limit / MIB);
                record(&local, comm_of(p), 0, 0, true, "dry-run");
                return;
        }
        pending_t *pd = malloc(sizeof(*pd));
        jd_req_t req = {.op = JP_OP_PURGE, .u.purge.pressure = true};
        if (pd != NULL) {
                *pd = local;
                if (jd_call(p->m, p->pid, &req, JD_CALL_ANY_UID, p->m->opt.timeout, on_purged,
                            pd) != NULL) {
                        g->busy = true;
                        return;
                }
        }
        free(pd);
        n_errors++;
        jd_log("governor: %s: cannot ask pid %d to purge: out of memory", cgroup, (int)p->pid);
}

/* What p holds that a purge can return, by its last stats: dirty and muzzy pages. */
static uint64_t reclaimable(const jd_proc_t *p)
{
        const json_t *arenas = json_object_get(p->stats, "arenas");
        double n = 0;
        size_t i;
        const json_t *a;
        json_array_foreach(arenas, i, a)
        {
                n += json_number_value(json_object_get(a, "pdirty"));
                n += json_number_value(json_object_get(a, "pmuzzy"));
        }
        return (uint64_t)(n * (double)sysconf(_SC_PAGESIZE));
}

static bool under(const jd_proc_t *p, const gov_cg_t *cg)
{
        const gproc_t *g = p->slot[JD_SLOT_GOVERNOR];
        if (g == NULL || g->memcg == NULL || g->memcg_version != cg->version)
                return false;
        size_t n = strlen(cg->dir);
        return strncmp(g->memcg, cg->dir, n) == 0 && (g->memcg[n] == '\0' || g->memcg[n] == '/');
}

typedef struct cand {
        jd_proc_t *p;
        uint64_t bytes;
} cand_t;

static int by_bytes(const void *a, const void *b)
{
        uint64_t x = ((const cand_t *)a)->bytes, y = ((const cand_t *)b)->bytes;
        return x < y ? 1 : x > y ? -1 : 0;
}

/* One round: the processes of m's table under cg (all of them for the host, cg NULL) that
 * may be purged now, the largest holders first, until what they hold covers need (all of
 * them when need is 0: pressure says nothing of how much). */
static void round_of(jd_manager_t *m, gov_cg_t *cg, enum reason why, uint64_t usage,
                     uint64_t limit, uint64_t need, double now)
{
        double *last = cg != NULL ? &cg->last_round : &host_last_round;
        if (*last > 0 && now - *last < ROUND_GAP_S)
                return;
        *last = now;
        size_t n = 0, cap = 0;
        cand_t *c = NULL;
        for (jd_proc_t *p = m->procs; p != NULL; p = p->next) {
                const gproc_t *g = p->slot[JD_SLOT_GOVERNOR];
                if (!jd_proc_visible(p) || p->info == NULL || (g != NULL && g->busy) ||
                    (cg != NULL && !under(p, cg)) ||
                    (g != NULL && g->last > 0 && now - g->last < jd_gov_opt.cooldown))
                        continue;
                if (n == cap) {
                        size_t nc = cap ? cap * 2 : 16;
                        cand_t *g = realloc(c, nc * sizeof(*c));
                        if (g == NULL)
                                break;
                        c = g;
                        cap = nc;
                }
                c[n].p = p;
                c[n].bytes = reclaimable(p);
                n++;
        }
        qsort(c, n, sizeof(*c), by_bytes);
        uint64_t sum = 0;
        for (size_t i = 0; i < n; i++) {
                purge(c[i].p, cg != NULL ? cg->dir : "host", why, usage, limit, now);
                sum += c[i].bytes;
                if (need > 0 && sum >= need)
                        break;
        }
        free(c);
}

/* ---- cgroups ------------------------------------------------------------------------ */

static void check_cg(gov_cg_t *cg, double now);

static void on_threshold(evutil_socket_t fd, short what, void *arg)
{
        (void)what;
        uint64_t v;
        if (read(fd, &v, sizeof(v)) < 0 && errno == EAGAIN)
                return;
        gov_cg_t *cg = arg;
        if (!cg->dead)
                check_cg(cg, jd_mono());
}

static void disarm(gov_cg_t *cg)
{
        if (cg->ev != NULL)
                event_free(cg->ev);
        cg->ev = NULL;
        if (cg->efd >= 0)
                close(cg->efd);
        cg->efd = -1;
        if (cg->wd >= 0 && ino_fd >= 0)
                inotify_rm_watch(ino_fd, cg->wd);
        cg->wd = -1;
}

static uint64_t share(uint64_t limit, double pct)
{
        return (uint64_t)((double)limit * pct / 100.0);
}

/* v1: a usage threshold at the trigger, so a crossing wakes us at once; v2: inotify on
 * memory.events.  Either way the 1 s check stays (the fallback when neither can be
 * had). */
static void arm(gov_cg_t *cg)
{
        if (cg->version == 1) {
                uint64_t at = share(cg->limit, jd_gov_opt.trigger);
                if (cg->efd >= 0 && cg->armed == at)
                        return;
                if (cg->ev != NULL)
                        event_free(cg->ev);
                if (cg->efd >= 0)
                        close(cg->efd);
                cg->ev = NULL;
                cg->efd = jd_cg_v1_threshold(cg->dir, at);
                if (cg->efd < 0) {
                        if (!cg->arm_logged)
                                jd_log("governor: %s: no usage threshold (%s): checked every "
                                       "second instead", cg->dir, strerror(-cg->efd));
                        cg->arm_logged = true;
                        cg->efd = -1;
                        return;
                }
                cg->armed = at;
                cg->ev = event_new(cg->m->base, cg->efd, EV_READ | EV_PERSIST, on_threshold, cg);
                if (cg->ev == NULL || event_add(cg->ev, NULL) != 0) {
                        disarm(cg);
                        return;
                }
        } else if (cg->wd < 0 && ino_fd >= 0) {
                char path[JD_CG_PATH + 32];
                snprintf(path, sizeof(path), "%s/memory.events", cg->dir);
                cg->wd = inotify_add_watch(ino_fd, path, IN_MODIFY);
                if (cg->wd < 0 && !cg->arm_logged) {
                        jd_log("governor: %s: cannot watch memory.events (%s): checked every "
                               "second instead", cg->dir, strerror(errno));
                        cg->arm_logged = true;
                }
        }
}

/* The cgroup's limit now: false if it is gone or has none (then cg is dropped). */
/* The limit that counts: memory.high when it is set below memory.max, else the hard
 * limit.  0, -ERANGE if there is none, or jd_cg_limits's error (-ENOENT: gone). */
static int limit_of(int version, const char *dir, uint64_t *limit, enum reason *kind)
{
        uint64_t max, high;
        int rc = jd_cg_limits(version, dir, &max, &high);
        if (rc != 0)
                return rc;
        bool by_high = high != JD_CG_NONE && high < max;
        *kind = by_high ? R_HIGH : R_LIMIT;
        *limit = by_high ? high : max;
        return *limit == JD_CG_NONE || *limit == 0 ? -ERANGE : 0;
}

static bool read_limit(gov_cg_t *cg)
{
        int rc = limit_of(cg->version, cg->dir, &cg->limit, &cg->kind);
        if (rc != 0)
                jd_log("governor: %s: %s: no longer watched", cg->dir,
                       rc == -ENOENT   ? "the cgroup is gone"
                       : rc == -ERANGE ? "no memory limit any more"
                                       : strerror(-rc));
        return rc == 0;
}

static void check_cg(gov_cg_t *cg, double now)
{
        bool ok = read_limit(cg); /* says why not */
        int rc = ok ? jd_cg_usage(cg->version, cg->dir, &cg->usage) : 0;
        if (rc != 0)
                jd_log("governor: %s: cannot read its usage (%s): no longer watched", cg->dir,
                       strerror(-rc));
        if (!ok || rc != 0) {
                cg->dead = true; /* dropped (and its event freed) at the next tick */
                return;
        }
        arm(cg); /* the limit may have changed */
        uint64_t cache;
        if (jd_cg_inactive_file(cg->version, cg->dir, &cache) == 0)
                cg->usage = cg->usage > cache ? cg->usage - cache : 0;
        uint64_t trigger = share(cg->limit, jd_gov_opt.trigger);
        uint64_t target = share(cg->limit, jd_gov_opt.target);
        uint64_t need = cg->usage > target ? cg->usage - target : 0;
        bool rose = false;
        enum reason why = cg->kind;
        if (cg->version == 2) {
                uint64_t h, m;
                if (jd_cg_events(cg->dir, &h, &m) == 0) {
                        if (m > cg->ev_max)
                                rose = true, why = R_LIMIT;
                        else if (h > cg->ev_high)
                                rose = true, why = R_HIGH;
                        cg->ev_high = h;
                        cg->ev_max = m;
                }
        }
        if (cg->usage >= trigger || rose) {
                round_of(cg->m, cg, why, cg->usage, cg->limit, need, now);
                return;
        }
        if (cg->version == 2 && jd_gov_opt.psi > 0) {
                char f[JD_CG_PATH + 32];
                double avg;
                snprintf(f, sizeof(f), "%s/memory.pressure", cg->dir);
                if (jd_cg_psi_avg10(f, &avg) == 0 && avg >= jd_gov_opt.psi)
                        round_of(cg->m, cg, R_PSI, cg->usage, cg->limit, 0, now);
        }
}

static gov_cg_t *find_cg(int version, const char *dir)
{
        for (gov_cg_t *cg = cgs; cg != NULL; cg = cg->next)
                if (cg->version == version && !cg->dead && strcmp(cg->dir, dir) == 0)
                        return cg;
        return NULL;
}

/* dir has a limit and no watch yet: watch it for m's processes. */
static void consider(jd_manager_t *m, int version, const char *dir)
{
        if (find_cg(version, dir) != NULL)
                return;
        uint64_t limit;
        enum reason kind;
        if (limit_of(version, dir, &limit, &kind) != 0)
                return; /* no limit here (or no such cgroup): nothing to watch */
        gov_cg_t *cg = calloc(1, sizeof(*cg));
        if (cg == NULL)
                return;
        cg->m = m;
        cg->version = version;
        snprintf(cg->dir, sizeof(cg->dir), "%s", dir);
        cg->efd = cg->wd = -1;
        cg->limit = limit;
        cg->kind = kind;
        if (version == 2)
                jd_cg_events(dir, &cg->ev_high, &cg->ev_max); /* the starting point */
        arm(cg);
        cg->next = cgs;
        cgs = cg;
        jd_log("governor: watching %s (cgroup v%d, %s %.1f MiB, acting above %.1f MiB)", dir,
               version, cg->kind == R_HIGH ? "memory.high" : "limit", (double)cg->limit / MIB,
               (double)share(cg->limit, jd_gov_opt.trigger) / MIB);
}

/* The ancestors of a process's cgroup with limits, each looked at once per REREAD_S. */
static void walk(jd_manager_t *m, int version, const char *dir, double now)
{
        leaf_t *l;
        for (l = leaves; l != NULL; l = l->next)
                if (l->version == version && strcmp(l->dir, dir) == 0)
                        break;
        if (l != NULL && now - l->walked < REREAD_S)
                return;
        if (l == NULL) {
                l = malloc(sizeof(*l) + strlen(dir) + 1);
                if (l == NULL)
                        return;
                l->version = version;
                strcpy(l->dir, dir);
                l->next = leaves;
                leaves = l;
        }
        l->walked = now;
        char d[JD_CG_PATH];
        snprintf(d, sizeof(d), "%s", dir);
        for (int i = 0; i < MAX_DEPTH; i++) {
                consider(m, version, d);
                if (!jd_cg_parent(version, d))
                        break;
        }
}

static void read_memcg(jd_proc_t *p, double now)
{
        char dir[JD_CG_PATH];
        gproc_t *g = gproc_of(p, true);
        if (g == NULL)
                return;
        int v = jd_cg_of_pid(p->pid, dir, sizeof(dir));
        g->memcg_read = now;
        if (v == 0) {
                free(g->memcg);
                g->memcg = NULL;
                return;
        }
        if (g->memcg == NULL || g->memcg_version != v || strcmp(g->memcg, dir) != 0) {
                char *s = strdup(dir);
                if (s == NULL)
                        return;
                free(g->memcg);
                g->memcg = s;
                g->memcg_version = v;
        }
        walk(p->m, v, dir, now);
}

static void on_inotify(evutil_socket_t fd, short what, void *arg)
{
        (void)what;
        (void)arg;
        char buf[4096] __attribute__((aligned(__alignof__(struct inotify_event))));
        ssize_t len = read(fd, buf, sizeof(buf));
        double now = jd_mono();
        for (ssize_t off = 0; len > 0 && off + (ssize_t)sizeof(struct inotify_event) <= len;) {
                const struct inotify_event *e = (const void *)(buf + off);
                off += (ssize_t)sizeof(*e) + e->len;
                for (gov_cg_t *cg = cgs; cg != NULL; cg = cg->next) {
                        if (cg->wd != e->wd || cg->dead)
                                continue;
                        if (e->mask & IN_IGNORED)
                                cg->wd = -1; /* the file went away with its cgroup */
                        check_cg(cg, now);
                }
        }
}

/* ---- the host ----------------------------------------------------------------------- */

static void check_host(jd_manager_t *m, double now)
{
        uint64_t total, avail;
        if (jd_gov_opt.host_available > 0 && jd_host_meminfo(&total, &avail) == 0) {
                uint64_t low = share(total, jd_gov_opt.host_available);
                if (avail < low) {
                        /* Up to twice the floor available again. */
                        round_of(m, NULL, R_HOST, total - avail, total, 2 * low - avail, now);
                        return;
                }
        } else if (jd_gov_opt.host_available > 0 && !host_logged) {
                jd_log("governor: cannot read /proc/meminfo: the host's memory is not watched");
                host_logged = true;
        }
        double avg;
        if (jd_gov_opt.psi > 0 && jd_cg_psi_avg10("/proc/pressure/memory", &avg) == 0 &&
            avg >= jd_gov_opt.psi)
                round_of(m, NULL, R_PSI, 0, 0, 0, now);
}

/* ---- the tick ----------------------------------------------------------------------- */

static void free_cg(gov_cg_t *cg)
{
        disarm(cg);
        free(cg);
}

static void on_tick(evutil_socket_t fd, short what, void *arg)
{
        (void)fd;
        (void)what;
        jd_manager_t *m = arg;
        double now = jd_mono();
        if (!have_mounts && now - mounts_tried >= REREAD_S) {
                mounts_tried = now;
                have_mounts = jd_cg_mounts();
        }
        for (jd_proc_t *p = m->procs; p != NULL; p = p->next) {
                const gproc_t *g = p->slot[JD_SLOT_GOVERNOR];
                double read = g != NULL ? g->memcg_read : 0;
                if (have_mounts && jd_proc_visible(p) && p->info != NULL &&
                    (read == 0 || now - read >= REREAD_S))
                        read_memcg(p, now);
        }
        for (gov_cg_t **pp = &cgs; *pp != NULL;) {
                gov_cg_t *cg = *pp;
                cg->members = 0;
                for (jd_proc_t *p = m->procs; p != NULL && !cg->dead; p = p->next)
                        if (jd_proc_visible(p) && under(p, cg))
                                cg->members++;
                if (cg->members > 0)
                        cg->empty_since = 0;
                else if (cg->empty_since == 0)
                        cg->empty_since = now;
                if (cg->dead || (cg->members == 0 && now - cg->empty_since >= LINGER_S)) {
                        *pp = cg->next;
                        free_cg(cg);
                        continue;
                }
                if (cg->members > 0)
                        check_cg(cg, now);
                pp = &cg->next;
        }
        for (leaf_t **lp = &leaves; *lp != NULL;) {
                leaf_t *l = *lp;
                if (now - l->walked > 4 * REREAD_S) { /* no process there any more */
                        *lp = l->next;
                        free(l);
                        continue;
                }
                lp = &l->next;
        }
        check_host(m, now);
}

static void on_gone(jd_manager_t *m, jd_proc_t *p)
{
        (void)m;
        gproc_t *g = p->slot[JD_SLOT_GOVERNOR];
        if (g != NULL)
                free(g->memcg);
        free(g);
        p->slot[JD_SLOT_GOVERNOR] = NULL;
}

static jd_observer_t observer = {.gone = on_gone};

void jd_governor_start(jd_manager_t *m)
{
        jd_manager_subscribe(m, &observer); /* to free what it hangs off a record */
        if (jd_gov_opt.mode == JD_GOV_OFF) {
                jd_log("governor: off");
                return;
        }
        have_mounts = jd_cg_mounts();
        mounts_tried = jd_mono();
        ino_fd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
        if (ino_fd >= 0) {
                ino_ev = event_new(m->base, ino_fd, EV_READ | EV_PERSIST, on_inotify, NULL);
                if (ino_ev == NULL || event_add(ino_ev, NULL) != 0) {
                        if (ino_ev != NULL)
                                event_free(ino_ev);
                        ino_ev = NULL;
                        close(ino_fd);
                        ino_fd = -1;
                }
        }
        tick_ev = event_new(m->base, -1, EV_PERSIST, on_tick, m);
        struct timeval tv = {(time_t)TICK_S, 0};
        if (tick_ev == NULL || event_add(tick_ev, &tv) != 0) {
                jd_log("governor: cannot start its timer: off");
                return;
        }
        jd_log("governor: %s: acting above %g%% of a cgroup's limit, down to %g%%; PSI %g%%; "
               "host available below %g%%; a process purged at most every %g s%s",
               jd_gov_opt.mode == JD_GOV_ON ? "on" : "dry-run", jd_gov_opt.trigger,
               jd_gov_opt.target, jd_gov_opt.psi, jd_gov_opt.host_available,
               jd_gov_opt.cooldown,
               have_mounts ? "" : "; no memory cgroup mounted: the host only");
}

void jd_governor_stop(jd_manager_t *m)
{
        jd_manager_unsubscribe(m, &observer);
        for (jd_proc_t *p = m->procs; p != NULL; p = p->next)
                on_gone(m, p);
        while (cgs != NULL) {
                gov_cg_t *cg = cgs;
                cgs = cg->next;
                free_cg(cg);
        }
        while (leaves != NULL) {
                leaf_t *l = leaves;
                leaves = l->next;
                free(l);
        }
        if (tick_ev != NULL)
                event_free(tick_ev);
        if (ino_ev != NULL)
                event_free(ino_ev);
        if (ino_fd >= 0)
                close(ino_fd);
        tick_ev = ino_ev = NULL;
        ino_fd = -1;
}

/* ---- what it shows ------------------------------------------------------------------ */

static unsigned ncgs(void)
{
        unsigned n = 0;
        for (gov_cg_t *cg = cgs; cg != NULL; cg = cg->next)
                n += !cg->dead;
        return n;
}

void jd_governor_metrics(struct evbuffer *b)
{
        evbuffer_add_printf(b, "# HELP jemctld_governor_mode The memory governor: 0 off, 1 "
                               "dry-run, 2 on.\n# TYPE jemctld_governor_mode gauge\n"
                               "jemctld_governor_mode %d\n",
                            (int)jd_gov_opt.mode);
        evbuffer_add_printf(b, "# HELP jemctld_governor_cgroups Memory cgroups with a limit "
                               "watched for liballoc processes.\n# TYPE "
                               "jemctld_governor_cgroups gauge\njemctld_governor_cgroups %u\n",
                            ncgs());
        evbuffer_add_printf(b, "# HELP jemctld_pressure_actions_total Purges the governor "
                               "asked for (in dry-run: would have), by reason.\n# TYPE "
                               "jemctld_pressure_actions_total counter\n");
        for (int r = 0; r < NREASONS; r++)
                evbuffer_add_printf(b, "jemctld_pressure_actions_total{reason=\"%s\"} %" PRIu64
                                       "\n",
                                    reason_names[r], n_actions[r]);
        evbuffer_add_printf(b, "# HELP jemctld_pressure_returned_bytes_total Resident bytes "
                               "the governor's purges gave back.\n# TYPE "
                               "jemctld_pressure_returned_bytes_total counter\n"
                               "jemctld_pressure_returned_bytes_total %" PRIu64 "\n",
                            bytes_total);
        evbuffer_add_printf(b, "# HELP jemctld_pressure_action_errors_total Purges asked for "
                               "that failed (no answer, process gone).\n# TYPE "
                               "jemctld_pressure_action_errors_total counter\n"
                               "jemctld_pressure_action_errors_total %" PRIu64 "\n",
                            n_errors);
}

json_t *jd_governor_json(void)
{
        static const char *const modes[] = {"off", "dry-run", "on"};
        json_t *doc = json_pack("{s:s,s:f,s:f,s:f,s:f,s:f}", "mode", modes[jd_gov_opt.mode],
                                "trigger_pct", jd_gov_opt.trigger, "target_pct",
                                jd_gov_opt.target, "psi_pct", jd_gov_opt.psi,
                                "host_available_pct", jd_gov_opt.host_available, "cooldown",
                                jd_gov_opt.cooldown);
        json_t *arr = json_array();
        for (gov_cg_t *cg = cgs; cg != NULL && arr != NULL; cg = cg->next) {
                if (cg->dead)
                        continue;
                json_array_append_new(
                        arr, json_pack("{s:s,s:i,s:s,s:I,s:I,s:I,s:i,s:b}", "cgroup", cg->dir,
                                       "version", cg->version, "limit_kind",
                                       cg->kind == R_HIGH ? "memory.high" : "limit", "limit",
                                       (json_int_t)cg->limit, "usage", (json_int_t)cg->usage,
                                       "trigger", (json_int_t)share(cg->limit,
                                                                    jd_gov_opt.trigger),
                                       "processes", (int)cg->members, "event",
                                       cg->efd >= 0 || cg->wd >= 0));
        }
        json_object_set_new(doc, "cgroups", arr);
        arr = json_array();
        for (unsigned i = 0; i < ring_len && arr != NULL; i++) {
                const action_t *a = &ring[(ring_next + NACTIONS - ring_len + i) % NACTIONS];
                json_array_append_new(
                        arr, json_pack("{s:f,s:i,s:s,s:s,s:s,s:I,s:I,s:I,s:f,s:b,s:s}", "time",
                                       a->time, "pid", (int)a->pid, "comm", a->comm, "cgroup",
                                       a->cgroup, "reason", reason_names[a->reason], "usage",
                                       (json_int_t)a->usage, "limit", (json_int_t)a->limit,
                                       "bytes", (json_int_t)a->bytes, "ms", a->ms, "dry_run",
                                       a->dry_run, "result", a->result));
        }
        json_object_set_new(doc, "actions", arr);
        json_t *c = json_object();
        for (int r = 0; r < NREASONS && c != NULL; r++)
                json_object_set_new(c, reason_names[r], json_integer((json_int_t)n_actions[r]));
        json_object_set_new(doc, "actions_total", c);
        json_object_set_new(doc, "returned_bytes_total", json_integer((json_int_t)bytes_total));
        json_object_set_new(doc, "errors_total", json_integer((json_int_t)n_errors));
        return doc;
}
