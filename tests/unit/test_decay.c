/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Unit tests of the decay curve: the smootherstep table, and how many unused pages the
 * curve lets stay as time passes (all of them at first, none after decay_ms), with the
 * special values 0 (purge at once) and -1 (never).
 */
#include "../../liballoc/src/core/decay.h"

#include "../common/check.h"

#define MS 1000000ull

static void table_is_smootherstep(void)
{
        EXPECT_EQ(la_decay_h[LA_DECAY_NSTEPS - 1], 1u << 24);
        for (unsigned i = 1; i < LA_DECAY_NSTEPS; i++)
                EXPECT(la_decay_h[i] > la_decay_h[i - 1]);
        /* h(0.5) = 0.5 */
        EXPECT_EQ(la_decay_h[99], 1u << 23);
        EXPECT(la_decay_h[0] < 1000); /* h(0.005) ~ 0.0012 * 2^24 / 1000 */
}

static void fresh_pages_all_stay(void)
{
        la_decay_t d;
        la_decay_init(&d, 1000, 0, 0);
        EXPECT_EQ(la_decay_limit(&d, 0, 1000), 1000);
}

static void pages_decay_along_the_curve(void)
{
        la_decay_t d;
        la_decay_init(&d, 1000, 0, 0);
        la_decay_limit(&d, 0, 1000);
        size_t half = la_decay_limit(&d, 500 * MS, 1000);
        EXPECT(half > 400 && half < 600);
        size_t late = la_decay_limit(&d, 900 * MS, 1000);
        EXPECT(late < 30);
        EXPECT(late < half);
        EXPECT_EQ(la_decay_limit(&d, 1000 * MS, 1000), 0);
}

static void newer_pages_outlive_older_ones(void)
{
        la_decay_t d;
        la_decay_init(&d, 1000, 0, 0);
        la_decay_limit(&d, 0, 100);             /* 100 pages at t=0 */
        la_decay_limit(&d, 800 * MS, 200);      /* 100 more at t=0.8s */
        size_t lim = la_decay_limit(&d, 1000 * MS, 200);
        /* the first 100 are gone, the second ~ h(0.8) = 0.94 of them remain */
        EXPECT(lim >= 85 && lim <= 100);
}

static void zero_and_never(void)
{
        la_decay_t d;
        la_decay_init(&d, 0, 0, 0);
        EXPECT_EQ(la_decay_limit(&d, 0, 500), 0);
        la_decay_init(&d, -1, 0, 0);
        EXPECT_EQ(la_decay_limit(&d, 1000000 * MS, 500), SIZE_MAX);
        EXPECT(la_decay_ms_valid(-1));
        EXPECT(!la_decay_ms_valid(-2));
        EXPECT(la_decay_ms_valid(18446744072000ll));
        EXPECT(!la_decay_ms_valid(18446744072001ll));
}

static void clock_going_back_is_harmless(void)
{
        la_decay_t d;
        la_decay_init(&d, 1000, 500 * MS, 0);
        EXPECT_EQ(la_decay_limit(&d, 100 * MS, 10), 10);
}

int main(void)
{
        RUN("unit/decay", table_is_smootherstep);
        RUN("unit/decay", fresh_pages_all_stay);
        RUN("unit/decay", pages_decay_along_the_curve);
        RUN("unit/decay", newer_pages_outlive_older_ones);
        RUN("unit/decay", zero_and_never);
        RUN("unit/decay", clock_going_back_is_harmless);
        return check_finish();
}
