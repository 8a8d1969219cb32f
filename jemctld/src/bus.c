/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * bus: the D-Bus API (docs/dbus.md), io.github.liballoc.JemCtl1 on the system or the
 * session bus through sd-bus, driven by the libevent loop.  Methods that talk to a target
 * keep their message and answer from the call's callback (call.c).  Writes, and reads of
 * arbitrary names, are made with the caller's uid (from the bus daemon), so the target's
 * socket rules apply to the caller exactly as if it had connected itself.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <event2/event.h>
#include <systemd/sd-bus.h>

#include "bus.h"
#include "call.h"
#include "events.h"
#include "manager.h"
#include "store.h"

#define ERR_PREFIX JD_BUS_INTERFACE_BASE ".Error."
#define E_NO_PROCESS ERR_PREFIX "NoSuchProcess"
#define E_DENIED ERR_PREFIX "PermissionDenied"
#define E_TIMEOUT ERR_PREFIX "Timeout"
#define E_TARGET ERR_PREFIX "TargetFailed"
#define E_NOT_SUPPORTED ERR_PREFIX "NotSupported"
#define E_NO_NAME ERR_PREFIX "NoSuchName"
#define E_BAD_VALUE ERR_PREFIX "InvalidValue"
#define E_READ_ONLY ERR_PREFIX "ReadOnly"
#define E_BUSY ERR_PREFIX "Busy"

static sd_bus *bus;
static sd_bus_slot *vslot;
static struct event *bus_io, *bus_timer;
static bool bus_lost;

enum method { M_STATS, M_GET, M_SET, M_DECAY, M_PURGE, M_PROFILE };

/* A method call answered later (from a call's or the store's callback), and the manager
 * it was made to. */
typedef struct pending {
        sd_bus_message *m;
        jd_manager_t *mgr;
        enum method method; /* unused by CaptureProfile (on_stored) */
        pid_t pid;
        char name[128]; /* Set: the name */
} pending_t;

/* ---- the event loop ----------------------------------------------------------------- */

static void on_bus(evutil_socket_t fd, short what, void *arg);

