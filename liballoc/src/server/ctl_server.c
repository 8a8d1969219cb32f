/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * ctl_server: the control thread.  It serves the mallctl namespace on a Unix socket
 * (docs/protocol.md) with the rules of docs/security.md: the peer's credentials decide
 * what it may do, at most MAX_CLIENTS at a time, every connection has a deadline, and
 * nothing a client does can block the allocator (the thread takes the same locks as any
 * mallctl caller, for as long as one call).  The thread allocates from an arena of its own.
 * The same thread polls the memory-pressure watch (pressure.h) and runs its follow-up
 * purges; it is started for the watch alone when the socket is off.
 */
#include "server/ctl_server.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "core/arena.h"
#include "core/conf.h"
#include "server/ctl_ops.h"
#include "jp/proto.h"
#include "os/os.h"
#include "bg/pressure.h"
#include "prof/prof.h"
#include "core/thread.h"

#define MAX_CLIENTS 16
/* Read-only peers (the read group) hold at most READONLY_MAX slots, and one uid of them at
 * most READONLY_PER_UID: the other 4 are always there for root and the process's own user. */
#define READONLY_MAX 12
#define READONLY_PER_UID 4
/* The budget of one request (from the connection, or from the end of the previous
 * response, until the whole frame is in) and of one response (from the moment it is
 * queued until its last byte is taken): bytes trickling in or out do not extend it. */
#define IO_TIMEOUT_MS 5000
#define IO_BUDGET_NS ((uint64_t)IO_TIMEOUT_MS * 1000000u)
#define OUT_INITIAL (64 * 1024)
#define SWEEP_EVERY_NS (60ull * 1000000000) /* stale sockets of dead processes */
#define OUT_TOTAL_MAX (32u * 1024 * 1024) /* response bytes held for all clients at once */

typedef struct client {
        int fd;
        unsigned perms;
        uid_t uid; /* the peer's, from SO_PEERCRED */
        uint8_t hdr[JP_HDR_SIZE];
        size_t hdr_got;
        char *in;
        uint32_t in_len, in_got;
        char *out; /* frame header + payload */
        size_t out_len, out_sent;
        bool close_after; /* the stream can no longer be trusted: close once sent */
        int pass_fd;      /* passed (SCM_RIGHTS) with the response's first byte, or -1 */
        uint64_t deadline_ns; /* of the request being read, or of the response queued */
} client_t;

static struct {
        bool running;
        pid_t pid;          /* the process the socket belongs to */
        int lfd;
        int wake[2];        /* written to stop the thread */
        pthread_t thread;
        gid_t read_gid;
        bool has_read_gid;
        char dir[256];
        char path[sizeof(((struct sockaddr_un *)0)->sun_path)];
        client_t clients[MAX_CLIENTS];
        size_t out_total; /* sum of the clients' out_len */
} srv = {.lfd = -1, .wake = {-1, -1}};

static la_mutex_t srv_lock = LA_MUTEX_INITIALIZER("control server", LA_RANK_SERVER); /* start / stop */
bool la_ctl_server_restart_pending;
/* The runtime directory did not exist at start: la_ctl_server_dir_tick looks again. */
bool la_ctl_server_dir_pending;
#define DIR_RECHECK_NS 1000000000ull
static uint64_t dir_next_check_ns; /* CLOCK_MONOTONIC_COARSE */

/* ---- small helpers ----------------------------------------------------------------- */

/* ---- connections ------------------------------------------------------------------- */

static void out_free(client_t *cl)
{
        if (cl->pass_fd >= 0)
                close(cl->pass_fd);
        cl->pass_fd = -1;
        if (cl->out != NULL)
                srv.out_total -= cl->out_len;
        free(cl->out);
        cl->out = NULL;
}

static void client_reset(client_t *cl)
{
        if (cl->fd >= 0)
                close(cl->fd);
        out_free(cl);
        free(cl->in);
        memset(cl, 0, sizeof(*cl));
        cl->fd = -1;
        cl->pass_fd = -1;
}

static void respond_error(client_t *cl, enum jp_err e, const char *msg);

