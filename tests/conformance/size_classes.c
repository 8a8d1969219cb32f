/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Conformance of the size classes (jemalloc 5.3.0's classes, liballoc(3)): the usable size that malloc_usable_size,
 * sallocx and nallocx report for every small class boundary (8 ... 14336, 36 classes), the
 * documented examples (0->8, 9->16, 17->32, 100->112, 5000->5120, 16385->20480), every one
 * of the 196 large classes from 16 KiB to 0x7000000000000000 through nallocx (and through
 * real allocations up to 64 MiB), nallocx returning 0 past the largest class, and the
 * natural alignment of small classes (48 -> 16-aligned, 5120 -> 1024-aligned, ...).
 */
#define _GNU_SOURCE
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <jemalloc/jemalloc.h>

#include "impl.h"

#define MiB ((size_t)1 << 20)
#define LARGE_MAXCLASS ((size_t)0x7000000000000000ULL)

static const size_t small_classes[] = {
        8,    16,   32,   48,   64,   80,   96,   112,  128,  160,   192,   224,
        256,  320,  384,  448,  512,  640,  768,  896,  1024, 1280,  1536,  1792,
        2048, 2560, 3072, 3584, 4096, 5120, 6144, 7168, 8192, 10240, 12288, 14336,
};
#define NSMALL (sizeof(small_classes) / sizeof(small_classes[0]))

static unsigned lg_floor(size_t x)
{
        return 63u - (unsigned)__builtin_clzll((unsigned long long)x);
}

/* The class after c, for c >= 16 KiB: four classes per doubling. */
static size_t next_large(size_t c)
{
        return c + ((size_t)1 << (lg_floor(c) - 2));
}

static size_t usable_of_malloc(size_t n)
{
        void *p = malloc(opaque(n));
        size_t us = p ? malloc_usable_size(p) : 0;
        free(p);
        return us;
}

static void test_examples(void)
{
        static const size_t ex[][2] = {
                {0, 8},         {1, 8},         {8, 8},         {9, 16},
                {17, 32},       {100, 112},     {5000, 5120},   {14337, 16384},
                {16385, 20480}, {20481, 24576}, {32769, 40960}, {MiB + 1, MiB + MiB / 4},
        };
        for (size_t i = 0; i < sizeof(ex) / sizeof(ex[0]); i++) {
                size_t n = ex[i][0], want = ex[i][1];
                CHECK_EQ(cname("usable/malloc_%zu_is_%zu", n, want), usable_of_malloc(n), want);
                CHECK_EQ(cname("usable/nallocx_%zu_is_%zu", n, want), nallocx(opaque(n), 0), want);
                void *p = mallocx(opaque(n ? n : 1), 0);
                CHECK_EQ(cname("usable/sallocx_mallocx_%zu_is_%zu", n ? n : 1, want),
                         p ? sallocx(p, 0) : 0, n ? want : 8);
                if (p)
                        dallocx(p, 0);
        }
}

static void test_small_classes(void)
{
        size_t prev = 0;

        for (size_t i = 0; i < NSMALL; i++) {
                size_t c = small_classes[i];
                const char *name = cname("small_class/%zu", c);
                GROUP_BEGIN(name);
                EXPECT_EQ_AT("nallocx(prev+1)", nallocx(opaque(prev + 1), 0), c);
                EXPECT_EQ_AT("nallocx(c)", nallocx(opaque(c), 0), c);
                EXPECT_EQ_AT("malloc_usable_size(malloc(prev+1))", usable_of_malloc(prev + 1), c);
                EXPECT_EQ_AT("malloc_usable_size(malloc(c))", usable_of_malloc(c), c);
                if (c > 8)
                        EXPECT_EQ_AT("malloc_usable_size(malloc(c-1))", usable_of_malloc(c - 1), c);
                void *p = mallocx(opaque(c), 0);
                EXPECT_EQ_AT("sallocx(mallocx(c))", p ? sallocx(p, 0) : 0, c);
                if (p)
                        dallocx(p, 0);
                EXPECT_EQ_AT("nallocx(c+1)", nallocx(opaque(c + 1), 0),
                          i + 1 < NSMALL ? small_classes[i + 1] : 16384);
                GROUP_END();
                prev = c;
        }
}

/* Small regions of class c are aligned to the largest power of two dividing c (capped at
 * the page: regions sit at multiples of c inside page-aligned slabs). */
static void test_small_alignment(void)
{
        enum { PER_CLASS = 40 };

        GROUP_BEGIN("small_class/natural_alignment");
        for (size_t i = 0; i < NSMALL; i++) {
                size_t c = small_classes[i];
                size_t al = c & -c;
                void *p[PER_CLASS];
                if (al > 4096)
                        al = 4096;
                for (int k = 0; k < PER_CLASS; k++) {
                        p[k] = malloc(opaque(c));
                        EXPECTF(p[k] != NULL && ((uintptr_t)p[k] & (al - 1)) == 0,
                               "malloc(%zu) = %p, want %zu-aligned", c, p[k], al);
                }
                for (int k = 0; k < PER_CLASS; k++)
                        free(p[k]);
        }
        GROUP_END();
}

static void test_large_classes(void)
{
        size_t c = 16384, prev = 14336, count = 0;
        bool ok = true;

        /* nallocx over the whole large range. */
        GROUP_BEGIN("large_class/nallocx_every_class");
        for (;;) {
                count++;
                EXPECT_EQ_AT(cname("class %zu nallocx(prev+1)", c), nallocx(opaque(prev + 1), 0), c);
                EXPECT_EQ_AT(cname("class %zu nallocx(c)", c), nallocx(opaque(c), 0), c);
                if (c == LARGE_MAXCLASS)
                        break;
                if (c > LARGE_MAXCLASS || count > 1000) {
                        ok = false;
                        break;
                }
                EXPECT_EQ_AT(cname("class %zu nallocx(c+1)", c), nallocx(opaque(c + 1), 0),
                          next_large(c));
                prev = c;
                c = next_large(c);
        }
        EXPECTF(ok, "class walk overshot the largest class");
        GROUP_END();
        CHECK_EQ("large_class/count_196", count, 196);

        CHECK_EQ("large_class/max_class", nallocx(opaque(LARGE_MAXCLASS), 0), LARGE_MAXCLASS);
        CHECK_EQ("large_class/max_class_plus_1_is_0", nallocx(opaque(LARGE_MAXCLASS + 1), 0), 0);
        CHECK_EQ("large_class/1<<62", nallocx(opaque((size_t)1 << 62), 0), (size_t)1 << 62);
        CHECK_EQ("large_class/ptrdiff_max_plus_1_is_0", nallocx(opaque((size_t)PTRDIFF_MAX + 1), 0),
                 0);
        CHECK_EQ("large_class/size_max_is_0", nallocx(opaque(SIZE_MAX), 0), 0);

        /* Real allocations for the classes up to 64 MiB. */
        GROUP_BEGIN("large_class/malloc_usable_up_to_64MiB");
        prev = 14336;
        for (c = 16384; c <= 64 * MiB; prev = c, c = next_large(c)) {
                EXPECT_EQ_AT(cname("malloc(%zu)", prev + 1), usable_of_malloc(prev + 1), c);
                EXPECT_EQ_AT(cname("malloc(%zu)", c), usable_of_malloc(c), c);
                void *p = mallocx(opaque(c - 1), 0);
                EXPECT_EQ_AT(cname("sallocx(mallocx(%zu))", c - 1), p ? sallocx(p, 0) : 0, c);
                if (p)
                        dallocx(p, 0);
        }
        GROUP_END();
}

int main(void)
{
        impl_init();
        test_examples();
        test_small_classes();
        test_small_alignment();
        test_large_classes();
        return check_finish();
}
