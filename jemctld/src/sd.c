/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * sd: the systemd integration (sd.h).  The watchdog ping comes from a libevent timer, so
 * it proves the event loop itself still turns.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

#include <event2/event.h>
#include <systemd/sd-daemon.h>

#include "manager.h"
#include "sd.h"

static struct event *watchdog;

int jd_sd_listen_fd(void)
{
        static bool looked;
        static int fd = -1;
        if (looked)
                return fd;
        looked = true;
        int n = sd_listen_fds(1);
        if (n < 0) {
                jd_log("systemd: cannot read the passed sockets: %s", strerror(-n));
                return -1;
        }
        for (int i = 0; i < n; i++) {
                int f = SD_LISTEN_FDS_START + i;
                if (fd < 0 && sd_is_socket_inet(f, AF_UNSPEC, SOCK_STREAM, 1, 0) > 0) {
                        fd = f;
                        continue;
                }
                jd_log("systemd: ignoring passed descriptor %d (not a listening TCP socket)", f);
        }
        if (fd >= 0) {
                int fl = fcntl(fd, F_GETFL);
                if (fl < 0 || fcntl(fd, F_SETFL, fl | O_NONBLOCK) != 0) {
                        jd_log("systemd: cannot use the passed socket: %s", strerror(errno));
                        fd = -1;
                }
        }
        return fd;
}

static void on_watchdog(evutil_socket_t fd, short what, void *arg)
{
        (void)fd;
        (void)what;
        (void)arg;
        sd_notify(0, "WATCHDOG=1");
}

int jd_sd_ready(jd_manager_t *m)
{
        sd_notifyf(0, "READY=1\nSTATUS=watching %s", m->opt.runtime_dir);
        uint64_t usec = 0;
        if (sd_watchdog_enabled(0, &usec) <= 0 || usec == 0)
                return 0;
        watchdog = event_new(m->base, -1, EV_PERSIST, on_watchdog, NULL);
        if (watchdog == NULL) {
                jd_log("systemd: out of memory for the watchdog timer");
                return -1;
        }
        usec /= 2;
        struct timeval tv = {(time_t)(usec / 1000000u), (suseconds_t)(usec % 1000000u)};
        event_add(watchdog, &tv);
        return 0;
}

void jd_sd_stopping(void)
{
        sd_notify(0, "STOPPING=1");
        if (watchdog != NULL)
                event_free(watchdog);
        watchdog = NULL;
}
