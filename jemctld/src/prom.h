/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * prom: Prometheus families of /metrics beyond http.c's per-process byte gauges.
 */
#ifndef JEMCTLD_PROM_H
#define JEMCTLD_PROM_H

#include <event2/buffer.h>

#include "manager.h"

/* Appends the families to b (text format 0.0.4): those of every process, or of `one`
 * alone (and then none of the daemon's own).  Reads /proc/self; allocates. */
void jd_prom_more(const jd_manager_t *m, struct evbuffer *b, const jd_proc_t *one);

/* The label set {pid, comm, cgroup[, unit]} of p, escaped (http.c). */
void jd_prom_labels(struct evbuffer *b, const jd_proc_t *p);

#endif
