/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * fork: the one module that knows who takes part in a fork and in which order.  Each
 * participant registers its handlers under its lock rank (os/lockrank.h); the pthread_atfork
 * handlers (thread.c) run every prefork in rank order and every postfork in reverse.
 */
#ifndef LA_FORK_H
#define LA_FORK_H

#include "os/lockrank.h"

typedef struct la_fork_ops {
        void (*prefork)(void);
        void (*postfork_parent)(void);
        void (*postfork_child)(void);
} la_fork_ops_t;

/* At start-up, before pthread_atfork: one participant per rank. */
void la_fork_register(enum la_rank rank, la_fork_ops_t ops);
void la_fork_prefork_all(void);
void la_fork_parent_all(void);
void la_fork_child_all(void);

#endif
