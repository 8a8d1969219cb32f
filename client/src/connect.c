/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * connect: a connection to a control socket, trusted only when the listener is the
 * process its name says (jcl/sock.h has the rules).  The file is opened with O_PATH and
 * O_NOFOLLOW and connected through /proc/self/fd/N, so what was checked is what is
 * connected to: a symbolic link in a shared directory is never followed, and a file
 * swapped in between is not reached.
 */
#define _GNU_SOURCE /* struct ucred, O_PATH */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <unistd.h>

#include <jcl/sock.h>

#include "procid.h"

#ifndef SO_PEERPIDFD
#define SO_PEERPIDFD 77
#endif

static int fail_with(enum jcl_fail *fail, enum jcl_fail f, jcl_peer_t *peer, int e,
                     const char *fmt, ...) __attribute__((format(printf, 5, 6)));
static int fail_with(enum jcl_fail *fail, enum jcl_fail f, jcl_peer_t *peer, int e,
                     const char *fmt, ...)
{
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(peer->why, sizeof(peer->why), fmt, ap);
        va_end(ap);
        peer->e = e;
        *fail = f;
        return -1;
}

/* Connects fd to the socket inode that opath (an O_PATH descriptor) names; dir/name is
 * the fallback where /proc is not mounted.  0 or an errno value. */
static int connect_inode(int fd, int opath, const char *dir, const char *name)
{
        struct sockaddr_un sa;
        memset(&sa, 0, sizeof(sa));
        sa.sun_family = AF_UNIX;
        snprintf(sa.sun_path, sizeof(sa.sun_path), "/proc/self/fd/%d", opath);
        int rc;
        do
                rc = connect(fd, (struct sockaddr *)&sa, sizeof(sa));
        while (rc != 0 && errno == EINTR);
        if (rc == 0)
                return 0;
        if (errno != ENOENT || access("/proc/self/fd", F_OK) == 0)
                return errno;
        /* No /proc: the path itself, checked just before (a narrow race only). */
        int n = snprintf(sa.sun_path, sizeof(sa.sun_path), "%s/%s", dir, name);
        if (n < 0 || (size_t)n >= sizeof(sa.sun_path))
                return ENAMETOOLONG;
        do
                rc = connect(fd, (struct sockaddr *)&sa, sizeof(sa));
        while (rc != 0 && errno == EINTR);
        return rc == 0 ? 0 : errno;
}

/* The listener's process is still alive, where the kernel can tell (SO_PEERPIDFD): 1
 * alive or unknown, 0 gone (its pid may belong to another process now). */
static int listener_alive(int fd)
{
        int pidfd = -1;
        socklen_t len = sizeof(pidfd);
        if (getsockopt(fd, SOL_SOCKET, SO_PEERPIDFD, &pidfd, &len) != 0)
                /* EINVAL / ESRCH: the kernel has no live process for the listener;
                 * ENOPROTOOPT (before 6.5), ENODATA: it cannot tell. */
                return errno == EINVAL || errno == ESRCH ? 0 : 1;
        int rc = (int)syscall(SYS_pidfd_send_signal, pidfd, 0, NULL, 0);
        int e = errno;
        close(pidfd);
        return rc == 0 || e != ESRCH;
}

