/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Unit tests of the free lists and slab life cycle, through the renamed entry points
 * (la_malloc, la_free, ...) of the internal build: blocks are distinct and aligned, freed
 * blocks are reused before the arena grows, a slab emptied by frees goes back
 * to its arena (unless the heap keeps it for the next batch, within LA_RETIRE_PAGES), blocks freed by another thread come back to the owner, thread exit
 * abandons slabs that a new thread then adopts, a thread's first blocks of a class come from
 * its arena's shared heap where slabs wait abandoned (LA_RAMP_ABANDONED), and stats follow.  Random frees spread
 * over nearly full slabs: a refill gathers the free blocks of several slabs (few refills),
 * thread.tcache.flush gives each gathered block back to its own slab, and a second free of
 * a gathered block is caught as a double free.  A thread whose first call is a free gets
 * its heap there.
 */
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "../../liballoc/src/core/arena.h"
#include "../../liballoc/src/core/heap.h"
#include "../../liballoc/src/core/pagemap.h"
#include "../../liballoc/src/core/thread.h"
#include "../common/check.h"

void *la_malloc(size_t);
void la_free(void *);
size_t la_malloc_usable_size(void *);
int la_mallctl(const char *, void *, size_t *, void *, size_t);

#define N 5000

static void *blocks[N];

/* Sum over all arenas of a counter read under the arena lock. */
static size_t arenas_sum(size_t (*field)(const la_arena_t *))
{
        size_t total = 0;
        unsigned n = atomic_load(&la_narenas_total);
        for (unsigned i = 0; i < n; i++) {
                la_arena_t *a = la_arena_get(i, false);
                if (a != NULL) {
                        la_mutex_lock(&a->lock);
                        total += field(a);
                        la_mutex_unlock(&a->lock);
                }
        }
        return total;
}

static size_t pactive_of(const la_arena_t *a)
{
        return a->stats.pactive;
}

/* Address space the arenas have carved out of their regions so far. */
static size_t carved_of(const la_arena_t *a)
{
        return a->stats.mapped;
}

static size_t active_pages(void)
{
        return arenas_sum(pactive_of);
}

static size_t carved_bytes(void)
{
        return arenas_sum(carved_of);
}

static void blocks_distinct_and_aligned(void)
{
        for (int i = 0; i < N; i++) {
                blocks[i] = la_malloc(48);
                EXPECT(blocks[i] != NULL);
                EXPECT(((uintptr_t)blocks[i] & 15) == 0);
                memset(blocks[i], i & 0xff, 48);
        }
        for (int i = 1; i < N; i++)
                EXPECT((char *)blocks[i] != (char *)blocks[i - 1]);
        for (int i = 0; i < N; i++) {
                unsigned char *p = blocks[i];
                EXPECT(p[0] == (i & 0xff) && p[47] == (i & 0xff));
                EXPECT_EQ(la_malloc_usable_size(p), 48);
        }
        for (int i = 0; i < N; i++)
                la_free(blocks[i]);
}

static void freed_blocks_are_reused_before_new_memory(void)
{
        for (int i = 0; i < N; i++)
                blocks[i] = la_malloc(100);
        for (int i = 0; i < N; i++)
                la_free(blocks[i]);
        size_t before = carved_bytes();
        for (int i = 0; i < N; i++)
                blocks[i] = la_malloc(100);
        EXPECT(carved_bytes() <= before + la_bin_info[7].slab_size);
        for (int i = 0; i < N; i++)
                la_free(blocks[i]);
}

static void empty_slabs_return_to_arena(void)
{
        la_heap_t *h = la_tls_heap;
        la_heap_trim(h); /* no kept empty slab from the tests before */
        EXPECT_EQ(h->retired_pages, 0);
        size_t before = active_pages();
        for (int i = 0; i < N; i++)
                blocks[i] = la_malloc(1024);
        size_t grown = active_pages();
        EXPECT(grown >= before + (N * 1024) / 4096);
        for (int i = 0; i < N; i++)
                la_free(blocks[i]);
        /* Only the current slab of the class and the kept empty ones may stay. */
        EXPECT(h->retired_pages <= LA_RETIRE_PAGES);
        EXPECT(active_pages() <= before + la_bin_info[20].slab_size / 4096 + LA_RETIRE_PAGES);
        la_heap_trim(h);
        EXPECT_EQ(h->retired_pages, 0);
        EXPECT(active_pages() <= before + la_bin_info[20].slab_size / 4096);
        EXPECT(h->cur[20] == NULL || h->cur[20]->used == 0 || h->fl[20] != NULL);
}

