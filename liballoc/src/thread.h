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

#include "heap.h"

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

/* Sum over all heaps, live and exited, of allocated - deallocated bytes. */
uint64_t la_heaps_live_bytes(void);
/* Counters for threads without a heap of their own (dead or tcache-less). */
extern _Atomic uint64_t la_orphan_allocated, la_orphan_deallocated;

/* Counts bytes against h, or against the orphan counters for heapless threads. */
static inline void la_account_alloc(la_heap_t *h, uint64_t n)
{
        if (h->kind == LA_HEAP_THREAD)
                h->allocated_large += n;
        else
                atomic_fetch_add_explicit(&la_orphan_allocated, n, memory_order_relaxed);
}
static inline void la_account_dealloc(la_heap_t *h, uint64_t n)
{
        if (h->kind == LA_HEAP_THREAD)
                h->deallocated += n;
        else
                atomic_fetch_add_explicit(&la_orphan_deallocated, n, memory_order_relaxed);
}

#endif