/* The checks on a connected fd whose file had owner `owner`; 0 trusted, or -1. */
static int check_listener(int fd, pid_t pid, uid_t owner, enum jcl_fail *fail,
                          jcl_peer_t *peer)
{
        struct ucred cred;
        socklen_t clen = sizeof(cred);
        if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &clen) != 0)
                return fail_with(fail, JCL_ERROR, peer, errno, "SO_PEERCRED: %s",
                                 strerror(errno));
        peer->uid = cred.uid;
        peer->gid = cred.gid;
        if (cred.pid != pid)
                return fail_with(fail, JCL_UNTRUSTED, peer, 0, "served by pid %d",
                                 (int)cred.pid);
        if (owner != cred.uid)
                return fail_with(fail, JCL_UNTRUSTED, peer, 0,
                                 "the socket file belongs to uid %u, its listener to uid %u",
                                 (unsigned)owner, (unsigned)cred.uid);
        uid_t uids[3];
        if (!jcl_proc_uids(pid, uids))
                return fail_with(fail, JCL_GONE, peer, ESRCH, "the process is gone");
        if (!jcl_uid_may_serve(cred.uid, uids))
                return fail_with(fail, JCL_UNTRUSTED, peer, 0,
                                 "listened to by uid %u, but pid %d runs as uid %u (a reused "
                                 "pid?)",
                                 (unsigned)cred.uid, (int)pid, (unsigned)uids[1]);
        if (!listener_alive(fd))
                return fail_with(fail, JCL_UNTRUSTED, peer, 0,
                                 "the process that made the socket has exited (pid %d was "
                                 "reused)",
                                 (int)pid);
        return 0;
}

int jcl_connect(const char *dir, const char *name, pid_t pid, bool nonblock,
                enum jcl_fail *fail, jcl_peer_t *peer)
{
        memset(peer, 0, sizeof(*peer));
        *fail = JCL_OK;
        int dfd = open(dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
        if (dfd < 0)
                return fail_with(fail, errno == ENOENT ? JCL_GONE : JCL_ERROR, peer, errno,
                                 "%s: %s", dir, strerror(errno));
        int opath = openat(dfd, name, O_PATH | O_NOFOLLOW | O_CLOEXEC);
        int e = errno;
        close(dfd);
        if (opath < 0)
                return fail_with(fail, e == ENOENT ? JCL_GONE : JCL_ERROR, peer, e, "%s",
                                 strerror(e));
        struct stat st;
        if (fstat(opath, &st) != 0 || !S_ISSOCK(st.st_mode)) {
                bool link = S_ISLNK(st.st_mode);
                close(opath);
                return fail_with(fail, JCL_UNTRUSTED, peer, 0, "%s",
                                 link ? "a symbolic link (never followed)" : "not a socket");
        }
        int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | (nonblock ? SOCK_NONBLOCK : 0),
                        0);
        if (fd < 0) {
                e = errno;
                close(opath);
                return fail_with(fail, JCL_ERROR, peer, e, "socket: %s", strerror(e));
        }
        e = connect_inode(fd, opath, dir, name);
        close(opath);
        if (e != 0) {
                close(fd);
                if (e == EAGAIN)
                        return fail_with(fail, JCL_BUSY, peer, e, "the listen queue is full");
                bool gone = e == ECONNREFUSED || e == ENOENT || e == ENOTSOCK;
                return fail_with(fail, gone ? JCL_GONE : JCL_ERROR, peer, e, "%s",
                                 strerror(e));
        }
        if (check_listener(fd, pid, st.st_uid, fail, peer) != 0) {
                close(fd);
                return -1;
        }
        return fd;
}

static int rank(enum jcl_fail f)
{
        switch (f) {
        case JCL_BUSY:
                return 4;
        case JCL_ERROR:
                return 3;
        case JCL_UNTRUSTED:
                return 2;
        default:
                return 1;
        }
}

int jcl_connect_first(const char *dir, char (*names)[JCL_NAME_MAX], size_t n, pid_t pid,
                      bool nonblock, size_t *which, enum jcl_fail *fail, jcl_peer_t *peer)
{
        *which = 0;
        *fail = JCL_GONE;
        memset(peer, 0, sizeof(*peer));
        for (size_t i = 0; i < n; i++) {
                enum jcl_fail f;
                jcl_peer_t pr;
                int fd = jcl_connect(dir, names[i], pid, nonblock, &f, &pr);
                if (fd >= 0 || i == 0 || rank(f) > rank(*fail)) {
                        *which = i;
                        *fail = f;
                        *peer = pr;
                }
                if (fd >= 0)
                        return fd;
        }
        return -1;
}
