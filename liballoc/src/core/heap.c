/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * heap: the slow paths behind malloc and free for small classes.  A refill hands the heap
 * every free block of one slab at once (the slab's local free list, else the blocks other
 * threads returned, else up to 4 KiB of newly carved ones), so malloc then pops with no
 * other work; when that is only a few blocks, a thread heap adds the free blocks of its
 * other slabs of the class (gather), so its list may hold blocks of several slabs.  Slab
 * accounting: span->used counts blocks with the application or in the heap's list;
 * blocks other threads freed are only subtracted when collected.
 */
#include "core/heap.h"
#include "core/lcache.h"

#include <sched.h>
#include <string.h>

#include "core/arena.h"
#include "core/conf.h"
#include "core/harden.h"
#include "os/os.h"
#include "core/pagemap.h"
#include "core/upcalls.h"
#include "core/thread.h"

la_heap_t la_empty_heap = {.id = (uintptr_t)&la_empty_heap};
uintptr_t la_fl_key;
__thread la_heap_t *la_tls_heap __attribute__((tls_model("initial-exec"))) = &la_empty_heap;
__thread uint8_t la_tls_state __attribute__((tls_model("initial-exec")));

#define ADOPT_MAX 4       /* abandoned slabs examined per refill */
#define CARVE_BYTES 4096  /* fresh blocks carved per step: touch memory only as needed, */
#define CARVE_MIN 4       /* but enough of them that refills stay rare */

void la_fl_key_init(void)
{
        uint64_t k = la_os_random64();
        /* Bit 63 set: the top 17 bits are never all zero, so a raw pointer (or a small
         * number) written over a link decodes to a non-canonical address; not all ones
         * either, so -1 and sign-extended values do not look like links. */
        k |= (uint64_t)1 << 63;
        if ((k >> LA_FL_KEY_SHIFT) == (UINT64_MAX >> LA_FL_KEY_SHIFT))
                k ^= (uint64_t)1 << 50;
        la_fl_key = (uintptr_t)k;
}

void la_heap_init(la_heap_t *h, struct la_arena *a, enum la_heap_kind kind)
{
        void **ring = h->quarantine; /* a recycled heap keeps its (empty) ring */
        memset(h, 0, sizeof(*h));
        memcpy(h->size2cls, la_size2cls_tab, sizeof(h->size2cls));
        h->arena = a;
        h->kind = kind;
        h->id = (uintptr_t)h | (kind == LA_HEAP_THREAD && la_opt.hardened ? LA_OWNER_HARD : 0);
        h->lcache_on = la_lcache_allowed(h);
        h->quarantine = ring;
}

uint64_t la_heap_allocated(const la_heap_t *h)
{
        uint64_t total = __atomic_load_n(&h->allocated_large, __ATOMIC_RELAXED) +
                         __atomic_load_n(&h->allocated_base, __ATOMIC_RELAXED);
        for (unsigned c = 0; c < LA_NBINS; c++)
                total += __atomic_load_n(&h->nmalloc[c], __ATOMIC_RELAXED) * la_cls_size[c];
        return total;
}

uint64_t la_heap_deallocated(const la_heap_t *h)
{
        uint64_t total = __atomic_load_n(&h->deallocated_large, __ATOMIC_RELAXED) +
                         __atomic_load_n(&h->deallocated_base, __ATOMIC_RELAXED);
        for (unsigned c = 0; c < LA_NBINS; c++)
                total += __atomic_load_n(&h->ndalloc[c], __ATOMIC_RELAXED) * la_cls_size[c];
        return total;
}

/* ---- per-class slab lists ---------------------------------------------------------- */

