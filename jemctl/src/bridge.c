/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * bridge: `jemctl bridge`, the far end of jemctl -H (remote.c).  Started by ssh, it reads
 * requests on its standard input and answers on its standard output (the frames remote.c
 * describes), doing each one with this host's jemctl code as the user ssh logged in as:
 * the runtime directory, the socket list, the selectors (jemctld or /proc here), one
 * connection at a time to a process's socket and the requests relayed on it.  Its own
 * messages go to standard error, which ssh carries back to the user.  It ends at the end
 * of its input.  Whatever arrives is bounded (frames of at most 1 MiB, one request of at
 * most the protocol's 64 KiB) and checked.
 */
#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <jcl/io.h>

#include "jemctl.h"

static int reply(json_t *doc)
{
        char *s = doc != NULL ? json_dumps(doc, JSON_COMPACT) : NULL;
        json_decref(doc);
        if (s == NULL)
                s = strdup("{\"status\":1}");
        int e = s != NULL ? jc_frame_write(1, 0, s, strlen(s)) : ENOMEM;
        free(s);
        return e;
}

static json_t *pids_json(const pid_t *p, size_t n)
{
        json_t *a = json_array();
        for (size_t i = 0; i < n; i++)
                json_array_append_new(a, json_integer(p[i]));
        return a;
}

static int do_list(void)
{
        char dir[JC_PATH_MAX + 64];
        jc_sock_t *socks = NULL;
        size_t n = 0;
        int st = jc_runtime_dir(dir, sizeof(dir));
        if (st == JC_OK)
                st = jc_list_sockets(dir, &socks, &n);
        json_t *a = json_array();
        for (size_t i = 0; i < n; i++)
                json_array_append_new(a, json_integer(socks[i].pid));
        free(socks);
        return reply(json_pack("{s:i,s:o}", "status", st, "pids", a));
}

static int do_select(const char *body, size_t len)
{
        json_t *q = json_loadb(body, len, JSON_REJECT_DUPLICATES, NULL);
        jc_opts_t *o = jc_opts_mut();
        /* Strings owned by q, kept for the selectors of this request only. */
        static json_t *last;
        json_decref(last);
        last = q;
        o->sel_comm = json_string_value(json_object_get(q, "comm"));
        o->sel_unit = json_string_value(json_object_get(q, "unit"));
        o->sel_all = json_is_true(json_object_get(q, "all"));
        o->daemon_url = json_string_value(json_object_get(q, "daemon"));
        o->no_daemon = json_is_true(json_object_get(q, "no_daemon"));
        if (!json_is_object(q) || !jc_selecting()) {
                jc_err("bridge: a selection needs comm, unit or all");
                return reply(json_pack("{s:i}", "status", JC_USAGE));
        }
        pid_t *p = NULL;
        size_t n = 0;
        bool via;
        int st = jc_select_pids(&p, &n, &via);
        json_t *a = pids_json(p, n);
        free(p);
        return reply(json_pack("{s:i,s:o}", "status", st, "pids", a));
}

static int do_connect(jc_conn_t *c, bool *open, const char *body, size_t len)
{
        if (*open)
                jc_close(c);
        *open = false;
        json_t *q = json_loadb(body, len, JSON_REJECT_DUPLICATES, NULL);
        json_int_t pid = json_integer_value(json_object_get(q, "pid"));
        bool quiet = json_is_true(json_object_get(q, "quiet"));
        json_decref(q);
        if (pid <= 0 || pid > INT_MAX) {
                jc_err("bridge: connect needs a pid");
                return reply(json_pack("{s:i,s:i}", "status", JC_USAGE, "why", JC_CF_OTHER));
        }
        enum jc_conn_fail why = JC_CF_NONE;
        int st = jc_connect((pid_t)pid, c, quiet, &why);
        *open = st == JC_OK;
        return reply(json_pack("{s:i,s:i}", "status", st, "why", (int)why));
}

static int do_request(jc_conn_t *c, bool open, const char *body, size_t len)
{
        if (!open) {
                jc_err("bridge: a request without a connection");
                return reply(json_pack("{s:i,s:i}", "status", JC_NOCONN, "fd_bytes", -1));
        }
        int fd = -1;
        int st = jc_relay(c, body, len, &fd);
        struct stat sb;
        long long fdb = -1;
        if (st == JC_OK && fd >= 0) {
                if (fstat(fd, &sb) == 0 && sb.st_size >= 0 && sb.st_size <= JC_REMOTE_FD_MAX)
                        fdb = (long long)sb.st_size;
                else
                        st = JC_FAIL;
        }
        char *data = NULL;
        if (fdb > 0) {
                data = malloc((size_t)fdb);
                if (data == NULL || jcl_pread_all(fd, data, (size_t)fdb) != 0) {
                        jc_err("bridge: cannot read the descriptor pid %d passed", (int)c->pid);
                        st = JC_FAIL;
                }
        }
        if (fd >= 0)
                close(fd);
        int e = reply(json_pack("{s:i,s:I}", "status", st, "fd_bytes",
                                (json_int_t)(st == JC_OK ? fdb : -1)));
        if (e == 0 && st == JC_OK)
                e = jc_frame_write(1, 0, c->raw, c->raw_len);
        if (e == 0 && st == JC_OK && fdb >= 0)
                e = jc_frame_write(1, 0, data, (size_t)fdb);
        free(data);
        return e;
}

int cmd_bridge(int argc, char **argv)
{
        if (argc > 0)
                jc_bridge_label_set(argv[0]);
        signal(SIGPIPE, SIG_IGN);
        jc_conn_t c;
        memset(&c, 0, sizeof(c));
        c.fd = -1;
        bool open = false;
        for (;;) {
                char *buf;
                size_t len;
                /* No deadline: the other side decides when to speak, and closes to end. */
                int e = jc_frame_read(0, &buf, &len, 1 << 20, -1);
                if (e != 0) {
                        if (e != EPIPE)
                                jc_err("bridge: %s", e == EMSGSIZE ? "a frame over 1 MiB"
                                                                    : strerror(e));
                        break;
                }
                const char *body = buf + 1;
                size_t blen = len > 0 ? len - 1 : 0;
                char type = len > 0 ? buf[0] : 0;
                char dir[JC_PATH_MAX + 64];
                int st;
                switch (type) {
                case 'H':
                        st = jc_runtime_dir(dir, sizeof(dir));
                        e = reply(json_pack("{s:i,s:s,s:i,s:s?}", "v", 1, "version",
                                            JEMCTL_VERSION, "status", st, "runtime_dir",
                                            st == JC_OK ? dir : NULL));
                        break;
                case 'L':
                        e = do_list();
                        break;
                case 'S':
                        e = do_select(body, blen);
                        break;
                case 'C':
                        e = do_connect(&c, &open, body, blen);
                        break;
                case 'R':
                        e = do_request(&c, open, body, blen);
                        break;
                case 'X':
                        if (open)
                                jc_close(&c);
                        open = false;
                        e = reply(json_pack("{s:i}", "status", JC_OK));
                        break;
                default:
                        jc_err("bridge: unknown request type");
                        e = EPROTO;
                        break;
                }
                free(buf);
                if (e != 0)
                        break;
        }
        if (open)
                jc_close(&c);
        return JC_OK;
}
