/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * tests/bench/bench.h: helpers shared by the benchmark workloads in tests/bench/ —
 * command-line options, a small PRNG, size distributions, stamping/checking object
 * contents, RSS reading, and the "ok"/"FAILED" result lines that run.py reads.
 *
 * Header-only (everything is static inline); include it before any system header.
 * The workloads call plain malloc/free/realloc/calloc and link nothing special: the
 * allocator under test is chosen with LD_PRELOAD.
 */
#ifndef BENCH_H
#define BENCH_H

#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif

#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define BENCH_PAGE 4096u

/* Options common to every workload; the meaning of -n and -s is per workload. */
struct bench_opt {
        long threads;           /* -t: worker threads (multi-threaded workloads) */
        long iters;             /* -n: main iteration count */
        long size;              /* -s: a size parameter (bytes, or MiB where stated) */
        long scale;             /* -f: percent applied to the default -n (100 = default) */
        uint64_t seed;          /* -r: PRNG seed */
        bool iters_given;       /* -n was given explicitly (then -f is ignored) */
};

static const char *bench_name = "bench";

static inline void bench_fail(const char *fmt, ...)
        __attribute__((noreturn, format(printf, 1, 2)));

/* Report a wrong result or an allocation failure and exit non-zero. */
static inline void bench_fail(const char *fmt, ...)
{
        va_list ap;

        fflush(stdout);
        fprintf(stderr, "%s: FAILED: ", bench_name);
        va_start(ap, fmt);
        vfprintf(stderr, fmt, ap);
        va_end(ap);
        fputc('\n', stderr);
        exit(1);
}

