/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * prof_core: liballoc's heap profiling from inside a process (tests/prof/core.sh runs it).
 * Linked with liballoc; -rdynamic so that dladdr names the allocation sites in the frames
 * of a dump.  One mode per run:
 *   live      profiling off at start, switched on with prof.active, exact counts at lg 0
 *   objects   sampled objects behave like any other (usable size, realloc, alignment)
 *   threads   8 threads allocate and free while the main thread dumps; names; active flag
 *   fork      fork while profiling: the child dumps its own samples
 *   files     prof.dump naming, prefix, errors, no partial file, the dump hook, gdump
 *   leak      leaves 3 MiB allocated at exit (core.sh checks the report / exit status)
 *   DIR is where files go.   prof_core MODE DIR
 */
#include <dirent.h>
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <jemalloc/jemalloc.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "../common/check.h"

static const char *dir;
static void *volatile keep[1 << 16];

static char *path_in(const char *name)
{
        static char buf[4][4096];
        static unsigned n;
        char *b = buf[n++ % 4];
        snprintf(b, sizeof(buf[0]), "%s/%s", dir, name);
        return b;
}

static int set_bool(const char *name, bool v)
{
        return mallctl(name, NULL, NULL, &v, sizeof(v));
}

static bool get_bool(const char *name)
{
        bool v = false;
        size_t sz = sizeof(v);
        mallctl(name, &v, &sz, NULL, 0);
        return v;
}

static int dump_to(const char *path)
{
        return mallctl("prof.dump", NULL, NULL, &path, sizeof(path));
}

static void reset(size_t lg)
{
        mallctl("prof.reset", NULL, NULL, &lg, sizeof(lg));
}

/* ---- reading a dump ------------------------------------------------------------------ */

typedef struct site_total {
        unsigned long long objs, bytes;
} site_total_t;

/* Sums the t* lines of every stack that has a frame inside function `site` (dladdr on
 * the return address minus one), and checks the file's shape on the way. */
static bool read_site(const char *file, const char *site, site_total_t *out, char *why,
                      size_t whylen)
{
        FILE *f = fopen(file, "r");
        memset(out, 0, sizeof(*out));
        if (f == NULL) {
                snprintf(why, whylen, "cannot open %s", file);
                return false;
        }
        char line[8192];
        bool in_site = false, ok = true, maps = false;
        unsigned lineno = 0;
        while (fgets(line, sizeof(line), f) != NULL) {
                lineno++;
                if (lineno == 1 && strncmp(line, "heap_v2/", 8) != 0) {
                        snprintf(why, whylen, "header is not heap_v2/: %s", line);
                        ok = false;
                        break;
                }
                if (strncmp(line, "MAPPED_LIBRARIES:", 17) == 0)
                        maps = true;
                if (line[0] == '@') {
                        in_site = false;
                        char *s = line + 1;
                        unsigned nf = 0;
                        while (*s == ' ') {
                                char *end;
                                unsigned long long pc = strtoull(s + 1, &end, 16);
                                if (end == s + 1)
                                        break;
                                Dl_info di;
                                if (nf > 0 && dladdr((void *)(uintptr_t)(pc - 1), &di) != 0 &&
                                    di.dli_sname != NULL && strcmp(di.dli_sname, site) == 0)
                                        in_site = true;
                                if (nf == 0 && (dladdr((void *)(uintptr_t)pc, &di) == 0 ||
                                                di.dli_sname == NULL ||
                                                strcmp(di.dli_sname, "malloc") != 0)) {
                                        snprintf(why, whylen, "first frame is not malloc");
                                        ok = false;
                                }
                                nf++;
                                s = end;
                        }
                        continue;
                }
                unsigned long long o, b, ao, ab;
                if (in_site && sscanf(line, "  t*: %llu: %llu [%llu: %llu]", &o, &b, &ao, &ab) == 4) {
                        out->objs += o;
                        out->bytes += b;
                }
        }
        fclose(f);
        if (ok && !maps) {
                snprintf(why, whylen, "no MAPPED_LIBRARIES section");
                ok = false;
        }
        return ok;
}

