/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * ctl_server: liballoc's one service thread.  It serves the mallctl namespace over a Unix
 * socket (docs/protocol.md, docs/security.md) and polls the memory-pressure watch
 * (pressure.h); it runs while either needs it.
 */
#ifndef LA_CTL_SERVER_H
#define LA_CTL_SERVER_H

#include <stdbool.h>

/* Starts the thread if the runtime directory exists or MALLOC_CONF=ctl:true asks, or a
 * memory-pressure watch is armed; if the directory does not exist yet,
 * la_ctl_server_dir_pending is set.  With the thread running, binds the socket or arms
 * the watch if they have become possible. */
void la_ctl_server_boot(void);
/* Stops it and removes the socket (at exit). */
void la_ctl_server_stop(void);
/* The next thread-heap refill (re)starts the service (see heap.c): in a fork child, or
 * once the heap grew enough for a memory-pressure watch (pressure.c). */
extern bool la_ctl_server_restart_pending;
void la_ctl_server_restart(void);
/* Set while the runtime directory is missing; la_ctl_server_dir_tick (from a refill,
 * like the restart) starts the server once it exists, looking at most once a second. */
extern bool la_ctl_server_dir_pending;
void la_ctl_server_dir_tick(void);
void la_ctl_server_prefork(void);
void la_ctl_server_postfork_parent(void);
void la_ctl_server_postfork_child(void);

#endif
