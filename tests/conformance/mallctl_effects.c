/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * mallctl_effects: writes through mallctl take effect, shown on the stats and on the real
 * RSS (/proc/self/statm): purge, decay times (default for new arenas, per arena, decay
 * runs), the background purging thread, explicit tcaches, arena reset/destroy, thread
 * binding, tcache on/off; and the stats are true: what this program allocates across
 * threads shows up in stats.allocated and per size class, and allocated <= active <=
 * resident <= mapped holds under load.  Run against liballoc and Debian's jemalloc.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <jemalloc/jemalloc.h>
#include <pthread.h>
#include <time.h>

#include "impl.h"
#include "mallctl_read.h"

static size_t rss_bytes(void)
{
        FILE *f = fopen("/proc/self/statm", "r");
        unsigned long size = 0, res = 0;
        if (f != NULL) {
                if (fscanf(f, "%lu %lu", &size, &res) != 2)
                        res = 0;
                fclose(f);
        }
        return res * (size_t)sysconf(_SC_PAGESIZE);
}

static void sleep_ms(long ms)
{
        struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
        nanosleep(&ts, NULL);
}

static int set_ssize(const char *name, ssize_t v)
{
        return mallctl(name, NULL, NULL, &v, sizeof(v));
}

static size_t arena_size(unsigned ind, const char *leaf)
{
        char name[128];
        snprintf(name, sizeof(name), "stats.arenas.%u.%s", ind, leaf);
        return rd_size(name);
}

static unsigned new_arena(void)
{
        unsigned ind = 0;
        size_t sz = sizeof(ind);
        if (mallctl("arenas.create", &ind, &sz, NULL, 0) != 0)
                return UINT32_MAX;
        return ind;
}

#define MIB (1024 * 1024)

/* Frees 512 MiB of large blocks, then arena.4096.purge: resident and RSS fall. */
static void test_purge(void)
{
        enum { N = 8192, SZ = 64 * 1024 };
        void **p = malloc(N * sizeof(*p));
        for (int i = 0; i < N; i++) {
                p[i] = escape(malloc(SZ));
                memset(p[i], 1, SZ);
        }
        epoch();
        size_t res0 = rd_size("stats.resident"), rss0 = rss_bytes();
        for (int i = 0; i < N; i++)
                free(p[i]);
        free(p);
        CHECK_EQ("purge/rc", mallctl("arena.4096.purge", NULL, NULL, NULL, 0), 0);
        epoch();
        size_t res1 = rd_size("stats.resident"), rss1 = rss_bytes();
        CHECKF("purge/stats_resident_falls", res0 > res1 && res0 - res1 >= 400 * MIB,
               "resident %zu -> %zu", res0, res1);
        CHECKF("purge/rss_falls", rss0 > rss1 && rss0 - rss1 >= 400 * MIB, "rss %zu -> %zu",
               rss0, rss1);
}

/* arenas.dirty_decay_ms applies to arenas created afterwards; arena.<i>.dirty_decay_ms=0
 * purges at once; a positive time purges on the curve when arena.<i>.decay runs. */
