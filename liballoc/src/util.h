/*
 * util: small helpers every liballoc module may use: branch hints, malloc-free number
 * formatting into caller buffers, diagnostics through malloc_message, fatal errors, and
 * the mutex wrapper (rank-checked in debug builds).  Nothing here allocates.
 */
#ifndef LA_UTIL_H
#define LA_UTIL_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define LA_LIKELY(x) __builtin_expect(!!(x), 1)
#define LA_UNLIKELY(x) __builtin_expect(!!(x), 0)
#define LA_NOINLINE __attribute__((noinline))
#define LA_COLD __attribute__((cold, noinline))
#define LA_ALWAYS_INLINE inline __attribute__((always_inline))
#define LA_EXPORT __attribute__((visibility("default")))
#define LA_CACHELINE 64
#define LA_ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

#ifdef NDEBUG
static const bool la_debug = false;
#else
static const bool la_debug = true;
#endif

/* Internal assertion: checked in debug builds, compiled (never rots) everywhere. */
#define LA_ASSERT(cond)                                                                    \
        do {                                                                               \
                if (la_debug && !(cond))                                                   \
                        la_fatal_assert(__FILE__, __LINE__, #cond);                        \
        } while (0)

/* Writes s through malloc_message (or stderr); never allocates. */
void la_message(const char *s);
/* Writes "<jemalloc>: " + the pieces (NULL-terminated list) + "\n" as one message. */
void la_messagef(const char *first, ...) __attribute__((sentinel));
/* Heap corruption / invariant failure: message to stderr, then the abort hook. */
__attribute__((noreturn)) void la_fatal(const char *msg);
__attribute__((noreturn)) void la_fatal_assert(const char *file, int line, const char *cond);
/* Replaceable by tests so death paths can be checked without core dumps. */
extern void (*la_abort_hook)(void);
/* experimental.hooks.safety_check_abort: told the message before a fatal error aborts. */
extern void (*la_safety_check_abort)(const char *msg);

/* Formats v in decimal (or hex with 0x) into buf (>= 24 bytes); returns buf. */
char *la_fmt_u64(char *buf, uint64_t v);
char *la_fmt_i64(char *buf, int64_t v);
char *la_fmt_hex(char *buf, uint64_t v);
/* Bounded string copy/append that always terminates; return the resulting length. */
size_t la_strlcpy(char *dst, const char *src, size_t cap);
size_t la_strlcat(char *dst, const char *src, size_t cap);

/* Mutexes: adaptive pthread mutexes with jemalloc's contention counters, re-initialised
 * in the fork child.  The counters are written only by the holder (after it got the
 * lock), so they need no atomics; an uncontended lock costs one trylock and two stores. */
typedef struct la_mutex_prof {
        uint64_t num_ops, num_wait, num_spin_acq, num_owner_switch;
        uint64_t total_wait_time, max_wait_time; /* ns */
        uint32_t max_num_thds;
} la_mutex_prof_t;

typedef struct la_mutex {
        pthread_mutex_t m;
        la_mutex_prof_t prof;
        const void *last_owner;    /* thread that held it last (owner-switch count) */
        _Atomic uint32_t nwaiting; /* threads blocked right now */
} la_mutex_t;

#define LA_MUTEX_INITIALIZER {.m = PTHREAD_MUTEX_INITIALIZER}

void la_mutex_init(la_mutex_t *mu);
void la_mutex_lock_slow(la_mutex_t *mu);
/* A per-thread address that names the calling thread (for the owner-switch count). */
extern __thread char la_thread_tag __attribute__((tls_model("initial-exec")));
static inline void la_mutex_lock(la_mutex_t *mu)
{
        if (LA_UNLIKELY(pthread_mutex_trylock(&mu->m) != 0))
                la_mutex_lock_slow(mu);
        mu->prof.num_ops++;
        if (mu->last_owner != &la_thread_tag) {
                mu->prof.num_owner_switch++;
                mu->last_owner = &la_thread_tag;
        }
}
static inline void la_mutex_unlock(la_mutex_t *mu)
{
        pthread_mutex_unlock(&mu->m);
}
/* Copies the counters (taking the lock) and, if reset, zeroes them. */
void la_mutex_prof_read(la_mutex_t *mu, la_mutex_prof_t *out, bool reset);

static inline size_t la_align_up(size_t v, size_t a)
{
        return (v + a - 1) & ~(a - 1);
}
static inline bool la_is_pow2(size_t v)
{
        return v != 0 && (v & (v - 1)) == 0;
}
static inline unsigned la_lg_floor(size_t v)
{
        return 63u - (unsigned)__builtin_clzl(v);
}

#endif
