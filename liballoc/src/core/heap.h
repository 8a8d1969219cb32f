/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * heap: a thread's private allocator state (jemalloc's tcache and mimalloc's heap in one).
 * For every small class it holds the free list of one slab it owns (the list is "hoisted"
 * out of the slab, so malloc pops it with no other load), plus the slab's partial and full
 * siblings.  The thread-local pointer to the current heap starts at an empty heap whose
 * lists are all NULL, so an uninitialised, dying or tcache-less thread costs the fast path
 * nothing: it just falls into the slow path.
 */
#ifndef LA_HEAP_H
#define LA_HEAP_H

#include <stdbool.h>
#include <stdint.h>

#include "core/pagemap.h"
#include "core/sizeclass.h"
#include "core/span.h"

/* Index of the block that starts off bytes into small slab s (carved or not), or UINT64_MAX
 * when no block starts there (off past the slab, or between two blocks). */
static inline uint64_t la_span_block_at(const la_span_t *s, uintptr_t off)
{
        if (off >= LA_DIV_MAGIC_LIMIT)
                return UINT64_MAX;
        uint64_t q = ((uint64_t)off * la_bin_info[s->cls].div_magic) >> 32;
        return q * s->block_size == off && q < s->nregs ? q : UINT64_MAX;
}

enum la_heap_kind {
        LA_HEAP_EMPTY = 0, /* the static empty heap: owns nothing */
        LA_HEAP_THREAD,    /* a thread's private heap */
        LA_HEAP_SHARED,    /* an arena's heap for tcache-less calls, under the arena lock */
        LA_HEAP_EXPLICIT,  /* a tcache.create cache: used by whoever names it (MALLOCX_TCACHE) */
};

typedef struct la_heap {
        la_block_t *fl[LA_NBINS];  /* hoisted free lists: blocks of cur[c], and in a
                                      thread heap of other slabs of c it owns (gather) */
        /* size -> class for sizes <= LA_LOOKUP_MAX, by (size + 7) >> 3: a copy of
         * la_size2cls_tab inside the heap saves malloc a PC-relative address computation. */
        uint8_t size2cls[(LA_LOOKUP_MAX >> 3) + 1];
        /* Small blocks allocated and freed through this heap, per class: one increment on
         * each fast path; thread.allocated and the per-bin stats multiply and sum them
         * when read.  Only the owner writes them; readers see them racily. */
        uint64_t nmalloc[LA_NBINS];
        uint64_t ndalloc[LA_NBINS];
        uint64_t allocated_large;   /* bytes of large/huge allocations by this thread */
        uint64_t deallocated_large; /* bytes of large/huge frees by this thread */
        /* thread.allocated/deallocated carried over when thread.arena moved the counters
         * above to the old arena's totals. */
        uint64_t allocated_base, deallocated_base;
        /* thread.allocatedp/deallocatedp point here; refreshed at each refill and each
         * read of the counters.  peak: thread.peak.read. */
        uint64_t allocated_pub, deallocated_pub, peak;
        bool publish; /* refresh them at each refill: someone asked for them */
        uint64_t nfills[LA_NBINS];   /* refills of fl[c] from a slab */
        uint64_t nflushes[LA_NBINS]; /* blocks freed into slabs other heaps own */
        la_span_t *cur[LA_NBINS];     /* slab whose blocks fl[c] was last refilled from */
        la_span_t *partial[LA_NBINS]; /* owned slabs with free blocks (list) */
        la_span_t *full[LA_NBINS];      /* owned slabs with none when last seen: a queue, */
        la_span_t *full_tail[LA_NBINS]; /* oldest first (the likeliest to have frees) */
        struct la_arena *arena;
        uintptr_t id;              /* what its slabs' owner field holds (la_heap_id) */
        uint32_t kind;             /* enum la_heap_kind */
        uint32_t refills;          /* slow-path ticks, for periodic maintenance */
        uint32_t pressure_gen;     /* la_pressure_gen when this heap last trimmed */
        uint32_t retired_pages;    /* pages of the empty slabs kept in partial lists */
        /* Freed large runs of the first 9 large classes parked here (lcache.h). */
        la_span_t *lcache[LA_LCACHE_NCLS];
        uint8_t lcache_n[LA_LCACHE_NCLS];
        uint32_t lcache_pages;
        bool lcache_on; /* it may park runs (la_lcache_allowed), one test for free */
        /* Runs parked (a free) and taken back (an allocation) per class, as nmalloc and
         * ndalloc: only the owner writes them, the stats add them up, and the arena's
         * counters of the same name take them over when the heap retires. */
        uint64_t lcache_nmalloc[LA_LCACHE_NCLS], lcache_ndalloc[LA_LCACHE_NCLS];
        struct la_heap *reg_next, *reg_prev;       /* registry of live thread heaps */
        /* Heap profiling (prof.h), thread heaps only: armed while the thread samples.
         * The malloc of class c that finds fl[c] empty with nmalloc[c] == prof_at[c] is
         * sampled (LA_PROF_UNDRAWN: not drawn yet); fl[c] is cut there, and the part of the
         * list behind that point waits in prof_rest[c]. */
        /* hardened:true (harden.h): the last small blocks this thread freed, oldest at
         * quarantine_next; the ring is made at the first such free. */
        void **quarantine;
        uint32_t quarantine_n, quarantine_next;
        uint32_t prof_gen;
        bool prof_armed;
        uint64_t prof_at[LA_NBINS];
        la_block_t *prof_rest[LA_NBINS];
        /* Blocks of each class this thread heap took from its arena's shared heap before
         * it took a slab of its own (LA_RAMP_BLOCKS). */
        uint8_t ramp[LA_NBINS];
        /* Full slabs that other threads freed into, pushed by them (once per slab, see
         * LA_OWNER_NOTIFIED); the owner takes the whole stack in its slow path.  Alone on
         * its line: remote threads write it. */
        _Alignas(LA_CACHELINE) _Atomic(la_span_t *) notified;
} la_heap_t;

