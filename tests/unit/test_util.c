/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Unit tests of util.c's arithmetic: la_expm1_neg, the e^x - 1 that sampling's
 * probabilities and weights use instead of libm's, against libm's expm1 over the whole
 * range the sampler can ask (x = -size / 2^lg_sample: from -1e-19 to far below -745),
 * near every power of two, and at the edges (0, -0, NaN, -inf, the switch of methods).
 */
#include "../../liballoc/src/os/util.h"

#include <math.h>
#include <stdint.h>

#include "../common/check.h"

static double rel_err(double got, double want)
{
        if (got == want)
                return 0;
        return fabs(got - want) / fabs(want);
}

static void expm1_matches_libm(void)
{
        double worst = 0, at = 0;
        uint64_t s = 0x9e3779b97f4a7c15ull;
        for (int i = 0; i < 2000000; i++) {
                s = s * 6364136223846793005ull + 1442695040888963407ull;
                /* log-uniform magnitudes from 1e-20 to 1e3 */
                double u = (double)(s >> 11) / 9007199254740992.0;
                double x = -pow(10.0, -20.0 + 23.0 * u);
                double e = rel_err(la_expm1_neg(x), expm1(x));
                if (e > worst) {
                        worst = e;
                        at = x;
                }
        }
        if (worst >= 1e-12)
                fprintf(stderr, "  worst relative error %.3g at x = %.17g\n", worst, at);
        EXPECT(worst < 1e-12);
}

static void expm1_powers_of_two(void)
{
        /* What the sampler asks most: size / 2^lg for power-of-two sizes and rates. */
        for (int a = -70; a <= 12; a++)
                for (int d = -2; d <= 2; d++) {
                        double x = -ldexp(1.0, a) * (1.0 + d * 1e-3);
                        EXPECT(rel_err(la_expm1_neg(x), expm1(x)) < 1e-12);
                }
}

static void expm1_edges(void)
{
        EXPECT(la_expm1_neg(0.0) == 0.0);
        EXPECT(la_expm1_neg(-0.0) == 0.0);
        EXPECT(la_expm1_neg(NAN) == 0.0);
        EXPECT(la_expm1_neg(-745.5) == -1.0);
        EXPECT(la_expm1_neg(-1e300) == -1.0);
        EXPECT(la_expm1_neg(-INFINITY) == -1.0);
        EXPECT(la_expm1_neg(-40.5) == expm1(-40.5));
        /* either side of the switch from the series to 2^k e^r */
        EXPECT(rel_err(la_expm1_neg(-0.5), expm1(-0.5)) < 1e-14);
        EXPECT(rel_err(la_expm1_neg(-0.4999999), expm1(-0.4999999)) < 1e-14);
        EXPECT(rel_err(la_expm1_neg(-1e-300), expm1(-1e-300)) < 1e-15);
}

int main(void)
{
        RUN("unit/util", expm1_matches_libm);
        RUN("unit/util", expm1_powers_of_two);
        RUN("unit/util", expm1_edges);
        return check_finish();
}
