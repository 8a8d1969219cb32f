/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * prof: heap profiling.  Allocations are sampled at a mean of one every R = 2^lg_sample
 * bytes (an allocation of s bytes is taken with probability 1 - exp(-s/R), as jemalloc
 * does); each sample records its backtrace, and the live samples, grouped by backtrace and
 * thread, make jemalloc's heap_v2 dump (prof_dump.c).
 *
 * The fast paths never look at profiling.  A thread heap samples its small classes by
 * shortening the free lists it installs: when the next sample of class c falls inside a
 * list, the list is cut there and the rest held back, so the malloc that finds the list
 * empty is the sampled one and enters the slow path (la_prof_heap_small).  Everything else
 * (large sizes, tcache-less and explicit-cache allocations) goes through slow paths anyway
 * and counts bytes down per thread.  Unlike jemalloc, profiling can be switched on in a
 * process that started without prof:true.
 */
#ifndef LA_PROF_H
#define LA_PROF_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/heap.h"
#include "core/span.h"
#include "core/upcalls.h"

#define LA_PROF_BT_MAX 128     /* frames kept per backtrace, as jemalloc */
#define LA_PROF_NAME_MAX 64    /* thread.prof.name, bytes with the terminator */

/* la_prof_gen, la_prof_active, la_prof_dump_pending: core/upcalls.h. */
/* Set while this thread unwinds or dumps: its allocations are not sampled. */
extern __thread uint8_t la_tls_prof_busy __attribute__((tls_model("initial-exec")));

/* After the options are read: prof.active = prof && prof_active, exit dump handler. */
void la_prof_boot(void);
void la_prof_prefork(void);
void la_prof_postfork_parent(void);
void la_prof_postfork_child(void);

/* ---- sampling ---------------------------------------------------------------------- */

/* Brings h (the caller's heap) up to date with la_prof_gen: arms or disarms the sampling
 * of its small classes. */
void la_prof_heap_sync(la_heap_t *h);
/* Gives back the held-back parts of h's lists and disarms h (flush, thread exit). */
void la_prof_heap_unarm(la_heap_t *h);
/* malloc of class c on an armed heap whose list fl[c] is empty: the sampled allocation or
 * a refill.  Counts the allocation in the heap's statistics. */
void *la_prof_heap_small(la_heap_t *h, unsigned c);
/* Armed heap: a list was just installed in h->fl[c]; cuts it at the next sample.  The list
 * comes from slab cur[c], so when the sample is further away than that slab has blocks
 * there is nothing to do (the common case: one compare). */
void la_prof_cap(la_heap_t *h, unsigned c);
/* (la_prof_heap_due and la_prof_heap_installed: core/upcalls.h) */
/* Slow-path allocations that do not come from an armed heap: true if this one of usize
 * bytes is to be sampled (counts the thread's bytes down). */
bool la_prof_count(size_t usize);
/* Allocates a sampled object of usize bytes (its own page run in arena a, or a large or
 * huge allocation) and records it; NULL when out of memory. */
void *la_prof_alloc_sampled(void *arena, bool arena_explicit, size_t usize, size_t align,
                            bool zero);
/* A sampled large object was resized in place. */
void la_prof_resize(la_span_t *s, size_t old_usize, size_t new_usize);
/* free of a sampled object: drops its record (s->prof_tctx is cleared). */
void la_prof_free(la_span_t *s);
/* Runs a gdump or interval dump that became due (no lock may be held). */
void la_prof_dump_due(void);
/* Fills la_up.prof (api/wire.c calls it before anything samples). */
void la_prof_register(void);

/* ---- control (ctl_prof.c, the control socket) --------------------------------------- */

bool la_prof_set_active(bool on);           /* returns the old value */
/* config.prof_libunwind: libunwind found (or not looked for yet). */
bool la_prof_uses_libunwind(void);
bool la_prof_get_active(void);
bool la_prof_thread_active_init(bool *set); /* returns old; set == NULL reads */
bool la_prof_thread_active(const bool *set);
const char *la_prof_thread_name(void);
int la_prof_thread_name_set(const char *name); /* 0 or EFAULT */
size_t la_prof_lg_sample(void);
/* prof.reset: drops every sample; lg != NULL sets a new sampling rate. */
void la_prof_reset(const size_t *lg);
bool la_prof_gdump(const bool *set);
uint64_t la_prof_interval(void);
/* prof.stats.{bins,lextents}.<i>.{live,accum}: {req_sum, count} of sampled objects of
 * class cls (liballoc counts usable sizes: the requested ones are not kept). */
void la_prof_stats_read(unsigned cls, bool accum, uint64_t out[2]);
/* Live samples and their (sampled, not scaled) bytes. */
void la_prof_counts(uint64_t *samples, uint64_t *bytes);

/* ---- dumps (prof_dump.c) ------------------------------------------------------------ */

/* prof.dump: to path, or NULL for the next automatic name (<prefix>.<pid>.<seq>.m<n>.heap).
 * Written to a temporary file renamed into place.  0 or an errno (EFAULT as jemalloc). */
int la_prof_dump_file(const char *path);
/* Writes a heap_v2 dump to fd; at most max bytes (0: no bound).  0, EFBIG or an errno. */
int la_prof_dump_fd(int fd, size_t max);
/* prof.prefix: copies it (0, or EINVAL when too long). */
int la_prof_set_prefix(const char *prefix);
void (*la_prof_dump_hook_get(void))(const char *);
void la_prof_dump_hook_set(void (*hook)(const char *));
typedef void (*la_prof_bt_hook_t)(void **vec, unsigned *len, unsigned max);
la_prof_bt_hook_t la_prof_bt_hook_get(void);
void la_prof_bt_hook_set(la_prof_bt_hook_t hook);

#endif