/* The value h's slabs hold in their owner field (flags aside): h's address, with
 * LA_OWNER_HARD for a thread heap in the hardened mode. */
static inline uintptr_t la_heap_id(const la_heap_t *h)
{
        return h->id;
}

/* Thread states (la_tls_state). */
enum la_thread_state {
        LA_THREAD_NEW = 0,   /* no heap yet */
        LA_THREAD_ACTIVE,    /* private heap in use */
        LA_THREAD_BUSY,      /* creating its heap or inside init: use the shared heap */
        LA_THREAD_NOCACHE,   /* thread.tcache.enabled = false */
        LA_THREAD_DEAD,      /* heap released at thread exit */
};

extern la_heap_t la_empty_heap;
extern __thread la_heap_t *la_tls_heap __attribute__((tls_model("initial-exec")));
extern __thread uint8_t la_tls_state __attribute__((tls_model("initial-exec")));

/* Draws la_fl_key (span.h): once, at start-up, before any block is carved. */
void la_fl_key_init(void);
void la_heap_init(la_heap_t *h, struct la_arena *a, enum la_heap_kind kind);
/* Bytes ever allocated / freed by h (thread.allocated / thread.deallocated); racy but
 * safe for another thread's heap. */
uint64_t la_heap_allocated(const la_heap_t *h);
uint64_t la_heap_deallocated(const la_heap_t *h);
/* A thread heap's refill that finds fewer blocks than this in its slab adds the free
 * blocks of its other slabs of the class (heap.c's gather). */
#define LA_GATHER_MIN 32
/* Where threads leave slabs behind (at least LA_RAMP_ABANDONED slabs of an arena wait
 * abandoned: blocks outlived the threads that made them), a thread heap's first
 * LA_RAMP_BLOCKS blocks of a class come from the arena's shared heap (under the arena
 * lock, as for a tcache-less thread) rather than from a slab of its own.  A short-lived
 * thread that hands a few blocks of each class to others then leaves no slab behind for
 * each class it used, most of it free but held until a heap of its class adopts it or a
 * sweep finds it empty (thread-storm: hundreds of such slabs at the peak, holding a few
 * live blocks each); its blocks share the shared heap's slabs instead.  Elsewhere the
 * shared slabs, which outlive the threads, would only pin pages between the runs that
 * threads give back (taken always, thread-churn's RSS crept up by 200-550 KiB; with the
 * bound at 1 slab, short-threads took 1.3 million blocks there and its peak RSS was 1.2x;
 * at 16, thread-storm kept about 16 abandoned slabs an arena and its peak hardly moved).
 * malloc's fast path is unchanged: the heap's list of the class stays empty, so each of
 * those mallocs takes the slow path. */
#ifndef LA_RAMP_BLOCKS
#define LA_RAMP_BLOCKS 16
#endif
#ifndef LA_RAMP_ABANDONED
#define LA_RAMP_ABANDONED 4
#endif
/* Refills fl[c] and pops one block (or, for a thread heap's first blocks of a class,
 * LA_RAMP_BLOCKS, pops one of the arena's shared heap); NULL when out of memory.  Shared
 * heaps: arena lock held.  May take the arena lock (thread heaps). */
void *la_heap_alloc_refill(la_heap_t *h, unsigned c);
/* A block of class c from arena a's shared heap: its list's first, else a refill of it;
 * NULL when out of memory.  Arena lock held; counted by the caller. */
void *la_shared_pop_locked(struct la_arena *a, unsigned c);
/* Free of a small block whose fast path did not apply (not ours, slab marked full). */
void la_small_free_slow(la_span_t *s, void *p);
/* free's fast-path push of block p of slab s, owned by h (the calling thread's heap, slab
 * not parked as full), for a free the fast path sent to the slow path's checks. */
