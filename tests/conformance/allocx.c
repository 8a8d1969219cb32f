/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Conformance of the non-standard *allocx family and the header (jemalloc(3), liballoc(3)):
 * header macro values (MALLOCX_ALIGN(4096)=0xc, MALLOCX_TCACHE(0)=0x200,
 * MALLOCX_ARENA(3)=0x400000, MALLOCX_TCACHE_NONE=0x100, version macros, ...); mallocx with
 * every MALLOCX_ALIGN / MALLOCX_LG_ALIGN up to 1 MiB, MALLOCX_ZERO, MALLOCX_TCACHE_NONE and
 * MALLOCX_ARENA(i) for an arena from arenas.create; mallocx(0) and too-large requests;
 * rallocx keeping contents across moves, zeroing growth past the old usable size with
 * MALLOCX_ZERO, honouring alignment, and failing without touching the block; xallocx
 * (small objects stay in their class, large ones report either the old usable size or a
 * new one >= the request); sallocx; dallocx; sdallocx with every size in
 * [request, usable]; nallocx (0 past the largest class, aligned sizes, flags ignored).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <jemalloc/jemalloc.h>

#include "impl.h"

#define MiB ((size_t)1 << 20)
#define LARGE_MAXCLASS ((size_t)0x7000000000000000ULL)
#define SENTINEL_ERRNO EDOM

static size_t first_nonzero(const void *p, size_t from, size_t to)
{
        const unsigned char *c = launder(p);
        for (size_t i = from; i < to; i++)
                if (c[i] != 0)
                        return i;
        return SIZE_MAX;
}

static int cmp_ptr(const void *a, const void *b)
{
        uintptr_t x = (uintptr_t) * (void *const *)a, y = (uintptr_t) * (void *const *)b;
        return x < y ? -1 : x > y;
}

/*
 * Allocates n blocks of size sz with flags, checks each has the expected usable size and
 * that no two overlap, then frees them.  Used after sized/flagged frees to detect a region
 * returned to the wrong place.
 */
static void heap_sane(const char *what, size_t sz, int flags, size_t n)
{
        void **p = calloc(n, sizeof(*p));
        size_t want = nallocx(sz, flags);

        if (!EXPECTF(p != NULL, "%s: calloc failed", what))
                return;
        for (size_t i = 0; i < n; i++) {
                p[i] = mallocx(sz, flags);
                if (!EXPECTF(p[i] != NULL, "%s: mallocx(%zu) = NULL", what, sz))
                        break;
                EXPECTF(sallocx(p[i], 0) == want, "%s: sallocx %zu, want %zu", what,
                       sallocx(p[i], 0), want);
                memset(p[i], (int)(i & 0xff), sz);
        }
        qsort(p, n, sizeof(*p), cmp_ptr);
        for (size_t i = 0; i + 1 < n; i++)
                if (p[i] != NULL)
                        EXPECTF((uintptr_t)p[i] + want <= (uintptr_t)p[i + 1],
                               "%s: blocks %p and %p overlap", what, p[i], p[i + 1]);
        for (size_t i = 0; i < n; i++)
                if (p[i] != NULL)
                        dallocx(p[i], flags);
        free(p);
}

