/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * ctl_tree: how the mallctl tree is written down.  A node is a leaf (a handler), a named
 * node (its children end with CTL_END) or an indexed node (one child, reached by a
 * number: "arena.<i>").  Names resolve to MIBs holding a child's position, or the number
 * itself for indexed components, so a handler reads its indices straight from mib[].
 * Every leaf carries its C type and direction, which `list` requests and the name list
 * test use.  Handlers run under the ctl lock.
 */
#ifndef LA_CTL_TREE_H
#define LA_CTL_TREE_H

#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "os/util.h"

#define CTL_ARGS                                                                           \
        const size_t *mib, size_t miblen, void *oldp, size_t *oldlenp, void *newp,         \
                size_t newlen
typedef int(ctl_handler_t)(CTL_ARGS);

typedef struct ctl_node ctl_node_t;
struct ctl_node {
        const char *name;           /* NULL for an indexed child and for CTL_END */
        const ctl_node_t *children; /* named children (to CTL_END), or the indexed child */
        bool indexed;
        int (*index_ok)(size_t i);  /* indexed nodes: 0, or ENOENT */
        ctl_handler_t *handler;     /* leaves */
        const char *type;           /* leaves: C type, as in liballoc/mallctl-names.tsv */
        const char *rw;             /* leaves: "rw", "r-", "-w" or "--" */
};

#define CTL_LEAF(n, h, t, rw) {n, NULL, false, NULL, h, t, rw}
#define CTL_NODE(n, kids) {n, kids, false, NULL, NULL, NULL, NULL}
#define CTL_INDEXED(n, kid, ok) {n, kid, true, ok, NULL, NULL, NULL}
#define CTL_END {NULL, NULL, false, NULL, NULL, NULL, NULL}

/* Copies a value out (EINVAL with a partial copy if *oldlenp is not size). */
int la_ctl_read_out(void *oldp, size_t *oldlenp, const void *v, size_t size);
/* Takes a value in (EINVAL unless newlen is size). */
int la_ctl_write_in(const void *newp, size_t newlen, void *v, size_t size);

#define CTL_FN(fn) static int fn(CTL_ARGS)
#define CTL_UNUSED() ((void)mib, (void)miblen)
#define CTL_READONLY()                                                                     \
        do {                                                                               \
                if (newp != NULL || newlen != 0)                                           \
                        return EPERM;                                                      \
        } while (0)
#define CTL_WRITEONLY()                                                                    \
        do {                                                                               \
                if (oldp != NULL || oldlenp != NULL)                                       \
                        return EPERM;                                                      \
        } while (0)
#define CTL_NEITHER()                                                                      \
        do {                                                                               \
                if (newp != NULL || newlen != 0 || oldp != NULL || oldlenp != NULL)        \
                        return EPERM;                                                      \
        } while (0)

/* Read-only leaf whose value is an expression of type T (mib is in scope). */
#define CTL_RO(fn, T, expr)                                                                \
        CTL_FN(fn)                                                                         \
        {                                                                                  \
                CTL_UNUSED();                                                              \
                CTL_READONLY();                                                            \
                T v = (expr);                                                              \
                return la_ctl_read_out(oldp, oldlenp, &v, sizeof(T));                      \
        }

/* A leaf that does not exist in this build (jemalloc's answer for a feature that was
 * configured out, e.g. profiling): ENOENT whatever the direction. */
#define CTL_ABSENT(fn)                                                                     \
        CTL_FN(fn)                                                                         \
        {                                                                                  \
                CTL_UNUSED();                                                              \
                (void)oldp, (void)oldlenp, (void)newp, (void)newlen;                       \
                return ENOENT;                                                             \
        }

/* Subtrees defined in their own files. */
extern const ctl_node_t la_ctl_opt_nodes[], la_ctl_config_nodes[];
extern const ctl_node_t la_ctl_stats_nodes[];
extern const ctl_node_t la_ctl_thread_nodes[], la_ctl_tcache_nodes[], la_ctl_arena_i[],
        la_ctl_arenas_nodes[], la_ctl_prof_nodes[], la_ctl_thread_prof_nodes[],
        la_ctl_prof_recent_nodes[],
        la_ctl_experimental_nodes[], la_ctl_pressure_nodes[], la_ctl_stats_pressure_nodes[];
int la_ctl_arena_index_ok(size_t i);
int la_ctl_background_thread(CTL_ARGS);
int la_ctl_max_background_threads(CTL_ARGS);

#endif
