/* SPDX-License-Identifier: BSD-2-Clause */
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

#include "os/lockrank.h"

#define LA_LIKELY(x) __builtin_expect(!!(x), 1)
#define LA_UNLIKELY(x) __builtin_expect(!!(x), 0)
#define LA_NOINLINE __attribute__((noinline))
#define LA_COLD __attribute__((cold, noinline))
/* Code placement (docs/architecture.md, "Code layout"): the linker puts cold functions
 * first, then hot ones, then the rest in link order (allocation paths first, control
 * plane last).  LA_BOOT marks a function of an upper layer that runs once at start-up,
 * LA_WARM one that the allocation paths call: both then share the pages that every
 * program runs, and the control plane's pages stay out of its resident set. */
#define LA_BOOT __attribute__((cold))
#define LA_WARM __attribute__((hot))
#define LA_ALWAYS_INLINE inline __attribute__((always_inline))
#define LA_EXPORT __attribute__((visibility("default")))
#define LA_CACHELINE 64
#define LA_ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

/*
 * Checks, by build type.  Every check compiles in every build and is switched by these
 * static consts (a disabled one costs nothing: the compiler drops it), so no variant rots
 * behind an #ifdef.  Three assertion tiers:
 *   LA_ASSERT           cheap (O(1), slow paths only): every build, release included;
 *   LA_ASSERT_INTERNAL  internal consistency: builds without NDEBUG (debug, debugoptimized);
 *   LA_ASSERT_EXPENSIVE walks (lists, maps): -Dbuildtype=debug only (liballoc/meson.build
 *                       defines LA_BUILD_DEBUG there).
 * la_lockrank_on: the lock-rank check (below), with the internal tier.
 */
#ifdef NDEBUG
static const bool la_debug = false;
static const bool la_lockrank_on = false;
#else
static const bool la_debug = true;
static const bool la_lockrank_on = true;
#endif
#if !defined(NDEBUG) && defined(LA_BUILD_DEBUG)
static const bool la_debug_expensive = true;
#else
static const bool la_debug_expensive = false;
#endif

#define LA_ASSERT_IF(on, cond)                                                             \
        do {                                                                               \
                if ((on) && LA_UNLIKELY(!(cond)))                                          \
                        la_fatal_assert(__FILE__, __LINE__, #cond);                        \
        } while (0)
#define LA_ASSERT(cond) LA_ASSERT_IF(true, cond)
#define LA_ASSERT_INTERNAL(cond) LA_ASSERT_IF(la_debug, cond)
#define LA_ASSERT_EXPENSIVE(cond) LA_ASSERT_IF(la_debug_expensive, cond)

/* Writes s through malloc_message (or stderr); never allocates. */
void la_message(const char *s);
/* Writes "<jemalloc>: " + the pieces (NULL-terminated list) + "\n" as one message. */
void la_messagef(const char *first, ...) __attribute__((sentinel));
/* Heap corruption / invariant failure: message to stderr, then the abort hook. */
__attribute__((noreturn)) void la_fatal(const char *msg);
/* la_fatal with "msg: 0x<p>" (misuse reports name the pointer). */
__attribute__((noreturn)) void la_fatal_ptr(const char *msg, const void *p);
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
 * lock), so they need no atomics; an uncontended lock costs one trylock and a few plain
 * stores.  Each mutex records its holder (owner, a per-thread address) and each thread
 * counts the allocator locks it holds (la_locks_held, counted from just before the
 * acquisition to just after the release, so it never undercounts): a thread that finds a
 * lock it holds itself taken (malloc re-entered from a signal handler) dies with a
 * message instead of waiting for itself, and the fork handlers do not wait for locks that
 * could never be released (see la_mutex_prefork).
 *
 * Each mutex has a rank (os/lockrank.h), given where it is initialised.  Where
 * la_lockrank_on (builds without NDEBUG), each thread counts the locks it holds by rank
 * (initial-exec TLS, util.c) and la_mutex_lock checks, before it waits, that the new
 * lock's rank is above every rank held; otherwise it aborts with one line naming both
 * locks.  Trylocks are counted but not checked (they never wait); the prefork handler may
 * take several locks of one rank (every arena lock, in index order).  Release builds
 * compile the check and never run it. */