static void test_macros(void)
{
        CHECK_EQ("header/MALLOCX_ALIGN_4096", MALLOCX_ALIGN(4096), 0xc);
        CHECK_EQ("header/MALLOCX_ALIGN_1", MALLOCX_ALIGN(1), 0);
        CHECK_EQ("header/MALLOCX_ALIGN_16", MALLOCX_ALIGN(16), 4);
        CHECK_EQ("header/MALLOCX_ALIGN_1MiB", MALLOCX_ALIGN(MiB), 20);
        CHECK_EQ("header/MALLOCX_ALIGN_2^33", MALLOCX_ALIGN((size_t)1 << 33), 33);
        CHECK_EQ("header/MALLOCX_LG_ALIGN_12", MALLOCX_LG_ALIGN(12), 12);
        CHECK_EQ("header/MALLOCX_ZERO", MALLOCX_ZERO, 0x40);
        CHECK_EQ("header/MALLOCX_TCACHE_0", MALLOCX_TCACHE(0), 0x200);
        CHECK_EQ("header/MALLOCX_TCACHE_5", MALLOCX_TCACHE(5), 0x700);
        CHECK_EQ("header/MALLOCX_TCACHE_NONE", MALLOCX_TCACHE_NONE, 0x100);
        CHECK_EQ("header/MALLOCX_ARENA_0", MALLOCX_ARENA(0), 0x100000);
        CHECK_EQ("header/MALLOCX_ARENA_3", MALLOCX_ARENA(3), 0x400000);
        CHECK_EQ("header/MALLCTL_ARENAS_ALL", MALLCTL_ARENAS_ALL, 4096);
        CHECK_EQ("header/MALLCTL_ARENAS_DESTROYED", MALLCTL_ARENAS_DESTROYED, 4097);
        CHECK_STR("header/JEMALLOC_VERSION", JEMALLOC_VERSION,
                  "5.3.0-0-g54eaed1d8b56b1aa528be3bdd1877e59c56fa90c");
        CHECK_EQ("header/JEMALLOC_VERSION_MAJOR", JEMALLOC_VERSION_MAJOR, 5);
        CHECK_EQ("header/JEMALLOC_VERSION_MINOR", JEMALLOC_VERSION_MINOR, 3);
        CHECK_EQ("header/JEMALLOC_VERSION_BUGFIX", JEMALLOC_VERSION_BUGFIX, 0);
        CHECK_EQ("header/JEMALLOC_VERSION_NREV", JEMALLOC_VERSION_NREV, 0);
        CHECK_STR("header/JEMALLOC_VERSION_GID", JEMALLOC_VERSION_GID,
                  "54eaed1d8b56b1aa528be3bdd1877e59c56fa90c");
        CHECK_EQ("header/LG_SIZEOF_PTR", LG_SIZEOF_PTR, 3);
#if defined(JEMALLOC_OVERRIDE_MEMALIGN) && defined(JEMALLOC_OVERRIDE_VALLOC)
        CHECK("header/override_memalign_valloc_defined", true);
#else
        CHECK("header/override_memalign_valloc_defined", false);
#endif
}

static void test_mallocx_basic(void)
{
        void *p = mallocx(opaque(0), 0);
        CHECK("mallocx/size0_nonnull", p != NULL);
        CHECK_EQ("mallocx/size0_usable_8", p ? sallocx(p, 0) : 0, 8);
        if (p)
                dallocx(p, 0);

        GROUP_BEGIN("mallocx/usable_matches_nallocx");
        for (size_t n = 1; n < 40 * MiB; n += 1 + n / 3) {
                p = mallocx(opaque(n), 0);
                if (!EXPECTF(p != NULL, "mallocx(%zu) = NULL", n))
                        continue;
                EXPECTF(sallocx(p, 0) == nallocx(n, 0) && sallocx(p, 0) >= n,
                       "mallocx(%zu): sallocx %zu nallocx %zu", n, sallocx(p, 0), nallocx(n, 0));
                EXPECTF(malloc_usable_size(p) == sallocx(p, 0),
                       "mallocx(%zu): malloc_usable_size %zu != sallocx %zu", n,
                       malloc_usable_size(p), sallocx(p, 0));
                EXPECTF(sallocx(p, MALLOCX_ALIGN(64)) == sallocx(p, 0),
                       "sallocx(%zu) depends on flags", n);
                memset(p, 0x3c, n);
                dallocx(p, 0);
        }
        GROUP_END();

        static const size_t bad[] = {SIZE_MAX, (size_t)PTRDIFF_MAX + 1, LARGE_MAXCLASS + 1,
                                     SIZE_MAX - 4095};
        GROUP_BEGIN("mallocx/too_large_null");
        for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
                errno = SENTINEL_ERRNO;
                p = mallocx(opaque(bad[i]), 0);
                int e = errno;
                EXPECTF(p == NULL, "mallocx(%zu) = %p", bad[i], p);
                /* jemalloc never sets errno here; liballoc may report ENOMEM. */
                EXPECTF(e == SENTINEL_ERRNO || (!impl_is_jemalloc() && e == ENOMEM),
                       "mallocx(%zu): errno %d", bad[i], e);
                if (p)
                        dallocx(p, 0);
        }
        p = mallocx(opaque((size_t)1 << 62), 0);
        EXPECTF(p == NULL, "mallocx(1<<62) = %p", p);
        p = mallocx(opaque(SIZE_MAX), MALLOCX_ALIGN(64) | MALLOCX_ZERO);
        EXPECTF(p == NULL, "mallocx(SIZE_MAX, ALIGN(64)|ZERO) = %p", p);
        p = mallocx(opaque(1), MALLOCX_LG_ALIGN(62));
        EXPECTF(p == NULL, "mallocx(1, LG_ALIGN(62)) = %p", p);
        GROUP_END();
}

