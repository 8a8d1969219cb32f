/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Checked test objects shared by the stress programs.  A struct sobj describes one
 * allocation (the descriptor is itself allocated, so it is traffic too): the block is
 * filled up to its usable size with a pattern whose cookie is derived from the block's
 * address, the allocating thread and a sequence number, and it is verified before every
 * free and realloc.  Two live blocks that overlap, a block handed out twice, a usable size
 * that changes or lies, or a realloc that loses bytes all show up as a mismatch.  Each
 * thread keeps a struct sctx; the cookie sums it keeps let a program prove at the end that
 * every object was freed exactly once.
 */
#ifndef STRESS_OBJ_H
#define STRESS_OBJ_H

#include <stdint.h>

#include "stress_api.h"
#include "stress_util.h"

struct sobj {
        uint64_t magic;         /* sobj_magic(this descriptor): catches a stomped descriptor */
        unsigned char *p;       /* the block */
        size_t size;            /* requested size */
        size_t fill;            /* bytes carrying the pattern: usually the usable size */
        size_t usable;          /* malloc_usable_size at allocation, 0 when unknown */
        uint64_t cookie;        /* pattern seed */
        struct sobj *next;      /* link for the queues of the programs */
        uint32_t owner;         /* id of the thread that allocated the block */
};

struct sctx {
        uint32_t id;
        uint64_t rng;
        uint64_t seq;
        uint64_t nalloc, nfree;         /* blocks created / destroyed by this thread */
        uint64_t alloc_sum, free_sum;   /* sums of their cookies */
};

static inline void sctx_init(struct sctx *c, uint32_t id, uint64_t seed)
{
        memset(c, 0, sizeof(*c));
        c->id = id;
        c->rng = stress_mix64(seed ^ ((uint64_t)id << 32) ^ 0xA11CE5EEDULL);
}

static inline uint64_t sobj_magic(const struct sobj *o)
{
        return stress_mix64((uint64_t)(uintptr_t)o ^ 0x0B1EC7C0FFEEULL);
}

/* Mostly small sizes: 89.5% in [1, 1 KiB], 10% up to 64 KiB, 0.5% up to `max`. */
static inline size_t sobj_pick_size(struct sctx *c, size_t max)
{
        size_t r = rng_below(&c->rng, 1000);

        if (r < 895 || max <= 1024)
                return rng_log_size(&c->rng, 1, 1024);
        if (r < 995 || max <= 65536)
                return rng_log_size(&c->rng, 1025, 65536);
        return rng_log_size(&c->rng, 65537, max);
}

/* malloc's result must suit any object that fits: 16-aligned from 16 bytes, 8 from 8. */
static inline void sobj_check_align(const void *p, size_t size, const char *what)
{
        uintptr_t a = (uintptr_t)p;

        if ((size >= 16 && (a & 15)) || (size >= 8 && (a & 7)))
                check_fatal("%s(%zu) returned %p, which is not aligned for max_align_t", what,
                            size, p);
}

/* Record the usable size (checked to be >= size) and fill up to it when it is known. */
static inline void sobj_set_usable(struct sobj *o, const char *what)
{
#ifdef S_USABLE_SIZE
        o->usable = S_USABLE_SIZE(o->p);
        if (o->usable < o->size)
                check_fatal("%s(%zu) = %p has malloc_usable_size %zu < requested size", what,
                            o->size, (void *)o->p, o->usable);
        o->fill = o->usable;
#else
        (void)what;
        o->usable = 0;
        o->fill = o->size;
#endif
}

static inline void sobj_set_pattern(struct sctx *c, struct sobj *o)
{
        o->cookie = stress_mix64((uint64_t)(uintptr_t)o->p ^ ((uint64_t)c->id << 40) ^
                                 (++c->seq * 0xD6E8FEB86659FD93ULL));
        pat_fill(o->p, o->fill, o->cookie);
        c->nalloc++;
        c->alloc_sum += o->cookie;
}

