/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * bg: background purging threads (jemalloc's background_thread).  While enabled, up to
 * max_background_threads threads wake on each arena's decay deadline and purge what its
 * curve asks for, so memory goes back to the OS even when the application makes no call
 * into the allocator.  Started and stopped live through mallctl.
 */
#ifndef LA_BG_H
#define LA_BG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "os/util.h"

/* background_thread: starts (true) or stops and joins (false) the threads; -EFAULT if a
 * thread could not be created (then none runs). */
int la_bg_enable(bool on);
bool la_bg_enabled(void);
/* max_background_threads: -EINVAL if n is 0 or above opt.max_background_threads. */
int la_bg_set_max(size_t n);
size_t la_bg_get_max(void);
void la_bg_stats(size_t *nthreads, uint64_t *nruns, uint64_t *run_interval_ns);
la_mutex_t *la_bg_mutex(void);
/* Called once the allocator is ready: starts the threads if opt.background_thread. */
void la_bg_boot(void);
void la_bg_prefork(void);
void la_bg_postfork_parent(void);
void la_bg_postfork_child(void);

#endif