static void test_mallocx_align(void)
{
        GROUP_BEGIN("mallocx/align_1_to_1MiB");
        for (unsigned lg = 0; lg <= 20; lg++) {
                size_t al = (size_t)1 << lg;
                const size_t sizes[] = {1, al / 2 + 1, al, al + 1, 3 * al, 5000};
                const int flagsets[] = {MALLOCX_ALIGN(al), MALLOCX_LG_ALIGN(lg),
                                        MALLOCX_ALIGN(al) | MALLOCX_TCACHE_NONE,
                                        MALLOCX_LG_ALIGN(lg) | MALLOCX_ZERO};
                for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
                        for (size_t f = 0; f < sizeof(flagsets) / sizeof(flagsets[0]); f++) {
                                size_t n = sizes[i];
                                int flags = flagsets[f];
                                void *p = mallocx(opaque(n), flags);
                                if (!EXPECTF(p != NULL, "mallocx(%zu, 0x%x) = NULL", n, flags))
                                        continue;
                                EXPECTF(aligned_to(p, al), "mallocx(%zu, 0x%x) = %p", n, flags, p);
                                size_t us = sallocx(p, 0);
                                EXPECTF(us >= n && us == nallocx(n, flags),
                                       "mallocx(%zu, 0x%x): sallocx %zu, nallocx %zu", n, flags, us,
                                       nallocx(n, flags));
                                if (flags & MALLOCX_ZERO)
                                        EXPECTF(first_nonzero(p, 0, us) == SIZE_MAX,
                                               "mallocx(%zu, 0x%x) not zeroed", n, flags);
                                memset(p, 0x5a, n);
                                dallocx(p, flags);
                        }
                }
        }
        GROUP_END();

        /* Measured jemalloc 5.3.0 values: the usable size of an aligned request is a size
         * class >= the request, not rounded up to the alignment for large alignments. */
        static const struct {
                size_t n, al, want;
        } ex[] = {
                {1, 64, 64},      {100, 64, 128},  {5000, 4096, 8192},   {1, 4096, 4096},
                {1, 8192, 16384}, {1, MiB, 16384}, {20000, 4096, 20480},
        };
        for (size_t i = 0; i < sizeof(ex) / sizeof(ex[0]); i++)
                CHECK_EQ(cname("nallocx/aligned_%zu_al%zu_is_%zu", ex[i].n, ex[i].al, ex[i].want),
                         nallocx(opaque(ex[i].n), MALLOCX_ALIGN(ex[i].al)), ex[i].want);
}

