/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * governor: jemctld gives memory back to the host before the kernel has to kill for it
 * (jemctld(8), "MEMORY GOVERNOR").  It watches every memory cgroup with a limit that holds
 * a liballoc process (the process's own cgroup and each ancestor with a limit): a cgroup v1
 * usage threshold (cgroup.event_control) wakes it the moment usage crosses the trigger
 * share of memory.limit_in_bytes; on cgroup v2, memory.events (inotify) and, every second,
 * memory.current against memory.high (else memory.max) and the cgroup's PSI; the host's
 * MemAvailable and /proc/pressure/memory likewise.  When a cgroup is over its trigger, its
 * processes are told to purge (the `purge` request with `pressure: true`), the ones holding
 * the most dirty and muzzy memory first, until what they hold covers the way down to the
 * target share.  Rate-limited per process and per cgroup; every action is logged, counted
 * in /metrics, kept in /api/v1/governor and sent as a D-Bus signal.
 */
#ifndef JEMCTLD_GOVERNOR_H
#define JEMCTLD_GOVERNOR_H

#include <stdbool.h>
#include <stdint.h>

#include <jansson.h>

#include "manager.h"

struct evbuffer;

/* The getopt value of every option below (main.c hands them to jd_governor_option). */
#define JD_OPT_GOVERNOR 0x201

#define JD_GOVERNOR_LONGOPTS                                                               \
        {"governor", required_argument, NULL, JD_OPT_GOVERNOR},                            \
        {"governor-trigger", required_argument, NULL, JD_OPT_GOVERNOR},                    \
        {"governor-target", required_argument, NULL, JD_OPT_GOVERNOR},                     \
        {"governor-psi", required_argument, NULL, JD_OPT_GOVERNOR},                        \
        {"governor-host-available", required_argument, NULL, JD_OPT_GOVERNOR},             \
        {"governor-cooldown", required_argument, NULL, JD_OPT_GOVERNOR}

/* The usage lines of those options (one per line: tests/daemon/config.sh reads them). */
#define JD_GOVERNOR_USAGE                                                                  \
        "  --governor MODE     on (default), dry-run (log, do nothing) or off\n"          \
        "  --governor-trigger PCT%%   act above PCT%% of a cgroup's limit (default 90%%)\n" \
        "  --governor-target PCT%%    purge until PCT%% of it (default 80%%)\n"            \
        "  --governor-psi PCT%%       act when PSI memory some avg10 passes it (20%%; 0: off)\n" \
        "  --governor-host-available PCT%%  act when the host has less available (5%%; 0: off)\n" \
        "  --governor-cooldown TIME   between two purges of one process (default 10s)\n"

typedef enum jd_gov_mode { JD_GOV_OFF, JD_GOV_DRY_RUN, JD_GOV_ON } jd_gov_mode_t;

typedef struct jd_gov_opts {
        jd_gov_mode_t mode;
        double trigger;        /* percent of the limit */
        double target;         /* percent of the limit, below trigger */
        double psi;            /* percent, 0: off */
        double host_available; /* percent of MemTotal, 0: off */
        double cooldown;       /* seconds */
} jd_gov_opts_t;

extern jd_gov_opts_t jd_gov_opt;

/* Sets option `name` (one of JD_GOVERNOR_LONGOPTS) from arg.  0, or 2 after printing
 * "jemctld: WHERE bad --NAME: ARG (why)".  jd_governor_check_options: after all of them
 * (the target must lie below the trigger); 0 or 2 likewise. */
int jd_governor_option(const char *name, const char *arg, const char *where);
int jd_governor_check_options(void);

/* Starts the watch (its 1 s timer on the manager's loop; logs what it can watch).  Nothing with
 * --governor=off. */
void jd_governor_start(jd_manager_t *m);
void jd_governor_stop(jd_manager_t *m);

/* The /metrics families (prom.c). */
void jd_governor_metrics(struct evbuffer *b);
/* The /api/v1/governor document: the settings, the cgroups watched, the last actions. */
json_t *jd_governor_json(void);

#endif