static void test_decay(void)
{
        ssize_t old = 0, got = 0;
        size_t sz = sizeof(old);
        mallctl("arenas.dirty_decay_ms", &old, &sz, NULL, 0);
        CHECK_EQ("decay/arenas_default_write", set_ssize("arenas.dirty_decay_ms", 1234), 0);
        unsigned a = new_arena();
        char name[64];
        snprintf(name, sizeof(name), "arena.%u.dirty_decay_ms", a);
        sz = sizeof(got);
        mallctl(name, &got, &sz, NULL, 0);
        CHECK_EQ("decay/new_arena_inherits", got, 1234);
        set_ssize("arenas.dirty_decay_ms", old);
        CHECK_EQ("decay/invalid_rejected", set_ssize("arenas.dirty_decay_ms", -2), EFAULT);

        /* dirty_decay_ms = 0: freed pages leave at once. */
        CHECK_EQ("decay/arena_write", set_ssize(name, 0), 0);
        enum { N = 1024, SZ = 64 * 1024 };
        void **p = malloc(N * sizeof(*p));
        for (int i = 0; i < N; i++) {
                p[i] = escape(mallocx(SZ, MALLOCX_ARENA(a) | MALLOCX_TCACHE_NONE));
                memset(p[i], 2, SZ);
        }
        size_t rss0 = rss_bytes();
        for (int i = 0; i < N; i++)
                dallocx(p[i], MALLOCX_TCACHE_NONE);
        size_t rss1 = rss_bytes();
        epoch();
        CHECKF("decay/zero_purges_at_once", rss0 - rss1 >= 48 * MIB && arena_size(a, "pdirty") < 256,
               "rss %zu -> %zu, pdirty %zu", rss0, rss1, arena_size(a, "pdirty"));

        /* 200 ms: after 500 ms a decay run purges (nearly) everything. */
        set_ssize(name, 200);
        for (int i = 0; i < N; i++) {
                p[i] = escape(mallocx(SZ, MALLOCX_ARENA(a) | MALLOCX_TCACHE_NONE));
                memset(p[i], 3, SZ);
        }
        for (int i = 0; i < N; i++)
                dallocx(p[i], MALLOCX_TCACHE_NONE);
        epoch();
        size_t dirty0 = arena_size(a, "pdirty");
        sleep_ms(500);
        snprintf(name, sizeof(name), "arena.%u.decay", a);
        CHECK_EQ("decay/decay_rc", mallctl(name, NULL, NULL, NULL, 0), 0);
        epoch();
        size_t dirty1 = arena_size(a, "pdirty");
        if (impl_is_jemalloc())
                check_skip("decay/curve_purges", "Debian's jemalloc 5.3.0 leaves these pages "
                                                 "dirty after arena.<i>.decay (measured)");
        else
                CHECKF("decay/curve_purges", dirty0 >= 8192 && dirty1 < dirty0 / 8,
                       "pdirty %zu -> %zu", dirty0, dirty1);
        free(p);
}

/* background_thread purges with no call into the allocator. */
static void test_background_thread(void)
{
        unsigned a = new_arena();
        char name[64];
        snprintf(name, sizeof(name), "arena.%u.dirty_decay_ms", a);
        set_ssize(name, 100);
        snprintf(name, sizeof(name), "arena.%u.muzzy_decay_ms", a);
        set_ssize(name, 0);
        bool on = true, got = false;
        size_t sz = sizeof(got);
        CHECK_EQ("bg/enable", mallctl("background_thread", NULL, NULL, &on, sizeof(on)), 0);
        mallctl("background_thread", &got, &sz, NULL, 0);
        CHECK("bg/reads_true", got);
        enum { N = 1024, SZ = 64 * 1024 };
        void **p = malloc(N * sizeof(*p));
        for (int i = 0; i < N; i++) {
                p[i] = escape(mallocx(SZ, MALLOCX_ARENA(a) | MALLOCX_TCACHE_NONE));
                memset(p[i], 4, SZ);
        }
        for (int i = 0; i < N; i++)
                dallocx(p[i], MALLOCX_TCACHE_NONE);
        free(p);
        epoch();
        size_t dirty0 = arena_size(a, "pdirty");
        size_t dirty1 = dirty0;
        for (int i = 0; i < 40 && dirty1 > dirty0 / 8; i++) {
                sleep_ms(100); /* no allocator call from here but the stats read */
                epoch();
                dirty1 = arena_size(a, "pdirty");
        }
        CHECKF("bg/purges_alone", dirty0 >= 8192 && dirty1 <= dirty0 / 8, "pdirty %zu -> %zu",
               dirty0, dirty1);
        CHECKF("bg/num_threads", rd_size("stats.background_thread.num_threads") >= 1,
               "num_threads %zu", rd_size("stats.background_thread.num_threads"));
        /* max_background_threads: at most opt's value; fewer threads once lowered. */
        size_t maxbg = 0, one = 1, too_many = 0;
        sz = sizeof(maxbg);
        mallctl("opt.max_background_threads", &too_many, &sz, NULL, 0);
        too_many++;
        CHECK_EQ("bg/max_above_opt", mallctl("max_background_threads", NULL, NULL, &too_many,
                                             sizeof(too_many)), EINVAL);
        CHECK_EQ("bg/max_write", mallctl("max_background_threads", NULL, NULL, &one,
                                         sizeof(one)), 0);
        sz = sizeof(maxbg);
        mallctl("max_background_threads", &maxbg, &sz, NULL, 0);
        CHECK_EQ("bg/max_reads_back", maxbg, 1);
        epoch();
        CHECKF("bg/max_limits_threads", rd_size("stats.background_thread.num_threads") == 1,
               "num_threads %zu", rd_size("stats.background_thread.num_threads"));
        on = false;
        CHECK_EQ("bg/disable", mallctl("background_thread", NULL, NULL, &on, sizeof(on)), 0);
        epoch();
        CHECK_EQ("bg/stopped", rd_size("stats.background_thread.num_threads"), 0);
}

