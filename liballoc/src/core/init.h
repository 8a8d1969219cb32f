/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * init: process start-up, done lazily by the first allocation or mallctl call, or by our
 * constructor, whichever comes first; safe when malloc is called before any constructor
 * ran and when something init calls allocates (that nested call is served from a small
 * static bootstrap buffer).
 */
#ifndef LA_INIT_H
#define LA_INIT_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>

extern _Atomic int la_init_state; /* 0 none, 1 running, 2 done */

/* True once liballoc can serve calls; false only for a call nested inside init itself. */
bool la_init_slow(void);
static inline bool la_ready(void)
{
        return atomic_load_explicit(&la_init_state, memory_order_acquire) == 2 || la_init_slow();
}

/* The bootstrap buffer: never freed, recognised by free(). */
void *la_boot_alloc(size_t size);
bool la_boot_owns(const void *p);
size_t la_boot_usable(const void *p);

#endif
