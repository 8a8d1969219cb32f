/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * sizeclass: builds the class tables at start-up and chooses slab sizes.  A slab is the
 * smallest page multiple of at least LA_MIN_SLAB bytes (so refills stay rare) that wastes
 * at most 1/64 of itself at the tail; small slabs keep RSS low because blocks are carved
 * lazily, 4 KiB at a time.
 */
#include "core/sizeclass.h"

uint8_t la_size2cls_tab[(LA_LOOKUP_MAX >> 3) + 1];
size_t la_cls_size[LA_NCLASSES];
uint8_t la_lcache_cls_tab[(LA_LCACHE_TAB_MAX - LA_SMALL_MAX) >> 11];
la_bin_info_t la_bin_info[LA_NBINS];
bool la_sizeclass_hardened;

#define LA_MIN_SLAB ((size_t)16384)
#define LA_MAX_SLAB_PAGES 32

static size_t class_size(unsigned idx)
{
        if (idx == 0)
                return 8;
        if (idx <= 8)
                return (size_t)idx * 16;
        unsigned j = idx - 9;
        unsigned lg = 7 + j / 4;
        unsigned k = j % 4;
        return ((size_t)1 << lg) + ((size_t)(k + 1) << (lg - 2));
}

static uint32_t slab_pages(size_t size)
{
        size_t min_pages = LA_MIN_SLAB / LA_PAGE;
        if (2 * size > LA_MIN_SLAB)
                min_pages = (2 * size + LA_PAGE - 1) / LA_PAGE;
        for (size_t n = min_pages; n <= LA_MAX_SLAB_PAGES; n++) {
                size_t bytes = n * LA_PAGE;
                if ((bytes % size) * 64 <= bytes)
                        return (uint32_t)n;
        }
        /* No page count in range wastes little enough: take the best one. */
        size_t best = min_pages, best_waste = (size_t)-1;
        for (size_t n = min_pages; n <= LA_MAX_SLAB_PAGES; n++) {
                size_t waste = (n * LA_PAGE) % size;
                if (waste * best < best_waste * n) {
                        best = n;
                        best_waste = waste;
                }
        }
        return (uint32_t)best;
}

/* Slab geometry of class i for blocks of size bytes apart. */
static void bin_geometry(unsigned i, size_t size)
{
        uint32_t pages = slab_pages(size);
        la_bin_info[i].size = (uint32_t)size;
        la_bin_info[i].slab_size = pages * (uint32_t)LA_PAGE;
        la_bin_info[i].nregs = (uint32_t)(pages * LA_PAGE / size);
        la_bin_info[i].div_magic = (uint32_t)((((uint64_t)1 << 32) + size - 1) / size);
}

void la_sizeclass_init(void)
{
        for (unsigned i = 0; i < LA_NCLASSES; i++)
                la_cls_size[i] = class_size(i);
        for (size_t i = 0; i <= (LA_LOOKUP_MAX >> 3); i++)
                la_size2cls_tab[i] = (uint8_t)la_size2cls_compute(i << 3);
        for (size_t i = 0; i < sizeof(la_lcache_cls_tab); i++) {
                size_t top = LA_SMALL_MAX + ((i + 1) << 11); /* the largest size of entry i */
                la_lcache_cls_tab[i] = (uint8_t)(la_size2cls_compute(top) - LA_NBINS);
        }
        for (unsigned i = 0; i < LA_NBINS; i++)
                bin_geometry(i, la_cls_size[i]);
}

void la_sizeclass_harden(void)
{
        bin_geometry(0, 2 * LA_CANARY_BYTES); /* room for a canary, though unused */
        for (unsigned i = 1; i < LA_NBINS; i++) {
                size_t size = class_size(i);
                if (size <= LA_LOOKUP_MAX) {
                        la_cls_size[i] = size - LA_CANARY_BYTES;
                } else {
                        la_cls_size[i] = size;
                        bin_geometry(i, size + 2 * LA_CANARY_BYTES);
                }
        }
        /* Each request to the first class (from 1) whose usable size holds it; size 0 as
         * size 1.  The usable sizes still grow with the class. */
        unsigned c = 1;
        for (size_t i = 0; i <= (LA_LOOKUP_MAX >> 3); i++) {
                size_t want = i == 0 ? 1 : i << 3;
                while (la_cls_size[c] < want)
                        c++;
                la_size2cls_tab[i] = (uint8_t)c;
        }
        la_sizeclass_hardened = true;
}

/* la_sa2u's small classes in the hardened mode, for align above 16: the class whose
 * block (usable size and canary) is the multiple of align that holds size and the canary,
 * as long as it is one of the classes that kept their blocks (at most LA_LOOKUP_MAX
 * bytes: the larger ones are only 16-byte aligned); 0 when there is none. */
static size_t hardened_sa2u_small(size_t size, size_t align)
{
        size_t block = la_align_up(size + LA_CANARY_BYTES, align);
        if (block > LA_LOOKUP_MAX)
                return 0;
        return la_s2u(block - LA_CANARY_BYTES);
}

size_t la_sa2u(size_t size, size_t align)
{
        if (align <= LA_PAGE && size <= LA_SMALL_MAX) {
                if (LA_UNLIKELY(la_sizeclass_hardened) && align > LA_QUANTUM) {
                        size_t usize = hardened_sa2u_small(size, align);
                        if (usize != 0)
                                return usize;
                } else {
                        size_t usize = la_s2u(la_align_up(size, align));
                        if (usize < LA_LARGE_MIN)
                                return usize;
                }
        }
        if (align > LA_PAGE && size <= LA_LARGE_MIN) /* aligned large: at least a page run */
                size = LA_LARGE_MIN;
        if (size > LA_LARGE_MAX)
                return 0;
        size_t usize = size <= LA_LARGE_MIN ? LA_LARGE_MIN : la_s2u(size);
        if (usize == 0 || usize + la_align_up(align, LA_PAGE) - LA_PAGE < usize)
                return 0;
        return usize;
}