static void test_tcache(void)
{
        unsigned id = 0;
        size_t sz = sizeof(id);
        CHECK_EQ("tcache/create", mallctl("tcache.create", &id, &sz, NULL, 0), 0);
        void *p[100];
        for (int i = 0; i < 100; i++)
                p[i] = escape(mallocx(48, MALLOCX_TCACHE(id)));
        bool ok = true;
        for (int i = 0; i < 100; i++)
                ok = ok && p[i] != NULL && malloc_usable_size(p[i]) >= 48;
        CHECK("tcache/allocates", ok);
        for (int i = 0; i < 100; i++)
                dallocx(p[i], MALLOCX_TCACHE(id));
        CHECK_EQ("tcache/flush", mallctl("tcache.flush", NULL, NULL, &id, sizeof(id)), 0);
        CHECK_EQ("tcache/destroy", mallctl("tcache.destroy", NULL, NULL, &id, sizeof(id)), 0);
        unsigned again = UINT32_MAX;
        sz = sizeof(again);
        CHECK_EQ("tcache/create_again", mallctl("tcache.create", &again, &sz, NULL, 0), 0);
        CHECK_EQ("tcache/id_reused", again, id);
        mallctl("tcache.destroy", NULL, NULL, &again, sizeof(again));
        sz = 1;
        CHECK_EQ("tcache/create_bad_size", mallctl("tcache.create", &id, &sz, NULL, 0), EINVAL);
}

/* reset discards an arena's allocations; destroy makes it the "destroyed" sum and frees
 * its index for arenas.create. */
static void test_reset_destroy(void)
{
        unsigned a = new_arena();
        for (int i = 0; i < 1000; i++)
                escape(mallocx(100, MALLOCX_ARENA(a) | MALLOCX_TCACHE_NONE));
        for (int i = 0; i < 10; i++)
                escape(mallocx(100000, MALLOCX_ARENA(a) | MALLOCX_TCACHE_NONE));
        epoch();
        CHECKF("reset/before", arena_size(a, "small.allocated") >= 100000 &&
                                       arena_size(a, "large.allocated") >= 1000000,
               "small %zu large %zu", arena_size(a, "small.allocated"),
               arena_size(a, "large.allocated"));
        char name[64];
        snprintf(name, sizeof(name), "arena.%u.reset", a);
        CHECK_EQ("reset/rc", mallctl(name, NULL, NULL, NULL, 0), 0);
        epoch();
        CHECKF("reset/emptied", arena_size(a, "small.allocated") == 0 &&
                                        arena_size(a, "large.allocated") == 0 &&
                                        arena_size(a, "pactive") == 0,
               "small %zu large %zu pactive %zu", arena_size(a, "small.allocated"),
               arena_size(a, "large.allocated"), arena_size(a, "pactive"));
        CHECK_EQ("reset/automatic_refused", mallctl("arena.0.reset", NULL, NULL, NULL, 0),
                 EFAULT);
        escape(mallocx(100, MALLOCX_ARENA(a) | MALLOCX_TCACHE_NONE));
        snprintf(name, sizeof(name), "arena.%u.destroy", a);
        CHECK_EQ("destroy/rc", mallctl(name, NULL, NULL, NULL, 0), 0);
        epoch();
        bool init = false;
        size_t sz = sizeof(init);
        mallctl("arena.4097.initialized", &init, &sz, NULL, 0);
        CHECK("destroy/4097_initialized", init);
        CHECK("destroy/4097_stats", rd_u64("stats.arenas.4097.small.nmalloc") >= 1001);
        CHECK_EQ("destroy/index_reused", new_arena(), a);
}