void la_span_collect_remote(la_span_t *s)
{
        /* A plain load first: the exchange would take the line exclusive even when no
         * other thread freed anything (the common case). */
        if (atomic_load_explicit(&s->thread_free, memory_order_relaxed) == NULL)
                return;
        la_block_t *tf = atomic_exchange_explicit(&s->thread_free, NULL, memory_order_acquire);
        while (tf != NULL) {
                la_block_t *n = la_block_next(tf);
                la_span_push_local(s, tf);
                s->used--;
                tf = n;
        }
}

la_block_t *la_span_carve(la_span_t *s, la_block_t **ret_tail)
{
        uint32_t size = s->block_size;
        uint32_t n = CARVE_BYTES / size;
        if (n < CARVE_MIN)
                n = CARVE_MIN;
        if (n > s->nregs - s->capacity)
                n = s->nregs - s->capacity;
        char *first = (char *)s->base + (size_t)s->capacity * size;
        if (LA_UNLIKELY(la_opt.hardened)) {
                la_span_set_capacity(s, s->capacity + n);
                s->used += n;
                return la_harden_carve(s, first, n, ret_tail);
        }
        char *p = first;
        for (uint32_t i = 1; i < n; i++, p += size)
                la_block_set_next((la_block_t *)p, (la_block_t *)(p + size));
        la_block_set_next((la_block_t *)p, NULL);
        *ret_tail = (la_block_t *)p;
        la_span_set_capacity(s, s->capacity + n);
        s->used += n;
        return (la_block_t *)first;
}

la_block_t *la_span_take_local(la_span_t *s)
{
        la_block_t *list = s->local_free;
        s->local_free = NULL;
        s->used = s->capacity; /* blocks still in thread_free stay counted */
        if (s->capacity < s->nregs) {
                /* A slab in active use gets carved further at each refill, so the lists
                 * grow towards the whole slab and refills get rarer (a malloc/free pair
                 * loop would otherwise cycle through one 4 KiB carve forever). */
                la_block_t *tail;
                la_block_t *fresh = la_span_carve(s, &tail);
                la_block_set_next(tail, list);
                list = fresh;
        }
        return list;
}

/* Moves the free blocks of s (owned by h) into h->fl[c]; returns how many (at least
 * that many for blocks other threads freed, which are not counted), 0 if s has none. */
static uint32_t hoist(la_heap_t *h, la_span_t *s, unsigned c)
{
        if (s->local_free != NULL) {
                /* The local list, and the blocks take_local carves in front of it. */
                uint32_t n = s->capacity - s->used, before = s->capacity;
                h->fl[c] = la_span_take_local(s);
                return n + (s->capacity - before);
        }
        if (atomic_load_explicit(&s->thread_free, memory_order_relaxed) != NULL) {
                /* Non-empty, so only this exchange can take it. */
                h->fl[c] = atomic_exchange_explicit(&s->thread_free, NULL,
                                                    memory_order_acquire);
                return 1; /* they were counted as used all along */
        }
        if (s->capacity < s->nregs) {
                la_block_t *tail;
                uint32_t before = s->capacity;
                h->fl[c] = la_span_carve(s, &tail);
                return s->capacity - before;
        }
        return 0;
}

static void queue_push_tail(la_heap_t *h, unsigned c, la_span_t *s)
{
        LA_SPAN_QUEUE_PUSH_TAIL(h->full[c], h->full_tail[c], s, next, prev);
}

static void queue_unlink(la_heap_t *h, unsigned c, la_span_t *s)
{
        LA_SPAN_QUEUE_UNLINK(h->full[c], h->full_tail[c], s, next, prev);
}

/* Parks s as full.  The sequentially consistent exchange and load pair with the remote
 * side's CAS-then-load (la_span_remote_push): either we see its block here, or it sees
 * FULL and queues the slab on our notified stack.  Returns false if s has blocks after
 * all. */