/* Queues a response frame: it must be taken whole within the budget, from now. */
static void set_out(client_t *cl, char *buf, size_t len)
{
        cl->out = buf;
        cl->out_len = len;
        cl->out_sent = 0;
        srv.out_total += len;
        cl->deadline_ns = la_os_now_ns() + IO_BUDGET_NS;
}

/* Queues the response to one request; side-effect-free requests are rebuilt in a larger
 * buffer when they do not fit.  The request (its tokens, the descriptor it hands back)
 * lives in r, one per request (ctl_ops.h). */
static void respond_request(client_t *cl, la_ctl_req_t *r)
{
        const char *msg;
        enum jp_err e = la_ctl_prepare(r, &msg);
        bool pure = la_ctl_pure(r);
        size_t cap = pure ? OUT_INITIAL : 4 * OUT_INITIAL;
        for (;;) {
                if (srv.out_total + cap > OUT_TOTAL_MAX) {
                        respond_error(cl, JP_ERR_BUSY, "the server is busy sending other "
                                                       "responses; try again");
                        return;
                }
                char *buf = malloc(JP_HDR_SIZE + cap);
                if (buf == NULL) {
                        cl->close_after = true;
                        return;
                }
                jp_writer_t w;
                jp_w_init(&w, buf + JP_HDR_SIZE, cap);
                if (e != JP_OK)
                        jp_response_error(&w, r->req.id, e, msg);
                else
                        la_ctl_run(r, &w);
                cl->pass_fd = r->pass_fd; /* ours now */
                r->pass_fd = -1;
                if (w.overflow && pure && cap < JP_RESP_MAX) {
                        free(buf);
                        cap = cap * 4 > JP_RESP_MAX ? JP_RESP_MAX : cap * 4;
                        continue;
                }
                if (w.overflow) {
                        jp_w_init(&w, buf + JP_HDR_SIZE, cap);
                        jp_response_error(&w, r->req.id, JP_ERR_TOO_LARGE,
                                          "the response would exceed 16 MiB");
                }
                jp_frame_put((uint8_t *)buf, (uint32_t)w.len);
                set_out(cl, buf, JP_HDR_SIZE + w.len);
                return;
        }
}

static void respond_payload(client_t *cl, const char *s, size_t len)
{
        la_ctl_req_t *r = malloc(sizeof(*r)); /* ~90 KiB: tokens and op buffers */
        if (r == NULL) {
                cl->close_after = true;
                return;
        }
        r->s = s;
        r->len = len;
        r->perms = cl->perms;
        r->dir = srv.dir;
        r->path = srv.path;
        respond_request(cl, r);
        free(r);
}

static void respond_error(client_t *cl, enum jp_err e, const char *msg)
{
        char *buf = malloc(JP_HDR_SIZE + 512);
        if (buf == NULL) {
                cl->close_after = true;
                return;
        }
        jp_writer_t w;
        jp_w_init(&w, buf + JP_HDR_SIZE, 512);
        jp_response_error(&w, 0, e, msg);
        jp_frame_put((uint8_t *)buf, (uint32_t)w.len);
        set_out(cl, buf, JP_HDR_SIZE + w.len);
}

/* A last error frame, sent only if the socket takes it at once, then the connection is
 * closed (timeouts, a peer that ended inside a frame). */
static void say_and_close(client_t *cl, enum jp_err e, const char *msg)
{
        out_free(cl);
        respond_error(cl, e, msg);
        if (cl->out != NULL)
                send(cl->fd, cl->out, cl->out_len, MSG_NOSIGNAL | MSG_DONTWAIT);
        client_reset(cl);
}

