/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Conformance of mallctl, mallctlnametomib and mallctlbymib for the first subset of names
 * (docs/mallctl.md): version, epoch, arenas.narenas, arenas.create, thread.arena,
 * thread.tcache.flush, stats.{allocated,active,resident,mapped}, opt.narenas,
 * opt.dirty_decay_ms, opt.muzzy_decay_ms and opt.tcache (with their defaults when no
 * configuration is given).  Error codes: ENOENT for unknown names, interior nodes and extra
 * components; EINVAL for a wrong *oldlenp (the smaller size is still copied and *oldlenp is
 * set to it) or newlen; EPERM for writing read-only names and reading void ones; EFAULT for
 * binding a thread to an arena index out of range.  Stats: snapshot semantics until the
 * next epoch write, allocated <= active <= mapped, active <= resident, and 64 MiB allocated
 * and touched shows up in stats.allocated and goes away when freed.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <unistd.h>

#include <jemalloc/jemalloc.h>

#include "impl.h"

#define MiB ((size_t)1 << 20)

static unsigned read_unsigned(const char *name, int *err)
{
        unsigned v = 0;
        size_t len = sizeof(v);
        *err = mallctl(name, &v, &len, NULL, 0);
        return v;
}

static size_t read_size(const char *name, int *err)
{
        size_t v = 0, len = sizeof(v);
        *err = mallctl(name, &v, &len, NULL, 0);
        return v;
}

static uint64_t epoch_refresh(void)
{
        uint64_t e = 1;
        size_t len = sizeof(e);
        if (mallctl("epoch", &e, &len, &e, sizeof(e)) != 0)
                return 0;
        return e;
}

static void test_version(void)
{
        const char *v = NULL;
        size_t len = sizeof(v);
        int r = mallctl("version", &v, &len, NULL, 0);

        CHECK_EQ("version/read_ok", r, 0);
        CHECK_STR("version/equals_JEMALLOC_VERSION", r == 0 ? v : NULL, JEMALLOC_VERSION);
        r = mallctl("version", NULL, NULL, &v, sizeof(v));
        CHECK_EQ("version/write_eperm", r, EPERM);
        r = mallctl("version", &v, &len, &v, sizeof(v));
        CHECK_EQ("version/read_write_eperm", r, EPERM);
}

static void test_epoch(void)
{
        uint64_t e1 = 0, e2 = 0, e3 = 0, w = 12345;
        size_t len = sizeof(e1);
        int r = mallctl("epoch", &e1, &len, NULL, 0);

        CHECK_EQ("epoch/read_ok", r, 0);
        CHECKF("epoch/read_nonzero", e1 >= 1, "epoch %ju", (uintmax_t)e1);
        len = sizeof(e2);
        r = mallctl("epoch", &e2, &len, NULL, 0);
        CHECKF("epoch/read_does_not_advance", r == 0 && e2 == e1, "r=%d %ju then %ju", r,
               (uintmax_t)e1, (uintmax_t)e2);
        len = sizeof(e2);
        r = mallctl("epoch", &e2, &len, &w, sizeof(w));
        CHECK_EQ("epoch/write_ok", r, 0);
        CHECK_EQ("epoch/write_returns_next", e2, e1 + 1);
        r = mallctl("epoch", NULL, NULL, &w, sizeof(w));
        len = sizeof(e3);
        mallctl("epoch", &e3, &len, NULL, 0);
        CHECKF("epoch/write_only_advances", r == 0 && e3 == e2 + 1, "r=%d %ju then %ju", r,
               (uintmax_t)e2, (uintmax_t)e3);
        r = mallctl("epoch", NULL, NULL, &w, 4);
        CHECK_EQ("epoch/newlen_4_einval", r, EINVAL);
        len = 4;
        r = mallctl("epoch", &e3, &len, NULL, 0);
        CHECK_EQ("epoch/oldlen_4_einval", r, EINVAL);
}