typedef struct la_mutex_prof {
        uint64_t num_ops, num_wait, num_spin_acq, num_owner_switch;
        uint64_t total_wait_time, max_wait_time; /* ns */
        uint32_t max_num_thds;
} la_mutex_prof_t;

typedef struct la_mutex {
        pthread_mutex_t m;
        la_mutex_prof_t prof;
        const void *last_owner;    /* thread that held it last (owner-switch count) */
        const void *owner;         /* thread that holds it now, NULL (relaxed atomics) */
        const char *name;          /* for messages: "arena", "metadata", ... */
        _Atomic uint32_t nwaiting; /* threads blocked right now */
        bool fork_held;            /* taken by the prefork handler of its holder */
        uint8_t rank;              /* enum la_rank */
} la_mutex_t;

#define LA_MUTEX_INITIALIZER(n, r) {.m = PTHREAD_MUTEX_INITIALIZER, .name = (n), .rank = (r)}

/* (Re)initialises the lock; the name and the rank are kept. */
void la_mutex_init(la_mutex_t *mu);
void la_mutex_init_ranked(la_mutex_t *mu, const char *name, enum la_rank rank);
/* The rank check (la_lockrank_on only): before waiting for mu; after taking it (any
 * way); after releasing it. */
void la_rank_check(const la_mutex_t *mu);
void la_rank_took(const la_mutex_t *mu);
void la_rank_released(const la_mutex_t *mu);
/* outer: what la_lock_changing held when this lock call began (re-entry check). */
void la_mutex_lock_slow(la_mutex_t *mu, const la_mutex_t *outer);
/* A per-thread address that names the calling thread (owner, owner-switch count). */
extern __thread char la_thread_tag __attribute__((tls_model("initial-exec")));
/* Allocator locks the calling thread holds (or is taking or releasing right now). */
extern __thread unsigned la_locks_held __attribute__((tls_model("initial-exec")));
/* The lock this thread is taking or releasing right now (from just before its trylock to
 * just after it records itself as owner; from just before it clears the owner to just
 * after the release), so that a call re-entered in between, when neither owner word names
 * the thread, knows. */
extern __thread const la_mutex_t *la_lock_changing __attribute__((tls_model("initial-exec")));
/* The bookkeeping of a lock just taken (la_mutex_lock, la_mutex_trylock). */
static inline void la_mutex_took(la_mutex_t *mu, const la_mutex_t *outer)
{
        __atomic_store_n(&mu->owner, (const void *)&la_thread_tag, __ATOMIC_RELAXED);
        la_lock_changing = outer;
        if (la_lockrank_on)
                la_rank_took(mu);
        mu->prof.num_ops++;
        if (mu->last_owner != &la_thread_tag) {
                mu->prof.num_owner_switch++;
                mu->last_owner = &la_thread_tag;
        }
}
static inline void la_mutex_lock(la_mutex_t *mu)
{
        if (la_lockrank_on)
                la_rank_check(mu);
        la_locks_held++;
        const la_mutex_t *outer = la_lock_changing;
        la_lock_changing = mu;
        if (LA_UNLIKELY(pthread_mutex_trylock(&mu->m) != 0))
                la_mutex_lock_slow(mu, outer);
        la_mutex_took(mu, outer);
}
/* Takes the lock if it is free right now; never waits (so it may be called with any other
 * allocator lock held). */