/* Reads what is there; when a whole request is in, answers it. */
static void client_read(client_t *cl)
{
        for (;;) {
                if (cl->out != NULL)
                        return; /* answer first; the next request waits in the socket */
                ssize_t r;
                if (cl->hdr_got < JP_HDR_SIZE) {
                        r = recv(cl->fd, cl->hdr + cl->hdr_got, JP_HDR_SIZE - cl->hdr_got, 0);
                } else {
                        r = recv(cl->fd, cl->in + cl->in_got, cl->in_len - cl->in_got, 0);
                }
                if (r < 0 && (errno == EAGAIN || errno == EINTR))
                        return;
                if (r == 0 && cl->hdr_got > 0) {
                        say_and_close(cl, JP_ERR_BAD_FRAME, "the connection ended inside a "
                                                            "frame");
                        return;
                }
                if (r <= 0) {
                        client_reset(cl); /* closed by the peer */
                        return;
                }
                if (cl->hdr_got < JP_HDR_SIZE) {
                        cl->hdr_got += (size_t)r;
                        if (cl->hdr_got < JP_HDR_SIZE)
                                continue;
                        uint32_t len = jp_frame_get(cl->hdr);
                        enum jp_err e = jp_frame_check(len, JP_REQ_MAX);
                        if (e != JP_OK) {
                                respond_error(cl, e, e == JP_ERR_TOO_LARGE
                                                             ? "request longer than 65536 bytes"
                                                             : "zero-length frame");
                                cl->close_after = true;
                                return;
                        }
                        cl->in = malloc(len);
                        if (cl->in == NULL) {
                                respond_error(cl, JP_ERR_INTERNAL, "out of memory");
                                cl->close_after = true;
                                return;
                        }
                        cl->in_len = len;
                        cl->in_got = 0;
                        continue;
                }
                cl->in_got += (uint32_t)r;
                if (cl->in_got < cl->in_len)
                        continue;
                respond_payload(cl, cl->in, cl->in_len);
                free(cl->in);
                cl->in = NULL;
                cl->hdr_got = 0;
        }
}

/* Sends what is left of the response with cl->pass_fd attached; once some of it is gone,
 * so is the descriptor (the receiver owns its copy). */
static ssize_t send_with_fd(client_t *cl)
{
        struct iovec iov = {cl->out + cl->out_sent, cl->out_len - cl->out_sent};
        union {
                struct cmsghdr h;
                char buf[CMSG_SPACE(sizeof(int))];
        } ctl;
        memset(&ctl, 0, sizeof(ctl));
        struct msghdr mh = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = ctl.buf,
                            .msg_controllen = sizeof(ctl.buf)};
        struct cmsghdr *cm = CMSG_FIRSTHDR(&mh);
        cm->cmsg_level = SOL_SOCKET;
        cm->cmsg_type = SCM_RIGHTS;
        cm->cmsg_len = CMSG_LEN(sizeof(int));
        memcpy(CMSG_DATA(cm), &cl->pass_fd, sizeof(int));
        ssize_t r = sendmsg(cl->fd, &mh, MSG_NOSIGNAL);
        if (r > 0) {
                close(cl->pass_fd);
                cl->pass_fd = -1;
        }
        return r;
}

static void client_write(client_t *cl)
{
        while (cl->out != NULL && cl->out_sent < cl->out_len) {
                ssize_t r = cl->pass_fd >= 0 ? send_with_fd(cl)
                                             : send(cl->fd, cl->out + cl->out_sent,
                                                    cl->out_len - cl->out_sent, MSG_NOSIGNAL);
                if (r < 0 && (errno == EAGAIN || errno == EINTR))
                        return;
                if (r <= 0) {
                        client_reset(cl);
                        return;
                }
                cl->out_sent += (size_t)r;
        }
        if (cl->out != NULL) {
                out_free(cl);
                if (cl->close_after) {
                        client_reset(cl);
                        return;
                }
                /* The next request's budget starts now, whatever came before. */
                cl->deadline_ns = la_os_now_ns() + IO_BUDGET_NS;
                client_read(cl); /* a pipelined request may be waiting */
        }
}

static unsigned peer_perms(int fd, uid_t *uid)
{
        struct ucred cred;
        socklen_t len = sizeof(cred);
        if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) != 0)
                return 0;
        *uid = cred.uid;
        if (cred.uid == 0 || cred.uid == geteuid())
                return PERM_READ | PERM_WRITE | PERM_PROF;
        if (srv.has_read_gid && cred.gid == srv.read_gid)
                return PERM_READ;
        return 0;
}

/* A free slot for this peer, or NULL: root and the process's own user may take any,
 * read-only peers only while they hold fewer than READONLY_MAX in all and
 * READONLY_PER_UID for this uid. */
