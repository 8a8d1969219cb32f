/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Unit test of how arenas share freed pages: an automatic arena that needs pages takes
 * another automatic arena's unpurged ones before it touches new ones (no RSS growth); a
 * manual arena neither gives nor takes; blocks freed into slabs that an exited thread
 * abandoned give the slabs back at the arena's sweep (arena.<i>.purge); threads started
 * together take distinct arenas.  Uses the renamed
 * entry points of the internal build and reads the arenas' counts directly.
 */
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include "../../liballoc/include/jemalloc/jemalloc.h"
#include "../../liballoc/src/core/arena.h"
#include "../../liballoc/src/os/os.h"
#include "../../liballoc/src/core/pagemap.h"
#include "../common/check.h"

void *la_malloc(size_t);
void la_free(void *);
void *la_mallocx(size_t, int);
void la_dallocx(void *, int);
int la_mallctl(const char *, void *, size_t *, void *, size_t);

#define NBLOCKS 32
#define BLOCK ((size_t)1 << 20) /* a page run: below the huge threshold */
#define NSMALL 2000
#define SMALL 48

static void bind_to(unsigned ind)
{
        EXPECT(la_mallctl("thread.arena", NULL, NULL, &ind, sizeof(ind)) == 0);
}

static size_t unpurged_pages(la_arena_t *a)
{
        la_mutex_lock(&a->lock);
        size_t n = a->npages[LA_RUN_DIRTY] + a->npages[LA_RUN_MUZZY];
        la_mutex_unlock(&a->lock);
        return n;
}

static void set_decay(unsigned ind, ssize_t ms)
{
        char name[64];
        snprintf(name, sizeof(name), "arena.%u.dirty_decay_ms", ind);
        EXPECT(la_mallctl(name, NULL, NULL, &ms, sizeof(ms)) == 0);
        snprintf(name, sizeof(name), "arena.%u.muzzy_decay_ms", ind);
        EXPECT(la_mallctl(name, NULL, NULL, &ms, sizeof(ms)) == 0);
}

static void fill(void **v, int flags)
{
        for (int i = 0; i < NBLOCKS; i++) {
                v[i] = flags != 0 ? la_mallocx(BLOCK, flags) : la_malloc(BLOCK);
                EXPECT(v[i] != NULL);
                if (v[i] != NULL)
                        memset(v[i], 0x5a, BLOCK);
        }
}

static void drop(void **v, int flags)
{
        for (int i = 0; i < NBLOCKS; i++) {
                if (flags != 0)
                        la_dallocx(v[i], flags);
                else
                        la_free(v[i]);
        }
}

/* Arena 0 frees 32 MiB (kept dirty: decay -1); a thread of arena 1 then allocates as
 * much: it gets arena 0's pages, which become arena 1's, and RSS does not grow by the
 * 32 MiB. */
static void automatic_arenas_share_unpurged_pages(void)
{
        void *v[NBLOCKS];
        la_arena_t *a0 = la_arena_get(0, true), *a1 = la_arena_get(1, true);
        EXPECT(a0 != NULL && a1 != NULL);
        if (a0 == NULL || a1 == NULL)
                return;
        set_decay(0, -1);
        set_decay(1, -1);
        bind_to(0);
        fill(v, 0);
        drop(v, 0);
        size_t before0 = unpurged_pages(a0);
        EXPECT(before0 >= NBLOCKS * BLOCK / LA_PAGE);
        size_t rss = la_os_rss_bytes();
        bind_to(1);
        fill(v, 0);
        size_t grown = la_os_rss_bytes() > rss ? la_os_rss_bytes() - rss : 0;
        EXPECT(grown < NBLOCKS * BLOCK / 4);
        EXPECT(unpurged_pages(a0) + NBLOCKS * BLOCK / LA_PAGE * 3 / 4 <= before0);
        int theirs = 0;
        for (int i = 0; i < NBLOCKS; i++) {
                la_span_t *s = la_pm_lookup(v[i]);
                theirs += s != NULL && s->arena == a1;
        }
        EXPECT_EQ(theirs, NBLOCKS);
        drop(v, 0);
        /* Freed, they stay with arena 1. */
        EXPECT(unpurged_pages(a1) >= NBLOCKS * BLOCK / LA_PAGE * 3 / 4);
        la_mallctl("arena.0.purge", NULL, NULL, NULL, 0);
        la_mallctl("arena.1.purge", NULL, NULL, NULL, 0);
}