/* ---- sites ----------------------------------------------------------------------------- */

__attribute__((noinline)) void site_before(int n)
{
        for (int i = 0; i < n; i++)
                keep[i] = malloc(1 << 20);
}

__attribute__((noinline)) void site_live(int from, int n, size_t size)
{
        for (int i = from; i < from + n; i++)
                keep[i] = malloc(size);
}

__attribute__((noinline)) void site_child(int from, int n)
{
        for (int i = from; i < from + n; i++)
                keep[i] = malloc(4096);
}

static void free_range(int from, int n)
{
        for (int i = from; i < from + n; i++) {
                free(keep[i]);
                keep[i] = NULL;
        }
}

/* ---- modes ----------------------------------------------------------------------------- */

static void mode_live(void)
{
        char why[256];
        site_total_t t;
        CHECK("live/opt.prof-false", !get_bool("opt.prof"));
        CHECK("live/inactive-at-start", !get_bool("prof.active"));
        site_before(32);
        CHECK_EQ("live/activate", set_bool("prof.active", true), 0);
        CHECK("live/active", get_bool("prof.active"));
        reset(0); /* every allocation, for exact counts */
        size_t lg = 99, sz = sizeof(lg);
        mallctl("prof.lg_sample", &lg, &sz, NULL, 0);
        CHECK_EQ("live/lg_sample-after-reset", (long long)lg, 0LL);
        site_live(100, 2000, 100);      /* small: 2000 x 112 */
        site_live(3000, 300, 5000);     /* small, above the byte table: 300 x 5120 */
        site_live(4000, 20, 1 << 20);   /* large */
        const char *f = path_in("live.heap");
        CHECK_EQ("live/dump", dump_to(f), 0);
        bool ok = read_site(f, "site_live", &t, why, sizeof(why));
        CHECKF("live/shape", ok, "%s", why);
        CHECKF("live/objects-exact", t.objs == 2320, "site_live: %llu objects, want 2320",
               t.objs);
        unsigned long long want = 2000ull * 112 + 300ull * 5120 + 20ull * (1 << 20);
        CHECKF("live/bytes-exact", t.bytes == want, "site_live: %llu bytes, want %llu",
               t.bytes, want);
        ok = read_site(f, "site_before", &t, why, sizeof(why));
        CHECKF("live/before-activation-not-sampled", ok && t.objs == 0,
               "site_before: %llu objects", t.objs);
        /* Freed objects leave the profile. */
        free_range(100, 1000);
        free_range(4000, 10);
        const char *f2 = path_in("live2.heap");
        CHECK_EQ("live/dump-after-free", dump_to(f2), 0);
        read_site(f2, "site_live", &t, why, sizeof(why));
        want = 1000ull * 112 + 300ull * 5120 + 10ull * (1 << 20);
        CHECKF("live/freed-leave", t.objs == 1310 && t.bytes == want,
               "%llu objects %llu bytes, want 1310 and %llu", t.objs, t.bytes, want);
        /* Off again: new allocations are not recorded, the live ones stay. */
        CHECK_EQ("live/deactivate", set_bool("prof.active", false), 0);
        site_live(5000, 500, 100);
        const char *f3 = path_in("live3.heap");
        CHECK_EQ("live/dump-inactive", dump_to(f3), 0);
        read_site(f3, "site_live", &t, why, sizeof(why));
        CHECKF("live/inactive-not-sampled", t.objs == 1310, "%llu objects, want 1310", t.objs);
        /* prof.reset drops everything; freeing objects sampled before it is harmless. */
        set_bool("prof.active", true);
        reset(0);
        free_range(0, 6000);
        const char *f4 = path_in("live4.heap");
        CHECK_EQ("live/dump-after-reset", dump_to(f4), 0);
        read_site(f4, "site_live", &t, why, sizeof(why));
        CHECKF("live/reset-empties", t.objs == 0, "%llu objects after reset", t.objs);
}

