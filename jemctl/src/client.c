/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * client: one connection to a process's control socket.  Requests are built with the
 * proto codec, framed, sent and answered under a deadline (--timeout, 5 s by default);
 * answers are parsed with jansson and checked before anything reads them.
 */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <jcl/answer.h>
#include <jcl/recv.h>
#include <jcl/sock.h>

#include "jemctl.h"

static double now_s(void)
{
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Milliseconds left until deadline for poll (0 if past). */
static int left_ms(double deadline)
{
        double l = deadline - now_s();
        if (l <= 0)
                return 0;
        return l > 1e6 ? 1000000000 : (int)(l * 1000.0) + 1;
}

static void sleep_ms(long ms)
{
        struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
        while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
                ;
}

static void explain_connect(pid_t pid, const char *dir, const char *path, int e,
                            enum jc_conn_fail *why, bool quiet, int *status)
{
        bool alive = jc_pid_alive(pid);
        struct stat st;
        *status = JC_NOCONN;
        if (e == ENOENT && !alive) {
                *why = JC_CF_GONE;
                if (!quiet)
                        jc_err("pid %d: no such process", (int)pid);
        } else if (e == ENOENT) {
                *why = JC_CF_NOSOCK;
                if (!quiet)
                        jc_err("pid %d: no control socket in %s (is the process running "
                               "liballoc with the control socket on?)",
                               (int)pid, dir);
        } else if (e == ECONNREFUSED) {
                *why = alive ? JC_CF_STALE : JC_CF_GONE;
                if (quiet)
                        return;
                if (alive)
                        jc_err("pid %d: the control socket %s refuses connections (stale: "
                               "left by an earlier process with this pid?)",
                               (int)pid, path);
                else
                        jc_err("pid %d: no such process (stale socket %s; 'jemctl ps "
                               "--clean' removes it)",
                               (int)pid, path);
        } else if (e == EACCES || e == EPERM) {
                *why = JC_CF_PERM;
                *status = JC_PERM;
                if (quiet)
                        return;
                if (lstat(path, &st) == 0)
                        jc_err("permission denied: %s belongs to uid %u (mode %04o); only "
                               "that user, root or its read group may connect",
                               path, (unsigned)st.st_uid, (unsigned)(st.st_mode & 07777));
                else
                        jc_err("permission denied: cannot reach %s", path);
        } else if (e == ENOTSOCK || e == ENOTDIR) {
                *why = JC_CF_OTHER;
                if (!quiet)
                        jc_err("pid %d: %s is not a socket", (int)pid, path);
        } else if (e == ETIMEDOUT) {
                *why = JC_CF_OTHER;
                if (!quiet)
                        jc_err("pid %d: timed out connecting to %s (%g s)", (int)pid, path,
                               jc_opt->timeout);
        } else {
                *why = JC_CF_OTHER;
                if (!quiet)
                        jc_err("pid %d: cannot connect to %s: %s", (int)pid, path,
                               strerror(e));
        }
}

/* Connects to pid's control socket in dir (its names in jcl_sock_names' order) and trusts
 * it by jcl_connect's rules (never a link, the listener is that pid, of the file's owner,
 * of a uid the process runs as, alive).  A full listen queue is retried until the
 * deadline.  The descriptor (path set to the socket that answered, or to the first name
 * tried), or minus a status with *why set and the reason printed unless quiet. */
static void set_path(char *path, size_t cap, const char *dir, const char *name)
{
        if (snprintf(path, cap, "%s/%s", dir, name) >= (int)cap)
                path[cap - 1] = '\0'; /* only shown: the connection goes by descriptor */
}

static int connect_trusted(pid_t pid, const char *dir, char *path, size_t cap, bool quiet,
                           enum jc_conn_fail *why)
{
        char names[JCL_ALT_MAX][JCL_NAME_MAX];
        size_t n = jcl_sock_names(dir, pid, names);
        double deadline = now_s() + jc_opt->timeout;
        enum jcl_fail worst;
        jcl_peer_t shown;
        size_t i;
        /* Every name once; again while the most telling failure is a busy one (a full
         * listen queue), so a squatter that never accepts delays nobody. */
        for (;;) {
                int fd = jcl_connect_first(dir, names, n, pid, true, &i, &worst, &shown);
                set_path(path, cap, dir, names[i]);
                if (fd >= 0)
                        return fd;
                if (worst != JCL_BUSY || left_ms(deadline) == 0)
                        break;
                sleep_ms(20);
        }
        if (worst == JCL_UNTRUSTED) {
                if (!quiet)
                        jc_err("pid %d: %s is not trusted: %s", (int)pid, path, shown.why);
                *why = JC_CF_STALE;
                return -JC_NOCONN;
        }
        int status;
        explain_connect(pid, dir, path, worst == JCL_BUSY ? ETIMEDOUT : shown.e, why, quiet,
                        &status);
        return -status;
}

int jc_connect(pid_t pid, jc_conn_t *c, bool quiet, enum jc_conn_fail *why)
{
        enum jc_conn_fail dummy;
        char dir[JC_PATH_MAX + 64];
        if (why == NULL)
                why = &dummy;
        *why = JC_CF_OTHER;
        memset(c, 0, sizeof(*c));
        c->fd = -1;
        c->pid = pid;
        c->next_id = 1;
        if (jc_remote_active()) {
                int st = jc_remote_connect(pid, quiet, why);
                if (st != JC_OK)
                        return st;
                c->remote = true;
                if (jc_remote_runtime_dir(dir, sizeof(dir)) == JC_OK)
                        jc_socket_path(dir, pid, c->path, sizeof(c->path));
                c->req = malloc(JP_HDR_SIZE + JP_REQ_MAX);
                if (c->req == NULL) {
                        jc_remote_disconnect();
                        jc_err("out of memory");
                        return JC_FAIL;
                }
                return JC_OK;
        }
        int rc = jc_runtime_dir(dir, sizeof(dir));
        if (rc != JC_OK)
                return rc;
        if (!jc_socket_path(dir, pid, c->path, sizeof(c->path))) {
                if (!quiet)
                        jc_err("the socket path %s/%d.sock is too long for a Unix socket", dir,
                               (int)pid);
                return JC_USAGE;
        }
        int fd = connect_trusted(pid, dir, c->path, sizeof(c->path), quiet, why);
        if (fd < 0)
                return -fd;
        c->req = malloc(JP_HDR_SIZE + JP_REQ_MAX);
        if (c->req == NULL) {
                close(fd);
                jc_err("out of memory");
                return JC_FAIL;
        }
        c->fd = fd;
        *why = JC_CF_NONE;
        return JC_OK;
}

jp_writer_t *jc_begin(jc_conn_t *c, enum jp_op op)
{
        jp_w_init(&c->w, c->req + JP_HDR_SIZE, JP_REQ_MAX);
        jp_request_begin(&c->w, c->next_id, op);
        return &c->w;
}

/* Sends or receives exactly n bytes before the deadline.  0, or an errno value
 * (ETIMEDOUT, EPIPE for a closed connection, ...). */
static int io_all(int fd, char *buf, size_t n, bool out, double deadline)
{
        size_t done = 0;
        while (done < n) {
                ssize_t r = out ? send(fd, buf + done, n - done, MSG_NOSIGNAL)
                                : recv(fd, buf + done, n - done, 0);
                if (r > 0) {
                        done += (size_t)r;
                        continue;
                }
                if (r == 0)
                        return EPIPE; /* end of stream */
                if (errno == EINTR)
                        continue;
                if (errno != EAGAIN && errno != EWOULDBLOCK)
                        return errno;
                int ms = left_ms(deadline);
                if (ms == 0)
                        return ETIMEDOUT;
                struct pollfd p = {fd, out ? POLLOUT : POLLIN, 0};
                if (poll(&p, 1, ms) < 0 && errno != EINTR)
                        return errno;
        }
        return 0;
}

static int io_error(jc_conn_t *c, int e, bool sending)
{
        if (e == ETIMEDOUT)
                jc_err("pid %d: no answer within %g s (the process may be stopped or "
                       "busy)",
                       (int)c->pid, jc_opt->timeout);
        else if (e == EPIPE || e == ECONNRESET)
                jc_err("pid %d: the process closed the connection %s", (int)c->pid,
                       sending ? "before the request was sent" : "without answering");
        else
                jc_err("pid %d: %s the control socket: %s", (int)c->pid,
                       sending ? "cannot write to" : "cannot read from", strerror(e));
        return JC_NOCONN;
}

static int malformed(jc_conn_t *c, const char *why)
{
        jc_err("pid %d: malformed answer from the control socket: %s", (int)c->pid, why);
        return JC_FAIL;
}

/* Receives the first bytes of a frame (at least one) with recvmsg, so that a descriptor
 * passed with them (SCM_RIGHTS) is taken: the first one into *ret_fd, any other closed.
 * 0 with *got set, or an errno value as io_all. */
static int recv_with_fd(int fd, char *buf, size_t n, double deadline, int *ret_fd,
                        size_t *got)
{
        for (;;) {
                bool extra = false; /* closed by jcl_recv: only the first one counts */
                ssize_t r = jcl_recv(fd, buf, n, 0, ret_fd, &extra);
                if (r > 0) {
                        *got = (size_t)r;
                        return 0;
                }
                if (r == 0)
                        return EPIPE;
                if (errno == EINTR)
                        continue;
                if (errno != EAGAIN && errno != EWOULDBLOCK)
                        return errno;
                int ms = left_ms(deadline);
                if (ms == 0)
                        return ETIMEDOUT;
                struct pollfd p = {fd, POLLIN, 0};
                if (poll(&p, 1, ms) < 0 && errno != EINTR)
                        return errno;
        }
}

/* Reads the response payload into c->raw (and a passed descriptor into *ret_fd when
 * ret_fd is not NULL).  JC_OK or a status. */
static int read_response_fd(jc_conn_t *c, double deadline, int *ret_fd)
{
        uint8_t hdr[JP_HDR_SIZE];
        size_t got = 0;
        int e = ret_fd != NULL ? recv_with_fd(c->fd, (char *)hdr, sizeof(hdr), deadline,
                                              ret_fd, &got)
                               : 0;
        if (e == 0)
                e = io_all(c->fd, (char *)hdr + got, sizeof(hdr) - got, false, deadline);
        if (e != 0)
                return io_error(c, e, false);
        uint32_t len = jp_frame_get(hdr);
        if (jp_frame_check(len, JP_RESP_MAX) != JP_OK)
                return malformed(c, len == 0 ? "empty frame" : "frame longer than 16 MiB");
        free(c->raw);
        c->raw = malloc((size_t)len + 1);
        c->raw_len = 0;
        if (c->raw == NULL) {
                jc_err("out of memory");
                return JC_FAIL;
        }
        e = io_all(c->fd, c->raw, len, false, deadline);
        if (e != 0)
                return io_error(c, e, false);
        c->raw[len] = '\0';
        c->raw_len = len;
        return JC_OK;
}

static int read_response(jc_conn_t *c, double deadline)
{
        return read_response_fd(c, deadline, NULL);
}

/* Parses c->raw, checking the envelope (jcl_answer_parse).  Human output goes to a
 * terminal, so the result is sanitized then; JSON output escapes control characters
 * itself.  Error texts go to stderr, sanitized, in both cases. */
static int parse_response(jc_conn_t *c, uint64_t id, json_t **result)
{
        jcl_answer_t a;
        switch (jcl_answer_parse(c->raw, c->raw_len, id, &a)) {
        case JCL_ANSWER_MALFORMED:
                return malformed(c, a.why);
        case JCL_ANSWER_OK:
                if (!jc_opt->json)
                        jc_sanitize_json(a.result);
                *result = a.result;
                return JC_OK;
        default:
                break;
        }
        jc_sanitize_text(a.code);
        jc_sanitize_text(a.message);
        snprintf(c->err_code, sizeof(c->err_code), "%s", a.code);
        const char *msg = a.message[0] != '\0' ? a.message : NULL;
        if (strcmp(a.code, "permission_denied") == 0) {
                jc_err("permission denied: pid %d: %s", (int)c->pid,
                       msg != NULL ? msg : "the process refused the request");
                return JC_PERM;
        }
        jc_err("pid %d: %s%s%s", (int)c->pid, a.code, msg != NULL ? ": " : "",
               msg != NULL ? msg : "");
        return JC_FAIL;
}

static int call(jc_conn_t *c, json_t **result, int *ret_fd);

int jc_call(jc_conn_t *c, json_t **result)
{
        return call(c, result, NULL);
}

int jc_call_fd(jc_conn_t *c, json_t **result, int *ret_fd)
{
        *ret_fd = -1;
        int rc = call(c, result, ret_fd);
        if (rc != JC_OK && *ret_fd >= 0) {
                close(*ret_fd);
                *ret_fd = -1;
        }
        return rc;
}

static int call(jc_conn_t *c, json_t **result, int *ret_fd)
{
        *result = NULL;
        c->err_code[0] = '\0';
        uint64_t id = c->next_id++;
        jp_request_end(&c->w);
        if (c->w.overflow) {
                jc_err("the request does not fit in 64 KiB (fewer or shorter names?)");
                return JC_USAGE;
        }
        if (c->remote) {
                int rc = jc_remote_request(c->req + JP_HDR_SIZE, c->w.len, &c->raw, &c->raw_len,
                                           ret_fd);
                return rc != JC_OK ? rc : parse_response(c, id, result);
        }
        jp_frame_put((uint8_t *)c->req, (uint32_t)c->w.len);
        double deadline = now_s() + jc_opt->timeout;
        int e = io_all(c->fd, c->req, JP_HDR_SIZE + c->w.len, true, deadline);
        if (e != 0) {
                /* The server may have answered (permission_denied, busy) and closed:
                 * show its reason rather than a broken pipe. */
                char b;
                if (recv(c->fd, &b, 1, MSG_PEEK | MSG_DONTWAIT) == 1 &&
                    read_response(c, deadline) == JC_OK) {
                        int rc = parse_response(c, id, result);
                        if (rc == JC_OK) {
                                json_decref(*result);
                                *result = NULL;
                                return io_error(c, e, true);
                        }
                        return rc;
                }
                return io_error(c, e, true);
        }
        int rc = read_response_fd(c, deadline, ret_fd);
        if (rc != JC_OK)
                return rc;
        return parse_response(c, id, result);
}

int jc_relay(jc_conn_t *c, const char *payload, size_t len, int *ret_fd)
{
        *ret_fd = -1;
        if (len == 0 || len > JP_REQ_MAX) {
                jc_err("bridge: a request of %zu bytes (at most 64 KiB)", len);
                return JC_USAGE;
        }
        memcpy(c->req + JP_HDR_SIZE, payload, len);
        jp_frame_put((uint8_t *)c->req, (uint32_t)len);
        double deadline = now_s() + jc_opt->timeout;
        int e = io_all(c->fd, c->req, JP_HDR_SIZE + len, true, deadline);
        if (e != 0)
                return io_error(c, e, true);
        int rc = read_response_fd(c, deadline, ret_fd);
        if (rc != JC_OK && *ret_fd >= 0) {
                close(*ret_fd);
                *ret_fd = -1;
        }
        return rc;
}

void jc_close(jc_conn_t *c)
{
        if (c->remote)
                jc_remote_disconnect();
        c->remote = false;
        if (c->fd >= 0)
                close(c->fd);
        free(c->req);
        free(c->raw);
        c->fd = -1;
        c->req = c->raw = NULL;
}

int jc_simple(pid_t pid, enum jp_op op, json_t **result)
{
        jc_conn_t c;
        *result = NULL;
        int rc = jc_connect(pid, &c, false, NULL);
        if (rc != JC_OK)
                return rc;
        jc_begin(&c, op);
        rc = jc_call(&c, result);
        jc_close(&c);
        return rc;
}
