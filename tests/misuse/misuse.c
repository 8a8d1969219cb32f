/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * misuse CASE: commits one misuse of the allocator (double free, invalid free, wrong
 * size, forged free-list pointer, huge request) and, when the process survives it, shows
 * what it cost.  tests/misuse/run.sh runs each case in a child process under LD_PRELOAD
 * of an allocator and reads the outcome:
 *   - killed by a signal, or exited non-zero with a message: the allocator caught it;
 *   - exit 0: it ran on.  Lines on stdout say what the program saw:
 *       "done"                the misuse call itself returned (a later crash is later)
 *       "consequence: TEXT"   the harm became visible (the same block handed out twice,
 *                             the forged address returned, live memory handed out, ...)
 *       "result: correct" / "result: wrong: TEXT"   for the huge-request cases
 *       "not followed"        forged-pointer cases: the forged address never came back
 *       "note: TEXT"          no harm seen, but something to know (realloc gave NULL)
 *   - exit 77 with "n/a: why" when the allocator lacks the interface (sdallocx).
 *   - exit 3 when the test itself could not set up (a bug here, not in the allocator).
 * Every case stops itself after 10 s (alarm): a SIGALRM death is a hang.
 *
 * misuse --list prints the case names, one a line.
 */
#define _GNU_SOURCE
#include <alloca.h>
#include <dlfcn.h>
#include <errno.h>
#include <malloc.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define KIB ((size_t)1024)
#define MIB (KIB * KIB)

/* Keeps the compiler from reasoning about a pointer (no warnings about freeing a stack
 * address, no folding of a malloc/free pair). */
static void *launder(void *p)
{
        __asm__ volatile("" : "+r"(p) : : "memory");
        return p;
}

static size_t launder_size(size_t n)
{
        __asm__ volatile("" : "+r"(n));
        return n;
}

/* Output without stdio's buffers (a crash must not lose what was said, and stdio must not
 * call the allocator under test in the middle of a case). */
