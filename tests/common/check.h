/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * check: the one harness of the C and C++ test programs (tests/CONTRACT.md).  A program
 * reports on stdout one line per named check, "PASS: name" or "FAIL: name: reason" (and
 * "SKIP: name: reason"), and returns check_finish(), which is non-zero when anything
 * failed.  Three ways to make lines:
 *
 *   One check, one line:
 *     CHECK(name, cond)               CHECKF(name, cond, fmt, ...)   (the reason formatted)
 *     CHECK_EQ(name, got, want)       unsigned      CHECK_EQ_S(name, got, want)   signed
 *     CHECK_STR(name, got, want)      SKIP(name, reason)
 *   Many checks, one line (a group):
 *     GROUP_BEGIN(name); ...; GROUP_END();     or   RUN(prefix, fn): fn's checks are the
 *     group "prefix/fn";  check_run(name, fn) names it in full.  Inside a group:
 *     EXPECT(cond)                    EXPECTF(cond, fmt, ...)
 *     EXPECT_EQ(got, want)            EXPECT_EQ_AT(what, got, want)   (unsigned)
 *     EXPECT_STR(got, want)
 *     Every failing item is written to stderr with its place (the first 20 of a group);
 *     the group's line is PASS, or FAIL with the first failure and how many failed.  An
 *     EXPECT outside any group is a line of its own (never lost).
 *   A program its runner judges by exit status (tests/stress):
 *     check_fatal(fmt, ...)           "PROG: FAIL: message" on stderr and _exit(1), with
 *                                     write(2) only: usable in a forked child, a signal
 *                                     handler or with a broken heap.  PROG is check_prog.
 *
 * Names are literals or cname(fmt, ...) (a few rotating buffers).  check_label, when set,
 * starts check_finish()'s summary on stderr ("liballoc: 12 checks, 0 failed").
 */
#ifndef TESTS_COMMON_CHECK_H
#define TESTS_COMMON_CHECK_H

#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#ifdef __FILE_NAME__
#define CHECK_FILE __FILE_NAME__
#else
#define CHECK_FILE __FILE__
#endif

#define CHECK_GROUP_SHOWN 20 /* failing items of one group written to stderr */

struct check_state {
        int failures; /* lines that said FAIL */
        int checks;   /* lines that said PASS or FAIL */
        bool in_group;
        char group[256];
        int group_items;
        int group_failed;
        char group_reason[512];
};

static struct check_state check_st;
__attribute__((unused)) static const char *check_label;        /* the summary's first word, if any */
__attribute__((unused)) static const char *check_prog = "test";/* check_fatal's prefix */

__attribute__((format(printf, 1, 2), unused)) static inline const char *cname(const char *fmt,
                                                                               ...)
{
        /* A few rotating buffers so that several formatted names can coexist. */
        static char bufs[8][256];
        static unsigned next;
        char *b = bufs[next++ % 8];
        va_list ap;

        va_start(ap, fmt);
        vsnprintf(b, sizeof(bufs[0]), fmt, ap);
        va_end(ap);
        return b;
}

static inline bool check_line(const char *name, bool ok, const char *reason, const char *file,
                              int line)
{
        check_st.checks++;
        if (ok) {
                printf("PASS: %s\n", name);
        } else {
                check_st.failures++;
                printf("FAIL: %s: %s (%s:%d)\n", name, reason, file, line);
        }
        fflush(stdout);
        return ok;
}

__attribute__((format(printf, 5, 6), unused)) static inline bool
check_result(const char *name, bool ok, const char *file, int line, const char *fmt, ...)
{
        char reason[512] = "";

        if (!ok) {
                va_list ap;

                va_start(ap, fmt);
                vsnprintf(reason, sizeof(reason), fmt, ap);
                va_end(ap);
        }
        return check_line(name, ok, reason, file, line);
}

__attribute__((unused)) static inline void check_skip(const char *name, const char *reason)
{
        printf("SKIP: %s: %s\n", name, reason);
        fflush(stdout);
}

__attribute__((unused)) static inline void check_group_begin(const char *name)
{
        snprintf(check_st.group, sizeof(check_st.group), "%s", name);
        check_st.in_group = true;
        check_st.group_items = 0;
        check_st.group_failed = 0;
        check_st.group_reason[0] = '\0';
}

__attribute__((format(printf, 4, 5), unused)) static inline bool
check_group_item(bool ok, const char *file, int line, const char *fmt, ...)
{
        char reason[400];
        va_list ap;

        if (ok) {
                if (check_st.in_group)
                        check_st.group_items++;
                return true;
        }
        va_start(ap, fmt);
        vsnprintf(reason, sizeof(reason), fmt, ap);
        va_end(ap);
        if (!check_st.in_group) {
                /* Outside a group: a line of its own, named by its place. */
                return check_line(cname("%s:%d", file, line), false, reason, file, line);
        }
        check_st.group_items++;
        if (check_st.group_failed++ == 0)
                snprintf(check_st.group_reason, sizeof(check_st.group_reason), "%s (%s:%d)",
                         reason, file, line);
        if (check_st.group_failed <= CHECK_GROUP_SHOWN)
                fprintf(stderr, "  %s: %s:%d: %s\n", check_st.group, file, line, reason);
        return false;
}