static void mode_objects(void)
{
        set_bool("prof.active", true);
        reset(0);
        bool all = true;
        for (size_t size = 1; size <= 20000; size += size < 64 ? 1 : size / 7) {
                char *p = malloc(size);
                size_t us = malloc_usable_size(p);
                if (p == NULL || us != nallocx(size, 0) || sallocx(p, 0) != us) {
                        CHECKF("objects/usable-size", false, "size %zu: usable %zu, nallocx %zu",
                               size, us, nallocx(size, 0));
                        all = false;
                        break;
                }
                memset(p, 0x5a, us);
                char *q = realloc(p, size * 3 + 1);
                if (q == NULL || q[size - 1] != 0x5a) {
                        CHECKF("objects/realloc", false, "size %zu", size);
                        all = false;
                        free(q);
                        break;
                }
                free(q);
        }
        CHECK("objects/usable-size-and-realloc", all);
        char *z = calloc(1000, 3);
        bool zero = z != NULL;
        for (size_t i = 0; zero && i < 3000; i++)
                zero = z[i] == 0;
        CHECK("objects/calloc-zeroed", zero);
        free(z);
        void *a = NULL;
        CHECK("objects/posix_memalign",
              posix_memalign(&a, 256, 100) == 0 && ((uintptr_t)a & 255) == 0);
        free(a);
        /* Small sizes with alignments above the page: every one sampled (lg 0). */
        bool aligned_ok = true;
        for (size_t al = 8192; al <= 65536; al *= 2) {
                for (size_t sz = 1; sz <= 14336; sz = sz * 3 + 5) {
                        a = aligned_alloc(al, sz);
                        if (a == NULL || ((uintptr_t)a & (al - 1)) != 0 ||
                            malloc_usable_size(a) < sz) {
                                CHECKF("objects/aligned_alloc", false, "align %zu size %zu: %p",
                                       al, sz, a);
                                aligned_ok = false;
                        }
                        memset(a, 1, sz);
                        free(a);
                }
        }
        CHECK("objects/aligned_alloc-above-page", aligned_ok);
        /* The arena's counters stayed sane (a bad class index would have corrupted them). */
        uint64_t ep = 1;
        size_t esz = sizeof(ep);
        mallctl("epoch", &ep, &esz, &ep, sizeof(ep));
        size_t allocated = 0, asz = sizeof(allocated);
        CHECK("objects/stats-sane", mallctl("stats.allocated", &allocated, &asz, NULL, 0) == 0 &&
                                            allocated < ((size_t)1 << 40));
        void *x = mallocx(300, MALLOCX_ZERO);
        CHECK("objects/mallocx", x != NULL && sallocx(x, 0) == nallocx(300, 0));
        CHECK("objects/xallocx-same-class", xallocx(x, 310, 0, 0) == sallocx(x, 0));
        dallocx(x, 0);
}

static atomic_bool stop;

static void *churner(void *arg)
{
        int id = (int)(intptr_t)arg;
        char name[32];
        snprintf(name, sizeof(name), "churn-%d", id);
        const char *n = name;
        mallctl("thread.prof.name", NULL, NULL, &n, sizeof(n));
        if (id == 7)
                set_bool("thread.prof.active", false);
        void *slots[256] = {0};
        unsigned x = (unsigned)id * 2654435761u;
        while (!atomic_load(&stop)) {
                x = x * 1103515245u + 12345u;
                unsigned i = (x >> 8) & 255;
                free(slots[i]);
                slots[i] = malloc(((x >> 16) & 4095) + 1);
        }
        const char *got = NULL;
        size_t sz = sizeof(got);
        mallctl("thread.prof.name", &got, &sz, NULL, 0);
        bool same = got != NULL && strcmp(got, name) == 0;
        for (int i = 0; i < 256; i++)
                free(slots[i]);
        return same ? NULL : (void *)1;
}

