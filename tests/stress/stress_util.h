/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Helpers shared by the stress programs (failures go through check_fatal of
 * tests/common/check.h, which writes with write(2) and _exit()s: usable in forked children
 * and with a broken heap; stress_begin names the program in check_prog): a splitmix64 PRNG
 * and log-uniform size picker, address-derived content patterns, RSS from /proc/self/statm,
 * an alarm() watchdog that turns a deadlock into a failure, argument parsing, and a check
 * that LD_PRELOAD really mapped the allocator under test (ld.so only warns when it cannot).
 * Nothing in this header allocates except stress_check_preload() (stdio, at startup).
 */
#ifndef STRESS_UTIL_H
#define STRESS_UTIL_H

#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "../common/check.h"

#define STRESS_OK ((size_t)-1)

/* Set to 1 in a forked child: the watchdog then reports a child deadlock (exit status 3).
 * The child calls alarm() itself: pending alarms are not inherited. */
static volatile sig_atomic_t stress_in_child;

static inline double stress_now(void)
{
        struct timespec ts;

        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* splitmix64: one 64-bit word of state, good enough for test decisions. */
static inline uint64_t stress_mix64(uint64_t z)
{
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
        return z ^ (z >> 31);
}

static inline uint64_t rng_next(uint64_t *s)
{
        *s += 0x9E3779B97F4A7C15ULL;
        return stress_mix64(*s);
}

static inline size_t rng_below(uint64_t *s, size_t n)
{
        return n ? (size_t)(rng_next(s) % n) : 0;
}

static inline unsigned stress_log2(size_t v)
{
        unsigned k = 0;

        while (v >>= 1)
                k++;
        return k;
}

/* Log-uniform size in [lo, hi]: pick an octave uniformly, then a size inside it. */
static inline size_t rng_log_size(uint64_t *s, size_t lo, size_t hi)
{
        unsigned klo = stress_log2(lo), khi = stress_log2(hi);
        unsigned k = klo + (unsigned)rng_below(s, khi - klo + 1);
        size_t base = (size_t)1 << k;
        size_t v = base + rng_below(s, base);

        if (v < lo)
                v = lo;
        if (v > hi)
                v = hi;
        return v;
}

/*
 * Hide a pointer's origin from the optimizer so that it can neither drop a malloc/free
 * pair nor assume that memory returned by calloc reads as zero.
 */
static inline void *launder(void *p)
{
        __asm__ volatile("" : "+r"(p) : : "memory");
        return p;
}

/*
 * Content patterns: byte k of word i (offset 8 * i + k) of a block with cookie c is byte k
 * of c ^ (i * golden ratio).  Blocks up to PAT_DENSE_MAX are filled completely; larger
 * ones get a PAT_STAMP-byte stamp at the start of every PAT_PAGE page plus their last
 * PAT_STAMP bytes, which still catches any page shared by two blocks or lost by realloc
 * while keeping multi-MiB blocks cheap.
 */
#define PAT_DENSE_MAX ((size_t)64 << 10)
#define PAT_PAGE ((size_t)4096)
#define PAT_STAMP ((size_t)64)

static inline uint64_t pat_word(uint64_t cookie, size_t i)
{
        return cookie ^ ((uint64_t)i * 0x9E3779B97F4A7C15ULL);
}

static inline void pat_fill_range(unsigned char *p, size_t a, size_t b, uint64_t cookie)
{
        size_t off = a;

        while (off < b) {
                size_t in = off % 8;
                uint64_t v = pat_word(cookie, off / 8);
                unsigned char t[8];

                if (in == 0 && off + 8 <= b) {
                        memcpy(p + off, &v, 8);
                        off += 8;
                        continue;
                }
                memcpy(t, &v, 8);
                for (; in < 8 && off < b; in++, off++)
                        p[off] = t[in];
        }
}

static inline size_t pat_check_range(const unsigned char *p, size_t a, size_t b,
                                     uint64_t cookie)
{
        size_t off = a;

        while (off < b) {
                size_t in = off % 8;
                uint64_t v = pat_word(cookie, off / 8);
                unsigned char t[8];

                if (in == 0 && off + 8 <= b) {
                        uint64_t got;

                        memcpy(&got, p + off, 8);
                        if (got == v) {
                                off += 8;
                                continue;
                        }
                }
                memcpy(t, &v, 8);
                for (; in < 8 && off < b; in++, off++)
                        if (p[off] != t[in])
                                return off;
        }
        return STRESS_OK;
}

static inline void pat_fill(void *dst, size_t n, uint64_t cookie)
{
        unsigned char *p = dst;

        if (n <= PAT_DENSE_MAX) {
                pat_fill_range(p, 0, n, cookie);
                return;
        }
        for (size_t ps = 0; ps < n; ps += PAT_PAGE)
                pat_fill_range(p, ps, ps + PAT_STAMP < n ? ps + PAT_STAMP : n, cookie);
        pat_fill_range(p, n - PAT_STAMP, n, cookie);
}

/*
 * Check the first n_check bytes of a block that pat_fill() filled for n_fill bytes
 * (n_check < n_fill after a shrinking realloc).  Returns STRESS_OK or the offset of the
 * first byte that differs from the pattern.
 */
static inline size_t pat_check(const void *src, size_t n_check, size_t n_fill, uint64_t cookie)
{
        const unsigned char *p = src;
        size_t off;

        if (n_check > n_fill)
                n_check = n_fill;
        if (n_fill <= PAT_DENSE_MAX)
                return pat_check_range(p, 0, n_check, cookie);
        for (size_t ps = 0; ps < n_check; ps += PAT_PAGE) {
                off = pat_check_range(p, ps, ps + PAT_STAMP < n_check ? ps + PAT_STAMP : n_check,
                                      cookie);
                if (off != STRESS_OK)
                        return off;
        }
        if (n_fill - PAT_STAMP < n_check)
                return pat_check_range(p, n_fill - PAT_STAMP, n_check, cookie);
        return STRESS_OK;
}

/* Returns STRESS_OK, or the offset of the first non-zero byte. */
static inline size_t zero_check(const void *src, size_t n)
{
        const unsigned char *p = src;
        size_t i = 0;

        for (; i + 8 <= n; i += 8) {
                uint64_t got;

                memcpy(&got, p + i, 8);
                if (got != 0)
                        break;
        }
        for (; i < n; i++)
                if (p[i] != 0)
                        return i;
        return STRESS_OK;
}

/* Resident set size in bytes, from /proc/self/statm (second field, in pages). */
static inline size_t stress_rss(void)
{
        char buf[128];
        int fd = open("/proc/self/statm", O_RDONLY | O_CLOEXEC);
        ssize_t n;
        unsigned long long size_pages = 0, rss_pages = 0;

        if (fd < 0)
                check_fatal("open /proc/self/statm: %s", strerror(errno));
        n = read(fd, buf, sizeof(buf) - 1);
        close(fd);
        if (n <= 0)
                check_fatal("read /proc/self/statm failed");
        buf[n] = '\0';
        if (sscanf(buf, "%llu %llu", &size_pages, &rss_pages) != 2)
                check_fatal("cannot parse /proc/self/statm: %s", buf);
        return (size_t)rss_pages * (size_t)sysconf(_SC_PAGESIZE);
}

#ifdef RTLD_DEFAULT
/* Purges every arena through mallctl("arena.<MALLCTL_ARENAS_ALL>.purge") when the
 * allocator has mallctl (liballoc, jemalloc), so that RSS shows what the allocator still
 * uses rather than the freed pages its decay keeps on purpose; 0 when it has none. */
static inline int stress_purge_all_arenas(void)
{
        int (*ctl)(const char *, void *, size_t *, void *, size_t);

        *(void **)&ctl = dlsym(RTLD_DEFAULT, "mallctl");
        if (ctl == NULL)
                return 0;
        if (ctl("arena.4096.purge", NULL, NULL, NULL, 0) != 0)
                check_fatal("mallctl(\"arena.4096.purge\") failed");
        return 1;
}
#endif

/* Messages prepared by stress_watchdog(), so that the handler makes a single write(). */
static char stress_wd_msg[2][160];

static inline void stress_watchdog_fired(int sig)
{
        const char *m = stress_wd_msg[stress_in_child ? 1 : 0];

        (void)sig;
        check_write_all(m, strlen(m));
        _exit(stress_in_child ? 3 : 2);
}

/*
 * Arm an alarm() that fails the test after `seconds` (STRESS_WATCHDOG in the environment
 * overrides it, 0 disables).  The handler stays installed across fork(), so a child only
 * has to call alarm() itself after setting stress_in_child.
 */
static inline void stress_watchdog(unsigned seconds)
{
        const char *env = getenv("STRESS_WATCHDOG");
        struct sigaction sa;

        if (env && *env)
                seconds = (unsigned)strtoul(env, NULL, 10);
        snprintf(stress_wd_msg[0], sizeof(stress_wd_msg[0]),
                 "%s: FAIL: watchdog fired: the test did not finish in %u s (deadlock?)\n",
                 check_prog, seconds);
        /* Not a FAIL line of its own: the parent reports the child's exit status 3. */
        snprintf(stress_wd_msg[1], sizeof(stress_wd_msg[1]),
                 "%s: watchdog fired in a forked child (deadlock?)\n", check_prog);
        memset(&sa, 0, sizeof(sa));
        sa.sa_handler = stress_watchdog_fired;
        sigemptyset(&sa.sa_mask);
        if (sigaction(SIGALRM, &sa, NULL) != 0)
                check_fatal("sigaction(SIGALRM): %s", strerror(errno));
        alarm(seconds);
}

/*
 * If STRESS_EXPECT_LIB names a file, fail unless it is mapped into this process: ld.so
 * only prints a warning and goes on with glibc's malloc when a preload cannot be loaded.
 */
static inline void stress_check_preload(void)
{
        const char *want = getenv("STRESS_EXPECT_LIB");
        char line[4096];
        FILE *f;
        int found = 0;

        if (!want || !*want)
                return;
        f = fopen("/proc/self/maps", "r");
        if (!f)
                check_fatal("fopen /proc/self/maps: %s", strerror(errno));
        while (!found && fgets(line, sizeof(line), f))
                found = strstr(line, want) != NULL;
        fclose(f);
        if (!found)
                check_fatal("%s is not mapped: LD_PRELOAD did not take effect", want);
}

/* argv[i] as a number in [min, max], or def when absent; fails on garbage. */
static inline long stress_arg(int argc, char **argv, int i, long def, long min, long max)
{
        char *end;
        long v;

        if (i >= argc)
                return def;
        errno = 0;
        v = strtol(argv[i], &end, 10);
        if (errno || end == argv[i] || *end || v < min || v > max)
                check_fatal("argument %d (\"%s\") must be a number in [%ld, %ld]", i, argv[i],
                            min, max);
        return v;
}

/* Common start of every main(): name, watchdog, preload check. */
static inline void stress_begin(const char *name, unsigned watchdog_s)
{
        check_prog = name;
        stress_watchdog(watchdog_s);
        stress_check_preload();
}

#endif /* STRESS_UTIL_H */
