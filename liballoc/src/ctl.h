/*
 * ctl: the mallctl namespace as a tree of named and indexed nodes, with name -> MIB
 * translation.  Leaves are typed handlers; errors are jemalloc's (ENOENT, EINVAL, EPERM,
 * EFAULT, EAGAIN), returned as positive values at this boundary.
 */
#ifndef LA_CTL_H
#define LA_CTL_H

#include <stddef.h>

#define LA_CTL_MAX_DEPTH 8

int la_ctl_byname(const char *name, void *oldp, size_t *oldlenp, void *newp, size_t newlen);
int la_ctl_nametomib(const char *name, size_t *mibp, size_t *miblenp);
int la_ctl_bymib(const size_t *mib, size_t miblen, void *oldp, size_t *oldlenp, void *newp,
                 size_t newlen);

#endif