static client_t *free_slot(unsigned perms, uid_t uid)
{
        client_t *free_cl = NULL;
        unsigned readonly = 0, same_uid = 0;
        for (unsigned i = 0; i < MAX_CLIENTS; i++) {
                client_t *cl = &srv.clients[i];
                if (cl->fd < 0) {
                        if (free_cl == NULL)
                                free_cl = cl;
                } else if ((cl->perms & PERM_WRITE) == 0) {
                        readonly++;
                        same_uid += cl->uid == uid;
                }
        }
        if ((perms & PERM_WRITE) == 0 &&
            (readonly >= READONLY_MAX || same_uid >= READONLY_PER_UID))
                return NULL;
        return free_cl;
}

/* One best-effort answer to a peer that gets no slot, then the close. */
static void refuse(int fd, enum jp_err e, const char *msg)
{
        client_t tmp;
        memset(&tmp, 0, sizeof(tmp));
        tmp.fd = fd;
        tmp.pass_fd = -1;
        respond_error(&tmp, e, msg);
        if (tmp.out != NULL)
                send(fd, tmp.out, tmp.out_len, MSG_NOSIGNAL | MSG_DONTWAIT);
        out_free(&tmp);
        close(fd);
}

static void accept_clients(void)
{
        for (;;) {
                int fd = accept4(srv.lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
                if (fd < 0)
                        return;
                uid_t uid = (uid_t)-1;
                unsigned perms = peer_perms(fd, &uid);
                if (perms == 0) {
                        refuse(fd, JP_ERR_PERMISSION,
                               "this user may not use this process's socket");
                        continue;
                }
                client_t *cl = free_slot(perms, uid);
                if (cl == NULL) {
                        refuse(fd, JP_ERR_BUSY, "too many clients; try again");
                        continue;
                }
                cl->fd = fd;
                cl->pass_fd = -1;
                cl->perms = perms;
                cl->uid = uid;
                cl->deadline_ns = la_os_now_ns() + IO_BUDGET_NS; /* the first request's */
        }
}

/* The pid of a control socket's name, <pid>.sock or <pid>.<16 hex digits>.sock (*alt set),
 * or 0 for any other name. */
static long sock_name_pid(const char *name, bool *alt)
{
        char *end;
        *alt = false;
        if (name[0] < '1' || name[0] > '9')
                return 0;
        long pid = strtol(name, &end, 10);
        if (pid <= 0 || (pid_t)pid != pid)
                return 0;
        if (strcmp(end, ".sock") == 0)
                return pid;
        if (end[0] != '.')
                return 0;
        for (int i = 1; i <= 16; i++)
                if (!((end[i] >= '0' && end[i] <= '9') || (end[i] >= 'a' && end[i] <= 'f')))
                        return 0;
        *alt = strcmp(end + 17, ".sock") == 0;
        return *alt ? pid : 0;
}

/* Removes the socket files of this user's processes that are gone (a process ended by
 * _exit or a signal cannot remove its own), so the directory does not fill up with them,
 * and the <pid>.<hex>.sock names of this pid but the one served (left by an earlier image
 * of this process, before an exec). */
static void sweep_stale(void)
{
        DIR *d = opendir(srv.dir);
        if (d == NULL)
                return;
        const char *mine = strrchr(srv.path, '/');
        mine = mine != NULL ? mine + 1 : "";
        struct dirent *e;
        while ((e = readdir(d)) != NULL) {
                bool alt;
                long pid = sock_name_pid(e->d_name, &alt);
                if (pid <= 0 || strcmp(e->d_name, mine) == 0)
                        continue;
                if (pid == (long)getpid()) {
                        if (!alt)
                                continue; /* this pid's usual name: bind_socket's to decide */
                } else if (kill((pid_t)pid, 0) == 0 || errno != ESRCH) {
                        continue; /* alive (or not ours to probe) */
                }
                struct stat st;
                if (fstatat(dirfd(d), e->d_name, &st, AT_SYMLINK_NOFOLLOW) == 0 &&
                    S_ISSOCK(st.st_mode) && st.st_uid == geteuid())
                        unlinkat(dirfd(d), e->d_name, 0);
        }
        closedir(d);
}

/* The thread's own allocations (buffers) go to an arena of its own, made when the first
 * client comes (a thread that only watches memory pressure allocates nothing). */
static void own_arena(bool *done)
{
        unsigned ind;
        if (!*done && la_arena_create(&ind) == 0)
                la_thread_set_arena(ind);
        *done = true;
}

/* Set while this thread starts the service (the thread creation allocates, and the
 * refill that may run then must not come back here), and for the whole life of the
 * service thread: its own refills must never take srv_lock, which la_ctl_server_stop
 * holds while it joins that thread. */
static __thread bool tls_booting __attribute__((tls_model("initial-exec")));

static void *server_main(void *arg)
{
        (void)arg;
        tls_booting = true;
        bool off = false;
        la_prof_thread_active(&off); /* profiles show the application, not this thread */
        uint64_t next_sweep = 0;
        bool have_arena = false;
        struct pollfd pfd[MAX_CLIENTS + 3];
        for (;;) {
                int lfd = __atomic_load_n(&srv.lfd, __ATOMIC_ACQUIRE);
                if (lfd >= 0 && la_os_now_ns() >= next_sweep) {
                        sweep_stale();
                        next_sweep = la_os_now_ns() + SWEEP_EVERY_NS;
                }
                unsigned n = 0;
                pfd[n++] = (struct pollfd){srv.wake[0], POLLIN, 0};
                pfd[n++] = (struct pollfd){lfd, POLLIN, 0}; /* ignored by poll when -1 */
                short pev;
                int pressure_fd = la_pressure_fd(&pev);
                pfd[n++] = (struct pollfd){pressure_fd, pev, 0};
                unsigned first_client = n;
                int map[MAX_CLIENTS];
                uint64_t now = la_os_now_ns(), next = now + 1000000000u;
                uint64_t due = la_pressure_tick();
                la_arena_huge_tick(); /* freed huge mappings age out in an idle process */
                if (due < next)
                        next = due > now ? due : now;
                for (unsigned i = 0; i < MAX_CLIENTS; i++) {
                        client_t *cl = &srv.clients[i];
                        if (cl->fd < 0)
                                continue;
                        if (now >= cl->deadline_ns) {
                                /* Silent, slow or stuck: tell it (if it listens) and let
                                 * it go. */
                                if (cl->out == NULL)
                                        say_and_close(cl, JP_ERR_TIMEOUT,
                                                      "no complete request within 5 seconds");
                                else
                                        client_reset(cl);
                                continue;
                        }
                        if (cl->deadline_ns < next)
                                next = cl->deadline_ns;
                        map[n - first_client] = (int)i;
                        pfd[n++] = (struct pollfd){cl->fd, cl->out != NULL ? POLLOUT : POLLIN, 0};
                }
                int timeout = (int)((next - now) / 1000000u) + 1;
                int r = poll(pfd, n, timeout);
                if (r < 0 && errno != EINTR)
                        break;
                if (pfd[0].revents != 0) {
                        char c = 0;
                        ssize_t got;
                        bool stop = false;
                        while ((got = read(srv.wake[0], &c, 1)) == 1) {
                                stop |= c == 'x';
                                if (c == 'p')
                                        la_pressure_arm();
                        }
                        if (stop || got == 0)
                                break; /* stop requested */
                }
                if (pfd[1].revents & POLLIN) {
                        own_arena(&have_arena);
                        accept_clients();
                }
                if (pfd[2].revents != 0)
                        la_pressure_ready(pfd[2].revents);
                for (unsigned k = first_client; k < n; k++) {
                        client_t *cl = &srv.clients[map[k - first_client]];
                        if (cl->fd < 0 || pfd[k].revents == 0)
                                continue;
                        if (pfd[k].revents & POLLOUT)
                                client_write(cl);
                        else if (pfd[k].revents & (POLLIN | POLLHUP | POLLERR))
                                client_read(cl);
                        if (cl->fd >= 0 && cl->out != NULL)
                                client_write(cl);
                }
        }
        for (unsigned i = 0; i < MAX_CLIENTS; i++)
                if (srv.clients[i].fd >= 0)
                        client_reset(&srv.clients[i]);
        return NULL;
}

/* ---- life cycle -------------------------------------------------------------------- */

/* The runtime directory, or false when the control socket stays off. */
static bool pick_dir(char *dir, size_t cap, bool *explicit_on)
{
        *explicit_on = la_opt.ctl_set && la_opt.ctl;
        if (la_opt.ctl_set && !la_opt.ctl)
                return false;
        /* The rule every client uses too (jp_runtime_dir). */
        int n = jp_runtime_dir(secure_getenv(JP_ENV_RUNTIME_DIR), secure_getenv("XDG_RUNTIME_DIR"),
                               geteuid() == 0, dir, cap);
        return n > 0 && (size_t)n + 24 < sizeof(srv.path);
}

/* The directory must be ours (or root's) and not writable by others, else a stranger
 * could put a socket there. */
static bool dir_safe(const char *dir)
{
        struct stat st;
        if (lstat(dir, &st) != 0 || !S_ISDIR(st.st_mode))
                return false;
        if (st.st_uid != geteuid() && st.st_uid != 0)
                return false;
        if ((st.st_mode & (S_IWGRP | S_IWOTH)) != 0 && (st.st_mode & S_ISVTX) == 0)
                return false;
        return true;
}

static void read_group_from_env(void)
{
        const char *g = secure_getenv("JEMCTL_READ_GROUP");
        srv.has_read_gid = false;
        if (g == NULL || g[0] == '\0')
                return;
        char *end;
        unsigned long v = strtoul(g, &end, 10);
        if (*end == '\0') {
                srv.read_gid = (gid_t)v;
                srv.has_read_gid = true;
                return;
        }
        struct group gr, *res = NULL;
        static char buf[4096];
        if (getgrnam_r(g, &gr, buf, sizeof(buf), &res) == 0 && res != NULL) {
                srv.read_gid = res->gr_gid;
                srv.has_read_gid = true;
        }
}

static void remove_socket(void)
{
        if (srv.path[0] != '\0' && srv.pid == getpid())
                unlink(srv.path);
}

/* A listening socket bound at path, with the mode and group of docs/security.md, or -1
 * (errno set; EADDRINUSE: the name exists). */
static int listen_at(const char *path)
{
        struct sockaddr_un sa;
        memset(&sa, 0, sizeof(sa));
        sa.sun_family = AF_UNIX;
        if (strlen(path) >= sizeof(sa.sun_path)) {
                errno = ENAMETOOLONG;
                return -1;
        }
        la_strlcpy(sa.sun_path, path, sizeof(sa.sun_path));
        int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
        if (fd < 0)
                return -1;
        if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0) {
                int e = errno;
                close(fd);
                errno = e;
                return -1;
        }
        if (listen(fd, 64) != 0) {
                unlink(path);
                close(fd);
                return -1;
        }
        if (srv.has_read_gid) {
                if (chown(path, (uid_t)-1, srv.read_gid) != 0 || chmod(path, 0660) != 0)
                        chmod(path, 0600);
        } else {
                chmod(path, 0600);
        }
        return fd;
}

