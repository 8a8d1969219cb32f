/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * host: which names the HTTP server answers to.  A web page of any site can make a browser
 * send requests to 127.0.0.1 by pointing a name of its own at that address (DNS
 * rebinding); the browser then sends that name in the Host header.  So a request is
 * served only when its Host is a loopback address, localhost, the --http address itself,
 * or a name given with --allow-host: the name of a rebinding page is none of those.
 */
#ifndef JEMCTLD_HOST_H
#define JEMCTLD_HOST_H

#include <stdbool.h>

#include "manager.h"

struct evhttp_request;

/* An address literal (IPv4 dotted quad or IPv6, without brackets) that is loopback:
 * 127.0.0.0/8, ::1 or an IPv4-mapped 127.0.0.0/8 (::ffff:127.x.y.z). */
bool jd_addr_is_loopback(const char *literal);

/* Adds a name (or address literal) that Host may carry, compared without case; 0, or -1
 * if it is empty, too long, holds a character a host name cannot hold, or out of memory. */
int jd_allow_host_add(const char *name);

/* Whether a Host header value names this server: HOST or HOST:PORT, [V6]:PORT or [V6],
 * where HOST is a loopback address, localhost, the --http address (when not a wildcard)
 * or an --allow-host name.  The port is not compared (a proxy may change it). */
bool jd_host_allowed(const char *listen, const char *host);

/* Checks the Host header of req.  true: go on.  false: already answered, 400 (no Host in
 * an HTTP/1.1 request, or more than one) or 421 (a name this server does not answer to),
 * with the JSON error form. */
bool jd_host_check(const jd_manager_t *m, struct evhttp_request *req);

/* Frees the --allow-host names (at exit). */
void jd_allow_host_free(void);

#endif