/* *oldlenp != sizeof(type): EINVAL, min(size) bytes still copied, *oldlenp = copied. */
static void test_oldlen_rule(void)
{
        int err;
        unsigned want = read_unsigned("arenas.narenas", &err);
        unsigned char buf[16], ref[sizeof(unsigned)];
        size_t len;
        int r;

        memcpy(ref, &want, sizeof(want));

        memset(buf, 0xee, sizeof(buf));
        len = 2;
        r = mallctl("arenas.narenas", buf, &len, NULL, 0);
        CHECK_EQ("errors/oldlen_short_einval", r, EINVAL);
        CHECK_EQ("errors/oldlen_short_len_kept", len, 2);
        CHECK("errors/oldlen_short_copies_prefix",
              memcmp(buf, ref, 2) == 0 && buf[2] == 0xee && buf[3] == 0xee);

        memset(buf, 0xee, sizeof(buf));
        len = 8;
        r = mallctl("arenas.narenas", buf, &len, NULL, 0);
        CHECK_EQ("errors/oldlen_long_einval", r, EINVAL);
        CHECK_EQ("errors/oldlen_long_len_set", len, sizeof(unsigned));
        CHECK("errors/oldlen_long_copies_value",
              memcmp(buf, ref, sizeof(unsigned)) == 0 && buf[4] == 0xee && buf[7] == 0xee);

        ssize_t d = 0;
        len = 4;
        r = mallctl("opt.dirty_decay_ms", &d, &len, NULL, 0);
        CHECKF("errors/oldlen_ssize_t_4_einval", r == EINVAL && len == 4, "r=%d len=%zu", r, len);
        size_t s = 0;
        len = 4;
        r = mallctl("stats.allocated", &s, &len, NULL, 0);
        CHECKF("errors/oldlen_size_t_4_einval", r == EINVAL && len == 4, "r=%d len=%zu", r, len);
        bool b = false;
        len = 4;
        r = mallctl("opt.tcache", &b, &len, NULL, 0);
        CHECKF("errors/oldlen_bool_4_einval", r == EINVAL && len == 1, "r=%d len=%zu", r, len);
}

static void test_errors(void)
{
        static const char *const noent[] = {
                "nonexistent",
                "arenas",
                "arenas.narenas.x",
                "version.x",
                "",
                "arenas.",
                "stats",
                "opt",
                "thread",
                "epoch.",
                ".epoch",
                "thread.arena.0",
                "arenas..narenas",
                "ARENAS.narenas",
                "arenas.narenasx",
                "stats.allocated.0",
                "thread.tcache",
                "thread.tcache.flush.x",
        };
        GROUP_BEGIN("errors/enoent_unknown_interior_extra");
        for (size_t i = 0; i < sizeof(noent) / sizeof(noent[0]); i++) {
                unsigned u = 0;
                size_t len = sizeof(u);
                int r = mallctl(noent[i], &u, &len, NULL, 0);
                EXPECTF(r == ENOENT, "mallctl(\"%s\", read) = %d, want ENOENT", noent[i], r);
                r = mallctl(noent[i], NULL, NULL, NULL, 0);
                EXPECTF(r == ENOENT, "mallctl(\"%s\", nothing) = %d, want ENOENT", noent[i], r);
        }
        GROUP_END();

        static const char *const readonly[] = {
                "version",      "arenas.narenas",     "stats.allocated",
                "stats.active", "stats.resident",     "stats.mapped",
                "opt.narenas",  "opt.dirty_decay_ms", "opt.muzzy_decay_ms",
                "opt.tcache",
        };
        GROUP_BEGIN("errors/eperm_write_readonly");
        for (size_t i = 0; i < sizeof(readonly) / sizeof(readonly[0]); i++) {
                unsigned char buf[8];
                size_t len = sizeof(buf);
                /* Read the current value with the right size so the write has that size. */
                int r = mallctl(readonly[i], buf, &len, NULL, 0);
                if (r == EINVAL)
                        r = mallctl(readonly[i], buf, &len, NULL, 0);
                EXPECTF(r == 0, "mallctl(\"%s\") read = %d", readonly[i], r);
                r = mallctl(readonly[i], NULL, NULL, buf, len);
                EXPECTF(r == EPERM, "mallctl(\"%s\") write = %d, want EPERM", readonly[i], r);
        }
        GROUP_END();
}

