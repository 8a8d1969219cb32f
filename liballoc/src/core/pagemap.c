/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * pagemap: leaf creation.  Leaves are installed with a compare-and-swap so two threads
 * registering pages in the same gigabyte race safely; the loser unmaps its copy.
 */
#include "core/pagemap.h"

#include <errno.h>

#include "os/os.h"

_Atomic uintptr_t la_pm_top[1u << LA_PM_TOP_BITS];
static _Atomic size_t leaves_mapped;

static uintptr_t bias_of(uintptr_t top)
{
        return top << (LA_PM_LEAF_BITS + 3);
}

static LA_NOINLINE uintptr_t leaf_create(uintptr_t top);

/* The biased leaf for address a, mapping the leaf on first use; 0 on failure. */
static inline uintptr_t leaf_get(uintptr_t a)
{
        uintptr_t top = a >> LA_PM_LEAF_SHIFT;
        if (LA_UNLIKELY(top >= (1u << LA_PM_TOP_BITS)))
                return 0;
        uintptr_t biased = atomic_load_explicit(&la_pm_top[top], memory_order_acquire);
        if (LA_LIKELY(biased != 0))
                return biased;
        return leaf_create(top);
}

static uintptr_t leaf_create(uintptr_t top)
{
        la_pm_leaf_t *fresh = la_os_map(sizeof(la_pm_leaf_t), LA_PAGE);
        if (fresh == NULL)
                return 0;
        uintptr_t want = (uintptr_t)fresh - bias_of(top);
        if (want == 0) { /* cannot happen with real mmap addresses; refuse rather than lie */
                la_os_unmap(fresh, sizeof(la_pm_leaf_t));
                return 0;
        }
        uintptr_t expected = 0;
        if (atomic_compare_exchange_strong_explicit(&la_pm_top[top], &expected, want,
                                                    memory_order_acq_rel,
                                                    memory_order_acquire)) {
                atomic_fetch_add_explicit(&leaves_mapped, 1, memory_order_relaxed);
                return want;
        }
        la_os_unmap(fresh, sizeof(la_pm_leaf_t));
        return expected;
}

static int set_one(uintptr_t a, la_span_t *s)
{
        uintptr_t biased = leaf_get(a);
        if (biased == 0)
                return -ENOMEM;
        atomic_store_explicit((_Atomic(la_span_t *) *)(biased + ((a >> 12) << 3)), s,
                              memory_order_relaxed);
        return 0;
}

int la_pm_set_range(uintptr_t base, size_t npages, la_span_t *s)
{
        uintptr_t a = base, end = base + (npages << 12);
        while (a < end) {
                /* One leaf lookup per gigabyte the range touches. */
                uintptr_t biased = leaf_get(a);
                if (biased == 0)
                        return -ENOMEM;
                uintptr_t leaf_end = (a | (((uintptr_t)1 << LA_PM_LEAF_SHIFT) - 1)) + 1;
                uintptr_t stop = end < leaf_end ? end : leaf_end;
                for (; a < stop; a += LA_PAGE)
                        atomic_store_explicit(
                                (_Atomic(la_span_t *) *)(biased + ((a >> 12) << 3)), s,
                                memory_order_relaxed);
        }
        return 0;
}

int la_pm_set_ends(uintptr_t base, size_t npages, la_span_t *s)
{
        uintptr_t last = base + ((npages - 1) << 12);
        if (npages <= 1 || (base >> LA_PM_LEAF_SHIFT) != (last >> LA_PM_LEAF_SHIFT)) {
                int rc = set_one(base, s);
                return rc == 0 && npages > 1 ? set_one(last, s) : rc;
        }
        uintptr_t biased = leaf_get(base); /* both ends in one leaf: one look-up */
        if (biased == 0)
                return -ENOMEM;
        atomic_store_explicit((_Atomic(la_span_t *) *)(biased + ((base >> 12) << 3)), s,
                              memory_order_relaxed);
        atomic_store_explicit((_Atomic(la_span_t *) *)(biased + ((last >> 12) << 3)), s,
                              memory_order_relaxed);
        return 0;
}

void la_pm_clear_one(uintptr_t a)
{
        uintptr_t biased = atomic_load_explicit(&la_pm_top[a >> LA_PM_LEAF_SHIFT],
                                                memory_order_acquire);
        if (biased != 0)
                atomic_store_explicit((_Atomic(la_span_t *) *)(biased + ((a >> 12) << 3)),
                                      NULL, memory_order_relaxed);
}

size_t la_pm_mapped_bytes(void)
{
        return atomic_load_explicit(&leaves_mapped, memory_order_relaxed) *
               sizeof(la_pm_leaf_t);
}
