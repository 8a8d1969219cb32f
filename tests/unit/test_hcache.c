/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Unit test of the huge arena's kept mappings (hcache.h): a freed huge block is handed
 * back to the next huge allocation it fits, its pages still resident and its contents
 * untouched (no new page faults); a smaller kept one is grown with mremap, keeping its
 * pages; calloc never gets a kept one; kept pages are the huge arena's pdirty and part of
 * resident and mapped; the byte bound; arena.<i>.purge, the decay curve and
 * arenas.dirty_decay_ms = 0 give them back; with huge_cache:0 (a child process) a freed
 * huge block is purged at once, as jemalloc does.  Uses the renamed entry points of the
 * internal build.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "../../liballoc/include/jemalloc/jemalloc.h"
#include "../common/check.h"

void *la_malloc(size_t);
void *la_calloc(size_t, size_t);
void la_free(void *);
int la_mallctl(const char *, void *, size_t *, void *, size_t);

#define MiB ((size_t)1 << 20)
#define PAGE ((size_t)4096)

static unsigned huge_arena(void)
{
        unsigned n = 0;
        size_t sz = sizeof(n);
        EXPECT(la_mallctl("opt.narenas", &n, &sz, NULL, 0) == 0);
        return n;
}

static size_t arena_zu(const char *leaf)
{
        char name[96];
        uint64_t e = 1;
        size_t sz = sizeof(e);
        la_mallctl("epoch", &e, &sz, &e, sz);
        snprintf(name, sizeof(name), "stats.arenas.%u.%s", huge_arena(), leaf);
        size_t v = 0;
        sz = sizeof(v);
        if (la_mallctl(name, &v, &sz, NULL, 0) != 0) {
                uint64_t w = 0;
                sz = sizeof(w);
                EXPECT(la_mallctl(name, &w, &sz, NULL, 0) == 0);
                v = (size_t)w;
        }
        return v;
}

static size_t pdirty(void)
{
        return arena_zu("pdirty");
}

static void huge_ctl(const char *leaf)
{
        char name[64];
        snprintf(name, sizeof(name), "arena.%u.%s", huge_arena(), leaf);
        EXPECT(la_mallctl(name, NULL, NULL, NULL, 0) == 0);
}

static void set_default_decay(ssize_t ms)
{
        EXPECT(la_mallctl("arenas.dirty_decay_ms", NULL, NULL, &ms, sizeof(ms)) == 0);
}

/* Pages of [p, p + n) resident now. */
static size_t resident_pages(const void *p, size_t n)
{
        size_t np = n / PAGE, got = 0;
        unsigned char *vec = malloc(np);
        if (vec == NULL || mincore((void *)p, n, vec) != 0) {
                free(vec);
                return 0;
        }
        for (size_t i = 0; i < np; i++)
                got += vec[i] & 1;
        free(vec);
        return got;
}

static void fill(unsigned char *p, size_t n, unsigned char tag)
{
        for (size_t i = 0; i < n; i += PAGE)
                p[i] = (unsigned char)(tag + i / PAGE);
}

/* Pages of [p, p + n) that still hold what fill wrote (moved, not faulted in afresh). */
static size_t same_pages(const unsigned char *p, size_t n, unsigned char tag)
{
        size_t same = 0;
        for (size_t i = 0; i < n; i += PAGE)
                same += p[i] == (unsigned char)(tag + i / PAGE);
        return same;
}

static void empty(void)
{
        huge_ctl("purge");
        EXPECT_EQ(pdirty(), 0);
}

static void reused_smaller(void)
{
        empty();
        unsigned char *p = la_malloc(24 * MiB);
        EXPECT(p != NULL);
        fill(p, 24 * MiB, 7);
        size_t mapped_live = arena_zu("mapped");
        la_free(p);
        EXPECT_EQ(pdirty(), 24 * MiB / PAGE);
        EXPECT(arena_zu("mapped") == mapped_live);
        EXPECT(arena_zu("resident") >= 24 * MiB);
        unsigned char *q = la_malloc(20 * MiB);
        EXPECT(q == p);
        EXPECT_EQ(same_pages(q, 20 * MiB, 7), 20 * MiB / PAGE);
        EXPECT_EQ(pdirty(), 0); /* the rest was unmapped */
        EXPECT_EQ(arena_zu("mapped"), mapped_live - 4 * MiB);
        la_free(q);
        empty();
}

static void grown_with_mremap(void)
{
        empty();
        unsigned char *p = la_malloc(16 * MiB);
        EXPECT(p != NULL);
        fill(p, 16 * MiB, 11);
        la_free(p);
        unsigned char *q = la_malloc(40 * MiB);
        EXPECT(q != NULL);
        EXPECT_EQ(resident_pages(q, 16 * MiB), 16 * MiB / PAGE);
        EXPECT_EQ(same_pages(q, 16 * MiB, 11), 16 * MiB / PAGE);
        EXPECT_EQ(resident_pages(q + 16 * MiB, 24 * MiB), 0);
        memset(q, 1, 40 * MiB);
        la_free(q);
        empty();
}

