/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * store: the profile store (store.h has the layout and the promises).  Owns the table of
 * stored profiles, the captures in flight, the files under the store directory and the
 * jemctld_profile_* counters.  A capture in flight is listed on its process's record (the
 * JD_SLOT_STORE slot: the record's captures, unlisted when the record goes).  Every file
 * is reached through a directory descriptor and a name this module made (digits, a UTC
 * time, a reason): nothing from a client becomes a path.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <jcl/io.h>
#include <jcl/sock.h>

#include "call.h"
#include "events.h"
#include "history.h"
#include "manager.h"
#include "store.h"


jd_store_opts_t jd_store_opt = {
        .max_per_proc = JD_STORE_MAX_PER_PROC,
        .max_bytes_proc = JD_STORE_MAX_BYTES_PER_PROC,
        .max_bytes_total = JD_STORE_MAX_BYTES_TOTAL,
        .capture_timeout = JD_STORE_CAPTURE_TIMEOUT,
};

static jd_profile_t *profiles; /* oldest first */
static size_t nprofiles;
static uint64_t total_bytes;
static int root_fd = -1;
static uint64_t captures[JD_STORE_NRESULTS];
static uint64_t evictions;

typedef struct capture {
        pid_t pid;
        uid_t as_uid;
        char reason[JD_STORE_REASON_MAX];
        jd_store_cb_t cb;
        void *arg;
        jd_profile_t meta;       /* what is known of the process when the capture starts */
        jd_store_result_t early; /* a failure found before any call: reported later */
        char msg[512];
        jd_proc_t *proc;      /* the record it is listed on, NULL if none (or gone) */
        struct capture *next; /* on proc's list */
} capture_t;

static const char *const result_names[JD_STORE_NRESULTS] = {
        "ok",       "busy",      "denied",   "gone",     "timeout",     "target_failed",
        "bad_dump", "too_large", "no_space", "io_error", "unavailable",
};

const char *jd_store_result_name(jd_store_result_t r)
{
        return r < JD_STORE_NRESULTS ? result_names[r] : "unknown";
}

/* ---- the table ---------------------------------------------------------------------- */

const jd_profile_t *jd_store_list(void)
{
        return profiles;
}

const jd_profile_t *jd_store_find(const char *id)
{
        for (jd_profile_t *p = profiles; p != NULL; p = p->next)
                if (strcmp(p->id, id) == 0)
                        return p;
        return NULL;
}

double jd_store_last_capture(pid_t pid, long long start)
{
        double t = 0;
        for (jd_profile_t *p = profiles; p != NULL; p = p->next)
                if (p->pid == pid && p->start == start && p->time > t)
                        t = p->time;
        return t;
}

bool jd_store_busy(const jd_proc_t *p)
{
        return p != NULL && p->slot[JD_SLOT_STORE] != NULL;
}

/* c listed on p's record (p may be NULL: a pid not in the table). */
static void capture_link(capture_t *c, jd_proc_t *p)
{
        c->proc = p;
        if (p == NULL)
                return;
        c->next = p->slot[JD_SLOT_STORE];
        p->slot[JD_SLOT_STORE] = c;
}

static void capture_unlink(capture_t *c)
{
        if (c->proc == NULL)
                return;
        for (capture_t **pp = (capture_t **)&c->proc->slot[JD_SLOT_STORE]; *pp != NULL;
             pp = &(*pp)->next)
                if (*pp == c) {
                        *pp = c->next;
                        break;
                }
        c->proc = NULL;
}

/* p's record goes: its captures go on, listed nowhere. */
static void on_gone(jd_manager_t *m, jd_proc_t *p)
{
        (void)m;
        for (capture_t *c = p->slot[JD_SLOT_STORE], *next; c != NULL; c = next) {
                next = c->next;
                c->proc = NULL;
                c->next = NULL;
        }
        p->slot[JD_SLOT_STORE] = NULL;
}

static jd_observer_t observer = {.gone = on_gone};

/* Inserts pf in time order (a capture is the newest: appended). */
static void table_add(jd_profile_t *pf)
{
        jd_profile_t **pp = &profiles;
        while (*pp != NULL && (*pp)->time <= pf->time)
                pp = &(*pp)->next;
        pf->next = *pp;
        *pp = pf;
        nprofiles++;
        total_bytes += pf->bytes;
}

static void table_remove(const jd_profile_t *pf)
{
        for (jd_profile_t **pp = &profiles; *pp != NULL; pp = &(*pp)->next) {
                if (*pp == pf) {
                        *pp = pf->next;
                        nprofiles--;
                        total_bytes -= pf->bytes;
                        return;
                }
        }
}

