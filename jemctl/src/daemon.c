/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * daemon: asks jemctld (docs/man/jemctld.8) which processes the selectors match.  A
 * minimal blocking HTTP/1.1 GET over TCP to the daemon's loopback address: the daemon
 * already serves its table there for Prometheus and the dashboard, so jemctl needs no
 * second listener or protocol, and every step is under one deadline so a hung daemon
 * costs at most that much before jemctl scans by itself.  Only reads go this way: writes
 * always go from jemctl to each process's own socket (select.c).
 *
 * Anyone can listen on a loopback port while jemctld is down, so before it sends anything
 * jemctl finds who serves the connection: the kernel's table of TCP sockets
 * (/proc/net/tcp, /proc/net/tcp6) lists the server's end of it (an accepted socket keeps
 * the uid of the listener that made it) with its owner's uid.  Only root's or jemctl's
 * own user's answer is read; any other is refused (select.c then scans by itself).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <time.h>
#include <unistd.h>

#include "jemctl.h"

/* The largest answer read (1,000 processes take about 250 KiB). */
#define JC_DAEMON_MAX (16u * 1024 * 1024)

static double mono(void)
{
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int wait_fd(int fd, short ev, double deadline)
{
        for (;;) {
                double left = deadline - mono();
                if (left <= 0)
                        return -ETIMEDOUT;
                struct pollfd p = {fd, ev, 0};
                int rc = poll(&p, 1, (int)(left * 1000) + 1);
                if (rc > 0)
                        return 0;
                if (rc < 0 && errno != EINTR)
                        return -errno;
        }
}

/* "http://HOST:PORT[/PREFIX]" (HOST may be [V6]); 0 or -EINVAL. */
static int parse_url(const char *url, char *host, size_t hcap, char *port, size_t pcap,
                     const char **prefix)
{
        if (strncmp(url, "http://", 7) != 0)
                return -EINVAL;
        const char *h = url + 7, *he, *p;
        if (*h == '[') {
                he = strchr(h, ']');
                if (he == NULL)
                        return -EINVAL;
                h++;
                p = he + 1;
        } else {
                he = h + strcspn(h, ":/");
                p = he;
        }
        size_t hl = (size_t)(he - h);
        if (hl == 0 || hl >= hcap)
                return -EINVAL;
        memcpy(host, h, hl);
        host[hl] = '\0';
        if (*p == ':') {
                size_t pl = strspn(p + 1, "0123456789");
                if (pl == 0 || pl >= pcap)
                        return -EINVAL;
                memcpy(port, p + 1, pl);
                port[pl] = '\0';
                p += 1 + pl;
        } else {
                snprintf(port, pcap, "80");
        }
        if (*p != '\0' && *p != '/')
                return -EINVAL;
        *prefix = p;
        return 0;
}

static int dial(const char *host, const char *port, double deadline)
{
        struct addrinfo hints = {.ai_socktype = SOCK_STREAM, .ai_flags = AI_NUMERICSERV};
        struct addrinfo *ai;
        if (getaddrinfo(host, port, &hints, &ai) != 0)
                return -EHOSTUNREACH;
        int rc = -ECONNREFUSED;
        for (struct addrinfo *a = ai; a != NULL; a = a->ai_next) {
                int fd = socket(a->ai_family, a->ai_socktype | SOCK_CLOEXEC | SOCK_NONBLOCK,
                                a->ai_protocol);
                if (fd < 0)
                        continue;
                int c = connect(fd, a->ai_addr, a->ai_addrlen);
                if (c == 0) {
                        freeaddrinfo(ai);
                        return fd;
                }
                if (errno == EINPROGRESS) {
                        int err = 0;
                        socklen_t el = sizeof(err);
                        if ((rc = wait_fd(fd, POLLOUT, deadline)) == 0 &&
                            getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &el) == 0 && err == 0) {
                                freeaddrinfo(ai);
                                return fd;
                        }
                        if (rc == 0)
                                rc = -(err ? err : ECONNREFUSED);
                } else {
                        rc = -errno;
                }
                close(fd);
        }
        freeaddrinfo(ai);
        return rc;
}

