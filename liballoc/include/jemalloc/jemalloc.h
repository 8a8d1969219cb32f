/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * liballoc public header, source-compatible with jemalloc 5.3.0's <jemalloc/jemalloc.h>:
 * the same prototypes, macros and MALLOCX_* values, so code written for jemalloc builds
 * unchanged against liballoc (and runs against either library).
 */
#ifndef JEMALLOC_H_
#define JEMALLOC_H_

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <strings.h>

#ifdef __cplusplus
extern "C" {
#endif

#define JEMALLOC_VERSION "5.3.0-0-g54eaed1d8b56b1aa528be3bdd1877e59c56fa90c"
#define JEMALLOC_VERSION_MAJOR 5
#define JEMALLOC_VERSION_MINOR 3
#define JEMALLOC_VERSION_BUGFIX 0
#define JEMALLOC_VERSION_NREV 0
#define JEMALLOC_VERSION_GID "54eaed1d8b56b1aa528be3bdd1877e59c56fa90c"
#define JEMALLOC_VERSION_GID_IDENT 54eaed1d8b56b1aa528be3bdd1877e59c56fa90c

/* Marks this header as liballoc's (jemalloc's lacks it). */
#define LIBALLOC_VERSION "0.1.0"

#define JEMALLOC_HAVE_ATTR
#define JEMALLOC_OVERRIDE_MEMALIGN
#define JEMALLOC_OVERRIDE_VALLOC
#define JEMALLOC_USABLE_SIZE_CONST
#define LG_SIZEOF_PTR 3

#define MALLOCX_LG_ALIGN(la) ((int)(la))
#define MALLOCX_ALIGN(a)                                                                   \
        ((int)(((size_t)(a) < (size_t)INT_MAX) ? ffs((int)(a)) - 1                         \
                                               : ffs((int)(((size_t)(a)) >> 32)) + 31))
#define MALLOCX_ZERO ((int)0x40)
/* Bias tcache index bits so that 0 encodes "automatic tcache management", and 1 encodes
 * MALLOCX_TCACHE_NONE. */
#define MALLOCX_TCACHE(tc) ((int)(((tc) + 2) << 8))
#define MALLOCX_TCACHE_NONE MALLOCX_TCACHE(-1)
/* Bias arena index bits so that 0 encodes "use an automatically chosen arena". */
#define MALLOCX_ARENA(a) ((((int)(a)) + 1) << 20)

/* Special arena indices accepted in mallctl names ("arena.4096.purge"). */
#define MALLCTL_ARENAS_ALL 4096
#define MALLCTL_ARENAS_DESTROYED 4097

#if defined(__cplusplus) && !defined(JEMALLOC_NO_CXX_THROW)
#define JEMALLOC_CXX_THROW throw()
#else
#define JEMALLOC_CXX_THROW
#endif

/* The extent hook table of jemalloc 5.3 (arena.<i>.extent_hooks). */
typedef struct extent_hooks_s extent_hooks_t;
typedef void *(extent_alloc_t)(extent_hooks_t *, void *, size_t, size_t, bool *, bool *,
                               unsigned);
typedef bool(extent_dalloc_t)(extent_hooks_t *, void *, size_t, bool, unsigned);
typedef void(extent_destroy_t)(extent_hooks_t *, void *, size_t, bool, unsigned);
typedef bool(extent_commit_t)(extent_hooks_t *, void *, size_t, size_t, size_t, unsigned);
typedef bool(extent_decommit_t)(extent_hooks_t *, void *, size_t, size_t, size_t, unsigned);
typedef bool(extent_purge_t)(extent_hooks_t *, void *, size_t, size_t, size_t, unsigned);
typedef bool(extent_split_t)(extent_hooks_t *, void *, size_t, size_t, size_t, bool,
                             unsigned);
typedef bool(extent_merge_t)(extent_hooks_t *, void *, size_t, void *, size_t, bool,
                             unsigned);
struct extent_hooks_s {
        extent_alloc_t *alloc;
        extent_dalloc_t *dalloc;
        extent_destroy_t *destroy;
        extent_commit_t *commit;
        extent_decommit_t *decommit;
        extent_purge_t *purge_lazy;
        extent_purge_t *purge_forced;
        extent_split_t *split;
        extent_merge_t *merge;
};

/* The standard family.  Failure: NULL with errno = ENOMEM (see liballoc(3)). */
void *malloc(size_t size) JEMALLOC_CXX_THROW;
void *calloc(size_t num, size_t size) JEMALLOC_CXX_THROW;
int posix_memalign(void **memptr, size_t alignment, size_t size) JEMALLOC_CXX_THROW;
void *aligned_alloc(size_t alignment, size_t size) JEMALLOC_CXX_THROW;
void *realloc(void *ptr, size_t size) JEMALLOC_CXX_THROW;
void free(void *ptr) JEMALLOC_CXX_THROW;
void *memalign(size_t alignment, size_t size) JEMALLOC_CXX_THROW;
void *valloc(size_t size) JEMALLOC_CXX_THROW;
size_t malloc_usable_size(JEMALLOC_USABLE_SIZE_CONST void *ptr) JEMALLOC_CXX_THROW;

/* The non-standard *allocx family; flags are MALLOCX_* values or'ed together. */
void *mallocx(size_t size, int flags);
void *rallocx(void *ptr, size_t size, int flags);
size_t xallocx(void *ptr, size_t size, size_t extra, int flags);
size_t sallocx(const void *ptr, int flags);
void dallocx(void *ptr, int flags);
void sdallocx(void *ptr, size_t size, int flags);
size_t nallocx(size_t size, int flags);

/* Introspection and control: return 0 or a positive errno value. */
int mallctl(const char *name, void *oldp, size_t *oldlenp, void *newp, size_t newlen);
int mallctlnametomib(const char *name, size_t *mibp, size_t *miblenp);
int mallctlbymib(const size_t *mib, size_t miblen, void *oldp, size_t *oldlenp, void *newp,
                 size_t newlen);
void malloc_stats_print(void (*write_cb)(void *, const char *), void *cbopaque,
                        const char *opts);

/* Where diagnostics go (NULL: stderr).  Must not allocate. */
extern void (*malloc_message)(void *cbopaque, const char *s);
/* Configuration an application may define: const char *malloc_conf = "narenas:1"; */
extern const char *malloc_conf;

#ifdef __cplusplus
}
#endif

#endif /* JEMALLOC_H_ */
