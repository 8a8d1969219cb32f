/*
 * util: small helpers every liballoc module may use: branch hints, malloc-free number
 * formatting into caller buffers, diagnostics through malloc_message, fatal errors, and
 * the mutex wrapper (rank-checked in debug builds).  Nothing here allocates.
 */
#ifndef LA_UTIL_H
#define LA_UTIL_H

#include <pthread.h>
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

/* Formats v in decimal (or hex with 0x) into buf (>= 24 bytes); returns buf. */
char *la_fmt_u64(char *buf, uint64_t v);
char *la_fmt_i64(char *buf, int64_t v);
char *la_fmt_hex(char *buf, uint64_t v);
/* Bounded string copy/append that always terminates; return the resulting length. */
size_t la_strlcpy(char *dst, const char *src, size_t cap);
size_t la_strlcat(char *dst, const char *src, size_t cap);

/* Mutexes: plain pthread mutexes (adaptive), re-initialised in the fork child. */
typedef struct la_mutex {
        pthread_mutex_t m;
} la_mutex_t;

void la_mutex_init(la_mutex_t *mu);
static inline void la_mutex_lock(la_mutex_t *mu)
{
        pthread_mutex_lock(&mu->m);
}
static inline void la_mutex_unlock(la_mutex_t *mu)
{
        pthread_mutex_unlock(&mu->m);
}

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
