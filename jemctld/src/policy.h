/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * policy: when jemctld captures a heap profile by itself (jemctld(8), "CAPTURE
 * POLICIES"), and the options of the profile store and the policies.  After each
 * successful stats poll of a process the policies are evaluated on its figures: resident
 * above a threshold, growth of resident over a window (from the history ring), or a
 * period elapsed; optionally only for one comm or one systemd unit; never twice within the
 * cooldown.  With capture-enable-sampling, sampling is switched on (`prof` on) in each
 * matching process when it is first polled, so that a later capture has content; with
 * prof-auto, in each matching process not sampling yet, at the rate it names.
 */
#ifndef JEMCTLD_POLICY_H
#define JEMCTLD_POLICY_H

#include <stdbool.h>
#include <stdint.h>

#include "manager.h"

/* The getopt value of every option below (main.c hands them to jd_policy_option). */
#define JD_OPT_CAPTURE 0x200

/* The long options of the store and the policies (also keys of jemctld.conf). */
#define JD_POLICY_LONGOPTS                                                                 \
        {"profile-dir", required_argument, NULL, JD_OPT_CAPTURE},                          \
        {"profile-max-count", required_argument, NULL, JD_OPT_CAPTURE},                    \
        {"profile-max-bytes", required_argument, NULL, JD_OPT_CAPTURE},                    \
        {"profile-max-total", required_argument, NULL, JD_OPT_CAPTURE},                    \
        {"capture-timeout", required_argument, NULL, JD_OPT_CAPTURE},                      \
        {"convert-timeout", required_argument, NULL, JD_OPT_CAPTURE},                      \
        {"capture-resident-above", required_argument, NULL, JD_OPT_CAPTURE},               \
        {"capture-growth", required_argument, NULL, JD_OPT_CAPTURE},                       \
        {"capture-every", required_argument, NULL, JD_OPT_CAPTURE},                        \
        {"capture-cooldown", required_argument, NULL, JD_OPT_CAPTURE},                     \
        {"capture-comm", required_argument, NULL, JD_OPT_CAPTURE},                         \
        {"capture-unit", required_argument, NULL, JD_OPT_CAPTURE},                         \
        {"capture-enable-sampling", no_argument, NULL, JD_OPT_CAPTURE},                    \
        {"prof-auto", optional_argument, NULL, JD_OPT_CAPTURE}

/* The usage lines of those options (one per line: tests/daemon/config.sh reads them). */
#define JD_POLICY_USAGE                                                                    \
        "  --profile-dir DIR   the profile store (default $STATE_DIRECTORY/profiles,\n"    \
        "                      else /var/lib/jemctld/profiles for root, else\n"            \
        "                      $XDG_STATE_HOME/jemctld/profiles or\n"                      \
        "                      ~/.local/state/jemctld/profiles)\n"                         \
        "  --profile-max-count N      profiles kept per process (default 20)\n"           \
        "  --profile-max-bytes SIZE   bytes kept per process (default 256M)\n"            \
        "  --profile-max-total SIZE   bytes kept in all (default 1G); oldest go first\n"  \
        "  --capture-timeout SEC      the longest a dump may take (default 30)\n"         \
        "  --convert-timeout SEC      the longest a conversion may take (default 20)\n"   \
        "  --capture-resident-above SIZE   policy: resident above SIZE (e.g. 2G; off)\n"  \
        "  --capture-growth PCT%%/TIME      policy: resident grew PCT%% in TIME (50%%/10m; off)\n" \
        "  --capture-every TIME       policy: periodic (e.g. 1h; default off)\n"          \
        "  --capture-cooldown TIME    between policy captures of a process (30m)\n"       \
        "  --capture-comm NAME        policies only for this comm\n"                      \
        "  --capture-unit UNIT        policies only for this systemd unit\n"              \
        "  --capture-enable-sampling  switch sampling on in matching processes\n"         \
        "  --prof-auto[=LG]           switch sampling on, one sample per 2^LG bytes\n"    \
        "                             (default 20), in matching processes not sampling\n"

/* Defaults. */
#define JD_POLICY_COOLDOWN 1800.0 /* seconds: a profile every half hour at most */
/* --prof-auto's sampling rate: one sample per MiB on average (docs/performance.md,
 * "Heap profiling: off and on", measures 19, 20 and 21). */
#define JD_PROF_AUTO_LG 20

typedef struct jd_policy_opts {
        uint64_t resident_above; /* bytes, 0: off */
        double growth_pct;       /* percent, 0: off */
        double growth_window;    /* seconds */
        double every;            /* seconds, 0: off */
        double cooldown;         /* seconds */
        char comm[64];           /* "" any */
        char unit[256];          /* "" any */
        bool enable_sampling;
        unsigned prof_auto_lg; /* --prof-auto: lg_sample, 0 off */
} jd_policy_opts_t;

extern jd_policy_opts_t jd_policy_opt;

/* Sets option `name` (one of JD_POLICY_LONGOPTS) from arg (NULL for the flag).  0, or 2
 * after printing "jemctld: WHERE bad --NAME: ARG (why)". */
int jd_policy_option(const char *name, const char *arg, const char *where);

/* "2G", "512M", "64k", "1048576" (binary multiples; a trailing "B" or "iB" allowed). 0 or
 * -EINVAL. */
int jd_parse_size(const char *s, uint64_t *ret);
/* "90", "90s", "10m", "1h", "2d" (fractions allowed) in seconds, > 0.  0 or -EINVAL. */
int jd_parse_duration(const char *s, double *ret);

/* Evaluates the policies on p after a successful stats poll; may start a capture or the
 * `prof` on call.  Allocates. */
void jd_policy_check(jd_proc_t *p);

/* jd_policy_start: evaluates the policies at every successful poll of m's processes from
 * now on (an observer of m, after the history's).  jd_policy_stop: no more, and frees the
 * per-process state. */
void jd_policy_start(jd_manager_t *m);
void jd_policy_stop(jd_manager_t *m);

#endif
