/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * thread: per-thread life cycle: creating a thread's heap on its first allocation, giving
 * it back at thread exit (pthread key destructor), tcache on/off and arena rebinding, the
 * registry of live heaps that stats walk, and the fork handlers.
 */
#ifndef LA_THREAD_H
#define LA_THREAD_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "core/heap.h"

/* Process-wide part, called once from init (may allocate: caller guards recursion). */
void la_thread_boot(void);
/* The calling thread's heap, created on first use; NULL when the thread must use the
 * shared path (dying, tcache off, or inside its own set-up). */
la_heap_t *la_thread_heap(void);
/* The arena the calling thread allocates from. */
struct la_arena *la_thread_arena(void);
/* thread.arena: rebinds the thread (flushes its heap first).  -EFAULT if no such arena. */
int la_thread_set_arena(unsigned ind);
/* thread.tcache.flush / thread.tcache.enabled. */
void la_thread_tcache_flush(void);
int la_thread_tcache_set(bool enabled);
bool la_thread_tcache_get(void);

/* Byte counters of the calling thread (thread.allocated / thread.deallocated). */
uint64_t la_thread_allocated(void);
uint64_t la_thread_deallocated(void);

/* thread.allocatedp / thread.deallocatedp: counters refreshed at each refill and each
 * call (never written by the fast path). */
uint64_t *la_thread_counterp(bool dealloc);
/* thread.peak.read (reset false) / thread.peak.reset. */
uint64_t la_thread_peak(bool reset);
/* Gives back slabs of the calling thread that other threads' frees emptied. */
void la_thread_trim(void);
/* thread.idle. */
void la_thread_idle(void);
/* experimental.thread.activity_callback: called with the thread's byte totals at refills. */
typedef struct la_activity_cb {
        void (*cb)(void *uctx, uint64_t allocated, uint64_t deallocated);
        void *uctx;
} la_activity_cb_t;
/* Returns the current callback; replaces it if set is not NULL. */
la_activity_cb_t la_thread_activity_cb(const la_activity_cb_t *set);
/* Registers / unregisters an explicit cache heap (tcache.create) for stats. */
void la_heap_register(la_heap_t *h);
void la_heap_unregister(la_heap_t *h);

/* Calls heap_fn for every registered heap (thread and explicit caches), then arena_fn for
 * every arena, all under the registry lock: the arenas' retired counters change under
 * that lock only, so one walk sees every count exactly once. */
struct la_arena;
void la_heaps_collect(void (*heap_fn)(const la_heap_t *h, void *arg),
                      void (*arena_fn)(struct la_arena *a, void *arg), void *arg);
/* Counts bytes the per-class counters do not (large/huge allocations, in-place resizes,
 * small blocks of other heaps) against the calling thread (thread.allocated /
 * deallocated); h is the calling thread's la_tls_heap.  These are slow paths, so when
 * someone holds thread.allocatedp or thread.deallocatedp (h->publish) the published
 * copies are refreshed here at once.  A thread without a heap of its own (tcache
 * disabled, being set up, exiting) counts in thread-local totals instead
 * (la_account_heapless), carried over when it gets or loses a heap. */
extern __thread uint64_t la_tls_no_counters[2] __attribute__((tls_model("initial-exec")));
static inline void la_account_heapless(bool dealloc, uint64_t n)
{
        la_tls_no_counters[dealloc] += n; /* inline: a call would make its callers save
                                           * registers on their common paths too */
}
/* Thread heap h's counter (its allocated_large or deallocated_large) grows by n: for
 * callers that know h is one (a parked run's thread) and for the two below. */
static inline void la_account_thread(la_heap_t *h, uint64_t *counter, uint64_t n)
{
        *counter += n;
        if (LA_UNLIKELY(h->publish))
                la_heap_publish(h);
}
static inline void la_account_alloc(la_heap_t *h, uint64_t n)
{
        if (h->kind == LA_HEAP_THREAD)
                la_account_thread(h, &h->allocated_large, n);
        else
                la_account_heapless(false, n);
}
static inline void la_account_dealloc(la_heap_t *h, uint64_t n)
{
        if (h->kind == LA_HEAP_THREAD)
                la_account_thread(h, &h->deallocated_large, n);
        else
                la_account_heapless(true, n);
}

#endif
