/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * http_guard: keeps the HTTP server's connections within the descriptor budget
 * (manager.h), so that idle connections cannot take the descriptors the polls and the
 * other clients need.  libevent 2.1 has no limit of its own and tells nothing of the
 * socket it accepts, so jemctld makes each connection's bufferevent itself
 * (evhttp_set_bevcb) and keeps a reference to it; just after the accept, its socket is
 * known and its owner's uid is looked up (authz.c), and the reference is given back.  A
 * connection over the total or over its uid's share is shut down at once (evhttp sees the
 * end of it and frees it).  An admitted connection is remembered by its socket's
 * descriptor and inode: when the descriptor is closed or holds another file, it is gone
 * (checked at each new connection).  libevent accepts every pending connection in one go before any of
 * them can be checked, so the listen backlog is made small (backlog_of): that bounds how
 * many descriptors a burst takes before the refused ones are closed.  When accept() fails for want of descriptors, the listener pauses
 * for RETRY_US: left as it is, libevent would call accept() again at once, forever.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/types.h>

#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/listener.h>

#include "authz.h"
#include "manager.h"

#define RETRY_US 100000
/* Refusals are logged at most this often (seconds), with their count. */
#define SAY_EVERY 10.0

/* An admitted connection, known by its socket's descriptor and inode (no reference to
 * its bufferevent is kept: evhttp frees it, and closes the socket, whenever it likes). */
typedef struct {
        int fd;
        dev_t dev;
        ino_t ino;
        uid_t uid; /* (uid_t)-1: not found */
} conn_t;

static conn_t *conns; /* admitted, up to max_total */
static size_t nconns;
static struct bufferevent **fresh; /* made by evhttp's accept, not checked yet */
static size_t nfresh, cap_fresh;
static struct event *check_ev, *retry_ev;
static struct evconnlistener *listener;
static size_t max_total, max_uid;
static unsigned long refused, accept_failed;
static double said_refused, said_accept;

/* evhttp freed it (bufferevent_free clears every callback; a live connection of evhttp
 * always has its error callback). */
static bool dropped(struct bufferevent *bev)
{
        bufferevent_event_cb ecb = NULL;
        bufferevent_getcb(bev, NULL, NULL, &ecb, NULL);
        return ecb == NULL;
}

/* Drops the connections whose socket is closed (its descriptor gone, or reused by
 * another file). */
static void sweep(void)
{
        size_t k = 0;
        for (size_t i = 0; i < nconns; i++) {
                struct stat st;
                if (fstat(conns[i].fd, &st) == 0 && st.st_dev == conns[i].dev &&
                    st.st_ino == conns[i].ino)
                        conns[k++] = conns[i];
        }
        nconns = k;
}

static uid_t owner_of(int fd)
{
        struct sockaddr_storage l, p;
        socklen_t ll = sizeof(l), pl = sizeof(p);
        uid_t uid;
        if (getsockname(fd, (struct sockaddr *)&l, &ll) != 0 ||
            getpeername(fd, (struct sockaddr *)&p, &pl) != 0 ||
            jd_authz_tcp_peer_uid((struct sockaddr *)&l, (struct sockaddr *)&p, &uid) != 0)
                return (uid_t)-1;
        return uid;
}

/* Admits bev's connection, or shuts it down; either way the reference taken at the
 * accept is given back at once, so evhttp's own free of the connection removes its events
 * while the socket is still open (a bufferevent kept alive past evhttp's close of its
 * socket would leave its events registered on a descriptor number the next file
 * reuses). */
static void admit(struct bufferevent *bev)
{
        int fd = (int)bufferevent_getfd(bev);
        struct stat st;
        bool gone = dropped(bev) || fd < 0 || fstat(fd, &st) != 0;
        bufferevent_decref(bev);
        if (gone)
                return;
        uid_t uid = owner_of(fd);
        size_t same = 0;
        for (size_t i = 0; i < nconns; i++)
                same += conns[i].uid == uid;
        if (nconns >= max_total || same >= max_uid) {
                shutdown(fd, SHUT_RDWR); /* evhttp sees the end and frees it */
                refused++;
                if (jd_mono() - said_refused >= SAY_EVERY) {
                        said_refused = jd_mono();
                        jd_log("http: %lu connection(s) refused: %zu open (at most %zu), %zu "
                               "of uid %ld (at most %zu each)",
                               refused, nconns, max_total, same,
                               uid == (uid_t)-1 ? -1L : (long)uid, max_uid);
                        refused = 0;
                }
                return;
        }
        conns[nconns++] = (conn_t){fd, st.st_dev, st.st_ino, uid};
}