/* An IPv4 or IPv6 endpoint as 16 bytes (IPv4 as ::ffff:a.b.c.d, as a dual-stack socket
 * sees it) and a port in host order. */
struct jc_endpoint {
        unsigned char addr[16];
        unsigned port;
};

static int endpoint_of(const struct sockaddr_storage *ss, struct jc_endpoint *e)
{
        memset(e, 0, sizeof(*e));
        if (ss->ss_family == AF_INET) {
                const struct sockaddr_in *in = (const struct sockaddr_in *)ss;
                e->addr[10] = e->addr[11] = 0xff;
                memcpy(e->addr + 12, &in->sin_addr, 4);
                e->port = ntohs(in->sin_port);
                return 0;
        }
        if (ss->ss_family == AF_INET6) {
                const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)ss;
                memcpy(e->addr, &in6->sin6_addr, 16);
                e->port = ntohs(in6->sin6_port);
                return 0;
        }
        return -EAFNOSUPPORT;
}

/* "HEX:PORT" of /proc/net/tcp (8 hex digits: the 32-bit word as the kernel holds it) or
 * tcp6 (four such words); 0 or -EINVAL. */
static int parse_endpoint(const char *s, bool v6, struct jc_endpoint *e)
{
        size_t words = v6 ? 4 : 1;
        uint32_t w[4];
        memset(e, 0, sizeof(*e));
        for (size_t i = 0; i < words; i++) {
                char hex[9];
                if (strspn(s + 8 * i, "0123456789abcdefABCDEF") < 8)
                        return -EINVAL;
                memcpy(hex, s + 8 * i, 8);
                hex[8] = '\0';
                w[i] = (uint32_t)strtoul(hex, NULL, 16);
        }
        if (s[8 * words] != ':' || sscanf(s + 8 * words + 1, "%4x", &e->port) != 1)
                return -EINVAL;
        if (v6) {
                memcpy(e->addr, w, 16);
        } else {
                e->addr[10] = e->addr[11] = 0xff;
                memcpy(e->addr + 12, w, 4);
        }
        return 0;
}

static bool any_addr(const struct jc_endpoint *e)
{
        static const unsigned char zero[16], v4any[16] = {[10] = 0xff, [11] = 0xff};
        return memcmp(e->addr, zero, 16) == 0 || memcmp(e->addr, v4any, 16) == 0;
}

/* The owner of the server's end of the connection from me to srv in one table: the
 * established socket (its local end srv, its remote end me), else a listener on srv's
 * port and address, else one on any address.  How good the match is (3, 2, 1) with *uid,
 * or 0 if none is there. */
static int owner_in(const char *table, bool v6, const struct jc_endpoint *srv,
                    const struct jc_endpoint *me, uid_t *uid)
{
        FILE *f = fopen(table, "re");
        if (f == NULL)
                return 0;
        char line[512], la[64], ra[64];
        unsigned st, u;
        int best = 0;
        while (best < 3 && fgets(line, sizeof(line), f) != NULL) {
                struct jc_endpoint l, r;
                if (sscanf(line, " %*u: %63s %63s %x %*s %*s %*s %u", la, ra, &st, &u) != 4 ||
                    parse_endpoint(la, v6, &l) != 0 || parse_endpoint(ra, v6, &r) != 0 ||
                    l.port != srv->port)
                        continue;
                bool here = memcmp(l.addr, srv->addr, 16) == 0;
                int q = 0;
                if (here && r.port == me->port && memcmp(r.addr, me->addr, 16) == 0)
                        q = 3; /* the connection itself */
                else if (st == 0x0A) /* TCP_LISTEN */
                        q = here ? 2 : any_addr(&l) ? 1 : 0;
                if (q > best) {
                        best = q;
                        *uid = (uid_t)u;
                }
        }
        fclose(f);
        return best;
}

