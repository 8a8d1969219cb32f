/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * bus: jemctld's D-Bus API (docs/dbus.md, the interface's XML in
 * share/dbus-1/interfaces).  Version 1 of io.github.liballoc.JemCtl1.Manager.
 */
#ifndef JEMCTLD_BUS_H
#define JEMCTLD_BUS_H

#include <stdbool.h>
#include <stdint.h>

#include "manager.h"

#define JD_BUS_NAME "io.github.liballoc.JemCtl1"
#define JD_BUS_PATH "/io/github/liballoc/JemCtl1"
#define JD_BUS_INTERFACE_BASE "io.github.liballoc.JemCtl1"
#define JD_BUS_INTERFACE JD_BUS_INTERFACE_BASE ".Manager"
#define JD_BUS_VERSION 1

/* Connects to the "system" or "session" bus (DBUS_SYSTEM_BUS_ADDRESS and
 * DBUS_SESSION_BUS_ADDRESS are honoured), serves the object and owns the name.  Returns
 * 0 or a negative errno (logged). */
int jd_bus_start(jd_manager_t *m, const char *which);
/* Flushes and closes the connection (no-op if not started). */
void jd_bus_stop(jd_manager_t *m);
/* Emits PressureAction(pid, cgroup, reason, bytes, dry_run): the governor purged a
 * process of m's (governor.c).  No-op without a bus; strings that are not UTF-8 are sent
 * as "?". */
void jd_bus_pressure_action(jd_manager_t *m, unsigned pid, const char *cgroup,
                            const char *reason, uint64_t bytes, bool dry_run);
/* True once the bus connection was lost (the loop was broken; exit non-zero so that
 * systemd restarts the daemon). */
bool jd_bus_lost(void);
/* True while the daemon owns its name on a bus (jemctld_dbus_up of /metrics). */
bool jd_bus_up(void);

#endif
