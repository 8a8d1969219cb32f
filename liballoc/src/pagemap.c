/*
 * pagemap: leaf creation.  Leaves are installed with a compare-and-swap so two threads
 * registering pages in the same gigabyte race safely; the loser unmaps its copy.
 */
#include "pagemap.h"

#include <errno.h>

#include "os.h"

_Atomic(la_pm_leaf_t *) la_pm_top[1u << LA_PM_TOP_BITS];
static _Atomic size_t leaves_mapped;

static la_pm_leaf_t *leaf_get(uintptr_t a)
{
        uintptr_t top = a >> LA_PM_LEAF_SHIFT;
        if (top >= (1u << LA_PM_TOP_BITS))
                return NULL;
        la_pm_leaf_t *leaf = atomic_load_explicit(&la_pm_top[top], memory_order_acquire);
        if (leaf != NULL)
                return leaf;
        la_pm_leaf_t *fresh = la_os_map(sizeof(la_pm_leaf_t), LA_PAGE);
        if (fresh == NULL)
                return NULL;
        la_pm_leaf_t *expected = NULL;
        if (atomic_compare_exchange_strong_explicit(&la_pm_top[top], &expected, fresh,
                                                    memory_order_acq_rel,
                                                    memory_order_acquire)) {
                atomic_fetch_add_explicit(&leaves_mapped, 1, memory_order_relaxed);
                return fresh;
        }
        la_os_unmap(fresh, sizeof(la_pm_leaf_t));
        return expected;
}

static int set_one(uintptr_t a, la_span_t *s)
{
        la_pm_leaf_t *leaf = leaf_get(a);
        if (leaf == NULL)
                return -ENOMEM;
        atomic_store_explicit(&(*leaf)[(a >> 12) & ((1u << LA_PM_LEAF_BITS) - 1)], s,
                              memory_order_relaxed);
        return 0;
}

int la_pm_set_range(uintptr_t base, size_t npages, la_span_t *s)
{
        for (size_t i = 0; i < npages; i++) {
                int rc = set_one(base + (i << 12), s);
                if (rc != 0)
                        return rc;
        }
        return 0;
}

int la_pm_set_ends(uintptr_t base, size_t npages, la_span_t *s)
{
        int rc = set_one(base, s);
        if (rc == 0 && npages > 1)
                rc = set_one(base + ((npages - 1) << 12), s);
        return rc;
}

size_t la_pm_mapped_bytes(void)
{
        return atomic_load_explicit(&leaves_mapped, memory_order_relaxed) *
               sizeof(la_pm_leaf_t);
}