static void test_narenas_create(void)
{
        int err;
        unsigned opt_narenas = read_unsigned("opt.narenas", &err);
        CHECK_EQ("opt.narenas/read_ok", err, 0);
        unsigned n0 = read_unsigned("arenas.narenas", &err);
        CHECK_EQ("arenas.narenas/read_ok", err, 0);
        CHECKF("arenas.narenas/at_least_opt_narenas", n0 >= opt_narenas && n0 > 0,
               "arenas.narenas %u, opt.narenas %u", n0, opt_narenas);

        unsigned idx = 0, idx2 = 0;
        size_t len = 2;
        int r = mallctl("arenas.create", &idx, &len, NULL, 0);
        CHECK_EQ("arenas.create/bad_oldlen_einval", r, EINVAL);
        CHECK_EQ("arenas.create/bad_oldlen_sets_0", len, 0);
        CHECK_EQ("arenas.create/bad_oldlen_creates_nothing", read_unsigned("arenas.narenas", &err),
                 n0);

        len = sizeof(idx);
        r = mallctl("arenas.create", &idx, &len, NULL, 0);
        CHECK_EQ("arenas.create/ok", r, 0);
        CHECKF("arenas.create/index_at_least_narenas", idx >= n0, "index %u, narenas was %u", idx,
               n0);
        unsigned n1 = read_unsigned("arenas.narenas", &err);
        CHECKF("arenas.create/narenas_grows", n1 > idx, "index %u, narenas now %u", idx, n1);
        len = sizeof(idx2);
        r = mallctl("arenas.create", &idx2, &len, NULL, 0);
        CHECKF("arenas.create/second_distinct", r == 0 && idx2 != idx && idx2 >= n0,
               "r=%d first %u second %u", r, idx, idx2);
}

struct thread_arena_arg {
        unsigned manual;
        unsigned seen;
        int r_read;
        int r_flush;
        bool alloc_ok;
};

static void *thread_arena_main(void *p)
{
        struct thread_arena_arg *a = p;
        size_t len = sizeof(a->seen);
        void *blk = malloc(1000);

        a->r_read = mallctl("thread.arena", &a->seen, &len, NULL, 0);
        a->r_flush = mallctl("thread.tcache.flush", NULL, NULL, NULL, 0);
        a->alloc_ok = blk != NULL;
        free(blk);
        return NULL;
}

static void test_thread_arena(void)
{
        int err;
        unsigned narenas = read_unsigned("arenas.narenas", &err);
        unsigned cur = 0, old = 0, manual = 0, back = 0;
        size_t len = sizeof(cur);
        int r = mallctl("thread.arena", &cur, &len, NULL, 0);

        CHECK_EQ("thread.arena/read_ok", r, 0);
        CHECKF("thread.arena/read_in_range", cur < narenas, "thread.arena %u, narenas %u", cur,
               narenas);

        len = sizeof(manual);
        if (mallctl("arenas.create", &manual, &len, NULL, 0) != 0) {
                CHECK("thread.arena/arenas_create", false);
                return;
        }
        narenas = read_unsigned("arenas.narenas", &err);

        len = sizeof(old);
        r = mallctl("thread.arena", &old, &len, &manual, sizeof(manual));
        CHECK_EQ("thread.arena/write_ok", r, 0);
        CHECK_EQ("thread.arena/write_returns_old", old, cur);
        len = sizeof(back);
        mallctl("thread.arena", &back, &len, NULL, 0);
        CHECK_EQ("thread.arena/read_back", back, manual);

        void *blk = malloc(3000);
        CHECK("thread.arena/alloc_while_bound", blk != NULL);
        free(blk);

        const unsigned bad[] = {narenas, narenas + 100, 4096, UINT_MAX};
        GROUP_BEGIN("thread.arena/out_of_range_efault");
        for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
                r = mallctl("thread.arena", NULL, NULL, (void *)&bad[i], sizeof(bad[i]));
                EXPECTF(r == EFAULT, "thread.arena = %u (narenas %u): %d, want EFAULT", bad[i],
                       narenas, r);
                len = sizeof(back);
                mallctl("thread.arena", &back, &len, NULL, 0);
                EXPECTF(back == manual, "binding changed to %u after failed write", back);
        }
        GROUP_END();

        r = mallctl("thread.arena", NULL, NULL, &manual, 8);
        CHECK_EQ("thread.arena/newlen_8_einval", r, EINVAL);

        /* Arenas from arenas.create are never chosen automatically for a new thread. */
        struct thread_arena_arg arg = {.manual = manual};
        pthread_t t;
        bool ok = pthread_create(&t, NULL, thread_arena_main, &arg) == 0 &&
                  pthread_join(t, NULL) == 0;
        CHECKF("thread.arena/other_thread_not_bound", ok && arg.r_read == 0 && arg.seen != manual,
               "ok=%d r=%d seen %u manual %u", ok, arg.r_read, arg.seen, manual);
        CHECKF("thread.tcache.flush/other_thread", ok && arg.r_flush == 0 && arg.alloc_ok,
               "ok=%d r=%d", ok, arg.r_flush);

        r = mallctl("thread.arena", NULL, NULL, &cur, sizeof(cur));
        CHECK_EQ("thread.arena/restore", r, 0);
}

