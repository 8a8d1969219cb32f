/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * tcache: explicit thread caches (tcache.create / flush / destroy, MALLOCX_TCACHE(n)).
 * Each one is a heap of its own, bound to the creating thread's arena, used by whichever
 * thread names it (jemalloc's contract: never by two threads at once).  Blocks freed
 * into its slabs by anyone come back to it through the slabs' remote-free lists.
 */
#ifndef LA_TCACHE_H
#define LA_TCACHE_H

#include "core/heap.h"

#define LA_TCACHES_MAX 4094 /* ids MALLOCX_TCACHE can encode */

/* New cache id; -EAGAIN when none is free or out of memory. */
int la_tcache_create(unsigned *ret_id);
/* An id not in use is a no-op (0), as in jemalloc; -EFAULT beyond the id range. */
int la_tcache_flush(unsigned id);
int la_tcache_destroy(unsigned id);
/* The cache's heap, or NULL for an id not in use. */
la_heap_t *la_tcache_heap(unsigned id);
/* Number of caches bound to arena ind (arena.<i>.reset refuses while any is). */
unsigned la_tcache_count_bound(unsigned ind);
void la_tcache_prefork(void);
void la_tcache_postfork_parent(void);
void la_tcache_postfork_child(void);

#endif