/* Print the single success line; run.py reads key=value pairs from it. */
static inline void bench_ok(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static inline void bench_ok(const char *fmt, ...)
{
        va_list ap;

        printf("%s: ok ", bench_name);
        va_start(ap, fmt);
        vprintf(fmt, ap);
        va_end(ap);
        putchar('\n');
        fflush(stdout);
}

static inline long bench_parse_long(const char *s, char opt)
{
        char *end;
        long v;

        errno = 0;
        v = strtol(s, &end, 0);
        if (errno != 0 || end == s || *end != '\0' || v < 0) {
                fprintf(stderr, "%s: bad value for -%c: '%s'\n", bench_name, opt, s);
                exit(2);
        }
        return v;
}

/*
 * Parse -t THREADS -n ITERS -s SIZE -f PERCENT -r SEED -h.  The caller fills *o with
 * its defaults first; usage is the workload-specific help text.  On return o->iters
 * has -f applied (unless -n was explicit) and is at least 1; o->threads is at least 1.
 */
static inline void bench_parse(int argc, char **argv, const char *name, const char *usage,
                               struct bench_opt *o)
{
        int c;

        bench_name = name;
        o->scale = 100;
        o->iters_given = false;
        while ((c = getopt(argc, argv, "t:n:s:f:r:h")) != -1) {
                switch (c) {
                case 't':
                        o->threads = bench_parse_long(optarg, 't');
                        break;
                case 'n':
                        o->iters = bench_parse_long(optarg, 'n');
                        o->iters_given = true;
                        break;
                case 's':
                        o->size = bench_parse_long(optarg, 's');
                        break;
                case 'f':
                        o->scale = bench_parse_long(optarg, 'f');
                        break;
                case 'r':
                        o->seed = (uint64_t)bench_parse_long(optarg, 'r');
                        break;
                case 'h':
                        printf("usage: %s [-t threads] [-n iters] [-s size] [-f percent] "
                               "[-r seed]\n%s", name, usage);
                        exit(0);
                default:
                        fprintf(stderr, "usage: %s [-t threads] [-n iters] [-s size] "
                                "[-f percent] [-r seed] (-h for help)\n", name);
                        exit(2);
                }
        }
        if (optind != argc) {
                fprintf(stderr, "%s: unexpected argument '%s'\n", name, argv[optind]);
                exit(2);
        }
        if (!o->iters_given)
                o->iters = (long)((long long)o->iters * o->scale / 100);
        if (o->iters < 1)
                o->iters = 1;
        if (o->threads < 1)
                o->threads = 1;
}

/* ---- PRNG: xorshift64* seeded through splitmix64 (one state per thread) ---- */

struct rng {
        uint64_t s;
};

static inline void rng_seed(struct rng *r, uint64_t seed)
{
        uint64_t z = seed + 0x9e3779b97f4a7c15ull;

        z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
        z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
        z ^= z >> 31;
        r->s = z ? z : 1;
}

static inline uint64_t rng_next(struct rng *r)
{
        uint64_t x = r->s;

        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        r->s = x;
        return x * 0x2545f4914f6cdd1dull;
}

/* Uniform in [0, n), n > 0. */
static inline uint64_t rng_below(struct rng *r, uint64_t n)
{
        return (rng_next(r) >> 11) % n;
}

/* Uniform in [lo, hi]. */
static inline size_t rng_range(struct rng *r, size_t lo, size_t hi)
{
        return lo + (size_t)rng_below(r, (uint64_t)(hi - lo) + 1);
}

static inline unsigned bench_log2(size_t v)
{
        unsigned b = 0;

        while (v >>= 1)
                b++;
        return b;
}

/*
 * Log-uniform size in [lo, hi) (powers of two expected, lo < hi): the octave
 * [2^b, 2^(b+1)) is chosen uniformly, then the size uniformly inside it.  No libm.
 */
static inline size_t rng_log_uniform(struct rng *r, size_t lo, size_t hi)
{
        unsigned blo = bench_log2(lo), bhi = bench_log2(hi);
        unsigned b = blo + (unsigned)rng_below(r, bhi - blo);
        size_t base = (size_t)1 << b;

        return base + (size_t)rng_below(r, base);
}

/* ---- object contents: cheap stamps that catch lost or overlapping objects ---- */

/* Write tag into the first and last 8 bytes (byte pattern for n < 16). */
static inline void bench_stamp(void *p, size_t n, uint64_t tag)
{
        unsigned char *c = p;

        if (n >= 16) {
                memcpy(c, &tag, 8);
                memcpy(c + n - 8, &tag, 8);
        } else {
                for (size_t i = 0; i < n; i++)
                        c[i] = (unsigned char)((tag >> (8 * (i & 7))) ^ i);
        }
}

static inline bool bench_check(const void *p, size_t n, uint64_t tag)
{
        const unsigned char *c = p;
        uint64_t a, b;

        if (n >= 16) {
                memcpy(&a, c, 8);
                memcpy(&b, c + n - 8, 8);
                return a == tag && b == tag;
        }
        for (size_t i = 0; i < n; i++)
                if (c[i] != (unsigned char)((tag >> (8 * (i & 7))) ^ i))
                        return false;
        return true;
}

/* Stamp, and also write one byte in every page so that the memory is really used. */
static inline void bench_touch(void *p, size_t n, uint64_t tag)
{
        unsigned char *c = p;

        for (size_t off = BENCH_PAGE; off + 8 < n; off += BENCH_PAGE)
                c[off] = (unsigned char)(tag + off / BENCH_PAGE);
        bench_stamp(p, n, tag);
}

static inline bool bench_check_touch(const void *p, size_t n, uint64_t tag)
{
        const unsigned char *c = p;

        for (size_t off = BENCH_PAGE; off + 8 < n; off += BENCH_PAGE)
                if (c[off] != (unsigned char)(tag + off / BENCH_PAGE))
                        return false;
        return bench_check(p, n, tag);
}

/* A tag that depends on both the slot and a serial number. */
static inline uint64_t bench_tag(uint64_t a, uint64_t b)
{
        uint64_t z = (a << 32) ^ b ^ 0x5bd1e9955bd1e995ull;

        z ^= z >> 29;
        z *= 0xbf58476d1ce4e5b9ull;
        z ^= z >> 32;
        return z;
}

static inline void *bench_xmalloc(size_t n)
{
        void *p = malloc(n);

        if (p == NULL)
                bench_fail("malloc(%zu) returned NULL", n);
        return p;
}

/*
 * Run fn on n threads, the i-th getting (char *)args + i * stride, and join them all.
 * Used by the multi-threaded workloads that need no more than create-and-join.
 */
static inline void bench_threads(long n, void *(*fn)(void *), void *args, size_t stride)
{
        pthread_t *tid;

        if (n < 1 || n > 65536)
                bench_fail("bad thread count %ld", n);
        tid = calloc((size_t)n, sizeof(*tid));
        if (tid == NULL)
                bench_fail("calloc of %ld thread ids failed", n);
        for (long i = 0; i < n; i++)
                if (pthread_create(&tid[i], NULL, fn, (char *)args + (size_t)i * stride) != 0)
                        bench_fail("pthread_create failed");
        for (long i = 0; i < n; i++)
                pthread_join(tid[i], NULL);
        free(tid);
}

/*
 * The common shape of a threaded workload: n workers of size bytes each, zeroed, whose
 * first member is a long index (set to 0..n-1 here) and which hold a uint64_t result at
 * offset result_off; run fn on each in its own thread and return the sum of the results.
 */
static inline uint64_t bench_run_workers(long n, size_t size, void *(*fn)(void *),
                                         size_t result_off)
{
        char *w;
        uint64_t sum = 0, v;

        if (n < 1 || n > 65536)
                bench_fail("bad thread count %ld", n);
        w = calloc((size_t)n, size);
        if (w == NULL)
                bench_fail("calloc of %ld workers failed", n);
        for (long i = 0; i < n; i++)
                memcpy(w + (size_t)i * size, &i, sizeof(i));
        bench_threads(n, fn, w, size);
        for (long i = 0; i < n; i++) {
                memcpy(&v, w + (size_t)i * size + result_off, sizeof(v));
                sum += v;
        }
        free(w);
        return sum;
}

/* calloc that fails the run instead of returning NULL. */
static inline void *bench_xcalloc(size_t n, size_t size)
{
        void *p = calloc(n, size);

        if (p == NULL)
                bench_fail("calloc(%zu, %zu) returned NULL", n, size);
        return p;
}

/* Check a stamped object (bench_stamp) and free it; what names it in the message. */
static inline void bench_check_free(void *p, size_t n, uint64_t tag, const char *what)
{
        if (!bench_check(p, n, tag))
                bench_fail("%s: object of %zu bytes corrupted", what, n);
        free(p);
}

/*
 * Self-describing objects for workloads whose frees happen far from the allocation
 * (another thread, a random later step): the size sits in the first 8 bytes and the tag
 * in the next 8 and the last 8, so whoever frees the object can check it alone.
 */
#define BENCH_OBJ_MIN 24u

static inline void bench_obj_stamp(void *p, size_t n, uint64_t tag)
{
        unsigned char *c = p;
        uint64_t size = n;

        memcpy(c, &size, 8);
        memcpy(c + 8, &tag, 8);
        memcpy(c + n - 8, &tag, 8);
}

static inline void *bench_obj_alloc(size_t n, uint64_t tag)
{
        void *p;

        if (n < BENCH_OBJ_MIN)
                n = BENCH_OBJ_MIN;
        p = bench_xmalloc(n);
        bench_obj_stamp(p, n, tag);
        return p;
}

/* Check an object made by bench_obj_alloc; return its size (fails the run if broken). */
static inline size_t bench_obj_verify(const void *p, const char *what)
{
        const unsigned char *c = p;
        uint64_t size, a, b;

        memcpy(&size, c, 8);
        if (size < BENCH_OBJ_MIN || size > ((uint64_t)1 << 40))
                bench_fail("%s: object %p has a corrupted size %llu", what, p,
                           (unsigned long long)size);
        memcpy(&a, c + 8, 8);
        memcpy(&b, c + size - 8, 8);
        if (a != b)
                bench_fail("%s: object %p of %llu bytes corrupted", what, p,
                           (unsigned long long)size);
        return (size_t)size;
}

static inline void bench_obj_free(void *p, const char *what)
{
        bench_obj_verify(p, what);
        free(p);
}

/*
 * Write every byte of p[0..n) reps times (an increment each), then check that each byte
 * is start + reps; return the sum of the bytes.  The cache-line work of the false-sharing
 * workloads.
 */
static inline uint64_t bench_hammer(volatile unsigned char *p, size_t n, long reps,
                                    unsigned char start, const char *what)
{
        uint64_t sum = 0;

        for (size_t b = 0; b < n; b++)
                p[b] = start;
        for (long r = 0; r < reps; r++)
                for (size_t b = 0; b < n; b++)
                        p[b] = (unsigned char)(p[b] + 1);
        for (size_t b = 0; b < n; b++) {
                if (p[b] != (unsigned char)(start + reps))
                        bench_fail("%s: byte %zu is %u, want %u", what, b, p[b],
                                   (unsigned char)(start + reps));
                sum += p[b];
        }
        return sum;
}

/* Resident set size now, in KiB, from /proc/self/statm (0 if unreadable). */
static inline long bench_rss_kib(void)
{
        FILE *f = fopen("/proc/self/statm", "r");
        long size = 0, resident = 0;

        if (f == NULL)
                return 0;
        if (fscanf(f, "%ld %ld", &size, &resident) != 2)
                resident = 0;
        fclose(f);
        return resident * (sysconf(_SC_PAGESIZE) / 1024);
}

#endif /* BENCH_H */
