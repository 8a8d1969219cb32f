/*
 * thread: heaps come from a free list (recycled at thread exit) or the metadata allocator.
 * A thread whose heap is gone (its key destructor ran, but C++ destructors or other keys
 * still allocate) keeps working through its arena's shared heap: that is the
 * "reincarnation" path jemalloc calls purgatory.
 */
#include "thread.h"

#include <errno.h>
#include <pthread.h>
#include <string.h>

#include "arena.h"
#include "conf.h"
#include "meta.h"
#include "stats.h"
#include "util.h"

static pthread_key_t heap_key;
static la_mutex_t registry_lock;
static la_heap_t *registry;      /* live thread heaps */
static la_heap_t *heap_free_list; /* recycled heap objects */
static uint64_t exited_allocated, exited_deallocated;
_Atomic uint64_t la_orphan_allocated, la_orphan_deallocated;
/* Where a thread without a heap allocates (thread.arena before its heap exists). */
static __thread struct la_arena *tls_arena __attribute__((tls_model("initial-exec")));

static void registry_insert_locked(la_heap_t *h)
{
        h->reg_prev = NULL;
        h->reg_next = registry;
        if (registry != NULL)
                registry->reg_prev = h;
        registry = h;
}

static void registry_remove_locked(la_heap_t *h)
{
        if (h->reg_prev != NULL)
                h->reg_prev->reg_next = h->reg_next;
        else
                registry = h->reg_next;
        if (h->reg_next != NULL)
                h->reg_next->reg_prev = h->reg_prev;
}

static void heap_release(la_heap_t *h)
{
        la_heap_flush(h);
        atomic_fetch_sub(&h->arena->nthreads, 1);
        la_mutex_lock(&registry_lock);
        registry_remove_locked(h);
        exited_allocated += la_heap_allocated(h);
        exited_deallocated += h->deallocated;
        h->reg_next = heap_free_list;
        heap_free_list = h;
        la_mutex_unlock(&registry_lock);
}

static void thread_exit(void *arg)
{
        la_heap_t *h = arg;
        if (h == NULL || la_tls_heap != h)
                return;
        la_tls_heap = &la_empty_heap;
        la_tls_state = LA_THREAD_DEAD;
        heap_release(h);
}

static void prefork(void)
{
        la_mutex_lock(&registry_lock);
        la_arenas_prefork();
        la_meta_prefork();
}

static void postfork_parent(void)
{
        la_meta_postfork_parent();
        la_arenas_postfork_parent();
        la_mutex_unlock(&registry_lock);
}

static void postfork_child(void)
{
        la_meta_postfork_child();
        la_arenas_postfork_child();
        la_mutex_init(&registry_lock);
        la_stats_postfork_child();
        /* Other threads' heaps are gone with their threads; their slabs stay owned by heaps
         * nobody uses (frees into them are queued and never collected).  Touching their
         * lists here could meet a state torn by the fork, so they are left alone. */
        la_heap_t *self = la_tls_heap;
        if (self->kind == LA_HEAP_THREAD)
                atomic_fetch_add(&self->arena->nthreads, 1);
}

void la_thread_boot(void)
{
        la_mutex_init(&registry_lock);
        pthread_key_create(&heap_key, thread_exit);
        pthread_atfork(prefork, postfork_parent, postfork_child);
}

static la_heap_t *heap_create(void);

la_heap_t *la_thread_heap(void)
{
        la_heap_t *h = la_tls_heap;
        if (h->kind == LA_HEAP_THREAD)
                return h;
        if (la_tls_state != LA_THREAD_NEW)
                return NULL;
        if (!la_opt.tcache) {
                /* MALLOC_CONF=tcache:false: every thread allocates from its arena's shared
                 * heap under the arena lock (thread.tcache.enabled can turn it on). */
                la_tls_state = LA_THREAD_NOCACHE;
                return NULL;
        }
        return heap_create();
}

