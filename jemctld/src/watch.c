/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * watch: inotify on the runtime directory.  A <pid>.sock created or moved in is a process
 * arriving: it is added and polled at once (its `info` and first stats within
 * milliseconds, not at the next tick); one deleted or moved out is a process leaving.
 * The tick's full scan stays as the safety net (docs/architecture.md): an overflowed event
 * queue triggers a full rescan, and a directory removed and made again gets its watch back
 * (checked every tick, and every second while it is missing).  Trust is decided by the
 * poll (SO_PEERCRED), exactly as for a process found by the scan.  A process once polled
 * is also watched by a pidfd, so one killed by a signal (whose socket file stays behind)
 * disappears at once too, while the pidfds stay within their share of the descriptors
 * (JD_FD_PIDFD_SHARE, manager.h); beyond it the scan notices exits.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <jcl/sock.h>

#include "manager.h"

#define WATCH_MASK                                                                                 \
        (IN_CREATE | IN_MOVED_TO | IN_DELETE | IN_MOVED_FROM | IN_DELETE_SELF | IN_MOVE_SELF |     \
         IN_ONLYDIR)
/* Arrivals are polled after this short settle, so a burst of N processes costs one
 * timer and N polls, and liballoc's bind-then-listen is usually over. */
#define SETTLE_US 20000
/* A process bound but not yet listening is tried again after this. */
#define RETRY_US 200000
/* While the directory is missing (or the watch could not be set), tried this often. */
#define REWATCH_S 1

static int ifd = -1;
static int wd = -1;
static struct event *ino_ev, *settle_ev, *rewatch_ev;
static pid_t *pending;
static size_t npending, cap_pending;

static void arm(struct event *ev, long us)
{
        struct timeval tv = {us / 1000000, us % 1000000};
        if (!evtimer_pending(ev, NULL))
                evtimer_add(ev, &tv);
}

static void add_pending(pid_t pid, long us)
{
        for (size_t i = 0; i < npending; i++)
                if (pending[i] == pid)
                        goto armed;
        if (npending >= JD_PROCS_MAX)
                goto armed; /* a flood: the scan finds the rest */
        if (npending == cap_pending) {
                size_t c = cap_pending ? cap_pending * 2 : 64;
                pid_t *v = realloc(pending, c * sizeof(*v));
                if (v == NULL)
                        return; /* the next scan finds it */
                pending = v;
                cap_pending = c;
        }
        pending[npending++] = pid;
armed:
        arm(settle_ev, us);
}

void jd_watch_retry(jd_manager_t *m, pid_t pid)
{
        (void)m;
        if (settle_ev != NULL)
                add_pending(pid, RETRY_US);
}

static void on_settle(evutil_socket_t fd, short what, void *arg)
{
        (void)fd;
        (void)what;
        jd_manager_t *m = arg;
        /* Take the list: polls below may queue retries into a fresh one. */
        pid_t *list = pending;
        size_t n = npending;
        pending = NULL;
        npending = cap_pending = 0;
        for (size_t i = 0; i < n; i++) {
                jd_proc_t *p = jd_proc_add(m, list[i]);
                if (p == NULL || p->job != NULL)
                        continue; /* a stale file, or being polled */
                if (m->inflight >= m->opt.max_inflight)
                        add_pending(list[i], RETRY_US); /* every slot busy: soon */
                else
                        jd_poll_now(p);
        }
        free(list);
}

static int add_watch(jd_manager_t *m)
{
        wd = inotify_add_watch(ifd, m->opt.runtime_dir, WATCH_MASK);
        return wd < 0 ? -errno : 0;
}

static void lost_watch(jd_manager_t *m, const char *why)
{
        jd_log("inotify: %s %s; watching it again when it exists (the scan every %g s "
               "goes on)",
               m->opt.runtime_dir, why, m->opt.interval);
        if (wd >= 0)
                inotify_rm_watch(ifd, wd);
        wd = -1;
        arm(rewatch_ev, REWATCH_S * 1000000L);
}