static void mode_threads(void)
{
        set_bool("prof.active", true);
        reset(6); /* every 64 bytes on average: many samples, many frees */
        pthread_t t[8];
        for (int i = 0; i < 8; i++)
                pthread_create(&t[i], NULL, churner, (void *)(intptr_t)i);
        int fails = 0;
        for (int i = 0; i < 20; i++) {
                if (dump_to(path_in("threads.heap")) != 0)
                        fails++;
                usleep(20000);
        }
        /* The names show in the dump taken while they run. */
        FILE *f = fopen(path_in("threads.heap"), "r");
        char line[8192];
        int named = 0, silent_named = 0;
        while (f != NULL && fgets(line, sizeof(line), f) != NULL && line[0] != '@') {
                if (strstr(line, " churn-") != NULL)
                        named++;
                if (strstr(line, " churn-7") != NULL)
                        silent_named++;
        }
        if (f != NULL)
                fclose(f);
        atomic_store(&stop, true);
        int bad_names = 0;
        for (int i = 0; i < 8; i++) {
                void *r;
                pthread_join(t[i], &r);
                bad_names += r != NULL;
        }
        CHECKF("threads/dumps-while-allocating", fails == 0, "%d of 20 dumps failed", fails);
        CHECKF("threads/names-in-dump", named >= 6, "%d named thread lines", named);
        CHECKF("threads/inactive-thread-has-no-samples", silent_named == 0,
               "churn-7 (thread.prof.active false) appears");
        CHECK_EQ("threads/name-reads-back", bad_names, 0);
        const char *bad = "tab\x01";
        CHECK_EQ("threads/unprintable-name", mallctl("thread.prof.name", NULL, NULL, &bad,
                                                     sizeof(bad)), EFAULT);
        const char *gotn;
        size_t sz = sizeof(gotn);
        CHECK_EQ("threads/name-read-and-write", mallctl("thread.prof.name", &gotn, &sz, &bad,
                                                        sizeof(bad)), EPERM);
}

static void mode_fork(void)
{
        char why[256];
        site_total_t t;
        set_bool("prof.active", true);
        reset(0);
        site_live(0, 100, 100);
        pthread_t th;
        atomic_store(&stop, false);
        pthread_create(&th, NULL, churner, (void *)(intptr_t)1); /* holds locks now and then */
        int failures = 0;
        for (int round = 0; round < 20; round++) {
                pid_t pid = fork();
                if (pid == 0) {
                        site_child(200, 50);
                        char name[64];
                        snprintf(name, sizeof(name), "child%d.heap", round);
                        _exit(dump_to(path_in(name)) == 0 ? 0 : 3);
                }
                int st = 0;
                waitpid(pid, &st, 0);
                if (!WIFEXITED(st) || WEXITSTATUS(st) != 0)
                        failures++;
        }
        atomic_store(&stop, true);
        pthread_join(th, NULL);
        CHECKF("fork/children-dump", failures == 0, "%d of 20 children failed", failures);
        bool ok = read_site(path_in("child0.heap"), "site_child", &t, why, sizeof(why));
        CHECKF("fork/child-samples", ok && t.objs == 50 && t.bytes == 50 * 4096,
               "site_child %llu objects %llu bytes (%s)", t.objs, t.bytes, ok ? "" : why);
        ok = read_site(path_in("child0.heap"), "site_live", &t, why, sizeof(why));
        CHECKF("fork/inherited-samples", ok && t.objs == 100, "site_live %llu objects",
               t.objs);
        CHECK_EQ("fork/parent-dumps", dump_to(path_in("parent.heap")), 0);
}

static char hooked[4096];
static void dump_hook(const char *name)
{
        snprintf(hooked, sizeof(hooked), "%s", name);
}

