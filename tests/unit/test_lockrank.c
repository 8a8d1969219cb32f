/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Unit tests of the lock ranks (os/lockrank.h, os/util.h) and the assertion tiers: each
 * case runs in a child process with its stderr in a pipe.  Where the rank check is on
 * (builds without NDEBUG) a lock taken out of order, a second lock of one rank waited
 * for, and a lock without a rank abort with one line naming both locks; locks taken in
 * order, and a second lock of one rank taken by a trylock, do not.  Release builds compile
 * the check and never run it: there every case exits normally.
 */
#include "../../liballoc/src/os/util.h"

#include <signal.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "../common/check.h"

static la_mutex_t ctl = LA_MUTEX_INITIALIZER("mallctl", LA_RANK_CTL);
static la_mutex_t arena1 = LA_MUTEX_INITIALIZER("arena", LA_RANK_ARENA);
static la_mutex_t arena2 = LA_MUTEX_INITIALIZER("arena", LA_RANK_ARENA);
static la_mutex_t prof = LA_MUTEX_INITIALIZER("profiling", LA_RANK_PROF);
static la_mutex_t unranked = LA_MUTEX_INITIALIZER("nameless", LA_RANK_NONE);

#define CHILD_ABORTED 3 /* the exit status of a child whose la_abort_hook ran */

static void child_abort(void)
{
        _exit(CHILD_ABORTED);
}

/* Runs fn in a child; returns its exit status (-1: killed) and its stderr in out. */
static int in_child(void (*fn)(void), char *out, size_t cap)
{
        int p[2];
        if (pipe(p) != 0)
                return -2;
        fflush(NULL);
        pid_t pid = fork();
        if (pid == 0) {
                close(p[0]);
                dup2(p[1], STDERR_FILENO);
                la_abort_hook = child_abort;
                fn();
                _exit(0);
        }
        close(p[1]);
        size_t n = 0;
        ssize_t r;
        while (n + 1 < cap && (r = read(p[0], out + n, cap - 1 - n)) > 0)
                n += (size_t)r;
        out[n] = '\0';
        close(p[0]);
        int st;
        if (waitpid(pid, &st, 0) != pid || !WIFEXITED(st))
                return -1;
        return WEXITSTATUS(st);
}

static void take_in_order(void)
{
        la_mutex_lock(&ctl);
        la_mutex_lock(&arena1);
        EXPECT(la_mutex_trylock(&arena2)); /* one rank, by trylock: allowed */
        la_mutex_lock(&prof);
        la_mutex_unlock(&prof);
        la_mutex_unlock(&arena2);
        la_mutex_unlock(&arena1);
        /* Released: a lower rank may be taken again. */
        la_mutex_lock(&arena2);
        la_mutex_unlock(&arena2);
        la_mutex_unlock(&ctl);
        if (check_st.group_failed != 0)
                _exit(1);
}

static void take_out_of_order(void)
{
        la_mutex_lock(&prof);
        la_mutex_lock(&ctl);
        la_mutex_unlock(&ctl);
        la_mutex_unlock(&prof);
}

static void take_same_rank(void)
{
        la_mutex_lock(&arena1);
        la_mutex_lock(&arena2);
        la_mutex_unlock(&arena2);
        la_mutex_unlock(&arena1);
}

static void take_unranked(void)
{
        la_mutex_lock(&unranked);
        la_mutex_unlock(&unranked);
}

static void in_order_passes(void)
{
        char out[512];
        EXPECT_EQ(in_child(take_in_order, out, sizeof(out)), 0);
        EXPECT(out[0] == '\0');
}

/* One line, from la_fatal, naming both locks; or nothing where the check is off. */
static void expect_violation(void (*fn)(void), const char *line)
{
        char out[512];
        int rc = in_child(fn, out, sizeof(out));
        if (!la_lockrank_on) {
                EXPECT_EQ(rc, 0);
                EXPECT(out[0] == '\0');
                return;
        }
        EXPECT_EQ(rc, CHILD_ABORTED);
        EXPECT(strcmp(out, line) == 0);
        if (strcmp(out, line) != 0)
                fprintf(stderr, "  got: %s  expected: %s", out, line);
}

static void out_of_order_aborts(void)
{
        expect_violation(take_out_of_order,
                         "<jemalloc>: liballoc: lock order violated: taking the mallctl lock "
                         "(rank ctl) while holding the profiling lock (rank prof)\n");
}

static void same_rank_waited_for_aborts(void)
{
        expect_violation(take_same_rank,
                         "<jemalloc>: liballoc: lock order violated: taking the arena lock "
                         "(rank arena) while holding the arena lock (rank arena)\n");
}

static void unranked_aborts(void)
{
        expect_violation(take_unranked, "<jemalloc>: liballoc: lock order violated: taking "
                                        "the nameless lock (rank none), which has no rank\n");
}

static void assert_internal_false(void)
{
        LA_ASSERT_INTERNAL(1 + 1 == 3);
}

static void assert_cheap_false(void)
{
        LA_ASSERT(1 + 1 == 3);
}

/* The cheap tier runs in every build, the internal one where NDEBUG is not defined. */
static void assertion_tiers(void)
{
        char out[512];
        EXPECT_EQ(in_child(assert_cheap_false, out, sizeof(out)), CHILD_ABORTED);
        EXPECT(strstr(out, "assertion failed: 1 + 1 == 3 at ") != NULL);
        int rc = in_child(assert_internal_false, out, sizeof(out));
        EXPECT_EQ(rc, la_debug ? CHILD_ABORTED : 0);
}

int main(void)
{
        RUN("unit/lockrank", in_order_passes);
        RUN("unit/lockrank", out_of_order_aborts);
        RUN("unit/lockrank", same_rank_waited_for_aborts);
        RUN("unit/lockrank", unranked_aborts);
        RUN("unit/lockrank", assertion_tiers);
        return check_finish();
}
