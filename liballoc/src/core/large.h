/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * large: allocations above the small classes.  Large ones (16 KiB up to the oversize
 * threshold, 8 MiB by default) are page runs from an arena and can grow or shrink in place
 * into free neighbours; huge ones get a mapping of their own, released with munmap and
 * resized with mremap, charged to the huge arena as jemalloc does.
 */
#ifndef LA_LARGE_H
#define LA_LARGE_H

#include <stdbool.h>
#include <stddef.h>

#include "core/arena.h"
#include "core/span.h"

/* usize bytes (a large class) aligned to align; NULL when out of memory. */
void *la_large_alloc(la_arena_t *a, bool arena_explicit, size_t usize, size_t align, bool zero);
void la_large_free(la_span_t *s);
/* A sampled small object (prof.h): a page run of its own holding usize bytes (a small
 * class), counted as an allocation of the smallest large class, as jemalloc promotes
 * sampled objects.  Usable size reads usize; align 0 or a power of two. */
void *la_large_alloc_sampled_small(la_arena_t *a, size_t usize, size_t align, bool zero);
/* Resizes in place to new_usize (a large class); true on success.  Bytes past the old
 * size are zeroed when zero is set. */
bool la_large_resize(la_span_t *s, size_t new_usize, bool zero);
#ifndef LA_GUARD_EVERY
#define LA_GUARD_EVERY 64 /* hardened mode: one large run in this many gets a guard page */
#endif
/* Makes a large run's guard page (hardened mode) accessible again: before the run is
 * freed. */
void la_large_unguard(la_span_t *s);
/* Moves a huge allocation with mremap; NULL if it cannot. */
void *la_huge_remap(la_span_t *s, size_t new_usize);

#endif