static void test_nallocx(void)
{
        CHECK_EQ("nallocx/size_max_0", nallocx(opaque(SIZE_MAX), 0), 0);
        CHECK_EQ("nallocx/size0_8", nallocx(opaque(0), 0), 8);
        CHECK_EQ("nallocx/max_plus_1_0", nallocx(opaque(LARGE_MAXCLASS + 1), 0), 0);
        CHECK_EQ("nallocx/size_max_aligned_0", nallocx(opaque(SIZE_MAX), MALLOCX_ALIGN(4096)), 0);
        GROUP_BEGIN("nallocx/non_alignment_flags_ignored");
        for (size_t n = 1; n < 10 * MiB; n = n * 2 + 3)
                EXPECTF(nallocx(n, MALLOCX_ZERO | MALLOCX_TCACHE_NONE) == nallocx(n, 0),
                       "nallocx(%zu, ZERO|TCACHE_NONE) = %zu, nallocx(%zu, 0) = %zu", n,
                       nallocx(n, MALLOCX_ZERO | MALLOCX_TCACHE_NONE), n, nallocx(n, 0));
        GROUP_END();
}

/* Dirty a size's free regions so that zeroing is actually exercised. */
static void dirty_pool(size_t n, int count)
{
        void *p[64];
        if (count > 64)
                count = 64;
        for (int i = 0; i < count; i++) {
                p[i] = mallocx(n, 0);
                if (p[i])
                        memset(p[i], 0xa5, sallocx(p[i], 0));
        }
        for (int i = 0; i < count; i++)
                if (p[i])
                        dallocx(p[i], 0);
}

static void test_zero(void)
{
        static const size_t sizes[] = {1, 8, 100, 3000, 14336, 20000, 100000, 3 * MiB, 10 * MiB};

        GROUP_BEGIN("mallocx/zero_fills_usable");
        for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
                dirty_pool(sizes[i], sizes[i] > MiB ? 2 : 32);
                for (int k = 0; k < 4; k++) {
                        void *p = mallocx(opaque(sizes[i]), MALLOCX_ZERO);
                        if (!EXPECTF(p != NULL, "mallocx(%zu, ZERO) = NULL", sizes[i]))
                                continue;
                        size_t us = sallocx(p, 0), nz = first_nonzero(p, 0, us);
                        EXPECTF(nz == SIZE_MAX, "mallocx(%zu, ZERO): byte %zu of %zu nonzero",
                               sizes[i], nz, us);
                        memset(p, 0xa5, us);
                        dallocx(p, 0);
                }
        }
        GROUP_END();

        /* rallocx growth with MALLOCX_ZERO: bytes past the old usable size are zero. */
        static const size_t chain[] = {1, 100, 5000, 16385, 40000, 200000, 9 * MiB, 20 * MiB};
        GROUP_BEGIN("rallocx/zero_growth_past_old_usable");
        for (size_t i = 0; i + 1 < sizeof(chain) / sizeof(chain[0]); i++)
                dirty_pool(chain[i + 1], chain[i + 1] > MiB ? 2 : 16);
        void *p = mallocx(chain[0], 0);
        size_t req = chain[0];
        if (p)
                fill(p, sallocx(p, 0), 9);
        for (size_t i = 1; p != NULL && i < sizeof(chain) / sizeof(chain[0]); i++) {
                size_t old_us = sallocx(p, 0);
                void *q = rallocx(p, opaque(chain[i]), MALLOCX_ZERO);
                if (!EXPECTF(q != NULL, "rallocx(%zu -> %zu, ZERO) = NULL", req, chain[i]))
                        break;
                p = q;
                size_t us = sallocx(p, 0), nz = first_nonzero(p, old_us, us);
                EXPECTF(verify(p, req, 9), "rallocx(%zu -> %zu, ZERO) lost contents", req, chain[i]);
                EXPECTF(nz == SIZE_MAX,
                       "rallocx(%zu -> %zu, ZERO): byte %zu nonzero (old usable %zu)", req,
                       chain[i], nz, old_us);
                req = chain[i];
                fill(p, us, 9);
        }
        if (p)
                dallocx(p, 0);

        /* Shrink (likely in place), dirty, then grow back with ZERO. */
        p = mallocx(40960, 0);
        if (EXPECTF(p != NULL, "mallocx(40960) = NULL")) {
                memset(p, 0xaa, 40960);
                void *q = rallocx(p, 20480, 0);
                if (EXPECTF(q != NULL, "rallocx shrink = NULL")) {
                        p = q;
                        size_t old_us = sallocx(p, 0);
                        memset(p, 0xbb, old_us);
                        q = rallocx(p, 40960, MALLOCX_ZERO);
                        if (EXPECTF(q != NULL, "rallocx regrow = NULL")) {
                                p = q;
                                size_t nz = first_nonzero(p, old_us, sallocx(p, 0));
                                EXPECTF(nz == SIZE_MAX, "shrink+regrow: byte %zu nonzero", nz);
                        }
                }
                dallocx(p, 0);
        }
        GROUP_END();
}

