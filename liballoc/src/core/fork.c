/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * fork: the fork participants by lock rank (fork.h).
 */
#include "core/fork.h"

#include <stddef.h>

static la_fork_ops_t parts[LA_RANK_N];

void la_fork_register(enum la_rank rank, la_fork_ops_t ops)
{
        parts[rank] = ops;
}

void la_fork_prefork_all(void)
{
        for (int r = 0; r < LA_RANK_N; r++)
                if (parts[r].prefork != NULL)
                        parts[r].prefork();
}

void la_fork_parent_all(void)
{
        for (int r = LA_RANK_N - 1; r >= 0; r--)
                if (parts[r].postfork_parent != NULL)
                        parts[r].postfork_parent();
}

void la_fork_child_all(void)
{
        for (int r = LA_RANK_N - 1; r >= 0; r--)
                if (parts[r].postfork_child != NULL)
                        parts[r].postfork_child();
}
