/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * remote: jemctl -H [USER@]HOST[:PORT], the way systemctl -H reaches another host.  jemctl
 * runs `ssh -xT HOST jemctl bridge` and speaks to that bridge (bridge.c) over the ssh
 * channel's standard input and output; the bridge connects to the sockets on its host as
 * the remote user, so the processes' own SO_PEERCRED checks apply exactly as if jemctl ran
 * there, and nothing listens on the network.  The verbs run here unchanged: discovery,
 * selectors and each connection go through the bridge instead of this host's runtime
 * directory.
 *
 * The channel carries frames, a 4-byte big-endian length and a payload.  A request is a
 * type byte and its body; every answer is a JSON object, followed for a relayed request
 * by the process's response payload and, when it passed a descriptor (a profile dump),
 * that descriptor's content:
 *   'H' hello                 {"v", "version", "status", "runtime_dir"}
 *   'L' the sockets           {"status", "pids"}
 *   'S' {comm, unit, all, daemon, no_daemon}   selectors: {"status", "pids"}
 *   'C' {pid, quiet}          connect: {"status", "why"}
 *   'R' REQUEST PAYLOAD       {"status", "fd_bytes"} [RESPONSE PAYLOAD [DESCRIPTOR BYTES]]
 *   'X'                       disconnect: {"status"}
 * Everything the bridge sends is checked (sizes, types) as an answer from a process would
 * be: the remote host is another machine.  Messages of the bridge (jemctl's own errors)
 * reach this terminal on ssh's standard error, each naming the host (jc_err).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "jemctl.h"

typedef struct remote {
        pid_t ssh;
        int to, from; /* the bridge's standard input and output */
        char host[256];
        char rdir[JC_PATH_MAX + 64];
        pid_t *selected; /* the pids the remote selectors matched (ps), or NULL */
        size_t nselected;
} remote_t;

static remote_t *rm;
static char bridge_label[256]; /* on the far side: the host as the user named it */

bool jc_remote_active(void)
{
        return rm != NULL;
}

const char *jc_remote_host(void)
{
        return rm != NULL ? rm->host : bridge_label[0] != '\0' ? bridge_label : NULL;
}

void jc_bridge_label_set(const char *label)
{
        snprintf(bridge_label, sizeof(bridge_label), "%s", label);
        jc_sanitize_text(bridge_label);
}

/* ---- frames (both sides) ---------------------------------------------------------- */

static double now_s(void)
{
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* n bytes to or from fd before the deadline (< 0: none).  0 or an errno value (EPIPE at
 * the end of the stream). */
static int xfer(int fd, void *buf, size_t n, bool out, double deadline)
{
        size_t done = 0;
        while (done < n) {
                if (deadline >= 0) {
                        double left = deadline - now_s();
                        if (left <= 0)
                                return ETIMEDOUT;
                        struct pollfd p = {fd, out ? POLLOUT : POLLIN, 0};
                        int pr = poll(&p, 1, (int)(left * 1000) + 1);
                        if (pr < 0 && errno != EINTR)
                                return errno;
                        if (pr <= 0)
                                continue;
                }
                ssize_t r = out ? write(fd, (char *)buf + done, n - done)
                                : read(fd, (char *)buf + done, n - done);
                if (r > 0)
                        done += (size_t)r;
                else if (r == 0)
                        return EPIPE;
                else if (errno != EINTR && errno != EAGAIN)
                        return errno;
        }
        return 0;
}

int jc_frame_write(int fd, char type, const void *body, size_t len)
{
        if (len + (type != 0) > UINT32_MAX)
                return EMSGSIZE;
        uint32_t n = (uint32_t)(len + (type != 0));
        uint8_t hdr[5] = {(uint8_t)(n >> 24), (uint8_t)(n >> 16), (uint8_t)(n >> 8), (uint8_t)n,
                          (uint8_t)type};
        int e = xfer(fd, hdr, type != 0 ? 5 : 4, true, -1);
        return e != 0 || len == 0 ? e : xfer(fd, (void *)body, len, true, -1);
}

int jc_frame_read(int fd, char **buf, size_t *len, size_t max, double deadline)
{
        uint8_t hdr[4];
        *buf = NULL;
        *len = 0;
        int e = xfer(fd, hdr, 4, false, deadline);
        if (e != 0)
                return e;
        uint32_t n = (uint32_t)hdr[0] << 24 | (uint32_t)hdr[1] << 16 | (uint32_t)hdr[2] << 8 |
                     hdr[3];
        if (n > max)
                return EMSGSIZE;
        char *b = malloc((size_t)n + 1);
        if (b == NULL)
                return ENOMEM;
        e = xfer(fd, b, n, false, deadline);
        if (e != 0) {
                free(b);
                return e;
        }
        b[n] = '\0';
        *buf = b;
        *len = n;
        return 0;
}

/* ---- this side ------------------------------------------------------------------------ */

/* Seconds to wait for the bridge: its own request may take the timeout, plus the way. */
static double wait_s(void)
{
        return jc_opt->timeout * 2 + 15;
}

static int lost(int e)
{
        jc_err("the connection to the bridge was lost (%s)",
               e == EPIPE ? "closed" : e == EMSGSIZE ? "a frame over the limit" : strerror(e));
        return JC_NOCONN;
}

/* Sends a request and reads its JSON answer (an object with an integer "status" within
 * the exit statuses).  NULL after saying why. */
static json_t *rpc(char type, const void *body, size_t len)
{
        int e = jc_frame_write(rm->to, type, body, len);
        char *buf;
        size_t n;
        if (e == 0)
                e = jc_frame_read(rm->from, &buf, &n, 1 << 20, now_s() + wait_s());
        if (e != 0) {
                lost(e);
                return NULL;
        }
        json_t *doc = json_loadb(buf, n, JSON_REJECT_DUPLICATES, NULL);
        free(buf);
        json_int_t st = json_integer_value(json_object_get(doc, "status"));
        if (!json_is_object(doc) || !json_is_integer(json_object_get(doc, "status")) || st < 0 ||
            st > JC_PERM) {
                jc_err("malformed answer from the bridge");
                json_decref(doc);
                return NULL;
        }
        return doc;
}

static json_t *rpc_json(char type, json_t *body)
{
        char *s = json_dumps(body, JSON_COMPACT);
        json_decref(body);
        if (s == NULL) {
                jc_err("out of memory");
                return NULL;
        }
        json_t *r = rpc(type, s, strlen(s));
        free(s);
        return r;
}

static int status_of(const json_t *doc)
{
        return doc == NULL ? JC_NOCONN : (int)json_integer_value(json_object_get(doc, "status"));
}

/* The pids of an answer, sorted as the bridge sent them; JC_OK or JC_FAIL. */
static int pids_of(const json_t *doc, pid_t **out, size_t *n)
{
        json_t *a = json_object_get(doc, "pids");
        *out = calloc(json_array_size(a) + 1, sizeof(**out));
        *n = 0;
        if (!json_is_array(a) || *out == NULL) {
                free(*out);
                *out = NULL;
                jc_err("malformed answer from the bridge");
                return JC_FAIL;
        }
        size_t i;
        json_t *v;
        json_array_foreach(a, i, v) {
                json_int_t p = json_integer_value(v);
                if (!json_is_integer(v) || p <= 0 || p > INT_MAX) {
                        free(*out);
                        *out = NULL;
                        jc_err("malformed answer from the bridge");
                        return JC_FAIL;
                }
                (*out)[(*n)++] = (pid_t)p;
        }
        return JC_OK;
}

/* "'...'" for the remote shell: the argument as one word, whatever it holds. */
static void shell_quote(char *out, size_t cap, const char *s)
{
        size_t k = 0;
        if (cap < 3)
                return;
        out[k++] = '\'';
        for (; *s != '\0' && k + 6 < cap; s++) {
                if (*s == '\'') {
                        memcpy(out + k, "'\\''", 4);
                        k += 4;
                } else {
                        out[k++] = *s;
                }
        }
        out[k++] = '\'';
        out[k] = '\0';
}

/* Splits [USER@]HOST[:PORT] (HOST may be [V6]).  false if malformed. */
static bool parse_host(const char *spec, char *user, char *host, char *port, size_t cap)
{
        user[0] = host[0] = port[0] = '\0';
        const char *at = strrchr(spec, '@');
        const char *h = spec;
        if (at != NULL) {
                if (at == spec || (size_t)(at - spec) >= cap)
                        return false;
                snprintf(user, cap, "%.*s", (int)(at - spec), spec);
                h = at + 1;
        }
        const char *colon = NULL;
        if (h[0] == '[') {
                const char *close = strchr(h, ']');
                if (close == NULL || close == h + 1)
                        return false;
                snprintf(host, cap, "%.*s", (int)(close - h - 1), h + 1);
                colon = close[1] == ':' ? close + 1 : NULL;
                if (close[1] != '\0' && colon == NULL)
                        return false;
        } else {
                colon = strrchr(h, ':');
                size_t hl = colon != NULL ? (size_t)(colon - h) : strlen(h);
                if (hl == 0 || hl >= cap || memchr(h, ':', hl) != NULL)
                        return false;
                snprintf(host, cap, "%.*s", (int)hl, h);
        }
        if (colon != NULL) {
                char *end;
                long p = strtol(colon + 1, &end, 10);
                if (end == colon + 1 || *end != '\0' || p <= 0 || p > 65535)
                        return false;
                snprintf(port, cap, "%ld", p);
        }
        /* Never an option to ssh, never a second word. */
        for (const char *c = host; *c != '\0'; c++)
                if (*c <= ' ' || *c == '\'' || *c == '"' || *c == '\\' || *c == ';')
                        return false;
        for (const char *c = user; *c != '\0'; c++)
                if (*c <= ' ' || *c == '\'' || *c == '"' || *c == '\\' || *c == ';')
                        return false;
        return host[0] != '-' && user[0] != '-';
}

int jc_remote_open(const char *spec)
{
        char user[256], host[256], port[16];
        if (!parse_host(spec, user, host, port, sizeof(user))) {
                jc_err("-H: '%s' is not [USER@]HOST[:PORT]", spec);
                return JC_USAGE;
        }
        /* ssh, or $JEMCTL_SSH (words split at blanks: "ssh -F FILE" for another config);
         * the remote command is $JEMCTL_REMOTE_COMMAND or "jemctl". */
        const char *ssh = getenv("JEMCTL_SSH");
        const char *rjc = getenv("JEMCTL_REMOTE_COMMAND");
        char *sshcopy = strdup(ssh != NULL && ssh[0] != '\0' ? ssh : "ssh");
        char cmd[1024], q[600];
        shell_quote(q, sizeof(q), spec); /* the bridge names the host in its messages */
        snprintf(cmd, sizeof(cmd), "%s bridge %s --timeout %g",
                 rjc != NULL && rjc[0] != '\0' ? rjc : "jemctl", q, jc_opt->timeout);
        if (jc_opt->runtime_dir != NULL) {
                shell_quote(q, sizeof(q), jc_opt->runtime_dir);
                size_t l = strlen(cmd);
                snprintf(cmd + l, sizeof(cmd) - l, " --runtime-dir %s", q);
        }
        char *args[48];
        int na = 0;
        for (char *w = strtok(sshcopy, " \t"); w != NULL && na < 32; w = strtok(NULL, " \t"))
                args[na++] = w;
        char ct[48];
        snprintf(ct, sizeof(ct), "ConnectTimeout=%d", (int)jc_opt->timeout + 5);
        args[na++] = "-xT";
        args[na++] = "-o";
        args[na++] = "BatchMode=yes";
        args[na++] = "-o";
        args[na++] = ct;
        if (port[0] != '\0') {
                args[na++] = "-p";
                args[na++] = port;
        }
        if (user[0] != '\0') {
                args[na++] = "-l";
                args[na++] = user;
        }
        args[na++] = "--";
        args[na++] = host;
        args[na++] = cmd;
        args[na] = NULL;
        int in[2], out[2];
        if (pipe2(in, O_CLOEXEC) != 0 || pipe2(out, O_CLOEXEC) != 0) {
                jc_err("pipe: %s", strerror(errno));
                free(sshcopy);
                return JC_FAIL;
        }
        fflush(stdout);
        pid_t pid = fork();
        if (pid == 0) {
                dup2(in[0], 0);
                dup2(out[1], 1);
                execvp(args[0], args);
                fprintf(stderr, "jemctl: cannot run %s: %s\n", args[0], strerror(errno));
                _exit(127);
        }
        close(in[0]);
        close(out[1]);
        free(sshcopy);
        if (pid < 0) {
                close(in[1]);
                close(out[0]);
                jc_err("fork: %s", strerror(errno));
                return JC_FAIL;
        }
        signal(SIGPIPE, SIG_IGN); /* a bridge gone is an EPIPE, said as such */
        rm = calloc(1, sizeof(*rm));
        if (rm == NULL) {
                close(in[1]);
                close(out[0]);
                kill(pid, SIGTERM);
                waitpid(pid, NULL, 0);
                jc_err("out of memory");
                return JC_FAIL;
        }
        rm->ssh = pid;
        rm->to = in[1];
        rm->from = out[0];
        snprintf(rm->host, sizeof(rm->host), "%s", spec);
        json_t *h = rpc('H', NULL, 0);
        const char *dir = jc_get_str(h, "runtime_dir");
        int st = status_of(h);
        if (h == NULL || json_integer_value(json_object_get(h, "v")) != 1) {
                if (h != NULL)
                        jc_err("the bridge speaks another version");
                jc_err("cannot reach jemctl there over ssh (see ssh's message above; is "
                       "jemctl installed on that host?)");
                json_decref(h);
                jc_remote_close();
                return JC_NOCONN;
        }
        if (st == JC_OK && dir != NULL)
                snprintf(rm->rdir, sizeof(rm->rdir), "%s", dir);
        json_decref(h);
        return st;
}

void jc_remote_close(void)
{
        if (rm == NULL)
                return;
        close(rm->to);
        close(rm->from);
        /* The bridge ends at the end of its input; ssh with it. */
        for (int i = 0; i < 100; i++) {
                if (waitpid(rm->ssh, NULL, WNOHANG) == rm->ssh)
                        goto done;
                struct timespec ts = {0, 20 * 1000000};
                nanosleep(&ts, NULL);
        }
        kill(rm->ssh, SIGTERM);
        waitpid(rm->ssh, NULL, 0);
done:
        free(rm->selected);
        free(rm);
        rm = NULL;
}

int jc_remote_runtime_dir(char *buf, size_t cap)
{
        if (rm->rdir[0] == '\0') {
                jc_err("the remote side could not tell its runtime directory");
                return JC_NOCONN;
        }
        snprintf(buf, cap, "%s", rm->rdir);
        return JC_OK;
}

int jc_remote_list(jc_sock_t **out, size_t *n)
{
        *out = NULL;
        *n = 0;
        json_t *r = rpc('L', NULL, 0);
        int st = status_of(r);
        pid_t *pids = NULL;
        size_t np = 0;
        if (st == JC_OK)
                st = pids_of(r, &pids, &np);
        json_decref(r);
        if (st != JC_OK)
                return st;
        *out = calloc(np + 1, sizeof(**out));
        if (*out == NULL) {
                free(pids);
                jc_err("out of memory");
                return JC_FAIL;
        }
        for (size_t i = 0; i < np; i++) {
                (*out)[i].pid = pids[i];
                jc_socket_path(rm->rdir, pids[i], (*out)[i].path, sizeof((*out)[i].path));
        }
        *n = np;
        free(pids);
        return JC_OK;
}

int jc_remote_select(pid_t **out, size_t *n)
{
        json_t *q = json_pack("{s:s?,s:s?,s:b,s:s?,s:b}", "comm", jc_opt->sel_comm, "unit",
                              jc_opt->sel_unit, "all", jc_opt->sel_all, "daemon",
                              jc_opt->daemon_url, "no_daemon", jc_opt->no_daemon);
        json_t *r = rpc_json('S', q);
        int st = status_of(r);
        if (st == JC_OK)
                st = pids_of(r, out, n);
        json_decref(r);
        return st;
}

bool jc_remote_selected(pid_t pid)
{
        if (rm->selected == NULL && jc_remote_select(&rm->selected, &rm->nselected) != JC_OK)
                return false;
        for (size_t i = 0; i < rm->nselected; i++)
                if (rm->selected[i] == pid)
                        return true;
        return false;
}

int jc_remote_connect(pid_t pid, bool quiet, enum jc_conn_fail *why)
{
        json_t *r = rpc_json('C', json_pack("{s:i,s:b}", "pid", (int)pid, "quiet", quiet));
        int st = status_of(r);
        json_int_t w = json_integer_value(json_object_get(r, "why"));
        *why = r == NULL ? JC_CF_OTHER : w >= JC_CF_NONE && w <= JC_CF_OTHER
                                             ? (enum jc_conn_fail)w
                                             : JC_CF_OTHER;
        json_decref(r);
        return st;
}

void jc_remote_disconnect(void)
{
        json_decref(rpc('X', NULL, 0));
}

int jc_remote_request(const char *req, size_t len, char **raw, size_t *raw_len, int *ret_fd)
{
        json_t *r = rpc('R', req, len);
        int st = status_of(r);
        json_int_t fdb = json_integer_value(json_object_get(r, "fd_bytes"));
        json_decref(r);
        if (st != JC_OK)
                return st;
        double deadline = now_s() + wait_s();
        char *buf;
        size_t n;
        int e = jc_frame_read(rm->from, &buf, &n, JP_RESP_MAX, deadline);
        if (e != 0)
                return lost(e);
        free(*raw);
        *raw = buf;
        *raw_len = n;
        if (fdb < 0)
                return JC_OK;
        /* The descriptor the process passed (a dump): its content, in a memfd here. */
        e = jc_frame_read(rm->from, &buf, &n, (size_t)JC_REMOTE_FD_MAX, deadline);
        if (e != 0)
                return lost(e);
        /* Sealed as the process sealed its own: what the bridge sent can no longer
         * change. */
        int fd = memfd_create("jemctl-remote", MFD_CLOEXEC | MFD_ALLOW_SEALING);
        if (fd < 0 || xfer(fd, buf, n, true, -1) != 0 || lseek(fd, 0, SEEK_SET) != 0 ||
            fcntl(fd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE | F_SEAL_SEAL) !=
                    0) {
                if (fd >= 0)
                        close(fd);
                free(buf);
                jc_err("cannot keep the dump: %s", strerror(errno));
                return JC_FAIL;
        }
        free(buf);
        if (ret_fd != NULL)
                *ret_fd = fd;
        else
                close(fd);
        return JC_OK;
}
