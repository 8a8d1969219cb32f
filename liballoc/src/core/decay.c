/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * decay: the backlog arithmetic.  The table holds smootherstep(i / 200) for i = 1..200 in
 * 24-bit fixed point (generated once with h(x) = 6x^5 - 15x^4 + 10x^3, as jemalloc does).
 * backlog[LA_DECAY_NSTEPS - 1] is the newest epoch, whose pages are all allowed to stay;
 * backlog[0] the oldest, almost all purged.
 */
#include "core/decay.h"

#include <string.h>

const uint32_t la_decay_h[LA_DECAY_NSTEPS] = {
        21, 165, 554, 1302, 2524, 4328,
        6821, 10103, 14275, 19430, 25661, 33056,
        41699, 51673, 63055, 75921, 90343, 106389,
        124125, 143613, 164913, 188081, 213170, 240231,
        269312, 300457, 333708, 369104, 406681, 446473,
        488511, 532823, 579435, 628370, 679648, 733287,
        789304, 847711, 908519, 971736, 1037370, 1105422,
        1175897, 1248792, 1324105, 1401831, 1481964, 1564495,
        1649413, 1736704, 1826355, 1918348, 2012665, 2109285,
        2208187, 2309347, 2412739, 2518336, 2626109, 2736028,
        2848061, 2962174, 3078333, 3196500, 3316639, 3438710,
        3562673, 3688485, 3816105, 3945487, 4076587, 4209358,
        4343753, 4479722, 4617216, 4756185, 4896576, 5038338,
        5181417, 5325759, 5471309, 5618011, 5765809, 5914645,
        6064463, 6215202, 6366805, 6519212, 6672363, 6826198,
        6980656, 7135675, 7291195, 7447152, 7603486, 7760133,
        7917032, 8074119, 8231332, 8388608, 8545884, 8703097,
        8860184, 9017083, 9173730, 9330064, 9486021, 9641541,
        9796560, 9951018, 10104853, 10258004, 10410411, 10562014,
        10712753, 10862571, 11011407, 11159205, 11305907, 11451457,
        11595799, 11738878, 11880640, 12021031, 12160000, 12297494,
        12433463, 12567858, 12700629, 12831729, 12961111, 13088731,
        13214543, 13338506, 13460577, 13580716, 13698883, 13815042,
        13929155, 14041188, 14151107, 14258880, 14364477, 14467869,
        14569029, 14667931, 14764551, 14858868, 14950861, 15040512,
        15127803, 15212721, 15295252, 15375385, 15453111, 15528424,
        15601319, 15671794, 15739846, 15805480, 15868697, 15929505,
        15987912, 16043929, 16097568, 16148846, 16197781, 16244393,
        16288705, 16330743, 16370535, 16408112, 16443508, 16476759,
        16507904, 16536985, 16564046, 16589135, 16612303, 16633603,
        16653091, 16670827, 16686873, 16701295, 16714161, 16725543,
        16735517, 16744160, 16751555, 16757786, 16762941, 16767113,
        16770395, 16772888, 16774692, 16775914, 16776662, 16777051,
        16777195, 16777216,};

bool la_decay_ms_valid(ssize_t ms)
{
        return ms >= -1 && ms <= LA_DECAY_MS_MAX;
}

void la_decay_init(la_decay_t *d, ssize_t ms, uint64_t now_ns, size_t npages_now)
{
        memset(d, 0, sizeof(*d));
        d->ms = ms;
        d->interval_ns = ms > 0 ? (uint64_t)ms * 1000000ull / LA_DECAY_NSTEPS : 0;
        if (d->interval_ns == 0 && ms > 0)
                d->interval_ns = 1;
        d->epoch_ns = now_ns;
        d->nunpurged = npages_now;
}

static void shift_backlog(la_decay_t *d, uint64_t nepochs)
{
        if (nepochs >= LA_DECAY_NSTEPS) {
                memset(d->backlog, 0, sizeof(d->backlog));
                return;
        }
        size_t n = (size_t)nepochs;
        memmove(d->backlog, d->backlog + n, (LA_DECAY_NSTEPS - n) * sizeof(size_t));
        memset(d->backlog + LA_DECAY_NSTEPS - n, 0, n * sizeof(size_t));
}

void la_decay_update(la_decay_t *d, uint64_t now_ns, size_t npages_now)
{
        if (d->ms <= 0)
                return;
        if (now_ns < d->epoch_ns)
                now_ns = d->epoch_ns; /* clocks that step back leave the epoch alone */
        uint64_t nepochs = (now_ns - d->epoch_ns) / d->interval_ns;
        if (nepochs > 0) {
                shift_backlog(d, nepochs);
                d->epoch_ns += nepochs * d->interval_ns;
        }
        /* Pages that became unused since the last decision belong to the newest epoch. */
        if (npages_now > d->nunpurged)
                d->backlog[LA_DECAY_NSTEPS - 1] += npages_now - d->nunpurged;
        d->nunpurged = npages_now;
}

size_t la_decay_limit(la_decay_t *d, uint64_t now_ns, size_t npages_now)
{
        if (d->ms == 0)
                return 0;
        if (d->ms < 0)
                return SIZE_MAX;
        la_decay_update(d, now_ns, npages_now);
        uint64_t sum = 0;
        for (unsigned i = 0; i < LA_DECAY_NSTEPS; i++)
                sum += (uint64_t)d->backlog[i] * la_decay_h[i];
        return (size_t)(sum >> LA_DECAY_H_BITS);
}

void la_decay_purged(la_decay_t *d, size_t npages_now)
{
        d->nunpurged = npages_now;
}
