/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * wire: the top layer's start-up wiring.  la_layers_init, called once by la_init_slow
 * (core/init.c) before anything reads the table, registers what the layers above the core
 * need from it (core/upcalls.h) and their fork handlers by lock rank (core/fork.h).  It
 * allocates nothing.
 */
#include "core/conf.h"
#include "core/fork.h"
#include "core/upcalls.h"
#include "bg/bg.h"
#include "bg/pressure.h"
#include "ctl/ctl.h"
#include "prof/prof.h"
#include "server/ctl_server.h"
#include "stats/stats.h"

#include <stdlib.h>

static void stats_print_atexit(void)
{
        la_stats_print(NULL, NULL, la_opt.stats_print_opts);
}

/* While the initialising thread is still marked busy. */
static void boot_early(void)
{
        la_prof_boot();
        if (la_opt.stats_print)
                atexit(stats_print_atexit);
}

static void boot_late(void)
{
        la_bg_boot();
#ifndef LA_RENAME_API
        la_ctl_server_boot(); /* not in the renamed build that unit tests link */
#endif
}

void la_layers_init(void)
{
        la_prof_register();
        la_up.deferred[LA_DEFER_SERVICE] =
                (la_deferred_t){&la_ctl_server_restart_pending, la_ctl_server_restart};
        la_up.deferred[LA_DEFER_DIR] = (la_deferred_t){&la_ctl_server_dir_pending, la_ctl_server_dir_tick};
        la_up.boot_early = boot_early;
        la_up.boot_late = boot_late;
        la_up.grew = la_pressure_grew;
        la_up.arena_destroyed = la_stats_arena_destroyed;
        la_stats_set_ctl_mutex(la_ctl_mutex());
        la_fork_register(LA_RANK_SERVER, (la_fork_ops_t){la_ctl_server_prefork,
                                                         la_ctl_server_postfork_parent,
                                                         la_ctl_server_postfork_child});
        la_fork_register(LA_RANK_CTL, (la_fork_ops_t){la_ctl_prefork, la_ctl_postfork_parent,
                                                      la_ctl_postfork_child});
        la_fork_register(LA_RANK_BG, (la_fork_ops_t){la_bg_prefork, la_bg_postfork_parent,
                                                     la_bg_postfork_child});
        la_fork_register(LA_RANK_PROF_DUMP, (la_fork_ops_t){la_prof_prefork,
                                                            la_prof_postfork_parent,
                                                            la_prof_postfork_child});
}