/* Creates the calling thread's heap (state NEW); NULL when out of memory. */
static la_heap_t *heap_create(void)
{
        la_heap_t *h;
        la_tls_state = LA_THREAD_BUSY;
        la_mutex_lock(&registry_lock);
        h = heap_free_list;
        if (h != NULL)
                heap_free_list = h->reg_next;
        la_mutex_unlock(&registry_lock);
        if (h == NULL)
                h = la_meta_alloc(sizeof(la_heap_t), LA_CACHELINE);
        struct la_arena *a = tls_arena != NULL ? tls_arena : la_arena_choose();
        if (h == NULL || a == NULL) {
                la_tls_state = LA_THREAD_NEW;
                return NULL;
        }
        la_heap_init(h, a, LA_HEAP_THREAD);
        atomic_fetch_add(&a->nthreads, 1);
        la_mutex_lock(&registry_lock);
        registry_insert_locked(h);
        la_mutex_unlock(&registry_lock);
        la_tls_heap = h;
        /* May allocate (keys >= 32): the heap is usable by then. */
        pthread_setspecific(heap_key, h);
        la_tls_state = LA_THREAD_ACTIVE;
        return h;
}

struct la_arena *la_thread_arena(void)
{
        la_heap_t *h = la_tls_heap;
        if (h->kind == LA_HEAP_THREAD)
                return h->arena;
        if (tls_arena == NULL)
                tls_arena = la_arena_choose(); /* heapless threads spread out too */
        return tls_arena;
}

int la_thread_set_arena(unsigned ind)
{
        if (ind >= atomic_load(&la_narenas_total))
                return -EFAULT;
        struct la_arena *a = la_arena_get(ind, true);
        if (a == NULL)
                return -EFAULT;
        la_heap_t *h = la_tls_heap;
        tls_arena = a;
        if (h->kind == LA_HEAP_THREAD && h->arena != a) {
                la_heap_flush(h);
                atomic_fetch_sub(&h->arena->nthreads, 1);
                atomic_fetch_add(&a->nthreads, 1);
                h->arena = a;
        }
        return 0;
}

void la_thread_tcache_flush(void)
{
        la_heap_t *h = la_tls_heap;
        if (h->kind == LA_HEAP_THREAD)
                la_heap_flush(h);
}

int la_thread_tcache_set(bool enabled)
{
        la_heap_t *h = la_tls_heap;
        if (!enabled) {
                if (h->kind == LA_HEAP_THREAD) {
                        tls_arena = h->arena;
                        la_tls_heap = &la_empty_heap;
                        heap_release(h);
                        pthread_setspecific(heap_key, NULL);
                }
                if (la_tls_state != LA_THREAD_DEAD)
                        la_tls_state = LA_THREAD_NOCACHE;
                return 0;
        }
        if (la_tls_state == LA_THREAD_NOCACHE) {
                la_tls_state = LA_THREAD_NEW;
                heap_create(); /* asked for explicitly: even with opt.tcache false */
        }
        return 0;
}

bool la_thread_tcache_get(void)
{
        return la_tls_state != LA_THREAD_NOCACHE && la_tls_state != LA_THREAD_DEAD;
}

uint64_t la_thread_allocated(void)
{
        return la_tls_heap->kind == LA_HEAP_THREAD ? la_heap_allocated(la_tls_heap) : 0;
}

uint64_t la_thread_deallocated(void)
{
        return la_tls_heap->kind == LA_HEAP_THREAD ? la_tls_heap->deallocated : 0;
}

uint64_t la_heaps_live_bytes(void)
{
        la_mutex_lock(&registry_lock);
        uint64_t a = exited_allocated, d = exited_deallocated;
        for (la_heap_t *h = registry; h != NULL; h = h->reg_next) {
                a += la_heap_allocated(h);
                d += __atomic_load_n(&h->deallocated, __ATOMIC_RELAXED);
        }
        la_mutex_unlock(&registry_lock);
        a += atomic_load(&la_orphan_allocated);
        d += atomic_load(&la_orphan_deallocated);
        return a > d ? a - d : 0;
}
