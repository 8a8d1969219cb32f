/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * authz: the uid of an HTTP client on this host.  The kernel lists every TCP socket in
 * /proc/net/tcp (tcp6 for IPv6) with the uid that created it; the client's socket is the
 * entry whose local end is our peer and whose remote end is our local address.  Nothing
 * the client says is believed; when the entry cannot be found the caller is refused.
 */
#include <errno.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/bufferevent.h>
#include <event2/http.h>

#include "authz.h"

/* One end in the form /proc/net/tcp* writes it: the address words as the kernel holds
 * them in memory (printed with %08X each), the port in host order. */
typedef struct tcp_end {
        uint32_t w[4];
        unsigned nw; /* 1 (IPv4) or 4 (IPv6) */
        unsigned port;
} tcp_end_t;

/* The representations of sa: an IPv4-mapped IPv6 address also matches as IPv4 (a v4
 * client of a dual-stack listener is listed in /proc/net/tcp), and an IPv4 address also
 * as IPv4-mapped IPv6 (an IPv6 socket that connected to [::ffff:127.0.0.1] is listed in
 * /proc/net/tcp6 with both ends mapped, though the IPv4 listener sees an IPv4 peer). */
static int ends_of(const struct sockaddr *sa, tcp_end_t *v4, tcp_end_t *v6)
{
        memset(v4, 0, sizeof(*v4));
        memset(v6, 0, sizeof(*v6));
        if (sa->sa_family == AF_INET) {
                const struct sockaddr_in *s = (const struct sockaddr_in *)sa;
                v4->nw = 1;
                memcpy(&v4->w[0], &s->sin_addr, 4);
                v4->port = ntohs(s->sin_port);
                struct in6_addr m = {0};
                m.s6_addr[10] = m.s6_addr[11] = 0xff;
                memcpy(&m.s6_addr[12], &s->sin_addr, 4);
                v6->nw = 4;
                memcpy(v6->w, &m, 16);
                v6->port = v4->port;
                return 0;
        }
        if (sa->sa_family != AF_INET6)
                return -EAFNOSUPPORT;
        const struct sockaddr_in6 *s = (const struct sockaddr_in6 *)sa;
        v6->nw = 4;
        memcpy(v6->w, &s->sin6_addr, 16);
        v6->port = ntohs(s->sin6_port);
        if (IN6_IS_ADDR_V4MAPPED(&s->sin6_addr)) {
                v4->nw = 1;
                memcpy(&v4->w[0], &s->sin6_addr.s6_addr[12], 4);
                v4->port = v6->port;
        }
        return 0;
}

static bool parse_end(const char *s, unsigned nw, tcp_end_t *e)
{
        const char *colon = strchr(s, ':');
        if (colon == NULL || (size_t)(colon - s) != nw * 8)
                return false;
        for (unsigned i = 0; i < nw; i++) {
                char word[9];
                memcpy(word, s + 8 * i, 8);
                word[8] = '\0';
                char *end;
                e->w[i] = (uint32_t)strtoul(word, &end, 16);
                if (*end != '\0')
                        return false;
        }
        char *end;
        e->port = (unsigned)strtoul(colon + 1, &end, 16);
        e->nw = nw;
        return *end == '\0' && colon[1] != '\0';
}

static bool same(const tcp_end_t *a, const tcp_end_t *b)
{
        return a->nw == b->nw && a->port == b->port && memcmp(a->w, b->w, 4 * a->nw) == 0;
}

/* States with a full socket and so a real owner (not SYN_RECV, TIME_WAIT or LISTEN,
 * which the kernel lists with uid 0). */
static bool owned_state(unsigned st)
{
        return st == 0x01 || st == 0x04 || st == 0x05 || st == 0x07 || st == 0x08 || st == 0x09 ||
               st == 0x0B;
}

/* Scans one table for client end `cl` talking to server end `sv`.  *found counts matches;
 * a second one naming another uid is -EEXIST. */
static int scan(const char *path, const tcp_end_t *cl, const tcp_end_t *sv, uid_t *uid,
                unsigned *found)
{
        FILE *f = fopen(path, "re");
        if (f == NULL)
                return errno == ENOENT ? 0 : -errno; /* no IPv6 on this host */
        char line[512];
        int rc = 0;
        while (fgets(line, sizeof(line), f) != NULL) {
                char la[64], ra[64];
                unsigned st, u;
                if (sscanf(line, " %*u: %63s %63s %x %*s %*s %*s %u", la, ra, &st, &u) != 4)
                        continue; /* the heading */
                tcp_end_t l, r;
                if (!parse_end(la, cl->nw, &l) || !parse_end(ra, cl->nw, &r))
                        continue;
                if (!same(&l, cl) || !same(&r, sv) || !owned_state(st))
                        continue;
                if (*found > 0 && *uid != (uid_t)u)
                        rc = -EEXIST;
                *uid = (uid_t)u;
                (*found)++;
        }
        fclose(f);
        return rc;
}

int jd_authz_tcp_peer_uid(const struct sockaddr *local, const struct sockaddr *peer, uid_t *ret_uid)
{
        tcp_end_t l4, l6, p4, p6;
        int rc = ends_of(local, &l4, &l6);
        if (rc == 0)
                rc = ends_of(peer, &p4, &p6);
        if (rc != 0)
                return rc;
        uid_t uid = 0;
        unsigned found = 0;
        if (p4.nw != 0 && l4.nw != 0)
                rc = scan("/proc/net/tcp", &p4, &l4, &uid, &found);
        if (rc == 0 && p6.nw != 0 && l6.nw != 0)
                rc = scan("/proc/net/tcp6", &p6, &l6, &uid, &found);
        if (rc != 0)
                return rc;
        if (found == 0)
                return -ENOENT;
        *ret_uid = uid;
        return 0;
}

int jd_authz_http_uid(struct evhttp_request *req, uid_t *ret_uid)
{
        struct evhttp_connection *con = evhttp_request_get_connection(req);
        struct bufferevent *bev = con != NULL ? evhttp_connection_get_bufferevent(con) : NULL;
        evutil_socket_t fd = bev != NULL ? bufferevent_getfd(bev) : -1;
        if (fd < 0)
                return -ENOTCONN;
        struct sockaddr_storage l, p;
        socklen_t ll = sizeof(l), pl = sizeof(p);
        if (getsockname(fd, (struct sockaddr *)&l, &ll) != 0 ||
            getpeername(fd, (struct sockaddr *)&p, &pl) != 0)
                return -errno;
        return jd_authz_tcp_peer_uid((struct sockaddr *)&l, (struct sockaddr *)&p, ret_uid);
}