static void test_thread_binding(void)
{
        unsigned a = new_arena(), old = 0, got = 0;
        size_t sz = sizeof(old);
        CHECK_EQ("thread_arena/write", mallctl("thread.arena", &old, &sz, &a, sizeof(a)), 0);
        void *p = escape(malloc(200));
        sz = sizeof(got);
        mallctl("arenas.lookup", &got, &sz, &p, sizeof(p));
        CHECK_EQ("thread_arena/lookup", got, a);
        free(p);
        mallctl("thread.arena", NULL, NULL, &old, sizeof(old));
        unsigned bad = 100000;
        CHECK_EQ("thread_arena/invalid", mallctl("thread.arena", NULL, NULL, &bad, sizeof(bad)),
                 EFAULT);

        bool off = false, on = true, v = true;
        sz = sizeof(v);
        mallctl("thread.tcache.enabled", NULL, NULL, &off, sizeof(off));
        mallctl("thread.tcache.enabled", &v, &sz, NULL, 0);
        CHECK("tcache_enabled/off", !v);
        free(escape(malloc(64)));
        mallctl("thread.tcache.enabled", NULL, NULL, &on, sizeof(on));
        mallctl("thread.tcache.enabled", &v, &sz, NULL, 0);
        CHECK("tcache_enabled/on", v);
        CHECK_EQ("tcache_flush", mallctl("thread.tcache.flush", NULL, NULL, NULL, 0), 0);
}

/* ---- stats are true, across threads ------------------------------------------------ */

enum { NTHREADS = 8, PER_THREAD = 2000, OBJ = 1000 };
static void *objs[NTHREADS][PER_THREAD];
static uint64_t thread_alloc_delta[NTHREADS];

static void *worker(void *arg)
{
        int t = (int)(intptr_t)arg;
        uint64_t a0 = rd_u64("thread.allocated");
        for (int i = 0; i < PER_THREAD; i++)
                objs[t][i] = escape(malloc(OBJ));
        thread_alloc_delta[t] = rd_u64("thread.allocated") - a0;
        return NULL;
}

