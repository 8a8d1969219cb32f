/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * harden: the opt-in hardened mode (MALLOC_CONF=hardened:true).  Threads keep their heaps
 * and malloc its fast path, but every free takes the slow path (a hardened thread heap's
 * slabs carry LA_OWNER_HARD in their owner field, which free's fast path never matches).
 * There a freed small block is filled with junk and parked in a quarantine, a ring of the
 * thread's last LA_QUARANTINE_N frees (the arena's, under its lock, for threads without a
 * heap), before it can be handed out again: a use-after-free write into it is found when
 * it leaves the ring, and a second free of it while it waits is found at once.  Slabs are
 * carved in a random order, so neighbours are unpredictable.  Every small block carries
 * a canary in the LA_CANARY_BYTES right after its usable size (la_sizeclass_harden gives
 * the room), made from its address and the process's secret: written when the block is
 * carved and again when it leaves the ring, never by malloc, and checked by each free, so
 * a write past the end of a live block (into its canary, or through it into the next
 * block) is found when the block is freed.  Sampled blocks (prof.h) have pages of their
 * own and no canary.  The checks of the default mode (heap.c, alloc.c) still apply to
 * blocks outside the ring.
 */
#ifndef LA_HARDEN_H
#define LA_HARDEN_H

#include "core/span.h"

#define LA_QUARANTINE_N 256 /* blocks per thread heap or arena */
#define LA_JUNK_FREED 0x5a  /* the byte freed blocks are filled with (as opt.junk) */

/* Free of small block p of slab s (checked as a block of s by the caller): the canary
 * check, junk, the quarantine, and the normal free of the block that leaves it.  Aborts
 * on a double free of a quarantined block and on an overwritten canary. */
void la_harden_free_small(la_span_t *s, void *p);
/* Carving of small slab s in the hardened mode: writes the canaries of the n blocks from
 * first (s->block_size apart) and puts the blocks on a list in a random order; returns
 * its head and sets *ret_tail. */
la_block_t *la_harden_carve(const la_span_t *s, char *first, uint32_t n,
                            la_block_t **ret_tail);
struct la_heap;
/* Frees (for real) every block in thread heap h's ring: the heap is being flushed. */
void la_harden_heap_drain(struct la_heap *h);
/* arena.<i>.reset / destroy: forgets the quarantined blocks of arena a (lock held). */
struct la_arena;
void la_harden_forget_locked(struct la_arena *a);

#endif