/* Whether name (dir/pid.sock) is free for this process: absent, or a socket of this user
 * left by an earlier image of this pid or a dead process that had it, which is removed.
 * Anything else (another user's file, a symbolic link: never followed) is described in
 * *why for the warning. */
static bool name_usable(const char *name, char *why, size_t cap)
{
        struct stat st;
        if (lstat(name, &st) != 0)
                return true; /* absent (or unreadable: bind decides) */
        if (S_ISSOCK(st.st_mode) && st.st_uid == geteuid() && unlink(name) == 0)
                return true;
        char num[24];
        if (st.st_uid != geteuid()) {
                la_strlcpy(why, "is taken by another user (uid ", cap);
                la_strlcat(why, la_fmt_u64(num, (uint64_t)st.st_uid), cap);
                la_strlcat(why, ")", cap);
        } else {
                la_strlcpy(why, S_ISSOCK(st.st_mode) ? "is a socket of this user that cannot be "
                                                       "removed"
                                                     : "is taken by a file of this user that is "
                                                       "not a socket",
                           cap);
        }
        return false;
}

/* Binds dir/pid.<16 hex digits>.sock, the suffix unpredictable (getrandom), so nobody can
 * have made that name beforehand; path receives the name.  -1 on failure. */
static int listen_alt(const char *base, size_t base_len, char *path, size_t cap)
{
        static const char hex[] = "0123456789abcdef";
        for (int tries = 0; tries < 4; tries++) {
                char suffix[18];
                uint64_t r = la_os_random64();
                suffix[0] = '.';
                for (int i = 0; i < 16; i++)
                        suffix[1 + i] = hex[(r >> (60 - 4 * i)) & 15];
                suffix[17] = '\0';
                la_strlcpy(path, base, cap);
                path[base_len] = '\0'; /* dir/pid */
                la_strlcat(path, suffix, cap);
                la_strlcat(path, ".sock", cap);
                int fd = listen_at(path);
                if (fd >= 0 || errno != EADDRINUSE)
                        return fd;
        }
        return -1;
}