static void test_rallocx(void)
{
        static const size_t chain[] = {1,   9,       100,     4096,  5000, 14336,    16385, 100000,
                                       MiB, 9 * MiB, 2 * MiB, 20000, 30,   12 * MiB, 64,    8};
        GROUP_BEGIN("rallocx/contents_preserved");
        size_t cur = chain[0];
        void *p = mallocx(cur, 0);
        if (p)
                fill(p, cur, 21);
        for (size_t i = 1; p != NULL && i < sizeof(chain) / sizeof(chain[0]); i++) {
                size_t n = chain[i];
                void *q = rallocx(p, opaque(n), 0);
                if (!EXPECTF(q != NULL, "rallocx(%zu -> %zu) = NULL", cur, n))
                        break;
                p = q;
                EXPECTF(verify(p, n < cur ? n : cur, 21), "rallocx(%zu -> %zu) lost contents", cur,
                       n);
                EXPECTF(sallocx(p, 0) == nallocx(n, 0), "rallocx(%zu -> %zu): sallocx %zu", cur, n,
                       sallocx(p, 0));
                fill(p, n, 21);
                cur = n;
        }
        if (p)
                dallocx(p, 0);
        GROUP_END();

        GROUP_BEGIN("rallocx/alignment_honoured");
        p = mallocx(100, 0);
        cur = 100;
        if (p)
                fill(p, cur, 4);
        for (unsigned lg = 4; p != NULL && lg <= 20; lg++) {
                size_t al = (size_t)1 << lg, n = (lg & 1) ? 3 * al : 200;
                int flags = MALLOCX_LG_ALIGN(lg);
                void *q = rallocx(p, n, flags);
                if (!EXPECTF(q != NULL, "rallocx(%zu, al %zu) = NULL", n, al))
                        break;
                p = q;
                EXPECTF(aligned_to(p, al), "rallocx(%zu, al %zu) = %p", n, al, p);
                EXPECTF(verify(p, n < cur ? n : cur, 4), "rallocx(%zu, al %zu) lost contents", n,
                       al);
                EXPECTF(sallocx(p, 0) == nallocx(n, flags), "rallocx(%zu, al %zu): sallocx %zu", n,
                       al, sallocx(p, 0));
                fill(p, n, 4);
                cur = n;
        }
        if (p)
                dallocx(p, 0);
        GROUP_END();

        static const size_t start[] = {100, 20480, 9 * MiB};
        static const size_t bad[] = {SIZE_MAX, (size_t)PTRDIFF_MAX + 1, LARGE_MAXCLASS + 1,
                                     (size_t)1 << 62};
        GROUP_BEGIN("rallocx/failure_leaves_block");
        for (size_t s = 0; s < sizeof(start) / sizeof(start[0]); s++) {
                p = mallocx(start[s], 0);
                if (!EXPECTF(p != NULL, "mallocx(%zu) = NULL", start[s]))
                        continue;
                fill(p, start[s], 6);
                size_t us = sallocx(p, 0);
                for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
                        void *q = rallocx(p, opaque(bad[i]), 0);
                        EXPECTF(q == NULL, "rallocx(%zu -> %zu) = %p", start[s], bad[i], q);
                        if (q != NULL) {
                                p = q;
                                continue;
                        }
                        EXPECTF(sallocx(p, 0) == us && verify(p, start[s], 6),
                               "rallocx(%zu -> %zu) failure damaged the block", start[s], bad[i]);
                }
                dallocx(p, 0);
        }
        GROUP_END();
}

