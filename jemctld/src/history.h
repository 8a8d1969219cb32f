/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * history: the bounded in-memory time series the dashboard draws.  One ring of samples per
 * process, filled where a stats poll succeeds; aggregates per executable (`comm`) and per
 * systemd unit are computed from the rings when asked, aligned on the poll cycle.
 *
 * Memory bound: JD_HIST_PROCS rings of at most JD_HIST_SAMPLES samples of
 * sizeof(jd_sample_t) bytes each (96 bytes on 64-bit Linux): 1024 x 360 x 96 = 35,389,440
 * bytes (33.75 MiB) at most, reached only with 1,024 processes each polled 360 times.  A
 * ring grows on demand (first 16 samples, then doubling), so a short-lived or young
 * process costs little.  A process beyond JD_HIST_PROCS gets no history (counted in
 * jemctld_history_dropped_total) until one of the others goes away.
 */
#ifndef JEMCTLD_HISTORY_H
#define JEMCTLD_HISTORY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "manager.h"

/* One hour at the default 10 s interval (six minutes at 1 s): what a dashboard shows. */
#define JD_HIST_SAMPLES 360
/* Processes with a history: the benchmark's 1,000 processes fit. */
#define JD_HIST_PROCS 1024
/* First allocation of a ring, in samples (doubled until JD_HIST_SAMPLES). */
#define JD_HIST_FIRST 16

typedef struct jd_sample {
        double t;     /* wall clock, Unix seconds */
        uint32_t gen; /* the poll cycle (the manager's cycle_gen, truncated): aligns aggregates */
        int32_t dirty_decay_ms, muzzy_decay_ms;
        uint64_t allocated, active, resident, mapped, retained, metadata, rss;
        uint64_t dirty, muzzy; /* bytes in dirty / muzzy pages, all arenas */
} jd_sample_t;

/* Records p's latest stats (p->stats, p->info) as a sample in p's ring (its record's
 * JD_SLOT_HISTORY, made on the first sample).  Called when a stats poll succeeded; may
 * allocate (a failure drops the sample).  Also forgets the rings of hidden processes, once
 * per poll cycle; a record's ring goes with the record (`gone`). */
void jd_history_record(jd_proc_t *p);

/* jd_history_start: records a sample at every successful poll of m's processes from now
 * on, and drops a process's ring when its record goes (an observer of m).
 * jd_history_stop: no more, and frees every ring still hung off m's records. */
void jd_history_start(jd_manager_t *m);
void jd_history_stop(jd_manager_t *m);

/* Bytes held by the rings; rings in use; samples dropped because of JD_HIST_PROCS. */
size_t jd_history_bytes(void);
size_t jd_history_rings(void);
uint64_t jd_history_dropped(void);

/* The newest sample of p taken at or before wall-clock time t (Unix seconds), or NULL
 * if its ring does not reach back that far (or it has none).  Valid until the next
 * jd_history_record.  For the growth capture policy (policy.c).  Does not allocate. */
const jd_sample_t *jd_history_sample_before(const jd_proc_t *p, double t);

/* GET /api/v1/history: for one pid (`pid`), or the sum over the processes whose comm or
 * unit is `key` (`by` = "comm" or "unit").  Returns a new object, or NULL if nothing
 * matches (no such process, or no history for it). */
json_t *jd_history_pid_json(const jd_manager_t *m, pid_t pid);
json_t *jd_history_group_json(const jd_manager_t *m, const char *by, const char *key);

/* GET /api/v1/groups?by=comm|unit: the current figures summed per group.  A new array. */
json_t *jd_groups_json(const jd_manager_t *m, const char *by);

/* The fragmentation figures of one stats summary (a new object), or null if it has none:
 * frag_ratio = active / allocated, resident_ratio = resident / active,
 * rss_ratio = rss / resident, unused_bytes = resident - allocated. */
json_t *jd_frag_json(const json_t *stats);

/* p's comm (from `info`) or NULL; p's systemd unit, the last component of its cgroup path
 * when it ends with ".service" (as the `unit` label of /metrics), copied into buf, or
 * NULL. */
const char *jd_proc_comm(const jd_proc_t *p);
const char *jd_proc_unit(const jd_proc_t *p, char *buf, size_t cap);
/* The systemd unit in a cgroup path: its deepest component ending with .service or
 * .scope (*len bytes at the result), or NULL.  One rule for labels, groups and selectors. */
const char *jd_cgroup_unit(const char *cg, size_t *len);

#endif
