/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * meta: bump allocator for metadata.  Chunks of 2 MiB are mapped on demand; only the pages
 * actually handed out become resident.
 */
#include "core/meta.h"

#include <string.h>

#include "os/os.h"
#include "os/util.h"

#define META_CHUNK ((size_t)2 << 20)

static la_mutex_t meta_lock;
static uintptr_t cur, end;
static size_t allocated_bytes, mapped_bytes;
static la_span_t *span_free_list;

void la_meta_init(void)
{
        la_mutex_init_ranked(&meta_lock, "metadata", LA_RANK_META);
}

static void *bump_locked(size_t size, size_t align)
{
        LA_ASSERT_INTERNAL(la_mutex_held_by_me(&meta_lock));
        uintptr_t p = la_align_up(cur, align);
        if (cur == 0 || p + size > end) {
                size_t chunk = size > META_CHUNK ? la_align_up(size, LA_PAGE) : META_CHUNK;
                void *m = la_os_map(chunk, LA_PAGE);
                if (m == NULL)
                        return NULL;
                cur = (uintptr_t)m;
                end = cur + chunk;
                mapped_bytes += chunk;
                p = cur;
        }
        cur = p + size;
        allocated_bytes += size;
        return (void *)p;
}

void *la_meta_alloc(size_t size, size_t align)
{
        la_mutex_lock(&meta_lock);
        void *p = bump_locked(size, align);
        la_mutex_unlock(&meta_lock);
        return p; /* fresh mappings read as zero */
}

la_span_t *la_span_new(void)
{
        la_mutex_lock(&meta_lock);
        la_span_t *s = span_free_list;
        if (s != NULL)
                span_free_list = s->next;
        else
                s = bump_locked(sizeof(la_span_t), LA_CACHELINE);
        la_mutex_unlock(&meta_lock);
        if (s != NULL)
                memset(s, 0, sizeof(*s));
        return s;
}

void la_span_delete(la_span_t *s)
{
        s->kind = LA_SPAN_FREE;
        s->npages = 0;
        s->base = 0;
        la_mutex_lock(&meta_lock);
        s->next = span_free_list;
        span_free_list = s;
        la_mutex_unlock(&meta_lock);
}

size_t la_meta_bytes(void)
{
        return allocated_bytes;
}

size_t la_meta_mapped(void)
{
        return mapped_bytes;
}

void la_meta_prefork(void)
{
        la_mutex_prefork(&meta_lock);
}
void la_meta_postfork_parent(void)
{
        la_mutex_postfork_parent(&meta_lock);
}
void la_meta_postfork_child(void)
{
        /* A bump pointer and a list head: an interrupted update at worst leaks a little
         * or hands the child a block the dead code had taken, so it is used as it is. */
        la_mutex_postfork_child(&meta_lock);
}