/* A batch of 4 KiB blocks (4 a slab) freed and made again: the emptied slabs stay with
 * the heap (within LA_RETIRE_PAGES) and are used again, none is made anew. */
static void emptied_slabs_are_kept_for_the_next_batch(void)
{
        enum { BATCH = 48 };
        la_heap_t *h = la_tls_heap;
        unsigned c = la_size2cls(4096);
        la_heap_trim(h);
        for (int i = 0; i < BATCH; i++)
                blocks[i] = la_malloc(4096);
        for (int i = 0; i < BATCH; i++)
                la_free(blocks[i]);
        EXPECT(h->retired_pages > 0 && h->retired_pages <= LA_RETIRE_PAGES);
        la_arena_t *a = h->arena;
        la_mutex_lock(&a->lock);
        uint64_t made = a->stats.slabs_total[c];
        la_mutex_unlock(&a->lock);
        for (int i = 0; i < BATCH; i++)
                blocks[i] = la_malloc(4096);
        la_mutex_lock(&a->lock);
        EXPECT_EQ(a->stats.slabs_total[c], made);
        la_mutex_unlock(&a->lock);
        EXPECT_EQ(h->retired_pages, 0); /* all in use again */
        for (int i = 0; i < BATCH; i++)
                la_free(blocks[i]);
        la_heap_trim(h);
        EXPECT_EQ(h->retired_pages, 0);
}

static void *remote_free_thread(void *arg)
{
        void **v = arg;
        for (int i = 0; i < N; i++)
                la_free(v[i]);
        return NULL;
}

static void remote_frees_come_back(void)
{
        for (int i = 0; i < N; i++)
                blocks[i] = la_malloc(64);
        la_span_t *s0 = la_pm_lookup(blocks[0]);
        EXPECT(s0 != NULL && (s0->owner & ~LA_OWNER_FULL) == (uintptr_t)la_tls_heap);
        pthread_t t;
        pthread_create(&t, NULL, remote_free_thread, blocks);
        pthread_join(t, NULL);
        /* The blocks sit in their slabs' thread_free lists; new mallocs reuse them instead
         * of growing the arena. */
        size_t before = active_pages();
        for (int i = 0; i < N; i++)
                blocks[i] = la_malloc(64);
        EXPECT(active_pages() <= before + 16);
        for (int i = 0; i < N; i++)
                la_free(blocks[i]);
}

static void *leaver(void *arg)
{
        void **v = arg;
        for (int i = 0; i < 100; i++)
                v[i] = la_malloc(256);
        return NULL;
}

static void thread_exit_abandons_and_adopts(void)
{
        static void *v[100];
        pthread_t t;
        pthread_create(&t, NULL, leaver, v);
        pthread_join(t, NULL);
        la_span_t *s = la_pm_lookup(v[0]);
        EXPECT(s != NULL && s->kind == LA_SPAN_SMALL);
        EXPECT(s->owner == 0); /* abandoned by the exited thread */
        for (int i = 0; i < 100; i++)
                la_free(v[i]); /* remote frees into an abandoned slab */
        la_arena_t *a = s->arena;
        EXPECT(a->abandoned[s->cls] == s || s->kind == LA_SPAN_FREE);
}

/* In an arena where slabs wait abandoned (LA_RAMP_ABANDONED, made to look so here), a
 * thread's first LA_RAMP_BLOCKS blocks of a class come from the arena's shared heap, and
 * it holds no slab of the class until the next one. */
