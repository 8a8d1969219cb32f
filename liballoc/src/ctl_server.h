/*
 * ctl_server: the in-process control thread serving the mallctl namespace over a Unix
 * socket (docs/protocol.md, docs/security.md).
 */
#ifndef LA_CTL_SERVER_H
#define LA_CTL_SERVER_H

#include <stdbool.h>

/* Starts the thread if the runtime directory exists or MALLOC_CONF=ctl:true asks. */
void la_ctl_server_boot(void);
/* Stops it and removes the socket (at exit). */
void la_ctl_server_stop(void);
/* A fork child starts its own server at its next refill (see heap.c). */
extern bool la_ctl_server_restart_pending;
void la_ctl_server_restart(void);
void la_ctl_server_prefork(void);
void la_ctl_server_postfork_parent(void);
void la_ctl_server_postfork_child(void);

#endif
