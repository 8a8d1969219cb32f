/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Unit tests of the size-class tables: the 36 small classes and their order are
 * jemalloc 5.3's, every class boundary maps the right way (the formula and both tables),
 * aligned usable sizes follow sz_sa2u, and the slab geometry holds whole blocks with
 * little waste.
 */
#include "../../liballoc/src/core/sizeclass.h"

#include <stdint.h>

#include "../common/check.h"

void la_sizeclass_init(void);

static const size_t jemalloc_small[LA_NBINS] = {
        8,    16,   32,   48,   64,   80,   96,   112,  128,  160,   192,   224,
        256,  320,  384,  448,  512,  640,  768,  896,  1024, 1280,  1536,  1792,
        2048, 2560, 3072, 3584, 4096, 5120, 6144, 7168, 8192, 10240, 12288, 14336,
};

static void small_classes_match_jemalloc(void)
{
        for (unsigned i = 0; i < LA_NBINS; i++)
                EXPECT_EQ(la_cls_size[i], jemalloc_small[i]);
        EXPECT_EQ(la_cls_size[LA_NBINS], 16384);
        EXPECT_EQ(la_cls_size[LA_NCLASSES - 1], 0x7000000000000000ull);
}

static void large_classes_four_per_doubling(void)
{
        EXPECT_EQ(la_cls_size[LA_NBINS + 1], 20480);
        EXPECT_EQ(la_cls_size[LA_NBINS + 2], 24576);
        EXPECT_EQ(la_cls_size[LA_NBINS + 3], 28672);
        EXPECT_EQ(la_cls_size[LA_NBINS + 4], 32768);
        EXPECT_EQ(la_cls_size[LA_NBINS + 5], 40960);
        for (unsigned i = 1; i < LA_NCLASSES; i++)
                EXPECT(la_cls_size[i] > la_cls_size[i - 1]);
        for (unsigned i = LA_NBINS; i < LA_NCLASSES; i++)
                EXPECT(la_cls_size[i] % 4096 == 0);
}

static void every_boundary_maps_to_its_class(void)
{
        EXPECT_EQ(la_size2cls(0), 0);
        for (unsigned i = 0; i < LA_NCLASSES; i++) {
                size_t sz = la_cls_size[i];
                EXPECT_EQ(la_size2cls(sz), i);
                EXPECT_EQ(la_size2cls_compute(sz), i);
                EXPECT_EQ(la_s2u(sz), sz);
                if (i + 1 < LA_NCLASSES) {
                        EXPECT_EQ(la_size2cls(sz + 1), i + 1);
                        EXPECT_EQ(la_s2u(sz + 1), la_cls_size[i + 1]);
                }
        }
        /* The byte table agrees with the formula for every size it covers. */
        for (size_t n = 0; n <= LA_LOOKUP_MAX; n++)
                EXPECT_EQ(la_size2cls_tab[(n + 7) >> 3], la_size2cls_compute(n));
        /* So does the table of the parked runs' classes (lcache.h), past LA_SMALL_MAX. */
        for (size_t n = LA_SMALL_MAX + 1; n <= LA_LCACHE_TAB_MAX; n++)
                EXPECT_EQ(LA_NBINS + la_lcache_cls_tab[(n - LA_SMALL_MAX - 1) >> 11],
                          la_size2cls_compute(n));
        EXPECT_EQ(la_lcache_cls_tab[sizeof(la_lcache_cls_tab) - 1], LA_LCACHE_NCLS - 1);
}

static void usable_sizes_measured_on_jemalloc(void)
{
        EXPECT_EQ(la_s2u(0), 8);
        EXPECT_EQ(la_s2u(9), 16);
        EXPECT_EQ(la_s2u(17), 32);
        EXPECT_EQ(la_s2u(100), 112);
        EXPECT_EQ(la_s2u(5000), 5120);
        EXPECT_EQ(la_s2u(16385), 20480);
        EXPECT_EQ(la_s2u((size_t)1 << 62), (size_t)1 << 62);
        EXPECT_EQ(la_s2u(SIZE_MAX), 0);
        EXPECT_EQ(la_s2u(0x7000000000000001ull), 0);
}

static void aligned_usable_sizes(void)
{
        EXPECT_EQ(la_sa2u(1, 64), 64);
        EXPECT_EQ(la_sa2u(65, 64), 128);
        EXPECT_EQ(la_sa2u(129, 64), 192);
        EXPECT_EQ(la_sa2u(100, 32), 128);
        EXPECT_EQ(la_sa2u(1, 4096), 4096);
        EXPECT_EQ(la_sa2u(1, 8192), 16384);
        EXPECT_EQ(la_sa2u(20000, 8192), 20480);
        EXPECT_EQ(la_sa2u(SIZE_MAX, 16), 0);
        /* Small results are multiples of the alignment, so page-aligned slabs align them. */
        for (size_t al = 8; al <= 4096; al <<= 1)
                for (size_t n = 1; n < 6000; n += 7) {
                        size_t u = la_sa2u(n, al);
                        EXPECT(u >= n);
                        if (u <= LA_SMALL_MAX)
                                EXPECT(u % al == 0);
                }
}

static void slab_geometry(void)
{
        for (unsigned i = 0; i < LA_NBINS; i++) {
                const la_bin_info_t *b = &la_bin_info[i];
                EXPECT(b->slab_size % 4096 == 0);
                EXPECT(b->slab_size >= 16384);
                EXPECT(b->nregs >= 2);
                EXPECT_EQ(b->nregs, b->slab_size / b->size);
                EXPECT((size_t)(b->slab_size - b->nregs * b->size) * 16 <= b->slab_size);
        }
}

int main(void)
{
        la_sizeclass_init();
        RUN("unit/sizeclass", small_classes_match_jemalloc);
        RUN("unit/sizeclass", large_classes_four_per_doubling);
        RUN("unit/sizeclass", every_boundary_maps_to_its_class);
        RUN("unit/sizeclass", usable_sizes_measured_on_jemalloc);
        RUN("unit/sizeclass", aligned_usable_sizes);
        RUN("unit/sizeclass", slab_geometry);
        return check_finish();
}
