/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Unit tests of the page map: ranges and ends map to their span, neighbours and unknown
 * addresses stay NULL, clearing works, and addresses in different gigabytes get leaves of
 * their own.
 */
#include "../../liballoc/src/core/pagemap.h"

#include <sys/mman.h>

#include "../common/check.h"

static la_span_t a, b;

static void range_maps_every_page(void)
{
        uintptr_t base = (uintptr_t)0x7f0000000000ull;
        EXPECT(la_pm_set_range(base, 8, &a) == 0);
        for (int i = 0; i < 8; i++) {
                EXPECT(la_pm_lookup((void *)(base + i * 4096)) == &a);
                EXPECT(la_pm_lookup((void *)(base + i * 4096 + 4095)) == &a);
        }
        EXPECT(la_pm_lookup((void *)(base - 1)) == NULL);
        EXPECT(la_pm_lookup((void *)(base + 8 * 4096)) == NULL);
        EXPECT(la_pm_set_range(base, 8, NULL) == 0);
        EXPECT(la_pm_lookup((void *)base) == NULL);
}

static void ends_map_first_and_last(void)
{
        uintptr_t base = (uintptr_t)0x7f0000100000ull;
        EXPECT(la_pm_set_ends(base, 5, &b) == 0);
        EXPECT(la_pm_lookup((void *)base) == &b);
        EXPECT(la_pm_lookup((void *)(base + 4 * 4096)) == &b);
        EXPECT(la_pm_lookup((void *)(base + 2 * 4096)) == NULL);
        EXPECT(la_pm_set_ends(base, 5, NULL) == 0);
}

static void separate_gigabytes(void)
{
        uintptr_t g1 = (uintptr_t)0x100000000000ull, g2 = g1 + ((uintptr_t)1 << 30);
        EXPECT(la_pm_set_ends(g1, 1, &a) == 0);
        EXPECT(la_pm_set_ends(g2, 1, &b) == 0);
        EXPECT(la_pm_lookup((void *)g1) == &a);
        EXPECT(la_pm_lookup((void *)g2) == &b);
        EXPECT(la_pm_lookup((void *)(g1 + ((uintptr_t)1 << 29))) == NULL);
        EXPECT(la_pm_mapped_bytes() >= 2 * sizeof(la_pm_leaf_t));
}

static void null_and_low_addresses(void)
{
        EXPECT(la_pm_lookup(NULL) == NULL);
        EXPECT(la_pm_lookup((void *)4096) == NULL);
        EXPECT(la_pm_lookup((void *)0x7ffffffff000ull) == NULL);
}

int main(void)
{
        RUN("unit/pagemap", range_maps_every_page);
        RUN("unit/pagemap", ends_map_first_and_last);
        RUN("unit/pagemap", separate_gigabytes);
        RUN("unit/pagemap", null_and_low_addresses);
        return check_finish();
}