static bool mark_full(la_heap_t *h, la_span_t *s, unsigned c)
{
        __atomic_exchange_n(&s->owner, la_heap_id(h) | LA_OWNER_FULL, __ATOMIC_SEQ_CST);
        if (atomic_load_explicit(&s->thread_free, memory_order_seq_cst) != NULL) {
                uintptr_t expected = la_heap_id(h) | LA_OWNER_FULL;
                if (__atomic_compare_exchange_n(&s->owner, &expected, la_heap_id(h), false,
                                                __ATOMIC_ACQ_REL, __ATOMIC_RELAXED))
                        return false;
                /* A remote free queued it already: park it; the notified stack brings it
                 * back. */
        }
        queue_push_tail(h, c, s);
        return true;
}

/* Gives an empty slab of h back to its arena (a shared heap's caller holds the lock). */
static void release_slab(la_heap_t *h, la_span_t *s)
{
        la_arena_t *a = s->arena;
        if (h->kind == LA_HEAP_SHARED) {
                la_arena_slab_release_locked(a, s);
                return;
        }
        la_mutex_lock(&a->lock);
        la_arena_slab_release_locked(a, s);
        la_mutex_unlock(&a->lock);
}

/* Moves the slabs other threads queued on h->notified from the full queues to partial.
 * With collect, their remote frees are collected too and a slab those frees emptied goes
 * back to the arena (a producer/consumer pair or a lazy-free thread would otherwise leave
 * it with us); that walks every freed block, so refills leave it to the trims. */
static void drain_notified(la_heap_t *h, bool collect)
{
        la_span_t *s = atomic_exchange_explicit(&h->notified, NULL, memory_order_acquire);
        while (s != NULL) {
                la_span_t *next = s->notify_next;
                unsigned c = s->cls;
                queue_unlink(h, c, s);
                __atomic_store_n(&s->owner, la_heap_id(h), __ATOMIC_RELAXED);
                if (collect)
                        la_span_collect_remote(s);
                if (collect && s->used == 0)
                        release_slab(h, s);
                else
                        la_span_list_push(&h->partial[c], s);
                s = next;
        }
}

/* A slab of h's partial lists leaves them to be used (or given back): no longer a kept
 * empty one. */
static void unretire(la_heap_t *h, la_span_t *s)
{
        if (s->retired) {
                s->retired = 0;
                h->retired_pages -= s->npages;
        }
}

static void *pop(la_heap_t *h, unsigned c)
{
        la_block_t *b = h->fl[c];
        h->fl[c] = la_block_next(b);
        b->link = 0; /* a live block must not look free (la_block_maybe_free) */
        return b;
}

/* Takes s as the current slab of class c; returns how many blocks it put in h->fl[c]
 * (hoist), 0 (and s parked as full) if it has none. */
static uint32_t install(la_heap_t *h, la_span_t *s, unsigned c)
{
        h->cur[c] = s;
        do {
                uint32_t n = hoist(h, s, c);
                if (n != 0)
                        return n;
        } while (!mark_full(h, s, c));
        h->cur[c] = NULL;
        return 0;
}

#define GATHER_SLABS 8 /* partial slabs looked at for them (LA_GATHER_MIN: heap.h) */

/* Whether l, a slab's local list, has k blocks and ends at tail (the invariant gather
 * relies on; walked in debug builds only). */
static bool local_list_is(const la_block_t *l, uint32_t k, const la_block_t *tail)
{
        uint32_t n = 1;
        while (la_block_next(l) != NULL && n <= k) {
                l = la_block_next(l);
                n++;
        }
        return n == k && l == tail;
}

/* A thread heap's refill hoisted only n blocks (its slabs are nearly full and random
 * frees are spread over them): the local free lists of the next partial slabs go in
 * front of the list, whole, until it holds LA_GATHER_MIN blocks, so that the next refill
 * is that many mallocs away rather than a few.  Their blocks then count as in the heap's
 * list (used), as the current slab's do; the list holds blocks of several slabs (every
 * walk of it goes by block, never by slab).  A list is joined at its last block, which
 * its slab keeps (la_span_push_local), and its length is the slab's count of free
 * blocks: no block is read here (walking the lists to cut them cost a cache miss per
 * block, one after the other, where the mallocs that take the blocks overlap theirs
 * with the program's work). */
