/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * util: diagnostics and formatting without allocation.  Every message liballoc prints goes
 * through la_message so the application's malloc_message hook sees it.
 */
#include "os/util.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/syscall.h>
#include <unistd.h>

LA_EXPORT void (*malloc_message)(void *cbopaque, const char *s);
void (*la_safety_check_abort)(const char *msg);

static void default_abort(void)
{
        abort();
}
void (*la_abort_hook)(void) = default_abort;

static void write_all(int fd, const char *s, size_t n)
{
        while (n > 0) {
                ssize_t w = write(fd, s, n);
                if (w <= 0)
                        return;
                s += w;
                n -= (size_t)w;
        }
}

void la_message(const char *s)
{
        if (malloc_message != NULL)
                malloc_message(NULL, s);
        else
                write_all(STDERR_FILENO, s, strlen(s));
}

void la_messagef(const char *first, ...)
{
        char buf[512];
        va_list ap;
        la_strlcpy(buf, "<jemalloc>: ", sizeof(buf));
        va_start(ap, first);
        for (const char *p = first; p != NULL; p = va_arg(ap, const char *))
                la_strlcat(buf, p, sizeof(buf) - 1);
        va_end(ap);
        la_strlcat(buf, "\n", sizeof(buf));
        la_message(buf);
}

void la_fatal(const char *msg)
{
        char buf[256];
        la_strlcpy(buf, "<jemalloc>: liballoc: ", sizeof(buf));
        la_strlcat(buf, msg, sizeof(buf) - 1);
        la_strlcat(buf, "\n", sizeof(buf));
        write_all(STDERR_FILENO, buf, strlen(buf));
        if (la_safety_check_abort != NULL)
                la_safety_check_abort(buf);
        la_abort_hook();
        abort();
}

void la_fatal_ptr(const char *msg, const void *p)
{
        char buf[200], num[24];
        la_strlcpy(buf, msg, sizeof(buf));
        la_strlcat(buf, ": ", sizeof(buf));
        la_strlcat(buf, la_fmt_hex(num, (uintptr_t)p), sizeof(buf));
        la_fatal(buf);
}

void la_fatal_assert(const char *file, int line, const char *cond)
{
        char buf[256], num[24];
        la_strlcpy(buf, "assertion failed: ", sizeof(buf));
        la_strlcat(buf, cond, sizeof(buf));
        la_strlcat(buf, " at ", sizeof(buf));
        la_strlcat(buf, file, sizeof(buf));
        la_strlcat(buf, ":", sizeof(buf));
        la_strlcat(buf, la_fmt_u64(num, (uint64_t)line), sizeof(buf));
        la_fatal(buf);
}

char *la_fmt_u64(char *buf, uint64_t v)
{
        char tmp[24];
        int n = 0;
        do {
                tmp[n++] = (char)('0' + v % 10);
                v /= 10;
        } while (v != 0);
        for (int i = 0; i < n; i++)
                buf[i] = tmp[n - 1 - i];
        buf[n] = '\0';
        return buf;
}

char *la_fmt_i64(char *buf, int64_t v)
{
        if (v < 0) {
                buf[0] = '-';
                la_fmt_u64(buf + 1, (uint64_t)0 - (uint64_t)v);
                return buf;
        }
        return la_fmt_u64(buf, (uint64_t)v);
}

char *la_fmt_hex(char *buf, uint64_t v)
{
        static const char digits[] = "0123456789abcdef";
        char tmp[20];
        int n = 0;
        do {
                tmp[n++] = digits[v & 15];
                v >>= 4;
        } while (v != 0);
        buf[0] = '0';
        buf[1] = 'x';
        for (int i = 0; i < n; i++)
                buf[2 + i] = tmp[n - 1 - i];
        buf[2 + n] = '\0';
        return buf;
}

size_t la_strlcpy(char *dst, const char *src, size_t cap)
{
        size_t n = strlen(src);
        if (cap == 0)
                return n;
        size_t c = n < cap - 1 ? n : cap - 1;
        memcpy(dst, src, c);
        dst[c] = '\0';
        return c;
}

size_t la_strlcat(char *dst, const char *src, size_t cap)
{
        size_t d = strnlen(dst, cap);
        if (d >= cap)
                return d;
        return d + la_strlcpy(dst + d, src, cap - d);
}

__thread char la_thread_tag __attribute__((tls_model("initial-exec")));
__thread unsigned la_locks_held __attribute__((tls_model("initial-exec")));
__thread const la_mutex_t *la_lock_changing __attribute__((tls_model("initial-exec")));

