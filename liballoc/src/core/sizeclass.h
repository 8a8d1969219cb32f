/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * sizeclass: jemalloc 5.3's size classes on x86-64 (quantum 16, 4 KiB pages), so that
 * nallocx/sallocx/malloc_usable_size agree with jemalloc byte for byte: 36 small classes
 * (8 ... 14336) served from slabs, then 196 large classes (16 KiB ... 0x7000000000000000,
 * four per doubling).  Also the slab geometry of each small class.
 */
#ifndef LA_SIZECLASS_H
#define LA_SIZECLASS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "os/os.h"
#include "os/util.h"

#define LA_NBINS 36                          /* small classes */
#define LA_NCLASSES 232                      /* small + large */
#define LA_NLEXTENTS (LA_NCLASSES - LA_NBINS) /* 196 */
#define LA_LCACHE_NCLS 9 /* large classes thread heaps cache (lcache.h): 16 .. 64 KiB */
#define LA_SMALL_MAX ((size_t)14336)
#define LA_LARGE_MIN ((size_t)16384)
#define LA_LARGE_MAX ((size_t)0x7000000000000000ull)
#define LA_QUANTUM 16
#define LA_LOOKUP_MAX ((size_t)4096)          /* sizes served by the byte table */
#define LA_TCACHE_MAX_DEFAULT ((size_t)32768)
#define LA_CANARY_BYTES 8 /* hardened mode: a small block's canary (la_sizeclass_harden) */

/* size -> class for size <= LA_LOOKUP_MAX, indexed by (size + 7) >> 3.  Filled by
 * la_sizeclass_init() before the first allocation (and again by la_sizeclass_harden);
 * all zero before that (class 0), which is harmless because an uninitialised thread's
 * heap has no blocks. */
extern uint8_t la_size2cls_tab[(LA_LOOKUP_MAX >> 3) + 1];
/* size -> large class - LA_NBINS for LA_SMALL_MAX < size <= LA_LCACHE_TAB_MAX, indexed by
 * (size - LA_SMALL_MAX - 1) >> 11 (the classes there are multiples of 2 KiB past
 * LA_SMALL_MAX): the index of a thread heap's parked runs (lcache.h) for malloc's slow
 * path.  Filled by la_sizeclass_init(); all zero before, which is harmless because no
 * heap has parked a run then. */
#define LA_LCACHE_TAB_MAX ((size_t)65536)
extern uint8_t la_lcache_cls_tab[(LA_LCACHE_TAB_MAX - LA_SMALL_MAX) >> 11];
/* Usable size of each class (less the canary in the hardened mode). */
extern size_t la_cls_size[LA_NCLASSES];

typedef struct la_bin_info {
        uint32_t size;      /* bytes from one block to the next: the usable size of the
                               class, with its canary in the hardened mode */
        uint32_t nregs;     /* regions per slab */
        uint32_t slab_size; /* bytes, page multiple */
        /* ceil(2^32 / size): for an offset off below LA_DIV_MAGIC_LIMIT,
         * (off * div_magic) >> 32 is off / size when size divides off, and q * size != off
         * otherwise (checked for every class and every such offset), so a free checks a
         * block boundary with a multiply instead of a division (la_span_block_at). */
        uint32_t div_magic;
} la_bin_info_t;
/* Offsets the reciprocal is exact for: far above the largest slab (32 pages). */
#define LA_DIV_MAGIC_LIMIT ((uintptr_t)2 << 20)
extern la_bin_info_t la_bin_info[LA_NBINS];

void la_sizeclass_init(void);

/*
 * The hardened mode's classes (harden.h): every small block carries an 8-byte canary
 * right after its usable size, outside what nallocx and malloc_usable_size report.  A
 * class of at most LA_LOOKUP_MAX bytes keeps its blocks and gives 8 of them up
 * (la_cls_size[c] is then 8 less: 16 -> 8, 4096 -> 4088); the byte table maps each
 * request to the first class whose usable size holds it, so malloc's fast path and the
 * table's users need no test.  A larger small class keeps its usable size, which the
 * formula of la_size2cls_compute gives with no table, and its blocks grow by 16 bytes
 * (the canary and 8 bytes that keep them 16-byte aligned; la_bin_info[c].size).  Class
 * 0 keeps its 8 bytes in blocks 16 apart, and the table never maps to it.  Called once,
 * after the options are read and before the first heap or slab exists; never undone.
 */
void la_sizeclass_harden(void);
/* Whether la_sizeclass_harden ran. */
extern bool la_sizeclass_hardened;

/* Class of a request (any size <= LA_LARGE_MAX).  Size 0 maps to the 8-byte class. */
static inline unsigned la_size2cls_compute(size_t size)
{
        if (size <= 8)
                return 0;
        if (size <= 128)
                return (unsigned)((size + 15) >> 4);
        unsigned lg = la_lg_floor(size - 1);
        unsigned k = (unsigned)(((size - 1) - ((size_t)1 << lg)) >> (lg - 2));
        return 9 + (lg - 7) * 4 + k;
}

static inline unsigned la_size2cls(size_t size)
{
        if (LA_LIKELY(size <= LA_LOOKUP_MAX))
                return la_size2cls_tab[(size + 7) >> 3];
        return la_size2cls_compute(size);
}

/* Usable size of a request with no alignment; 0 if it is too large for any class. */
static inline size_t la_s2u(size_t size)
{
        if (LA_UNLIKELY(size > LA_LARGE_MAX))
                return 0;
        return la_cls_size[la_size2cls(size)];
}

/* Usable size of a request of size bytes aligned to align (power of two), exactly as
 * jemalloc's sz_sa2u; 0 on overflow.  In the hardened mode a small class serves an
 * alignment above 16 only where its block size is a multiple of it (canary included),
 * else the request is large. */
size_t la_sa2u(size_t size, size_t align);

#endif
