/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * call: one request/response exchange with a target process, driven by the event loop
 * (call.h).  The socket is plain (no bufferevent) because the answer may carry a file
 * descriptor (SCM_RIGHTS), which only recvmsg sees.  Every call has its own deadline and
 * its own connection, so a hung target costs one descriptor until then and nothing else.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

#include <event2/event.h>

#include <jcl/answer.h>
#include <jcl/blob.h>
#include <jcl/io.h>
#include <jcl/recv.h>

#include "call.h"
#include "connect.h"
#include "manager.h"

struct jd_call {
        jd_manager_t *m; /* whose loop and table the call uses */
        pid_t pid;
        uid_t as_uid;
        int sock;
        struct event *io;       /* write, then read */
        struct event *deadline; /* also fires at once for an early failure */
        jd_call_cb_t cb;
        void *arg;
        char *out; /* the request frame */
        size_t out_len, out_off;
        uint8_t hdr[JP_HDR_SIZE];
        size_t hdr_got;
        char *in; /* the response payload */
        uint32_t in_len;
        size_t in_got;
        int fd; /* passed descriptor */
        jd_call_result_t res;
        char msg[256];
        char code[64];
        jd_call_t *prev, *next;
};

static jd_call_t *calls; /* in flight, for shutdown */

const char *jd_call_status_name(jd_call_status_t s)
{
        static const char *const names[] = {
                [JD_CALL_OK] = "ok",
                [JD_CALL_FAILED] = "failed",
                [JD_CALL_GONE] = "gone",
                [JD_CALL_REFUSED] = "refused",
                [JD_CALL_UNTRUSTED] = "untrusted",
                [JD_CALL_DENIED] = "permission_denied",
                [JD_CALL_TIMEOUT] = "timeout",
                [JD_CALL_BAD_ANSWER] = "bad_answer",
                [JD_CALL_INTERNAL] = "internal",
        };
        return (unsigned)s < sizeof(names) / sizeof(names[0]) ? names[s] : "internal";
}

static void unlink_call(jd_call_t *c)
{
        if (c->prev != NULL)
                c->prev->next = c->next;
        else if (calls == c)
                calls = c->next;
        if (c->next != NULL)
                c->next->prev = c->prev;
        c->prev = c->next = NULL;
}

static void call_free(jd_call_t *c)
{
        unlink_call(c);
        if (c->io != NULL)
                event_free(c->io);
        if (c->deadline != NULL)
                event_free(c->deadline);
        if (c->sock >= 0)
                close(c->sock);
        if (c->fd >= 0)
                close(c->fd);
        json_decref(c->res.result);
        free(c->out);
        free(c->in);
        free(c);
}

/* The end: calls back once and frees. */
static void finish(jd_call_t *c)
{
        if (c->io != NULL)
                event_del(c->io);
        event_del(c->deadline);
        if (c->sock >= 0) {
                close(c->sock);
                c->sock = -1;
        }
        unlink_call(c);
        c->res.fd = c->fd;
        c->fd = -1;
        if (c->res.status != JD_CALL_OK) {
                c->res.code = c->code;
                c->res.message = c->msg;
        }
        c->cb(&c->res, c->arg);
        if (c->res.fd >= 0)
                close(c->res.fd);
        call_free(c);
}

static void fail(jd_call_t *c, jd_call_status_t st, const char *code, const char *fmt, ...)
        __attribute__((format(printf, 4, 5)));
static void fail(jd_call_t *c, jd_call_status_t st, const char *code, const char *fmt, ...)
{
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(c->msg, sizeof(c->msg), fmt, ap);
        va_end(ap);
        snprintf(c->code, sizeof(c->code), "%s", code != NULL ? code : jd_call_status_name(st));
        c->res.status = st;
        finish(c);
}

/* Fires for the deadline, or at once (timeout 0) for a failure found inside jd_call. */
static void on_deadline(evutil_socket_t fd, short what, void *arg)
{
        (void)fd;
        (void)what;
        jd_call_t *c = arg;
        if (c->res.status != JD_CALL_OK) {
                finish(c); /* an early failure, code and message already set */
                return;
        }
        fail(c, JD_CALL_TIMEOUT, "timeout", "pid %d: no answer within the deadline", (int)c->pid);
}