static void gather(la_heap_t *h, unsigned c, uint32_t n)
{
        if (h->kind != LA_HEAP_THREAD || n >= LA_GATHER_MIN)
                return;
        la_block_t *head = h->fl[c];
        unsigned looked = 0;
        for (la_span_t *s = h->partial[c]; s != NULL && n < LA_GATHER_MIN && looked < GATHER_SLABS;
             s = s->next, looked++) {
                la_block_t *l = s->local_free;
                if (l == NULL)
                        continue;
                uint32_t k = s->capacity - s->used;
                if (LA_UNLIKELY(k == 0 || k > s->capacity))
                        la_fl_corrupt(l);
                LA_ASSERT_EXPENSIVE(local_list_is(l, k, s->local_tail));
                la_block_set_next(s->local_tail, head);
                head = l;
                s->local_free = NULL;
                s->used = s->capacity;
                unretire(h, s);
                n += k;
        }
        h->fl[c] = head;
}

static void *refill(la_heap_t *h, unsigned c)
{
        la_span_t *s = h->cur[c];
        uint32_t n;
        if (s != NULL) {
                if ((n = install(h, s, c)) != 0) {
                        gather(h, c, n);
                        return pop(h, c);
                }
        }
        if (atomic_load_explicit(&h->notified, memory_order_relaxed) != NULL)
                drain_notified(h, false);
        while ((s = h->partial[c]) != NULL) {
                la_span_list_unlink(&h->partial[c], s);
                unretire(h, s);
                if ((n = install(h, s, c)) != 0) {
                        gather(h, c, n);
                        return pop(h, c);
                }
        }
        la_arena_t *a = h->arena;
        bool locked = h->kind != LA_HEAP_SHARED;
        if (locked)
                la_mutex_lock(&a->lock);
        void *ret = NULL;
        for (unsigned i = 0; i <= ADOPT_MAX; i++) {
                /* Adopted slabs may turn out full; the last try takes a fresh one. */
                s = la_arena_slab_get_locked(a, h, c, i < ADOPT_MAX);
                if (s == NULL)
                        break;
                la_span_collect_remote(s);
                if (install(h, s, c)) {
                        ret = pop(h, c);
                        break;
                }
        }
        la_arena_maybe_decay_locked(a);
        if (locked)
                la_mutex_unlock(&a->lock);
        return ret;
}

void *la_shared_pop_locked(la_arena_t *a, unsigned c)
{
        la_heap_t *sh = a->shared;
        la_block_t *b = sh->fl[c];
        if (b == NULL)
                return la_heap_alloc_refill(sh, c);
        if (LA_UNLIKELY(!la_block_ok(b)))
                la_fl_corrupt(b);
        sh->fl[c] = la_block_next(b);
        b->link = 0;
        return b;
}

/* One of thread heap h's first blocks of class c (LA_RAMP_BLOCKS), popped from its
 * arena's shared heap under the arena lock.  Counted as h's malloc (nmalloc, by the
 * caller), as every block h hands out, and not as the shared heap's: both count in the
 * same arena. */
static LA_NOINLINE void *ramp(la_heap_t *h, unsigned c)
{
        la_arena_t *a = h->arena;
        h->ramp[c]++;
        la_mutex_lock(&a->lock);
        void *p = la_shared_pop_locked(a, c);
        la_mutex_unlock(&a->lock);
        return p;
}

