/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * hcache: the huge arena's freed mappings, kept for reuse.  jemalloc unmaps (purges) a
 * freed oversize allocation at once, so a program that frees and allocates blocks of
 * several MiB in a loop pays a mapping and a page fault per page every time.  The huge
 * arena keeps the mappings freed last instead, at most opt.huge_cache bytes (128 MiB), and hands
 * one back to the next huge allocation it fits (a larger one is trimmed, a smaller one
 * grown with mremap, both keeping their touched pages).  Kept pages count as the huge
 * arena's dirty pages and decay on jemalloc's curve over arenas.dirty_decay_ms (the huge
 * arena's own decay time is 0, as in jemalloc); arena.<i>.purge, arena.<i>.decay and a
 * memory-pressure purge unmap them all.  Off (jemalloc's behaviour) with huge_cache:0,
 * with dirty_decay_ms:0, and in the hardened mode (a freed huge block must fault).
 * Everything here runs under the huge arena's lock unless the name says otherwise.
 */
#ifndef LA_HCACHE_H
#define LA_HCACHE_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/decay.h"
#include "core/span.h"

struct la_arena;

typedef struct la_hcache {
        la_span_t *head, *tail; /* oldest first, through lru_next / lru_prev */
        size_t pages;           /* kept pages */
        _Atomic size_t hint;    /* pages, readable without the lock */
        unsigned n;             /* kept mappings */
        la_decay_t decay;       /* over arenas.dirty_decay_ms when the first was kept */
} la_hcache_t;

/* Huge mapping s of arena a was freed (its counts done, its page-map entry still set):
 * keeps it when the cache is on and s fits in it.  Returns what the caller must give
 * back once it dropped the lock (la_hcache_unmap): s itself when it was not kept, else
 * the older mappings the bound pushed out (or NULL). */
la_span_t *la_hcache_put_locked(struct la_arena *a, la_span_t *s);
/* A kept mapping of exactly usize bytes (trimmed or grown, with mremap), its descriptor
 * ready to be set up as a new huge allocation (base, map_size), or NULL when none is
 * kept.  Takes the lock. */
la_span_t *la_hcache_take(struct la_arena *a, size_t usize);
/* The decay step (all: everything kept now): takes off what the curve says has waited
 * long enough and returns it for la_hcache_unmap, counted as purged dirty pages. */
la_span_t *la_hcache_decay_locked(struct la_arena *a, uint64_t now, bool all);
/* Unmaps and frees the descriptors of a chain returned above.  No lock. */
void la_hcache_unmap(la_span_t *chain);
/* Pages kept now (stats: part of the huge arena's pdirty and resident). */
static inline size_t la_hcache_pages(const la_hcache_t *c)
{
        return atomic_load_explicit(&c->hint, memory_order_relaxed);
}

#endif