static void calloc_gets_fresh_pages(void)
{
        empty();
        unsigned char *p = la_malloc(16 * MiB);
        EXPECT(p != NULL);
        memset(p, 0xa5, 16 * MiB);
        la_free(p);
        EXPECT_EQ(pdirty(), 16 * MiB / PAGE);
        unsigned char *z = la_calloc(1, 16 * MiB);
        EXPECT(z != NULL);
        size_t nonzero = 0;
        for (size_t i = 0; i < 16 * MiB; i += 512)
                nonzero += z[i] != 0;
        EXPECT_EQ(nonzero, 0);
        EXPECT_EQ(pdirty(), 16 * MiB / PAGE); /* the kept one is still there */
        la_free(z);
        empty();
}

static void bounded(void)
{
        empty();
        size_t purged0 = arena_zu("dirty_purged");
        void *p[4];
        for (int i = 0; i < 4; i++) {
                p[i] = la_malloc(48 * MiB);
                EXPECT(p[i] != NULL);
                memset(p[i], i, 48 * MiB);
        }
        for (int i = 0; i < 4; i++)
                la_free(p[i]);
        size_t kept = pdirty() * PAGE;
        EXPECT(kept <= 128 * MiB);
        EXPECT(kept >= 96 * MiB);
        EXPECT_EQ(arena_zu("dirty_purged") - purged0, (4 * 48 * MiB - kept) / PAGE);
        /* A block over the bound is never kept (calloc: it takes no kept one either). */
        void *big = la_calloc(1, 160 * MiB);
        EXPECT(big != NULL);
        la_free(big);
        EXPECT(pdirty() * PAGE <= 128 * MiB);
        empty();
        EXPECT_EQ(arena_zu("dirty_purged") - purged0, (4 * 48 + 160) * MiB / PAGE);
}

static void decays(void)
{
        empty();
        set_default_decay(200);
        void *p = la_malloc(16 * MiB);
        EXPECT(p != NULL);
        memset(p, 3, 16 * MiB);
        la_free(p);
        huge_ctl("decay");
        EXPECT_EQ(pdirty(), 16 * MiB / PAGE); /* just freed: the curve keeps it */
        struct timespec ts = {0, 400 * 1000 * 1000};
        nanosleep(&ts, NULL);
        huge_ctl("decay");
        EXPECT_EQ(pdirty(), 0);
        /* arenas.dirty_decay_ms = 0 (jemctl decay PID 0 writes it, then each arena's). */
        set_default_decay(10000);
        p = la_malloc(16 * MiB);
        EXPECT(p != NULL);
        memset(p, 3, 16 * MiB);
        la_free(p);
        EXPECT_EQ(pdirty(), 16 * MiB / PAGE);
        set_default_decay(0);
        ssize_t zero = 0;
        char name[64];
        snprintf(name, sizeof(name), "arena.%u.dirty_decay_ms", huge_arena());
        EXPECT(la_mallctl(name, NULL, NULL, &zero, sizeof(zero)) == 0);
        EXPECT_EQ(pdirty(), 0);
        p = la_malloc(16 * MiB);
        EXPECT(p != NULL);
        la_free(p);
        EXPECT_EQ(pdirty(), 0); /* not kept while the default is 0 */
        set_default_decay(10000);
}

/* In a child started with huge_cache:0: a freed huge block goes at once. */
static int off_child(void)
{
        void *p = la_malloc(16 * MiB);
        EXPECT(p != NULL);
        memset(p, 1, 16 * MiB);
        la_free(p);
        EXPECT_EQ(pdirty(), 0);
        return check_finish();
}

static const char *self;

static void off_when_zero(void)
{
        pid_t pid = fork();
        if (pid == 0) {
                setenv("MALLOC_CONF", "huge_cache:0", 1);
                execl(self, self, "off", (char *)NULL);
                _exit(127);
        }
        int st = 0;
        EXPECT(pid > 0 && waitpid(pid, &st, 0) == pid);
        EXPECT(WIFEXITED(st) && WEXITSTATUS(st) == 0);
}

int main(int argc, char **argv)
{
        self = argv[0];
        if (argc > 1 && strcmp(argv[1], "off") == 0)
                return off_child();
        la_free(la_malloc(1));
        la_free(la_calloc(1, 16 * MiB)); /* the huge arena is made at its first use */
        RUN("unit/hcache", reused_smaller);
        RUN("unit/hcache", grown_with_mremap);
        RUN("unit/hcache", calloc_gets_fresh_pages);
        RUN("unit/hcache", bounded);
        RUN("unit/hcache", decays);
        RUN("unit/hcache", off_when_zero);
        return check_finish();
}