/* A manual arena's freed pages stay its own, and it takes none from the automatic ones. */
static void manual_arenas_keep_their_pages(void)
{
        void *v[NBLOCKS];
        unsigned m;
        size_t len = sizeof(m);
        EXPECT(la_mallctl("arenas.create", &m, &len, NULL, 0) == 0);
        la_arena_t *am = la_arena_get(m, false), *a0 = la_arena_get(0, true);
        EXPECT(am != NULL && a0 != NULL);
        if (am == NULL || a0 == NULL)
                return;
        set_decay(m, -1);
        set_decay(0, -1);
        int flags = MALLOCX_ARENA(m) | MALLOCX_TCACHE_NONE;
        fill(v, flags);
        drop(v, flags);
        size_t kept = unpurged_pages(am);
        EXPECT(kept >= NBLOCKS * BLOCK / LA_PAGE);
        bind_to(0);
        fill(v, 0);
        EXPECT_EQ(unpurged_pages(am), kept); /* not given */
        drop(v, 0);
        size_t auto_kept = unpurged_pages(a0);
        fill(v, flags);
        for (int i = 0; i < NBLOCKS; i++) {
                la_span_t *s = la_pm_lookup(v[i]);
                EXPECT(s != NULL && s->arena == am);
        }
        EXPECT_EQ(unpurged_pages(a0), auto_kept); /* not taken */
        drop(v, flags);
        char name[64];
        snprintf(name, sizeof(name), "arena.%u.destroy", m);
        EXPECT(la_mallctl(name, NULL, NULL, NULL, 0) == 0);
        la_mallctl("arena.0.purge", NULL, NULL, NULL, 0);
}

static void *small_blocks[NSMALL];

static void *make_small_blocks(void *arg)
{
        bind_to(*(unsigned *)arg);
        for (int i = 0; i < NSMALL; i++)
                small_blocks[i] = la_malloc(SMALL);
        return NULL;
}

/* A thread makes small blocks and exits (its slabs are abandoned with live blocks); the
 * main thread frees them; the purge's sweep gives the emptied slabs back. */
static void emptied_abandoned_slabs_go_back(void)
{
        unsigned ind = 2, c = la_size2cls(SMALL);
        la_arena_t *a = la_arena_get(ind, true);
        EXPECT(a != NULL);
        if (a == NULL)
                return;
        bind_to(0);
        pthread_t t;
        EXPECT(pthread_create(&t, NULL, make_small_blocks, &ind) == 0);
        pthread_join(t, NULL);
        la_mutex_lock(&a->lock);
        uint64_t abandoned = a->stats.abandoned_n[c], slabs = a->stats.slabs_cur[c];
        la_mutex_unlock(&a->lock);
        EXPECT(abandoned > 0);
        for (int i = 0; i < NSMALL; i++)
                la_free(small_blocks[i]);
        EXPECT(la_mallctl("arena.2.purge", NULL, NULL, NULL, 0) == 0);
        la_mutex_lock(&a->lock);
        EXPECT_EQ(a->stats.abandoned_n[c], 0);
        EXPECT_EQ(a->stats.slabs_cur[c], slabs - abandoned);
        la_mutex_unlock(&a->lock);
}

/* Threads that start at once each take an arena of their own: the choice of the least
 * loaded arena and the claim on it are one step (la_arena_choose_claim), so they cannot
 * all see the same idle arena and pile onto it. */
#define TOGETHER 6
static pthread_barrier_t together;

static void *start_together(void *arg)
{
        unsigned *arena = arg;
        pthread_barrier_wait(&together);
        void *p = la_malloc(SMALL); /* the first malloc makes the thread's heap */
        size_t len = sizeof(*arena);
        EXPECT(la_mallctl("thread.arena", arena, &len, NULL, 0) == 0);
        pthread_barrier_wait(&together); /* all of them alive while the others choose */
        la_free(p);
        return NULL;
}

static void threads_started_together_take_distinct_arenas(void)
{
        unsigned narenas, mine;
        size_t len = sizeof(narenas);
        EXPECT(la_mallctl("opt.narenas", &narenas, &len, NULL, 0) == 0);
        if (narenas < TOGETHER + 1) {
                printf("SKIP: unit/arena-share/together: needs %u automatic arenas\n",
                       TOGETHER + 1);
                return;
        }
        len = sizeof(mine);
        EXPECT(la_mallctl("thread.arena", &mine, &len, NULL, 0) == 0);
        for (int round = 0; round < 20; round++) {
                pthread_t t[TOGETHER];
                unsigned arena[TOGETHER];
                EXPECT(pthread_barrier_init(&together, NULL, TOGETHER) == 0);
                for (int i = 0; i < TOGETHER; i++)
                        EXPECT(pthread_create(&t[i], NULL, start_together, &arena[i]) == 0);
                for (int i = 0; i < TOGETHER; i++)
                        pthread_join(t[i], NULL);
                pthread_barrier_destroy(&together);
                for (int i = 0; i < TOGETHER; i++) {
                        EXPECT(arena[i] != mine);
                        for (int j = 0; j < i; j++)
                                EXPECT(arena[i] != arena[j]);
                }
        }
}

int main(void)
{
        la_free(la_malloc(1));
        unsigned narenas;
        size_t len = sizeof(narenas);
        EXPECT(la_mallctl("opt.narenas", &narenas, &len, NULL, 0) == 0);
        if (narenas < 3) {
                printf("SKIP: unit/arena-share: needs 3 automatic arenas (opt.narenas %u)\n",
                       narenas);
                return 0;
        }
        RUN("unit/arena-share", automatic_arenas_share_unpurged_pages);
        RUN("unit/arena-share", manual_arenas_keep_their_pages);
        RUN("unit/arena-share", emptied_abandoned_slabs_go_back);
        RUN("unit/arena-share", threads_started_together_take_distinct_arenas);
        return check_finish();
}
