/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * daemon: asks jemctld (docs/man/jemctld.8) which processes the selectors match.  A
 * minimal blocking HTTP/1.1 GET over TCP to the daemon's loopback address: the daemon
 * already serves its table there for Prometheus and the dashboard, so jemctl needs no
 * second listener or protocol, and every step is under one deadline so a hung daemon
 * costs at most that much before jemctl scans by itself.  Only reads go this way: writes
 * always go from jemctl to each process's own socket (select.c).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
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

int jc_http_get(const char *url, const char *path, double timeout, char **ret_body, int *ret_status)
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
