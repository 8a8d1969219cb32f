/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * mallctl_read.h: reading statistics through mallctl in conformance tests (the library
 * under test is whichever one the program was linked or preloaded with).  A failed read
 * gives the all-ones value, which no statistic reaches.
 */
#ifndef CONFORMANCE_MALLCTL_READ_H
#define CONFORMANCE_MALLCTL_READ_H

#include <jemalloc/jemalloc.h>
#include <stddef.h>
#include <stdint.h>

static inline size_t rd_size(const char *name)
{
        size_t v = 0, sz = sizeof(v);
        if (mallctl(name, &v, &sz, NULL, 0) != 0)
                return (size_t)-1;
        return v;
}

static inline uint64_t rd_u64(const char *name)
{
        uint64_t v = 0;
        size_t sz = sizeof(v);
        if (mallctl(name, &v, &sz, NULL, 0) != 0)
                return UINT64_MAX;
        return v;
}

/* Refreshes the statistics snapshot. */
static inline void epoch(void)
{
        uint64_t e = 1;
        size_t sz = sizeof(e);
        mallctl("epoch", &e, &sz, &e, sz);
}

#endif