void la_small_free_own(la_heap_t *h, la_span_t *s, void *p);
/* Carves up to 4 KiB of fresh blocks (at least 8) from s into a list; s must have
 * uncarved capacity.  Sets *ret_tail to the last block. */
la_block_t *la_span_carve(la_span_t *s, la_block_t **ret_tail);
/* Collects the blocks other threads freed into s (its thread_free list) onto its local
 * list, counting them out of used.  By s's owner, or under the arena lock for a slab
 * that has none. */
void la_span_collect_remote(la_span_t *s);
/* Takes s's local free list (non-empty), with more fresh blocks in front while s has
 * uncarved capacity. */
la_block_t *la_span_take_local(la_span_t *s);
/* Empty slabs a thread heap keeps in its partial lists (their pages at most) instead of
 * giving them back to the arena at once. */
#ifndef LA_RETIRE_PAGES
#define LA_RETIRE_PAGES 64
#endif
/* Local free that emptied slab s: kept (LA_RETIRE_PAGES) or given back. */
void la_heap_span_empty(la_heap_t *h, la_span_t *s);
/* Gives back the slabs of h that other threads' frees emptied (owner only): those they
 * queued on h->notified and those in the partial lists. */
void la_heap_trim(la_heap_t *h);
/* Refreshes allocated_pub/deallocated_pub/peak and calls the thread's activity callback. */
void la_heap_publish(la_heap_t *h);
/* Gives every slab and cached block back: empty slabs to the arena, the rest abandoned to
 * it.  Used by thread exit, thread.tcache.flush and thread.arena. */
void la_heap_flush(la_heap_t *h);
/* Remote free: pushes p onto s->thread_free (one CAS, no lock).  If the owner had parked
 * the slab as full, the first remote free to see that queues the slab on the owner's
 * notified stack.  The owner's fence in mark_full pairs with the CAS here: either the
 * owner sees this block before parking the slab, or this thread sees the FULL bit. */
static inline void la_span_remote_push(la_span_t *s, void *p)
{
        la_block_t *b = p;
        la_block_t *head = atomic_load_explicit(&s->thread_free, memory_order_relaxed);
        do {
                la_block_set_next(b, head);
        } while (!atomic_compare_exchange_weak_explicit(&s->thread_free, &head, b,
                                                        memory_order_seq_cst,
                                                        memory_order_relaxed));
        uintptr_t owner = __atomic_load_n(&s->owner, __ATOMIC_SEQ_CST);
        if ((owner & LA_OWNER_FLAGS) != LA_OWNER_FULL)
                return;
        if (!__atomic_compare_exchange_n(&s->owner, &owner, owner | LA_OWNER_NOTIFIED, false,
                                         __ATOMIC_ACQ_REL, __ATOMIC_RELAXED))
                return; /* someone else queued it, or the owner took it back */
        /* Heaps are recycled, never unmapped; the owner waits for this push before it
         * lets its heap go (la_heap_flush), so the heap is still this slab's owner. */
        la_heap_t *oh = (la_heap_t *)(owner & ~LA_OWNER_BITS);
        la_span_t *top = atomic_load_explicit(&oh->notified, memory_order_relaxed);
        do {
                s->notify_next = top;
        } while (!atomic_compare_exchange_weak_explicit(&oh->notified, &top, s,
                                                        memory_order_release,
                                                        memory_order_relaxed));
}

/* Free of block p of slab s (a carved block: la_free_slow checked) whose first word looks
 * like a free-list link (la_block_maybe_free): aborts with "double free" when p is free
 * already (found in one of s's lists, or, where another thread's lists cannot be walked,
 * its link is one that only a free block of s can hold); returns when the data only
 * looked like a link. */
void la_small_free_suspect(la_span_t *s, void *p);

/* free's fast path: a push onto the owning slab's local list when the calling thread owns
 * it; everything else goes to la_free_slow (alloc.c).  Every block malloc hands out has
 * its link word cleared, so a block that still looks free is checked for a double free;
 * a pointer that is not 8-byte aligned is no block and goes to the slow path's checks. */
void la_free_slow(void *p, la_span_t *s); /* s: la_pm_lookup(p), already looked up */
static inline __attribute__((always_inline)) void la_free_inline(void *p)
{
        la_span_t *s = la_pm_lookup(p);
        la_heap_t *h = la_tls_heap;
        if (LA_LIKELY(s != NULL && la_span_owner_fast(s) == (uintptr_t)h &&
                      ((uintptr_t)p & 7) == 0 && !la_block_maybe_free(p))) {
                la_span_push_local(s, p);
                h->ndalloc[s->cls]++;
                if (LA_UNLIKELY(--s->used == 0))
                        la_heap_span_empty(h, s);
                return;
        }
        la_free_slow(p, s);
}

#endif