static void *ramp_thread(void *arg)
{
        (void)arg;
        void *v[LA_RAMP_BLOCKS + 1];
        unsigned c = la_size2cls(48);
        void *first = la_malloc(3000); /* makes the heap: its arena is known from here */
        la_heap_t *h = la_tls_heap;
        la_arena_t *a = h->arena;
        EXPECT(h->kind == LA_HEAP_THREAD && h->cur[c] == NULL);
        uint64_t before, after;
        size_t sz = sizeof(before);
        la_mallctl("thread.allocated", &before, &sz, NULL, 0);
        atomic_fetch_add(&a->abandoned_hint, LA_RAMP_ABANDONED);
        for (int i = 0; i < LA_RAMP_BLOCKS; i++) {
                v[i] = la_malloc(48);
                la_span_t *s = la_pm_lookup(v[i]);
                EXPECT(s != NULL && (s->owner & ~LA_OWNER_BITS) == (uintptr_t)a->shared);
        }
        EXPECT(h->cur[c] == NULL);
        v[LA_RAMP_BLOCKS] = la_malloc(48);
        la_span_t *s = la_pm_lookup(v[LA_RAMP_BLOCKS]);
        EXPECT(s != NULL && (s->owner & ~LA_OWNER_BITS) == (uintptr_t)h);
        EXPECT(h->cur[c] == s);
        atomic_fetch_sub(&a->abandoned_hint, LA_RAMP_ABANDONED);
        la_mallctl("thread.allocated", &after, &sz, NULL, 0);
        EXPECT_EQ(after - before, (uint64_t)(LA_RAMP_BLOCKS + 1) * la_cls_size[c]);
        for (int i = 0; i <= LA_RAMP_BLOCKS; i++)
                la_free(v[i]);
        la_free(first);
        return NULL;
}

static void first_blocks_come_from_the_shared_heap(void)
{
        uint64_t epoch = 1;
        size_t sz = sizeof(size_t), before, after;
        la_mallctl("epoch", NULL, NULL, &epoch, sizeof(epoch));
        la_mallctl("stats.allocated", &before, &sz, NULL, 0);
        pthread_t t;
        pthread_create(&t, NULL, ramp_thread, NULL);
        pthread_join(t, NULL);
        /* Every block it made is freed: the stats count them out exactly. */
        la_mallctl("epoch", NULL, NULL, &epoch, sizeof(epoch));
        la_mallctl("stats.allocated", &after, &sz, NULL, 0);
        EXPECT_EQ(after, before);
}

static void stats_follow_allocations(void)
{
        uint64_t epoch = 1;
        size_t sz = sizeof(size_t), before, after;
        la_mallctl("epoch", NULL, NULL, &epoch, sizeof(epoch));
        la_mallctl("stats.allocated", &before, &sz, NULL, 0);
        void *big = la_malloc(64 << 20);
        for (int i = 0; i < 1000; i++)
                blocks[i] = la_malloc(200);
        la_mallctl("epoch", NULL, NULL, &epoch, sizeof(epoch));
        la_mallctl("stats.allocated", &after, &sz, NULL, 0);
        EXPECT(after >= before + (64 << 20) + 1000 * 200);
        size_t active, resident, mapped;
        la_mallctl("stats.active", &active, &sz, NULL, 0);
        la_mallctl("stats.resident", &resident, &sz, NULL, 0);
        la_mallctl("stats.mapped", &mapped, &sz, NULL, 0);
        EXPECT(after <= active && active <= resident && resident <= mapped);
        la_free(big);
        for (int i = 0; i < 1000; i++)
                la_free(blocks[i]);
        la_mallctl("epoch", NULL, NULL, &epoch, sizeof(epoch));
        la_mallctl("stats.allocated", &after, &sz, NULL, 0);
        EXPECT(after < before + (1 << 20));
}