static void test_tcache_flush(void)
{
        void *p[100];
        for (int i = 0; i < 100; i++)
                p[i] = malloc((size_t)(i % 10 + 1) * 48);
        for (int i = 0; i < 100; i++)
                free(p[i]);

        int r = mallctl("thread.tcache.flush", NULL, NULL, NULL, 0);
        CHECK_EQ("thread.tcache.flush/ok", r, 0);
        r = mallctl("thread.tcache.flush", NULL, NULL, NULL, 0);
        CHECK_EQ("thread.tcache.flush/twice_ok", r, 0);

        unsigned u = 0;
        size_t len = sizeof(u);
        r = mallctl("thread.tcache.flush", &u, &len, NULL, 0);
        CHECK_EQ("thread.tcache.flush/read_eperm", r, EPERM);
        r = mallctl("thread.tcache.flush", NULL, NULL, &u, sizeof(u));
        CHECK_EQ("thread.tcache.flush/write_eperm", r, EPERM);

        bool ok = true;
        for (int i = 0; i < 100; i++) {
                p[i] = malloc((size_t)(i % 10 + 1) * 48);
                ok = ok && p[i] != NULL;
        }
        for (int i = 0; i < 100; i++)
                free(p[i]);
        CHECK("thread.tcache.flush/alloc_after_flush", ok);
}

static void test_stats(void)
{
        int e1, e2, e3, e4;

        CHECK("stats/epoch_refresh", epoch_refresh() != 0);
        size_t allocated = read_size("stats.allocated", &e1);
        size_t active = read_size("stats.active", &e2);
        size_t resident = read_size("stats.resident", &e3);
        size_t mapped = read_size("stats.mapped", &e4);

        CHECKF("stats/read_ok", e1 == 0 && e2 == 0 && e3 == 0 && e4 == 0, "%d %d %d %d", e1, e2, e3,
               e4);
        CHECKF("stats/nonzero", allocated > 0 && active > 0 && resident > 0 && mapped > 0,
               "allocated %zu active %zu resident %zu mapped %zu", allocated, active, resident,
               mapped);
        CHECKF("stats/allocated_le_active", allocated <= active, "allocated %zu active %zu",
               allocated, active);
        CHECKF("stats/active_le_mapped", active <= mapped, "active %zu mapped %zu", active, mapped);
        CHECKF("stats/active_le_resident", active <= resident, "active %zu resident %zu", active,
               resident);
        CHECKF("stats/active_page_multiple", active % 4096 == 0, "active %zu", active);
        /* jemalloc maps whole pages only, so mapped is a page multiple too. */
        CHECKF("stats/mapped_page_multiple", mapped % 4096 == 0, "mapped %zu", mapped);

        /* 64 MiB, touched, shows up after an epoch refresh and not before. */
        size_t big = 64 * MiB;
        unsigned char *p = escape(malloc(big));
        CHECK("stats/alloc_64MiB", p != NULL);
        if (p == NULL)
                return;
        memset(p, 0x42, big);
        size_t stale = read_size("stats.allocated", &e1);
        CHECKF("stats/snapshot_until_epoch", e1 == 0 && stale == allocated,
               "stats.allocated changed from %zu to %zu without an epoch write", allocated, stale);
        epoch_refresh();
        size_t a2 = read_size("stats.allocated", &e1);
        size_t act2 = read_size("stats.active", &e2);
        size_t res2 = read_size("stats.resident", &e3);
        size_t map2 = read_size("stats.mapped", &e4);
        CHECKF("stats/allocated_grows_64MiB", a2 >= allocated + big,
               "before %zu after %zu (want +%zu)", allocated, a2, big);
        CHECKF("stats/active_grows_64MiB", act2 >= active + big, "before %zu after %zu", active,
               act2);
        CHECKF("stats/resident_ge_64MiB", res2 >= big && res2 >= act2, "resident %zu active %zu",
               res2, act2);
        CHECKF("stats/mapped_ge_64MiB", map2 >= big && map2 >= act2, "mapped %zu active %zu", map2,
               act2);
        CHECKF("stats/ordering_after_alloc", a2 <= act2 && act2 <= map2 && act2 <= res2,
               "allocated %zu active %zu resident %zu mapped %zu", a2, act2, res2, map2);

        free(p);
        epoch_refresh();
        size_t a3 = read_size("stats.allocated", &e1);
        size_t act3 = read_size("stats.active", &e2);
        CHECKF("stats/allocated_drops_after_free", a3 + big <= a2, "with %zu after free %zu", a2,
               a3);
        CHECKF("stats/active_drops_after_free", act3 + big <= act2, "with %zu after free %zu", act2,
               act3);
}

