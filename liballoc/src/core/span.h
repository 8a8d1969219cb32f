/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * span: the descriptor of a run of pages.  A span is a small-object slab owned by one heap,
 * a large or huge allocation, or a free run held by its arena (dirty, muzzy or clean).
 * Fields the owning thread touches on every free sit in the first cache line; the list
 * that other threads push freed blocks onto sits alone in the second.
 */
#ifndef LA_SPAN_H
#define LA_SPAN_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "os/util.h"

/* A free block: its first word links it to the next free block of the same slab.  The
 * link is stored encoded (next ^ la_fl_key), so that a use-after-free write or an
 * overflow from a neighbour cannot plant an address malloc would hand out: the key's bit
 * 63 is set, so a raw pointer or small number written there decodes to a negative,
 * non-canonical address, which malloc refuses and reports (la_fl_corrupt).  A word whose
 * top 17 bits equal the key's is what a link looks like; free checks that to find double
 * frees (heap.h).  Read and write links only through the functions below. */
typedef struct la_block {
        uintptr_t link;
} la_block_t;

/* The process's secret, drawn by la_fl_key_init (heap.c) before the first block exists;
 * a fork child keeps it, as its inherited free lists need. */
extern uintptr_t la_fl_key __attribute__((visibility("hidden")));
/* Bits of a link word that are the key's for every free block (bits 47..63). */
#define LA_FL_KEY_SHIFT 47

static inline la_block_t *la_block_next(const la_block_t *b)
{
        return (la_block_t *)(b->link ^ la_fl_key);
}

static inline void la_block_set_next(la_block_t *b, const la_block_t *next)
{
        b->link = (uintptr_t)next ^ la_fl_key;
}

/* Heads of free lists are user-space addresses below this: a list whose next link decodes
 * to anything else was overwritten (the slow paths check the head they pop; malloc's
 * fast path checks the sign only: the key's bit 63 is set, so whatever was written with
 * bit 63 clear, every user-space address and small number, decodes negative). */
#define LA_FL_PTR_LIMIT ((uintptr_t)1 << 47)
/* Reports an overwritten link (heap.c); link_value is what it decodes to. */
__attribute__((noreturn)) void la_fl_corrupt(const void *link_value);
static inline bool la_block_ok(const la_block_t *b)
{
        return (uintptr_t)b < LA_FL_PTR_LIMIT;
}

/* True when the first word of p could be a free-list link: p may be free already. */
static inline bool la_block_maybe_free(const void *p)
{
        return ((((const la_block_t *)p)->link ^ la_fl_key) >> LA_FL_KEY_SHIFT) == 0;
}

enum la_span_kind {
        LA_SPAN_FREE = 0, /* free run in an arena */
        LA_SPAN_SMALL,    /* slab of one small class */
        LA_SPAN_LARGE,    /* one large allocation carved from an arena */
        LA_SPAN_HUGE,     /* one allocation with a mapping of its own */
};

enum la_run_state {
        LA_RUN_DIRTY = 0, /* freed, still resident */
        LA_RUN_MUZZY,     /* MADV_FREE'd: the kernel may take the pages */
        LA_RUN_CLEAN,     /* never touched or MADV_DONTNEED'd: reads as zero */
        LA_RUN_NSTATES,
        LA_RUN_PURGING,   /* being purged with the arena lock dropped: not coalescable */
};

/* Low bit of span->owner: the slab had no free block when its heap last looked, so a local
 * free must take the slow path to put it back in the heap's partial list. */
#define LA_OWNER_FULL ((uintptr_t)1)
/* Second bit: a remote free found the slab full and queued it on the owner heap's
 * notified stack (set once, by compare-and-swap, so a slab is queued at most once). */