/* Binds <dir>/<pid>.sock or, when another user (or anything this process may not
 * replace) holds that name, <dir>/<pid>.<16 hex>.sock with a warning (docs/protocol.md). */
static bool bind_socket(void)
{
        char name[sizeof(srv.path) + 32], alt[sizeof(srv.path) + 32], num[24], why[96];
        la_strlcpy(name, srv.dir, sizeof(name));
        la_strlcat(name, "/", sizeof(name));
        la_strlcat(name, la_fmt_u64(num, (uint64_t)getpid()), sizeof(name));
        size_t base_len = strlen(name);
        la_strlcat(name, ".sock", sizeof(name));
        srv.path[0] = '\0';
        why[0] = '\0';
        int fd = -1;
        if (name_usable(name, why, sizeof(why))) {
                fd = listen_at(name);
                /* Made between the look and the bind: look again, for the why.  Any other
                 * failure (the directory refuses) leaves the socket off, as the name would. */
                if (fd < 0 && (errno != EADDRINUSE || name_usable(name, why, sizeof(why))))
                        return false;
        }
        if (fd >= 0) {
                la_strlcpy(srv.path, name, sizeof(srv.path));
        } else {
                fd = listen_alt(name, base_len, alt, sizeof(alt));
                if (fd < 0) {
                        la_messagef("liballoc: control socket off: ", name, " ", why,
                                    ", and ", alt, " cannot be bound", (const char *)NULL);
                        return false;
                }
                la_messagef("liballoc: control socket ", name, " ", why, "; listening on ", alt,
                            (const char *)NULL);
                la_strlcpy(srv.path, alt, sizeof(srv.path));
        }
        __atomic_store_n(&srv.lfd, fd, __ATOMIC_RELEASE); /* the running thread may look */
        return true;
}