/* "<pid>.<start>" and "<time>-<reason>" of pf's files. */
static void names_of(const jd_profile_t *pf, char *dir, size_t dcap, char *base, size_t bcap)
{
        snprintf(dir, dcap, "%d.%lld", (int)pf->pid, pf->start);
        const char *dash = strchr(pf->id, '-');
        snprintf(base, bcap, "%s", dash != NULL ? dash + 1 : pf->id);
}

/* Removes pf's files (the dump first: a sidecar alone is cleaned at the next start). */
static int unlink_files(const jd_profile_t *pf)
{
        char dir[64], base[JD_STORE_ID_MAX], name[JD_STORE_ID_MAX + 8];
        names_of(pf, dir, sizeof(dir), base, sizeof(base));
        if (root_fd < 0)
                return -EBADF;
        int dfd = openat(root_fd, dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (dfd < 0)
                return errno == ENOENT ? 0 : -errno;
        int rc = 0;
        snprintf(name, sizeof(name), "%s.heap", base);
        if (unlinkat(dfd, name, 0) != 0 && errno != ENOENT)
                rc = -errno;
        snprintf(name, sizeof(name), "%s.json", base);
        if (rc == 0 && unlinkat(dfd, name, 0) != 0 && errno != ENOENT)
                rc = -errno;
        close(dfd);
        if (rc == 0)
                unlinkat(root_fd, dir, AT_REMOVEDIR); /* fails while others remain: fine */
        return rc;
}

int jd_store_delete(const jd_profile_t *pf)
{
        int rc = unlink_files(pf);
        if (rc != 0)
                return rc;
        table_remove(pf);
        free((jd_profile_t *)pf);
        return 0;
}

static void evict(jd_profile_t *pf, const char *why)
{
        jd_log("profile store: removing %s (%" PRIu64 " bytes): %s", pf->id, pf->bytes, why);
        int rc = unlink_files(pf);
        if (rc != 0)
                jd_log("profile store: cannot remove %s: %s", pf->id, strerror(-rc));
        table_remove(pf);
        free(pf);
        evictions++;
}

/* The per-process limits on the process (pid, start): its oldest profiles but keep go
 * until it fits.  Returns whether it evicted anything.  One pass per eviction. */
static bool enforce_proc(pid_t pid, long long start, const jd_profile_t *keep)
{
        bool evicted = false;
        for (;;) {
                unsigned n = 0;
                uint64_t bytes = 0;
                jd_profile_t *oldest = NULL;
                for (jd_profile_t *q = profiles; q != NULL; q = q->next) {
                        if (q->pid != pid || q->start != start)
                                continue;
                        n++;
                        bytes += q->bytes;
                        if (oldest == NULL && q != keep)
                                oldest = q;
                }
                if (oldest == NULL)
                        return evicted;
                if (n > jd_store_opt.max_per_proc)
                        evict(oldest, "more profiles of the process than profile-max-count");
                else if (bytes > jd_store_opt.max_bytes_proc)
                        evict(oldest, "more bytes of the process than profile-max-bytes");
                else
                        return evicted;
                evicted = true;
        }
}

/* The limits, oldest first; keep (the capture just made, or NULL at start) goes last of
 * all.  After a capture only its process can be over its own limits. */
static void enforce_limits(const jd_profile_t *keep)
{
        if (keep != NULL) {
                enforce_proc(keep->pid, keep->start, keep);
        } else {
                bool again = true;
                while (again) { /* restart the walk after evictions changed the list */
                        again = false;
                        for (jd_profile_t *p = profiles; p != NULL && !again; p = p->next)
                                again = enforce_proc(p->pid, p->start, NULL);
                }
        }
        for (jd_profile_t *p = profiles, *next;
             p != NULL && total_bytes > jd_store_opt.max_bytes_total; p = next) {
                next = p->next;
                if (p != keep)
                        evict(p, "more bytes in the store than profile-max-total");
        }
}

/* ---- metadata ----------------------------------------------------------------------- */

static void utc_name(double t, char *buf, size_t cap)
{
        time_t s = (time_t)t;
        struct tm tm;
        gmtime_r(&s, &tm);
        char d[32];
        strftime(d, sizeof(d), "%Y%m%dT%H%M%S", &tm);
        snprintf(buf, cap, "%s%03dZ", d, (int)((t - (double)s) * 1000.0) % 1000);
}

json_t *jd_profile_json(const jd_profile_t *pf)
{
        char utc[40];
        time_t s = (time_t)pf->time;
        struct tm tm;
        gmtime_r(&s, &tm);
        strftime(utc, sizeof(utc), "%Y-%m-%dT%H:%M:%SZ", &tm);
        json_t *o = json_pack("{s:s,s:i,s:I,s:I,s:s,s:s?,s:s,s:f,s:s,s:I,s:I,s:s}", "id", pf->id, "pid",
                         (int)pf->pid, "start_time", (json_int_t)pf->start, "uid",
                         (json_int_t)pf->uid, "comm", pf->comm, "unit",
                         pf->unit[0] != '\0' ? pf->unit : NULL, "reason", pf->reason, "time",
                         pf->time, "time_utc", utc, "bytes", (json_int_t)pf->bytes, "resident",
                         (json_int_t)pf->resident, "format", pf->format);
        if (o != NULL && pf->has_groups) {
                json_t *g = json_array();
                for (unsigned i = 0; g != NULL && i < pf->ngroups; i++)
                        json_array_append_new(g, json_integer((json_int_t)pf->groups[i]));
                json_object_set_new(o, "gid", json_integer((json_int_t)pf->gid));
                json_object_set_new(o, "groups", g);
        }
        return o;
}

void jd_profile_creds(const jd_profile_t *pf, pc_creds_t *ret)
{
        memset(ret, 0, sizeof(*ret));
        ret->uid = pf->uid;
        ret->gid = pf->has_groups ? pf->gid : (gid_t)-1; /* unknown: no group's rights */
        for (unsigned i = 0; pf->has_groups && i < pf->ngroups && i < PC_MAX_GROUPS; i++)
                ret->groups[ret->ngroups++] = pf->groups[i];
}

/* The gid and groups of a sidecar, when it has them. */
static void groups_from_json(const json_t *o, jd_profile_t *pf)
{
        json_t *gid = json_object_get(o, "gid"), *groups = json_object_get(o, "groups");
        if (!json_is_integer(gid) || !json_is_array(groups) ||
            json_array_size(groups) > PC_MAX_GROUPS)
                return;
        for (size_t i = 0; i < json_array_size(groups); i++) {
                json_t *g = json_array_get(groups, i);
                if (!json_is_integer(g)) {
                        pf->ngroups = 0;
                        return;
                }
                pf->groups[pf->ngroups++] = (gid_t)json_integer_value(g);
        }
        pf->gid = (gid_t)json_integer_value(gid);
        pf->has_groups = true;
}

static bool reason_ok(const char *s)
{
        size_t n = strlen(s);
        return n > 0 && n < JD_STORE_REASON_MAX && strspn(s, "abcdefghijklmnopqrstuvwxyz") == n;
}

/* A sidecar read back at start: pf filled, or false. */
static bool from_json(const json_t *o, jd_profile_t *pf)
{
        const char *id = json_string_value(json_object_get(o, "id"));
        const char *comm = json_string_value(json_object_get(o, "comm"));
        const char *unit = json_string_value(json_object_get(o, "unit"));
        const char *reason = json_string_value(json_object_get(o, "reason"));
        const char *fmt = json_string_value(json_object_get(o, "format"));
        json_t *pid = json_object_get(o, "pid"), *start = json_object_get(o, "start_time");
        json_t *uid = json_object_get(o, "uid"), *t = json_object_get(o, "time");
        json_t *bytes = json_object_get(o, "bytes"), *res = json_object_get(o, "resident");
        if (id == NULL || strlen(id) >= sizeof(pf->id) || comm == NULL || reason == NULL ||
            !reason_ok(reason) || !json_is_integer(pid) || !json_is_integer(start) ||
            !json_is_integer(uid) || !json_is_number(t) || !json_is_integer(bytes) ||
            json_integer_value(bytes) < 0 || json_integer_value(pid) <= 0)
                return false;
        memset(pf, 0, sizeof(*pf));
        snprintf(pf->id, sizeof(pf->id), "%s", id);
        pf->pid = (pid_t)json_integer_value(pid);
        pf->start = (long long)json_integer_value(start);
        pf->uid = (uid_t)json_integer_value(uid);
        snprintf(pf->comm, sizeof(pf->comm), "%s", comm);
        snprintf(pf->unit, sizeof(pf->unit), "%s", unit != NULL ? unit : "");
        snprintf(pf->reason, sizeof(pf->reason), "%s", reason);
        snprintf(pf->format, sizeof(pf->format), "%s", fmt != NULL ? fmt : "heap_v2");
        pf->time = json_number_value(t);
        pf->bytes = (uint64_t)json_integer_value(bytes);
        pf->resident = json_is_integer(res) ? (uint64_t)json_integer_value(res) : 0;
        groups_from_json(o, pf);
        return true;
}

/* ---- the directory ------------------------------------------------------------------ */

static int mkdir_p(const char *path)
{
        char buf[sizeof(jd_store_opt.dir)];
        snprintf(buf, sizeof(buf), "%s", path);
        for (char *s = buf + 1; *s != '\0'; s++) {
                if (*s != '/')
                        continue;
                *s = '\0';
                if (mkdir(buf, 0755) != 0 && errno != EEXIST)
                        return -errno;
                *s = '/';
        }
        if (mkdir(buf, 0750) != 0 && errno != EEXIST)
                return -errno;
        return 0;
}

/* The store's directory descriptor, made if missing. */
static int root_dir(char *msg, size_t cap)
{
        if (root_fd >= 0)
                return 0;
        int rc = mkdir_p(jd_store_opt.dir);
        if (rc == 0) {
                root_fd = open(jd_store_opt.dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
                if (root_fd < 0)
                        rc = -errno;
        }
        if (rc != 0)
                snprintf(msg, cap, "the profile store %.300s cannot be used: %s", jd_store_opt.dir,
                         strerror(-rc));
        return rc;
}

static jd_store_result_t errno_result(int e)
{
        return e == ENOSPC || e == EDQUOT || e == EFBIG ? JD_STORE_NO_SPACE : JD_STORE_IO_ERROR;
}


/* Copies `bytes` bytes of src into a new temporary file of dfd, fsynced.  0, or a
 * negative errno (-EMSGSIZE: src is shorter); the temporary is removed on failure. */
static int write_temp(int dfd, const char *tmp, int src, const char *data, uint64_t bytes)
{
        int fd = openat(dfd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0640);
        if (fd < 0)
                return -errno;
        int rc = 0;
        if (data != NULL) {
                rc = -jcl_write_all(fd, data, bytes);
        } else {
                static char buf[65536];
                uint64_t off = 0;
                while (rc == 0 && off < bytes) {
                        size_t want =
                                bytes - off < sizeof(buf) ? (size_t)(bytes - off) : sizeof(buf);
                        ssize_t n = pread(src, buf, want, (off_t)off);
                        if (n < 0 && errno == EINTR)
                                continue;
                        if (n < 0)
                                rc = -errno;
                        else if (n == 0)
                                rc = -EMSGSIZE;
                        else {
                                rc = -jcl_write_all(fd, buf, (size_t)n);
                                off += (uint64_t)n;
                        }
                }
        }
        if (rc == 0 && fsync(fd) != 0)
                rc = -errno;
        if (close(fd) != 0 && rc == 0)
                rc = -errno;
        if (rc != 0)
                unlinkat(dfd, tmp, 0);
        return rc;
}

/* Stores the dump in src as pf (id and names chosen here).  JD_STORE_OK or the error. */
static jd_store_result_t store_files(jd_profile_t *pf, int src, char *msg, size_t cap)
{
        if (root_dir(msg, cap) != 0)
                return JD_STORE_UNAVAILABLE;
        char dir[64], base[JD_STORE_ID_MAX], tmp[JD_STORE_ID_MAX + 16], name[JD_STORE_ID_MAX + 8];
        char tname[40];
        do { /* two captures in the same millisecond get distinct names */
                utc_name(pf->time, tname, sizeof(tname));
                snprintf(pf->id, sizeof(pf->id), "%d.%lld-%s-%s", (int)pf->pid, pf->start, tname,
                         pf->reason);
                if (jd_store_find(pf->id) != NULL)
                        pf->time += 0.001;
        } while (jd_store_find(pf->id) != NULL);
        names_of(pf, dir, sizeof(dir), base, sizeof(base));
        if (mkdirat(root_fd, dir, 0750) != 0 && errno != EEXIST) {
                int e = errno;
                snprintf(msg, cap, "cannot make %.300s/%s: %s", jd_store_opt.dir, dir, strerror(e));
                return errno_result(e);
        }
        int dfd = openat(root_fd, dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (dfd < 0) {
                int e = errno;
                snprintf(msg, cap, "cannot open %.300s/%s: %s", jd_store_opt.dir, dir, strerror(e));
                return JD_STORE_IO_ERROR;
        }
        json_t *meta = jd_profile_json(pf);
        char *side = json_dumps(meta, JSON_INDENT(1) | JSON_ENSURE_ASCII);
        json_decref(meta);
        int rc = side == NULL ? -ENOMEM : 0;
        const char *step = "writing the metadata";
        /* The sidecar first: a dump under its final name always has its metadata. */
        snprintf(tmp, sizeof(tmp), ".tmp-%s.json", base);
        if (rc == 0)
                rc = write_temp(dfd, tmp, -1, side, strlen(side));
        snprintf(name, sizeof(name), "%s.json", base);
        if (rc == 0 && renameat(dfd, tmp, dfd, name) != 0) {
                rc = -errno;
                unlinkat(dfd, tmp, 0);
        }
        free(side);
        if (rc == 0) {
                step = "writing the dump";
                snprintf(tmp, sizeof(tmp), ".tmp-%s.heap", base);
                rc = write_temp(dfd, tmp, src, NULL, pf->bytes);
                snprintf(name, sizeof(name), "%s.heap", base);
                if (rc == 0 && renameat(dfd, tmp, dfd, name) != 0) {
                        rc = -errno;
                        unlinkat(dfd, tmp, 0);
                }
                if (rc == 0 && fsync(dfd) != 0)
                        rc = -errno;
                if (rc != 0) {
                        unlinkat(dfd, name, 0);
                        snprintf(name, sizeof(name), "%s.json", base);
                        unlinkat(dfd, name, 0);
                }
        }
        close(dfd);
        if (rc != 0) {
                unlinkat(root_fd, dir, AT_REMOVEDIR);
                snprintf(msg, cap, "pid %d: %s into %.300s/%s failed: %s", (int)pf->pid, step,
                         jd_store_opt.dir, dir,
                         rc == -EMSGSIZE ? "the dump is shorter than announced" : strerror(-rc));
                return rc == -EMSGSIZE ? JD_STORE_BAD_DUMP : errno_result(-rc);
        }
        return JD_STORE_OK;
}

/* ---- captures ----------------------------------------------------------------------- */

static void capture_end(capture_t *c, jd_store_result_t r, const jd_profile_t *pf)
{
        capture_unlink(c);
        captures[r]++;
        if (r == JD_STORE_OK) {
                jd_log("profile of pid %d (%s, %s) stored: %s, %" PRIu64 " bytes", (int)c->pid,
                       c->meta.comm, c->reason, pf->id, pf->bytes);
                char d[160];
                snprintf(d, sizeof(d), "%s: profile %s, %" PRIu64 " bytes", c->reason, pf->id,
                         pf->bytes);
                jd_event(c->pid, "capture", "store", d);
        }
        else
                jd_log("profile capture of pid %d (%s) failed (%s): %s", (int)c->pid, c->reason,
                       result_names[r], c->msg);
        c->cb(r, pf, c->msg, c->arg);
        free(c);
}

/* Whether pid has exited (or is exiting: a zombie not yet reaped by its parent), by the
 * rule every client uses (jcl_pid_alive). */
static bool dead(pid_t pid)
{
        return !jcl_pid_alive(pid);
}

static jd_store_result_t call_result(const jd_call_result_t *r, pid_t pid)
{
        switch (r->status) {
        case JD_CALL_OK:
                return JD_STORE_OK;
        case JD_CALL_DENIED:
                return JD_STORE_DENIED;
        case JD_CALL_GONE:
                return JD_STORE_GONE;
        case JD_CALL_TIMEOUT:
                return JD_STORE_TIMEOUT;
        case JD_CALL_BAD_ANSWER:
                /* Closed mid-answer because it died: say so. */
                return dead(pid) ? JD_STORE_GONE : JD_STORE_TARGET_FAILED;
        default:
                return JD_STORE_TARGET_FAILED;
        }
}

static void on_dump(jd_call_result_t *r, void *arg)
{
        capture_t *c = arg;
        jd_store_result_t res = call_result(r, c->pid);
        if (res != JD_STORE_OK) {
                snprintf(c->msg, sizeof(c->msg), "%s%s%s",
                         r->status == JD_CALL_FAILED ? r->code : "",
                         r->status == JD_CALL_FAILED ? ": " : "", r->message);
                capture_end(c, res, NULL);
                return;
        }
        json_t *jb = json_object_get(r->result, "bytes");
        const char *fmt = json_string_value(json_object_get(r->result, "format"));
        if (r->fd < 0 || !json_is_integer(jb) || json_integer_value(jb) < 0) {
                snprintf(c->msg, sizeof(c->msg),
                         "pid %d: the profile answer carries no descriptor or no size",
                         (int)c->pid);
                capture_end(c, JD_STORE_BAD_DUMP, NULL);
                return;
        }
        uint64_t bytes = (uint64_t)json_integer_value(jb);
        int rc = jd_call_check_blob(r->fd, bytes);
        if (rc != 0) {
                snprintf(c->msg, sizeof(c->msg),
                         "pid %d: the dump is not a sealed file of the %" PRIu64
                         " bytes announced (%s)",
                         (int)c->pid, bytes, rc == -EMSGSIZE ? "its size differs" : strerror(-rc));
                capture_end(c, JD_STORE_BAD_DUMP, NULL);
                return;
        }
        if (bytes > jd_store_opt.max_bytes_proc || bytes > jd_store_opt.max_bytes_total) {
                snprintf(c->msg, sizeof(c->msg),
                         "pid %d: the dump of %" PRIu64 " bytes exceeds profile-max-bytes "
                         "(%" PRIu64 ") or profile-max-total (%" PRIu64 ")",
                         (int)c->pid, bytes, jd_store_opt.max_bytes_proc,
                         jd_store_opt.max_bytes_total);
                capture_end(c, JD_STORE_TOO_LARGE, NULL);
                return;
        }
        jd_profile_t *pf = malloc(sizeof(*pf));
        if (pf == NULL) {
                snprintf(c->msg, sizeof(c->msg), "out of memory");
                capture_end(c, JD_STORE_IO_ERROR, NULL);
                return;
        }
        *pf = c->meta;
        pf->bytes = bytes;
        pf->time = jd_wall();
        if (r->target_uid != (uid_t)-1)
                pf->uid = r->target_uid;
        /* Its groups now, while it lives: whose files a conversion may read later. */
        pc_creds_t cr;
        if (pc_creds_of_pid((int)c->pid, &cr) == 0) {
                pf->has_groups = true;
                pf->gid = cr.gid;
                pf->ngroups = (unsigned)cr.ngroups;
                memcpy(pf->groups, cr.groups, cr.ngroups * sizeof(cr.groups[0]));
        }
        snprintf(pf->format, sizeof(pf->format), "%s", fmt != NULL ? fmt : "heap_v2");
        res = store_files(pf, r->fd, c->msg, sizeof(c->msg));
        if (res != JD_STORE_OK) {
                free(pf);
                capture_end(c, res, NULL);
                return;
        }
        table_add(pf);
        snprintf(c->msg, sizeof(c->msg), "stored %s", pf->id);
        capture_end(c, JD_STORE_OK, pf);
        enforce_limits(pf); /* after the callback: it may evict older ones only */
}

static void on_early(evutil_socket_t fd, short what, void *arg)
{
        (void)fd;
        (void)what;
        capture_t *c = arg;
        capture_end(c, c->early, NULL);
}

long long jd_store_proc_start(const jd_manager_t *mgr, pid_t pid)
{
        jd_proc_t *p = jd_proc_find(mgr, pid);
        json_t *t = p != NULL ? json_object_get(p->info, "start_time") : NULL;
        return json_is_number(t) ? (long long)json_number_value(t) : 0;
}

int jd_store_capture(jd_manager_t *mgr, pid_t pid, uid_t as_uid, const char *reason,
                     jd_store_cb_t cb, void *arg)
{
        capture_t *c = calloc(1, sizeof(*c));
        if (c == NULL)
                return -ENOMEM;
        c->pid = pid;
        c->as_uid = as_uid;
        c->cb = cb;
        c->arg = arg;
        snprintf(c->reason, sizeof(c->reason), "%s", reason_ok(reason) ? reason : "manual");
        jd_profile_t *m = &c->meta;
        m->pid = pid;
        m->uid = (uid_t)-1;
        m->start = jd_store_proc_start(mgr, pid);
        snprintf(m->reason, sizeof(m->reason), "%s", c->reason);
        jd_proc_t *p = jd_proc_find(mgr, pid);
        if (p != NULL) {
                const char *comm = jd_proc_comm(p);
                snprintf(m->comm, sizeof(m->comm), "%s", comm != NULL ? comm : "");
                char u[256];
                const char *unit = jd_proc_unit(p, u, sizeof(u));
                snprintf(m->unit, sizeof(m->unit), "%s", unit != NULL ? unit : "");
                json_t *res = json_object_get(p->stats, "resident");
                m->resident = json_is_integer(res) ? (uint64_t)json_integer_value(res) : 0;
                json_t *juid = json_object_get(p->info, "uid");
                if (json_is_integer(juid))
                        m->uid = (uid_t)json_integer_value(juid);
        }
        bool busy = jd_store_busy(p);
        capture_link(c, p);
        if (busy) {
                c->early = JD_STORE_BUSY;
                snprintf(c->msg, sizeof(c->msg), "pid %d: a capture is already in progress",
                         (int)pid);
        } else if (root_dir(c->msg, sizeof(c->msg)) != 0) {
                c->early = JD_STORE_UNAVAILABLE;
        } else {
                jd_req_t req = jd_req_prof(JP_PROF_DUMP);
                jd_call_t *call = jd_call(mgr, pid, &req, as_uid, jd_store_opt.capture_timeout,
                                          on_dump, c);
                if (call != NULL)
                        return 0;
                c->early = JD_STORE_IO_ERROR;
                snprintf(c->msg, sizeof(c->msg), "cannot start the call (out of memory)");
        }
        struct timeval tv = {0, 0};
        if (event_base_once(mgr->base, -1, EV_TIMEOUT, on_early, c, &tv) != 0) {
                capture_unlink(c);
                free(c);
                return -ENOMEM;
        }
        return 0;
}

int jd_store_open(const jd_profile_t *pf)
{
        char dir[64], base[JD_STORE_ID_MAX], name[JD_STORE_ID_MAX + 80];
        names_of(pf, dir, sizeof(dir), base, sizeof(base));
        if (root_fd < 0)
                return -ENOENT;
        snprintf(name, sizeof(name), "%s/%s.heap", dir, base);
        int fd = openat(root_fd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
        return fd < 0 ? -errno : fd;
}

/* ---- start: the rescan -------------------------------------------------------------- */

static bool ends_with(const char *s, const char *suf)
{
        size_t n = strlen(s), m = strlen(suf);
        return n > m && strcmp(s + n - m, suf) == 0;
}

/* One process's directory: its sidecars into the table, debris removed. */
static void rescan_dir(const char *dname, pid_t pid, long long start)
{
        int dfd = openat(root_fd, dname, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        DIR *d = dfd >= 0 ? fdopendir(dfd) : NULL;
        if (d == NULL) {
                if (dfd >= 0)
                        close(dfd);
                return;
        }
        struct dirent *e;
        while ((e = readdir(d)) != NULL) {
                const char *n = e->d_name;
                char other[300];
                if (n[0] == '.' && (strcmp(n, ".") == 0 || strcmp(n, "..") == 0))
                        continue;
                if (strncmp(n, ".tmp-", 5) == 0) {
                        jd_log("profile store: removing %s/%s (an interrupted capture)", dname, n);
                        unlinkat(dfd, n, 0);
                        continue;
                }
                struct stat st;
                if (ends_with(n, ".heap")) {
                        snprintf(other, sizeof(other), "%.*s.json", (int)strlen(n) - 5, n);
                        if (fstatat(dfd, other, &st, AT_SYMLINK_NOFOLLOW) != 0) {
                                jd_log("profile store: removing %s/%s (no metadata)", dname, n);
                                unlinkat(dfd, n, 0);
                        }
                        continue;
                }
                if (!ends_with(n, ".json"))
                        continue;
                snprintf(other, sizeof(other), "%.*s.heap", (int)strlen(n) - 5, n);
                int fd = openat(dfd, n, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
                json_error_t err;
                json_t *o = fd >= 0 ? json_loadfd(fd, 0, &err) : NULL;
                if (fd >= 0)
                        close(fd);
                jd_profile_t tmp;
                bool ok = o != NULL && from_json(o, &tmp) && tmp.pid == pid && tmp.start == start &&
                          fstatat(dfd, other, &st, AT_SYMLINK_NOFOLLOW) == 0 &&
                          S_ISREG(st.st_mode) && (uint64_t)st.st_size == tmp.bytes &&
                          jd_store_find(tmp.id) == NULL;
                json_decref(o);
                jd_profile_t *pf = ok ? malloc(sizeof(*pf)) : NULL;
                if (pf == NULL) {
                        jd_log("profile store: removing %s/%s (no whole dump beside it, or "
                               "unreadable)",
                               dname, n);
                        unlinkat(dfd, other, 0);
                        unlinkat(dfd, n, 0);
                        continue;
                }
                *pf = tmp;
                table_add(pf);
        }
        closedir(d);
        unlinkat(root_fd, dname, AT_REMOVEDIR); /* if empty */
}

static void default_dir(void)
{
        const char *sd = getenv("STATE_DIRECTORY"); /* systemd's StateDirectory= */
        const char *xdg = getenv("XDG_STATE_HOME"), *home = getenv("HOME");
        if (sd != NULL && sd[0] != '\0') {
                size_t n = strcspn(sd, ":"); /* the first of several */
                snprintf(jd_store_opt.dir, sizeof(jd_store_opt.dir), "%.*s/profiles", (int)n, sd);
        } else if (geteuid() == 0 || (xdg == NULL && home == NULL)) {
                snprintf(jd_store_opt.dir, sizeof(jd_store_opt.dir), "/var/lib/jemctld/profiles");
        } else if (xdg != NULL && xdg[0] != '\0') {
                snprintf(jd_store_opt.dir, sizeof(jd_store_opt.dir), "%s/jemctld/profiles", xdg);
        } else {
                snprintf(jd_store_opt.dir, sizeof(jd_store_opt.dir),
                         "%s/.local/state/jemctld/profiles", home);
        }
}

int jd_store_start(jd_manager_t *m)
{
        jd_manager_subscribe(m, &observer); /* to unlist the captures of a record gone */
        /* A file size limit (RLIMIT_FSIZE) must be an error of write(2), EFBIG, not a
         * signal that kills the daemon. */
        signal(SIGXFSZ, SIG_IGN);
        if (jd_store_opt.dir[0] == '\0')
                default_dir();
        root_fd = open(jd_store_opt.dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (root_fd < 0) {
                if (errno == ENOENT)
                        return 0; /* made at the first capture */
                int e = errno;
                jd_log("profile store: cannot open %s: %s (captures will fail)", jd_store_opt.dir,
                       strerror(e));
                return -e;
        }
        int fd = dup(root_fd);
        DIR *d = fd >= 0 ? fdopendir(fd) : NULL;
        if (d == NULL) {
                if (fd >= 0)
                        close(fd);
                return -errno;
        }
        struct dirent *e;
        while ((e = readdir(d)) != NULL) {
                int pid;
                long long start;
                int used = 0;
                if (sscanf(e->d_name, "%d.%lld%n", &pid, &start, &used) == 2 &&
                    e->d_name[used] == '\0' && pid > 0)
                        rescan_dir(e->d_name, (pid_t)pid, start);
        }
        closedir(d);
        enforce_limits(NULL);
        jd_log("profile store: %s, %zu profiles, %" PRIu64 " bytes", jd_store_opt.dir, nprofiles,
               total_bytes);
        return 0;
}

void jd_store_stop(jd_manager_t *m)
{
        jd_manager_unsubscribe(m, &observer);
        for (jd_proc_t *p = m->procs; p != NULL; p = p->next)
                on_gone(m, p);
        while (profiles != NULL) {
                jd_profile_t *p = profiles;
                profiles = p->next;
                free(p);
        }
        nprofiles = 0;
        total_bytes = 0;
        if (root_fd >= 0)
                close(root_fd);
        root_fd = -1;
}

/* ---- /metrics ----------------------------------------------------------------------- */

void jd_store_metrics(struct evbuffer *b)
{
        evbuffer_add_printf(b, "# HELP jemctld_profile_captures_total Heap profile captures "
                               "into the store, by result.\n"
                               "# TYPE jemctld_profile_captures_total counter\n");
        for (int r = 0; r < JD_STORE_NRESULTS; r++)
                evbuffer_add_printf(b,
                                    "jemctld_profile_captures_total{result=\"%s\"} %" PRIu64 "\n",
                                    result_names[r], captures[r]);
        evbuffer_add_printf(b,
                            "# HELP jemctld_profile_store_profiles Profiles in the store.\n"
                            "# TYPE jemctld_profile_store_profiles gauge\n"
                            "jemctld_profile_store_profiles %zu\n"
                            "# HELP jemctld_profile_store_bytes Bytes of the dumps in the "
                            "store.\n"
                            "# TYPE jemctld_profile_store_bytes gauge\n"
                            "jemctld_profile_store_bytes %" PRIu64 "\n"
                            "# HELP jemctld_profile_evictions_total Profiles removed from the "
                            "store by its limits.\n"
                            "# TYPE jemctld_profile_evictions_total counter\n"
                            "jemctld_profile_evictions_total %" PRIu64 "\n",
                            nprofiles, total_bytes, evictions);
}
