/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * api: the exported entry points, jemalloc 5.3's ABI.  malloc and free carry the inline
 * fast paths (a pop from the thread's hoisted free list; a push onto the owning slab's
 * local list); everything else calls into alloc.c.  Built a second time with
 * LA_RENAME_API for tests that link the allocator next to another malloc (sanitizers),
 * which renames every entry point to la_<name>.
 */
#include <errno.h>
#include <stdint.h>
#include <string.h>
#include <unistd.h>

#include "core/alloc.h"
#include "core/conf.h"
#include "ctl/ctl.h"
#include "core/heap.h"
#include "core/init.h"
#include "core/pagemap.h"
#include "core/sizeclass.h"
#include "stats/stats.h"
#include "core/thread.h"

#ifdef LA_RENAME_API
#define API(name) la_##name
#define API_EXPORT
#else
#define API(name) name
#define API_EXPORT LA_EXPORT
#endif

API_EXPORT void *API(malloc)(size_t size)
{
        la_heap_t *h = la_tls_heap;
        if (LA_LIKELY(size <= LA_LOOKUP_MAX)) {
                unsigned c = h->size2cls[(size + 7) >> 3];
                la_block_t *b = h->fl[c];
                /* Neither NULL nor a link overwritten with an address or a small
                 * number (it decodes with bit 63 set, span.h; la_malloc_slow reports
                 * it): the sign test the empty-list test needed anyway. */
                if (LA_LIKELY((intptr_t)b > 0)) {
                        h->fl[c] = la_block_next(b);
                        b->link = 0; /* live blocks never look free (heap.h) */
                        h->nmalloc[c]++;
                        return b;
                }
        }
        return la_malloc_slow(size);
}

/* Heap profiles start every backtrace at malloc's address (prof.c). */
void *la_api_malloc_addr(void)
{
        return (void *)API(malloc);
}

API_EXPORT void API(free)(void *p)
{
        la_free_inline(p);
}

API_EXPORT void *API(calloc)(size_t n, size_t size)
{
        size_t total;
        if (LA_UNLIKELY(__builtin_mul_overflow(n, size, &total))) {
                errno = ENOMEM;
                return NULL;
        }
        la_flags_t f = {0, true, false, -1, 0};
        void *p = la_alloc_flags(total, f);
        if (LA_UNLIKELY(p == NULL))
                errno = ENOMEM;
        return p;
}

static void *aligned(size_t align, size_t size)
{
        la_flags_t f = {align, false, false, -1, 0};
        if (size == 0)
                size = 1;
        return la_alloc_flags(size, f);
}

API_EXPORT int API(posix_memalign)(void **memptr, size_t align, size_t size)
{
        if (!la_is_pow2(align) || align < sizeof(void *))
                return EINVAL;
        void *p = aligned(align, size);
        if (p == NULL)
                return ENOMEM;
        *memptr = p;
        return 0;
}

API_EXPORT void *API(aligned_alloc)(size_t align, size_t size)
{
        if (!la_is_pow2(align)) {
                errno = EINVAL;
                return NULL;
        }
        void *p = aligned(align, size);
        if (p == NULL)
                errno = ENOMEM;
        return p;
}

API_EXPORT void *API(memalign)(size_t align, size_t size)
{
        if (!la_is_pow2(align))
                return NULL; /* jemalloc leaves errno alone here */
        void *p = aligned(align, size);
        if (p == NULL)
                errno = ENOMEM;
        return p;
}

API_EXPORT void *API(valloc)(size_t size)
{
        void *p = aligned(LA_PAGE, size);
        if (p == NULL)
                errno = ENOMEM;
        return p;
}

API_EXPORT void *API(pvalloc)(size_t size)
{
        size_t rounded = la_align_up(size, LA_PAGE);
        if (rounded < size) {
                errno = ENOMEM;
                return NULL;
        }
        void *p = aligned(LA_PAGE, rounded != 0 ? rounded : LA_PAGE);
        if (p == NULL)
                errno = ENOMEM;
        return p;
}

