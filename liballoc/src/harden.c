/*
 * harden: junk, quarantine and random carving for MALLOC_CONF=hardened:true (harden.h).
 * The quarantine is a ring in each arena, under the arena lock: the caller of free is on
 * the slow path anyway in this mode.
 */
#include "harden.h"

#include <string.h>

#include "arena.h"
#include "conf.h"
#include "heap.h"
#include "os.h"

/* Bytes of a block compared against the junk when it leaves the ring (the rest of a
 * large block is only filled): bounds the cost of a free. */
#define VERIFY_MAX 4096

static LA_COLD void report(const char *what, const void *p)
{
        la_fatal_ptr(what, p);
}

static bool junk_intact(const unsigned char *p, size_t n)
{
        if (n > VERIFY_MAX)
                n = VERIFY_MAX;
        for (size_t i = 0; i < n; i++)
                if (p[i] != LA_JUNK_FREED)
                        return false;
        return true;
}

void la_harden_free_small(la_span_t *s, void *p)
{
        la_arena_t *a = s->arena;
        size_t size = s->block_size;
        void *out = NULL;
        la_mutex_lock(&a->lock);
        /* A block that still holds the junk may be waiting in the ring already (every
         * class is at least 8 bytes). */
        if (junk_intact(p, 8)) {
                for (unsigned i = 0; i < a->quarantine_n; i++)
                        if (a->quarantine[i] == p) {
                                la_mutex_unlock(&a->lock);
                                report("free(): double free detected (block in quarantine)",
                                       p);
                        }
        }
        memset(p, LA_JUNK_FREED, size);
        if (a->quarantine_n < LA_QUARANTINE_N) {
                a->quarantine[a->quarantine_n++] = p;
        } else {
                unsigned i = a->quarantine_next;
                out = a->quarantine[i];
                a->quarantine[i] = p;
                a->quarantine_next = (i + 1) % LA_QUARANTINE_N;
        }
        la_mutex_unlock(&a->lock);
        if (out == NULL)
                return;
        la_span_t *os = la_pm_lookup(out);
        if (!junk_intact(out, os->block_size))
                report("free(): use after free detected (a freed block was written to)", out);
        la_small_free_slow(os, out);
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

la_block_t *la_harden_shuffle(char *first, uint32_t n, uint32_t size, la_block_t **ret_tail)
{
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
