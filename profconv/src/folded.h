/*
 * folded: stacks as text lines "outer;...;inner", merged and sorted (internal to
 * profconv); the folded writer prints them and the flame graph is built from them.
 */
#ifndef PC_FOLDED_H
#define PC_FOLDED_H

#include "pc/profconv.h"

typedef struct pc_stack_line {
        char *stack;    /* frames joined with ';' (';' and newlines inside names replaced) */
        uint64_t bytes; /* in-use bytes, > 0 */
} pc_stack_line_t;

/* The merged stacks of r with in-use bytes, sorted by text.  0 or -ENOMEM. */
int pc_stack_lines(const pc_resolved_t *r, pc_stack_line_t **ret, size_t *ret_n);
void pc_stack_lines_free(pc_stack_line_t *v, size_t n);

#endif