/* Checks one xallocx call against what is guaranteed and returns the resulting size. */
static size_t xcheck(void *p, size_t content, size_t s, size_t e, int flags)
{
        size_t old = sallocx(p, 0);
        size_t r = xallocx(p, s, e, flags);
        size_t hi = (s + e < s || s + e > LARGE_MAXCLASS) ? LARGE_MAXCLASS : nallocx(s + e, 0);

        EXPECTF(r == sallocx(p, 0), "xallocx(%zu, %zu, %zu) = %zu but sallocx %zu", old, s, e, r,
               sallocx(p, 0));
        EXPECTF(r == old || (r >= s && r <= hi),
               "xallocx(%zu, %zu, %zu) = %zu: neither the old size nor in [%zu, %zu]", old, s, e, r,
               s, hi);
        EXPECTF(nallocx(r, 0) == r, "xallocx(%zu, %zu, %zu) = %zu, not a size class", old, s, e, r);
        EXPECTF(verify(p, content < r ? content : r, 8), "xallocx(%zu, %zu, %zu) lost contents", old,
               s, e);
        return r;
}

static void test_xallocx(void)
{
        /* Small objects stay in their class whatever is asked. */
        static const size_t small_req[][2] = {
                {120, 0}, {200, 0},     {50, 0},   {256, 0}, {300, 0},   {200, 100},
                {1, 0},   {256, 10000}, {5000, 0}, {1, 255}, {20000, 0},
        };
        GROUP_BEGIN("xallocx/small_stays_in_class");
        void *p = mallocx(256, 0);
        if (EXPECTF(p != NULL, "mallocx(256) = NULL")) {
                fill(p, 200, 8);
                for (size_t i = 0; i < sizeof(small_req) / sizeof(small_req[0]); i++) {
                        size_t r = xallocx(p, small_req[i][0], small_req[i][1], 0);
                        EXPECTF(r == 256, "xallocx(256-class, %zu, %zu) = %zu, want 256",
                               small_req[i][0], small_req[i][1], r);
                        EXPECTF(sallocx(p, 0) == 256, "sallocx after xallocx = %zu", sallocx(p, 0));
                }
                EXPECTF(verify(p, 200, 8), "contents changed");
                dallocx(p, 0);
        }
        GROUP_END();

        GROUP_BEGIN("xallocx/large_grow_shrink_guarantees");
        p = mallocx(20480, 0);
        if (EXPECTF(p != NULL, "mallocx(20480) = NULL")) {
                size_t content = 20480;
                fill(p, content, 8);
                size_t r = xcheck(p, content, 40960, 0, 0);
                if (r < content)
                        content = r;
                r = xcheck(p, content, 16384, 0, 0);
                if (r < content)
                        content = r;
                r = xcheck(p, content, 20480, 20480, 0);
                if (r < content)
                        content = r;
                r = xcheck(p, content, 16384, 100000, 0);
                if (r < content)
                        content = r;
                size_t old = sallocx(p, 0);
                EXPECTF(xallocx(p, opaque(LARGE_MAXCLASS + 1), 0, 0) == old,
                       "xallocx(> max class) did not return the old size");
                r = xcheck(p, content, 20480, opaque(SIZE_MAX - 20480), 0);
                if (r < content)
                        content = r;
                dallocx(p, 0);
        }
        p = mallocx(9 * MiB, 0);
        if (EXPECTF(p != NULL, "mallocx(9 MiB) = NULL")) {
                fill(p, 9 * MiB, 8);
                size_t r = xcheck(p, 9 * MiB, 12 * MiB, 0, 0);
                xcheck(p, r < 9 * MiB ? r : 9 * MiB, 2 * MiB, 0, 0);
                dallocx(p, 0);
        }
        GROUP_END();

        /* With MALLOCX_ZERO, in-place growth zeroes the new bytes. */
        GROUP_BEGIN("xallocx/zero_growth");
        dirty_pool(65536, 8);
        p = mallocx(20480, 0);
        if (EXPECTF(p != NULL, "mallocx(20480) = NULL")) {
                memset(p, 0xcc, 20480);
                size_t r = xallocx(p, 65536, 0, MALLOCX_ZERO);
                EXPECTF(r == 20480 || r >= 65536, "xallocx(20480 -> 65536) = %zu", r);
                if (r > 20480) {
                        size_t nz = first_nonzero(p, 20480, r);
                        EXPECTF(nz == SIZE_MAX, "xallocx grown byte %zu nonzero", nz);
                }
                dallocx(p, 0);
        }
        GROUP_END();
}