#define LA_OWNER_NOTIFIED ((uintptr_t)2)
#define LA_OWNER_FLAGS (LA_OWNER_FULL | LA_OWNER_NOTIFIED)
/* Third bit, constant for a heap's life: the heap is a thread heap in the hardened mode
 * (la_heap_id), so that free's fast path, which compares the owner with the thread's heap
 * pointer, never matches and every free of its blocks takes the slow path's junk and
 * quarantine while malloc keeps its fast path. */
#define LA_OWNER_HARD ((uintptr_t)4)
#define LA_OWNER_BITS (LA_OWNER_FLAGS | LA_OWNER_HARD) /* heaps are 64-byte aligned */

struct la_heap;
struct la_arena;

typedef struct la_span {
        /* Line 0: the owner thread. */
        uintptr_t owner;          /* la_heap_id(owning heap) | flags; 0 when abandoned */
        la_block_t *local_free;   /* blocks freed by the owner */
        uint32_t used;            /* blocks with the app or in the owner's heap list */
        uint32_t capacity;        /* blocks carved so far (la_span_capacity from others) */
        uint32_t nregs;           /* blocks the slab can hold */
        uint32_t block_size;      /* small: bytes from one block to the next */
        uint8_t kind;             /* enum la_span_kind */
        uint8_t cls;              /* size class (small and large) */
        uint8_t retired;          /* small: empty, kept by its heap (la_heap_span_empty) */
        uint8_t parked;           /* large: freed, parked in its freeing thread's heap
                                     (lcache.h); relaxed atomic accesses */
        /* small: a block's usable size, la_cls_size[cls]: block_size, less the canary and
         * its padding in the hardened mode (la_sizeclass_harden) */
        uint32_t usable;
        struct la_arena *arena;
        la_block_t *local_tail; /* local_free's last block, while local_free != NULL */
        /* In this line too: a refill's walk of the partial slabs reads it (gather). */
        struct la_span *next; /* heap list / arena bin / abandoned */
        /* Line 1: other threads push their frees here. */
        _Alignas(LA_CACHELINE) _Atomic(la_block_t *) thread_free;
        /* Line 2: cold fields, touched under the arena lock or in slow paths. */
        _Alignas(LA_CACHELINE) struct la_span *prev;
        uint8_t state;            /* enum la_run_state (free runs) */
        uint8_t zeroed;           /* run known to read as zero (clean) */
        uint8_t aligned;          /* huge: mapped with an alignment mremap would not keep */
        uint8_t guarded;          /* large, hardened mode: its last page is a guard page */
        uint32_t arena_ind;
        struct la_span *lru_next; /* free runs: age order; in-use large: arena list */
        struct la_span *lru_prev;
        struct la_span *notify_next; /* owner heap's notified stack */
        uintptr_t base;
        size_t npages;
        uintptr_t region_lo, region_hi; /* arena runs: the mapping they were carved from */
        size_t usize;     /* large/huge: usable size; huge: mapping size in map_size */
        size_t map_size;  /* huge: bytes mapped */
        uint64_t freed_ns;
        /* Large/huge spans of a sampled allocation (prof.h): its record, and the profile
         * epoch it was taken in (prof.reset drops older records). */
        void *prof_tctx;
        uint32_t prof_epoch;
} la_span_t;

_Static_assert(offsetof(la_span_t, thread_free) == LA_CACHELINE,
               "the owner's fields of a span fit its first cache line");

/* The owner's free of b into s's local list, which keeps the list's last block known:
 * a refill takes whole lists of several slabs and joins them without walking them
 * (heap.c, gather). */
static inline void la_span_push_local(la_span_t *s, la_block_t *b)
{
        la_block_t *old = s->local_free;
        if (old == NULL)
                s->local_tail = b;
        la_block_set_next(b, old);
        s->local_free = b;
}

/* The owner word as the free fast path reads it.  Only the owner itself ever stores its
 * own heap there, so a torn or stale read can only fail the "is it mine" test, which then
 * takes the slow path; a plain load lets the compiler fold it into the compare.  Under
 * ThreadSanitizer it is an atomic load, so the tool sees the protocol. */