static uint64_t now_usec(void)
{
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

/* Waits, on mgr's loop, for what sd-bus wants next: readable always, writable while its
 * queue is not empty, and its own timeout (method calls it made, authentication). */
static void rearm(jd_manager_t *mgr)
{
        if (bus == NULL)
                return;
        int ev = sd_bus_get_events(bus);
        if (ev < 0)
                return;
        short what = (short)(((ev & POLLIN) ? EV_READ : 0) | ((ev & POLLOUT) ? EV_WRITE : 0));
        event_del(bus_io);
        event_assign(bus_io, mgr->base, sd_bus_get_fd(bus), what, on_bus, mgr);
        event_add(bus_io, NULL);
        uint64_t until;
        evtimer_del(bus_timer);
        if (sd_bus_get_timeout(bus, &until) >= 0 && until != UINT64_MAX) {
                uint64_t now = now_usec(), d = until > now ? until - now : 0;
                struct timeval tv = {(time_t)(d / 1000000u), (suseconds_t)(d % 1000000u)};
                evtimer_add(bus_timer, &tv);
        }
}

static void on_bus(evutil_socket_t fd, short what, void *arg)
{
        (void)fd;
        (void)what;
        jd_manager_t *mgr = arg;
        int r;
        do
                r = sd_bus_process(bus, NULL);
        while (r > 0);
        if (r < 0) {
                jd_log("D-Bus: the bus connection is lost (%s): exiting", strerror(-r));
                bus_lost = true;
                event_base_loopbreak(mgr->base);
                return;
        }
        rearm(mgr);
}

bool jd_bus_lost(void)
{
        return bus_lost;
}

/* ---- helpers ------------------------------------------------------------------------ */

/* The uid of the caller, as the bus daemon knows it. */
static int caller_uid(sd_bus_message *m, uid_t *uid, sd_bus_error *e)
{
        sd_bus_creds *c = NULL;
        int r = sd_bus_query_sender_creds(
                m, SD_BUS_CREDS_EUID | SD_BUS_CREDS_UID | SD_BUS_CREDS_AUGMENT, &c);
        if (r >= 0) {
                r = sd_bus_creds_get_euid(c, uid);
                if (r < 0)
                        r = sd_bus_creds_get_uid(c, uid);
        }
        sd_bus_creds_unref(c);
        if (r < 0)
                return sd_bus_error_setf(e, E_DENIED,
                                         "cannot tell which user is calling (%s): refused",
                                         strerror(-r));
        return 0;
}

/* The process pid, known to mgr and trusted, or an error. */
static int known(jd_manager_t *mgr, uint32_t pid, sd_bus_error *e)
{
        jd_proc_t *p = pid > 0 && pid <= 0x7fffffff ? jd_proc_find(mgr, (pid_t)pid) : NULL;
        if (p == NULL || !jd_proc_visible(p))
                return sd_bus_error_setf(e, E_NO_PROCESS,
                                         "pid %u is not a process this daemon knows", pid);
        return 0;
}

static bool name_ok(const char *s)
{
        size_t n = strlen(s);
        return n > 0 && n < 128 &&
               strspn(s, "abcdefghijklmnopqrstuvwxyz"
                         "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.") == n;
}

/* The D-Bus error name for a target's error code. */
static const char *error_name(const char *code)
{
        static const struct {
                const char *code, *name;
        } map[] = {
                {"permission_denied", E_DENIED},
                {"timeout", E_TIMEOUT},
                {"not_supported", E_NOT_SUPPORTED},
                {"ENOENT", E_NO_NAME},
                {"EFAULT", E_NO_NAME},
                {"EINVAL", E_BAD_VALUE},
                {"bad_value", E_BAD_VALUE},
                {"bad_request", E_BAD_VALUE},
                {"EPERM", E_READ_ONLY},
                {"busy", E_BUSY},
                {"EAGAIN", E_BUSY},
        };
        for (size_t i = 0; i < sizeof(map) / sizeof(map[0]); i++)
                if (code != NULL && strcmp(code, map[i].code) == 0)
                        return map[i].name;
        return E_TARGET;
}

static const char *status_error(const jd_call_result_t *r)
{
        switch (r->status) {
        case JD_CALL_GONE:
                return E_NO_PROCESS;
        case JD_CALL_DENIED:
                return E_DENIED;
        case JD_CALL_TIMEOUT:
                return E_TIMEOUT;
        case JD_CALL_INTERNAL:
                return SD_BUS_ERROR_FAILED;
        case JD_CALL_FAILED:
                return error_name(r->code);
        default:
                return E_TARGET;
        }
}

static uint64_t num_u64(const json_t *v)
{
        return json_is_integer(v) ? (uint64_t)json_integer_value(v)
                                  : (uint64_t)json_number_value(v);
}

/* Whether a value of kind k travels as a D-Bus value. */
static bool travels(enum jp_kind k, const json_t *v)
{
        return (k == JP_K_BOOL && json_is_boolean(v)) ||
               ((k == JP_K_U32 || k == JP_K_U64 || k == JP_K_I64) && json_is_number(v)) ||
               (k == JP_K_STR && json_is_string(v));
}

/* Appends a {sv} entry for a value of kind k; 1 (nothing appended) if it does not
 * travel. */
static int append_value(sd_bus_message *r, const char *name, enum jp_kind k, const json_t *v)
{
        int rc;
        if (!travels(k, v))
                return 1;
        if (k == JP_K_BOOL && json_is_boolean(v))
                rc = sd_bus_message_append(r, "{sv}", name, "b", (int)json_is_true(v));
        else if (k == JP_K_U32 && json_is_number(v))
                rc = sd_bus_message_append(r, "{sv}", name, "u", (uint32_t)num_u64(v));
        else if (k == JP_K_U64 && json_is_number(v))
                rc = sd_bus_message_append(r, "{sv}", name, "t", num_u64(v));
        else if (k == JP_K_I64 && json_is_number(v))
                rc = sd_bus_message_append(r, "{sv}", name, "x",
                                           json_is_integer(v) ? (int64_t)json_integer_value(v)
                                                              : (int64_t)json_number_value(v));
        else if (k == JP_K_STR && json_is_string(v))
                rc = sd_bus_message_append(r, "{sv}", name, "s", json_string_value(v));
        else
                return 1;
        return rc < 0 ? rc : 0;
}

/* ---- replies from the calls --------------------------------------------------------- */

static int reply_stats(sd_bus_message *r, json_t *res)
{
        int rc = sd_bus_message_open_container(r, 'a', "{sv}");
        const char *k;
        json_t *v;
        json_object_foreach(res, k, v)
        {
                if (rc < 0)
                        break;
                size_t n = strlen(k);
                enum jp_kind kind = json_is_boolean(v)                       ? JP_K_BOOL
                                    : n > 3 && strcmp(k + n - 3, "_ms") == 0 ? JP_K_I64
                                                                             : JP_K_U64;
                if (json_is_number(v) || json_is_boolean(v))
                        rc = append_value(r, k, kind, v);
        }
        return rc < 0 ? rc : sd_bus_message_close_container(r);
}

static int reply_get(sd_bus_message *r, json_t *res)
{
        json_t *vals = json_object_get(res, JP_ARG_VALUES);
        const char *k;
        json_t *e;
        int rc = sd_bus_message_open_container(r, 'a', "{sv}");
        json_object_foreach(vals, k, e)
        {
                if (rc < 0)
                        break;
                json_t *v = json_object_get(e, "value");
                const char *type = json_string_value(json_object_get(e, "type"));
                if (json_object_get(e, "error") == NULL && type != NULL)
                        rc = append_value(r, k, jp_type_kind(type), v);
        }
        if (rc >= 0)
                rc = sd_bus_message_close_container(r);
        if (rc >= 0)
                rc = sd_bus_message_open_container(r, 'a', "{ss}");
        json_object_foreach(vals, k, e)
        {
                if (rc < 0)
                        break;
                json_t *err = json_object_get(e, "error");
                const char *type = json_string_value(json_object_get(e, "type"));
                const char *code = json_string_value(json_object_get(err, "code"));
                if (err != NULL)
                        rc = sd_bus_message_append(r, "{ss}", k, code != NULL ? code : "error");
                else if (type == NULL || !travels(jp_type_kind(type), json_object_get(e, "value")))
                        rc = sd_bus_message_append(r, "{ss}", k, "null");
        }
        return rc < 0 ? rc : sd_bus_message_close_container(r);
}

static int reply_set(pending_t *pd, sd_bus_message *r, json_t *res, sd_bus_error *e)
{
        json_t *entry = json_object_get(json_object_get(res, JP_ARG_VALUES), pd->name);
        json_t *err = json_object_get(entry, "error");
        if (err != NULL || !json_is_object(entry)) {
                const char *code = json_string_value(json_object_get(err, "code"));
                const char *msg = json_string_value(json_object_get(err, "message"));
                return sd_bus_error_setf(e, error_name(code), "pid %d: %s: %s%s%s", (int)pd->pid,
                                         pd->name, code ? code : "no answer", msg ? ": " : "",
                                         msg ? msg : "");
        }
        const char *type = json_string_value(json_object_get(entry, "type"));
        json_t *old = json_object_get(entry, "old");
        int rc = sd_bus_message_open_container(r, 'a', "{sv}");
        if (rc >= 0 && old != NULL && type != NULL)
                rc = append_value(r, "old", jp_type_kind(type), old);
        return rc < 0 ? rc : sd_bus_message_close_container(r);
}

static int reply_profile(pending_t *pd, sd_bus_message *r, jd_call_result_t *res, sd_bus_error *e)
{
        json_t *jb = json_object_get(res->result, "bytes");
        const char *fmt = json_string_value(json_object_get(res->result, "format"));
        if (res->fd < 0 || !json_is_integer(jb) || json_integer_value(jb) < 0)
                return sd_bus_error_setf(e, E_TARGET,
                                         "pid %d: the profile answer carries no "
                                         "descriptor or no size",
                                         (int)pd->pid);
        uint64_t bytes = (uint64_t)json_integer_value(jb);
        int rc = jd_call_check_blob(res->fd, bytes);
        if (rc != 0)
                return sd_bus_error_setf(e, E_TARGET,
                                         "pid %d: the profile is not a sealed file "
                                         "of %llu bytes (%s)",
                                         (int)pd->pid, (unsigned long long)bytes, strerror(-rc));
        /* sd-bus duplicates the descriptor; call.c closes ours. */
        return sd_bus_message_append(r, "hst", res->fd, fmt != NULL ? fmt : "", bytes);
}

static void on_answer(jd_call_result_t *res, void *arg)
{
        pending_t *pd = arg;
        sd_bus_error e = SD_BUS_ERROR_NULL;
        sd_bus_message *r = NULL;
        int rc = 0;
        if (res->status != JD_CALL_OK) {
                rc = sd_bus_error_setf(&e, status_error(res), "%s%s%s",
                                       res->status == JD_CALL_FAILED ? res->code : "",
                                       res->status == JD_CALL_FAILED ? ": " : "", res->message);
        } else if ((rc = sd_bus_message_new_method_return(pd->m, &r)) >= 0) {
                json_t *x = res->result;
                const char *err = json_string_value(json_object_get(x, "error"));
                switch (pd->method) {
                case M_STATS:
                        rc = reply_stats(r, x);
                        break;
                case M_GET:
                        rc = reply_get(r, x);
                        break;
                case M_SET:
                        rc = reply_set(pd, r, x, &e);
                        break;
                case M_DECAY:
                case M_PURGE:
                        if (err != NULL)
                                rc = sd_bus_error_setf(
                                        &e, error_name(err), "pid %d: %s: %s", (int)pd->pid,
                                        pd->method == M_DECAY ? "decay-all" : "purge", err);
                        else if (pd->method == M_DECAY)
                                rc = sd_bus_message_append(
                                        r, "utt", (uint32_t)num_u64(json_object_get(x, "arenas")),
                                        num_u64(json_object_get(x, "rss_before")),
                                        num_u64(json_object_get(x, "rss_after")));
                        else
                                rc = sd_bus_message_append(
                                        r, "tt", num_u64(json_object_get(x, "rss_before")),
                                        num_u64(json_object_get(x, "rss_after")));
                        break;
                case M_PROFILE:
                        rc = reply_profile(pd, r, res, &e);
                        break;
                }
                /* A change made or a profile taken: the dashboard marks it (events.c). */
                static const char *const kinds[] = {[M_SET] = "set", [M_DECAY] = "decay",
                                                    [M_PURGE] = "purge",
                                                    [M_PROFILE] = "profile"};
                if (rc >= 0 && !sd_bus_error_is_set(&e) &&
                    (pd->method == M_SET || pd->method == M_DECAY || pd->method == M_PURGE ||
                     pd->method == M_PROFILE))
                        jd_event_answer(pd->pid, kinds[pd->method], "dbus", x, pd->name);
        }
        if (bus != NULL) {
                if (sd_bus_error_is_set(&e))
                        sd_bus_reply_method_error(pd->m, &e);
                else if (rc < 0)
                        sd_bus_reply_method_errorf(pd->m, SD_BUS_ERROR_FAILED,
                                                   "cannot build the answer: %s", strerror(-rc));
                else if ((rc = sd_bus_send(NULL, r, NULL)) < 0)
                        sd_bus_reply_method_errorf(pd->m, SD_BUS_ERROR_FAILED,
                                                   "cannot send the answer: %s", strerror(-rc));
        }
        sd_bus_error_free(&e);
        sd_bus_message_unref(r);
        sd_bus_message_unref(pd->m);
        jd_manager_t *mgr = pd->mgr;
        free(pd);
        rearm(mgr);
}

/* Starts the call of a method to one of mgr's processes; the reply comes from on_answer. */
static int start(jd_manager_t *mgr, sd_bus_message *m, enum method method, uint32_t pid,
                 const jd_req_t *req, bool as_caller, const char *name, sd_bus_error *e)
{
        uid_t uid = JD_CALL_ANY_UID;
        int rc = known(mgr, pid, e);
        if (rc >= 0 && as_caller)
                rc = caller_uid(m, &uid, e);
        if (rc < 0)
                return rc;
        pending_t *pd = calloc(1, sizeof(*pd));
        if (pd == NULL)
                return -ENOMEM;
        pd->m = sd_bus_message_ref(m);
        pd->mgr = mgr;
        pd->method = method;
        pd->pid = (pid_t)pid;
        if (name != NULL)
                snprintf(pd->name, sizeof(pd->name), "%s", name);
        double timeout = method == M_PROFILE && mgr->opt.timeout < JD_CALL_PROFILE_TIMEOUT
                                 ? JD_CALL_PROFILE_TIMEOUT
                                 : mgr->opt.timeout;
        if (jd_call(mgr, (pid_t)pid, req, uid, timeout, on_answer, pd) == NULL) {
                sd_bus_message_unref(pd->m);
                free(pd);
                return -ENOMEM;
        }
        return 1;
}

/* ---- the methods -------------------------------------------------------------------- */

/* ListProcesses calls that came before the first poll cycle finished (the call that
 * activated the daemon, typically): answered when it has, so that they do not get the
 * empty table of a daemon that has just started. */
#define LIST_DEFERRED_MAX 16
static sd_bus_message *list_deferred[LIST_DEFERRED_MAX];
static size_t nlist_deferred;

static int list_reply(jd_manager_t *mgr, sd_bus_message *m)
{
        sd_bus_message *r = NULL;
        int rc = sd_bus_message_new_method_return(m, &r);
        if (rc >= 0)
                rc = sd_bus_message_open_container(r, 'a', "(usssu)");
        for (jd_proc_t *p = mgr->procs; rc >= 0 && p != NULL; p = p->next) {
                if (!jd_proc_visible(p) || p->info == NULL)
                        continue;
                const char *comm = json_string_value(json_object_get(p->info, "comm"));
                const char *exe = json_string_value(json_object_get(p->info, "exe"));
                const char *cg = json_string_value(json_object_get(p->info, "cgroup"));
                const char *slash = cg != NULL ? strrchr(cg, '/') : NULL;
                const char *unit = slash != NULL ? slash + 1 : "";
                size_t ul = strlen(unit);
                if (ul <= 8 || strcmp(unit + ul - 8, ".service") != 0)
                        unit = "";
                json_t *juid = json_object_get(p->info, "uid");
                rc = sd_bus_message_append(
                        r, "(usssu)", (uint32_t)p->pid, comm ? comm : "", exe ? exe : "", unit,
                        json_is_integer(juid) ? (uint32_t)json_integer_value(juid) : UINT32_MAX);
        }
        if (rc >= 0)
                rc = sd_bus_message_close_container(r);
        if (rc >= 0)
                rc = sd_bus_send(NULL, r, NULL);
        sd_bus_message_unref(r);
        return rc;
}

static void list_flush(jd_manager_t *mgr)
{
        for (size_t i = 0; i < nlist_deferred; i++) {
                if (list_reply(mgr, list_deferred[i]) < 0)
                        sd_bus_reply_method_errorf(list_deferred[i], SD_BUS_ERROR_NO_MEMORY,
                                                   "cannot build the answer");
                sd_bus_message_unref(list_deferred[i]);
        }
        nlist_deferred = 0;
}

static void on_ready(jd_manager_t *m)
{
        list_flush(m);
        if (bus != NULL)
                rearm(m); /* the answers were queued outside the bus's own callback */
}

static int m_list(sd_bus_message *m, void *ud, sd_bus_error *e)
{
        jd_manager_t *mgr = ud;
        (void)e;
        if (!mgr->cycled && nlist_deferred < LIST_DEFERRED_MAX) {
                list_deferred[nlist_deferred++] = sd_bus_message_ref(m);
                return 1; /* answered by on_ready */
        }
        return list_reply(mgr, m);
}

/* A method whose only argument is the pid: one call without arguments. */
static int pid_only(jd_manager_t *mgr, sd_bus_message *m, enum method method, enum jp_op op,
                    bool as_caller, sd_bus_error *e)
{
        uint32_t pid;
        int rc = sd_bus_message_read(m, "u", &pid);
        if (rc < 0)
                return rc;
        jd_req_t req = {.op = op};
        return start(mgr, m, method, pid, &req, as_caller, NULL, e);
}

static int m_stats(sd_bus_message *m, void *ud, sd_bus_error *e)
{
        /* The same summary /metrics publishes: no caller check. */
        return pid_only(ud, m, M_STATS, JP_OP_STATS, false, e);
}

static int m_get(sd_bus_message *m, void *ud, sd_bus_error *e)
{
        uint32_t pid;
        int rc = sd_bus_message_read(m, "u", &pid);
        if (rc >= 0)
                rc = sd_bus_message_enter_container(m, 'a', "s");
        if (rc < 0)
                return rc;
        json_t *names = json_array();
        const char *s;
        while ((rc = sd_bus_message_read(m, "s", &s)) > 0) {
                if (!name_ok(s) || json_array_size(names) >= JP_MAX_NAMES) {
                        json_decref(names);
                        return sd_bus_error_setf(e, SD_BUS_ERROR_INVALID_ARGS,
                                                 "names must be 1 to %d mallctl names "
                                                 "(letters, digits, '_' and '.')",
                                                 JP_MAX_NAMES);
                }
                json_array_append_new(names, json_string(s));
        }
        if (rc >= 0)
                rc = sd_bus_message_exit_container(m);
        if (rc >= 0 && json_array_size(names) == 0)
                rc = sd_bus_error_setf(e, SD_BUS_ERROR_INVALID_ARGS, "no names");
        if (rc < 0) {
                json_decref(names);
                return rc;
        }
        /* Any name can be read this way: the caller must be allowed on the socket. */
        jd_req_t req = {.op = JP_OP_GET, .u.get.names = names};
        rc = start(ud, m, M_GET, pid, &req, true, NULL, e);
        json_decref(names);
        return rc;
}

/* A basic value as read by sd_bus_message_read_basic. */
typedef union basic {
        int b;
        uint8_t y;
        int16_t n;
        uint16_t q;
        int32_t i;
        uint32_t u;
        int64_t x;
        uint64_t t;
        const char *s;
} basic_t;

/* v, of the D-Bus type `type`, as a JSON value; NULL for another type or a t over
 * INT64_MAX. */
static json_t *basic_json(char type, const basic_t *v)
{
        switch (type) {
        case 'b':
                return json_boolean(v->b);
        case 'y':
                return json_integer(v->y);
        case 'n':
                return json_integer(v->n);
        case 'q':
                return json_integer(v->q);
        case 'i':
                return json_integer(v->i);
        case 'u':
                return json_integer(v->u);
        case 'x':
                return json_integer(v->x);
        case 't':
                return v->t <= INT64_MAX ? json_integer((json_int_t)v->t) : NULL;
        case 's':
                return json_string(v->s);
        default:
                return NULL;
        }
}

/* A variant of a basic type as a JSON value, or NULL. */
static json_t *read_variant(sd_bus_message *m, int *rc)
{
        char type;
        const char *contents;
        *rc = sd_bus_message_peek_type(m, &type, &contents);
        if (*rc <= 0 || type != 'v' || strlen(contents) != 1)
                return NULL;
        if ((*rc = sd_bus_message_enter_container(m, 'v', contents)) < 0)
                return NULL;
        json_t *j = NULL;
        basic_t v;
        *rc = sd_bus_message_read_basic(m, contents[0], &v);
        if (*rc > 0)
                j = basic_json(contents[0], &v);
        if (*rc >= 0)
                *rc = sd_bus_message_exit_container(m);
        return j;
}

static int m_set(sd_bus_message *m, void *ud, sd_bus_error *e)
{
        uint32_t pid;
        const char *name;
        int rc = sd_bus_message_read(m, "us", &pid, &name);
        if (rc < 0)
                return rc;
        if (!name_ok(name))
                return sd_bus_error_setf(e, SD_BUS_ERROR_INVALID_ARGS,
                                         "\"%s\" is not a mallctl name", name);
        json_t *v = read_variant(m, &rc);
        if (v == NULL)
                return rc < 0 ? rc
                              : sd_bus_error_setf(e, SD_BUS_ERROR_INVALID_ARGS,
                                                  "the value must be a boolean, an integer "
                                                  "(up to 2^63-1) or a string");
        jd_req_t req = {.op = JP_OP_SET, .u.set = {.name = name, .value = v}};
        rc = start(ud, m, M_SET, pid, &req, true, name, e);
        json_decref(v);
        return rc;
}

static int m_decay(sd_bus_message *m, void *ud, sd_bus_error *e)
{
        uint32_t pid;
        int64_t ms;
        int rc = sd_bus_message_read(m, "ux", &pid, &ms);
        if (rc < 0)
                return rc;
        if (ms < -1)
                return sd_bus_error_setf(e, SD_BUS_ERROR_INVALID_ARGS,
                                         "ms must be milliseconds, 0 (at once) or -1 (never)");
        jd_req_t req = {.op = JP_OP_DECAY_ALL, .u.decay.dirty_ms = ms};
        return start(ud, m, M_DECAY, pid, &req, true, NULL, e);
}

static int m_purge(sd_bus_message *m, void *ud, sd_bus_error *e)
{
        return pid_only(ud, m, M_PURGE, JP_OP_PURGE, true, e);
}

static int m_profile(sd_bus_message *m, void *ud, sd_bus_error *e)
{
        uint32_t pid;
        const char *fmt;
        int rc = sd_bus_message_read(m, "us", &pid, &fmt);
        if (rc < 0)
                return rc;
        if (fmt[0] != '\0' && (!name_ok(fmt) || strlen(fmt) > 32))
                return sd_bus_error_setf(e, SD_BUS_ERROR_INVALID_ARGS,
                                         "format must be a format name such as \"heap\", or "
                                         "empty for the target's default");
        jd_req_t req = jd_req_prof(JP_PROF_DUMP);
        return start(ud, m, M_PROFILE, pid, &req, true, NULL, e);
}

/* ---- the profile store (store.c) ----------------------------------------------------- */

#define E_NO_SPACE ERR_PREFIX "NoSpace"

/* A stored profile's metadata as a{sv}. */
static int append_profile(sd_bus_message *r, const jd_profile_t *pf)
{
        int rc = sd_bus_message_open_container(r, 'a', "{sv}");
        if (rc >= 0)
                rc = sd_bus_message_append(
                        r, "{sv}{sv}{sv}{sv}{sv}{sv}{sv}{sv}{sv}{sv}{sv}", "id", "s", pf->id,
                        "pid", "u", (uint32_t)pf->pid, "start_time", "x", (int64_t)pf->start,
                        "uid", "u", (uint32_t)pf->uid, "comm", "s", pf->comm, "unit", "s",
                        pf->unit, "reason", "s", pf->reason, "time", "d", pf->time, "bytes", "t",
                        pf->bytes, "resident", "t", pf->resident, "format", "s", pf->format);
        return rc < 0 ? rc : sd_bus_message_close_container(r);
}

static void on_stored(jd_store_result_t res, const jd_profile_t *pf, const char *msg, void *arg)
{
        pending_t *pd = arg;
        sd_bus_message *m = pd->m, *r = NULL;
        static const char *const names[JD_STORE_NRESULTS] = {
                [JD_STORE_BUSY] = E_BUSY,
                [JD_STORE_DENIED] = E_DENIED,
                [JD_STORE_GONE] = E_NO_PROCESS,
                [JD_STORE_TIMEOUT] = E_TIMEOUT,
                [JD_STORE_TARGET_FAILED] = E_TARGET,
                [JD_STORE_BAD_DUMP] = E_TARGET,
                [JD_STORE_TOO_LARGE] = E_NO_SPACE,
                [JD_STORE_NO_SPACE] = E_NO_SPACE,
                [JD_STORE_IO_ERROR] = SD_BUS_ERROR_IO_ERROR,
                [JD_STORE_UNAVAILABLE] = SD_BUS_ERROR_FAILED,
        };
        if (bus != NULL) {
                int rc = -EIO;
                if (res == JD_STORE_OK && (rc = sd_bus_message_new_method_return(m, &r)) >= 0 &&
                    (rc = append_profile(r, pf)) >= 0)
                        rc = sd_bus_send(NULL, r, NULL);
                if (res != JD_STORE_OK)
                        sd_bus_reply_method_errorf(m, names[res], "%s: %s",
                                                   jd_store_result_name(res), msg);
                else if (rc < 0)
                        sd_bus_reply_method_errorf(m, SD_BUS_ERROR_FAILED,
                                                   "cannot send the answer: %s", strerror(-rc));
        }
        sd_bus_message_unref(r);
        sd_bus_message_unref(m);
        jd_manager_t *mgr = pd->mgr;
        free(pd);
        rearm(mgr);
}

static int m_capture(sd_bus_message *m, void *ud, sd_bus_error *e)
{
        jd_manager_t *mgr = ud;
        uint32_t pid;
        uid_t uid;
        int rc = sd_bus_message_read(m, "u", &pid);
        if (rc >= 0)
                rc = known(mgr, pid, e);
        if (rc >= 0)
                rc = caller_uid(m, &uid, e);
        if (rc < 0)
                return rc;
        pending_t *pd = calloc(1, sizeof(*pd));
        if (pd == NULL)
                return -ENOMEM;
        pd->m = sd_bus_message_ref(m);
        pd->mgr = mgr;
        pd->pid = (pid_t)pid;
        if (jd_store_capture(mgr, (pid_t)pid, uid, "manual", on_stored, pd) != 0) {
                sd_bus_message_unref(pd->m);
                free(pd);
                return -ENOMEM;
        }
        return 1;
}

static int m_list_profiles(sd_bus_message *m, void *ud, sd_bus_error *e)
{
        (void)ud;
        (void)e;
        uint32_t pid;
        sd_bus_message *r = NULL;
        int rc = sd_bus_message_read(m, "u", &pid);
        if (rc >= 0)
                rc = sd_bus_message_new_method_return(m, &r);
        if (rc >= 0)
                rc = sd_bus_message_open_container(r, 'a', "a{sv}");
        for (const jd_profile_t *p = jd_store_list(); rc >= 0 && p != NULL; p = p->next)
                if (pid == 0 || (uint32_t)p->pid == pid)
                        rc = append_profile(r, p);
        if (rc >= 0)
                rc = sd_bus_message_close_container(r);
        if (rc >= 0)
                rc = sd_bus_send(NULL, r, NULL);
        sd_bus_message_unref(r);
        return rc;
}

static int p_version(sd_bus *b, const char *path, const char *iface, const char *prop,
                     sd_bus_message *r, void *ud, sd_bus_error *e)
{
        (void)b, (void)path, (void)iface, (void)prop, (void)ud, (void)e;
        return sd_bus_message_append(r, "u", (uint32_t)JD_BUS_VERSION);
}

#define U SD_BUS_VTABLE_UNPRIVILEGED /* every caller; the methods check themselves */
static const sd_bus_vtable vtable[] = {
        SD_BUS_VTABLE_START(0),
        SD_BUS_PROPERTY("Version", "u", p_version, 0, SD_BUS_VTABLE_PROPERTY_CONST),
        SD_BUS_METHOD_WITH_NAMES("ListProcesses", "", , "a(usssu)", SD_BUS_PARAM(processes), m_list,
                                 U),
        SD_BUS_METHOD_WITH_NAMES("GetStats", "u", SD_BUS_PARAM(pid), "a{sv}", SD_BUS_PARAM(stats),
                                 m_stats, U),
        SD_BUS_METHOD_WITH_NAMES("Get", "uas", SD_BUS_PARAM(pid) SD_BUS_PARAM(names), "a{sv}a{ss}",
                                 SD_BUS_PARAM(values) SD_BUS_PARAM(errors), m_get, U),
        SD_BUS_METHOD_WITH_NAMES("Set", "usv",
                                 SD_BUS_PARAM(pid) SD_BUS_PARAM(name) SD_BUS_PARAM(value), "a{sv}",
                                 SD_BUS_PARAM(result), m_set, U),
        SD_BUS_METHOD_WITH_NAMES(
                "Decay", "ux", SD_BUS_PARAM(pid) SD_BUS_PARAM(ms), "utt",
                SD_BUS_PARAM(arenas) SD_BUS_PARAM(rss_before) SD_BUS_PARAM(rss_after), m_decay, U),
        SD_BUS_METHOD_WITH_NAMES("Purge", "u", SD_BUS_PARAM(pid), "tt",
                                 SD_BUS_PARAM(rss_before) SD_BUS_PARAM(rss_after), m_purge, U),
        SD_BUS_METHOD_WITH_NAMES("DumpProfile", "us", SD_BUS_PARAM(pid) SD_BUS_PARAM(format), "hst",
                                 SD_BUS_PARAM(profile) SD_BUS_PARAM(format) SD_BUS_PARAM(bytes),
                                 m_profile, U),
        SD_BUS_METHOD_WITH_NAMES("CaptureProfile", "u", SD_BUS_PARAM(pid), "a{sv}",
                                 SD_BUS_PARAM(profile), m_capture, U),
        SD_BUS_METHOD_WITH_NAMES("ListProfiles", "u", SD_BUS_PARAM(pid), "aa{sv}",
                                 SD_BUS_PARAM(profiles), m_list_profiles, U),
        SD_BUS_SIGNAL_WITH_NAMES("ProcessAdded", "uss",
                                 SD_BUS_PARAM(pid) SD_BUS_PARAM(comm) SD_BUS_PARAM(unit), 0),
        SD_BUS_SIGNAL_WITH_NAMES("ProcessRemoved", "u", SD_BUS_PARAM(pid), 0),
        SD_BUS_SIGNAL_WITH_NAMES("PressureAction", "usstb",
                                 SD_BUS_PARAM(pid) SD_BUS_PARAM(cgroup) SD_BUS_PARAM(reason)
                                         SD_BUS_PARAM(bytes) SD_BUS_PARAM(dry_run),
                                 0),
        SD_BUS_VTABLE_END,
};
#undef U

/* ---- signals (the bus observes the process table, manager.h) ------------------------ */

static void on_appeared(jd_manager_t *m, jd_proc_t *p)
{
        if (bus == NULL)
                return;
        const char *comm = json_string_value(json_object_get(p->info, "comm"));
        const char *cg = json_string_value(json_object_get(p->info, "cgroup"));
        const char *slash = cg != NULL ? strrchr(cg, '/') : NULL;
        const char *unit = slash != NULL ? slash + 1 : "";
        size_t ul = strlen(unit);
        if (ul <= 8 || strcmp(unit + ul - 8, ".service") != 0)
                unit = "";
        sd_bus_emit_signal(bus, JD_BUS_PATH, JD_BUS_INTERFACE, "ProcessAdded", "uss",
                           (uint32_t)p->pid, comm != NULL ? comm : "", unit);
        rearm(m);
}

static void on_gone(jd_manager_t *m, jd_proc_t *p)
{
        if (bus == NULL || !p->announced)
                return; /* only a process announced by ProcessAdded is removed */
        sd_bus_emit_signal(bus, JD_BUS_PATH, JD_BUS_INTERFACE, "ProcessRemoved", "u",
                           (uint32_t)p->pid);
        rearm(m);
}

static jd_observer_t observer = {.appeared = on_appeared, .gone = on_gone, .ready = on_ready};

/* s if it is valid UTF-8 (what D-Bus strings must be), else "?". */
static const char *utf8_or(const char *s)
{
        const unsigned char *p = (const unsigned char *)s;
        while (*p != 0) {
                unsigned n = *p < 0x80 ? 0 : (*p & 0xe0) == 0xc0 ? 1 : (*p & 0xf0) == 0xe0 ? 2
                                                                  : (*p & 0xf8) == 0xf0 ? 3
                                                                                        : 9;
                if (n == 9 || (n == 1 && *p < 0xc2))
                        return "?";
                p++;
                for (unsigned i = 0; i < n; i++, p++)
                        if ((*p & 0xc0) != 0x80)
                                return "?";
        }
        return s;
}

void jd_bus_pressure_action(jd_manager_t *m, unsigned pid, const char *cgroup,
                            const char *reason, uint64_t bytes, bool dry_run)
{
        if (bus == NULL)
                return;
        sd_bus_emit_signal(bus, JD_BUS_PATH, JD_BUS_INTERFACE, "PressureAction", "usstb",
                           (uint32_t)pid, utf8_or(cgroup), reason, bytes, (int)dry_run);
        rearm(m);
}

/* ---- start and stop ----------------------------------------------------------------- */

int jd_bus_start(jd_manager_t *m, const char *which)
{
        int rc;
        if (strcmp(which, "system") == 0)
                rc = sd_bus_open_system_with_description(&bus, "jemctld");
        else
                rc = sd_bus_open_user_with_description(&bus, "jemctld");
        if (rc < 0) {
                jd_log("D-Bus: cannot connect to the %s bus: %s", which, strerror(-rc));
                return rc;
        }
        /* The methods' userdata is the manager they serve. */
        rc = sd_bus_add_object_vtable(bus, &vslot, JD_BUS_PATH, JD_BUS_INTERFACE, vtable, m);
        if (rc >= 0)
                rc = sd_bus_request_name(bus, JD_BUS_NAME, 0);
        if (rc < 0) {
                jd_log("D-Bus: cannot own %s on the %s bus: %s%s", JD_BUS_NAME, which,
                       strerror(-rc),
                       rc == -EEXIST   ? " (another jemctld has it)"
                       : rc == -EACCES ? " (the bus policy does not allow it: is " JD_BUS_NAME
                                         ".conf in /usr/share/dbus-1/system.d or "
                                         "/etc/dbus-1/system.d, where the bus reads it?)"
                                       : "");
                jd_bus_stop(m);
                return rc;
        }
        bus_io = event_new(m->base, -1, 0, on_bus, m);
        bus_timer = evtimer_new(m->base, on_bus, m);
        if (bus_io == NULL || bus_timer == NULL) {
                jd_bus_stop(m);
                return -ENOMEM;
        }
        rearm(m);
        jd_manager_subscribe(m, &observer);
        jd_log("D-Bus: %s on the %s bus", JD_BUS_NAME, which);
        return 0;
}

bool jd_bus_up(void)
{
        return bus != NULL && bus_io != NULL;
}

void jd_bus_stop(jd_manager_t *m)
{
        jd_manager_unsubscribe(m, &observer);
        list_flush(m);
        if (bus_io != NULL)
                event_free(bus_io);
        if (bus_timer != NULL)
                event_free(bus_timer);
        bus_io = bus_timer = NULL;
        vslot = sd_bus_slot_unref(vslot);
        if (bus != NULL) {
                sd_bus_flush(bus);
                bus = sd_bus_flush_close_unref(bus);
        }
}