static void test_dallocx_sdallocx(void)
{
        static const struct {
                size_t req;
                int flags;
        } cases[] = {
                {1, 0},
                {100, 0},
                {100, MALLOCX_TCACHE_NONE},
                {100, MALLOCX_LG_ALIGN(6)},
                {3000, 0},
                {14000, 0},
                {16385, 0},
                {16385, MALLOCX_TCACHE_NONE},
                {40000, MALLOCX_LG_ALIGN(12)},
                {9 * MiB + 1, 0},
        };
        GROUP_BEGIN("sdallocx/any_size_request_to_usable");
        for (size_t c = 0; c < sizeof(cases) / sizeof(cases[0]); c++) {
                size_t req = cases[c].req;
                int flags = cases[c].flags;
                size_t us = nallocx(req, flags);
                size_t step = (us - req) / 40 + 1;
                for (size_t s = req; s <= us; s += step) {
                        void *p = mallocx(req, flags);
                        if (!EXPECTF(p != NULL, "mallocx(%zu, 0x%x) = NULL", req, flags))
                                break;
                        memset(p, 0x11, req);
                        sdallocx(p, s, flags);
                }
                void *p = mallocx(req, flags);
                if (p)
                        sdallocx(p, us, flags);
                heap_sane(cname("after sdallocx(%zu, 0x%x)", req, flags), req, flags,
                          req > MiB ? 4 : 200);
        }
        GROUP_END();

        GROUP_BEGIN("dallocx/flags");
        for (size_t c = 0; c < sizeof(cases) / sizeof(cases[0]); c++) {
                void *p = mallocx(cases[c].req, cases[c].flags);
                if (EXPECTF(p != NULL, "mallocx = NULL"))
                        dallocx(p, cases[c].flags);
                /* Allocated with the tcache, freed bypassing it, and the other way round. */
                p = mallocx(cases[c].req, 0);
                if (EXPECTF(p != NULL, "mallocx = NULL"))
                        dallocx(p, MALLOCX_TCACHE_NONE);
                p = mallocx(cases[c].req, MALLOCX_TCACHE_NONE);
                if (EXPECTF(p != NULL, "mallocx = NULL"))
                        dallocx(p, 0);
                heap_sane(cname("after dallocx(%zu)", cases[c].req), cases[c].req, cases[c].flags,
                          cases[c].req > MiB ? 4 : 100);
        }
        GROUP_END();

        GROUP_BEGIN("mallocx/tcache_none");
        static const size_t sizes[] = {8, 100, 4096, 16385, 40000, 9 * MiB};
        for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
                void *p = mallocx(sizes[i], MALLOCX_TCACHE_NONE);
                if (!EXPECTF(p != NULL, "mallocx(%zu, TCACHE_NONE) = NULL", sizes[i]))
                        continue;
                EXPECTF(sallocx(p, 0) == nallocx(sizes[i], 0), "sallocx %zu", sallocx(p, 0));
                fill(p, sizes[i], 2);
                void *q = rallocx(p, sizes[i] * 2, MALLOCX_TCACHE_NONE);
                if (EXPECTF(q != NULL, "rallocx(TCACHE_NONE) = NULL")) {
                        p = q;
                        EXPECTF(verify(p, sizes[i], 2), "rallocx(TCACHE_NONE) lost contents");
                }
                dallocx(p, MALLOCX_TCACHE_NONE);
                heap_sane(cname("tcache_none %zu", sizes[i]), sizes[i], MALLOCX_TCACHE_NONE,
                          sizes[i] > MiB ? 4 : 100);
        }
        GROUP_END();
}

