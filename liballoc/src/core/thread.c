/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * thread: heaps come from a free list (recycled at thread exit) or the metadata allocator.
 * A thread whose heap is gone (its key destructor ran, but C++ destructors or other keys
 * still allocate) keeps working through its arena's shared heap: that is the
 * "reincarnation" path jemalloc calls purgatory.
 */
#include "core/thread.h"
#include "core/fork.h"

#include <errno.h>
#include <pthread.h>
#include <string.h>

#include "core/arena.h"
#include "core/conf.h"
#include "core/lcache.h"
#include "core/meta.h"
#include "os/os.h"
#include "core/tcache.h"
#include "os/util.h"

static pthread_key_t heap_key;
static la_mutex_t registry_lock;
static la_heap_t *registry;      /* live thread heaps */
static la_heap_t *heap_free_list; /* recycled heap objects */
/* Where a thread without a heap allocates (thread.arena before its heap exists). */
static __thread struct la_arena *tls_arena __attribute__((tls_model("initial-exec")));
/* thread.allocated / deallocated while the thread has no heap (and what it had when it
 * lost its heap); also where thread.allocatedp / deallocatedp point then. */
__thread uint64_t la_tls_no_counters[2] __attribute__((tls_model("initial-exec")));

/* The thread's totals move to or from its heap, so they stay monotonic. */
static void totals_from_heap(const la_heap_t *h)
{
        la_tls_no_counters[0] = la_heap_allocated(h);
        la_tls_no_counters[1] = la_heap_deallocated(h);
}

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

/* Moves h's per-class counters into its arena's totals and zeroes them, keeping the
 * thread's byte totals in the base fields.  Registry lock held. */
static void retire_counters_locked(la_heap_t *h)
{
        la_arena_t *a = h->arena;
        uint64_t total_a = la_heap_allocated(h), total_d = la_heap_deallocated(h);
        for (unsigned c = 0; c < LA_NBINS; c++) {
                a->retired[c].nmalloc += h->nmalloc[c];
                a->retired[c].ndalloc += h->ndalloc[c];
                a->retired[c].nfills += h->nfills[c];
                a->retired[c].nflushes += h->nflushes[c];
                h->nmalloc[c] = h->ndalloc[c] = h->nfills[c] = h->nflushes[c] = 0;
        }
        /* Its parked-run counts (the runs themselves went back in the flush before). */
        for (unsigned k = 0; k < LA_LCACHE_NCLS; k++) {
                __atomic_fetch_add(&a->stats.lcache_nmalloc[k], h->lcache_nmalloc[k],
                                   __ATOMIC_RELAXED);
                __atomic_fetch_add(&a->stats.lcache_ndalloc[k], h->lcache_ndalloc[k],
                                   __ATOMIC_RELAXED);
                h->lcache_nmalloc[k] = h->lcache_ndalloc[k] = 0;
        }
        h->allocated_large = h->deallocated_large = 0;
        h->allocated_base = total_a;
        h->deallocated_base = total_d;
}

static void heap_release(la_heap_t *h)
{
        la_heap_flush(h);
        if (h->kind == LA_HEAP_THREAD &&
            atomic_fetch_sub(&h->arena->nthreads, 1) == 1 && !h->arena->manual)
                la_arena_trim_idle(h->arena);
        la_mutex_lock(&registry_lock);
        registry_remove_locked(h);
        retire_counters_locked(h);
        h->reg_next = heap_free_list;
        heap_free_list = h;
        la_mutex_unlock(&registry_lock);
}

static void thread_exit(void *arg)
{
        la_heap_t *h = arg;
        if (h == NULL || la_tls_heap != h)
                return;
        totals_from_heap(h);
        la_tls_heap = &la_empty_heap;
        la_tls_state = LA_THREAD_DEAD;
        heap_release(h);
}

void la_heap_register(la_heap_t *h)
{
        la_mutex_lock(&registry_lock);
        registry_insert_locked(h);
        la_mutex_unlock(&registry_lock);
}

void la_heap_unregister(la_heap_t *h)
{
        la_mutex_lock(&registry_lock);
        registry_remove_locked(h);
        retire_counters_locked(h);
        la_mutex_unlock(&registry_lock);
}

static bool registry_whole; /* set by registry_postfork_child */

static void registry_prefork(void)
{
        la_mutex_prefork(&registry_lock);
}

static void registry_postfork_parent(void)
{
        la_mutex_postfork_parent(&registry_lock);
}

static void registry_postfork_child(void)
{
        registry_whole = la_mutex_postfork_child(&registry_lock);
}

/* Every participant in rank order (core/fork.h). */
static void prefork(void)
{
        la_fork_begin();
        la_fork_prefork_all();
}

static void postfork_parent(void)
{
        la_fork_parent_all();
}

