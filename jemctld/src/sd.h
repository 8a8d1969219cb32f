/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * sd: what systemd asks of a service: readiness and stop notifications, the watchdog
 * and socket activation (sd_notify(3), sd_listen_fds(3)).  Every function is a no-op
 * when not run by systemd.
 */
#ifndef JEMCTLD_SD_H
#define JEMCTLD_SD_H

#include "manager.h"

/* The listening TCP socket systemd passed (jemctld.socket), made non-blocking, or -1 if
 * none (then jemctld binds --http itself).  Only the first call looks. */
int jd_sd_listen_fd(void);
/* READY=1 with a status line, and starts the WATCHDOG=1 timer when WatchdogSec= is set
 * (every half period, from the event loop: a stuck loop misses it).  Returns 0 or -1
 * (out of memory, logged). */
int jd_sd_ready(jd_manager_t *m);
/* STOPPING=1, and stops the watchdog timer. */
void jd_sd_stopping(void);

#endif
