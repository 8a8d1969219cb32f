/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * cgroup: what the kernel says about memory, for the governor (governor.c): which memory
 * cgroup a process is in (cgroup v1's memory controller where it is mounted, else cgroup
 * v2), the limits, usage, events and pressure of a cgroup, cgroup v1 usage thresholds
 * (cgroup.event_control), and the host's available memory.  It only reads files, except
 * for the threshold's registration; every path is built from the mounts the kernel lists
 * and the path it gives for a process, and never leaves the mount.
 */
#ifndef JEMCTLD_CGROUP_H
#define JEMCTLD_CGROUP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define JD_CG_PATH 1024
#define JD_CG_NONE UINT64_MAX /* no limit */

/* Reads /proc/self/mountinfo for the cgroup v1 memory controller and cgroup2 mounts
 * (again on each call: a mount made later is found).  True if either is there. */
bool jd_cg_mounts(void);

/* The directory of pid's memory cgroup into dir: returns 1 (cgroup v1 memory controller)
 * or 2 (cgroup v2 with the memory controller), or 0 if there is none (no such mount, the
 * process is gone, a path that would leave the mount or is too long). */
int jd_cg_of_pid(pid_t pid, char *dir, size_t cap);

/* The parent directory of dir, or false at the mount's root (dir is not changed then). */
bool jd_cg_parent(int version, char *dir);

/* The limits of one cgroup: v1 memory.limit_in_bytes as max (high is JD_CG_NONE); v2
 * memory.max and memory.high.  JD_CG_NONE for "max" or a v1 value of page-counter
 * infinity.  0, or a negative errno (-ENOENT: the cgroup is gone). */
int jd_cg_limits(int version, const char *dir, uint64_t *max, uint64_t *high);

/* Usage in bytes: v1 memory.usage_in_bytes, v2 memory.current.  0 or a negative errno. */
int jd_cg_usage(int version, const char *dir, uint64_t *ret);

/* Page cache the kernel can drop at once (inactive file pages: v1 memory.stat
 * total_inactive_file, v2 inactive_file): not counted against the trigger, so a cgroup
 * full of cache it can reclaim does not make the governor purge.  0 or a negative errno. */
int jd_cg_inactive_file(int version, const char *dir, uint64_t *ret);

/* v2 memory.events: how often the cgroup went over memory.high and hit memory.max.  0 or
 * a negative errno. */
int jd_cg_events(const char *dir, uint64_t *high, uint64_t *max);

/* "some avg10" of a PSI file (a cgroup's memory.pressure, /proc/pressure/memory): the
 * share of the last 10 s in which some task waited for memory, in percent.  0 or a
 * negative errno (-ENOENT: no such file, PSI off). */
int jd_cg_psi_avg10(const char *file, double *ret);

/* cgroup v1: an eventfd (non-blocking, close-on-exec) that becomes readable each time the
 * cgroup's usage crosses threshold bytes, up or down.  The descriptor, or a negative
 * errno (the kernel refused: not root, cgroup gone). */
int jd_cg_v1_threshold(const char *dir, uint64_t threshold);

/* The host's MemTotal and MemAvailable in bytes.  0 or a negative errno. */
int jd_host_meminfo(uint64_t *total, uint64_t *available);

#endif