/* In the child, before the locks are re-initialised: an automatic arena whose state is
 * whole (la_mutex_fork_whole), home if it is, or NULL. */
static la_arena_t *child_whole_arena(la_arena_t *prefer)
{
        if (prefer != NULL && la_mutex_fork_whole(&prefer->lock))
                return prefer;
        for (unsigned i = 0; i < la_narenas_auto; i++) {
                la_arena_t *a = la_arenas[i];
                if (a != NULL && la_mutex_fork_whole(&a->lock))
                        return a;
        }
        return NULL;
}

/*
 * The child of a fork whose handler left some locks untaken (fork from a signal handler
 * that interrupted the allocator; see la_mutex_prefork): the structures those locks guard
 * may be half-updated, and so may the forking thread's heap if the fork interrupted it
 * inside a slow path.  The child's thread then starts over with a new heap (its old one
 * is left like the heaps of the threads that did not survive the fork: frees into its
 * slabs are queued and never collected) on an arena whose state is whole, so that what
 * the child allocates never meets that state.  Freeing the parent's blocks still goes to
 * their own arenas.
 */
static void child_start_over(la_arena_t *whole, bool registry_whole)
{
        la_heap_t *old = la_tls_heap;
        if (!registry_whole) {
                /* Lists that the dead holder may have been editing: forget them (their
                 * heaps' counters no longer show in the statistics of the child). */
                registry = NULL;
                heap_free_list = NULL;
        }
        if (whole == NULL) {
                /* Every automatic arena was busy: make one that was never used, if the
                 * configuration leaves any; else stay (the best that can be done). */
                for (unsigned i = 0; i < la_narenas_auto && whole == NULL; i++)
                        if (la_arenas[i] == NULL)
                                whole = la_arena_get(i, true);
        }
        if (old->kind != LA_HEAP_THREAD) {
                if (whole != NULL)
                        tls_arena = whole;
                if (la_tls_state == LA_THREAD_BUSY && la_fork_interrupted())
                        la_tls_state = LA_THREAD_NEW; /* heap_create was interrupted */
                return;
        }
        if (!la_fork_interrupted() && (whole == NULL || whole == old->arena)) {
                atomic_fetch_add(&old->arena->nthreads, 1);
                return; /* the heap and its arena are whole */
        }
        la_arena_t *a = whole != NULL ? whole : old->arena;
        la_heap_t *h = heap_free_list;
        if (h != NULL)
                heap_free_list = h->reg_next;
        else
                h = la_meta_alloc(sizeof(la_heap_t), LA_CACHELINE);
        if (h == NULL) {
                atomic_fetch_add(&old->arena->nthreads, 1);
                return;
        }
        la_heap_init(h, a, LA_HEAP_THREAD);
        atomic_fetch_add(&a->nthreads, 1);
        registry_insert_locked(h);
        tls_arena = a;
        la_tls_heap = h;
        pthread_setspecific(heap_key, h);
        la_tls_state = LA_THREAD_ACTIVE;
}

static void postfork_child(void)
{
        la_heap_t *self = la_tls_heap;
        la_arena_t *home = self->kind == LA_HEAP_THREAD ? self->arena : tls_arena;
        la_arena_t *whole = child_whole_arena(home);
        la_fork_child_all();
        la_fork_child_done();
        if (la_fork_torn() || la_fork_interrupted()) {
                child_start_over(whole, registry_whole);
                return;
        }
        /* Other threads' heaps are gone with their threads; their slabs stay owned by heaps
         * nobody uses (frees into them are queued and never collected).  Touching their
         * lists here could meet a state torn by the fork, so they are left alone. */
        if (self->kind == LA_HEAP_THREAD)
                atomic_fetch_add(&self->arena->nthreads, 1);
}

void la_thread_boot(void)
{
        la_mutex_init_ranked(&registry_lock, "thread registry", LA_RANK_REGISTRY);
        pthread_key_create(&heap_key, thread_exit);
        la_fork_register(LA_RANK_TCACHE, (la_fork_ops_t){la_tcache_prefork, la_tcache_postfork_parent,
                                                         la_tcache_postfork_child});
        la_fork_register(LA_RANK_REGISTRY, (la_fork_ops_t){registry_prefork, registry_postfork_parent,
                                                           registry_postfork_child});
        la_fork_register(LA_RANK_ARENAS, (la_fork_ops_t){la_arenas_prefork,
                                                         la_arenas_postfork_parent,
                                                         la_arenas_postfork_child});
        la_fork_register(LA_RANK_META, (la_fork_ops_t){la_meta_prefork, la_meta_postfork_parent,
                                                       la_meta_postfork_child});
        la_os_atfork(prefork, postfork_parent, postfork_child);
}

static la_heap_t *heap_create(void);

