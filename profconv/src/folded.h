/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * folded: stacks as text lines "outer;...;inner", merged and sorted (internal to
 * profconv); the folded writer prints them and the flame graph is built from them.
 */
#ifndef PC_FOLDED_H
#define PC_FOLDED_H

#include "pc/profconv.h"

typedef struct pc_stack_line {
        char *stack;    /* frames joined with ';' (';' and newlines inside names replaced) */
        uint64_t bytes; /* in-use bytes, > 0 (summed with saturation) */
} pc_stack_line_t;

/* a + b, or UINT64_MAX if that does not fit: a hostile dump's counts (each up to
 * INT64_MAX) are summed into totals that must never wrap. */
static inline uint64_t pc_sat_add(uint64_t a, uint64_t b)
{
        return a > UINT64_MAX - b ? UINT64_MAX : a + b;
}

/* The merged stacks of r with in-use bytes, sorted by text.  0 or -ENOMEM. */
int pc_stack_lines(const pc_resolved_t *r, pc_stack_line_t **ret, size_t *ret_n);
void pc_stack_lines_free(pc_stack_line_t *v, size_t n);

#endif