/* Checks the payload and fills c->res.  */
static void take_answer(jd_call_t *c)
{
        jcl_answer_t a;
        switch (jcl_answer_parse(c->in, c->in_len, 1, &a)) {
        case JCL_ANSWER_MALFORMED:
                fail(c, JD_CALL_BAD_ANSWER, NULL, "pid %d: malformed answer: %.200s",
                     (int)c->pid, a.why);
                return;
        case JCL_ANSWER_ERROR:
                snprintf(c->code, sizeof(c->code), "%s", a.code);
                snprintf(c->msg, sizeof(c->msg), "%.250s",
                         a.message[0] != '\0' ? a.message : "the target failed");
                c->res.status = JD_CALL_FAILED;
                finish(c);
                return;
        default:
                break;
        }
        json_t *res = a.result;
        /* A result that announces a descriptor must come with one. */
        if (json_is_true(json_object_get(res, "fd")) && c->fd < 0) {
                json_decref(res);
                fail(c, JD_CALL_BAD_ANSWER, NULL,
                     "pid %d: malformed answer: the descriptor it announces did not come",
                     (int)c->pid);
                return;
        }
        c->res.result = res;
        finish(c);
}

static void on_readable(jd_call_t *c)
{
        for (;;) {
                char *dst;
                size_t want;
                if (c->hdr_got < JP_HDR_SIZE) {
                        dst = (char *)c->hdr + c->hdr_got;
                        want = JP_HDR_SIZE - c->hdr_got;
                } else {
                        dst = c->in + c->in_got;
                        want = c->in_len - c->in_got;
                }
                bool extra = false; /* a second descriptor (jcl_recv) */
                ssize_t n = jcl_recv(c->sock, dst, want, MSG_DONTWAIT, &c->fd, &extra);
                if (n < 0 && (errno == EAGAIN || errno == EINTR))
                        return;
                if (n < 0) {
                        fail(c, JD_CALL_BAD_ANSWER, NULL, "pid %d: reading the answer: %s",
                             (int)c->pid, strerror(errno));
                        return;
                }
                if (n > 0 && extra) {
                        fail(c, JD_CALL_BAD_ANSWER, NULL,
                             "pid %d: malformed answer: more than one descriptor", (int)c->pid);
                        return;
                }
                if (n == 0) {
                        fail(c, JD_CALL_BAD_ANSWER, NULL,
                             "pid %d: the process closed the connection %s", (int)c->pid,
                             c->hdr_got == 0 ? "without answering" : "inside its answer");
                        return;
                }
                if (c->hdr_got < JP_HDR_SIZE) {
                        c->hdr_got += (size_t)n;
                        if (c->hdr_got < JP_HDR_SIZE)
                                continue;
                        c->in_len = jp_frame_get(c->hdr);
                        if (jp_frame_check(c->in_len, JP_RESP_MAX) != JP_OK) {
                                fail(c, JD_CALL_BAD_ANSWER, NULL,
                                     "pid %d: malformed answer: bad frame length %u", (int)c->pid,
                                     c->in_len);
                                return;
                        }
                        c->in = malloc(c->in_len);
                        if (c->in == NULL) {
                                fail(c, JD_CALL_INTERNAL, NULL, "out of memory");
                                return;
                        }
                        continue;
                }
                c->in_got += (size_t)n;
                if (c->in_got == c->in_len) {
                        take_answer(c);
                        return;
                }
        }
}

static void on_io(evutil_socket_t fd, short what, void *arg)
{
        jd_call_t *c = arg;
        if (c->out_off < c->out_len) {
                (void)what;
                ssize_t n = send(fd, c->out + c->out_off, c->out_len - c->out_off,
                                 MSG_NOSIGNAL | MSG_DONTWAIT);
                if (n < 0 && (errno == EAGAIN || errno == EINTR))
                        return;
                if (n < 0) {
                        fail(c,
                             errno == EPIPE || errno == ECONNRESET ? JD_CALL_GONE
                                                                   : JD_CALL_BAD_ANSWER,
                             NULL, "pid %d: sending the request: %s", (int)c->pid, strerror(errno));
                        return;
                }
                c->out_off += (size_t)n;
                if (c->out_off < c->out_len)
                        return;
                event_del(c->io);
                event_assign(c->io, c->m->base, c->sock, EV_READ | EV_PERSIST, on_io, c);
                event_add(c->io, NULL);
                return;
        }
        on_readable(c);
}

/* Connects and checks the listener (connect.c); on failure sets the early status for
 * on_deadline. */