static LA_BOOT void close_fds(void)
{
        if (srv.lfd >= 0)
                close(srv.lfd);
        for (int i = 0; i < 2; i++)
                if (srv.wake[i] >= 0)
                        close(srv.wake[i]);
        srv.lfd = srv.wake[0] = srv.wake[1] = -1;
}

/* Binds the control socket if the runtime directory allows it; false when it stays off
 * (la_ctl_server_dir_pending says whether to look again later). */
static LA_BOOT bool socket_start_locked(void)
{
        bool explicit_on;
        if (srv.lfd >= 0 || !pick_dir(srv.dir, sizeof(srv.dir), &explicit_on))
                return false;
        struct stat st;
        if (stat(srv.dir, &st) != 0) {
                if (!explicit_on || mkdir(srv.dir, 0700) != 0) {
                        /* No directory, nobody asked: off until it appears (a process
                         * started before the directory was made looks again, at most
                         * once a second, from an allocator slow path). */
                        if (errno == ENOENT)
                                __atomic_store_n(&la_ctl_server_dir_pending, true,
                                                 __ATOMIC_RELAXED);
                        return false;
                }
        }
        __atomic_store_n(&la_ctl_server_dir_pending, false, __ATOMIC_RELAXED);
        if (!dir_safe(srv.dir)) {
                la_messagef("liballoc: control socket off: ", srv.dir,
                            " is not a directory owned by this user (or root) and closed to "
                            "others",
                            (const char *)NULL);
                return false;
        }
        read_group_from_env();
        srv.pid = getpid();
        return bind_socket();
}