void *la_heap_alloc_refill(la_heap_t *h, unsigned c)
{
        if (h->cur[c] == NULL && h->kind == LA_HEAP_THREAD && h->ramp[c] < LA_RAMP_BLOCKS &&
            atomic_load_explicit(&h->arena->abandoned_hint, memory_order_relaxed) >=
                    LA_RAMP_ABANDONED)
                return ramp(h, c); /* no refill of h's list */
        void *p = refill(h, c);
        if (p != NULL) {
                h->nfills[c]++;
                if (LA_UNLIKELY(h->publish))
                        la_heap_publish(h);
                /* A memory-pressure purge happened since this heap last looked: its
                 * empty slabs go back too (pressure.h). */
                unsigned gen = __atomic_load_n(&la_pressure_gen, __ATOMIC_RELAXED);
                if (LA_UNLIKELY(gen != h->pressure_gen) && h->kind == LA_HEAP_THREAD) {
                        h->pressure_gen = gen;
                        la_heap_trim(h);
                }
                /* Deferred work (upcalls.h): a fork child starts its control thread
                 * here, and a heap that grew enough for a memory-pressure watch
                 * (pressure.h); a runtime directory made after the start (README) is
                 * looked for at most once a second, here and never on the fast paths.
                 * Only where the thread holds no allocator lock: a thread heap's refill
                 * holds none when it returns, but its caller may (a pthread_create under
                 * the background-thread lock, a mallctl under the tree's), and the work
                 * takes the control server's lock, the lowest rank (os/lockrank.h). */
                if (h->kind == LA_HEAP_THREAD && la_locks_held == 0)
                        la_deferred_run();
        }
        return p;
}

/* ---- frees that missed the fast path ---------------------------------------------- */

void la_heap_span_empty(la_heap_t *h, la_span_t *s)
{
        unsigned c = s->cls;
        if (s == h->cur[c])
                return; /* keep the current slab: the next malloc wants it */
        if (h->kind == LA_HEAP_THREAD && h->retired_pages + s->npages <= LA_RETIRE_PAGES) {
                /* Kept in the partial list, empty: a thread that frees a batch and
                 * allocates it again (mid-size classes hold 2-4 blocks a slab) would
                 * otherwise give back and take a slab, under the arena lock, every few
                 * blocks.  Trims, flushes and thread exit give it back. */
                s->retired = 1;
                h->retired_pages += s->npages;
                return;
        }
        la_span_list_unlink(&h->partial[c], s);
        la_arena_t *a = s->arena;
        la_mutex_lock(&a->lock);
        la_arena_slab_release_locked(a, s);
        la_mutex_unlock(&a->lock);
}

void la_small_free_slow(la_span_t *s, void *p)
{
        la_heap_t *h = la_tls_heap;
        unsigned c = s->cls;
        uintptr_t full = la_heap_id(h) | LA_OWNER_FULL;
        uintptr_t owner = __atomic_load_n(&s->owner, __ATOMIC_RELAXED);
        if ((owner & ~LA_OWNER_NOTIFIED) == full) {
                /* Our own slab, parked as full: it has a free block again.  Take it back
                 * from the full queue unless a remote free already queued it on our
                 * notified stack (then the next drain moves it). */
                if (owner == full && __atomic_compare_exchange_n(&s->owner, &owner,
                                                                 la_heap_id(h), false,
                                                                 __ATOMIC_ACQ_REL,
                                                                 __ATOMIC_RELAXED)) {
                        queue_unlink(h, c, s);
                        la_span_list_push(&h->partial[c], s);
                }
                la_span_push_local(s, p);
                h->ndalloc[c]++;
                if (--s->used == 0 && __atomic_load_n(&s->owner, __ATOMIC_RELAXED) ==
                                              la_heap_id(h))
                        la_heap_span_empty(h, s);
                return;
        }
        if (h->kind == LA_HEAP_THREAD && (s->arena == h->arena || !s->arena->manual)) {
                /* Counted in our heap, so in our arena's statistics: exact per arena for
                 * blocks of our arena; a block of another automatic arena moves one free
                 * between two automatic arenas' figures (an atomic add on the other
                 * arena's counter would cost every cross-thread free a contended line). */
                h->ndalloc[c]++;
                h->nflushes[c]++;
        } else if (h->kind == LA_HEAP_THREAD) {
                /* A block of a manual arena (MALLOCX_ARENA, an explicit cache's): counted
                 * out in the slab's arena, so its per-arena stats stay exact; the bytes
                 * still count as this thread's (thread.deallocated). */
                atomic_fetch_add_explicit(&s->arena->orphan_ndalloc[c], 1,
                                          memory_order_relaxed);
                la_account_dealloc(h, s->usable);
        } else {
                /* No heap of our own (dying or tcache-less thread): charged to the slab's
                 * arena. */
                atomic_fetch_add_explicit(&s->arena->orphan_ndalloc[c], 1,
                                          memory_order_relaxed);
                la_account_dealloc(h, s->usable);
        }
        la_span_remote_push(s, p);
}

