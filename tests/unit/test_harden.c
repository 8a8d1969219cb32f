/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Unit tests of the hardened mode's size classes (MALLOC_CONF=hardened:true: the program
 * runs itself again with it): every small block has room for its canary past its usable size, and
 * what the entry points report stays one story: nallocx(n) == malloc_usable_size(malloc(n))
 * == sallocx >= n for every size and alignment, calloc zeroes the usable size, realloc
 * and xallocx keep a block in its class, sdallocx takes the requested and the usable
 * size.  Every block is filled to its usable size and freed, so a canary inside the
 * usable size would abort the test (no false positive).  A quarantined block's tag and a
 * live block's canary do not give the secret away.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../../liballoc/src/core/conf.h"
#include "../../liballoc/src/core/sizeclass.h"
#include "../../liballoc/src/core/span.h"
#include "../common/check.h"

void *la_malloc(size_t);
void *la_calloc(size_t, size_t);
void *la_realloc(void *, size_t);
void la_free(void *);
size_t la_malloc_usable_size(void *);
void *la_mallocx(size_t, int);
size_t la_nallocx(size_t, int);
size_t la_sallocx(const void *, int);
size_t la_xallocx(void *, size_t, size_t, int);
void la_sdallocx(void *, size_t, int);

#define SIZE_MAX_TESTED 20000 /* past the small classes (14336) */
/* cond, for the size (or class) at */
#define EXPECT_AT(cond, at) EXPECTF((cond), "check failed at %zu: %s", (size_t)(at), #cond)

static void mode_is_on(void)
{
        void *p = la_malloc(1); /* starts the allocator */
        EXPECT(la_opt.hardened);
        EXPECT(la_sizeclass_hardened);
        la_free(p);
}

/* Room for the canary in every small class; the usable sizes still grow with the class;
 * the byte table maps each size to the first class that holds it. */
static void classes_leave_room(void)
{
        for (unsigned c = 0; c < LA_NBINS; c++) {
                EXPECT_AT(la_bin_info[c].size >= la_cls_size[c] + LA_CANARY_BYTES, c);
                EXPECT_AT(la_bin_info[c].size % 16 == 0, c);
                EXPECT_AT(la_cls_size[c] % 8 == 0, c);
                if (c >= 2)
                        EXPECT_AT(la_cls_size[c] > la_cls_size[c - 1], c);
        }
        EXPECT_EQ(la_cls_size[1], 8);       /* 16-byte blocks */
        EXPECT_EQ(la_cls_size[28], 4088);   /* 4096-byte blocks */
        EXPECT_EQ(la_cls_size[29], 5120);   /* 5136-byte blocks */
        EXPECT_EQ(la_bin_info[29].size, 5136);
        for (size_t n = 0; n <= LA_LOOKUP_MAX; n++) {
                unsigned c = la_size2cls(n);
                EXPECT_AT(la_cls_size[c] >= n, n);
                EXPECT_AT(c >= 1 && (c == 1 || la_cls_size[c - 1] < n), n);
        }
}

/* Fills p's usable size, frees it (a canary inside it would abort). */
static void use_and_free(void *p, size_t usable)
{
        memset(p, 0xc3, usable);
        la_free(p);
}

static void usable_sizes_agree(void)
{
        for (size_t n = 0; n <= SIZE_MAX_TESTED; n++) {
                char *p = la_malloc(n);
                size_t u = la_malloc_usable_size(p);
                EXPECT_AT(u >= n, n);
                EXPECT_AT(u == la_nallocx(n == 0 ? 1 : n, 0), n);
                EXPECT_AT(la_sallocx(p, 0) == u, n);
                EXPECT_AT((uintptr_t)p % 16 == 0, n);
                use_and_free(p, u);
        }
        /* malloc(0) and nallocx(0) agree too. */
        void *p = la_malloc(0);
        EXPECT_EQ(la_malloc_usable_size(p), la_nallocx(0, 0));
        la_free(p);
}

static void aligned_sizes_agree(void)
{
        for (unsigned lg = 3; lg <= 13; lg++) {
                size_t align = (size_t)1 << lg;
                for (size_t n = 1; n <= SIZE_MAX_TESTED; n += n < 600 ? 1 : 97) {
                        char *p = la_mallocx(n, (int)lg); /* MALLOCX_LG_ALIGN(lg) */
                        size_t u = la_malloc_usable_size(p);
                        EXPECT_AT(p != NULL, n);
                        EXPECT_AT((uintptr_t)p % align == 0, n);
                        EXPECT_AT(u >= n, n);
                        EXPECT_AT(u == la_nallocx(n, (int)lg), n);
                        use_and_free(p, u);
                }
        }
}