static void tcache_off_and_on(void)
{
        bool off = false, on = true, old;
        size_t len = sizeof(old);
        EXPECT(la_mallctl("thread.tcache.enabled", &old, &len, &off, sizeof(off)) == 0);
        EXPECT(old == true);
        EXPECT(la_tls_heap == &la_empty_heap); /* every call now takes the shared path */
        for (int i = 0; i < 1000; i++) {
                blocks[i] = la_malloc((size_t)(i % 300) + 1);
                EXPECT(blocks[i] != NULL);
                memset(blocks[i], 7, (size_t)(i % 300) + 1);
        }
        for (int i = 0; i < 1000; i++)
                la_free(blocks[i]);
        EXPECT(la_mallctl("thread.tcache.enabled", &old, &len, &on, sizeof(on)) == 0);
        EXPECT(old == false);
        EXPECT(la_tls_heap != &la_empty_heap && la_tls_heap->kind == LA_HEAP_THREAD);
        void *p = la_malloc(64);
        EXPECT(p != NULL);
        la_free(p);
}

#define CHURN_N 640 /* 256-byte blocks: 10 slabs of 64 */

static unsigned rng_next(unsigned *x)
{
        *x = *x * 1103515245u + 12345u;
        return *x >> 8;
}

/* Random frees and mallocs over CHURN_N live 256-byte blocks: the slabs stay nearly full,
 * so each slab's own free list holds a few blocks at a time. */
static uint64_t churn(unsigned steps)
{
        la_heap_t *h = la_tls_heap;
        unsigned c = h->size2cls[(256 + 7) >> 3];
        uint64_t fills0 = h->nfills[c];
        unsigned x = 99;
        for (unsigned k = 0; k < steps; k++) {
                unsigned i = rng_next(&x) % CHURN_N;
                if (blocks[i] == NULL)
                        continue;
                la_free(blocks[i]);
                blocks[i] = la_malloc(256);
                memset(blocks[i], (int)k, 256);
        }
        return h->nfills[c] - fills0;
}

static int cmp_ptr(const void *a, const void *b)
{
        uintptr_t x = *(const uintptr_t *)a, y = *(const uintptr_t *)b;
        return x < y ? -1 : x > y;
}

static void random_frees_refill_rarely(void)
{
        size_t active0 = active_pages();
        for (int i = 0; i < CHURN_N; i++)
                blocks[i] = la_malloc(256);
        /* 9 blocks of 10 live: the slabs keep a little room, spread over all of them. */
        for (int i = 0; i < CHURN_N; i += 10) {
                la_free(blocks[i]);
                blocks[i] = NULL;
        }
        uint64_t fills = churn(40000);
        /* Without the gathering a refill found the few blocks one slab had (one refill
         * per 4-5 mallocs); now one per LA_GATHER_MIN or so. */
        EXPECTF(fills * 16 <= 40000, "%llu refills for 40000 mallocs", (unsigned long long)fills);
        void *sorted[CHURN_N];
        memcpy(sorted, blocks, sizeof(sorted));
        qsort(sorted, CHURN_N, sizeof(void *), cmp_ptr);
        unsigned dup = 0;
        for (int i = 1; i < CHURN_N; i++)
                dup += sorted[i] != NULL && sorted[i] == sorted[i - 1];
        EXPECT_EQ(dup, 0);
        /* The heap's list now holds blocks of several slabs; a flush gives each back to
         * its own slab, so once all are freed every slab is empty and goes back. */
        for (int i = 0; i < CHURN_N; i++)
                la_free(blocks[i]);
        EXPECT(la_mallctl("thread.tcache.flush", NULL, NULL, NULL, 0) == 0);
        EXPECTF(active_pages() <= active0 + 4, "active pages %zu, before %zu", active_pages(),
                active0);
}

/* In a child: a second free of a block that waits in the heap's list although its slab
 * is not the current one (gathered) must abort. */
static void expect_abort(void (*setup_and_free_twice)(void))
{
        pid_t pid = fork();
        if (pid == 0) {
                setup_and_free_twice();
                _exit(3);
        }
        int st = 0;
        EXPECT(waitpid(pid, &st, 0) == pid);
        EXPECTF(WIFSIGNALED(st) && WTERMSIG(st) == SIGABRT, "child status 0x%x", st);
}

