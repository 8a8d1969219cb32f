/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Unit test of the thread heap's parked large runs (lcache.h): a freed 16-64 KiB run comes
 * back to the same thread's next allocation of its class; while parked, another thread's
 * stats count it as freed (large.allocated, the class's nmalloc/ndalloc/curlextents)
 * and its pages as active, and after the parking thread exits every count is there once;
 * the bounds (4 per class); a thread of another arena does not park; a run bigger than
 * 64 KiB is not parked; calloc of a parked run reads zero.  Uses the renamed entry points
 * of the internal build.
 */
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "../../liballoc/include/jemalloc/jemalloc.h"
#include "../common/check.h"

void *la_malloc(size_t);
void *la_calloc(size_t, size_t);
void la_free(void *);
int la_mallctl(const char *, void *, size_t *, void *, size_t);

static unsigned my_arena(void)
{
        unsigned a = 0;
        size_t sz = sizeof(a);
        EXPECT(la_mallctl("thread.arena", &a, &sz, NULL, 0) == 0);
        return a;
}

static void refresh(void)
{
        uint64_t e = 1;
        size_t sz = sizeof(e);
        la_mallctl("epoch", &e, &sz, &e, sz);
}

static uint64_t u64(const char *fmt, unsigned a, unsigned j)
{
        char name[96];
        snprintf(name, sizeof(name), fmt, a, j);
        uint64_t v = 0;
        size_t sz = sizeof(v);
        if (la_mallctl(name, &v, &sz, NULL, 0) != 0) {
                size_t s = 0;
                sz = sizeof(s);
                EXPECT(la_mallctl(name, &s, &sz, NULL, 0) == 0);
                v = s;
        }
        return v;
}

/* 20 KiB is the second large class (lextent 1). */
#define SIZE ((size_t)20 * 1024)

/* What a thread that parks runs shows to another thread's stats (an epoch on the parking
 * thread itself gives its parked runs back first: la_thread_trim). */
static struct {
        pthread_mutex_t m;
        pthread_cond_t c;
        int step; /* who may go on: the parker at odd steps, main at even ones */
        unsigned arena;
        void *p[2];
        void *q;
} sh = {PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, 0, 0, {NULL, NULL}, NULL};

static void step_to(int n)
{
        pthread_mutex_lock(&sh.m);
        sh.step = n;
        pthread_cond_broadcast(&sh.c);
        pthread_mutex_unlock(&sh.m);
}

static void wait_for(int n)
{
        pthread_mutex_lock(&sh.m);
        while (sh.step < n)
                pthread_cond_wait(&sh.c, &sh.m);
        pthread_mutex_unlock(&sh.m);
}

static void *parker(void *arg)
{
        (void)arg;
        la_free(la_malloc(16)); /* its heap */
        sh.arena = my_arena();
        step_to(1); /* main reads the arena's figures */
        wait_for(2);
        sh.p[0] = la_malloc(SIZE);
        sh.p[1] = la_malloc(SIZE);
        memset(sh.p[0], 1, SIZE);
        memset(sh.p[1], 1, SIZE);
        la_free(sh.p[0]);
        la_free(sh.p[1]);
        step_to(3);
        wait_for(4);
        sh.q = la_malloc(SIZE); /* the newest parked run */
        step_to(5);
        wait_for(6);
        la_free(sh.q);
        return NULL; /* thread exit: the heap gives its parked runs back */
}

static void parked_runs_counted_exactly(void)
{
        pthread_t t;
        EXPECT(pthread_create(&t, NULL, parker, NULL) == 0);
        wait_for(1);
        unsigned a = sh.arena;
        refresh();
        uint64_t alloc = u64("stats.arenas.%u.large.allocated", a, 0);
        uint64_t cur = u64("stats.arenas.%u.lextents.%u.curlextents", a, 1);
        uint64_t nm = u64("stats.arenas.%u.lextents.%u.nmalloc", a, 1);
        uint64_t nd = u64("stats.arenas.%u.lextents.%u.ndalloc", a, 1);
        uint64_t active = u64("stats.arenas.%u.pactive", a, 0);
        step_to(2);
        wait_for(3);
        refresh();
        /* Two runs parked: counted out, their 10 pages still active. */
        EXPECT_EQ(u64("stats.arenas.%u.large.allocated", a, 0), alloc);
        EXPECT_EQ(u64("stats.arenas.%u.lextents.%u.curlextents", a, 1), cur);
        EXPECT_EQ(u64("stats.arenas.%u.lextents.%u.nmalloc", a, 1), nm + 2);
        EXPECT_EQ(u64("stats.arenas.%u.lextents.%u.ndalloc", a, 1), nd + 2);
        EXPECT_EQ(u64("stats.arenas.%u.pactive", a, 0), active + 10);
        step_to(4);
        wait_for(5);
        EXPECT(sh.q == sh.p[1]); /* taken back, newest first */
        refresh();
        EXPECT_EQ(u64("stats.arenas.%u.large.allocated", a, 0), alloc + SIZE);
        EXPECT_EQ(u64("stats.arenas.%u.lextents.%u.curlextents", a, 1), cur + 1);
        EXPECT_EQ(u64("stats.arenas.%u.lextents.%u.nmalloc", a, 1), nm + 3);
        EXPECT_EQ(u64("stats.arenas.%u.pactive", a, 0), active + 10);
        step_to(6);
        pthread_join(t, NULL);
        refresh();
        /* All back in the arena: every count once, no phantom pair. */
        EXPECT_EQ(u64("stats.arenas.%u.large.allocated", a, 0), alloc);
        EXPECT_EQ(u64("stats.arenas.%u.lextents.%u.nmalloc", a, 1), nm + 3);
        EXPECT_EQ(u64("stats.arenas.%u.lextents.%u.ndalloc", a, 1), nd + 3);
        /* (its small slab went back too: at most what it was before) */
        EXPECT(u64("stats.arenas.%u.pactive", a, 0) <= active);
}

static void calloc_of_parked_run_is_zero(void)
{
        void *p = la_malloc(SIZE);
        EXPECT(p != NULL);
        memset(p, 0xff, SIZE);
        la_free(p);
        unsigned char *z = la_calloc(1, SIZE);
        EXPECT(z == p);
        size_t nz = 0;
        for (size_t i = 0; z != NULL && i < SIZE; i++)
                nz += z[i] != 0;
        EXPECT_EQ(nz, 0);
        la_free(z);
        EXPECT(la_mallctl("thread.tcache.flush", NULL, NULL, NULL, 0) == 0);
}

static void bounds(void)
{
        /* 6 runs freed: the first 4 parked, so the next 4 allocations are those, newest
         * first. */
        void *v[6], *w[6];
        for (int i = 0; i < 6; i++)
                EXPECT((v[i] = la_malloc(SIZE)) != NULL);
        for (int i = 0; i < 6; i++)
                la_free(v[i]);
        for (int i = 0; i < 6; i++)
                EXPECT((w[i] = la_malloc(SIZE)) != NULL);
        for (int i = 0; i < 4; i++)
                EXPECT(w[i] == v[3 - i]); /* v[0..3] parked, v[4] and v[5] went back */
        for (int i = 0; i < 6; i++)
                la_free(w[i]);
        /* 96 KiB is not parked: freed to the arena, counted there. */
        unsigned a = my_arena();
        refresh();
        uint64_t alloc0 = u64("stats.arenas.%u.large.allocated", a, 0);
        void *b = la_malloc(96 * 1024);
        EXPECT(b != NULL);
        la_free(b);
        refresh();
        EXPECT_EQ(u64("stats.arenas.%u.large.allocated", a, 0), alloc0);
        EXPECT(la_mallctl("thread.tcache.flush", NULL, NULL, NULL, 0) == 0);
}

static void *other_thread(void *arg)
{
        /* Bound to another arena, this thread frees a run of arena 0: not parked here
         * (it goes back to arena 0), so arena 0's counts are whole at once. */
        unsigned other = 1;
        EXPECT(la_mallctl("thread.arena", NULL, NULL, &other, sizeof(other)) == 0);
        la_free(arg);
        return NULL;
}

static void other_arena_does_not_park(void)
{
        unsigned zero = 0;
        EXPECT(la_mallctl("thread.arena", NULL, NULL, &zero, sizeof(zero)) == 0);
        refresh();
        uint64_t alloc0 = u64("stats.arenas.%u.large.allocated", 0, 0);
        uint64_t active0 = u64("stats.arenas.%u.pactive", 0, 0);
        void *p = la_malloc(SIZE);
        EXPECT(p != NULL);
        pthread_t t;
        EXPECT(pthread_create(&t, NULL, other_thread, p) == 0);
        pthread_join(t, NULL);
        refresh();
        EXPECT_EQ(u64("stats.arenas.%u.large.allocated", 0, 0), alloc0);
        EXPECT_EQ(u64("stats.arenas.%u.pactive", 0, 0), active0); /* back in the arena */
}

int main(void)
{
        /* A thread gets its heap at its first small allocation; the cache is the heap's. */
        la_free(la_malloc(16));
        RUN("unit/lcache", parked_runs_counted_exactly);
        RUN("unit/lcache", calloc_of_parked_run_is_zero);
        RUN("unit/lcache", bounds);
        RUN("unit/lcache", other_arena_does_not_park);
        return check_finish();
}