static int connect_target(jd_call_t *c)
{
        jd_proc_t *p = jd_proc_find(c->m, c->pid);
        enum jcl_fail f;
        jcl_peer_t peer;
        char name[JCL_NAME_MAX];
        c->sock = jd_connect_target(c->m->opt.runtime_dir, c->pid, p != NULL ? p->sock : NULL,
                                    p == NULL || p->has_alt, name, &f, &peer);
        if (c->sock < 0) {
                switch (f) {
                case JCL_GONE:
                        c->res.status = peer.e == ECONNREFUSED && kill(c->pid, 0) == 0
                                                ? JD_CALL_REFUSED
                                                : JD_CALL_GONE;
                        break;
                case JCL_UNTRUSTED:
                        c->res.status = JD_CALL_UNTRUSTED;
                        break;
                case JCL_BUSY:
                        c->res.status = JD_CALL_REFUSED;
                        break;
                default:
                        c->res.status = JD_CALL_INTERNAL;
                        break;
                }
                snprintf(c->msg, sizeof(c->msg), "pid %d: %s%s: %.160s", (int)c->pid,
                         f == JCL_UNTRUSTED ? "its socket is not trusted" : "cannot connect",
                         f == JCL_BUSY ? " (the process is busy)" : "", peer.why);
                return -1;
        }
        c->res.target_uid = peer.uid;
        if (c->as_uid != JD_CALL_ANY_UID && c->as_uid != 0 && c->as_uid != peer.uid) {
                c->res.status = JD_CALL_DENIED;
                snprintf(c->msg, sizeof(c->msg),
                         "uid %u may not change pid %d (it runs as uid %u): only root and "
                         "its own user may",
                         (unsigned)c->as_uid, (int)c->pid, (unsigned)peer.uid);
                return -1;
        }
        return 0;
}

/* The request frame: {"v":1,"id":1,"op":op, its arguments...}. */
static int build_request(jd_call_t *c, const jd_req_t *req)
{
        char *buf = malloc(JP_HDR_SIZE + JP_REQ_MAX);
        if (buf == NULL)
                return -ENOMEM;
        jp_writer_t w;
        jp_w_init(&w, buf + JP_HDR_SIZE, JP_REQ_MAX);
        jp_request_begin(&w, 1, req->op);
        int rc = jd_req_write(&w, req);
        jp_request_end(&w);
        if (rc != 0 || w.overflow) {
                free(buf);
                return rc != 0 ? rc : -E2BIG;
        }
        jp_frame_put((uint8_t *)buf, (uint32_t)w.len);
        c->out = buf;
        c->out_len = JP_HDR_SIZE + w.len;
        return 0;
}

jd_call_t *jd_call(jd_manager_t *m, pid_t pid, const jd_req_t *req, uid_t as_uid,
                   double timeout, jd_call_cb_t cb, void *arg)
{
        jd_call_t *c = calloc(1, sizeof(*c));
        if (c == NULL)
                return NULL;
        c->m = m;
        c->pid = pid;
        c->as_uid = as_uid;
        c->sock = c->fd = -1;
        c->cb = cb;
        c->arg = arg;
        c->res.fd = -1;
        c->res.target_uid = (uid_t)-1;
        c->deadline = evtimer_new(m->base, on_deadline, c);
        if (c->deadline == NULL || build_request(c, req) != 0) {
                call_free(c);
                return NULL;
        }
        c->next = calls;
        if (calls != NULL)
                calls->prev = c;
        calls = c;
        struct timeval tv = {0, 0};
        if (connect_target(c) != 0) {
                snprintf(c->code, sizeof(c->code), "%s", jd_call_status_name(c->res.status));
                evtimer_add(c->deadline, &tv); /* called back from the loop, not from here */
                return c;
        }
        c->io = event_new(m->base, c->sock, EV_WRITE | EV_PERSIST, on_io, c);
        if (c->io == NULL) {
                call_free(c);
                return NULL;
        }
        tv.tv_sec = (time_t)timeout;
        tv.tv_usec = (suseconds_t)((timeout - (double)tv.tv_sec) * 1e6);
        event_add(c->io, NULL);
        evtimer_add(c->deadline, &tv);
        return c;
}

void jd_call_shutdown(void)
{
        while (calls != NULL) {
                jd_call_t *c = calls;
                if (c->res.status == JD_CALL_OK)
                        fail(c, JD_CALL_INTERNAL, "internal", "the daemon is shutting down");
                else
                        finish(c);
        }
}

char *jd_read_blob(int fd, uint64_t bytes, int *err)
{
        char *buf = malloc(bytes + 1);
        if (buf == NULL) {
                *err = ENOMEM;
                return NULL;
        }
        int e = jcl_pread_all(fd, buf, (size_t)bytes);
        if (e != 0) {
                *err = e;
                free(buf);
                return NULL;
        }
        buf[bytes] = '\0';
        return buf;
}

int jd_call_check_blob(int fd, uint64_t bytes)
{
        return jcl_blob_check(fd, bytes);
}