la_heap_t *la_thread_heap(void)
{
        la_heap_t *h = la_tls_heap;
        if (h->kind == LA_HEAP_THREAD)
                return h;
        if (la_tls_state != LA_THREAD_NEW)
                return NULL;
        if (!la_opt.tcache || la_opt.fill) {
                /* MALLOC_CONF=tcache:false: every thread allocates from its arena's shared
                 * heap under the arena lock (thread.tcache.enabled can turn it on).  With
                 * junk or zero filling, too: the filling is done on the slow paths. */
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
        if (h == NULL) {
                la_tls_state = LA_THREAD_NEW;
                return NULL;
        }
        struct la_arena *a = tls_arena;
        if (a != NULL)
                atomic_fetch_add(&a->nthreads, 1);
        else if ((a = la_arena_choose_claim()) == NULL) {
                la_tls_state = LA_THREAD_NEW;
                return NULL;
        }
        la_heap_init(h, a, LA_HEAP_THREAD);
        h->allocated_base = la_tls_no_counters[0];
        h->deallocated_base = la_tls_no_counters[1];
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
                la_mutex_lock(&registry_lock);
                retire_counters_locked(h);
                h->arena = a;
                h->lcache_on = la_lcache_allowed(h);
                la_mutex_unlock(&registry_lock);
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
                        totals_from_heap(h);
                        la_tls_heap = &la_empty_heap;
                        heap_release(h);
                        pthread_setspecific(heap_key, NULL);
                }
                if (la_tls_state != LA_THREAD_DEAD)
                        la_tls_state = LA_THREAD_NOCACHE;
                return 0;
        }
        if (la_tls_state == LA_THREAD_NOCACHE && !la_opt.fill) {
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
        return la_tls_heap->kind == LA_HEAP_THREAD ? la_heap_allocated(la_tls_heap)
                                                   : la_tls_no_counters[0];
}

uint64_t la_thread_deallocated(void)
{
        return la_tls_heap->kind == LA_HEAP_THREAD ? la_heap_deallocated(la_tls_heap)
                                                   : la_tls_no_counters[1];
}

void la_heaps_collect(void (*heap_fn)(const la_heap_t *h, void *arg),
                      void (*arena_fn)(struct la_arena *a, void *arg), void *arg)
{
        la_mutex_lock(&registry_lock);
        for (la_heap_t *h = registry; h != NULL; h = h->reg_next)
                heap_fn(h, arg);
        unsigned n = atomic_load(&la_narenas_total);
        for (unsigned i = 0; i < n; i++) {
                la_arena_t *a = la_arena_get(i, false);
                if (a != NULL)
                        arena_fn(a, arg);
        }
        la_mutex_unlock(&registry_lock);
}

/* ---- published counters, peak, idle, activity callback ----------------------------- */

static __thread la_activity_cb_t tls_activity __attribute__((tls_model("initial-exec")));

void la_heap_publish(la_heap_t *h)
{
        uint64_t a = la_heap_allocated(h), d = la_heap_deallocated(h);
        h->allocated_pub = a;
        h->deallocated_pub = d;
        if (a > d && a - d > h->peak)
                h->peak = a - d;
        if (LA_UNLIKELY(tls_activity.cb != NULL))
                tls_activity.cb(tls_activity.uctx, a, d);
}

uint64_t *la_thread_counterp(bool dealloc)
{
        la_heap_t *h = la_tls_heap;
        if (h->kind != LA_HEAP_THREAD)
                return &la_tls_no_counters[dealloc];
        h->publish = true;
        la_heap_publish(h);
        return dealloc ? &h->deallocated_pub : &h->allocated_pub;
}

uint64_t la_thread_peak(bool reset)
{
        la_heap_t *h = la_tls_heap;
        if (h->kind != LA_HEAP_THREAD)
                return 0;
        h->publish = true; /* tracked from the first call on */
        la_heap_publish(h);
        if (reset) {
                uint64_t a = h->allocated_pub, d = h->deallocated_pub;
                h->peak = a > d ? a - d : 0;
        }
        return h->peak;
}

void la_thread_trim(void)
{
        la_heap_t *h = la_tls_heap;
        if (h->kind == LA_HEAP_THREAD)
                la_heap_trim(h);
}

void la_thread_idle(void)
{
        la_thread_tcache_flush();
        /* With many more arenas than CPUs an idle thread's arena may see no other call:
         * run its decay now (jemalloc's rule). */
        if (la_narenas_auto > 2 * la_os_ncpus())
                la_arena_decay(la_thread_arena(), false);
}

la_activity_cb_t la_thread_activity_cb(const la_activity_cb_t *set)
{
        la_activity_cb_t old = tls_activity;
        if (set != NULL) {
                tls_activity = *set;
                if (set->cb != NULL && la_tls_heap->kind == LA_HEAP_THREAD)
                        la_tls_heap->publish = true;
        }
        return old;
}
