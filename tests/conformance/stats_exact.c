/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * stats_exact: the figures jemalloc keeps exact stay exact whatever path an allocation
 * takes.  Blocks of a manual arena allocated and freed with MALLOCX_TCACHE_NONE, through an
 * explicit tcache, by plain free() (then a tcache flush), by sdallocx or by another thread
 * leave stats.arenas.<a>.small/large.allocated at 0 and nmalloc == ndalloc per arena and per
 * bin (the global stats.allocated is not exact in jemalloc: blocks its tcaches hold count
 * as allocated, so it is not checked here); thread.allocated / thread.deallocated grow by the usable size of every allocation
 * and free whatever the flags or the thread's tcache setting (an in-place resize counts as a new allocation and a free of
 * the old size, as in jemalloc); thread.allocatedp / deallocatedp are live for large and
 * huge allocations; a manual arena whose decay times are -1 keeps a freed huge allocation
 * as its dirty pages until arena.<a>.purge, while with finite decay times it is purged at
 * once (jemalloc's eager purge of oversize extents).  Run against liballoc and Debian's
 * jemalloc; both must pass.
 */
#define _GNU_SOURCE
#include <jemalloc/jemalloc.h>
#include <pthread.h>

#include "impl.h"
#include "mallctl_read.h"

static size_t arena_size(unsigned a, const char *leaf)
{
        char name[128];
        snprintf(name, sizeof(name), "stats.arenas.%u.%s", a, leaf);
        return rd_size(name);
}

static uint64_t arena_u64(unsigned a, const char *leaf)
{
        char name[128];
        snprintf(name, sizeof(name), "stats.arenas.%u.%s", a, leaf);
        return rd_u64(name);
}

static unsigned new_arena(void)
{
        unsigned a = 0;
        size_t sz = sizeof(a);
        if (mallctl("arenas.create", &a, &sz, NULL, 0) != 0)
                return UINT32_MAX;
        return a;
}

static unsigned new_tcache(void)
{
        unsigned t = 0;
        size_t sz = sizeof(t);
        if (mallctl("tcache.create", &t, &sz, NULL, 0) != 0)
                return UINT32_MAX;
        return t;
}

static size_t rss_bytes(void)
{
        FILE *f = fopen("/proc/self/statm", "r");
        long pages = 0, res = 0;
        if (f == NULL)
                return 0;
        if (fscanf(f, "%ld %ld", &pages, &res) != 2)
                res = 0;
        fclose(f);
        return (size_t)res * (size_t)sysconf(_SC_PAGESIZE);
}

/* ---- per-arena small/large figures ------------------------------------------------- */

#define NOBJ 48
#define LARGE_SZ ((size_t)256 << 10)

static size_t obj_size(int i)
{
        /* Odd: small, 64 ... 208 bytes; even: large (256 KiB). */
        return (i & 1) ? 64 + 16 * (size_t)((i / 2) % 10) : LARGE_SZ;
}

/* The per-arena figures of the last epoch. */
struct arena_fig {
        size_t small_alloc, large_alloc;
        uint64_t small_nm, small_nd, large_nm, large_nd;
        uint64_t bin_nm_ne_nd; /* bins whose nmalloc != ndalloc */
        uint64_t curregs;      /* sum over the bins */
};

static void arena_read(unsigned a, struct arena_fig *f)
{
        epoch();
        f->small_alloc = arena_size(a, "small.allocated");
        f->large_alloc = arena_size(a, "large.allocated");
        f->small_nm = arena_u64(a, "small.nmalloc");
        f->small_nd = arena_u64(a, "small.ndalloc");
        f->large_nm = arena_u64(a, "large.nmalloc");
        f->large_nd = arena_u64(a, "large.ndalloc");
        f->bin_nm_ne_nd = 0;
        f->curregs = 0;
        unsigned nbins = 0;
        size_t sz = sizeof(nbins);
        mallctl("arenas.nbins", &nbins, &sz, NULL, 0);
        for (unsigned j = 0; j < nbins; j++) {
                char leaf[64];
                snprintf(leaf, sizeof(leaf), "bins.%u.nmalloc", j);
                uint64_t nm = arena_u64(a, leaf);
                snprintf(leaf, sizeof(leaf), "bins.%u.ndalloc", j);
                uint64_t nd = arena_u64(a, leaf);
                snprintf(leaf, sizeof(leaf), "bins.%u.curregs", j);
                f->curregs += arena_size(a, leaf);
                if (nm != nd)
                        f->bin_nm_ne_nd++;
        }
}

/* Checks that arena a holds nothing (everything allocated in it was freed). */
static void check_arena_empty(const char *tag, unsigned a)
{
        struct arena_fig f;
        arena_read(a, &f);
        CHECKF(cname("%s/allocated_zero", tag), f.small_alloc == 0 && f.large_alloc == 0,
               "small.allocated %zu + large.allocated %zu, want 0", f.small_alloc,
               f.large_alloc);
        CHECKF(cname("%s/small_nmalloc_eq_ndalloc", tag), f.small_nm == f.small_nd,
               "small nmalloc %ju ndalloc %ju", (uintmax_t)f.small_nm, (uintmax_t)f.small_nd);
        CHECKF(cname("%s/large_nmalloc_eq_ndalloc", tag), f.large_nm == f.large_nd,
               "large nmalloc %ju ndalloc %ju", (uintmax_t)f.large_nm, (uintmax_t)f.large_nd);
        CHECKF(cname("%s/bins_exact", tag), f.bin_nm_ne_nd == 0 && f.curregs == 0,
               "%ju bins with nmalloc != ndalloc, curregs %ju", (uintmax_t)f.bin_nm_ne_nd,
               (uintmax_t)f.curregs);
}

static void *objs[NOBJ];

static void alloc_all(int flags)
{
        for (int i = 0; i < NOBJ; i++) {
                objs[i] = mallocx(obj_size(i), flags);
                if (objs[i] != NULL)
                        memset(objs[i], 0x5c, obj_size(i));
        }
}

static bool all_allocated(void)
{
        for (int i = 0; i < NOBJ; i++)
                if (objs[i] == NULL)
                        return false;
        return true;
}

static void *free_in_thread(void *arg)
{
        (void)arg;
        for (int i = 0; i < NOBJ; i++)
                free(objs[i]);
        mallctl("thread.tcache.flush", NULL, NULL, NULL, 0);
        return NULL;
}

/* Allocates NOBJ blocks in a fresh manual arena with the given flags (plus
 * MALLOCX_ARENA), checks the figures while they are live, frees them the given way and
 * checks the arena is empty again. */
enum free_way { FREE_DALLOCX_NONE, FREE_SDALLOCX_NONE, FREE_PLAIN, FREE_OTHER_THREAD,
                FREE_EXPLICIT };

static void arena_case(const char *tag, int extra_flags, enum free_way how, unsigned tc)
{
        unsigned a = new_arena();
        if (!CHECK(cname("%s/arena_created", tag), a != UINT32_MAX))
                return;
        size_t want_small = 0, want_large = 0;
        uint64_t nsmall = 0, nlarge = 0;
        for (int i = 0; i < NOBJ; i++) {
                size_t u = nallocx(obj_size(i), 0);
                if (obj_size(i) < 16384) {
                        want_small += u;
                        nsmall++;
                } else {
                        want_large += u;
                        nlarge++;
                }
        }
        alloc_all(MALLOCX_ARENA(a) | extra_flags);
        struct arena_fig f;
        arena_read(a, &f);
        if (!CHECK(cname("%s/allocations", tag), all_allocated()))
                return;
        bool cached = how == FREE_EXPLICIT; /* jemalloc counts cached blocks as allocated */
        if (!cached) {
                CHECK_EQ(cname("%s/small_allocated_live", tag), f.small_alloc, want_small);
                CHECK_EQ(cname("%s/small_nmalloc_live", tag), f.small_nm, nsmall);
        }
        CHECK_EQ(cname("%s/large_allocated_live", tag), f.large_alloc, want_large);
        CHECK_EQ(cname("%s/large_nmalloc_live", tag), f.large_nm, nlarge);
        switch (how) {
        case FREE_DALLOCX_NONE:
                for (int i = 0; i < NOBJ; i++)
                        dallocx(objs[i], MALLOCX_TCACHE_NONE);
                break;
        case FREE_SDALLOCX_NONE:
                for (int i = 0; i < NOBJ; i++)
                        sdallocx(objs[i], obj_size(i), MALLOCX_TCACHE_NONE);
                break;
        case FREE_PLAIN:
                for (int i = 0; i < NOBJ; i++)
                        free(objs[i]);
                mallctl("thread.tcache.flush", NULL, NULL, NULL, 0);
                break;
        case FREE_OTHER_THREAD: {
                pthread_t th;
                if (pthread_create(&th, NULL, free_in_thread, NULL) == 0)
                        pthread_join(th, NULL);
                break;
        }
        case FREE_EXPLICIT:
                for (int i = 0; i < NOBJ; i++)
                        dallocx(objs[i], MALLOCX_TCACHE(tc));
                mallctl("tcache.flush", NULL, NULL, &tc, sizeof(tc));
                break;
        }
        check_arena_empty(tag, a);
}

static void test_arena_stats(void)
{
        arena_case("arena/tcache_none/dallocx", MALLOCX_TCACHE_NONE, FREE_DALLOCX_NONE, 0);
        arena_case("arena/tcache_none/sdallocx", MALLOCX_TCACHE_NONE, FREE_SDALLOCX_NONE, 0);
        arena_case("arena/tcache_none/free_then_flush", MALLOCX_TCACHE_NONE, FREE_PLAIN, 0);
        arena_case("arena/tcache_none/other_thread", MALLOCX_TCACHE_NONE, FREE_OTHER_THREAD, 0);
        unsigned tc = new_tcache();
        if (CHECK("arena/explicit_tcache/created", tc != UINT32_MAX)) {
                arena_case("arena/explicit_tcache", MALLOCX_TCACHE(tc), FREE_EXPLICIT, tc);
                mallctl("tcache.destroy", NULL, NULL, &tc, sizeof(tc));
        }
}

/* ---- thread.allocated / thread.deallocated ------------------------------------------ */

struct tcount {
        uint64_t a, d;
};

static struct tcount tread(void)
{
        struct tcount t = {rd_u64("thread.allocated"), rd_u64("thread.deallocated")};
        return t;
}

/* One allocation of size with aflags, freed with dflags (sized when sized): the thread
 * counters move by its usable size, once each. */
static void thread_case(const char *tag, size_t size, int aflags, int dflags, bool sized)
{
        size_t u = nallocx(size, 0);
        struct tcount t0 = tread();
        void *p = mallocx(size, aflags);
        struct tcount t1 = tread();
        if (p != NULL) {
                if (sized)
                        sdallocx(p, size, dflags);
                else
                        dallocx(p, dflags);
        }
        struct tcount t2 = tread();
        if (!CHECK(cname("%s/allocated", tag), p != NULL))
                return;
        CHECK_EQ(cname("%s/thread_allocated", tag), t1.a - t0.a, u);
        CHECK_EQ(cname("%s/thread_deallocated_unchanged", tag), t1.d - t0.d, 0);
        CHECK_EQ(cname("%s/thread_deallocated", tag), t2.d - t1.d, u);
}

static void test_thread_counters(void)
{
        unsigned a = new_arena();
        unsigned tc = new_tcache();
        if (!CHECK("thread/setup", a != UINT32_MAX && tc != UINT32_MAX))
                return;
        static const size_t sizes[] = {100, 1000, 40000, (size_t)1 << 20, (size_t)20 << 20};
        static const char *const names[] = {"small100", "small1000", "large40k", "large1m",
                                            "huge20m"};
        for (unsigned i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
                size_t s = sizes[i];
                const char *n = names[i];
                thread_case(cname("thread/%s/plain", n), s, 0, 0, false);
                thread_case(cname("thread/%s/tcache_none", n), s, MALLOCX_TCACHE_NONE,
                            MALLOCX_TCACHE_NONE, false);
                thread_case(cname("thread/%s/tcache_none_sized", n), s, MALLOCX_TCACHE_NONE,
                            MALLOCX_TCACHE_NONE, true);
                thread_case(cname("thread/%s/arena", n), s, MALLOCX_ARENA(a), 0, false);
                thread_case(cname("thread/%s/arena_tcache_none", n), s,
                            MALLOCX_ARENA(a) | MALLOCX_TCACHE_NONE, MALLOCX_TCACHE_NONE, false);
                thread_case(cname("thread/%s/explicit_tcache", n), s, MALLOCX_TCACHE(tc),
                            MALLOCX_TCACHE(tc), false);
                thread_case(cname("thread/%s/explicit_tcache_sized", n), s, MALLOCX_TCACHE(tc),
                            MALLOCX_TCACHE(tc), true);
        }
        mallctl("tcache.destroy", NULL, NULL, &tc, sizeof(tc));
}

/* A thread whose tcache is disabled keeps counting (and its totals never go back). */
static void *nocache_thread(void *arg)
{
        (void)arg;
        free(malloc(64)); /* the thread's cache exists, and has counted something */
        struct tcount t0 = tread();
        bool off = false;
        mallctl("thread.tcache.enabled", NULL, NULL, &off, sizeof(off));
        struct tcount t1 = tread();
        void *p = malloc(100), *q = malloc((size_t)1 << 20);
        struct tcount t2 = tread();
        free(p);
        free(q);
        struct tcount t3 = tread();
        bool on = true;
        mallctl("thread.tcache.enabled", NULL, NULL, &on, sizeof(on));
        struct tcount t4 = tread();
        size_t want = nallocx(100, 0) + nallocx((size_t)1 << 20, 0);
        CHECKF("thread/tcache_disabled/monotonic", t1.a >= t0.a && t1.d >= t0.d && t4.a >= t3.a &&
               t4.d >= t3.d,
               "allocated %ju -> %ju -> %ju -> %ju, deallocated %ju -> %ju -> %ju -> %ju",
               (uintmax_t)t0.a, (uintmax_t)t1.a, (uintmax_t)t3.a, (uintmax_t)t4.a,
               (uintmax_t)t0.d, (uintmax_t)t1.d, (uintmax_t)t3.d, (uintmax_t)t4.d);
        CHECK_EQ("thread/tcache_disabled/allocated", t2.a - t1.a, want);
        CHECK_EQ("thread/tcache_disabled/deallocated", t3.d - t2.d, want);
        return NULL;
}

static void test_tcache_disabled(void)
{
        pthread_t th;
        if (CHECK("thread/tcache_disabled/thread", pthread_create(&th, NULL, nocache_thread,
                                                                  NULL) == 0))
                pthread_join(th, NULL);
}

/* ---- resizes: realloc / rallocx / xallocx, small -> large -> huge -------------------- */

enum rkind { R_REALLOC, R_RALLOCX, R_XALLOCX };

static void test_resizes(int flags, const char *tag)
{
        unsigned a = new_arena();
        if (!CHECK(cname("%s/arena_created", tag), a != UINT32_MAX))
                return;
        int f = MALLOCX_ARENA(a) | flags;
        static const struct {
                enum rkind kind;
                size_t size;
        } steps[] = {
                {R_RALLOCX, 110},          /* same class as 100 (112): in place */
                {R_RALLOCX, 200},          /* another small class: moves */
                {R_REALLOC, 3000},         /* small -> small */
                {R_RALLOCX, 40000},        /* small -> large */
                {R_XALLOCX, 60000},        /* large grown in place when it can */
                {R_XALLOCX, 60000},        /* the same size again: nothing to do */
                {R_RALLOCX, 50000},        /* large shrunk */
                {R_REALLOC, 3 << 20},      /* large -> large */
                {R_RALLOCX, 20 << 20},     /* large -> huge */
                {R_RALLOCX, 24 << 20},     /* huge -> huge */
                {R_RALLOCX, 24 << 20},     /* huge, same size */
                {R_XALLOCX, 16 << 20},     /* huge shrunk in place when it can */
                {R_RALLOCX, 5000},         /* huge -> small */
        };
        void *p = mallocx(100, f);
        size_t cur = p != NULL ? sallocx(p, 0) : 0;
        GROUP_BEGIN(cname("%s/thread_counters", tag));
        for (unsigned i = 0; p != NULL && i < sizeof(steps) / sizeof(steps[0]); i++) {
                size_t size = steps[i].size;
                struct tcount t0 = tread();
                size_t got;
                void *q = p;
                if (steps[i].kind == R_XALLOCX) {
                        got = xallocx(p, size, 0, f);
                } else {
                        q = steps[i].kind == R_REALLOC ? realloc(p, size) : rallocx(p, size, f);
                        got = q != NULL ? sallocx(q, 0) : cur;
                }
                struct tcount t1 = tread();
                if (q == NULL) {
                        EXPECTF(false, "step %u: resize to %zu failed", i, size);
                        break;
                }
                p = q;
                bool resized = steps[i].kind != R_XALLOCX || got != cur;
                EXPECT_EQ_AT(cname("step %u (%zu -> %zu) allocated", i, cur, size), t1.a - t0.a,
                          resized ? got : 0);
                EXPECT_EQ_AT(cname("step %u (%zu -> %zu) deallocated", i, cur, size),
                          t1.d - t0.d, resized ? cur : 0);
                cur = got;
        }
        GROUP_END();
        struct tcount t0 = tread();
        dallocx(p, flags & MALLOCX_TCACHE_NONE ? MALLOCX_TCACHE_NONE : 0);
        struct tcount t1 = tread();
        CHECK_EQ(cname("%s/final_free_deallocated", tag), t1.d - t0.d, cur);
        /* realloc() frees through the thread's tcache whatever the other calls said. */
        mallctl("thread.tcache.flush", NULL, NULL, NULL, 0);
        check_arena_empty(tag, a);
}

/* ---- thread.allocatedp / thread.deallocatedp ---------------------------------------- */

static void test_counter_pointers(void)
{
        uint64_t *ap = NULL, *dp = NULL;
        size_t sz = sizeof(ap);
        bool ok = mallctl("thread.allocatedp", &ap, &sz, NULL, 0) == 0 &&
                  mallctl("thread.deallocatedp", &dp, &sz, NULL, 0) == 0 && ap != NULL &&
                  dp != NULL;
        if (!CHECK("pointers/read", ok))
                return;
        static const size_t sizes[] = {(size_t)1 << 20, (size_t)64 << 20, (size_t)40000};
        for (unsigned i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
                size_t s = sizes[i];
                for (int none = 0; none < 2; none++) {
                        int fl = none ? MALLOCX_TCACHE_NONE : 0;
                        const char *tag = cname("pointers/%zu%s", s, none ? "/tcache_none" : "");
                        uint64_t a0 = *(volatile uint64_t *)ap;
                        void *p = mallocx(s, fl);
                        uint64_t a1 = *(volatile uint64_t *)ap;
                        uint64_t d0 = *(volatile uint64_t *)dp;
                        if (p != NULL)
                                dallocx(p, fl);
                        uint64_t d1 = *(volatile uint64_t *)dp;
                        if (!CHECK(cname("%s/allocated", tag), p != NULL))
                                continue;
                        CHECKF(cname("%s/allocatedp_live", tag), a1 - a0 >= s,
                               "*allocatedp grew by %ju after mallocx(%zu)", (uintmax_t)(a1 - a0),
                               s);
                        CHECKF(cname("%s/deallocatedp_live", tag), d1 - d0 >= s,
                               "*deallocatedp grew by %ju after dallocx of %zu bytes",
                               (uintmax_t)(d1 - d0), s);
                }
        }
        /* The pointed-to counters agree with a fresh read once the name is read again. */
        uint64_t a = rd_u64("thread.allocated"), d = rd_u64("thread.deallocated");
        CHECKF("pointers/agree_with_read", *ap == a && *dp == d,
               "*allocatedp %ju thread.allocated %ju, *deallocatedp %ju thread.deallocated %ju",
               (uintmax_t)*ap, (uintmax_t)a, (uintmax_t)*dp, (uintmax_t)d);
}

/* ---- decay of a manual arena's huge allocations ------------------------------------- */

#define HUGE_SZ ((size_t)32 << 20)

static int set_decay(unsigned a, const char *which, ssize_t ms)
{
        char name[64];
        snprintf(name, sizeof(name), "arena.%u.%s_decay_ms", a, which);
        return mallctl(name, NULL, NULL, &ms, sizeof(ms));
}

static void purge(unsigned a)
{
        char name[64];
        snprintf(name, sizeof(name), "arena.%u.purge", a);
        mallctl(name, NULL, NULL, NULL, 0);
}

static void test_decay_kept(void)
{
        unsigned a = new_arena();
        if (!CHECK("decay_kept/arena_created", a != UINT32_MAX))
                return;
        CHECK("decay_kept/set", set_decay(a, "dirty", -1) == 0 && set_decay(a, "muzzy", -1) == 0);
        int f = MALLOCX_ARENA(a) | MALLOCX_TCACHE_NONE;
        size_t pages = HUGE_SZ / (size_t)sysconf(_SC_PAGESIZE);
        char *p = mallocx(HUGE_SZ, f);
        if (!CHECK("decay_kept/allocated", p != NULL))
                return;
        memset(p, 0x11, HUGE_SZ);
        dallocx(p, MALLOCX_TCACHE_NONE);
        epoch();
        size_t pdirty = arena_size(a, "pdirty");
        size_t rss_kept = rss_bytes();
        CHECKF("decay_kept/freed_pages_dirty", pdirty >= pages * 3 / 4,
               "pdirty %zu, want >= %zu", pdirty, pages * 3 / 4);
        /* A new allocation of the size reuses the kept pages: nothing new is mapped. */
        size_t mapped0 = arena_size(a, "mapped");
        p = mallocx(HUGE_SZ, f);
        epoch();
        size_t mapped1 = arena_size(a, "mapped");
        size_t pdirty_reused = arena_size(a, "pdirty");
        if (p != NULL) {
                memset(p, 0x22, HUGE_SZ);
                dallocx(p, MALLOCX_TCACHE_NONE);
        }
        CHECKF("decay_kept/reused", p != NULL && mapped1 <= mapped0 && pdirty_reused < pages / 4,
               "mapped %zu -> %zu, pdirty %zu while reallocated", mapped0, mapped1,
               pdirty_reused);
        epoch();
        CHECKF("decay_kept/dirty_again", arena_size(a, "pdirty") >= pages * 3 / 4,
               "pdirty %zu", arena_size(a, "pdirty"));
        uint64_t purged0 = arena_u64(a, "dirty_purged");
        rss_kept = rss_bytes();
        purge(a);
        epoch();
        size_t pdirty_after = arena_size(a, "pdirty"), pmuzzy_after = arena_size(a, "pmuzzy");
        size_t rss_purged = rss_bytes();
        CHECKF("decay_kept/purge_returns_pages", pdirty_after + pmuzzy_after < pages / 100,
               "pdirty %zu pmuzzy %zu after arena.%u.purge", pdirty_after, pmuzzy_after, a);
        CHECKF("decay_kept/purged_counted", arena_u64(a, "dirty_purged") - purged0 >= pages * 3 / 4,
               "dirty_purged grew by %ju", (uintmax_t)(arena_u64(a, "dirty_purged") - purged0));
        CHECKF("decay_kept/rss_drops", rss_kept > rss_purged && rss_kept - rss_purged >= HUGE_SZ / 2,
               "RSS %zu -> %zu", rss_kept, rss_purged);
}

/* Finite decay times: a freed huge allocation is purged at once (eager purge of an
 * oversize extent), counted as purged dirty pages. */
static void test_decay_eager(void)
{
        unsigned a = new_arena();
        if (!CHECK("decay_eager/arena_created", a != UINT32_MAX))
                return;
        CHECK("decay_eager/set", set_decay(a, "dirty", 10000) == 0 &&
                                         set_decay(a, "muzzy", 10000) == 0);
        size_t pages = HUGE_SZ / (size_t)sysconf(_SC_PAGESIZE);
        epoch();
        uint64_t purged0 = arena_u64(a, "dirty_purged");
        uint64_t nmadvise0 = arena_u64(a, "dirty_nmadvise");
        char *p = mallocx(HUGE_SZ, MALLOCX_ARENA(a) | MALLOCX_TCACHE_NONE);
        if (!CHECK("decay_eager/allocated", p != NULL))
                return;
        memset(p, 0x33, HUGE_SZ);
        size_t rss_live = rss_bytes();
        dallocx(p, MALLOCX_TCACHE_NONE);
        size_t rss_freed = rss_bytes();
        epoch();
        size_t pdirty = arena_size(a, "pdirty");
        CHECKF("decay_eager/not_dirty", pdirty < pages / 4, "pdirty %zu", pdirty);
        CHECKF("decay_eager/rss_drops", rss_live > rss_freed && rss_live - rss_freed >= HUGE_SZ / 2,
               "RSS %zu -> %zu", rss_live, rss_freed);
        uint64_t purged = arena_u64(a, "dirty_purged") - purged0;
        uint64_t nmadvise = arena_u64(a, "dirty_nmadvise") - nmadvise0;
        CHECKF("decay_eager/purge_counted", purged >= pages && purged <= pages + 16 && nmadvise == 1,
               "dirty_purged +%ju (want %zu), dirty_nmadvise +%ju (want 1)", (uintmax_t)purged,
               pages, (uintmax_t)nmadvise);
}

int main(void)
{
        impl_init();
        /* Warm up stdio and the thread's cache so that no check sees their first use. */
        printf("# stats_exact (%s)\n", impl_name());
        fflush(stdout);
        free(malloc(64));
        test_arena_stats();
        test_thread_counters();
        test_tcache_disabled();
        test_resizes(MALLOCX_TCACHE_NONE, "resize/tcache_none");
        test_resizes(0, "resize/tcache");
        test_counter_pointers();
        test_decay_kept();
        test_decay_eager();
        return check_finish();
}
