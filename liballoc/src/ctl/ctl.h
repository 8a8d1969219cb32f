/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * ctl: the mallctl namespace (jemalloc 5.3.0's tree) with name -> MIB translation.
 * Errors are jemalloc's (ENOENT, EINVAL, EPERM, EFAULT, EAGAIN), returned as positive
 * values at this boundary.  Every call runs under one lock, which also guards the stats
 * snapshot.
 */
#ifndef LA_CTL_H
#define LA_CTL_H

#include <stddef.h>

#include "os/util.h"

#define LA_CTL_MAX_DEPTH 8

int la_ctl_byname(const char *name, void *oldp, size_t *oldlenp, void *newp, size_t newlen);
int la_ctl_nametomib(const char *name, size_t *mibp, size_t *miblenp);
int la_ctl_bymib(const size_t *mib, size_t miblen, void *oldp, size_t *oldlenp, void *newp,
                 size_t newlen);

/* Walks every leaf (indices written as <i>), calling fn with its full name, C type and
 * direction; stops early if fn returns non-zero (returned).  For listings. */
int la_ctl_walk(int (*fn)(const char *name, const char *type, const char *rw, void *arg),
                void *arg);

/* The C type and direction of a leaf (static strings); ENOENT if name is not one. */
int la_ctl_leaf_info(const char *name, const char **type, const char **rw);

la_mutex_t *la_ctl_mutex(void);
void la_ctl_prefork(void);
void la_ctl_postfork_parent(void);
void la_ctl_postfork_child(void);

#endif