static void test_mib(void)
{
        size_t mib[8], miblen = 8;
        int r = mallctlnametomib("arenas.narenas", mib, &miblen);
        int err;
        unsigned want = read_unsigned("arenas.narenas", &err), got = 0;
        size_t len = sizeof(got);

        CHECK_EQ("mib/nametomib_ok", r, 0);
        CHECK_EQ("mib/nametomib_len_2", miblen, 2);
        r = mallctlbymib(mib, miblen, &got, &len, NULL, 0);
        CHECK_EQ("mib/bymib_read_ok", r, 0);
        CHECK_EQ("mib/bymib_value_matches", got, want);
        len = 2;
        r = mallctlbymib(mib, miblen, &got, &len, NULL, 0);
        CHECKF("mib/bymib_oldlen_einval", r == EINVAL && len == 2, "r=%d len=%zu", r, len);
        r = mallctlbymib(mib, miblen, NULL, NULL, &got, sizeof(got));
        CHECK_EQ("mib/bymib_write_readonly_eperm", r, EPERM);

        /* A short capacity yields a valid prefix; the prefix alone is an interior node. */
        size_t pmib[8], plen = 1;
        r = mallctlnametomib("arenas.narenas", pmib, &plen);
        CHECK_EQ("mib/prefix_capacity_ok", r, 0);
        CHECK_EQ("mib/prefix_capacity_len_1", plen, 1);
        CHECK_EQ("mib/prefix_matches_full", pmib[0], mib[0]);
        len = sizeof(got);
        r = mallctlbymib(pmib, plen, &got, &len, NULL, 0);
        CHECK_EQ("mib/prefix_bymib_enoent", r, ENOENT);
        /* Completing the prefix by hand gives the full name again. */
        pmib[1] = mib[1];
        got = 0;
        r = mallctlbymib(pmib, 2, &got, &len, NULL, 0);
        CHECKF("mib/prefix_completed", r == 0 && got == want, "r=%d got %u want %u", r, got, want);

        plen = 8;
        r = mallctlnametomib("arenas", pmib, &plen);
        CHECKF("mib/interior_name_prefix", r == 0 && plen == 1 && pmib[0] == mib[0], "r=%d len=%zu",
               r, plen);

        plen = 8;
        r = mallctlnametomib("nonexistent.name", pmib, &plen);
        CHECK_EQ("mib/nametomib_unknown_enoent", r, ENOENT);
        plen = 8;
        r = mallctlnametomib("arenas.narenas.x", pmib, &plen);
        CHECK_EQ("mib/nametomib_extra_enoent", r, ENOENT);
        size_t bogus[2] = {9999, 0};
        r = mallctlbymib(bogus, 2, &got, &len, NULL, 0);
        CHECK_EQ("mib/bymib_bogus_enoent", r, ENOENT);
        r = mallctlbymib(mib, 0, &got, &len, NULL, 0);
        CHECK_EQ("mib/bymib_empty_enoent", r, ENOENT);

        /* version, epoch, thread.arena and stats.allocated through MIBs. */
        const char *v = NULL;
        miblen = 8;
        r = mallctlnametomib("version", mib, &miblen);
        len = sizeof(v);
        if (r == 0)
                r = mallctlbymib(mib, miblen, &v, &len, NULL, 0);
        CHECK_STR("mib/version", r == 0 ? v : NULL, JEMALLOC_VERSION);

        uint64_t e0 = 0, e1 = 0;
        len = sizeof(e0);
        mallctl("epoch", &e0, &len, NULL, 0);
        miblen = 8;
        r = mallctlnametomib("epoch", mib, &miblen);
        if (r == 0)
                r = mallctlbymib(mib, miblen, &e1, &len, &e1, sizeof(e1));
        CHECKF("mib/epoch_write", r == 0 && miblen == 1 && e1 == e0 + 1, "r=%d len=%zu %ju -> %ju",
               r, miblen, (uintmax_t)e0, (uintmax_t)e1);

        unsigned ta = 0, ta2 = 0;
        len = sizeof(ta);
        mallctl("thread.arena", &ta, &len, NULL, 0);
        miblen = 8;
        r = mallctlnametomib("thread.arena", mib, &miblen);
        if (r == 0)
                r = mallctlbymib(mib, miblen, &ta2, &len, &ta, sizeof(ta));
        CHECKF("mib/thread_arena_rw", r == 0 && miblen == 2 && ta2 == ta, "r=%d len=%zu %u/%u", r,
               miblen, ta, ta2);

        size_t s1 = 0, s2 = 0;
        epoch_refresh();
        s1 = read_size("stats.allocated", &err);
        miblen = 8;
        r = mallctlnametomib("stats.allocated", mib, &miblen);
        len = sizeof(s2);
        if (r == 0)
                r = mallctlbymib(mib, miblen, &s2, &len, NULL, 0);
        CHECKF("mib/stats_allocated", r == 0 && s1 == s2, "r=%d %zu vs %zu", r, s1, s2);
}

