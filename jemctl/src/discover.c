/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * discover: where the sockets are (the runtime directory, chosen exactly as the server
 * chooses it), which processes have one, and which socket files are stale.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <jcl/sock.h>
#include <jp/proto.h>

#include "jemctl.h"

int jc_runtime_dir(char *buf, size_t cap)
{
        if (jc_remote_active())
                return jc_remote_runtime_dir(buf, cap);
        const char *given = jc_opt->runtime_dir;
        int n = jp_runtime_dir(given != NULL && given[0] != '\0' ? given
                                                                 : getenv(JP_ENV_RUNTIME_DIR),
                               getenv("XDG_RUNTIME_DIR"), geteuid() == 0, buf, cap);
        if (n == -1) {
                jc_err("cannot tell the runtime directory: XDG_RUNTIME_DIR is not set (set "
                       "JEMCTL_RUNTIME_DIR or use --runtime-dir DIR)");
                return JC_NOCONN;
        }
        if (n < 0) {
                jc_err("runtime directory name too long");
                return JC_USAGE;
        }
        return JC_OK;
}

bool jc_socket_path(const char *dir, pid_t pid, char *buf, size_t cap)
{
        int n = snprintf(buf, cap, "%s/%d.sock", dir, (int)pid);
        return n > 0 && (size_t)n < cap && (size_t)n < sizeof(((struct sockaddr_un *)0)->sun_path);
}

bool jc_pid_alive(pid_t pid)
{
        if (jc_remote_active())
                return pid > 0; /* another host's: the bridge tells a gone one at connect */
        return jcl_pid_alive(pid);
}

static int by_pid(const void *a, const void *b)
{
        const jc_sock_t *x = a, *y = b;
        if (x->pid != y->pid)
                return (x->pid > y->pid) - (x->pid < y->pid);
        return (int)x->alt - (int)y->alt;
}

/* What jc_list_sockets collects through jcl_scan. */
struct collect {
        const char *dir;
        jc_sock_t *v;
        size_t n, cap;
        bool oom;
};

static void collect_one(void *arg, pid_t pid, bool alt, const char *name)
{
        struct collect *c = arg;
        if (c->oom)
                return;
        if (c->n == c->cap) {
                size_t cap = c->cap ? c->cap * 2 : 32;
                jc_sock_t *v = realloc(c->v, cap * sizeof(*v));
                if (v == NULL) {
                        c->oom = true;
                        return;
                }
                c->v = v;
                c->cap = cap;
        }
        jc_sock_t *s = &c->v[c->n];
        s->pid = pid;
        s->alt = alt;
        int len = snprintf(s->path, sizeof(s->path), "%s/%s", c->dir, name);
        if (len < 0 || (size_t)len >= sizeof(s->path))
                return;
        c->n++;
}

int jc_list_sockets(const char *dir, jc_sock_t **out, size_t *n)
{
        *out = NULL;
        *n = 0;
        if (jc_remote_active())
                return jc_remote_list(out, n);
        struct collect c = {.dir = dir};
        int rc = jcl_scan(dir, collect_one, &c);
        if (rc == -ENOENT)
                return JC_OK; /* nobody has turned the socket on */
        if (rc == -EACCES || rc == -EPERM) {
                jc_err("permission denied: cannot read the runtime directory %s", dir);
                return JC_PERM;
        }
        if (rc < 0) {
                jc_err("cannot read the runtime directory %s: %s", dir, strerror(-rc));
                return JC_NOCONN;
        }
        if (c.oom) {
                free(c.v);
                jc_err("out of memory");
                return JC_FAIL;
        }
        *out = c.v;
        *n = c.n;
        if (*n > 1)
                qsort(*out, *n, sizeof(**out), by_pid);
        /* One entry per pid (a connection tries all its names), "<pid>.sock" first. */
        size_t k = 0;
        for (size_t i = 0; i < *n; i++)
                if (k == 0 || (*out)[k - 1].pid != (*out)[i].pid)
                        (*out)[k++] = (*out)[i];
        *n = k;
        return JC_OK;
}

/* True if a connection to path is refused (nobody listens). */
static bool refuses(const char *path)
{
        int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
        if (fd < 0)
                return false;
        struct sockaddr_un sa;
        memset(&sa, 0, sizeof(sa));
        sa.sun_family = AF_UNIX;
        snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
        bool refused = connect(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0 &&
                       errno == ECONNREFUSED;
        close(fd);
        return refused;
}

bool jc_remove_stale(const jc_sock_t *s)
{
        struct stat a, b;
        if (jc_remote_active())
                return false;
        if (lstat(s->path, &a) != 0 || !S_ISSOCK(a.st_mode) || a.st_uid != geteuid())
                return false;
        if (jc_pid_alive(s->pid) || !refuses(s->path))
                return false;
        /* Still the same file (a new process of that pid would have made a new one). */
        if (lstat(s->path, &b) != 0 || b.st_ino != a.st_ino || b.st_dev != a.st_dev)
                return false;
        return unlink(s->path) == 0;
}