/* The service thread runs while the control socket or the memory-pressure watch needs
 * it; a socket that becomes possible later (the runtime directory appeared) joins the
 * running thread. */
static void start_locked(void)
{
        if (srv.running) {
                if (srv.lfd < 0 && socket_start_locked()) {
                        ssize_t w = write(srv.wake[1], "r", 1); /* poll the new socket */
                        (void)w;
                }
                /* The heap grew enough for a memory-pressure watch: the thread arms it. */
                ssize_t w = write(srv.wake[1], "p", 1);
                (void)w;
                return;
        }
        for (unsigned i = 0; i < MAX_CLIENTS; i++) {
                memset(&srv.clients[i], 0, sizeof(srv.clients[i]));
                srv.clients[i].fd = -1;
                srv.clients[i].pass_fd = -1;
        }
        if (pipe2(srv.wake, O_CLOEXEC | O_NONBLOCK) != 0)
                return;
        srv.pid = getpid();
        bool sock = socket_start_locked();
        bool watch = la_pressure_arm();
        if (!sock && !watch) {
                close_fds();
                return;
        }
        sigset_t all, old;
        sigfillset(&all);
        pthread_sigmask(SIG_SETMASK, &all, &old);
        int rc = pthread_create(&srv.thread, NULL, server_main, NULL);
        pthread_sigmask(SIG_SETMASK, &old, NULL);
        if (rc != 0) {
                remove_socket();
                close_fds();
                la_pressure_disarm();
                return;
        }
        srv.running = true;
}

static void at_exit(void)
{
        la_ctl_server_stop();
}

LA_BOOT void la_ctl_server_boot(void)
{
        static bool registered;
        if (tls_booting)
                return;
        tls_booting = true;
        la_pressure_boot();
        la_mutex_lock(&srv_lock);
        start_locked();
        if (srv.running && !registered) {
                registered = true;
                atexit(at_exit);
        }
        la_mutex_unlock(&srv_lock);
        tls_booting = false;
}

LA_WARM void la_ctl_server_dir_tick(void)
{
        struct timespec ts;
        if (clock_gettime(CLOCK_MONOTONIC_COARSE, &ts) != 0)
                return;
        uint64_t now = (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
        uint64_t next = __atomic_load_n(&dir_next_check_ns, __ATOMIC_RELAXED);
        if (now < next || !__atomic_compare_exchange_n(&dir_next_check_ns, &next,
                                                       now + DIR_RECHECK_NS, false,
                                                       __ATOMIC_RELAXED, __ATOMIC_RELAXED))
                return; /* checked less than a second ago, or another thread checks now */
        la_ctl_server_boot();
}

void la_ctl_server_stop(void)
{
        la_mutex_lock(&srv_lock);
        if (srv.running && srv.pid == getpid()) {
                ssize_t w = write(srv.wake[1], "x", 1);
                (void)w;
                pthread_join(srv.thread, NULL);
                remove_socket();
                close_fds();
                la_pressure_disarm();
                srv.running = false;
        }
        la_mutex_unlock(&srv_lock);
}

void la_ctl_server_restart(void)
{
        if (tls_booting) /* the service thread's own refill: left for another thread */
                return;
        __atomic_store_n(&la_ctl_server_restart_pending, false, __ATOMIC_RELAXED);
        la_ctl_server_boot();
}

void la_ctl_server_prefork(void)
{
        la_mutex_prefork(&srv_lock);
}

void la_ctl_server_postfork_parent(void)
{
        la_mutex_postfork_parent(&srv_lock);
}

void la_ctl_server_postfork_child(void)
{
        la_mutex_postfork_child(&srv_lock);
        la_pressure_postfork_child();
        if (!srv.running)
                return;
        /* The thread stayed in the parent; so do the socket and the clients.  The child
         * serves a socket of its own, started at its next allocator slow path (creating a
         * thread right inside fork is not safe). */
        for (unsigned i = 0; i < MAX_CLIENTS; i++)
                if (srv.clients[i].fd >= 0)
                        close(srv.clients[i].fd), srv.clients[i].fd = -1;
        close_fds();
        srv.running = false;
        srv.path[0] = '\0';
        la_ctl_server_restart_pending = true;
}