static void mode_files(void)
{
        set_bool("prof.active", true);
        reset(10);
        CHECK_EQ("files/missing-dir", dump_to("/nonexistent-dir/x.heap"), EFAULT);
        const char *prefix = path_in("auto");
        CHECK_EQ("files/prefix", mallctl("prof.prefix", NULL, NULL, &prefix, sizeof(prefix)), 0);
        void (*h)(const char *) = dump_hook;
        CHECK_EQ("files/dump-hook", mallctl("experimental.hooks.prof_dump", NULL, NULL, &h,
                                            sizeof(h)), 0);
        CHECK_EQ("files/auto-dump", mallctl("prof.dump", NULL, NULL, NULL, 0), 0);
        CHECK_EQ("files/auto-dump-2", mallctl("prof.dump", NULL, NULL, NULL, 0), 0);
        char want[4096];
        snprintf(want, sizeof(want), "%s.%d.1.m1.heap", prefix, (int)getpid());
        CHECKF("files/auto-name", access(want, R_OK) == 0, "%s missing", want);
        CHECKF("files/hook-told", strcmp(hooked, want) == 0, "hook got '%s'", hooked);
        /* An existing symlink at the target is replaced, not followed. */
        const char *victim = path_in("victim");
        int fd = open(victim, O_CREAT | O_WRONLY, 0644);
        if (fd >= 0)
                close(fd);
        symlink(victim, path_in("link.heap"));
        CHECK_EQ("files/over-symlink", dump_to(path_in("link.heap")), 0);
        struct stat st;
        CHECK("files/symlink-not-followed", stat(victim, &st) == 0 && st.st_size == 0);
        /* No temporary file is left behind, and no file for a failed dump. */
        DIR *d = opendir(dir);
        int tmp = 0;
        for (struct dirent *e; d != NULL && (e = readdir(d)) != NULL;)
                tmp += strstr(e->d_name, ".tmp.") != NULL;
        if (d != NULL)
                closedir(d);
        CHECK_EQ("files/no-temporary-left", tmp, 0);
        const char *empty = "";
        mallctl("prof.prefix", NULL, NULL, &empty, sizeof(empty));
        CHECK_EQ("files/empty-prefix", mallctl("prof.dump", NULL, NULL, NULL, 0), EFAULT);
        mallctl("prof.prefix", NULL, NULL, &prefix, sizeof(prefix));
        /* gdump: a dump each time mapped memory passes its high-water mark. */
        CHECK_EQ("files/gdump-on", set_bool("prof.gdump", true), 0);
        for (int i = 0; i < 8; i++)
                keep[i] = malloc(64 << 20);
        for (int i = 0; i < 8; i++)
                memset(keep[i], 1, 4096);
        free(malloc(100)); /* a slow path to run the pending dump */
        for (int i = 0; i < 1000; i++)
                free(malloc(20000));
        snprintf(want, sizeof(want), "%s.%d.2.u0.heap", prefix, (int)getpid());
        CHECKF("files/gdump-file", access(want, R_OK) == 0, "%s missing", want);
        set_bool("prof.gdump", false);
        free_range(0, 8);
}

static void mode_leak(void)
{
        for (int i = 0; i < 3; i++)
                keep[i] = malloc(1 << 20);
        printf("PASS: leak/allocated\n");
}

int main(int argc, char **argv)
{
        if (argc != 3) {
                fprintf(stderr, "usage: prof_core MODE DIR\n");
                return 2;
        }
        dir = argv[2];
        const char *m = argv[1];
        if (strcmp(m, "live") == 0)
                mode_live();
        else if (strcmp(m, "objects") == 0)
                mode_objects();
        else if (strcmp(m, "threads") == 0)
                mode_threads();
        else if (strcmp(m, "fork") == 0)
                mode_fork();
        else if (strcmp(m, "files") == 0)
                mode_files();
        else if (strcmp(m, "leak") == 0) {
                mode_leak();
                return 0;
        } else {
                fprintf(stderr, "prof_core: unknown mode %s\n", m);
                return 2;
        }
        return check_finish();
}