static void on_check(evutil_socket_t fd, short what, void *arg)
{
        (void)fd;
        (void)what;
        (void)arg;
        sweep();
        for (size_t i = 0; i < nfresh; i++)
                admit(fresh[i]);
        nfresh = 0;
}

/* evhttp's accept asks for the connection's bufferevent (its socket is set next). */
static struct bufferevent *make_bev(struct event_base *base, void *arg)
{
        (void)arg;
        struct bufferevent *bev = bufferevent_socket_new(base, -1, 0);
        if (bev == NULL)
                return NULL;
        if (nfresh == cap_fresh) {
                size_t c = cap_fresh ? cap_fresh * 2 : 64;
                struct bufferevent **v = realloc(fresh, c * sizeof(*v));
                if (v == NULL)
                        return bev; /* not counted: memory is short anyway */
                fresh = v;
                cap_fresh = c;
        }
        bufferevent_incref(bev);
        fresh[nfresh++] = bev;
        event_active(check_ev, EV_TIMEOUT, 0);
        return bev;
}

static void on_retry(evutil_socket_t fd, short what, void *arg)
{
        (void)fd;
        (void)what;
        (void)arg;
        evconnlistener_enable(listener);
}

static void on_accept_error(struct evconnlistener *lev, void *arg)
{
        (void)arg;
        int e = EVUTIL_SOCKET_ERROR();
        if (e != EMFILE && e != ENFILE && e != ENOBUFS && e != ENOMEM)
                return; /* the client gave up (ECONNABORTED, ...): the next one */
        evconnlistener_disable(lev);
        struct timeval tv = {0, RETRY_US};
        evtimer_add(retry_ev, &tv);
        accept_failed++;
        if (jd_mono() - said_accept >= SAY_EVERY) {
                said_accept = jd_mono();
                jd_log("http: accept: %s (%lu times); pausing the listener %d ms each time",
                       strerror(e), accept_failed, RETRY_US / 1000);
                accept_failed = 0;
        }
}

/* The listen backlog: a thirty-second of the descriptors, 8 to 64. */
static int backlog_of(unsigned limit)
{
        unsigned b = limit / 32;
        return b < 8 ? 8 : b > 64 ? 64 : (int)b;
}

int jd_http_guard_start(jd_manager_t *m, struct evhttp *http, struct evconnlistener *lev)
{
        /* Half the share open, the other half for a burst of accepts and the refused
         * connections evhttp has not closed yet. */
        max_total = JD_FD_HTTP_SHARE(m->fd_limit) / 2;
        if (max_total < 8)
                max_total = 8;
        max_uid = max_total / 4 > 2 ? max_total / 4 : 2;
        conns = calloc(max_total, sizeof(*conns));
        check_ev = event_new(m->base, -1, 0, on_check, NULL);
        retry_ev = evtimer_new(m->base, on_retry, NULL);
        if (conns == NULL || check_ev == NULL || retry_ev == NULL || lev == NULL) {
                jd_http_guard_stop();
                return -1;
        }
        listener = lev;
        /* listen() again only changes the backlog (a socket from systemd's too). */
        if (listen(evconnlistener_get_fd(lev), backlog_of(m->fd_limit)) != 0)
                jd_log("http: cannot lower the listen backlog: %s", strerror(errno));
        evconnlistener_set_error_cb(lev, on_accept_error);
        evhttp_set_bevcb(http, make_bev, NULL);
        return 0;
}

void jd_http_guard_stop(void)
{
        for (size_t i = 0; i < nfresh; i++)
                bufferevent_decref(fresh[i]);
        free(fresh);
        free(conns);
        fresh = NULL;
        conns = NULL;
        nfresh = cap_fresh = nconns = 0;
        if (check_ev != NULL)
                event_free(check_ev);
        if (retry_ev != NULL)
                event_free(retry_ev);
        check_ev = retry_ev = NULL;
        listener = NULL;
}
