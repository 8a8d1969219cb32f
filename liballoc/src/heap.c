/*
 * heap: the slow paths behind malloc and free for small classes.  A refill hands the heap
 * every free block of one slab at once (the slab's local free list, else the blocks other
 * threads returned, else up to 4 KiB of newly carved ones), so malloc then pops with no
 * other work.  Slab accounting: span->used counts blocks with the application or in the
 * heap's list; blocks other threads freed are only subtracted when collected.
 */
#include "heap.h"

#include <string.h>

#include "arena.h"
#include "pagemap.h"
#include "thread.h"

la_heap_t la_empty_heap;
__thread la_heap_t *la_tls_heap __attribute__((tls_model("initial-exec"))) = &la_empty_heap;
__thread uint8_t la_tls_state __attribute__((tls_model("initial-exec")));

#define FULL_SCAN_MAX 8   /* full slabs re-checked for remote frees per refill */
#define ADOPT_MAX 4       /* abandoned slabs examined per refill */
#define CARVE_BYTES 4096  /* fresh blocks carved per step: touch memory only as needed */

void la_heap_init(la_heap_t *h, struct la_arena *a, enum la_heap_kind kind)
{
        memset(h, 0, sizeof(*h));
        for (unsigned c = 0; c < LA_NBINS; c++)
                h->usize[c] = (uint32_t)la_cls_size[c];
        memcpy(h->size2cls, la_size2cls_tab, sizeof(h->size2cls));
        h->arena = a;
        h->kind = kind;
}

/* ---- per-class slab lists ---------------------------------------------------------- */

static void list_push(la_span_t **head, la_span_t *s)
{
        s->prev = NULL;
        s->next = *head;
        if (*head != NULL)
                (*head)->prev = s;
        *head = s;
}

static void list_unlink(la_span_t **head, la_span_t *s)
{
        if (s->prev != NULL)
                s->prev->next = s->next;
        else
                *head = s->next;
        if (s->next != NULL)
                s->next->prev = s->prev;
        s->next = s->prev = NULL;
}

/* Collects the blocks other threads freed into s->local_free, counting them out of used. */
static void collect_remote_counted(la_span_t *s)
{
        la_block_t *tf = atomic_exchange_explicit(&s->thread_free, NULL, memory_order_acquire);
        while (tf != NULL) {
                la_block_t *n = tf->next;
                tf->next = s->local_free;
                s->local_free = tf;
                s->used--;
                tf = n;
        }
}

/* Moves the free blocks of s (owned by h) into h->fl[c]; false if s has none. */
static bool hoist(la_heap_t *h, la_span_t *s, unsigned c)
{
        if (s->local_free != NULL) {
                h->fl[c] = s->local_free;
                s->local_free = NULL;
                s->used = s->capacity; /* blocks still in thread_free stay counted */
                return true;
        }
        la_block_t *tf = atomic_exchange_explicit(&s->thread_free, NULL, memory_order_acquire);
        if (tf != NULL) {
                h->fl[c] = tf; /* they were counted as used all along */
                return true;
        }
        if (s->capacity < s->nregs) {
                uint32_t size = s->block_size;
                uint32_t n = CARVE_BYTES / size;
                if (n == 0)
                        n = 1;
                if (n > s->nregs - s->capacity)
                        n = s->nregs - s->capacity;
                char *first = (char *)s->base + (size_t)s->capacity * size;
                char *p = first;
                for (uint32_t i = 1; i < n; i++, p += size)
                        ((la_block_t *)p)->next = (la_block_t *)(p + size);
                ((la_block_t *)p)->next = NULL;
                h->fl[c] = (la_block_t *)first;
                s->capacity += n;
                s->used += n;
                return true;
        }
        return false;
}

static void mark_full(la_heap_t *h, la_span_t *s, unsigned c)
{
        s->owner = (uintptr_t)h | LA_OWNER_FULL;
        list_push(&h->full[c], s);
}

static void *pop(la_heap_t *h, unsigned c)
{
        la_block_t *b = h->fl[c];
        h->fl[c] = b->next;
        return b;
}

/* Takes s as the current slab of class c; false (and s parked as full) if it has no block. */
static bool install(la_heap_t *h, la_span_t *s, unsigned c)
{
        h->cur[c] = s;
        if (hoist(h, s, c))
                return true;
        h->cur[c] = NULL;
        mark_full(h, s, c);
        return false;
}

