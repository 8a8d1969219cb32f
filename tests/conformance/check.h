/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Tiny check harness shared by the conformance programs.
 *
 * Every check prints one line on stdout, "PASS: name" or "FAIL: name: reason", and
 * failures are counted; check_finish() returns the exit status (non-zero if anything
 * failed).  A "group" folds a loop of checks into one line: GROUP_BEGIN(name), any number
 * of GCHECK*(...), GROUP_END() prints PASS, or FAIL with the first failure's reason and the
 * number of failing items.
 *
 * The runner (run.sh) runs each program once against liballoc and once with Debian's
 * jemalloc preloaded and tells the program which one through CONF_IMPL=liballoc|jemalloc;
 * impl_is_jemalloc() answers that, for the few checks where liballoc deliberately differs
 * from jemalloc 5.3.0 (see api.md).  check_init() also verifies that malloc really resolves
 * into the library the runner claims, so a broken LD_PRELOAD cannot pass silently.
 */
#ifndef CONFORMANCE_CHECK_H
#define CONFORMANCE_CHECK_H

#include <dlfcn.h>
#include <sched.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#ifdef __FILE_NAME__
#define CHECK_FILE __FILE_NAME__
#else
#define CHECK_FILE __FILE__
#endif

struct check_state {
        int failures;
        int checks;
        char group[256];
        int group_items;
        int group_failed;
        char group_reason[512];
        int impl; /* 0 = liballoc, 1 = jemalloc */
};

static struct check_state check_st;

__attribute__((format(printf, 1, 2))) static inline const char *cname(const char *fmt, ...)
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

__attribute__((format(printf, 5, 6))) static inline bool
check_result(const char *name, bool ok, const char *file, int line, const char *fmt, ...)
{
        check_st.checks++;
        if (ok) {
                printf("PASS: %s\n", name);
        } else {
                char reason[512];
                va_list ap;

                va_start(ap, fmt);
                vsnprintf(reason, sizeof(reason), fmt, ap);
                va_end(ap);
                check_st.failures++;
                printf("FAIL: %s: %s (%s:%d)\n", name, reason, file, line);
        }
        fflush(stdout);
        return ok;
}

static inline void check_skip(const char *name, const char *reason)
{
        printf("SKIP: %s: %s\n", name, reason);
        fflush(stdout);
}

static inline void check_group_begin(const char *name)
{
        snprintf(check_st.group, sizeof(check_st.group), "%s", name);
        check_st.group_items = 0;
        check_st.group_failed = 0;
        check_st.group_reason[0] = '\0';
}

__attribute__((format(printf, 4, 5))) static inline bool
check_group_item(bool ok, const char *file, int line, const char *fmt, ...)
{
        check_st.group_items++;
        if (!ok) {
                if (check_st.group_failed++ == 0) {
                        char reason[400];
                        va_list ap;

                        va_start(ap, fmt);
                        vsnprintf(reason, sizeof(reason), fmt, ap);
                        va_end(ap);
                        snprintf(check_st.group_reason, sizeof(check_st.group_reason), "%s (%s:%d)",
                                 reason, file, line);
                }
        }
        return ok;
}

static inline bool check_group_end(void)
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
        return ok;
}

/* One-line checks. */
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

/* Grouped checks (between GROUP_BEGIN and GROUP_END). */
#define GROUP_BEGIN(name) check_group_begin(name)
#define GROUP_END() check_group_end()
#define GCHECK(cond, ...) check_group_item((cond), CHECK_FILE, __LINE__, __VA_ARGS__)
#define GCHECK_EQ(what, got, want)                                                                 \
        do {                                                                                       \
                uintmax_t g_ = (uintmax_t)(got), w_ = (uintmax_t)(want);                           \
                check_group_item(g_ == w_, CHECK_FILE, __LINE__,                                   \
                                 "%s: %s = %ju (0x%jx), want %ju (0x%jx)", (what), #got, g_, g_,   \
                                 w_, w_);                                                          \
        } while (0)