static void twice_gathered(void)
{
        for (int i = 0; i < CHURN_N; i++)
                blocks[i] = la_malloc(256);
        for (int i = 0; i < CHURN_N; i += 8)
                la_free(blocks[i]); /* 8 free blocks in each slab */
        void *p = la_malloc(256);  /* a refill that gathers */
        la_heap_t *h = la_tls_heap;
        unsigned c = h->size2cls[(256 + 7) >> 3];
        for (la_block_t *b = h->fl[c]; b != NULL; b = la_block_next(b)) {
                if (la_pm_lookup(b) != h->cur[c]) {
                        la_free(b);
                        _exit(5); /* not caught */
                }
        }
        la_free(p);
        _exit(4); /* nothing was gathered */
}

static void *free_in_thread(void *p)
{
        la_free(p);
        return NULL;
}

/* The block of a gathered slab whose link leads into another slab (the junction of two
 * slabs' lists in the heap's list), freed again by another thread: that thread cannot
 * walk the owner's lists and goes by the link alone. */
static void twice_gathered_remote(void)
{
        for (int i = 0; i < CHURN_N; i++)
                blocks[i] = la_malloc(256);
        for (int i = 0; i < CHURN_N; i += 8)
                la_free(blocks[i]);
        void *p = la_malloc(256);
        la_heap_t *h = la_tls_heap;
        unsigned c = h->size2cls[(256 + 7) >> 3];
        for (la_block_t *b = h->fl[c]; b != NULL; b = la_block_next(b)) {
                la_block_t *n = la_block_next(b);
                if (n != NULL && la_pm_lookup(n) != la_pm_lookup(b)) {
                        pthread_t t;
                        pthread_create(&t, NULL, free_in_thread, b);
                        pthread_join(t, NULL);
                        _exit(5); /* not caught */
                }
        }
        la_free(p);
        _exit(4); /* no junction: the test cannot tell */
}

static void double_free_of_gathered_block(void)
{
        expect_abort(twice_gathered);
        expect_abort(twice_gathered_remote);
}

/* A thread whose first call is a free of a small block gets its heap there (alloc.c,
 * free_small): its frees then count in its own counters, thread.deallocated included. */
struct first_free {
        void *blocks[64];
        bool had_heap_before, has_heap_after;
        uint64_t deallocated;
};

static void *free_first(void *arg)
{
        struct first_free *ff = arg;
        ff->had_heap_before = la_tls_heap->kind == LA_HEAP_THREAD;
        for (int i = 0; i < 64; i++)
                la_free(ff->blocks[i]);
        ff->has_heap_after = la_tls_heap->kind == LA_HEAP_THREAD;
        size_t len = sizeof(ff->deallocated);
        EXPECT(la_mallctl("thread.deallocated", &ff->deallocated, &len, NULL, 0) == 0);
        return NULL;
}

static void a_first_free_makes_the_heap(void)
{
        struct first_free ff;
        for (int i = 0; i < 64; i++)
                ff.blocks[i] = la_malloc(48);
        size_t usable = la_malloc_usable_size(ff.blocks[0]);
        pthread_t t;
        EXPECT(pthread_create(&t, NULL, free_first, &ff) == 0);
        pthread_join(t, NULL);
        EXPECT(!ff.had_heap_before);
        EXPECT(ff.has_heap_after);
        EXPECT_EQ(ff.deallocated, 64 * usable);
}

int main(void)
{
        RUN("unit/heap", blocks_distinct_and_aligned);
        RUN("unit/heap", freed_blocks_are_reused_before_new_memory);
        RUN("unit/heap", empty_slabs_return_to_arena);
        RUN("unit/heap", emptied_slabs_are_kept_for_the_next_batch);
        RUN("unit/heap", remote_frees_come_back);
        RUN("unit/heap", thread_exit_abandons_and_adopts);
        RUN("unit/heap", first_blocks_come_from_the_shared_heap);
        RUN("unit/heap", stats_follow_allocations);
        RUN("unit/heap", tcache_off_and_on);
        RUN("unit/heap", random_frees_refill_rarely);
        RUN("unit/heap", double_free_of_gathered_block);
        RUN("unit/heap", a_first_free_makes_the_heap);
        return check_finish();
}
