/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * harden: canaries, junk, quarantine and random carving for MALLOC_CONF=hardened:true
 * (harden.h).
 * The quarantine is a ring in each thread heap, touched by its thread only; threads
 * without a heap (tcache:false, thread.tcache.enabled false, exiting) use a ring in the
 * arena, under the arena lock.
 */
#include "core/harden.h"

#include <string.h>

#include "core/arena.h"
#include "core/conf.h"
#include "core/heap.h"
#include "core/meta.h"
#include "core/pagemap.h"
#include "os/os.h"

/* Bytes of a block compared against the junk when it leaves the ring: bounds the cost of
 * a free. */
#define VERIFY_MAX 4096

static LA_COLD void report(const char *what, const void *p)
{
        la_fatal_ptr(what, p);
}

static const unsigned char junk_ref[VERIFY_MAX] = {[0 ... VERIFY_MAX - 1] = LA_JUNK_FREED};

/*
 * The words the hardened mode derives from a block's address: a mix of the address and
 * the process's secret (la_fl_key, which also encodes every free-list link), with the
 * secret added again after the mix, so that a word read back (a freed block's tag by a
 * use-after-free read, a live block's canary by an over-read) does not give the secret
 * by inverting the mix; tweak makes the tag and the canary of one block unrelated.
 */
static uint64_t secret_mix(const void *p, uint64_t tweak)
{
        uint64_t x = (uint64_t)(uintptr_t)p ^ la_fl_key ^ tweak;
        x = (x ^ (x >> 31)) * 0xbf58476d1ce4e5b9ull;
        x = (x ^ (x >> 29)) * 0x94d049bb133111ebull;
        return (x ^ (x >> 32)) + la_fl_key;
}

#define LOW3 ((uint64_t)7)

/*
 * A quarantined block's last word holds a tag made from its address and the process's
 * secret; the rest is junk.  A free that finds the tag is a second free of a block that
 * waits in some quarantine (this thread's, another thread's or an arena's), found at once
 * whichever thread frees it; a block that leaves the ring without its junk and its tag
 * was written to.  The tag goes (junk again) before the block is freed for real, so a
 * live block carries it only by a 2^-64 coincidence.  Its low 3 bits are the key's.
 */
static uintptr_t *tag_word(void *p, size_t size)
{
        return (uintptr_t *)((char *)p + size - sizeof(uintptr_t));
}

static uintptr_t tag_of(const void *p)
{
        return (uintptr_t)((secret_mix(p, 0x5851f42d4c957f2dull) & ~LOW3) | (la_fl_key & LOW3));
}

/*
 * A small block's canary: the word right after its usable size (the last word of the
 * block for the classes of at most 4 KiB, whose tag word it shares while the block waits
 * in a ring; 8-byte aligned, as usable sizes are multiples of 8).  Neighbours' canaries
 * differ and a copied one does not fit.  Its low 3 bits are the key's with bit 0 flipped,
 * so a live block's canary is never taken for a tag.
 */
static uintptr_t canary_of(const void *p)
{
        return (uintptr_t)((secret_mix(p, 0) & ~LOW3) | ((la_fl_key ^ 1) & LOW3));
}

static void canary_set(void *p, size_t usable)
{
        *(uintptr_t *)((char *)p + usable) = canary_of(p);
}

static bool canary_ok(const void *p, size_t usable)
{
        return *(const uintptr_t *)((const char *)p + usable) == canary_of(p);
}

/* "free(): heap overflow detected (canary of block 0x... overwritten)": never returns. */
static LA_COLD void overflow(const void *p)
{
        char msg[160], num[24];
        la_strlcpy(msg, "free(): heap overflow detected (canary of block ", sizeof(msg));
        la_strlcat(msg, la_fmt_hex(num, (uintptr_t)p), sizeof(msg));
        la_strlcat(msg, " overwritten)", sizeof(msg));
        la_fatal(msg);
}

/* Checks p (a small block of slab s), then junks and tags it: it enters a quarantine.  A
 * quarantined block holds its tag where a live one may hold its canary, so the tag is
 * looked at first. */
static void quarantine_enter(const la_span_t *s, void *p)
{
        size_t size = s->block_size;
        uintptr_t *tw = tag_word(p, size), tag = tag_of(p);
        if (*tw == tag)
                report("free(): double free detected (block in quarantine)", p);
        if (!canary_ok(p, s->usable))
                overflow(p);
        memset(p, LA_JUNK_FREED, size - sizeof(uintptr_t));
        *tw = tag;
}

/* The block that left a ring: checked, its tag cleared and its canary written back, then
 * freed for real. */
