/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * tcache: the id table.  Ids are handed out lowest first and reused after destroy; the
 * heap objects are recycled, never unmapped (a remote free may still be queuing a slab on
 * a heap that is being destroyed: la_heap_flush waits for it).
 */
#include "core/tcache.h"

#include <errno.h>

#include "core/arena.h"
#include "core/meta.h"
#include "core/thread.h"

static la_mutex_t tcache_lock = LA_MUTEX_INITIALIZER("tcache", LA_RANK_TCACHE);
static la_heap_t *caches[LA_TCACHES_MAX];
static la_heap_t *recycled;

int la_tcache_create(unsigned *ret_id)
{
        la_arena_t *a = la_thread_arena();
        la_mutex_lock(&tcache_lock);
        unsigned id = 0;
        while (id < LA_TCACHES_MAX && caches[id] != NULL)
                id++;
        la_heap_t *h = NULL;
        if (id < LA_TCACHES_MAX) {
                h = recycled;
                if (h != NULL)
                        recycled = h->reg_next;
                else
                        h = la_meta_alloc(sizeof(la_heap_t), LA_CACHELINE);
        }
        if (h == NULL || a == NULL) {
                la_mutex_unlock(&tcache_lock);
                return -EAGAIN;
        }
        la_heap_init(h, a, LA_HEAP_EXPLICIT);
        la_heap_register(h);
        __atomic_store_n(&caches[id], h, __ATOMIC_RELEASE);
        la_mutex_unlock(&tcache_lock);
        *ret_id = id;
        return 0;
}

la_heap_t *la_tcache_heap(unsigned id)
{
        return id < LA_TCACHES_MAX ? __atomic_load_n(&caches[id], __ATOMIC_ACQUIRE) : NULL;
}

int la_tcache_flush(unsigned id)
{
        if (id >= LA_TCACHES_MAX)
                return -EFAULT;
        la_heap_t *h = la_tcache_heap(id);
        if (h == NULL)
                return 0; /* an id not in use: nothing to flush (as jemalloc) */
        la_heap_flush(h);
        return 0;
}

int la_tcache_destroy(unsigned id)
{
        la_mutex_lock(&tcache_lock);
        la_heap_t *h = la_tcache_heap(id);
        if (h == NULL) {
                la_mutex_unlock(&tcache_lock);
                return id < LA_TCACHES_MAX ? 0 : -EFAULT; /* as jemalloc */
        }
        __atomic_store_n(&caches[id], NULL, __ATOMIC_RELEASE);
        la_mutex_unlock(&tcache_lock);
        la_heap_flush(h);
        la_heap_unregister(h);
        la_mutex_lock(&tcache_lock);
        h->reg_next = recycled;
        recycled = h;
        la_mutex_unlock(&tcache_lock);
        return 0;
}

unsigned la_tcache_count_bound(unsigned ind)
{
        unsigned n = 0;
        la_mutex_lock(&tcache_lock);
        for (unsigned id = 0; id < LA_TCACHES_MAX; id++)
                if (caches[id] != NULL && caches[id]->arena->ind == ind)
                        n++;
        la_mutex_unlock(&tcache_lock);
        return n;
}

void la_tcache_prefork(void)
{
        la_mutex_prefork(&tcache_lock);
}

void la_tcache_postfork_parent(void)
{
        la_mutex_postfork_parent(&tcache_lock);
}

void la_tcache_postfork_child(void)
{
        la_mutex_postfork_child(&tcache_lock);
}