static void test_arena_flag(void)
{
        unsigned ind = 0, narenas = 0;
        size_t len = sizeof(ind);
        int r = mallctl("arenas.create", &ind, &len, NULL, 0);
        CHECK_EQ("mallocx/arena_create_for_flag", r, 0);
        len = sizeof(narenas);
        mallctl("arenas.narenas", &narenas, &len, NULL, 0);
        if (r != 0)
                return;
        CHECKF("mallocx/arena_index_in_range", ind < narenas, "index %u, narenas %u", ind, narenas);

        static const size_t sizes[] = {8, 100, 3000, 16385, 100000, 9 * MiB};
        const int flagsets[] = {MALLOCX_ARENA(ind), MALLOCX_ARENA(ind) | MALLOCX_TCACHE_NONE,
                                MALLOCX_ARENA(ind) | MALLOCX_ALIGN(4096),
                                MALLOCX_ARENA(ind) | MALLOCX_ZERO};
        GROUP_BEGIN("mallocx/arena_flag");
        for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
                for (size_t f = 0; f < sizeof(flagsets) / sizeof(flagsets[0]); f++) {
                        int flags = flagsets[f];
                        void *p = mallocx(sizes[i], flags);
                        if (!EXPECTF(p != NULL, "mallocx(%zu, 0x%x) = NULL", sizes[i], flags))
                                continue;
                        EXPECTF(sallocx(p, 0) == nallocx(sizes[i], flags),
                               "mallocx(%zu, 0x%x): sallocx %zu", sizes[i], flags, sallocx(p, 0));
                        if (flags & MALLOCX_ZERO)
                                EXPECTF(first_nonzero(p, 0, sizes[i]) == SIZE_MAX,
                                       "mallocx(%zu, ARENA|ZERO) not zeroed", sizes[i]);
                        if ((flags & 0x3f) != 0)
                                EXPECTF(aligned_to(p, 4096), "mallocx(%zu, ARENA|ALIGN) = %p",
                                       sizes[i], p);
                        fill(p, sizes[i], 1);
                        void *q = rallocx(p, sizes[i] * 3, flags);
                        if (EXPECTF(q != NULL, "rallocx(%zu, 0x%x) = NULL", sizes[i] * 3, flags)) {
                                p = q;
                                EXPECTF(verify(p, sizes[i], 1), "rallocx(0x%x) lost contents",
                                       flags);
                        }
                        dallocx(p, flags);
                }
        }
        /* A block from the default arena moved with MALLOCX_ARENA keeps its contents. */
        void *p = malloc(5000);
        if (EXPECTF(p != NULL, "malloc(5000) = NULL")) {
                fill(p, 5000, 7);
                void *q = rallocx(p, 50000, MALLOCX_ARENA(ind));
                if (EXPECTF(q != NULL, "rallocx(default -> arena) = NULL")) {
                        p = q;
                        EXPECTF(verify(p, 5000, 7), "rallocx(default -> arena) lost contents");
                }
                free(p);
        }
        heap_sane("arena small", 100, MALLOCX_ARENA(ind), 300);
        heap_sane("arena large", 30000, MALLOCX_ARENA(ind) | MALLOCX_TCACHE_NONE, 30);
        GROUP_END();
}

int main(void)
{
        impl_init();
        test_macros();
        test_mallocx_basic();
        test_mallocx_align();
        test_nallocx();
        test_zero();
        test_rallocx();
        test_xallocx();
        test_dallocx_sdallocx();
        test_arena_flag();
        return check_finish();
}
