/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * check: the unit tests' harness.  CHECK records a failure with its location and goes on;
 * each test function is one named test, reported as PASS or FAIL; main returns non-zero
 * if any failed.
 */
#ifndef UNIT_CHECK_H
#define UNIT_CHECK_H

#include <stdio.h>

static int check_failures_in_test;
static int check_failed_tests;

#define CHECK(cond)                                                                        \
        do {                                                                               \
                if (!(cond)) {                                                             \
                        check_failures_in_test++;                                          \
                        fprintf(stderr, "  %s:%d: check failed: %s\n", __FILE__, __LINE__, \
                                #cond);                                                    \
                }                                                                          \
        } while (0)

#define CHECK_EQ_U(a, b)                                                                   \
        do {                                                                               \
                unsigned long long va_ = (unsigned long long)(a);                          \
                unsigned long long vb_ = (unsigned long long)(b);                          \
                if (va_ != vb_) {                                                          \
                        check_failures_in_test++;                                          \
                        fprintf(stderr, "  %s:%d: %s == %llu, expected %s == %llu\n",      \
                                __FILE__, __LINE__, #a, va_, #b, vb_);                     \
                }                                                                          \
        } while (0)

static inline void check_run(const char *suite, const char *name, void (*fn)(void))
{
        check_failures_in_test = 0;
        fn();
        if (check_failures_in_test == 0) {
                printf("PASS: unit/%s/%s\n", suite, name);
        } else {
                printf("FAIL: unit/%s/%s: %d check(s) failed\n", suite, name,
                       check_failures_in_test);
                check_failed_tests++;
        }
        fflush(stdout);
}

#define RUN(suite, fn) check_run(suite, #fn, fn)

#endif
