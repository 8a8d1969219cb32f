/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The allocation entry points the stress programs call.  Normally they are plain
 * malloc/free/realloc/calloc: the allocator under test comes from LD_PRELOAD.  Built with
 * -DSTRESS_API_PREFIX they become liballoc's renamed entry points (la_malloc, la_free,
 * la_realloc, la_calloc), so a program can be linked statically against liballoc's
 * internal library next to another malloc, e.g. ThreadSanitizer's.  S_USABLE_SIZE exists
 * only when the usable size can be asked for: always with plain malloc, and with the
 * prefix when -DSTRESS_HAVE_LA_USABLE_SIZE says la_malloc_usable_size exists.
 */
#ifndef STRESS_API_H
#define STRESS_API_H

#include <stddef.h>

#ifdef STRESS_API_PREFIX

void *la_malloc(size_t size);
void *la_calloc(size_t nmemb, size_t size);
void *la_realloc(void *ptr, size_t size);
void la_free(void *ptr);

#define S_MALLOC(n) la_malloc(n)
#define S_CALLOC(n, m) la_calloc((n), (m))
#define S_REALLOC(p, n) la_realloc((p), (n))
#define S_FREE(p) la_free(p)

#ifdef STRESS_HAVE_LA_USABLE_SIZE
size_t la_malloc_usable_size(void *ptr);
#define S_USABLE_SIZE(p) la_malloc_usable_size(p)
#endif

#else /* !STRESS_API_PREFIX */

#include <malloc.h>
#include <stdlib.h>

#define S_MALLOC(n) malloc(n)
#define S_CALLOC(n, m) calloc((n), (m))
#define S_REALLOC(p, n) realloc((p), (n))
#define S_FREE(p) free(p)
#define S_USABLE_SIZE(p) malloc_usable_size(p)

#endif /* STRESS_API_PREFIX */

#endif /* STRESS_API_H */