static bool refill_from_full(la_heap_t *h, unsigned c)
{
        for (unsigned i = 0; i < FULL_SCAN_MAX; i++) {
                la_span_t *s = h->full[c];
                if (s == NULL)
                        return false;
                list_unlink(&h->full[c], s);
                if (atomic_load_explicit(&s->thread_free, memory_order_relaxed) != NULL) {
                        s->owner = (uintptr_t)h;
                        collect_remote_counted(s);
                        h->cur[c] = s;
                        if (hoist(h, s, c))
                                return true;
                        h->cur[c] = NULL;
                }
                /* Still full: rotate it to the back so the next scan sees others. */
                la_span_t **pp = &h->full[c];
                while (*pp != NULL && (*pp)->next != NULL)
                        pp = &(*pp)->next;
                if (*pp == NULL) {
                        list_push(&h->full[c], s);
                } else {
                        (*pp)->next = s;
                        s->prev = *pp;
                        s->next = NULL;
                }
                s->owner = (uintptr_t)h | LA_OWNER_FULL;
        }
        return false;
}

void *la_heap_alloc_refill(la_heap_t *h, unsigned c)
{
        la_span_t *s = h->cur[c];
        if (s != NULL) {
                if (hoist(h, s, c))
                        return pop(h, c);
                h->cur[c] = NULL;
                mark_full(h, s, c);
        }
        while ((s = h->partial[c]) != NULL) {
                list_unlink(&h->partial[c], s);
                if (install(h, s, c))
                        return pop(h, c);
        }
        if (h->full[c] != NULL && refill_from_full(h, c))
                return pop(h, c);
        la_arena_t *a = h->arena;
        bool locked = h->kind != LA_HEAP_SHARED;
        if (locked)
                la_mutex_lock(&a->lock);
        void *ret = NULL;
        for (unsigned i = 0; i < ADOPT_MAX + 1; i++) {
                s = la_arena_slab_get_locked(a, h, c);
                if (s == NULL)
                        break;
                collect_remote_counted(s);
                if (install(h, s, c)) {
                        ret = pop(h, c);
                        break;
                }
        }
        if (locked)
                la_mutex_unlock(&a->lock);
        return ret;
}

/* ---- frees that missed the fast path ---------------------------------------------- */

void la_heap_span_empty(la_heap_t *h, la_span_t *s)
{
        unsigned c = s->cls;
        if (s == h->cur[c])
                return; /* keep the current slab: the next malloc wants it */
        list_unlink(&h->partial[c], s);
        la_arena_t *a = s->arena;
        la_mutex_lock(&a->lock);
        la_arena_slab_release_locked(a, s);
        la_mutex_unlock(&a->lock);
}

void la_small_free_slow(la_span_t *s, void *p)
{
        la_heap_t *h = la_tls_heap;
        if (s->owner == ((uintptr_t)h | LA_OWNER_FULL)) {
                /* Our own slab, parked as full: it has a free block again. */
                unsigned c = s->cls;
                s->owner = (uintptr_t)h;
                list_unlink(&h->full[c], s);
                list_push(&h->partial[c], s);
                la_block_t *b = p;
                b->next = s->local_free;
                s->local_free = b;
                h->deallocated += s->block_size;
                if (--s->used == 0)
                        la_heap_span_empty(h, s);
                return;
        }
        la_account_dealloc(h, s->block_size);
        la_span_remote_push(s, p);
}

/* ---- flushing ---------------------------------------------------------------------- */

static void give_back(la_span_t *s)
{
        la_arena_t *a = s->arena;
        la_mutex_lock(&a->lock);
        la_arena_slab_abandon_locked(a, s);
        la_mutex_unlock(&a->lock);
}

static void give_back_list(la_span_t **head)
{
        la_span_t *s;
        while ((s = *head) != NULL) {
                list_unlink(head, s);
                give_back(s);
        }
}

void la_heap_flush(la_heap_t *h)
{
        for (unsigned c = 0; c < LA_NBINS; c++) {
                la_span_t *s = h->cur[c];
                if (s != NULL) {
                        /* Blocks still in the heap list go back to their slab. */
                        la_block_t *b = h->fl[c];
                        while (b != NULL) {
                                la_block_t *n = b->next;
                                b->next = s->local_free;
                                s->local_free = b;
                                s->used--;
                                b = n;
                        }
                        h->fl[c] = NULL;
                        h->cur[c] = NULL;
                        give_back(s);
                }
                give_back_list(&h->partial[c]);
                give_back_list(&h->full[c]);
        }
}