static void release(la_heap_t *h, void *out)
{
        la_span_t *os = la_pm_lookup(out);
        size_t size = os->block_size, body = size - sizeof(uintptr_t);
        uintptr_t *tw = tag_word(out, size);
        if (*tw != tag_of(out) ||
            memcmp(out, junk_ref, body < VERIFY_MAX ? body : VERIFY_MAX) != 0)
                report("free(): use after free detected (a freed block was written to)", out);
        memset(tw, LA_JUNK_FREED, sizeof(*tw));
        canary_set(out, os->usable);
        if (h != NULL && la_span_owner_fast(os) == la_heap_id(h))
                la_small_free_own(h, os, out); /* the push free's fast path would do */
        else
                la_small_free_slow(os, out);
}

/* Puts p in a ring of LA_QUARANTINE_N slots holding *n blocks, the oldest at *next;
 * returns the block p pushed out, or NULL while the ring was not full. */
static void *ring_put(void **ring, uint32_t *n, uint32_t *next, void *p)
{
        if (*n < LA_QUARANTINE_N) {
                ring[(*n)++] = p;
                return NULL;
        }
        void *out = ring[*next];
        ring[*next] = p;
        *next = (*next + 1) % LA_QUARANTINE_N;
        return out;
}

void la_harden_heap_drain(la_heap_t *h)
{
        unsigned n = h->quarantine_n;
        h->quarantine_n = h->quarantine_next = 0;
        for (unsigned i = 0; i < n; i++)
                release(h, h->quarantine[i]);
}

void la_harden_free_small(la_span_t *s, void *p)
{
        /* The block is the caller's until it is in a ring: junk and tag need no lock. */
        quarantine_enter(s, p);
        la_heap_t *h = la_tls_heap;
        if (h->kind == LA_HEAP_THREAD && h->quarantine == NULL)
                h->quarantine = la_meta_alloc(LA_QUARANTINE_N * sizeof(void *), LA_CACHELINE);
        if (h->kind == LA_HEAP_THREAD && h->quarantine != NULL) {
                /* The thread's own ring: no lock. */
                void *out = ring_put(h->quarantine, &h->quarantine_n, &h->quarantine_next, p);
                if (out != NULL)
                        release(h, out);
                return;
        }
        la_arena_t *a = s->arena;
        la_mutex_lock(&a->lock);
        void *out = ring_put(a->quarantine, &a->quarantine_n, &a->quarantine_next, p);
        la_mutex_unlock(&a->lock);
        if (out != NULL)
                release(NULL, out);
}

void la_harden_forget_locked(la_arena_t *a)
{
        a->quarantine_n = 0;
        a->quarantine_next = 0;
}

static __thread uint64_t rng_state __attribute__((tls_model("initial-exec")));

static uint32_t rng_below(uint32_t n)
{
        if (rng_state == 0)
                rng_state = la_os_random64() | 1;
        /* xorshift64* */
        rng_state ^= rng_state >> 12;
        rng_state ^= rng_state << 25;
        rng_state ^= rng_state >> 27;
        uint64_t r = rng_state * 0x2545f4914f6cdd1dull;
        return (uint32_t)(((r >> 32) * (uint64_t)n) >> 32);
}

la_block_t *la_harden_carve(const la_span_t *s, char *first, uint32_t n,
                            la_block_t **ret_tail)
{
        uint32_t size = s->block_size;
        for (uint32_t i = 0; i < n; i++)
                canary_set(first + (size_t)i * size, s->usable);
        /* Fisher-Yates over the block indexes, then link them in that order.  A carve is
         * at most 4 KiB of blocks, at least 8 of them: 512 blocks of the 8-byte class. */
        uint16_t order[512];
        LA_ASSERT(n >= 1 && n <= LA_ARRAY_LEN(order));
        for (uint32_t i = 0; i < n; i++)
                order[i] = (uint16_t)i;
        for (uint32_t i = n - 1; i > 0; i--) {
                uint32_t j = rng_below(i + 1);
                uint16_t t = order[i];
                order[i] = order[j];
                order[j] = t;
        }
        for (uint32_t i = 0; i + 1 < n; i++)
                la_block_set_next((la_block_t *)(first + (size_t)order[i] * size),
                                  (la_block_t *)(first + (size_t)order[i + 1] * size));
        la_block_t *tail = (la_block_t *)(first + (size_t)order[n - 1] * size);
        la_block_set_next(tail, NULL);
        *ret_tail = tail;
        return (la_block_t *)(first + (size_t)order[0] * size);
}
