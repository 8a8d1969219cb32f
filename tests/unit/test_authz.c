/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Unit tests of jemctld's authz (jemctld/src/authz.c): the uid owning the client end of a
 * TCP connection, read from /proc/net/tcp and tcp6, over real loopback connections: IPv4,
 * IPv6, a v4 client of a dual-stack listener, an IPv6 client of an IPv4 listener through
 * an IPv4-mapped address ([::ffff:127.0.0.1]), the direction of the pair (the server's own
 * socket is not the client's), a connection that does not exist, a Unix socket.  As root
 * the client socket is made by a child of uid 65534, so the uid found cannot be ours by
 * chance.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "authz.h"
#include "../common/check.h"

typedef struct conn {
        struct sockaddr_storage server, client; /* as the server sees them */
        uid_t client_uid;
        int lfd, sfd;
        pid_t child;
        int hold[2]; /* the child keeps its socket until this pipe closes */
} conn_t;

/* A listener on addr (family af), a client made by a child (uid 65534 when we are root),
 * accepted; false if the family is not available here. */
static bool open_conn(conn_t *c, int af, const char *listen_addr, const char *connect_addr)
{
        memset(c, 0, sizeof(*c));
        c->lfd = socket(af, SOCK_STREAM, 0);
        struct sockaddr_storage sa;
        memset(&sa, 0, sizeof(sa));
        socklen_t sl;
        if (af == AF_INET) {
                struct sockaddr_in *s = (struct sockaddr_in *)&sa;
                s->sin_family = AF_INET;
                inet_pton(AF_INET, listen_addr, &s->sin_addr);
                sl = sizeof(*s);
        } else {
                struct sockaddr_in6 *s = (struct sockaddr_in6 *)&sa;
                s->sin6_family = AF_INET6;
                inet_pton(AF_INET6, listen_addr, &s->sin6_addr);
                int off = 0;
                setsockopt(c->lfd, IPPROTO_IPV6, IPV6_V6ONLY, &off, sizeof(off));
                sl = sizeof(*s);
        }
        if (c->lfd < 0 || bind(c->lfd, (struct sockaddr *)&sa, sl) != 0 || listen(c->lfd, 4) != 0 ||
            getsockname(c->lfd, (struct sockaddr *)&sa, &sl) != 0) {
                if (c->lfd >= 0)
                        close(c->lfd);
                return false;
        }
        unsigned port = af == AF_INET ? ntohs(((struct sockaddr_in *)&sa)->sin_port)
                                      : ntohs(((struct sockaddr_in6 *)&sa)->sin6_port);
        c->client_uid = getuid() == 0 ? 65534 : getuid();
        if (pipe(c->hold) != 0)
                return false;
        fflush(stdout);
        c->child = fork();
        if (c->child == 0) {
                close(c->hold[1]);
                if (getuid() == 0 &&
                    (setresgid(65534, 65534, 65534) != 0 || setresuid(65534, 65534, 65534) != 0))
                        _exit(2);
                struct sockaddr_storage ca;
                memset(&ca, 0, sizeof(ca));
                socklen_t cl;
                int cfam = strchr(connect_addr, ':') != NULL ? AF_INET6 : AF_INET;
                if (cfam == AF_INET) {
                        struct sockaddr_in *s = (struct sockaddr_in *)&ca;
                        s->sin_family = AF_INET;
                        s->sin_port = htons((uint16_t)port);
                        inet_pton(AF_INET, connect_addr, &s->sin_addr);
                        cl = sizeof(*s);
                } else {
                        struct sockaddr_in6 *s = (struct sockaddr_in6 *)&ca;
                        s->sin6_family = AF_INET6;
                        s->sin6_port = htons((uint16_t)port);
                        inet_pton(AF_INET6, connect_addr, &s->sin6_addr);
                        cl = sizeof(*s);
                }
                int fd = socket(cfam, SOCK_STREAM, 0);
                if (fd < 0 || connect(fd, (struct sockaddr *)&ca, cl) != 0)
                        _exit(3);
                char b;
                while (read(c->hold[0], &b, 1) > 0)
                        ;
                _exit(0);
        }
        close(c->hold[0]);
        struct pollfd pf = {.fd = c->lfd, .events = POLLIN};
        if (poll(&pf, 1, 5000) != 1) {
                kill(c->child, SIGKILL);
                return false; /* the child could not connect */
        }
        sl = sizeof(c->client);
        c->sfd = accept(c->lfd, (struct sockaddr *)&c->client, &sl);
        socklen_t ll = sizeof(c->server);
        return c->sfd >= 0 && getsockname(c->sfd, (struct sockaddr *)&c->server, &ll) == 0;
}

static void close_conn(conn_t *c)
{
        close(c->hold[1]);
        int st;
        waitpid(c->child, &st, 0);
        close(c->sfd);
        close(c->lfd);
}

static void check_conn(int af, const char *listen_addr, const char *connect_addr)
{
        conn_t c;
        if (!open_conn(&c, af, listen_addr, connect_addr)) {
                printf("  (%s not available here)\n", listen_addr);
                return;
        }
        uid_t uid = (uid_t)-2;
        EXPECT_EQ(jd_authz_tcp_peer_uid((struct sockaddr *)&c.server, (struct sockaddr *)&c.client,
                                         &uid),
                   0);
        EXPECT_EQ(uid, c.client_uid);
        /* The other direction is the server's own socket: ours, not the client's. */
        uid_t rev = (uid_t)-2;
        EXPECT_EQ(jd_authz_tcp_peer_uid((struct sockaddr *)&c.client, (struct sockaddr *)&c.server,
                                         &rev),
                   0);
        EXPECT_EQ(rev, getuid());
        close_conn(&c);
}

static void test_ipv4(void)
{
        check_conn(AF_INET, "127.0.0.1", "127.0.0.1");
}

static void test_ipv6(void)
{
        check_conn(AF_INET6, "::1", "::1");
}

static void test_v4_client_of_dual_stack_listener(void)
{
        check_conn(AF_INET6, "::", "127.0.0.1");
}

/* The client's socket is IPv6 (listed in /proc/net/tcp6, both ends mapped) while the
 * listener sees an IPv4 peer. */
static void test_v4_mapped_client_of_v4_listener(void)
{
        check_conn(AF_INET, "127.0.0.1", "::ffff:127.0.0.1");
}

static void test_unknown_connection(void)
{
        struct sockaddr_in l = {.sin_family = AF_INET, .sin_port = htons(1)};
        struct sockaddr_in p = {.sin_family = AF_INET, .sin_port = htons(2)};
        inet_pton(AF_INET, "127.0.0.1", &l.sin_addr);
        inet_pton(AF_INET, "127.0.0.1", &p.sin_addr);
        uid_t uid = 4242;
        EXPECT(jd_authz_tcp_peer_uid((struct sockaddr *)&l, (struct sockaddr *)&p, &uid) == -ENOENT);
        EXPECT_EQ(uid, 4242); /* untouched on failure */
}

static void test_unix_socket(void)
{
        struct sockaddr_un u = {.sun_family = AF_UNIX};
        uid_t uid = 4242;
        EXPECT(jd_authz_tcp_peer_uid((struct sockaddr *)&u, (struct sockaddr *)&u, &uid) ==
              -EAFNOSUPPORT);
        EXPECT_EQ(uid, 4242);
}

int main(void)
{
        signal(SIGPIPE, SIG_IGN);
        check_run("unit/authz/ipv4", test_ipv4);
        check_run("unit/authz/ipv6", test_ipv6);
        check_run("unit/authz/v4-client-of-dual-stack-listener",
                  test_v4_client_of_dual_stack_listener);
        check_run("unit/authz/v4-mapped-client-of-v4-listener",
                  test_v4_mapped_client_of_v4_listener);
        check_run("unit/authz/unknown-connection", test_unknown_connection);
        check_run("unit/authz/unix-socket", test_unix_socket);
        return check_finish();
}