static void say(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void say(const char *fmt, ...)
{
        char buf[256];
        va_list ap;
        va_start(ap, fmt);
        int n = vsnprintf(buf, sizeof(buf) - 1, fmt, ap);
        va_end(ap);
        if (n < 0)
                return;
        if ((size_t)n > sizeof(buf) - 2)
                n = (int)sizeof(buf) - 2;
        buf[n++] = '\n';
        ssize_t w = write(STDOUT_FILENO, buf, (size_t)n);
        (void)w;
}

static void setup_fail(const char *what)
{
        say("setup failed: %s", what);
        _exit(3);
}

static void *xmalloc(size_t n)
{
        void *p = malloc(launder_size(n));
        if (p == NULL)
                setup_fail("malloc");
        memset(p, 0x11, n);
        return launder(p);
}

static void done(void)
{
        say("done");
}

/* ---- what the program still holds, and what came back after the misuse ---- */

struct region {
        uintptr_t lo, hi;
};

static struct region live[64];
static int nlive;

static void hold(const void *p, size_t n)
{
        if (nlive < (int)(sizeof(live) / sizeof(live[0])))
                live[nlive++] = (struct region){(uintptr_t)p, (uintptr_t)p + n};
}

static int reported;

static void consequence(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void consequence(const char *fmt, ...)
{
        char buf[200];
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(buf, sizeof(buf), fmt, ap);
        va_end(ap);
        if (!reported)
                say("consequence: %s", buf);
        reported = 1;
}

#define PROBE_MAX 64
static void *probed[PROBE_MAX];
static size_t probed_size[PROBE_MAX];
static int nprobed;

/* A block just handed out: the same address twice, or an overlap with memory the
 * program still holds, is the visible harm of the misuse. */
static void check_new(void *p, size_t n)
{
        if (p == NULL)
                return;
        uintptr_t lo = (uintptr_t)p, hi = lo + n;
        for (int i = 0; i < nprobed; i++) {
                uintptr_t plo = (uintptr_t)probed[i], phi = plo + probed_size[i];
                if (plo == lo) {
                        consequence("same block twice");
                        break;
                }
                if (lo < phi && plo < hi) {
                        consequence("overlapping blocks");
                        break;
                }
        }
        for (int i = 0; i < nlive; i++)
                if (lo < live[i].hi && live[i].lo < hi) {
                        consequence("live memory handed out");
                        break;
                }
        if (nprobed < PROBE_MAX) {
                probed_size[nprobed] = n;
                probed[nprobed++] = p;
        }
}

/* k allocations of size n, kept (never freed) */
static void probe(size_t n, int k)
{
        for (int i = 0; i < k; i++) {
                void *p = malloc(launder_size(n));
                check_new(p, n);
        }
}

/* after a double free of p: the visible harm is p handed out twice.  Some allocators
 * take freed blocks back only once the fresh ones of their page are used up, so this
 * goes on (without keeping track of the rest) through a few MiB of blocks. */
static void probe_twice(void *p, size_t n)
{
        probe(n, 8);
        if (reported)
                return;
        int seen = 0;
        for (int i = 0; i < nprobed; i++)
                seen += probed[i] == p;
        size_t count = 8 * MIB / n;
        if (count < 16)
                count = 16;
        if (count > 20000)
                count = 20000;
        for (size_t i = 0; i < count; i++) {
                void *q = malloc(launder_size(n));
                if (q == p && ++seen == 2) {
                        consequence("same block twice (after %zu more mallocs)", i + 1);
                        return;
                }
        }
}

/* after an invalid free: small sizes around every class the pointer might be taken for */
static void probe_sizes(size_t n)
{
        static const size_t sizes[] = {16, 32, 48, 64, 96, 128, 256, 1024};
        for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++)
                probe(sizes[i], 3);
        probe(n, 3);
}

/* ---- double free ---- */

static void df_now(size_t n)
{
        void *p = xmalloc(n);
        free(p);
        free(launder(p));
        done();
        probe_twice(p, n);
}

static void df_between(size_t n)
{
        void *a = xmalloc(n), *b = xmalloc(n);
        free(a);
        free(b);
        free(launder(a));
        done();
        probe_twice(a, n);
}

/* free(a), then other frees of the same size and mallocs of other sizes (a malloc of
 * the same size would take a back and make the second free a free of a live block) */
static void df_interleaved(size_t n)
{
        void *a = xmalloc(n), *b[4], *x[6];
        for (int i = 0; i < 4; i++)
                b[i] = xmalloc(n);
        free(a);
        x[0] = xmalloc(n * 2);
        x[1] = xmalloc(64);
        free(b[0]);
        x[2] = xmalloc(n * 4);
        free(b[1]);
        x[3] = xmalloc(16);
        free(x[0]);
        free(b[2]);
        x[4] = xmalloc(n + n / 2);
        free(x[2]);
        x[5] = xmalloc(200);
        free(launder(a));
        done();
        for (int i = 1; i < 6; i++)
                if (i != 2)
                        hold(x[i], 16);
        hold(b[3], n);
        probe_twice(a, n);
}

struct thread_arg {
        void *p;
        size_t n;
        int probe;
};

static void *free_on_thread(void *arg)
{
        struct thread_arg *t = arg;
        free(launder(t->p));
        if (t->probe) {
                done();
                probe(t->n, 8); /* this thread's cache got the block too */
        }
        return NULL;
}

/* owner_first: the owner frees, then another thread frees it again; otherwise another
 * thread frees it first, then the owner. */
static void df_thread(size_t n, int owner_first)
{
        void *p = xmalloc(n);
        struct thread_arg t = {p, n, owner_first};
        pthread_t th;
        if (owner_first)
                free(p);
        if (pthread_create(&th, NULL, free_on_thread, &t) != 0)
                setup_fail("pthread_create");
        pthread_join(th, NULL);
        if (!owner_first) {
                free(launder(p));
                done();
        }
        probe_twice(p, n);
}

/* free(p), then its slab emptied and refilled by 1000 blocks of the size (p among
 * them), all freed again; then free(p) a second time */
static void df_refilled(size_t n)
{
        static void *blocks[1000];
        void *p = xmalloc(n);
        free(p);
        for (int i = 0; i < 1000; i++)
                blocks[i] = xmalloc(n);
        for (int i = 0; i < 1000; i++)
                free(blocks[i]);
        free(launder(p));
        done();
        probe_twice(p, n);
}

/* ---- pointers the allocator never handed out ---- */

static char global_buf[256] __attribute__((aligned(64)));

enum bad_kind { BAD_STACK, BAD_ALLOCA, BAD_STATIC, BAD_FAR, BAD_INTERIOR_SMALL,
                BAD_INTERIOR_LARGE, BAD_PAST_END, BAD_UNALIGNED };

/* noinline: the stack and alloca buffers must stay valid while the misuse happens */
static __attribute__((noinline)) void bad_pointer(enum bad_kind kind, int use_realloc)
{
        char stack_buf[256] __attribute__((aligned(64)));
        void *bad = NULL, *owner = NULL;
        size_t n = 32, owner_size = 0;
        memset(stack_buf, 0x22, sizeof(stack_buf));
        switch (kind) {
        case BAD_STACK:
                bad = stack_buf;
                hold(stack_buf, sizeof(stack_buf));
                break;
        case BAD_ALLOCA: {
                char *a = alloca(launder_size(256));
                memset(a, 0x33, 256);
                bad = a;
                hold(a, 256);
                break;
        }
        case BAD_STATIC:
                bad = global_buf;
                hold(global_buf, sizeof(global_buf));
                break;
        case BAD_FAR:
                bad = (void *)(uintptr_t)0x100000000000ULL;
                break;
        case BAD_INTERIOR_SMALL:
                owner_size = 48;
                owner = xmalloc(owner_size);
                bad = (char *)owner + 8;
                break;
        case BAD_INTERIOR_LARGE:
                owner_size = 4 * MIB;
                owner = xmalloc(owner_size);
                bad = (char *)owner + 4096 * 3;
                n = 4096;
                break;
        case BAD_PAST_END:
                owner_size = 32;
                owner = xmalloc(owner_size);
                owner_size = malloc_usable_size(owner);
                bad = (char *)owner + owner_size;
                /* the block just past it, if the allocator put one there, is ours too */
                hold(xmalloc(32), 32);
                break;
        case BAD_UNALIGNED:
                owner_size = 32;
                owner = xmalloc(owner_size);
                bad = (char *)owner + 1;
                break;
        }
        if (owner != NULL)
                hold(owner, owner_size);
        bad = launder(bad);
        if (use_realloc) {
                void *r = realloc(bad, 64);
                done();
                if (r == NULL)
                        say("note: NULL");
                if (r != NULL) {
                        if (r == bad)
                                consequence("realloc returned the invalid pointer");
                        check_new(r, 64);
                        if (!reported)
                                consequence("realloc returned a block");
                }
        } else {
                free(bad);
                done();
        }
        probe_sizes(n);
        launder(stack_buf);
}

/* ---- sized deallocation with the wrong size ---- */

static void sdallocx_wrong(size_t n, size_t wrong)
{
        void (*sdx)(void *, size_t, int) =
                (void (*)(void *, size_t, int))dlsym(RTLD_DEFAULT, "sdallocx");
        if (sdx == NULL) {
                say("n/a: no sdallocx");
                _exit(77);
        }
        /* neighbours on both sides stay live: a block taken for a bigger one overlaps them */
        void *before = xmalloc(n), *p = xmalloc(n), *after = xmalloc(n);
        hold(before, n);
        hold(after, n);
        sdx(launder(p), wrong, 0);
        done();
        probe(wrong, 4);
        probe(n, 8);
}

/* ---- forged free-list pointers ---- */

static char target[64 * KIB] __attribute__((aligned(4096)));

static int forged_returned(void *p)
{
        return (uintptr_t)p >= (uintptr_t)target && (uintptr_t)p < (uintptr_t)target + sizeof(target);
}

/* mallocs of size n until the forged address comes back (enough to go through the
 * block's page several times over) */
static void follow_forged(size_t n)
{
        size_t count = 8 * MIB / n;
        if (count < 2000)
                count = 2000;
        for (size_t i = 0; i < count; i++) {
                void *p = malloc(launder_size(n));
                if (p == NULL)
                        setup_fail("malloc while looking for the forged address");
                if (forged_returned(p)) {
                        consequence("forged address returned (after %zu mallocs)", i + 1);
                        return;
                }
        }
        say("not followed");
}

/* use after free: the freed block's first word gets the writer's address */
static void uaf_forged(size_t n)
{
        void *p = xmalloc(n);
        free(p);
        *(void **)launder(p) = target + 4096;
        done();
        follow_forged(n);
}

/* overflow: a live block is written past its end up to the first word of the next
 * block, which was freed; bytes between the two (a header, if any) are kept as they
 * were, as a careful writer would */
static void overflow_forged(size_t n)
{
        enum { N = 64 };
        char *b[N];
        for (int i = 0; i < N; i++)
                b[i] = xmalloc(n);
        char *a = NULL, *next = NULL;
        size_t best = SIZE_MAX;
        for (int i = 0; i < N; i++)
                for (int j = 0; j < N; j++)
                        if (b[j] > b[i] && (size_t)(b[j] - b[i]) < best) {
                                best = (size_t)(b[j] - b[i]);
                                a = b[i];
                                next = b[j];
                        }
        if (a == NULL || best > n + 64)
                setup_fail("no two blocks next to each other");
        free(next);
        size_t usable = malloc_usable_size(a);
        memset(a, 0x44, usable < best ? usable : best);
        char *w = launder(a);
        *(void **)(w + best) = target + 4096;
        done();
        follow_forged(n);
}

/* ---- requests no allocator can satisfy: NULL and ENOMEM ---- */

static void verdict_null(void *p, const char *what)
{
        int e = errno;
        if (p != NULL)
                say("result: wrong: non-NULL (%s returned %p)", what, p);
        else if (e != ENOMEM)
                say("result: wrong: errno %s (%s returned NULL, errno %d)",
                    e == 0 ? "0" : strerrorname_np(e) ? strerrorname_np(e) : "?", what, e);
        else
                say("result: correct");
}

static void huge(const char *which)
{
        size_t max = launder_size(SIZE_MAX);
        free(xmalloc(64)); /* the allocator's lazy start-up must not leave its errno here */
        errno = 0;
        if (strcmp(which, "malloc") == 0) {
                verdict_null(malloc(max), "malloc(SIZE_MAX)");
        } else if (strcmp(which, "malloc-half") == 0) {
                verdict_null(malloc(max / 2 + 1), "malloc(SIZE_MAX/2+1)");
        } else if (strcmp(which, "calloc") == 0) {
                size_t big = launder_size((size_t)1 << 33);
                verdict_null(calloc(big, big), "calloc(2^33, 2^33)");
        } else if (strcmp(which, "memalign") == 0) {
                verdict_null(memalign(64, max), "memalign(64, SIZE_MAX)");
        } else if (strcmp(which, "valloc") == 0) {
                verdict_null(valloc(max), "valloc(SIZE_MAX)");
        } else if (strcmp(which, "pvalloc") == 0) {
                verdict_null(pvalloc(max), "pvalloc(SIZE_MAX)");
        } else if (strcmp(which, "pvalloc-round") == 0) {
                /* rounding up to a page must not wrap to a small size */
                verdict_null(pvalloc(max - 100), "pvalloc(SIZE_MAX-100)");
        } else if (strcmp(which, "aligned-alloc") == 0) {
                verdict_null(aligned_alloc(64, max), "aligned_alloc(64, SIZE_MAX)");
        } else if (strcmp(which, "posix-memalign") == 0) {
                void *p = (void *)(uintptr_t)0x1234;
                int rc = posix_memalign(&p, 64, max);
                if (rc != ENOMEM)
                        say("result: wrong: returned %d (posix_memalign(64, SIZE_MAX) returned %d, %p)",
                            rc, rc, p);
                else
                        say("result: correct");
        } else if (strcmp(which, "realloc") == 0) {
                char *p = xmalloc(100);
                memset(p, 0x5c, 100);
                errno = 0;
                void *r = realloc(p, max);
                int e = errno;
                int intact = 1;
                for (int i = 0; i < 100; i++)
                        intact &= p[i] == 0x5c;
                errno = e;
                if (r == NULL && !intact)
                        say("result: wrong: p changed (realloc(p, SIZE_MAX) failed but p changed)");
                else
                        verdict_null(r, "realloc(p, SIZE_MAX)");
        } else {
                setup_fail("unknown huge request");
        }
}

/* ---- the cases ---- */

static void c_control(void)
{
        void *p = xmalloc(32);
        free(p);
        done();
        probe(32, 8);
}

#define DF(name, n) static void c_df_##name(void) { df_now(n); }
DF(16, 16)
DF(32, 32)
DF(48, 48)
DF(20k, 20 * KIB)
DF(100k, 100 * KIB)
DF(4m, 4 * MIB)
static void c_df_between_32(void) { df_between(32); }
static void c_df_between_100k(void) { df_between(100 * KIB); }
static void c_df_interleaved_32(void) { df_interleaved(32); }
static void c_df_interleaved_20k(void) { df_interleaved(20 * KIB); }
static void c_df_thread_owner_32(void) { df_thread(32, 1); }
static void c_df_thread_other_32(void) { df_thread(32, 0); }
static void c_df_thread_owner_20k(void) { df_thread(20 * KIB, 1); }
static void c_df_thread_other_20k(void) { df_thread(20 * KIB, 0); }
static void c_df_refilled_32(void) { df_refilled(32); }
static void c_df_refilled_4k(void) { df_refilled(4 * KIB); }

#define BAD(name, kind)                                                       \
        static void c_free_##name(void) { bad_pointer(kind, 0); }             \
        static void c_realloc_##name(void) { bad_pointer(kind, 1); }
BAD(stack, BAD_STACK)
BAD(alloca, BAD_ALLOCA)
BAD(static, BAD_STATIC)
BAD(far, BAD_FAR)
BAD(interior_small, BAD_INTERIOR_SMALL)
BAD(interior_large, BAD_INTERIOR_LARGE)
BAD(past_end, BAD_PAST_END)
BAD(unaligned, BAD_UNALIGNED)

static void c_sdallocx_small(void) { sdallocx_wrong(32, 256); }
static void c_sdallocx_small_as_large(void) { sdallocx_wrong(32, 100 * KIB); }
static void c_sdallocx_large(void) { sdallocx_wrong(1 * MIB, 64 * KIB); }
static void c_sdallocx_large_as_small(void) { sdallocx_wrong(100 * KIB, 64); }

static void c_uaf_forged_32(void) { uaf_forged(32); }
static void c_uaf_forged_1k(void) { uaf_forged(1024); }
static void c_overflow_forged_32(void) { overflow_forged(32); }
static void c_overflow_forged_1k(void) { overflow_forged(1024); }

#define HUGE(name, which) static void c_enomem_##name(void) { huge(which); }
HUGE(malloc, "malloc")
HUGE(malloc_half, "malloc-half")
HUGE(calloc, "calloc")
HUGE(memalign, "memalign")
HUGE(valloc, "valloc")
HUGE(pvalloc, "pvalloc")
HUGE(pvalloc_round, "pvalloc-round")
HUGE(aligned_alloc, "aligned-alloc")
HUGE(posix_memalign, "posix-memalign")
HUGE(realloc, "realloc")

static const struct {
        const char *name;
        void (*fn)(void);
} cases[] = {
        {"control", c_control},
        {"df-16", c_df_16},
        {"df-32", c_df_32},
        {"df-48", c_df_48},
        {"df-20k", c_df_20k},
        {"df-100k", c_df_100k},
        {"df-4m", c_df_4m},
        {"df-between-32", c_df_between_32},
        {"df-between-100k", c_df_between_100k},
        {"df-interleaved-32", c_df_interleaved_32},
        {"df-interleaved-20k", c_df_interleaved_20k},
        {"df-thread-owner-32", c_df_thread_owner_32},
        {"df-thread-other-32", c_df_thread_other_32},
        {"df-thread-owner-20k", c_df_thread_owner_20k},
        {"df-thread-other-20k", c_df_thread_other_20k},
        {"df-refilled-32", c_df_refilled_32},
        {"df-refilled-4k", c_df_refilled_4k},
        {"free-stack", c_free_stack},
        {"free-alloca", c_free_alloca},
        {"free-static", c_free_static},
        {"free-far", c_free_far},
        {"free-interior-small", c_free_interior_small},
        {"free-interior-large", c_free_interior_large},
        {"free-past-end", c_free_past_end},
        {"free-unaligned", c_free_unaligned},
        {"realloc-stack", c_realloc_stack},
        {"realloc-alloca", c_realloc_alloca},
        {"realloc-static", c_realloc_static},
        {"realloc-far", c_realloc_far},
        {"realloc-interior-small", c_realloc_interior_small},
        {"realloc-interior-large", c_realloc_interior_large},
        {"realloc-past-end", c_realloc_past_end},
        {"realloc-unaligned", c_realloc_unaligned},
        {"sdallocx-small", c_sdallocx_small},
        {"sdallocx-small-as-large", c_sdallocx_small_as_large},
        {"sdallocx-large", c_sdallocx_large},
        {"sdallocx-large-as-small", c_sdallocx_large_as_small},
        {"uaf-forged-32", c_uaf_forged_32},
        {"uaf-forged-1k", c_uaf_forged_1k},
        {"overflow-forged-32", c_overflow_forged_32},
        {"overflow-forged-1k", c_overflow_forged_1k},
        {"enomem-malloc", c_enomem_malloc},
        {"enomem-malloc-half", c_enomem_malloc_half},
        {"enomem-calloc", c_enomem_calloc},
        {"enomem-memalign", c_enomem_memalign},
        {"enomem-valloc", c_enomem_valloc},
        {"enomem-pvalloc", c_enomem_pvalloc},
        {"enomem-pvalloc-round", c_enomem_pvalloc_round},
        {"enomem-aligned-alloc", c_enomem_aligned_alloc},
        {"enomem-posix-memalign", c_enomem_posix_memalign},
        {"enomem-realloc", c_enomem_realloc},
};

int main(int argc, char **argv)
{
        if (argc != 2) {
                fprintf(stderr, "usage: misuse CASE | --list\n");
                return 2;
        }
        if (strcmp(argv[1], "--list") == 0) {
                for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
                        printf("%s\n", cases[i].name);
                return 0;
        }
        for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
                if (strcmp(argv[1], cases[i].name) == 0) {
                        alarm(10);
                        cases[i].fn();
                        return 0;
                }
        }
        fprintf(stderr, "misuse: unknown case %s (misuse --list names them)\n", argv[1]);
        return 2;
}
