/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * bg: thread k of n serves the arenas i with i % n == k.  Each pass runs the decay of its
 * arenas (la_arena_decay takes the arena lock and purges with it dropped), then sleeps
 * until the nearest decay deadline, between 10 ms and 1 s.  Stopping sets a flag, wakes
 * the threads and joins them.  The threads block every signal, so they never run a
 * handler of the application.
 */
#include "bg/bg.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <time.h>

#include "core/arena.h"
#include "core/conf.h"
#include "os/os.h"

#define BG_MAX_THREADS 64
#define INTERVAL_MIN_NS 10000000ull    /* 10 ms */
#define INTERVAL_MAX_NS 1000000000ull  /* 1 s */

static la_mutex_t bg_lock = LA_MUTEX_INITIALIZER("background thread", LA_RANK_BG);
static pthread_cond_t bg_cond = PTHREAD_COND_INITIALIZER;
static pthread_t threads[BG_MAX_THREADS];
static unsigned nthreads;     /* running */
static size_t max_threads;    /* max_background_threads; 0 until boot */
static bool enabled, stopping;
static uint64_t num_runs, slept_ns;

la_mutex_t *la_bg_mutex(void)
{
        return &bg_lock;
}

static size_t default_max(void)
{
        size_t m = la_opt.max_background_threads;
        if (m == 0 || m > BG_MAX_THREADS)
                m = m == 0 ? 1 : BG_MAX_THREADS;
        return m;
}

/* One pass over thread k's arenas; returns the nanoseconds until the next deadline. */
static uint64_t pass(unsigned k, unsigned n)
{
        uint64_t now = la_os_coarse_ns(), next = now + INTERVAL_MAX_NS;
        unsigned total = atomic_load(&la_narenas_total);
        for (unsigned i = k; i < total; i += n) {
                la_arena_t *a = la_arena_get(i, false);
                if (a == NULL)
                        continue;
                la_arena_decay(a, false);
                uint64_t d = __atomic_load_n(&a->decay_next_ns, __ATOMIC_RELAXED);
                if (d != 0 && d < next)
                        next = d;
        }
        now = la_os_coarse_ns();
        uint64_t wait = next > now ? next - now : 0;
        if (wait < INTERVAL_MIN_NS)
                wait = INTERVAL_MIN_NS;
        return wait;
}

static void *bg_main(void *arg)
{
        unsigned k = (unsigned)(uintptr_t)arg;
        la_mutex_lock(&bg_lock);
        while (!stopping) {
                unsigned n = nthreads;
                la_mutex_unlock(&bg_lock);
                uint64_t wait = pass(k, n);
                la_mutex_lock(&bg_lock);
                num_runs++;
                slept_ns += wait;
                if (stopping)
                        break;
                struct timespec ts;
                clock_gettime(CLOCK_REALTIME, &ts);
                uint64_t ns = (uint64_t)ts.tv_nsec + wait;
                ts.tv_sec += (time_t)(ns / 1000000000u);
                ts.tv_nsec = (long)(ns % 1000000000u);
                pthread_cond_timedwait(&bg_cond, &bg_lock.m, &ts);
        }
        la_mutex_unlock(&bg_lock);
        return NULL;
}

/* Stops every thread; bg_lock held on entry and exit (dropped while joining). */
static void stop_locked(void)
{
        unsigned n = nthreads;
        if (n == 0)
                return;
        stopping = true;
        pthread_cond_broadcast(&bg_cond);
        la_mutex_unlock(&bg_lock);
        for (unsigned k = 0; k < n; k++)
                pthread_join(threads[k], NULL);
        la_mutex_lock(&bg_lock);
        nthreads = 0;
        stopping = false;
}

static int start_locked(void)
{
        unsigned narenas = atomic_load(&la_narenas_total);
        size_t n = max_threads;
        if (n > narenas)
                n = narenas;
        if (n == 0)
                n = 1;
        sigset_t all, old;
        sigfillset(&all);
        pthread_sigmask(SIG_SETMASK, &all, &old);
        int rc = 0;
        for (unsigned k = 0; k < n; k++) {
                if (pthread_create(&threads[k], NULL, bg_main, (void *)(uintptr_t)k) != 0) {
                        rc = -EFAULT;
                        break;
                }
                nthreads = k + 1;
        }
        pthread_sigmask(SIG_SETMASK, &old, NULL);
        if (rc != 0)
                stop_locked();
        return rc;
}

int la_bg_enable(bool on)
{
        la_mutex_lock(&bg_lock);
        if (max_threads == 0)
                max_threads = default_max();
        int rc = 0;
        if (on && !enabled) {
                rc = start_locked();
                enabled = rc == 0;
        } else if (!on && enabled) {
                stop_locked();
                enabled = false;
        }
        la_mutex_unlock(&bg_lock);
        return rc;
}

bool la_bg_enabled(void)
{
        return __atomic_load_n(&enabled, __ATOMIC_RELAXED);
}

int la_bg_set_max(size_t n)
{
        if (n == 0 || n > default_max())
                return -EINVAL;
        la_mutex_lock(&bg_lock);
        int rc = 0;
        if (n != max_threads) {
                max_threads = n;
                if (enabled) {
                        stop_locked();
                        rc = start_locked();
                        enabled = rc == 0;
                }
        }
        la_mutex_unlock(&bg_lock);
        return rc;
}

size_t la_bg_get_max(void)
{
        la_mutex_lock(&bg_lock);
        size_t m = max_threads != 0 ? max_threads : default_max();
        la_mutex_unlock(&bg_lock);
        return m;
}

void la_bg_stats(size_t *n, uint64_t *runs, uint64_t *interval)
{
        la_mutex_lock(&bg_lock);
        *n = nthreads;
        *runs = num_runs;
        *interval = num_runs != 0 ? slept_ns / num_runs : 0;
        la_mutex_unlock(&bg_lock);
}

LA_BOOT void la_bg_boot(void)
{
        if (la_opt.background_thread)
                la_bg_enable(true);
}

void la_bg_prefork(void)
{
        la_mutex_prefork(&bg_lock);
}

void la_bg_postfork_parent(void)
{
        la_mutex_postfork_parent(&bg_lock);
}

void la_bg_postfork_child(void)
{
        /* The threads did not survive the fork: the child starts with them off. */
        la_mutex_postfork_child(&bg_lock);
        pthread_cond_init(&bg_cond, NULL);
        nthreads = 0;
        enabled = false;
        stopping = false;
}