API_EXPORT void *API(realloc)(void *p, size_t size)
{
        if (p == NULL)
                return API(malloc)(size);
        if (size == 0) {
                if (la_opt.zero_realloc[0] == 'a' && la_opt.zero_realloc[1] == 'b')
                        la_fatal("realloc(p, 0) with zero_realloc:abort");
                if (la_opt.zero_realloc[0] == 'f') {
                        la_free_any(p);
                        la_stats_zero_realloc();
                        return NULL;
                }
                size = 1;
        }
        la_flags_t f = {0, false, false, -1, 0};
        void *q = la_realloc_flags(p, size, f);
        if (q == NULL)
                errno = ENOMEM;
        return q;
}

API_EXPORT size_t API(malloc_usable_size)(void *p)
{
        return la_usable_size(p);
}

API_EXPORT void *API(mallocx)(size_t size, int flags)
{
        if (LA_LIKELY(flags == 0))
                return API(malloc)(size);
        return la_alloc_flags(size, la_flags_decode(flags));
}

API_EXPORT void *API(rallocx)(void *p, size_t size, int flags)
{
        if (size == 0)
                size = 1;
        return la_realloc_flags(p, size, la_flags_decode(flags));
}

API_EXPORT size_t API(xallocx)(void *p, size_t size, size_t extra, int flags)
{
        return la_xalloc(p, size, extra, la_flags_decode(flags));
}

API_EXPORT size_t API(sallocx)(const void *p, int flags)
{
        (void)flags;
        return la_usable_size(p);
}

API_EXPORT void API(dallocx)(void *p, int flags)
{
        (void)flags;
        API(free)(p);
}

/* The size must be one the block could have been asked with (one whose class is the
 * block's): anything else is a size mismatch, reported like a double free.  jemalloc
 * would free the block into the class the size names. */
API_EXPORT void API(sdallocx)(void *p, size_t size, int flags)
{
        la_span_t *s = la_pm_lookup(p);
        if (LA_LIKELY(s != NULL)) {
                if (LA_LIKELY(s->kind == LA_SPAN_SMALL && size <= LA_LOOKUP_MAX)) {
                        if (LA_UNLIKELY(la_size2cls_tab[(size + 7) >> 3] != s->cls))
                                la_sized_check(p, s, size, flags);
                } else {
                        la_sized_check(p, s, size, flags);
                }
        }
        la_free_inline(p);
}

API_EXPORT size_t API(nallocx)(size_t size, int flags)
{
        return la_nalloc(size, la_flags_decode(flags));
}

API_EXPORT int API(mallctl)(const char *name, void *oldp, size_t *oldlenp, void *newp,
                            size_t newlen)
{
        if (!la_ready())
                return EAGAIN;
        return la_ctl_byname(name, oldp, oldlenp, newp, newlen);
}

API_EXPORT int API(mallctlnametomib)(const char *name, size_t *mibp, size_t *miblenp)
{
        if (!la_ready())
                return EAGAIN;
        return la_ctl_nametomib(name, mibp, miblenp);
}

API_EXPORT int API(mallctlbymib)(const size_t *mib, size_t miblen, void *oldp,
                                 size_t *oldlenp, void *newp, size_t newlen)
{
        if (!la_ready())
                return EAGAIN;
        return la_ctl_bymib(mib, miblen, oldp, oldlenp, newp, newlen);
}

API_EXPORT void API(malloc_stats_print)(void (*write_cb)(void *, const char *),
                                        void *cbopaque, const char *opts)
{
        if (!la_ready())
                return;
        la_stats_print(write_cb, cbopaque, opts);
}

#ifndef LA_RENAME_API
/* Test hooks jemalloc leaks into its ABI; kept so the symbol lists match. */
LA_EXPORT void (*je_test_hooks_arena_new_hook)(void);
LA_EXPORT void (*je_test_hooks_libc_hook)(void);
#endif