__attribute__((unused)) static inline bool check_group_end(void)
{
        bool ok = check_st.group_failed == 0;

        check_st.checks++;
        if (ok) {
                printf("PASS: %s\n", check_st.group);
        } else {
                check_st.failures++;
                printf("FAIL: %s: %s [%d of %d items failed]\n", check_st.group,
                       check_st.group_reason, check_st.group_failed, check_st.group_items);
        }
        fflush(stdout);
        check_st.group[0] = '\0';
        check_st.in_group = false;
        return ok;
}

/* Runs fn as one group named name. */
__attribute__((unused)) static inline bool check_run(const char *name, void (*fn)(void))
{
        check_group_begin(name);
        fn();
        return check_group_end();
}

__attribute__((unused)) static inline int check_finish(void)
{
        fprintf(stderr, "%s%s%d checks, %d failed\n", check_label ? check_label : "",
                check_label ? ": " : "", check_st.checks, check_st.failures);
        return check_st.failures != 0 ? 1 : 0;
}

/* Writes all of s to stderr with write(2), going on after EINTR. */
static inline void check_write_all(const char *s, size_t n)
{
        while (n > 0) {
                ssize_t w = write(2, s, n);

                if (w < 0) {
                        if (errno == EINTR)
                                continue;
                        return;
                }
                s += w;
                n -= (size_t)w;
        }
}

/* "PROG: FAIL: message" on stderr without allocating, then _exit(1). */
__attribute__((format(printf, 1, 2), noreturn, unused)) static inline void
check_fatal(const char *fmt, ...)
{
        char buf[1024];
        va_list ap;
        int n = snprintf(buf, sizeof(buf), "%s: FAIL: ", check_prog);

        if (n < 0 || (size_t)n >= sizeof(buf))
                n = 0;
        va_start(ap, fmt);
        int m = vsnprintf(buf + n, sizeof(buf) - (size_t)n - 1, fmt, ap);
        va_end(ap);
        if (m > 0)
                n += m;
        if ((size_t)n > sizeof(buf) - 2)
                n = (int)sizeof(buf) - 2;
        buf[n++] = '\n';
        check_write_all(buf, (size_t)n);
        _exit(1);
}

/* One check, one line. */
#define CHECK(name, cond) check_result((name), (cond), CHECK_FILE, __LINE__, "%s", #cond)
#define CHECKF(name, cond, ...) check_result((name), (cond), CHECK_FILE, __LINE__, __VA_ARGS__)
#define CHECK_EQ(name, got, want)                                                                  \
        do {                                                                                       \
                uintmax_t g_ = (uintmax_t)(got), w_ = (uintmax_t)(want);                           \
                check_result((name), g_ == w_, CHECK_FILE, __LINE__,                               \
                             "%s = %ju (0x%jx), want %ju (0x%jx)", #got, g_, g_, w_, w_);          \
        } while (0)
#define CHECK_EQ_S(name, got, want)                                                                \
        do {                                                                                       \
                intmax_t g_ = (intmax_t)(got), w_ = (intmax_t)(want);                              \
                check_result((name), g_ == w_, CHECK_FILE, __LINE__, "%s = %jd, want %jd", #got,   \
                             g_, w_);                                                              \
        } while (0)
#define CHECK_STR(name, got, want)                                                                 \
        do {                                                                                       \
                const char *g_ = (got), *w_ = (want);                                              \
                check_result((name), g_ != NULL && strcmp(g_, w_) == 0, CHECK_FILE, __LINE__,      \
                             "%s = \"%s\", want \"%s\"", #got, g_ ? g_ : "(null)", w_);            \
        } while (0)
#define SKIP(name, reason) check_skip((name), (reason))

/* Groups. */
#define GROUP_BEGIN(name) check_group_begin(name)
#define GROUP_END() check_group_end()
#define RUN(prefix, fn) check_run(cname("%s/%s", (prefix), #fn), fn)
#define EXPECT(cond) check_group_item((cond), CHECK_FILE, __LINE__, "check failed: %s", #cond)
#define EXPECTF(cond, ...) check_group_item((cond), CHECK_FILE, __LINE__, __VA_ARGS__)
#define EXPECT_EQ(got, want)                                                                       \
        do {                                                                                       \
                uintmax_t g_ = (uintmax_t)(got), w_ = (uintmax_t)(want);                           \
                check_group_item(g_ == w_, CHECK_FILE, __LINE__,                                   \
                                 "%s = %ju (0x%jx), want %s = %ju", #got, g_, g_, #want, w_);      \
        } while (0)
#define EXPECT_EQ_AT(what, got, want)                                                              \
        do {                                                                                       \
                uintmax_t g_ = (uintmax_t)(got), w_ = (uintmax_t)(want);                           \
                check_group_item(g_ == w_, CHECK_FILE, __LINE__,                                   \
                                 "%s: %s = %ju (0x%jx), want %ju (0x%jx)", (what), #got, g_, g_,   \
                                 w_, w_);                                                          \
        } while (0)
#define EXPECT_STR(got, want)                                                                      \
        do {                                                                                       \
                const char *g_ = (got), *w_ = (want);                                              \
                check_group_item(g_ != NULL && strcmp(g_, w_) == 0, CHECK_FILE, __LINE__,          \
                                 "%s is \"%s\", want \"%s\"", #got, g_ ? g_ : "(null)", w_);       \
        } while (0)

#endif /* TESTS_COMMON_CHECK_H */