void la_mutex_init(la_mutex_t *mu)
{
        pthread_mutexattr_t attr;
        pthread_mutexattr_init(&attr);
        pthread_mutexattr_settype(&attr, PTHREAD_MUTEX_ADAPTIVE_NP);
        pthread_mutex_init(&mu->m, &attr);
        pthread_mutexattr_destroy(&attr);
        atomic_store_explicit(&mu->nwaiting, 0, memory_order_relaxed);
        __atomic_store_n(&mu->owner, NULL, __ATOMIC_RELAXED);
        mu->fork_held = false;
}

void la_mutex_init_ranked(la_mutex_t *mu, const char *name, enum la_rank rank)
{
        mu->name = name;
        mu->rank = (uint8_t)rank;
        la_mutex_init(mu);
}

#define SPIN_MAX 64 /* read-only polls of the lock word before blocking */

static uint64_t now_ns(void)
{
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* The calling thread wants a lock it holds: the only way that happens is a malloc or
 * free that interrupted the allocator on this thread (a signal handler) and reached a
 * path that takes a lock the interrupted code holds.  Waiting would never end. */
static LA_COLD void mutex_reentered(const la_mutex_t *mu)
{
        char msg[200];
        la_strlcpy(msg, "malloc re-entered (from a signal handler?) while this thread held ",
                   sizeof(msg));
        if (mu->name != NULL) {
                la_strlcat(msg, "the ", sizeof(msg));
                la_strlcat(msg, mu->name, sizeof(msg));
                la_strlcat(msg, " lock", sizeof(msg));
        } else {
                la_strlcat(msg, "an allocator lock", sizeof(msg));
        }
        la_strlcat(msg, " (malloc is not async-signal-safe)", sizeof(msg));
        la_fatal(msg);
}

/* The calling thread's kernel id (cached: only the lock's slow path asks). */
static __thread int tls_tid __attribute__((tls_model("initial-exec")));

static int my_tid(void)
{
        if (tls_tid == 0)
                tls_tid = (int)syscall(SYS_gettid);
        return tls_tid;
}

/* This thread was interrupted while it was taking or releasing mu itself (outer == mu)
 * and mu is busy: either the interrupted call holds it but is not recorded as its owner
 * (glibc's owner word 0: the few instructions after its compare-and-swap, or those of an
 * unlock between clearing the owner and releasing the lock word), or another thread
 * holds it.  Another holder records itself within nanoseconds, or releases the
 * lock; an owner word still 0 after 50 ms (a preempted holder resumes long before) is
 * this thread's own interrupted call. */
static bool taken_by_interrupted_self(const la_mutex_t *mu)
{
        uint64_t deadline = 0;
        for (unsigned i = 0;; i++) {
                if (__atomic_load_n(&mu->m.__data.__lock, __ATOMIC_RELAXED) == 0 ||
                    __atomic_load_n(&mu->m.__data.__owner, __ATOMIC_RELAXED) != 0)
                        return __atomic_load_n(&mu->m.__data.__owner, __ATOMIC_RELAXED) ==
                               my_tid();
                if ((i & 1023) == 0) {
                        uint64_t now = now_ns();
                        if (deadline == 0)
                                deadline = now + 50000000;
                        else if (now > deadline)
                                return true;
                }
#if defined(__x86_64__) || defined(__i386__)
                __builtin_ia32_pause();
#endif
        }
}

void la_mutex_lock_slow(la_mutex_t *mu, const la_mutex_t *outer)
{
        /* Only this thread ever stores its own address in owner: if it reads it, this
         * thread holds the lock (it is cleared before the release).  Interrupted between
         * taking the lock and storing owner, it is glibc's owner word that names this
         * thread (glibc records it right after the lock's compare-and-swap). */
        if (LA_UNLIKELY(la_mutex_held_by_me(mu)) ||
            LA_UNLIKELY(__atomic_load_n(&mu->m.__data.__owner, __ATOMIC_RELAXED) == my_tid()) ||
            (LA_UNLIKELY(outer == mu) && taken_by_interrupted_self(mu)))
                mutex_reentered(mu);
        /* Poll without writing (a failed trylock would pull the line away from the
         * holder), then try once more before blocking. */
        for (int i = 0; i < SPIN_MAX; i++) {
#if defined(__x86_64__) || defined(__i386__)
                __builtin_ia32_pause();
#endif
                if (__atomic_load_n(&mu->m.__data.__lock, __ATOMIC_RELAXED) == 0 &&
                    pthread_mutex_trylock(&mu->m) == 0) {
                        mu->prof.num_spin_acq++;
                        return;
                }
        }
        uint64_t start = now_ns();
        uint32_t n = atomic_fetch_add_explicit(&mu->nwaiting, 1, memory_order_relaxed) + 1;
        pthread_mutex_lock(&mu->m);
        atomic_fetch_sub_explicit(&mu->nwaiting, 1, memory_order_relaxed);
        uint64_t waited = now_ns() - start;
        mu->prof.num_wait++;
        mu->prof.total_wait_time += waited;
        if (waited > mu->prof.max_wait_time)
                mu->prof.max_wait_time = waited;
        if (n > mu->prof.max_num_thds)
                mu->prof.max_num_thds = n;
}

/* ---- lock ranks (la_lockrank_on only) ------------------------------------------------ */

static const char *const rank_names[LA_RANK_N] = {
        [LA_RANK_NONE] = "none",         [LA_RANK_SERVER] = "server",
        [LA_RANK_CTL] = "ctl",           [LA_RANK_BG] = "bg",
        [LA_RANK_TCACHE] = "tcache",     [LA_RANK_REGISTRY] = "registry",
        [LA_RANK_ARENAS] = "arenas",     [LA_RANK_ARENA] = "arena",
        [LA_RANK_META] = "meta",         [LA_RANK_PROF_DUMP] = "prof_dump",
        [LA_RANK_PROF] = "prof",
};

/* The locks this thread holds, by rank (a count: the prefork handler holds every arena
 * lock), and the one of each rank it took last (for the message).  Initial-exec TLS, so
 * a thread's first lock allocates nothing. */
static __thread uint16_t rank_count[LA_RANK_N] __attribute__((tls_model("initial-exec")));
static __thread const la_mutex_t *rank_last[LA_RANK_N]
        __attribute__((tls_model("initial-exec")));
/* Set while the prefork handler takes a lock: it may hold others of the same rank. */
static __thread bool rank_prefork __attribute__((tls_model("initial-exec")));

static void rank_describe(char *msg, size_t cap, const la_mutex_t *mu, unsigned rank)
{
        if (mu != NULL && mu->name != NULL) {
                la_strlcat(msg, "the ", cap);
                la_strlcat(msg, mu->name, cap);
                la_strlcat(msg, " lock", cap);
        } else {
                la_strlcat(msg, mu != NULL ? "an unnamed lock" : "a lock", cap);
        }
        la_strlcat(msg, " (rank ", cap);
        la_strlcat(msg, rank < LA_RANK_N ? rank_names[rank] : "?", cap);
        la_strlcat(msg, ")", cap);
}

/* held: the held rank at or above mu's (LA_RANK_N: mu has no rank). */
static LA_COLD void rank_violation(const la_mutex_t *mu, unsigned held)
{
        /* The same lock again: malloc re-entered from a signal handler; say so. */
        if (la_mutex_held_by_me(mu) ||
            __atomic_load_n(&mu->m.__data.__owner, __ATOMIC_RELAXED) == my_tid())
                mutex_reentered(mu);
        char msg[220];
        la_strlcpy(msg, "lock order violated: taking ", sizeof(msg));
        rank_describe(msg, sizeof(msg), mu, mu->rank);
        if (held < LA_RANK_N) {
                la_strlcat(msg, " while holding ", sizeof(msg));
                rank_describe(msg, sizeof(msg), rank_last[held], held);
        } else {
                la_strlcat(msg, ", which has no rank", sizeof(msg));
        }
        la_fatal(msg);
}

void la_rank_check(const la_mutex_t *mu)
{
        unsigned r = mu->rank;
        if (r == LA_RANK_NONE || r >= LA_RANK_N)
                rank_violation(mu, LA_RANK_N);
        for (unsigned h = LA_RANK_N - 1; h >= r; h--)
                if (rank_count[h] != 0 && (h > r || !rank_prefork))
                        rank_violation(mu, h);
}

void la_rank_took(const la_mutex_t *mu)
{
        if (mu->rank < LA_RANK_N) {
                rank_count[mu->rank]++;
                rank_last[mu->rank] = mu;
        }
}

void la_rank_released(const la_mutex_t *mu)
{
        if (mu->rank < LA_RANK_N && rank_count[mu->rank] != 0) {
                rank_count[mu->rank]--;
                if (rank_last[mu->rank] == mu)
                        rank_last[mu->rank] = NULL;
        }
}

/* ---- fork ---------------------------------------------------------------------------- */

/* The forking thread's view of its fork (copied into the child with the thread). */
static __thread struct {
        uint64_t deadline; /* bounded: give up on busy locks after this */
        unsigned taken;    /* locks the prefork handler took */
        bool bounded;      /* this thread held allocator locks as the fork began */
        bool torn;         /* child: some lock's state may be half-updated */
} fork_ctx __attribute__((tls_model("initial-exec")));

void la_fork_begin(void)
{
        fork_ctx.bounded = la_locks_held != 0;
        fork_ctx.deadline = fork_ctx.bounded ? now_ns() + LA_FORK_WAIT_NS : 0;
        fork_ctx.taken = 0;
        fork_ctx.torn = false;
}

bool la_mutex_prefork(la_mutex_t *mu)
{
        if (la_mutex_held_by_me(mu)) {
                /* The code this fork interrupted holds it (fork from a signal handler). */
                return false;
        }
        if (!fork_ctx.bounded) {
                /* In rank order (checked): the participants run by rank, and one may
                 * take several locks of its rank (the arenas, in index order). */
                rank_prefork = true;
                la_mutex_lock(mu);
                rank_prefork = false;
        } else {
                /* Its holder may be waiting for a lock this thread holds, or be another
                 * thread's fork handler waiting for one: try for a bounded time only. */
                la_locks_held++;
                for (unsigned i = 0; pthread_mutex_trylock(&mu->m) != 0; i++) {
                        if (now_ns() >= fork_ctx.deadline) {
                                la_locks_held--;
                                return false;
                        }
                        if (i < SPIN_MAX) {
#if defined(__x86_64__) || defined(__i386__)
                                __builtin_ia32_pause();
#endif
                        } else {
                                struct timespec ts = {0, 20000};
                                nanosleep(&ts, NULL);
                        }
                }
                /* Not checked: the interrupted code holds locks of any rank. */
                __atomic_store_n(&mu->owner, (const void *)&la_thread_tag, __ATOMIC_RELAXED);
                if (la_lockrank_on)
                        la_rank_took(mu);
        }
        mu->fork_held = true;
        fork_ctx.taken++;
        return true;
}

void la_mutex_postfork_parent(la_mutex_t *mu)
{
        /* owner first: fork_held of a lock another thread holds is not ours to read. */
        if (la_mutex_held_by_me(mu) && mu->fork_held) {
                mu->fork_held = false;
                la_mutex_unlock(mu);
        }
}

bool la_mutex_postfork_child(la_mutex_t *mu)
{
        bool whole = la_mutex_fork_whole(mu);
        if (!whole)
                fork_ctx.torn = true;
        la_mutex_init(mu);
        return whole;
}

bool la_fork_torn(void)
{
        return fork_ctx.torn;
}

bool la_fork_interrupted(void)
{
        return fork_ctx.bounded;
}

void la_fork_child_done(void)
{
        /* The locks the prefork handler took were re-initialised, not released. */
        la_locks_held -= fork_ctx.taken;
        fork_ctx.taken = 0;
        /* For the rank check the child holds no lock: every one was re-initialised, those
         * the code that the fork interrupted holds too (the child starts over on whole
         * state, thread.c; that code's releases later find no count to drop). */
        if (la_lockrank_on) {
                memset(rank_count, 0, sizeof(rank_count));
                memset(rank_last, 0, sizeof(rank_last));
        }
}

void la_mutex_prof_read(la_mutex_t *mu, la_mutex_prof_t *out, bool reset)
{
        la_mutex_lock(mu);
        *out = mu->prof;
        if (reset) {
                memset(&mu->prof, 0, sizeof(mu->prof));
                mu->last_owner = NULL;
        }
        la_mutex_unlock(mu);
}

/* 2^k for -1022 <= k <= 1023, from its bits. */
static double pow2(int k)
{
        uint64_t bits = (uint64_t)(k + 1023) << 52;
        double d;
        memcpy(&d, &bits, sizeof(d));
        return d;
}

double la_expm1_neg(double x)
{
        if (!(x < 0))
                return 0.0; /* 0, or not a number: no sample weight to speak of */
        if (x < -40.0)
                return -1.0; /* e^x < 5e-18: -1 to the last bit */
        if (x > -0.5) {
                /* The series x + x^2/2! + ... + x^17/17!, no cancellation. */
                double t = 1.0;
                for (int n = 17; n >= 2; n--)
                        t = 1.0 + x * t / (double)n;
                return x * t;
        }
        /* e^x = 2^k e^r with k the nearest integer to x / ln 2, |r| <= ln 2 / 2, and e^r by
         * its Taylor series to the 15th power (Horner); |e^x - 1| >= 0.39 here, so the
         * subtraction loses nothing that matters. */
        int k = (int)(x * 1.44269504088896340736 - 0.5);
        double r = x - (double)k * 0.69314718055994530942;
        double t = 1.0;
        for (int n = 15; n >= 1; n--)
                t = 1.0 + r * t / (double)n;
        return t * pow2(k) - 1.0;
}