static void test_opts(void)
{
        unsigned narenas = 0;
        ssize_t dirty = 0, muzzy = 0;
        bool tcache = false;
        size_t len;
        int r1, r2, r3, r4;

        len = sizeof(narenas);
        r1 = mallctl("opt.narenas", &narenas, &len, NULL, 0);
        len = sizeof(dirty);
        r2 = mallctl("opt.dirty_decay_ms", &dirty, &len, NULL, 0);
        len = sizeof(muzzy);
        r3 = mallctl("opt.muzzy_decay_ms", &muzzy, &len, NULL, 0);
        len = sizeof(tcache);
        r4 = mallctl("opt.tcache", &tcache, &len, NULL, 0);
        CHECK_EQ("opt/narenas_readable", r1, 0);
        CHECK_EQ("opt/dirty_decay_ms_readable", r2, 0);
        CHECK_EQ("opt/muzzy_decay_ms_readable", r3, 0);
        CHECK_EQ("opt/tcache_readable", r4, 0);

        char link[256];
        const char *env = getenv("MALLOC_CONF");
        if ((env != NULL && env[0] != '\0') ||
            readlink("/etc/malloc.conf", link, sizeof(link)) >= 0) {
                check_skip("opt/defaults", "MALLOC_CONF or /etc/malloc.conf is set");
                return;
        }
        unsigned want = default_narenas();
        CHECKF("opt/narenas_default_4_per_cpu", narenas == want, "opt.narenas %u, want %u", narenas,
               want);
        CHECK_EQ_S("opt/dirty_decay_ms_default_10000", dirty, 10000);
        CHECK_EQ_S("opt/muzzy_decay_ms_default_0", muzzy, 0);
        CHECK_EQ("opt/tcache_default_true", tcache, true);
}

int main(void)
{
        impl_init();
        test_version();
        test_epoch();
        test_oldlen_rule();
        test_errors();
        test_narenas_create();
        test_thread_arena();
        test_tcache_flush();
        test_stats();
        test_mib();
        test_opts();
        return check_finish();
}
