/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * host: the Host header check against DNS rebinding (host.h).
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <event2/http.h>
#include <event2/http_struct.h> /* the request's HTTP version */
#include <event2/keyvalq_struct.h>

#include "host.h"
#include "http_parse.h"
#include "http_reply.h"
#include "manager.h"

/* A host name (RFC 1123 labels) or an address literal: 253 characters. */
#define HOST_MAX JD_HTTP_HOST_MAX

static char **allowed;
static size_t nallowed;

bool jd_addr_is_loopback(const char *h)
{
        struct in_addr a4;
        struct in6_addr a6;
        if (inet_pton(AF_INET, h, &a4) == 1)
                return (ntohl(a4.s_addr) >> 24) == 127;
        if (inet_pton(AF_INET6, h, &a6) == 1)
                return IN6_IS_ADDR_LOOPBACK(&a6) ||
                       (IN6_IS_ADDR_V4MAPPED(&a6) && a6.s6_addr[12] == 127);
        return false;
}

/* Letters, digits, '-', '.', and ':' for an IPv6 literal. */
static bool name_chars_ok(const char *s, size_t n)
{
        return n > 0 && n <= HOST_MAX &&
               strspn(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-.:") >=
                       n;
}

int jd_allow_host_add(const char *name)
{
        size_t n = strlen(name);
        /* [V6] is accepted and kept without its brackets. */
        if (n >= 2 && name[0] == '[' && name[n - 1] == ']') {
                name++;
                n -= 2;
        }
        if (!name_chars_ok(name, n))
                return -1;
        char **v = realloc(allowed, (nallowed + 1) * sizeof(*v));
        if (v == NULL)
                return -1;
        allowed = v;
        allowed[nallowed] = strndup(name, n);
        if (allowed[nallowed] == NULL)
                return -1;
        nallowed++;
        return 0;
}

void jd_allow_host_free(void)
{
        for (size_t i = 0; i < nallowed; i++)
                free(allowed[i]);
        free(allowed);
        allowed = NULL;
        nallowed = 0;
}

/* The --http address, when it names one address (not 0.0.0.0 or ::). */
static bool is_listen_addr(const char *l, const char *h)
{
        if (l[0] == '\0' || strcmp(l, "0.0.0.0") == 0 || strcmp(l, "::") == 0)
                return false;
        struct in6_addr x, y;
        if (inet_pton(AF_INET6, l, &x) == 1)
                return inet_pton(AF_INET6, h, &y) == 1 && memcmp(&x, &y, sizeof(x)) == 0;
        return strcasecmp(l, h) == 0;
}

bool jd_host_allowed(const char *listen, const char *host)
{
        char h[JD_HTTP_HOST_MAX + 1];
        if (!jd_parse_host(host, h))
                return false;
        if (jd_addr_is_loopback(h) || strcasecmp(h, "localhost") == 0 || is_listen_addr(listen, h))
                return true;
        for (size_t i = 0; i < nallowed; i++)
                if (strcasecmp(h, allowed[i]) == 0)
                        return true;
        return false;
}

/* A request with the wrong Host is logged, the first one and then at most one a minute
 * (so a page hammering the port cannot flood the log); jd_log escapes the header's
 * control characters. */
static void log_refused(const char *host)
{
        static double last = -1e9;
        static unsigned long quiet;
        double now = jd_mono();
        if (now - last < 60) {
                quiet++;
                return;
        }
        last = now;
        char more[64] = "";
        if (quiet > 0)
                snprintf(more, sizeof(more), " (and %lu more since the last such line)", quiet);
        quiet = 0;
        jd_log("http: refused a request for Host \"%.200s\": not a loopback address, "
               "localhost or an --allow-host name%s",
               host, more);
}

bool jd_host_check(const jd_manager_t *m, struct evhttp_request *req)
{
        const size_t flags = JSON_COMPACT | JSON_ENSURE_ASCII;
        struct evkeyvalq *in = evhttp_request_get_input_headers(req);
        const char *host = NULL;
        unsigned count = 0;
        for (struct evkeyval *kv = in->tqh_first; kv != NULL; kv = kv->next.tqe_next) {
                if (strcasecmp(kv->key, "Host") == 0) {
                        host = kv->value;
                        count++;
                }
        }
        if (count > 1) {
                jd_reply_error(req, flags, 400, "Bad Request", "bad_request",
                               "more than one Host header");
                return false;
        }
        if (host == NULL) {
                /* HTTP/1.0 may leave Host out (no browser does); HTTP/1.1 must send it. */
                if (req->major == 1 && req->minor == 0)
                        return true;
                jd_reply_error(req, flags, 400, "Bad Request", "bad_request",
                               "an HTTP/1.1 request needs a Host header");
                return false;
        }
        while (*host == ' ' || *host == '\t')
                host++;
        if (jd_host_allowed(m->opt.http_host, host))
                return true;
        log_refused(host);
        jd_reply_error(req, flags, 421, "Misdirected Request", "bad_host",
                       "this server answers only to a loopback address, localhost, its "
                       "--http address and the names given with --allow-host (a name "
                       "pointed at 127.0.0.1 by another site is refused)");
        return false;
}
