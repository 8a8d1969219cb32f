/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * ctl_pressure: liballoc's own names for the memory-pressure watch (pressure.h), next to
 * jemalloc's: pressure.watch, pressure.event and stats.pressure.*.  The counters are read
 * live (no epoch needed).
 */
#include "ctl/ctl_tree.h"
#include "bg/pressure.h"

CTL_RO(pressure_watch_ctl, const char *, la_pressure_watch())

CTL_FN(pressure_event_ctl)
{
        CTL_UNUSED();
        CTL_NEITHER();
        la_pressure_event_now();
        return 0;
}

const ctl_node_t la_ctl_pressure_nodes[] = {
        CTL_LEAF("watch", pressure_watch_ctl, "const char *", "r-"),
        CTL_LEAF("event", pressure_event_ctl, "void", "--"),
        CTL_END,
};

static la_pressure_stats_t snapshot(void)
{
        la_pressure_stats_t st;
        la_pressure_stats(&st);
        return st;
}

CTL_RO(stats_pressure_events_ctl, uint64_t, snapshot().events)
CTL_RO(stats_pressure_purges_ctl, uint64_t, snapshot().purges)
CTL_RO(stats_pressure_bytes_returned_ctl, uint64_t, snapshot().bytes_returned)
CTL_RO(stats_pressure_last_event_ms_ctl, uint64_t, snapshot().last_event_ms)

const ctl_node_t la_ctl_stats_pressure_nodes[] = {
        CTL_LEAF("events", stats_pressure_events_ctl, "uint64_t", "r-"),
        CTL_LEAF("purges", stats_pressure_purges_ctl, "uint64_t", "r-"),
        CTL_LEAF("bytes_returned", stats_pressure_bytes_returned_ctl, "uint64_t", "r-"),
        CTL_LEAF("last_event_ms", stats_pressure_last_event_ms_ctl, "uint64_t", "r-"),
        CTL_END,
};
