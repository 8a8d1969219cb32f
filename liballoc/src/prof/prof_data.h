/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * prof_data: the records of prof.c as prof_dump.c reads them.  Internal to the two.
 */
#ifndef LA_PROF_DATA_H
#define LA_PROF_DATA_H

#include <stdbool.h>
#include <stdint.h>

#include "core/heap.h"
#include "prof/prof.h"
#include "os/util.h"

/* Counts of one record: sampled objects and bytes, and the same scaled by what each
 * sample stands for (1 / its probability) for jemalloc's unbiased output. */
typedef struct la_prof_cnt {
        uint64_t objs, bytes;
        double uobjs, ubytes;
} la_prof_cnt_t;

typedef struct la_prof_tdata {
        uint64_t uid;      /* jemalloc's thread serial: 0 for the first thread sampled */
        uint32_t refs;     /* its count records, plus one while the thread lives */
        bool dead;
        uint32_t snap_idx; /* its index in a dump's snapshot */
        char name[LA_PROF_NAME_MAX];
        struct la_prof_tdata *next, *prev;
} la_prof_tdata_t;

struct la_prof_ctx;
typedef struct la_prof_tctx {
        struct la_prof_ctx *ctx;
        la_prof_tdata_t *td;
        struct la_prof_tctx *next, *prev; /* the context's records */
        la_prof_cnt_t cur, accum;
} la_prof_tctx_t;

typedef struct la_prof_ctx {
        struct la_prof_ctx *hnext; /* hash chain */
        uint64_t hash;
        la_prof_tctx_t *tctxs;
        uint32_t nframes;
        uintptr_t frames[]; /* innermost first */
} la_prof_ctx_t;

/* Lock order: la_prof_dump_mtx, then la_prof_lock (an arena lock may be held before
 * la_prof_lock, never after it). */
extern la_mutex_t la_prof_lock, la_prof_dump_mtx;
extern la_prof_ctx_t **la_prof_ctx_table;
extern size_t la_prof_ctx_nbuckets, la_prof_nctx;
extern la_prof_tdata_t *la_prof_threads;

/* The calling thread set apart from its heap, while it unwinds or creates its record:
 * whatever it allocates meanwhile takes its arena's shared heap, is not sampled, and
 * touches no list of its own heap. */
typedef struct la_prof_aside {
        la_heap_t *heap;
        uint8_t state;
} la_prof_aside_t;

static inline la_prof_aside_t la_prof_aside_begin(void)
{
        la_prof_aside_t a = {la_tls_heap, la_tls_state};
        la_tls_heap = &la_empty_heap;
        la_tls_state = LA_THREAD_BUSY;
        la_tls_prof_busy++;
        return a;
}

static inline void la_prof_aside_end(la_prof_aside_t a)
{
        la_tls_prof_busy--;
        la_tls_state = a.state;
        la_tls_heap = a.heap;
}

/* prof_bt.c: the calling thread's backtrace into out (LA_PROF_BT_MAX frames at most),
 * innermost first, starting at malloc's address (the first one loads the unwinder);
 * warm finds liballoc's own code, once, before the first. */
unsigned la_prof_capture(uintptr_t *out);
void la_prof_bt_warm(void);

/* prof_dump.c: start-up (exit dump), and the interval accounting of sampled bytes. */
void la_prof_dump_boot(void);
void la_prof_interval_add(double bytes);

#endif