/*
 * Returns p through a volatile, so the compiler cannot reason about it from what it knows of
 * the allocation functions (alignment attributes, "malloc never fails", elided
 * malloc/free pairs): the checks must observe the library, not the optimiser.
 */
static inline void *escape(void *p)
{
        void *volatile v = p;
        return v;
}

static inline bool aligned_to(const void *p, size_t al)
{
        volatile uintptr_t a = (uintptr_t)p;
        return (a & (al - 1)) == 0;
}

/* True when the runner says this run is Debian's jemalloc (CONF_IMPL=jemalloc). */
static inline bool impl_is_jemalloc(void)
{
        return check_st.impl == 1;
}

static inline const char *impl_name(void)
{
        return check_st.impl == 1 ? "jemalloc" : "liballoc";
}

/*
 * Reads CONF_IMPL (liballoc or jemalloc; when unset, guessed from where malloc lives) and
 * checks that malloc resolves into that library: the file CONF_LIB names when the runner
 * sets it (compared by device and inode), else a library whose name says so.
 */
static inline void check_init(void)
{
        const char *want = getenv("CONF_IMPL");
        const char *want_lib = getenv("CONF_LIB");
        void *sym = dlsym(RTLD_DEFAULT, "malloc");
        Dl_info info;
        const char *lib = NULL;
        bool ok;

        if (sym != NULL && dladdr(sym, &info) != 0)
                lib = info.dli_fname;
        if (want == NULL || want[0] == '\0')
                want = (lib != NULL && strstr(lib, "jemalloc") != NULL) ? "jemalloc" : "liballoc";
        check_st.impl = strcmp(want, "jemalloc") == 0 ? 1 : 0;
        if (lib == NULL) {
                ok = false;
        } else if (want_lib != NULL && want_lib[0] != '\0') {
                struct stat a, b;

                ok = stat(lib, &a) == 0 && stat(want_lib, &b) == 0 && a.st_dev == b.st_dev &&
                     a.st_ino == b.st_ino;
        } else {
                ok = strstr(lib, check_st.impl == 1 ? "jemalloc" : "liballoc") != NULL;
        }
        CHECKF("harness/malloc_resolves_to_impl", ok,
               "CONF_IMPL=%s CONF_LIB=%s but malloc comes from %s", want,
               want_lib ? want_lib : "(unset)", lib ? lib : "(unknown)");
}

/* jemalloc's default opt.narenas: 4 per CPU the process may run on, 1 with one CPU. */
static inline unsigned default_narenas(void)
{
        cpu_set_t set;
        long n;

        CPU_ZERO(&set);
        if (sched_getaffinity(0, sizeof(set), &set) == 0)
                n = CPU_COUNT(&set);
        else
                n = sysconf(_SC_NPROCESSORS_ONLN);
        if (n <= 1)
                return 1;
        return n * 4 > 4094 ? 4094 : (unsigned)(n * 4);
}

static inline int check_finish(void)
{
        fprintf(stderr, "%s: %d checks, %d failed\n", impl_name(), check_st.checks,
                check_st.failures);
        return check_st.failures != 0 ? 1 : 0;
}

/* Hides constants from the compiler so it neither warns about nor folds huge sizes. */
static inline size_t opaque(size_t x)
{
        volatile size_t v = x;
        return v;
}

/* Hides where a pointer came from, so the compiler does not judge accesses to the usable
 * size (beyond the request, or after a failed realloc) by the allocation functions'
 * attributes. */
static inline const void *launder(const void *p)
{
        const void *volatile v = p;
        return v;
}

/* Writes / checks a pattern derived from seed over n bytes. */
static inline void fill(void *p, size_t n, unsigned seed)
{
        unsigned char *c = (unsigned char *)launder(p);
        for (size_t i = 0; i < n; i++)
                c[i] = (unsigned char)(seed + i * 7 + (i >> 8));
}

static inline bool verify(const void *p, size_t n, unsigned seed)
{
        const unsigned char *c = launder(p);
        for (size_t i = 0; i < n; i++)
                if (c[i] != (unsigned char)(seed + i * 7 + (i >> 8)))
                        return false;
        return true;
}

#endif /* CONFORMANCE_CHECK_H */