static inline uintptr_t la_span_owner_fast(const la_span_t *s)
{
#if defined(__SANITIZE_THREAD__)
        return __atomic_load_n(&s->owner, __ATOMIC_RELAXED);
#else
        return s->owner;
#endif
}

/* Blocks carved so far, as a thread that does not own s reads it (misuse checks of a
 * free): only the owner writes it (la_span_set_capacity), and it only grows while the
 * slab lives, so a stale value is a smaller one. */
static inline uint32_t la_span_capacity(const la_span_t *s)
{
        return __atomic_load_n(&s->capacity, __ATOMIC_RELAXED);
}

static inline void la_span_set_capacity(la_span_t *s, uint32_t n)
{
        __atomic_store_n(&s->capacity, n, __ATOMIC_RELAXED);
}

/* Intrusive list of spans through next/prev (heap slab lists, arena bins, abandoned). */
static inline void la_span_list_push(la_span_t **head, la_span_t *s)
{
        s->prev = NULL;
        s->next = *head;
        if (*head != NULL)
                (*head)->prev = s;
        *head = s;
}

/* Is s on the list at head?  A walk: for LA_ASSERT_EXPENSIVE. */
static inline bool la_span_listed(const la_span_t *head, const la_span_t *s)
{
        for (; head != NULL; head = head->next)
                if (head == s)
                        return true;
        return false;
}

static inline void la_span_list_unlink(la_span_t **head, la_span_t *s)
{
        LA_ASSERT_EXPENSIVE(la_span_listed(*head, s));
        if (s->prev != NULL)
                s->prev->next = s->next;
        else
                *head = s->next;
        if (s->next != NULL)
                s->next->prev = s->prev;
        s->next = s->prev = NULL;
}

/* Queues of spans, oldest first, with a head and a tail: the arena's dirty and muzzy
 * runs and the huge arena's kept mappings (through lru_next / lru_prev), a heap's full
 * slabs (through next / prev).  NEXT and PREV name the two link fields. */
#define LA_SPAN_QUEUE_PUSH_TAIL(head, tail, s, NEXT, PREV)                                    \
        do {                                                                                  \
                (s)->NEXT = NULL;                                                             \
                (s)->PREV = (tail);                                                           \
                if ((tail) != NULL)                                                           \
                        (tail)->NEXT = (s);                                                   \
                else                                                                          \
                        (head) = (s);                                                         \
                (tail) = (s);                                                                 \
        } while (0)
#define LA_SPAN_QUEUE_UNLINK(head, tail, s, NEXT, PREV)                                       \
        do {                                                                                  \
                if ((s)->PREV != NULL)                                                        \
                        (s)->PREV->NEXT = (s)->NEXT;                                          \
                else                                                                          \
                        (head) = (s)->NEXT;                                                   \
                if ((s)->NEXT != NULL)                                                        \
                        (s)->NEXT->PREV = (s)->PREV;                                          \
                else                                                                          \
                        (tail) = (s)->PREV;                                                   \
                (s)->NEXT = (s)->PREV = NULL;                                                 \
        } while (0)

static inline size_t la_span_bytes(const la_span_t *s)
{
        return s->npages << 12;
}

/* A run's arena as a neighbour sees it.  Runs of one region can belong to different
 * arenas (an arena takes another's unpurged runs), so coalescing reads the arena of a
 * neighbouring run it may not own before anything else; writes go through
 * la_span_set_arena.  A run's arena changes only under the locks of both arenas. */
static inline struct la_arena *la_span_arena_seen(const la_span_t *s)
{
        return __atomic_load_n(&s->arena, __ATOMIC_RELAXED);
}

static inline void la_span_set_arena(la_span_t *s, struct la_arena *a)
{
        __atomic_store_n(&s->arena, a, __ATOMIC_RELAXED);
}

#endif