/* Who serves the connected socket fd: 0 with *uid, or a negative errno. */
static int server_owner(int fd, uid_t *uid)
{
        struct sockaddr_storage a, b;
        socklen_t al = sizeof(a), bl = sizeof(b);
        struct jc_endpoint srv, me;
        if (getpeername(fd, (struct sockaddr *)&a, &al) != 0 ||
            getsockname(fd, (struct sockaddr *)&b, &bl) != 0)
                return -errno;
        if (endpoint_of(&a, &srv) != 0 || endpoint_of(&b, &me) != 0)
                return -EAFNOSUPPORT;
        uid_t u6 = 0;
        int q6 = owner_in("/proc/net/tcp6", true, &srv, &me, &u6);
        int q4 = owner_in("/proc/net/tcp", false, &srv, &me, uid);
        if (q6 > q4)
                *uid = u6;
        return q4 > 0 || q6 > 0 ? 0 : -ENOENT;
}

int jc_http_get(const char *url, const char *path, double timeout, char **ret_body, int *ret_status,
                long *ret_owner)
{
        char host[256], port[16];
        const char *prefix;
        if (parse_url(url, host, sizeof(host), port, sizeof(port), &prefix) != 0)
                return -EINVAL;
        double deadline = mono() + timeout;
        errno = 0;
        int fd = dial(host, port, deadline);
        if (fd < 0)
                return fd;
        uid_t owner;
        *ret_owner = -1;
        if (server_owner(fd, &owner) != 0) {
                close(fd);
                return -EPERM;
        }
        if (owner != 0 && owner != geteuid()) {
                *ret_owner = (long)owner;
                close(fd);
                return -EPERM;
        }
        char *req = NULL;
        size_t plen = strlen(prefix);
        while (plen > 0 && prefix[plen - 1] == '/')
                plen--;
        int n = asprintf(&req,
                         "GET %.*s%s HTTP/1.1\r\nHost: %s:%s\r\nUser-Agent: jemctl\r\n"
                         "Accept: application/json\r\nConnection: close\r\n\r\n",
                         (int)plen, prefix, path, host, port);
        if (n < 0) {
                close(fd);
                return -ENOMEM;
        }
        int rc = 0;
        for (size_t off = 0; off < (size_t)n && rc == 0;) {
                ssize_t w = send(fd, req + off, (size_t)n - off, MSG_NOSIGNAL);
                if (w > 0)
                        off += (size_t)w;
                else if (w < 0 && errno == EAGAIN)
                        rc = wait_fd(fd, POLLOUT, deadline);
                else if (w < 0 && errno != EINTR)
                        rc = -errno;
        }
        free(req);
        char *buf = NULL;
        size_t len = 0, cap = 0;
        while (rc == 0) {
                if (cap - len < 65536) {
                        cap = cap ? cap * 2 : 131072;
                        char *nb = cap > JC_DAEMON_MAX + 65536 ? NULL : realloc(buf, cap + 1);
                        if (nb == NULL) {
                                rc = -EMSGSIZE;
                                break;
                        }
                        buf = nb;
                }
                ssize_t r = recv(fd, buf + len, cap - len, 0);
                if (r > 0)
                        len += (size_t)r;
                else if (r == 0)
                        break;
                else if (errno == EAGAIN)
                        rc = wait_fd(fd, POLLIN, deadline);
                else if (errno != EINTR)
                        rc = -errno;
        }
        close(fd);
        if (rc != 0) {
                free(buf);
                return rc;
        }
        int status = 0;
        if (buf != NULL)
                buf[len] = '\0';
        char *body = buf != NULL ? strstr(buf, "\r\n\r\n") : NULL;
        if (body == NULL || sscanf(buf, "HTTP/1.%*d %d", &status) != 1) {
                free(buf);
                return -EPROTO;
        }
        /* Only identity bodies (evhttp sends Content-Length and closes, as asked). */
        *body = '\0';
        if (strcasestr(buf, "\r\ntransfer-encoding:") != NULL) {
                free(buf);
                return -EPROTO;
        }
        body += 4;
        memmove(buf, body, len - (size_t)(body - buf) + 1);
        *ret_body = buf;
        *ret_status = status;
        return 0;
}