static void test_true_stats(void)
{
        epoch();
        size_t alloc0 = rd_size("stats.allocated");
        size_t usize = nallocx(OBJ, 0);
        pthread_t th[NTHREADS];
        for (int t = 0; t < NTHREADS; t++)
                pthread_create(&th[t], NULL, worker, (void *)(intptr_t)t);
        for (int t = 0; t < NTHREADS; t++)
                pthread_join(th[t], NULL);
        bool exact = true;
        for (int t = 0; t < NTHREADS; t++)
                exact = exact && thread_alloc_delta[t] == (uint64_t)PER_THREAD * usize;
        CHECK("true/thread_allocated_exact", exact);
        epoch();
        size_t want = (size_t)NTHREADS * PER_THREAD * usize;
        size_t alloc1 = rd_size("stats.allocated");
        CHECKF("true/allocated_grew", alloc1 - alloc0 >= want && alloc1 - alloc0 <= want + want / 10,
               "grew %zu, allocated by the threads %zu", alloc1 - alloc0, want);
        size_t al = alloc1, ac = rd_size("stats.active"), re = rd_size("stats.resident"),
               ma = rd_size("stats.mapped");
        CHECKF("true/ordering", al <= ac && ac <= re && re <= ma,
               "allocated %zu active %zu resident %zu mapped %zu", al, ac, re, ma);
        /* The size class of the objects: curregs of the merged arenas counts them. */
        unsigned nbins = 0, bin = 0;
        size_t sz = sizeof(nbins);
        mallctl("arenas.nbins", &nbins, &sz, NULL, 0);
        for (unsigned j = 0; j < nbins; j++) {
                char name[64];
                snprintf(name, sizeof(name), "arenas.bin.%u.size", j);
                if (rd_size(name) == usize)
                        bin = j;
        }
        char name[96];
        snprintf(name, sizeof(name), "stats.arenas.4096.bins.%u.curregs", bin);
        size_t cur = rd_size(name);
        CHECKF("true/bin_curregs", cur >= (size_t)NTHREADS * PER_THREAD, "curregs %zu", cur);
        snprintf(name, sizeof(name), "stats.arenas.4096.bins.%u.nmalloc", bin);
        CHECK("true/bin_nmalloc", rd_u64(name) >= (uint64_t)NTHREADS * PER_THREAD);
        /* The main thread frees everything (remote frees). */
        uint64_t d0 = rd_u64("thread.deallocated");
        for (int t = 0; t < NTHREADS; t++)
                for (int i = 0; i < PER_THREAD; i++)
                        free(objs[t][i]);
        CHECK_EQ("true/thread_deallocated_exact", rd_u64("thread.deallocated") - d0,
                 (uint64_t)want);
        epoch();
        size_t alloc2 = rd_size("stats.allocated");
        CHECKF("true/allocated_back", alloc2 <= alloc0 + want / 20, "before %zu after %zu",
               alloc0, alloc2);
}

/* Invariants while other threads allocate and free. */
static volatile bool stop_load;
static void *churn(void *arg)
{
        (void)arg;
        void *p[256] = {0};
        unsigned x = 12345;
        while (!stop_load) {
                x = x * 1103515245u + 12345u;
                unsigned i = (x >> 8) & 255;
                free(p[i]);
                p[i] = malloc(16 + (x >> 16) % 70000);
        }
        for (int i = 0; i < 256; i++)
                free(p[i]);
        return NULL;
}

static void test_invariants_under_load(void)
{
        pthread_t th[4];
        for (int t = 0; t < 4; t++)
                pthread_create(&th[t], NULL, churn, NULL);
        /* jemalloc merges its per-thread counts into the snapshot one arena at a time
         * while the churn goes on, so its allocated can pass active by the objects the
         * churn threads made between the two reads (seen: 16 KiB over active on a
         * loaded machine, 1 sample in 200). Its slack is therefore one largest churn
         * object (usize 80 KiB) per thread; liballoc's snapshot may not pass at all, nor
         * may either break the rest of the order. */
        bool strict = !impl_is_jemalloc();
        const size_t slack = 4 * (size_t)80 * 1024;
        GROUP_BEGIN("load/ordering");
        for (int i = 0; i < 200; i++) {
                epoch();
                size_t al = rd_size("stats.allocated"), ac = rd_size("stats.active"),
                       re = rd_size("stats.resident"), ma = rd_size("stats.mapped");
                EXPECTF((al <= ac || (!strict && al <= ac + slack)) && ac <= re && re <= ma,
                       "allocated %zu active %zu resident %zu mapped %zu", al, ac, re, ma);
        }
        GROUP_END();
        stop_load = true;
        for (int t = 0; t < 4; t++)
                pthread_join(th[t], NULL);
}

int main(void)
{
        impl_init();
        test_purge();
        test_decay();
        test_background_thread();
        test_tcache();
        test_reset_destroy();
        test_thread_binding();
        test_true_stats();
        test_invariants_under_load();
        return check_finish();
}