void la_small_free_own(la_heap_t *h, la_span_t *s, void *p)
{
        la_span_push_local(s, p);
        h->ndalloc[s->cls]++;
        if (--s->used == 0)
                la_heap_span_empty(h, s);
}

/* ---- double frees ------------------------------------------------------------------ */

void la_fl_corrupt(const void *link_value)
{
        la_fatal_ptr("malloc(): corrupted free list (a freed block was overwritten: use after "
                     "free or overflow); its link decodes to",
                     link_value);
}

static LA_COLD void double_free(const void *p)
{
        la_fatal_ptr("free(): double free detected", p);
}

/* The block a link word of slab s decodes to, or 1 when it is no link of s (outside the
 * slab's carved blocks or not at a block boundary); NULL ends a list. */
static uintptr_t link_target(const la_span_t *s, uintptr_t link)
{
        uintptr_t t = link ^ la_fl_key;
        if (t == 0)
                return 0;
        return la_span_block_at(s, t - s->base) < la_span_capacity(s) ? t : 1;
}

/* Whether t is the start of a carved block of a small slab of class c. */
static bool block_of_class(unsigned c, uintptr_t t)
{
        const la_span_t *o = la_pm_lookup((const void *)t);
        return o != NULL && o->kind == LA_SPAN_SMALL && o->cls == c &&
               la_span_block_at(o, t - o->base) < la_span_capacity(o);
}

/* Whether p is on the list that starts at head (blocks of s).  At most capacity steps, and
 * only through links that stay inside s, so a list another thread is changing under us
 * (thread_free) can end the walk early but never make it fault or loop. */
static bool list_has(const la_span_t *s, const la_block_t *head, const void *p)
{
        uintptr_t b = (uintptr_t)head;
        uint32_t cap = la_span_capacity(s);
        for (uint32_t n = 0; b > 1 && n <= cap; n++) {
                if (b == (uintptr_t)p)
                        return true;
                b = link_target(s, __atomic_load_n(&((const la_block_t *)b)->link,
                                                   __ATOMIC_RELAXED));
        }
        return false;
}

/* Whether p is on one of the calling thread's own heap lists (blocks of any of its slabs
 * of that class: gather), walked by decoded link; a link that decodes to no pointer ends
 * the walk (malloc reports that corruption when it gets there). */
static bool heap_list_has(const la_block_t *b, const void *p)
{
        for (unsigned long n = 0; b != NULL && la_block_ok(b) && n < (1ul << 24); n++) {
                if (b == p)
                        return true;
                b = la_block_next(b);
        }
        return false;
}

