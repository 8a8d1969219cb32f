/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * hooks: jemalloc's default extent hook table, as arena.<i>.extent_hooks returns it.
 */
#ifndef LA_HOOKS_H
#define LA_HOOKS_H

#include <jemalloc/jemalloc.h>

extern extent_hooks_t la_default_hooks;

#endif
