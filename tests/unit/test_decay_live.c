/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Unit test of the decay engine at work in a live arena: with dirty_decay_ms = 200, freed
 * runs stay resident at first and are purged (RSS falls) once the decay time has passed;
 * with -1 they are never purged; setting 0 purges at once.  Uses the renamed entry points
 * of the internal build and reads the arena's page counts directly.
 */
#include <stdio.h>
#include <string.h>
#include <sys/types.h>
#include <time.h>

#include "../../liballoc/src/core/arena.h"
#include "../../liballoc/src/os/os.h"
#include "../common/check.h"

void *la_malloc(size_t);
void la_free(void *);
int la_mallctl(const char *, void *, size_t *, void *, size_t);

#define NBLOCKS 64
#define BLOCK ((size_t)1 << 20)

static la_arena_t *arena;
static char name[64];

static void set_decay(ssize_t ms)
{
        EXPECT(la_mallctl(name, NULL, NULL, &ms, sizeof(ms)) == 0);
}

static size_t dirty_pages(void)
{
        la_mutex_lock(&arena->lock);
        size_t n = arena->npages[LA_RUN_DIRTY];
        la_mutex_unlock(&arena->lock);
        return n;
}

static void churn(void)
{
        void *v[NBLOCKS];
        for (int i = 0; i < NBLOCKS; i++) {
                v[i] = la_malloc(BLOCK);
                memset(v[i], 1, BLOCK);
        }
        for (int i = 0; i < NBLOCKS; i++)
                la_free(v[i]);
}

static void sleep_ms(long ms)
{
        struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
        nanosleep(&ts, NULL);
}

/* Any slow-path call that takes the arena lock advances the curve. */
static void tick(void)
{
        la_free(la_malloc(BLOCK));
}

static void freed_pages_decay_after_decay_ms(void)
{
        set_decay(200);
        churn();
        size_t dirty = dirty_pages();
        size_t rss = la_os_rss_bytes();
        EXPECT(dirty >= NBLOCKS * BLOCK / 4096 / 2); /* kept right after the frees */
        sleep_ms(450);
        tick();
        EXPECT(dirty_pages() < dirty / 4);
        EXPECT(la_os_rss_bytes() + NBLOCKS * BLOCK / 2 < rss);
}

static void minus_one_never_purges(void)
{
        set_decay(-1);
        churn();
        size_t dirty = dirty_pages();
        sleep_ms(300);
        tick();
        EXPECT(dirty >= NBLOCKS * BLOCK / 4096 / 2);
        EXPECT(dirty_pages() >= dirty);
}

static void zero_purges_at_once(void)
{
        size_t rss = la_os_rss_bytes();
        set_decay(0);
        EXPECT_EQ(dirty_pages(), 0);
        EXPECT(la_os_rss_bytes() + NBLOCKS * BLOCK / 2 < rss);
        churn();
        EXPECT_EQ(dirty_pages(), 0);
}

static void out_of_range_is_refused(void)
{
        ssize_t bad = -2;
        EXPECT(la_mallctl(name, NULL, NULL, &bad, sizeof(bad)) != 0);
}

int main(void)
{
        unsigned ind;
        size_t len = sizeof(ind);
        la_free(la_malloc(1));
        la_mallctl("thread.arena", &ind, &len, NULL, 0);
        arena = la_arena_get(ind, false);
        snprintf(name, sizeof(name), "arena.%u.dirty_decay_ms", ind);
        RUN("unit/decay-live", freed_pages_decay_after_decay_ms);
        RUN("unit/decay-live", minus_one_never_purges);
        RUN("unit/decay-live", zero_purges_at_once);
        RUN("unit/decay-live", out_of_range_is_refused);
        return check_finish();
}