/* calloc zeroes the usable size (not the canary); realloc and xallocx within the class
 * keep the block; sdallocx accepts the size asked for and the usable size. */
static void resize_and_sized_free(void)
{
        for (size_t n = 1; n <= SIZE_MAX_TESTED; n += n < 300 ? 1 : 61) {
                char *p = la_calloc(1, n);
                size_t u = la_malloc_usable_size(p);
                bool zero = true;
                for (size_t i = 0; i < u; i++)
                        zero &= p[i] == 0;
                EXPECT_AT(zero, n);
                memset(p, 0x11, u);
                EXPECT_AT(la_xallocx(p, n, 0, 0) >= n, n);
                if (u <= LA_SMALL_MAX) {
                        EXPECT_AT(la_xallocx(p, u, 0, 0) == u, n);
                        EXPECT_AT((char *)la_realloc(p, u) == p, n);
                }
                char *q = la_realloc(p, u + 1); /* moves: the next class */
                EXPECT_AT(q != NULL && q[u - 1] == 0x11, n);
                size_t uq = la_malloc_usable_size(q);
                EXPECT_AT(uq == la_nallocx(u + 1, 0), n);
                memset(q, 0x22, uq);
                la_sdallocx(q, u + 1, 0);
                p = la_malloc(n);
                memset(p, 0x33, la_malloc_usable_size(p));
                la_sdallocx(p, la_malloc_usable_size(p), 0);
        }
}

/* What a use-after-free read of a quarantined block, or an over-read of a live block's
 * canary, sees must not give the secret: neither word is the address's plain product
 * xored with the key (the tag's form before), and two blocks' words do not undo to one
 * value.  The tag keeps the key's low 3 bits and the canary the other ones. */
static void words_hide_the_secret(void)
{
        enum { N = 8 };
        char *p[N];
        uintptr_t tag[N], canary[N];
        size_t block = la_bin_info[la_size2cls(40)].size;
        for (int i = 0; i < N; i++) {
                p[i] = la_malloc(40);
                canary[i] = *(const uintptr_t *)(p[i] + la_malloc_usable_size(p[i]));
        }
        for (int i = 0; i < N; i++) {
                la_free(p[i]); /* into the quarantine: junk and the tag in its last word */
                tag[i] = *(const volatile uintptr_t *)(p[i] + block - sizeof(uintptr_t));
        }
        const uintptr_t m = 0x9e3779b97f4a7c15ull;
        for (int i = 0; i < N; i++) {
                EXPECT((tag[i] & 7) == (la_fl_key & 7));
                EXPECT((canary[i] & 7) == ((la_fl_key ^ 1) & 7));
                EXPECT(tag[i] != ((uintptr_t)p[i] * m ^ la_fl_key));
                EXPECT((tag[i] ^ (uintptr_t)p[i] * m) != la_fl_key);
                EXPECT(tag[i] - la_fl_key != ((uintptr_t)p[i] ^ la_fl_key));
                if (i > 0) {
                        EXPECT((tag[i] ^ (uintptr_t)p[i] * m) != (tag[0] ^ (uintptr_t)p[0] * m));
                        EXPECT(tag[i] != tag[0] && canary[i] != canary[0]);
                }
        }
}

int main(int argc, char **argv)
{
        /* The options are read when the library starts, which may be before main: run
         * again with them in the environment. */
        const char *conf = getenv("MALLOC_CONF");
        if (argc > 0 && (conf == NULL || strcmp(conf, "hardened:true") != 0)) {
                setenv("MALLOC_CONF", "hardened:true", 1);
                execv("/proc/self/exe", argv);
                check_fatal("cannot run itself again with MALLOC_CONF=hardened:true");
        }
        RUN("unit/harden", mode_is_on);
        RUN("unit/harden", classes_leave_room);
        RUN("unit/harden", usable_sizes_agree);
        RUN("unit/harden", aligned_sizes_agree);
        RUN("unit/harden", resize_and_sized_free);
        RUN("unit/harden", words_hide_the_secret);
        return check_finish();
}