static inline bool la_mutex_trylock(la_mutex_t *mu)
{
        la_locks_held++;
        const la_mutex_t *outer = la_lock_changing;
        la_lock_changing = mu;
        if (pthread_mutex_trylock(&mu->m) != 0) {
                la_lock_changing = outer;
                la_locks_held--;
                return false;
        }
        la_mutex_took(mu, outer);
        return true;
}
static inline void la_mutex_unlock(la_mutex_t *mu)
{
        const la_mutex_t *outer = la_lock_changing;
        la_lock_changing = mu;
        __atomic_store_n(&mu->owner, NULL, __ATOMIC_RELAXED);
        pthread_mutex_unlock(&mu->m);
        la_lock_changing = outer;
        if (la_lockrank_on)
                la_rank_released(mu);
        la_locks_held--;
}
static inline bool la_mutex_held_by_me(const la_mutex_t *mu)
{
        return __atomic_load_n(&mu->owner, __ATOMIC_RELAXED) == (const void *)&la_thread_tag;
}

/*
 * fork() support.  fork may be called from a signal handler (POSIX makes it async-signal-
 * safe; crash reporters do it) that interrupted this thread inside the allocator, holding
 * some of its locks, while other threads hold others.  The prefork handler calls
 * la_fork_begin() and then la_mutex_prefork() on every lock in lock order:
 *   - a lock this thread already holds is not taken (the interrupted code holds it);
 *   - when this thread held no lock as the fork began, a lock another thread holds is
 *     waited for: that thread cannot be waiting for this one, so it will release it;
 *   - otherwise (some other thread may be waiting for a lock this one holds, or for
 *     another fork handler) a busy lock is waited for at most LA_FORK_WAIT_NS for the
 *     whole fork, and then left.
 * A lock that was not taken may guard a structure that its holder left half-updated:
 * la_mutex_postfork_child() says whether it did (la_mutex_fork_whole) and la_fork_torn()
 * whether any lock did, and the child moves away from such state (thread.c).
 * la_mutex_postfork_parent() releases the locks the prefork handler took;
 * la_mutex_postfork_child() re-initialises every lock.
 */
#define LA_FORK_WAIT_NS 20000000u
void la_fork_begin(void);
/* True if the lock was taken for the fork. */
bool la_mutex_prefork(la_mutex_t *mu);
void la_mutex_postfork_parent(la_mutex_t *mu);
/* In the child, before la_mutex_postfork_child: is the state the lock guards whole?  It
 * is unless the lock was held by a thread other than a fork handler (a fork handler sets
 * fork_held right after taking the lock and clears it before releasing it, and changes
 * nothing in between): the interrupted code of the forking thread, or a thread that did
 * not survive the fork, may have been half-way through an update. */
static inline bool la_mutex_fork_whole(const la_mutex_t *mu)
{
        return __atomic_load_n(&mu->m.__data.__lock, __ATOMIC_RELAXED) == 0 || mu->fork_held;
}
/* Re-initialises the lock; returns la_mutex_fork_whole() as it was. */
bool la_mutex_postfork_child(la_mutex_t *mu);
/* In the child, after every la_mutex_postfork_child: some lock's state may be
 * half-updated. */
bool la_fork_torn(void);
/* In the child: the forking thread held allocator locks as the fork began (a signal
 * handler interrupted it inside an allocator slow path), so its own heap may be
 * half-updated too. */
bool la_fork_interrupted(void);
/* In the child, last: the prefork handler's locks are no longer held. */
void la_fork_child_done(void);

/* Copies the counters (taking the lock) and, if reset, zeroes them. */
void la_mutex_prof_read(la_mutex_t *mu, la_mutex_prof_t *out, bool reset);

static inline size_t la_align_up(size_t v, size_t a)
{
        return (v + a - 1) & ~(a - 1);
}
/* e^x - 1 for x <= 0, what sampling needs (1 - P(sampled) = e^(-size/R)), without
 * linking libm (a library mapped, and about 300 KiB resident, in every process that
 * preloads liballoc).  Within 1e-12 relative of libm's expm1 (tests/unit/test_util.c). */
double la_expm1_neg(double x);

static inline bool la_is_pow2(size_t v)
{
        return v != 0 && (v & (v - 1)) == 0;
}
static inline unsigned la_lg_floor(size_t v)
{
        return 63u - (unsigned)__builtin_clzl(v);
}

#endif
