/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * pagemap: address -> span for every 4 KiB page liballoc manages.  Two levels: a static
 * top array indexed by address bits 30..47 (2 MiB of BSS, touched sparsely) and leaves of
 * 2^18 entries (2 MiB each, mapped lazily, so 8 bytes per managed page).  Foreign pointers
 * (not ours) look up as NULL, which is what lets free() ignore them safely.
 */
#ifndef LA_PAGEMAP_H
#define LA_PAGEMAP_H

#include <stdatomic.h>
#include <stdint.h>

#include "core/span.h"

#define LA_PM_LEAF_BITS 18
#define LA_PM_TOP_BITS 18 /* 48-bit address space: every user-space pointer on x86-64 */
#define LA_PM_LEAF_SHIFT (12 + LA_PM_LEAF_BITS)

typedef _Atomic(la_span_t *) la_pm_leaf_t[1u << LA_PM_LEAF_BITS];
/* Top entries hold each leaf's address biased by minus its first page number times the
 * entry size, so that entry = *(biased + (p >> 12) * 8): the lookup needs no mask.  0 means
 * no leaf (a biased address cannot be 0: leaves live far above 2^39). */
extern _Atomic uintptr_t la_pm_top[1u << LA_PM_TOP_BITS];

/* The span of the page holding p, or NULL.  p must be a user-space address (below 2^48,
 * as every pointer malloc can be handed on x86-64); the fast path does not check it. */
static inline la_span_t *la_pm_lookup(const void *p)
{
        uintptr_t a = (uintptr_t)p;
        uintptr_t biased = atomic_load_explicit(&la_pm_top[a >> LA_PM_LEAF_SHIFT],
                                                memory_order_acquire);
        if (LA_UNLIKELY(biased == 0))
                return NULL;
        return atomic_load_explicit((_Atomic(la_span_t *) *)(biased + ((a >> 12) << 3)),
                                    memory_order_relaxed);
}

/* Maps the npages pages from base to s (s may be NULL to clear).  Returns 0, or -ENOMEM
 * when a leaf cannot be mapped. */
int la_pm_set_range(uintptr_t base, size_t npages, la_span_t *s);
/* Maps just the first and last page (large spans and free runs). */
int la_pm_set_ends(uintptr_t base, size_t npages, la_span_t *s);
/* Forgets the page at a (a page liballoc manages: its leaf exists). */
void la_pm_clear_one(uintptr_t a);
/* Address space of the leaves mapped (they are touched sparsely). */
size_t la_pm_mapped_bytes(void);

#endif