static void on_inotify(evutil_socket_t fd, short what, void *arg)
{
        (void)what;
        jd_manager_t *m = arg;
        char buf[16384] __attribute__((aligned(__alignof__(struct inotify_event))));
        bool rescan = false;
        for (;;) {
                ssize_t n = read(fd, buf, sizeof(buf));
                if (n <= 0)
                        break;
                for (char *q = buf; q < buf + n;) {
                        const struct inotify_event *e = (const struct inotify_event *)q;
                        q += sizeof(*e) + e->len;
                        if (e->mask & IN_Q_OVERFLOW) {
                                rescan = true;
                                continue;
                        }
                        if (e->mask & (IN_DELETE_SELF | IN_MOVE_SELF | IN_IGNORED)) {
                                if (e->wd == wd) {
                                        lost_watch(m, "was removed or moved");
                                        rescan = true;
                                }
                                continue;
                        }
                        if (e->wd != wd || e->len == 0)
                                continue;
                        pid_t pid = jcl_sock_name_pid(e->name);
                        if (pid <= 0)
                                continue;
                        if (e->mask & (IN_CREATE | IN_MOVED_TO)) {
                                jd_proc_t *p;
                                if (jcl_sock_name_is_alt(e->name) &&
                                    (p = jd_proc_add(m, pid)) != NULL)
                                        p->has_alt = true;
                                add_pending(pid, SETTLE_US);
                        } else if (e->mask & (IN_DELETE | IN_MOVED_FROM)) {
                                jd_proc_forget(m, pid, e->name);
                        }
                }
        }
        if (rescan) {
                jd_log("inotify: events lost or the directory changed: full rescan");
                jd_poll_tick(m);
        }
}

static void on_rewatch(evutil_socket_t fd, short what, void *arg)
{
        (void)fd;
        (void)what;
        jd_manager_t *m = arg;
        jd_watch_check(m);
        if (wd >= 0)
                jd_poll_tick(m); /* what arrived while it was not watched */
}

void jd_watch_check(jd_manager_t *m)
{
        if (ifd < 0 || wd >= 0)
                return;
        if (add_watch(m) == 0) {
                jd_log("inotify: watching %s again", m->opt.runtime_dir);
                event_del(rewatch_ev);
                return;
        }
        arm(rewatch_ev, REWATCH_S * 1000000L);
}

int jd_watch_start(jd_manager_t *m)
{
        ifd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
        if (ifd < 0) {
                jd_log("inotify unavailable (%s): new processes show up at the next scan",
                       strerror(errno));
                return -1;
        }
        ino_ev = event_new(m->base, ifd, EV_READ | EV_PERSIST, on_inotify, m);
        settle_ev = evtimer_new(m->base, on_settle, m);
        rewatch_ev = evtimer_new(m->base, on_rewatch, m);
        if (ino_ev == NULL || settle_ev == NULL || rewatch_ev == NULL) {
                jd_watch_stop(m);
                return -1;
        }
        event_add(ino_ev, NULL);
        int rc = add_watch(m);
        if (rc != 0) {
                jd_log("inotify: cannot watch %s (%s); trying again every %d s", m->opt.runtime_dir,
                       strerror(-rc), REWATCH_S);
                arm(rewatch_ev, REWATCH_S * 1000000L);
        }
        return 0;
}

/* ---- process exits (pidfd) ------------------------------------------------------------ */

static void on_exit_ev(evutil_socket_t fd, short what, void *arg)
{
        (void)fd;
        (void)what;
        jd_proc_gone(arg); /* this very process: a reused pid has its own */
}

void jd_watch_exit(jd_proc_t *p)
{
        jd_manager_t *m = p->m;
        if (p->exit_ev != NULL || m->npidfd >= JD_FD_PIDFD_SHARE(m->fd_limit))
                return; /* over the share: the scan notices */
        int fd = (int)syscall(SYS_pidfd_open, p->pid, 0);
        if (fd < 0)
                return; /* ENOSYS, EMFILE, or already gone: the scan notices */
        p->exit_ev = event_new(m->base, fd, EV_READ, on_exit_ev, p);
        if (p->exit_ev == NULL || event_add(p->exit_ev, NULL) != 0) {
                if (p->exit_ev != NULL)
                        event_free(p->exit_ev);
                p->exit_ev = NULL;
                close(fd);
                return;
        }
        m->npidfd++;
}

void jd_watch_exit_free(jd_proc_t *p)
{
        if (p->exit_ev == NULL)
                return;
        jd_manager_t *m = p->m;
        int fd = (int)event_get_fd(p->exit_ev);
        event_free(p->exit_ev);
        close(fd);
        p->exit_ev = NULL;
        m->npidfd--;
}

void jd_watch_stop(jd_manager_t *m)
{
        (void)m;
        if (ino_ev != NULL)
                event_free(ino_ev);
        if (settle_ev != NULL)
                event_free(settle_ev);
        if (rewatch_ev != NULL)
                event_free(rewatch_ev);
        ino_ev = settle_ev = rewatch_ev = NULL;
        if (ifd >= 0)
                close(ifd);
        ifd = wd = -1;
        free(pending);
        pending = NULL;
        npending = cap_pending = 0;
}
