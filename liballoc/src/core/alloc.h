/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * alloc: the generic allocation paths behind every exported entry point: the slow path of
 * malloc and free, flags of the *allocx family, alignment, realloc, usable sizes.  The
 * exported functions in api.c keep only the inline fast paths.
 */
#ifndef LA_ALLOC_H
#define LA_ALLOC_H

#include <stdbool.h>
#include <stddef.h>

#include "core/span.h"

/* Largest alignment served: half the 47-bit user address space.  Larger requests fail
 * (the region arithmetic would overflow). */
#define LA_ALIGN_MAX ((size_t)1 << 46)

/* Flags decoded from MALLOCX_* bits. */
typedef struct la_flags {
        size_t align;      /* 0: none */
        bool zero;
        bool tcache_none;  /* MALLOCX_TCACHE_NONE or an explicit tcache */
        int arena;         /* -1: automatic */
        unsigned tcache;   /* MALLOCX_TCACHE field: 0 default, 1 none, n + 2 cache n */
} la_flags_t;

static inline la_flags_t la_flags_decode(int flags)
{
        la_flags_t f;
        unsigned lg = (unsigned)flags & 0x3f;
        f.align = lg != 0 ? (size_t)1 << lg : 0;
        f.zero = (flags & 0x40) != 0;
        f.tcache_none = (((unsigned)flags >> 8) & 0xfff) != 0;
        f.arena = (int)((unsigned)flags >> 20) - 1;
        f.tcache = ((unsigned)flags >> 8) & 0xfff;
        return f;
}

/* malloc's slow path: sets errno to ENOMEM on failure. */
void *la_malloc_slow(size_t size);
/* Allocation with flags; NULL on failure (errno untouched). */
void *la_alloc_flags(size_t size, la_flags_t f);
/* A pointer that is no live allocation of liballoc, handed to fn ("free", "realloc"...):
 * aborts, warns once or returns, as opt.foreign_free says. */
void la_foreign_ptr(const char *fn, const void *p);
/* free's slow path. */
void la_free_slow(void *p, la_span_t *s); /* s: the page map's span for p, or NULL */
void la_free_any(void *p);
/* sdallocx's check: aborts unless p is the start of a block of span s and size (with
 * flags' alignment) names its class. */
void la_sized_check(const void *p, const la_span_t *s, size_t size, int flags);
/* realloc-style resize; NULL on failure with p untouched. */
void *la_realloc_flags(void *p, size_t size, la_flags_t f);
/* In-place resize for xallocx; returns the resulting usable size. */
size_t la_xalloc(void *p, size_t size, size_t extra, la_flags_t f);
/* Usable size of a live allocation; 0 for NULL or foreign pointers. */
size_t la_usable_size(const void *p);
/* Usable size mallocx(size, flags) would give; 0 if too large. */
size_t la_nalloc(size_t size, la_flags_t f);

#endif
