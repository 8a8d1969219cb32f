/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * meta: liballoc's own metadata allocator (jemalloc calls it "base").  Bump allocation from
 * dedicated mappings, never returned to the OS; spans and heaps are recycled through free
 * lists here.  Counts its bytes for stats.metadata.
 */
#ifndef LA_META_H
#define LA_META_H

#include <stddef.h>

#include "core/span.h"

/* size bytes aligned to align (<= 4096), zeroed; NULL when the OS refuses. Takes the meta
 * lock. */
void *la_meta_alloc(size_t size, size_t align);
/* A zeroed span descriptor, or NULL. */
la_span_t *la_span_new(void);
void la_span_delete(la_span_t *s);
size_t la_meta_bytes(void);
/* Bytes of address space mapped for metadata (page multiple). */
size_t la_meta_mapped(void);
void la_meta_prefork(void);
void la_meta_postfork_parent(void);
void la_meta_postfork_child(void);
void la_meta_init(void);

#endif