/* Allocate a block of `size` (with calloc, checked for zeroes, when use_calloc). */
static inline struct sobj *sobj_new(struct sctx *c, size_t size, int use_calloc)
{
        struct sobj *o = launder(S_MALLOC(sizeof(*o)));
        const char *what = use_calloc ? "calloc" : "malloc";
        void *p;

        if (!o)
                check_fatal("malloc(%zu) for a descriptor returned NULL", sizeof(*o));
        sobj_check_align(o, sizeof(*o), "malloc");
        if (use_calloc) {
                size_t m = (size % 8 == 0 && (rng_next(&c->rng) & 1)) ? 8 : 1;

                p = launder(S_CALLOC(size / m, m));
        } else {
                p = launder(S_MALLOC(size));
        }
        if (!p)
                check_fatal("%s(%zu) returned NULL", what, size);
        sobj_check_align(p, size, what);
        if (use_calloc) {
                size_t off = zero_check(p, size);

                if (off != STRESS_OK)
                        check_fatal("calloc(%zu) = %p: byte %zu is not zero", size, p, off);
        }
        o->magic = sobj_magic(o);
        o->p = p;
        o->size = size;
        sobj_set_usable(o, what);
        o->next = NULL;
        o->owner = c->id;
        sobj_set_pattern(c, o);
        return o;
}

/* Verify descriptor, usable size and the whole pattern; `by` is the checking thread. */
static inline void sobj_verify(const struct sobj *o, uint32_t by, const char *when)
{
        size_t off;

        if (o->magic != sobj_magic(o))
                check_fatal("descriptor %p corrupted (magic %#llx) at %s by thread %u",
                            (const void *)o, (unsigned long long)o->magic, when, by);
#ifdef S_USABLE_SIZE
        size_t u = S_USABLE_SIZE(o->p);

        if (u != o->usable)
                check_fatal("malloc_usable_size(%p) changed from %zu to %zu (size %zu, made by "
                            "thread %u) at %s by thread %u", (void *)o->p, o->usable, u,
                            o->size, o->owner, when, by);
#endif
        off = pat_check(o->p, o->fill, o->fill, o->cookie);
        if (off != STRESS_OK)
                check_fatal("block %p (size %zu, usable %zu, made by thread %u) corrupted at "
                            "offset %zu: found at %s by thread %u", (void *)o->p, o->size,
                            o->fill, o->owner, off, when, by);
}

/* Verify, then free the block and its descriptor; counted in c. */
static inline void sobj_free(struct sctx *c, struct sobj *o, const char *when)
{
        sobj_verify(o, c->id, when);
        c->nfree++;
        c->free_sum += o->cookie;
        S_FREE(o->p);
        o->magic = 0;
        S_FREE(o);
}

/* Verify, realloc to new_size, check the kept prefix, refill with a new cookie. */
static inline void sobj_realloc(struct sctx *c, struct sobj *o, size_t new_size)
{
        size_t keep = o->size < new_size ? o->size : new_size;
        void *q;
        size_t off;

        sobj_verify(o, c->id, "realloc");
        q = launder(S_REALLOC(o->p, new_size));
        if (!q)
                check_fatal("realloc(%p, %zu) returned NULL", (void *)o->p, new_size);
        sobj_check_align(q, new_size, "realloc");
        off = pat_check(q, keep, o->fill, o->cookie);
        if (off != STRESS_OK)
                check_fatal("realloc(%p, %zu -> %zu) = %p lost the contents at offset %zu "
                            "(block made by thread %u, realloc by thread %u)", (void *)o->p,
                            o->size, new_size, q, off, o->owner, c->id);
        c->nfree++;
        c->free_sum += o->cookie;
        o->p = q;
        o->size = new_size;
        sobj_set_usable(o, "realloc");
        o->owner = c->id;
        sobj_set_pattern(c, o);
}

#endif /* STRESS_OBJ_H */