void la_small_free_suspect(la_span_t *s, void *p)
{
        la_heap_t *h = la_tls_heap;
        unsigned c = s->cls;
        uintptr_t owner = __atomic_load_n(&s->owner, __ATOMIC_RELAXED) & ~LA_OWNER_FLAGS;
        if (list_has(s, atomic_load_explicit(&s->thread_free, memory_order_acquire), p))
                double_free(p);
        if (owner == la_heap_id(h) && h != &la_empty_heap) {
                /* Our own slab: every list that can hold its blocks is ours to walk. */
                if (list_has(s, s->local_free, p))
                        double_free(p);
                if (heap_list_has(h->fl[c], p) || heap_list_has(h->prof_rest[c], p))
                        double_free(p);
                return; /* the application's data only looked like a link */
        }
        /* Another heap's slab: its lists are not ours to walk.  A live block's first word
         * is the application's; it decodes to a block of this very slab, to a block of
         * another slab of its class (the junction of two slabs' lists in the owner's heap
         * list: gather), or to the end of a list with a chance near 2^-47 unless the
         * block is free. */
        uintptr_t link = ((const la_block_t *)p)->link;
        if (link_target(s, link) != 1 || block_of_class(s->cls, link ^ la_fl_key))
                double_free(p);
}

/* ---- flushing ---------------------------------------------------------------------- */

/* Takes every full slab back from "full" so no remote free will queue it on h any more;
 * waits for a remote free that is about to push one. */
static void unpark_full(la_heap_t *h)
{
        for (unsigned c = 0; c < LA_NBINS; c++) {
                la_span_t *s;
                while ((s = h->full[c]) != NULL) {
                        uintptr_t expected = la_heap_id(h) | LA_OWNER_FULL;
                        if (__atomic_compare_exchange_n(&s->owner, &expected, la_heap_id(h),
                                                        false, __ATOMIC_ACQ_REL,
                                                        __ATOMIC_RELAXED)) {
                                queue_unlink(h, c, s);
                                la_span_list_push(&h->partial[c], s);
                                continue;
                        }
                        /* NOTIFIED: the pusher is between its CAS and its push. */
                        drain_notified(h, false);
                        if (h->full[c] == s)
                                sched_yield();
                }
        }
        drain_notified(h, false);
}

void la_heap_trim(la_heap_t *h)
{
        la_lcache_release(h);
        drain_notified(h, true);
        for (unsigned c = 0; c < LA_NBINS; c++) {
                la_span_t *s = h->partial[c];
                while (s != NULL) {
                        la_span_t *next = s->next;
                        la_span_collect_remote(s);
                        if (s->used == 0) {
                                la_span_list_unlink(&h->partial[c], s);
                                unretire(h, s);
                                release_slab(h, s);
                        }
                        s = next;
                }
        }
}

void la_heap_flush(la_heap_t *h)
{
        la_lcache_release(h);
        if (la_up.prof.heap_unarm != NULL)
                la_up.prof.heap_unarm(h);
        if (h->quarantine_n != 0)
                la_harden_heap_drain(h); /* before the slabs are let go */
        unpark_full(h);
        /* Every slab of h belongs to h's arena (thread.arena flushes before it moves a
         * heap): one lock for all of them. */
        la_arena_t *a = h->arena;
        la_mutex_lock(&a->lock);
        for (unsigned c = 0; c < LA_NBINS; c++) {
                la_span_t *s = h->cur[c];
                /* Blocks still in the heap list go back to their slabs: the current
                 * one's, or another slab's (gather). */
                la_block_t *b = h->fl[c];
                while (b != NULL) {
                        la_block_t *n = la_block_next(b);
                        la_span_t *o = s != NULL && (uintptr_t)b - s->base < la_span_bytes(s)
                                               ? s
                                               : la_pm_lookup(b);
                        la_span_push_local(o, b);
                        o->used--;
                        b = n;
                }
                h->fl[c] = NULL;
                if (s != NULL) {
                        h->cur[c] = NULL;
                        la_arena_slab_abandon_locked(a, s);
                }
                while ((s = h->partial[c]) != NULL) {
                        la_span_list_unlink(&h->partial[c], s);
                        unretire(h, s);
                        la_arena_slab_abandon_locked(a, s);
                }
        }
        la_mutex_unlock(&a->lock);
}
