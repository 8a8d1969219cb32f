/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Unit tests of profconv (profconv/, docs/profiling.md): the heap_v2 parser on the real
 * example of the format reference and on every malformed shape (with the line number it
 * must report), truncations and random mutations of a valid dump (no crash under ASan,
 * never success without the final newline), jeprof's unbiasing, allocator-frame trimming,
 * symbolization against this very executable, and the writers: the pprof protobuf decoded
 * field by field, its gzip wrapper inflated, folded stacks merged, the SVG escaped.
 * The ELF reader (security review, issue 17) on hand-made files: truncated after open (no
 * SIGBUS), tables claiming more than the file has, a misaligned section table, a sparse
 * 2 GiB file under nine spellings (read once, quickly), the per-file and file-count limits,
 * files refused for the profiled process's credentials (a root-only directory, the mode
 * bits, a symbolic link, /proc);
 * absurd counts (totals saturate, never wrap) and a first record without frames.
 * Every text handed to the parser sits in a buffer of exactly its length.
 */
#include <dlfcn.h>
#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>
#include <zlib.h>

#include "../common/check.h"
#include "pc/profconv.h"

/* A dump of the shape docs/profiling.md describes, maps shortened. */
static const char example[] =
        "heap_v2/1\n"
        "  t*: 25: 2185728 [0: 0]\n"
        "  t0: 15: 2184608 [0: 0]\n"
        "  t1: 10: 1120 [0: 0] worker-1\n"
        "@ 0x7f7cfcaa2630 0x7f7cfcaa2d21 0x7f7cfca95f24 0x7f7cfca22045 0x555c7afef20a "
        "0x555c7afef24a 0x7f7cfc84524a 0x7f7cfc845305 0x555c7afef0b1\n"
        "  t*: 1: 1048576 [0: 0]\n"
        "  t0: 1: 1048576 [0: 0]\n"
        "@ 0x7f7cfcaa2630 0x7f7cfcaa2d21 0x7f7cfca95f24 0x7f7cfca22045 0x555c7afef18e "
        "0x555c7afef1e2 0x7f7cfc8a71f5 0x7f7cfc9278ec\n"
        "  t*: 10: 1120 [0: 0]\n"
        "  t1: 10: 1120 [0: 0]\n"
        "@\n"
        "  t*: 1: 320 [2: 640]\n"
        "\n"
        "MAPPED_LIBRARIES:\n"
        "555c7afee000-555c7afef000 r--p 00000000 fe:00 10956361                   "
        "/path/to/profdemo\n"
        "555c7afef000-555c7aff0000 r-xp 00001000 fe:00 10956361                   "
        "/path/to/profdemo\n"
        "7f7cfc844000-7f7cfc99a000 r-xp 00026000 fe:00 332835                     "
        "/usr/lib/x86_64-linux-gnu/libc.so.6\n"
        "7f7cfca09000-7f7cfcaaf000 r-xp 00009000 fe:00 14884871                   "
        "/usr/lib/x86_64-linux-gnu/libjemalloc.so.2\n"
        "7f7cfcb00000-7f7cfcb01000 rw-p 00000000 00:00 0 \n"
        "7ffd945c8000-7ffd945e9000 rw-p 00000000 00:00 0                          [stack]\n";

static char *exact;

static int parse(const char *s, size_t len, pc_profile_t *p, pc_error_t *err)
{
        free(exact);
        exact = malloc(len ? len : 1);
        memcpy(exact, s, len);
        return pc_heap_parse(exact, len, p, err);
}

static int parse_str(const char *s, pc_profile_t *p, pc_error_t *err)
{
        return parse(s, strlen(s), p, err);
}

static void parse_example(void)
{
        pc_profile_t p;
        pc_error_t err = {0};
        EXPECT(parse_str(example, &p, &err) == 0);
        if (err.msg[0])
                fprintf(stderr, "  %s\n", err.msg);
        EXPECT_EQ(p.period, 1);
        EXPECT_EQ(p.total.cur_objs, 25);
        EXPECT_EQ(p.total.cur_bytes, 2185728);
        EXPECT_EQ(p.nthreads, 2);
        EXPECT_EQ(p.threads[1].uid, 1);
        EXPECT_EQ(p.threads[1].c.cur_bytes, 1120);
        EXPECT_STR(p.threads[1].name, "worker-1");
        EXPECT_STR(p.threads[0].name, "");
        EXPECT_EQ(p.nrecords, 3);
        EXPECT_EQ(p.records[0].npcs, 9);
        EXPECT_EQ(p.records[0].pcs[0], 0x7f7cfcaa2630ull);
        EXPECT_EQ(p.records[0].pcs[8], 0x555c7afef0b1ull);
        EXPECT_EQ(p.records[1].c.cur_objs, 10);
        EXPECT_EQ(p.records[2].npcs, 0); /* a bare "@" */
        EXPECT_EQ(p.records[2].c.cum_objs, 2);
        EXPECT_EQ(p.records[2].c.cum_bytes, 640);
        EXPECT(p.has_maps);
        EXPECT_EQ(p.nmaps, 6);
        EXPECT_EQ(p.maps[1].start, 0x555c7afef000ull);
        EXPECT_EQ(p.maps[1].end, 0x555c7aff0000ull);
        EXPECT_EQ(p.maps[1].offset, 0x1000);
        EXPECT_EQ(p.maps[1].inode, 10956361);
        EXPECT_STR(p.maps[1].perms, "r-xp");
        EXPECT_STR(p.maps[1].path, "/path/to/profdemo");
        EXPECT_STR(p.maps[4].path, "");
        EXPECT_STR(p.maps[5].path, "[stack]");
        pc_profile_free(&p);
}

static void parse_without_maps(void)
{
        pc_profile_t p;
        pc_error_t err = {0};
        EXPECT(parse_str("heap_v2/524288\n  t*: 0: 0 [0: 0]\n", &p, &err) == 0);
        EXPECT(!p.has_maps);
        EXPECT_EQ(p.nrecords, 0);
        EXPECT_EQ(p.period, 524288);
        pc_profile_free(&p);
        /* records, the empty line, and nothing more */
        EXPECT(parse_str("heap_v2/2\n  t*: 1: 8 [0: 0]\n@ 0x10\n  t*: 1: 8 [0: 0]\n\n", &p, &err) ==
              0);
        EXPECT(!p.has_maps);
        EXPECT_EQ(p.nrecords, 1);
        pc_profile_free(&p);
}

static const struct bad {
        const char *text;
        unsigned line;
        const char *why;
} bad_inputs[] = {
        {"", 1, "empty"},
        {"heap_v1/5\n", 1, "not a heap_v2"},
        {"heap_v2/\n", 1, "not a decimal"},
        {"heap_v2/12x\n", 1, "not a decimal"},
        {"heap_v2/0\n  t*: 0: 0 [0: 0]\n", 1, "must be > 0"},
        {"heap_v2/1\n", 1, "truncated"},
        {"heap_v2/1\n  t*: 1: 2 [0: 0]", 2, "no newline"},
        {"heap_v2/1\n  t0: 1: 2 [0: 0]\n", 2, "process total"},
        {"heap_v2/1\n  t*: 1: 2 [0: 0] name\n", 2, "process total"},
        {"heap_v2/1\n  t*: 1: 2 [0: 0]\n  t*: 1: 2 [0: 0]\n", 3, "thread line"},
        {"heap_v2/1\n  t*: 1: 2 [0: 0]\n  t1: 1: 2 [0: 0]x\n", 3, "junk"},
        {"heap_v2/1\n  t*: 1:2 [0: 0]\n", 2, "process total"},
        {"heap_v2/1\n  t*: 18446744073709551616: 2 [0: 0]\n", 2, "process total"},
        {"heap_v2/1\n  t*: 1: 2 [0: 0]\n@ 0x1\n", 3, "without its t*"},
        {"heap_v2/1\n  t*: 1: 2 [0: 0]\n@ 0x1\n  t0: 1: 2 [0: 0]\n", 4, "stack's total"},
        {"heap_v2/1\n  t*: 1: 2 [0: 0]\n@ 0x1 0xg\n  t*: 1: 2 [0: 0]\n", 3, "0xHEX"},
        {"heap_v2/1\n  t*: 1: 2 [0: 0]\n@ 0x1 1234\n  t*: 1: 2 [0: 0]\n", 3, "0xHEX"},
        {"heap_v2/1\n  t*: 1: 2 [0: 0]\n@0x1\n  t*: 1: 2 [0: 0]\n", 3, "separated"},
        {"heap_v2/1\n  t*: 1: 2 [0: 0]\n@ 0x11112222333344445\n  t*: 1: 2 [0: 0]\n", 3, "0xHEX"},
        {"heap_v2/1\n  t*: 1: 2 [0: 0]\n@ 0x1\n  t*: 1: 2 [0: 0]\n  t0: 1: 2 [0: 0] n\n", 5,
         "thread line"},
        {"heap_v2/1\n  t*: 1: 2 [0: 0]\n@ 0x1\n  t*: 1: 2 [0: 0]\nxyz\n", 5, "@ stack"},
        {"heap_v2/1\n  t*: 1: 2 [0: 0]\n\n\n", 4, "second empty"},
        {"heap_v2/1\n  t*: 1: 2 [0: 0]\n\nMAPPED\n", 4, "MAPPED_LIBRARIES"},
        {"heap_v2/1\n  t*: 1: 2 [0: 0]\n\nMAPPED_LIBRARIES:\n1000-2000 r-xp\n", 5, "START-END"},
        {"heap_v2/1\n  t*: 1: 2 [0: 0]\n\nMAPPED_LIBRARIES:\n2000-1000 r-xp 0 00:00 0 /x\n", 5,
         "START-END"},
        {"heap_v2/1\n  t*: 1: 2 [0: 0]\n\nMAPPED_LIBRARIES:\n1000-2000 r-xp 0 00:00 0x /x\n", 5,
         "START-END"},
        {"heap_v2/1\n  t*: 1: 2 [0: 0]\n\nMAPPED_LIBRARIES:\n\n", 5, "START-END"},
};

static void parse_errors(void)
{
        for (size_t i = 0; i < sizeof(bad_inputs) / sizeof(bad_inputs[0]); i++) {
                const struct bad *b = &bad_inputs[i];
                pc_profile_t p = {.period = 777};
                pc_error_t err = {0};
                int rc = parse_str(b->text, &p, &err);
                EXPECTF(rc == -EINVAL && err.line == b->line && strstr(err.msg, b->why) != NULL,
                        "bad input %zu: rc %d, line %u (want %u), \"%s\" (want \"%s\")", i, rc,
                        err.line, b->line, err.msg, b->why);
                EXPECT_EQ(p.period, 777); /* untouched on failure */
        }
        /* A NUL byte is refused, with its line. */
        static const char nul[] = "heap_v2/1\n  t*: 1: 2 [0: 0]\n@ 0x1\0\n  t*: 1: 2 [0: 0]\n";
        pc_profile_t p;
        pc_error_t err = {0};
        EXPECT(parse(nul, sizeof(nul) - 1, &p, &err) == -EINVAL);
        EXPECT_EQ(err.line, 3);
        EXPECT(strstr(err.msg, "NUL") != NULL);
}

/* PC_MAX_FRAMES - 1, PC_MAX_FRAMES and PC_MAX_FRAMES + 1 frames. */
static void frame_limit(void)
{
        for (int n = PC_MAX_FRAMES - 1; n <= PC_MAX_FRAMES + 1; n++) {
                size_t cap = 64 + (size_t)n * 8 + 64;
                char *s = malloc(cap);
                if (s == NULL) {
                        EXPECT(!"out of memory");
                        return;
                }
                size_t len = (size_t)sprintf(s, "heap_v2/1\n  t*: 1: 2 [0: 0]\n@");
                for (int i = 0; i < n; i++)
                        len += (size_t)sprintf(s + len, " 0x%x", i + 1);
                len += (size_t)sprintf(s + len, "\n  t*: 1: 2 [0: 0]\n");
                pc_profile_t p;
                pc_error_t err = {0};
                int rc = parse(s, len, &p, &err);
                if (n <= PC_MAX_FRAMES) {
                        EXPECT(rc == 0);
                        if (rc == 0) {
                                EXPECT_EQ(p.records[0].npcs, n);
                                pc_profile_free(&p);
                        }
                } else {
                        EXPECT(rc == -EINVAL && strstr(err.msg, "frames") != NULL);
                }
                free(s);
        }
}

/* Every prefix of a valid dump: parses or is refused, never crashes; a prefix that does
 * not end at a newline is always refused. */
static void truncations(void)
{
        size_t len = strlen(example);
        for (size_t n = 0; n <= len; n++) {
                pc_profile_t p;
                pc_error_t err = {0};
                int rc = parse(example, n, &p, &err);
                EXPECT(rc == 0 || rc == -EINVAL);
                if (n > 0 && example[n - 1] != '\n')
                        EXPECT(rc == -EINVAL);
                if (rc == 0)
                        pc_profile_free(&p);
                else
                        EXPECT(err.line >= 1 && strstr(err.msg, "line") != NULL);
        }
}

static uint64_t rng = 0x9e3779b97f4a7c15ull;
static uint64_t next_rand(void)
{
        rng ^= rng << 13;
        rng ^= rng >> 7;
        rng ^= rng << 17;
        return rng;
}

/* Random byte changes, insertions of separators and digits: no crash, no leak (ASan). */
static void mutations(void)
{
        static const char alphabet[] = "@ \n:[]x0123456789abcdeft*-/\0\xff";
        size_t len = strlen(example);
        char *buf = malloc(len + 8);
        unsigned ok = 0;
        if (buf == NULL)
                abort();
        for (int iter = 0; iter < 20000; iter++) {
                memcpy(buf, example, len);
                size_t n = len;
                int edits = 1 + (int)(next_rand() % 4);
                for (int e = 0; e < edits; e++)
                        buf[next_rand() % n] = alphabet[next_rand() % (sizeof(alphabet) - 1)];
                if (next_rand() % 4 == 0)
                        n = next_rand() % (n + 1);
                pc_profile_t p;
                pc_error_t err = {0};
                int rc = parse(buf, n, &p, &err);
                EXPECT(rc == 0 || rc == -EINVAL);
                if (rc == 0) {
                        ok++;
                        pc_resolve_opts_t o = {.no_symbols = true};
                        pc_resolved_t r;
                        if (pc_resolve(&p, &o, &r, &err) == 0) {
                                pc_buf_t b = {0};
                                EXPECT(pc_write_folded(&r, &b, &err) == 0);
                                pc_buf_free(&b);
                                pc_resolved_free(&r);
                        }
                        pc_profile_free(&p);
                }
        }
        EXPECT(ok > 0); /* some mutations (digits in counts) stay valid */
        free(buf);
}

static void unbias(void)
{
        double o, b;
        /* The reference's example: 2 samples written as 2: 225 with R = 1024. */
        pc_unbias(1024, 2, 225, &o, &b);
        double scale = 1.0 / (1.0 - exp(-(225.0 / 2) / 1024));
        EXPECT(fabs(o - 2 * scale) < 1e-9 && fabs(b - 225 * scale) < 1e-9);
        EXPECT(fabs(o - 19.2) < 0.1);    /* jeprof reports ~19 objects */
        pc_unbias(1, 10, 1120, &o, &b); /* R = 1: no scaling in practice */
        EXPECT(o == 10 && b == 1120);
        pc_unbias(524288, 0, 0, &o, &b);
        EXPECT(o == 0 && b == 0);
}

static void alloc_frames(void)
{
        static const char *const yes[] = {"malloc",
                                          "calloc",
                                          "realloc",
                                          "free",
                                          "posix_memalign",
                                          "aligned_alloc",
                                          "mallocx",
                                          "sdallocx",
                                          "_Znwm",
                                          "_Znam",
                                          "_ZnwmRKSt9nothrow_t",
                                          "_ZnamSt11align_val_t",
                                          "__libc_malloc",
                                          "malloc@@GLIBC_2.2.5",
                                          "calloc@GLIBC_2.2.5"};
        static const char *const no[] = {"mallocate", "site_big",         "main", "_Znwx",
                                         "free_list", "mallocx_hook@@V1", ""};
        for (size_t i = 0; i < sizeof(yes) / sizeof(yes[0]); i++)
                EXPECT(pc_is_alloc_function(yes[i]));
        for (size_t i = 0; i < sizeof(no) / sizeof(no[0]); i++)
                EXPECT(!pc_is_alloc_function(no[i]));
        EXPECT(!pc_is_alloc_function(NULL));
        EXPECT(pc_is_alloc_library("/usr/lib/x86_64-linux-gnu/libjemalloc.so.2"));
        EXPECT(pc_is_alloc_library("/opt/x/liballoc.so.2"));
        EXPECT(pc_is_alloc_library("liballoc.so"));
        EXPECT(!pc_is_alloc_library("/usr/lib/libc.so.6"));
        EXPECT(!pc_is_alloc_library("/opt/liballoc.so.d/libfoo.so"));
}

/* ---- symbolization against this executable ------------------------------------------- */

/* Bodies of several instructions, different from each other (no identical-code folding),
 * so that an address one byte in is still inside. */
volatile int unit_sink;

__attribute__((noinline)) void unit_site_outer(void)
{
        unit_sink += 3;
        unit_sink *= 5;
}

__attribute__((noinline)) void unit_site_inner(void)
{
        unit_sink += 7;
        unit_sink ^= 11;
}

static char *read_self_maps(void)
{
        FILE *f = fopen("/proc/self/maps", "r");
        if (f == NULL)
                return NULL;
        size_t cap = 1 << 16, len = 0;
        char *s = malloc(cap);
        size_t r;
        while (s != NULL && (r = fread(s + len, 1, cap - len - 1, f)) > 0) {
                len += r;
                if (len + 1 == cap)
                        s = realloc(s, cap *= 2);
        }
        if (s == NULL)
                abort();
        fclose(f);
        s[len] = '\0';
        return s;
}

/* A dump of one record: [pcs...] with the given counts, and this process's maps. */
static char *make_dump(const uint64_t *pcs, size_t n, unsigned long long objs,
                       unsigned long long bytes, uint64_t period)
{
        char *maps = read_self_maps();
        if (maps == NULL)
                abort();
        size_t cap = strlen(maps) + 1024 + n * 24;
        char *s = malloc(cap);
        if (s == NULL)
                abort();
        size_t len = (size_t)snprintf(s, cap, "heap_v2/%llu\n  t*: %llu: %llu [0: 0]\n@",
                                      (unsigned long long)period, objs, bytes);
        for (size_t i = 0; i < n; i++)
                len += (size_t)snprintf(s + len, cap - len, " 0x%llx", (unsigned long long)pcs[i]);
        snprintf(s + len, cap - len, "\n  t*: %llu: %llu [%llu: %llu]\n\nMAPPED_LIBRARIES:\n%s",
                 objs, bytes, objs, bytes, maps);
        free(maps);
        return s;
}

static int resolve_text(const char *text, pc_resolve_opts_t *o, pc_profile_t *p, pc_resolved_t *r)
{
        pc_error_t err = {0};
        int rc = parse_str(text, p, &err);
        if (rc != 0) {
                fprintf(stderr, "  %s\n", err.msg);
                return rc;
        }
        return pc_resolve(p, o, r, &err);
}

static void symbolize_self(void)
{
        /* innermost: malloc in libc (trimmed), then return addresses into the two functions
         * (+1: the byte after a call; looked up at pc-1 = the function's first byte). */
        void *libc = dlopen("libc.so.6", RTLD_NOW | RTLD_NOLOAD);
        void *libc_malloc = libc != NULL ? dlsym(libc, "malloc") : NULL; /* not ASan's */
        EXPECT(libc_malloc != NULL);
        uint64_t pcs[] = {(uint64_t)(uintptr_t)libc_malloc,
                          (uint64_t)(uintptr_t)&unit_site_inner + 1,
                          (uint64_t)(uintptr_t)&unit_site_outer + 1, 0x10};
        char *text = make_dump(pcs, 4, 3, 300, 1);
        pc_profile_t p;
        pc_resolved_t r;
        pc_resolve_opts_t o = {0};
        EXPECT(resolve_text(text, &o, &p, &r) == 0);
        EXPECT_EQ(r.nsamples, 1);
        const pc_sample_t *s = &r.samples[0];
        EXPECT_EQ(s->n, 3); /* malloc trimmed */
        if (s->n == 3) {
                const pc_frame_t *f = &r.frames[s->first];
                EXPECT_STR(f[0].func, "unit_site_inner");
                EXPECT_EQ(f[0].addr, (uint64_t)(uintptr_t)&unit_site_inner);
                EXPECT_STR(f[1].func, "unit_site_outer");
                EXPECT(f[0].map >= 0 && r.maps[f[0].map].symbolized);
                EXPECT(f[0].map >= 0 && strlen(r.maps[f[0].map].build_id) >= 16);
                EXPECT(f[2].func == NULL && f[2].map == -1);
                char tmp[64];
                EXPECT_STR(pc_frame_name(&r, &f[2], tmp, sizeof(tmp)), "0xf");
        }
        EXPECT_EQ(s->inuse_bytes, 300);
        EXPECT_EQ(s->alloc_objs, 3);
        pc_resolved_free(&r);
        pc_profile_free(&p);

        /* no_trim keeps malloc; a missing root keeps raw addresses (file+offset names). */
        o.no_trim = true;
        o.root = "/nonexistent-root";
        EXPECT(resolve_text(text, &o, &p, &r) == 0);
        EXPECT_EQ(r.samples[0].n, 4);
        EXPECT(r.frames[1].func == NULL && r.frames[1].map >= 0);
        char tmp[128];
        EXPECT(strstr(pc_frame_name(&r, &r.frames[1], tmp, sizeof(tmp)), "+0x") != NULL);
        pc_resolved_free(&r);
        pc_profile_free(&p);
        free(text);
        if (libc != NULL)
                dlclose(libc);
}

/* Frames inside a library named liballoc.so* are trimmed even without symbols. */
static void trim_by_library(void)
{
        static const char text[] =
                "heap_v2/524288\n  t*: 1: 1000 [0: 0]\n"
                "@ 0x1010 0x1020 0x5010 0x1030 0x5020 0x9000\n  t*: 1: 1000 [0: 0]\n\n"
                "MAPPED_LIBRARIES:\n"
                "1000-2000 r-xp 00000000 00:00 1 /nonexistent/liballoc.so.2\n"
                "5000-6000 r-xp 00000000 00:00 2 /nonexistent/app\n";
        pc_profile_t p;
        pc_resolved_t r;
        pc_resolve_opts_t o = {0};
        EXPECT(resolve_text(text, &o, &p, &r) == 0);
        EXPECT_EQ(r.samples[0].n, 2); /* up to the outermost allocator frame (0x1030) */
        EXPECT_EQ(r.frames[r.samples[0].first].addr, 0x501f);
        EXPECT(r.frames[r.samples[0].first + 1].map == -1);
        /* unbiased as jeprof: 1000 bytes in 1 object at R = 512 KiB */
        double scale = 1.0 / (1.0 - exp(-1000.0 / 524288));
        EXPECT(r.samples[0].inuse_bytes == llround(1000 * scale));
        EXPECT(r.samples[0].inuse_objs == llround(scale));
        pc_resolved_free(&r);
        pc_profile_free(&p);
}

/* ---- writers ---------------------------------------------------------------------------- */

typedef struct pbr {
        const uint8_t *p, *end;
} pbr_t;

static bool pb_varint(pbr_t *r, uint64_t *v)
{
        *v = 0;
        for (int shift = 0; shift < 64 && r->p < r->end; shift += 7) {
                uint8_t b = *r->p++;
                *v |= (uint64_t)(b & 0x7f) << shift;
                if (!(b & 0x80))
                        return true;
        }
        return false;
}

/* The next field: number, wire type, varint value or the bytes of a length-delimited one. */
static bool pb_field(pbr_t *r, unsigned *field, uint64_t *v, pbr_t *sub)
{
        uint64_t key;
        if (r->p >= r->end || !pb_varint(r, &key))
                return false;
        *field = (unsigned)(key >> 3);
        if ((key & 7) == 0)
                return pb_varint(r, v);
        if ((key & 7) != 2 || !pb_varint(r, v) || *v > (uint64_t)(r->end - r->p))
                return false;
        sub->p = r->p;
        sub->end = r->p + *v;
        r->p += *v;
        return true;
}

/* What the tests read of a profile.proto message (the first ones of each kind). */
typedef struct pprof_doc {
        char *strings[256];
        size_t nstr;
        uint64_t st_idx[4][2]; /* sample types: type and unit string indices */
        size_t nsample_types;
        uint64_t period_type[2], period, dflt, time_nanos;
        size_t nsamples;
        uint64_t locs[8];      /* the samples' location ids, in order */
        size_t nl;
        uint64_t values[4];    /* the last sample's values */
        uint64_t label_key[4], label_num[4]; /* each sample's label */
        size_t nlocs;
        uint64_t loc_map[16];  /* each location's mapping id */
        size_t nfuncs;
        uint64_t func_name[8]; /* name string index, by function id */
        size_t nmaps;
        uint64_t map_ids[64];
        bool mapping_has_functions;
        bool whole; /* the message decoded to its last byte */
} pprof_doc_t;

static void pprof_sample(pprof_doc_t *d, pbr_t sub)
{
        unsigned f, lf;
        uint64_t v;
        pbr_t s2, s3;
        while (pb_field(&sub, &f, &v, &s2)) {
                uint64_t x;
                if (f == 3) {
                        while (d->nsamples < 4 && pb_field(&s2, &lf, &v, &s3))
                                if (lf == 1)
                                        d->label_key[d->nsamples] = v;
                                else if (lf == 3)
                                        d->label_num[d->nsamples] = v;
                        continue;
                }
                for (size_t k = 0; s2.p < s2.end && pb_varint(&s2, &x); k++)
                        if (f == 1 && d->nl < 8)
                                d->locs[d->nl++] = x;
                        else if (f == 2 && k < 4)
                                d->values[k] = x;
        }
        d->nsamples++;
}

static void pprof_decode(const pc_buf_t *raw, pprof_doc_t *d)
{
        memset(d, 0, sizeof(*d));
        d->dflt = 99;
        pbr_t rd = {(const uint8_t *)raw->data, (const uint8_t *)raw->data + raw->len}, sub, s2;
        unsigned f;
        uint64_t v;
        while (pb_field(&rd, &f, &v, &sub)) {
                if (f == 6 && d->nstr < 256) {
                        d->strings[d->nstr++] = strndup((const char *)sub.p, (size_t)v);
                } else if (f == 1 && d->nsample_types < 4) {
                        while (pb_field(&sub, &f, &v, &s2))
                                d->st_idx[d->nsample_types][f - 1] = v;
                        d->nsample_types++;
                } else if (f == 11) {
                        while (pb_field(&sub, &f, &v, &s2))
                                d->period_type[f - 1] = v;
                } else if (f == 9) {
                        d->time_nanos = v;
                } else if (f == 12) {
                        d->period = v;
                } else if (f == 14) {
                        d->dflt = v;
                } else if (f == 2) {
                        pprof_sample(d, sub);
                } else if (f == 4) {
                        uint64_t mid = 0;
                        while (pb_field(&sub, &f, &v, &s2))
                                if (f == 2)
                                        mid = v;
                        if (d->nlocs < 16)
                                d->loc_map[d->nlocs] = mid;
                        d->nlocs++;
                } else if (f == 5) {
                        uint64_t id = 0, name = 0;
                        while (pb_field(&sub, &f, &v, &s2))
                                if (f == 1)
                                        id = v;
                                else if (f == 2)
                                        name = v;
                        if (id < 8)
                                d->func_name[id] = name;
                        d->nfuncs++;
                } else if (f == 3) {
                        while (pb_field(&sub, &f, &v, &s2))
                                if (f == 7 && v == 1)
                                        d->mapping_has_functions = true;
                                else if (f == 1 && d->nmaps < 64)
                                        d->map_ids[d->nmaps] = v;
                        d->nmaps++;
                }
        }
        d->whole = rd.p == rd.end;
}

static void pprof_doc_free(pprof_doc_t *d)
{
        for (size_t i = 0; i < d->nstr; i++)
                free(d->strings[i]);
}

/* Inflates a gzip buffer (at most cap bytes out) into a new pc_buf_t. */
static pc_buf_t gunzip(const pc_buf_t *gz, size_t cap)
{
        pc_buf_t out = {malloc(cap), 0, cap, false};
        z_stream z;
        memset(&z, 0, sizeof(z));
        EXPECT(inflateInit2(&z, 31) == Z_OK);
        z.next_in = (Bytef *)gz->data;
        z.avail_in = (uInt)gz->len;
        z.next_out = (Bytef *)out.data;
        z.avail_out = (uInt)cap;
        EXPECT(inflate(&z, Z_FINISH) == Z_STREAM_END);
        out.len = z.total_out;
        inflateEnd(&z);
        return out;
}

static void pprof_fields(void)
{
        uint64_t pcs[] = {(uint64_t)(uintptr_t)&unit_site_inner + 1,
                          (uint64_t)(uintptr_t)&unit_site_outer + 1, 0x10};
        char *text = make_dump(pcs, 3, 4, 4096, 1);
        pc_profile_t p;
        pc_resolved_t r;
        pc_resolve_opts_t o = {0};
        EXPECT(resolve_text(text, &o, &p, &r) == 0);
        pc_buf_t raw = {0}, gz = {0};
        pc_error_t err;
        EXPECT(pc_write_pprof_raw(&r, &raw, &err) == 0);
        EXPECT(pc_write_pprof(&r, &gz, &err) == 0);

        pprof_doc_t d;
        pprof_decode(&raw, &d);
        char **strings = d.strings;
        size_t nstr = d.nstr;
        EXPECT(d.whole); /* the whole message decoded */
        EXPECT(nstr > 10 && strings[0][0] == '\0');
        EXPECT_EQ(d.nsample_types, 4);
        static const char *const want[4][2] = {{"alloc_objects", "count"},
                                               {"alloc_space", "bytes"},
                                               {"inuse_objects", "count"},
                                               {"inuse_space", "bytes"}};
        for (int i = 0; i < 4 && d.nsample_types == 4; i++) {
                EXPECT(d.st_idx[i][0] < nstr && d.st_idx[i][1] < nstr);
                EXPECT_STR(strings[d.st_idx[i][0]], want[i][0]);
                EXPECT_STR(strings[d.st_idx[i][1]], want[i][1]);
        }
        EXPECT(d.dflt < nstr && strcmp(strings[d.dflt], "inuse_space") == 0);
        EXPECT(d.period_type[0] < nstr && strcmp(strings[d.period_type[0]], "space") == 0);
        EXPECT(d.period_type[1] < nstr && strcmp(strings[d.period_type[1]], "bytes") == 0);
        EXPECT_EQ(d.period, 1);
        EXPECT_EQ(d.nl, 3);
        EXPECT(d.nl == 3 && d.locs[0] == 1 && d.locs[1] == 2 && d.locs[2] == 3); /* leaf first */
        EXPECT_EQ(d.nlocs, 3);
        /* every location names a mapping that exists (0x10 is in none: the empty one) */
        for (size_t i = 0; i < d.nlocs && i < 8; i++) {
                bool found = false;
                for (size_t k = 0; k < d.nmaps && k < 64; k++)
                        found |= d.loc_map[i] != 0 && d.map_ids[k] == d.loc_map[i];
                EXPECT(found);
        }
        EXPECT_EQ(d.nfuncs, 2);
        EXPECT(d.nmaps >= 2 && d.mapping_has_functions);
        EXPECT_EQ(d.values[0], 4);
        EXPECT_EQ(d.values[1], 4096);
        EXPECT_EQ(d.values[2], 4);
        EXPECT_EQ(d.values[3], 4096);
        EXPECT(d.func_name[1] < nstr && strcmp(strings[d.func_name[1]], "unit_site_inner") == 0);
        EXPECT(d.func_name[2] < nstr && strcmp(strings[d.func_name[2]], "unit_site_outer") == 0);
        pprof_doc_free(&d);

        /* gzip wrapper: magic bytes, and it inflates to the raw message. */
        EXPECT(gz.len > 18 && (uint8_t)gz.data[0] == 0x1f && (uint8_t)gz.data[1] == 0x8b);
        pc_buf_t back = gunzip(&gz, raw.len + 16);
        EXPECT_EQ(back.len, raw.len);
        EXPECT(memcmp(back.data, raw.data, raw.len) == 0);
        pc_buf_free(&back);
        pc_buf_free(&raw);
        pc_buf_free(&gz);
        pc_resolved_free(&r);
        pc_profile_free(&p);
        free(text);
}

/* Two processes' profiles as one: mappings and locations apart (addresses in no file
 * share the empty mapping), functions shared by name, each sample labelled with its pid,
 * the time written. */
static void pprof_parts(void)
{
        uint64_t pcs[] = {(uint64_t)(uintptr_t)&unit_site_inner + 1,
                          (uint64_t)(uintptr_t)&unit_site_outer + 1, 0x10};
        char *text = make_dump(pcs, 3, 4, 4096, 1);
        pc_profile_t p1, p2;
        pc_resolved_t r1, r2;
        pc_resolve_opts_t o = {0};
        EXPECT(resolve_text(text, &o, &p1, &r1) == 0);
        EXPECT(resolve_text(text, &o, &p2, &r2) == 0);
        pc_pprof_part_t parts[2] = {{&r1, 11}, {&r2, 22}};
        pc_buf_t gz = {0};
        pc_error_t err;
        EXPECT(pc_write_pprof_parts(parts, 2, 1234567890123, &gz, &err) == 0);
        pc_buf_t raw = gunzip(&gz, 1 << 20);
        pprof_doc_t d;
        pprof_decode(&raw, &d);
        EXPECT(d.whole);
        EXPECT_EQ(d.time_nanos, 1234567890123ull);
        EXPECT_EQ(d.nsamples, 2);
        EXPECT(d.label_key[0] < d.nstr && strcmp(d.strings[d.label_key[0]], "pid") == 0);
        EXPECT(d.label_key[1] == d.label_key[0]);
        EXPECT_EQ(d.label_num[0], 11);
        EXPECT_EQ(d.label_num[1], 22);
        /* The same addresses in two processes are six locations; the two real mappings of
         * each part are apart; the two functions are shared. */
        EXPECT_EQ(d.nlocs, 6);
        EXPECT_EQ(d.nfuncs, 2);
        EXPECT_EQ(d.nmaps, 2 * r1.nmaps + 1);
        for (size_t i = 0; i < 2; i++)
                EXPECT(d.loc_map[i] != d.loc_map[i + 3]);
        /* 0x10, in no file: both parts' locations name the one empty mapping, the last. */
        EXPECT_EQ(d.loc_map[2], 2 * r1.nmaps + 1);
        EXPECT_EQ(d.loc_map[5], 2 * r1.nmaps + 1);
        pprof_doc_free(&d);
        pc_buf_free(&raw);
        pc_buf_free(&gz);
        pc_resolved_free(&r1);
        pc_resolved_free(&r2);
        pc_profile_free(&p1);
        pc_profile_free(&p2);
        free(text);
}

static void folded_and_svg(void)
{
        /* Two records with the same stack (merged), one other; no files to read. */
        static const char text[] = "heap_v2/1\n  t*: 6: 600 [0: 0]\n"
                                   "@ 0x1001 0x2001\n  t*: 1: 100 [0: 0]\n"
                                   "@ 0x1001 0x2001\n  t*: 2: 200 [0: 0]\n"
                                   "@ 0x1005 0x3001\n  t*: 3: 300 [0: 0]\n"
                                   "@ 0x1009\n  t*: 0: 0 [1: 8]\n";
        pc_profile_t p;
        pc_resolved_t r;
        pc_resolve_opts_t o = {.no_symbols = true};
        EXPECT(resolve_text(text, &o, &p, &r) == 0);
        pc_buf_t b = {0};
        pc_error_t err;
        EXPECT(pc_write_folded(&r, &b, &err) == 0);
        char *t = strndup(b.data, b.len);
        EXPECT_STR(t, "0x2000;0x1001 300\n0x3000;0x1005 300\n");
        free(t);
        pc_buf_free(&b);
        EXPECT(pc_write_svg(&r, "a <title> & \"quotes\"", &b, &err) == 0);
        t = strndup(b.data, b.len);
        free(b.data);
        b.data = t;
        EXPECT(strstr(b.data, "a &lt;title&gt; &amp; &quot;quotes&quot;") != NULL);
        EXPECT(strstr(b.data, "<title>0x1001 (300 bytes, 50.00%)</title>") != NULL);
        EXPECT(strstr(b.data, "<title>all (600 bytes, 100.00%)</title>") != NULL);
        /* The subtitle says what the widths are and how they were sampled. */
        EXPECT(strstr(b.data, "in-use bytes: 600 in all; one sample per 1 bytes allocated "
                             "on average (heap_v2/1)") != NULL);
        EXPECT(strstr(b.data, "<script") == NULL && strstr(b.data, "href") == NULL);
        EXPECT(strncmp(b.data, "<?xml", 5) == 0 && strstr(b.data, "</svg>\n") != NULL);
        pc_buf_free(&b);
        pc_resolved_free(&r);
        pc_profile_free(&p);
}

/* ---- the ELF reader on hand-made files ------------------------------------------------- */

/* fstat as profconv calls it (the test executable's definition wins over libc's): counts the
 * calls on one inode and, when armed, truncates that file right after reporting its full
 * size, as another user could between open and read.  (Declared by <sys/stat.h>, possibly
 * redirected to fstat64: this definition then gets that name too.) */
static ino_t fstat_ino;
static const char *fstat_truncate_path;
static off_t fstat_truncate_to;
static int fstat_hits;

int fstat(int fd, struct stat *st)
{
        int rc = (int)syscall(SYS_fstat, fd, st);
        if (rc == 0 && fstat_ino != 0 && st->st_ino == fstat_ino) {
                fstat_hits++;
                if (fstat_truncate_path != NULL &&
                    truncate(fstat_truncate_path, fstat_truncate_to) != 0)
                        abort();
        }
        return rc;
}

typedef struct fake_opts {
        uint64_t shoff;      /* where the section table goes (default 0x2000) */
        uint64_t symtab_off; /* overrides for the .symtab section header (0: real) */
        uint64_t symtab_size;
        uint64_t file_size; /* extended (sparse) to this size if larger */
} fake_opts_t;

#define FAKE_VADDR 0x400000ull
#define FAKE_FUNC 0x401000ull

/* A 64-bit ELF file: one PT_LOAD (offset 0 at FAKE_VADDR), a build-id note, and a .symtab
 * with one function, fake_func at FAKE_FUNC (0x100 bytes).  0 or -1. */
static int write_fake_elf(const char *path, const fake_opts_t *fo)
{
        uint64_t shoff = fo->shoff ? fo->shoff : 0x2000;
        size_t len = (size_t)shoff + 4 * sizeof(Elf64_Shdr);
        unsigned char *f = calloc(1, len);
        if (f == NULL)
                return -1;
        Elf64_Ehdr h = {0};
        memcpy(h.e_ident, ELFMAG, SELFMAG);
        h.e_ident[EI_CLASS] = ELFCLASS64;
        h.e_ident[EI_DATA] = ELFDATA2LSB;
        h.e_ident[EI_VERSION] = EV_CURRENT;
        h.e_type = ET_DYN;
        h.e_machine = EM_X86_64;
        h.e_version = EV_CURRENT;
        h.e_phoff = sizeof(h);
        h.e_shoff = shoff;
        h.e_ehsize = sizeof(h);
        h.e_phentsize = sizeof(Elf64_Phdr);
        h.e_phnum = 1;
        h.e_shentsize = sizeof(Elf64_Shdr);
        h.e_shnum = 4;
        memcpy(f, &h, sizeof(h));
        Elf64_Phdr ph = {.p_type = PT_LOAD,
                         .p_flags = PF_R | PF_X,
                         .p_offset = 0,
                         .p_vaddr = FAKE_VADDR,
                         .p_filesz = 0x100000,
                         .p_memsz = 0x100000};
        memcpy(f + sizeof(h), &ph, sizeof(ph));
        Elf64_Nhdr nh = {.n_namesz = 4, .n_descsz = 20, .n_type = NT_GNU_BUILD_ID};
        memcpy(f + 0x100, &nh, sizeof(nh));
        memcpy(f + 0x100 + sizeof(nh), "GNU", 4);
        for (int i = 0; i < 20; i++)
                f[0x100 + sizeof(nh) + 4 + i] = (unsigned char)(0xa0 + i);
        static const char strtab[] = "\0fake_func";
        memcpy(f + 0x200, strtab, sizeof(strtab));
        Elf64_Sym sym = {.st_name = 1,
                         .st_info = ELF64_ST_INFO(STB_GLOBAL, STT_FUNC),
                         .st_shndx = 1,
                         .st_value = FAKE_FUNC,
                         .st_size = 0x100};
        memcpy(f + 0x300 + sizeof(Elf64_Sym), &sym, sizeof(sym));
        Elf64_Shdr sh[4] = {
                {0},
                {.sh_type = SHT_NOTE, .sh_offset = 0x100, .sh_size = sizeof(nh) + 4 + 20},
                {.sh_type = SHT_STRTAB, .sh_offset = 0x200, .sh_size = sizeof(strtab)},
                {.sh_type = SHT_SYMTAB,
                 .sh_offset = fo->symtab_off ? fo->symtab_off : 0x300,
                 .sh_size = fo->symtab_size ? fo->symtab_size : 2 * sizeof(Elf64_Sym),
                 .sh_link = 2,
                 .sh_entsize = sizeof(Elf64_Sym)},
        };
        memcpy(f + shoff, sh, sizeof(sh));
        int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
        int rc = fd >= 0 && write(fd, f, len) == (ssize_t)len ? 0 : -1;
        if (rc == 0 && fo->file_size > len && ftruncate(fd, (off_t)fo->file_size) != 0)
                rc = -1;
        if (fd >= 0)
                close(fd);
        free(f);
        return rc;
}

static char fake_dir[256];

static void fake_dir_make(void)
{
        const char *t = getenv("TMPDIR");
        snprintf(fake_dir, sizeof(fake_dir), "%s/test_profconv.XXXXXX", t && *t ? t : "/tmp");
        if (mkdtemp(fake_dir) == NULL)
                abort();
}

static void fake_dir_remove(const char *const *names)
{
        char path[512];
        for (; *names != NULL; names++) {
                snprintf(path, sizeof(path), "%s/%s", fake_dir, *names);
                unlink(path);
        }
        rmdir(fake_dir);
}

/* A dump of one record whose frames are FAKE_FUNC+0x10 in each of n maps (map i at
 * 0x10000000 * (i+1), offset 0, path paths[i]): innermost first, the first frame as is,
 * the others as return addresses (+1). */
static char *fake_dump(const char *const *paths, size_t n, const char *bytes)
{
        size_t cap = 4096 + n * 600;
        char *s = malloc(cap);
        if (s == NULL)
                abort();
        size_t len = (size_t)snprintf(s, cap, "heap_v2/1\n  t*: 1: %s [0: 0]\n@", bytes);
        for (size_t i = 0; i < n; i++)
                len += (size_t)snprintf(s + len, cap - len, " 0x%llx",
                                        0x10000000ull * (i + 1) + (FAKE_FUNC - FAKE_VADDR) + 0x10 +
                                                (i > 0));
        len += (size_t)snprintf(s + len, cap - len, "\n  t*: 1: %s [0: 0]\n\nMAPPED_LIBRARIES:\n",
                                bytes);
        for (size_t i = 0; i < n; i++)
                len += (size_t)snprintf(s + len, cap - len, "%llx-%llx r-xp 00000000 00:00 1 %s\n",
                                        0x10000000ull * (i + 1), 0x10000000ull * (i + 1) + 0x100000,
                                        paths[i]);
        return s;
}

/* Resolves fake_dump(paths) and returns how many of its frames became fake_func (-1 if the
 * conversion failed); build_id: the first map's (may be NULL). */
static int fake_symbolized(const char *const *paths, size_t n, pc_resolve_opts_t *o, char *build_id,
                           size_t cap)
{
        char *text = fake_dump(paths, n, "100");
        pc_profile_t p;
        pc_resolved_t r;
        o->no_trim = true;
        int rc = resolve_text(text, o, &p, &r);
        free(text);
        if (rc != 0)
                return -1;
        int k = 0;
        for (size_t i = 0; i < r.nframes; i++)
                if (r.frames[i].func != NULL && strcmp(r.frames[i].func, "fake_func") == 0)
                        k++;
        if (build_id != NULL)
                snprintf(build_id, cap, "%s", r.nmaps ? r.maps[0].build_id : "");
        /* Unsymbolized frames are named file+offset. */
        char tmp[128];
        if (r.nframes > 0 && r.frames[0].func == NULL)
                EXPECT(strstr(pc_frame_name(&r, &r.frames[0], tmp, sizeof(tmp)), "+0x1010") != NULL);
        pc_resolved_free(&r);
        pc_profile_free(&p);
        return k;
}

static void elf_hand_made(void)
{
        fake_dir_make();
        char path[300];
        snprintf(path, sizeof(path), "%s/fake.so", fake_dir);
        const char *paths[] = {path};
        pc_resolve_opts_t o = {0};
        char id[128];

        /* As written: symbolized, with its build-id. */
        EXPECT(write_fake_elf(path, &(fake_opts_t){0}) == 0);
        EXPECT_EQ(fake_symbolized(paths, 1, &o, id, sizeof(id)), 1);
        EXPECT_STR(id, "a0a1a2a3a4a5a6a7a8a9aaabacadaeafb0b1b2b3");

        /* The section table at an odd offset: read through aligned copies (UBSan). */
        EXPECT(write_fake_elf(path, &(fake_opts_t){.shoff = 0x2001}) == 0);
        EXPECT_EQ(fake_symbolized(paths, 1, &o, NULL, 0), 1);

        /* Tables that claim more than the file has: no symbols, no crash. */
        EXPECT(write_fake_elf(path, &(fake_opts_t){.symtab_off = 0x100000}) == 0);
        EXPECT_EQ(fake_symbolized(paths, 1, &o, NULL, 0), 0);
        EXPECT(write_fake_elf(path, &(fake_opts_t){.symtab_size = 1ull << 40}) == 0);
        EXPECT_EQ(fake_symbolized(paths, 1, &o, NULL, 0), 0);
        EXPECT(write_fake_elf(path, &(fake_opts_t){.shoff = 0x3000 - 8}) == 0);
        EXPECT_EQ(fake_symbolized(paths, 1, &o, NULL, 0), 1);
        EXPECT(truncate(path, 0x3000 - 9) == 0); /* the section table's last byte gone */
        EXPECT_EQ(fake_symbolized(paths, 1, &o, NULL, 0), 0);

        /* Per-file byte limit: 256 bytes do not reach the section table; 4 KiB do. */
        EXPECT(write_fake_elf(path, &(fake_opts_t){0}) == 0);
        o.max_file_read = 256;
        EXPECT_EQ(fake_symbolized(paths, 1, &o, NULL, 0), 0);
        o.max_file_read = 4096;
        EXPECT_EQ(fake_symbolized(paths, 1, &o, NULL, 0), 1);
        o.max_file_read = 0;

        /* File-count limit: with max_files 1, the second distinct file is not read. */
        char path2[300];
        snprintf(path2, sizeof(path2), "%s/other.so", fake_dir);
        EXPECT(write_fake_elf(path2, &(fake_opts_t){0}) == 0);
        const char *two[] = {path, path2};
        EXPECT_EQ(fake_symbolized(two, 2, &o, NULL, 0), 2);
        o.max_files = 1;
        EXPECT_EQ(fake_symbolized(two, 2, &o, NULL, 0), 1);
        o.max_files = 0;

        fake_dir_remove((const char *const[]){"fake.so", "other.so", NULL});
}

/* Truncated by someone else between open and read: with a mapping, reading it would be a
 * SIGBUS that kills the converter (root's jemctld); here its frames stay unsymbolized. */
static void elf_truncated_after_open(void)
{
        fake_dir_make();
        char path[300];
        snprintf(path, sizeof(path), "%s/fake.so", fake_dir);
        const char *paths[] = {path};
        pc_resolve_opts_t o = {0};
        static const off_t to[] = {0, 0x100, 0x2000 + 64};
        for (size_t i = 0; i < sizeof(to) / sizeof(to[0]); i++) {
                EXPECT(write_fake_elf(path, &(fake_opts_t){.file_size = 3 * 4096}) == 0);
                struct stat st;
                EXPECT(stat(path, &st) == 0);
                fstat_ino = st.st_ino;
                fstat_truncate_path = path;
                fstat_truncate_to = to[i];
                fstat_hits = 0;
                EXPECT_EQ(fake_symbolized(paths, 1, &o, NULL, 0), 0);
                EXPECT_EQ(fstat_hits, 1);
                fstat_truncate_path = NULL;
                fstat_ino = 0;
        }
        fake_dir_remove((const char *const[]){"fake.so", NULL});
}

static double now_s(void)
{
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* A sparse 2 GiB file whose .symtab claims nearly all of it, named in nine ways: opened and
 * read once (by device and inode), its oversized table skipped unread, in well under a
 * second (mapped and scanned nine times, it took 6.6 s). */
static void elf_sparse_spellings(void)
{
        fake_dir_make();
        char path[300], p[9][400];
        snprintf(path, sizeof(path), "%s/big.so", fake_dir);
        if (write_fake_elf(path, &(fake_opts_t){.symtab_size = (2ull << 30) - 0x1000,
                                                .file_size = 2ull << 30}) != 0) {
                fprintf(stderr, "  cannot make a sparse 2 GiB file here: part skipped\n");
                fake_dir_remove((const char *const[]){"big.so", NULL});
                return;
        }
        const char *base = strrchr(fake_dir, '/') + 1;
        snprintf(p[0], sizeof(p[0]), "%s/big.so", fake_dir);
        snprintf(p[1], sizeof(p[1]), "%s//big.so", fake_dir);
        snprintf(p[2], sizeof(p[2]), "%s/./big.so", fake_dir);
        snprintf(p[3], sizeof(p[3]), "%s/../%s/big.so", fake_dir, base);
        snprintf(p[4], sizeof(p[4]), "%s/link.so", fake_dir);
        snprintf(p[5], sizeof(p[5]), "%s/hard.so", fake_dir);
        snprintf(p[6], sizeof(p[6]), "/%s/big.so", fake_dir);
        snprintf(p[7], sizeof(p[7]), "%s/./././big.so", fake_dir);
        snprintf(p[8], sizeof(p[8]), "%s/.//link.so", fake_dir);
        EXPECT(symlink("big.so", p[4]) == 0);
        EXPECT(link(path, p[5]) == 0);
        const char *paths[9];
        for (int i = 0; i < 9; i++)
                paths[i] = p[i];
        struct stat st;
        EXPECT(stat(path, &st) == 0);
        fstat_ino = st.st_ino;
        fstat_hits = 0;
        pc_resolve_opts_t o = {0};
        double t0 = now_s();
        EXPECT_EQ(fake_symbolized(paths, 9, &o, NULL, 0), 0);
        double took = now_s() - t0;
        EXPECT_EQ(fstat_hits, 1);
        EXPECT(took < 1.0);
        fstat_ino = 0;
        fake_dir_remove((const char *const[]){"big.so", "link.so", "hard.so", NULL});
}

/* How many fake_func frames the file at path gives when opened for c. */
static int symbolized_for(const char *path, const pc_creds_t *c, size_t *refused)
{
        const char *paths[] = {path};
        pc_resolve_opts_t o = {.creds = c};
        char *text = fake_dump(paths, 1, "100");
        pc_profile_t p;
        pc_resolved_t r;
        o.no_trim = true;
        int k = -1;
        if (resolve_text(text, &o, &p, &r) == 0) {
                k = 0;
                for (size_t i = 0; i < r.nframes; i++)
                        if (r.frames[i].func != NULL && strcmp(r.frames[i].func, "fake_func") == 0)
                                k++;
                *refused = r.nrefused;
                pc_resolved_free(&r);
                pc_profile_free(&p);
        }
        free(text);
        return k;
}

/* Files are read only as the profiled process's credentials allow (security review,
 * issue 17): a file in a directory its user may not search, a file it may not read, a
 * symbolic link and /proc are refused, even to a converter running as root. */
static void elf_for_credentials(void)
{
        if (geteuid() != 0) {
                fprintf(stderr, "  not root: cannot make files of other owners, skipped\n");
                return;
        }
        fake_dir_make(); /* 0700, root's */
        char path[300], link_path[300], via_proc[400];
        size_t refused = 0;
        snprintf(path, sizeof(path), "%s/fake.so", fake_dir);
        EXPECT(write_fake_elf(path, &(fake_opts_t){0}) == 0);
        EXPECT(chmod(path, 0644) == 0);
        pc_creds_t root = {.uid = 0, .gid = 0};
        pc_creds_t nobody = {.uid = 65534, .gid = 65534};
        pc_creds_t member = {.uid = 65534, .gid = 65534, .ngroups = 1, .groups = {4242}};
        EXPECT_EQ(symbolized_for(path, &root, &refused), 1);
        EXPECT_EQ(refused, 0);
        /* The directory is root's 0700: not for uid 65534, whatever the file's mode. */
        EXPECT_EQ(symbolized_for(path, &nobody, &refused), 0);
        EXPECT_EQ(refused, 1);
        EXPECT(chmod(fake_dir, 0711) == 0);
        EXPECT_EQ(symbolized_for(path, &nobody, &refused), 1);
        /* The file's own bits: owner, then group (primary or supplementary), then other. */
        EXPECT(chown(path, 0, 4242) == 0 && chmod(path, 0640) == 0);
        EXPECT_EQ(symbolized_for(path, &nobody, &refused), 0);
        EXPECT_EQ(symbolized_for(path, &member, &refused), 1);
        EXPECT(chmod(path, 0604) == 0); /* the group is denied even where other may */
        EXPECT_EQ(symbolized_for(path, &member, &refused), 0);
        EXPECT(chown(path, 65534, 0) == 0 && chmod(path, 0400) == 0);
        EXPECT_EQ(symbolized_for(path, &nobody, &refused), 1);
        /* A symbolic link and a path through /proc: refused even for root. */
        snprintf(link_path, sizeof(link_path), "%s/link.so", fake_dir);
        EXPECT(symlink("fake.so", link_path) == 0);
        EXPECT_EQ(symbolized_for(link_path, &root, &refused), 0);
        EXPECT_EQ(refused, 1);
        snprintf(via_proc, sizeof(via_proc), "/proc/self/root%s", path);
        EXPECT_EQ(symbolized_for(via_proc, &root, &refused), 0);
        EXPECT_EQ(refused, 1);
        /* The credentials of this very process, read back from /proc. */
        pc_creds_t self;
        EXPECT(pc_creds_of_pid((int)getpid(), &self) == 0);
        EXPECT_EQ(self.uid, geteuid());
        EXPECT_EQ(self.gid, getegid());
        fake_dir_remove((const char *const[]){"fake.so", "link.so", NULL});
}

/* A first record without frames: no arithmetic on a NULL frame array (UBSan). */
static void record_without_frames(void)
{
        static const char text[] = "heap_v2/1\n  t*: 2: 16 [0: 0]\n"
                                   "@\n  t*: 1: 8 [0: 0]\n"
                                   "@ 0x1001\n  t*: 1: 8 [0: 0]\n";
        pc_profile_t p;
        pc_resolved_t r;
        pc_resolve_opts_t o = {.no_symbols = true};
        EXPECT(resolve_text(text, &o, &p, &r) == 0);
        EXPECT_EQ(r.nsamples, 2);
        EXPECT_EQ(r.samples[0].n, 0);
        EXPECT_EQ(r.samples[1].n, 1);
        pc_resolved_free(&r);
        pc_profile_free(&p);
        static const char only[] = "heap_v2/1\n  t*: 1: 8 [0: 0]\n@\n  t*: 1: 8 [0: 0]\n";
        EXPECT(resolve_text(only, &o, &p, &r) == 0);
        pc_buf_t b = {0};
        pc_error_t err;
        EXPECT(pc_write_folded(&r, &b, &err) == 0);
        pc_buf_free(&b);
        pc_resolved_free(&r);
        pc_profile_free(&p);
}

/* Absurd counts (each near INT64_MAX): the totals saturate at UINT64_MAX, never wrap. */
static void absurd_counts(void)
{
        static const char text[] = "heap_v2/1\n  t*: 4: 0 [0: 0]\n"
                                   "@ 0x1001\n  t*: 1: 9000000000000000000 [0: 0]\n"
                                   "@ 0x1001\n  t*: 1: 9000000000000000000 [0: 0]\n"
                                   "@ 0x1001\n  t*: 1: 9000000000000000000 [0: 0]\n"
                                   "@ 0x2001\n  t*: 1: 9000000000000000000 [0: 0]\n";
        pc_profile_t p;
        pc_resolved_t r;
        pc_resolve_opts_t o = {.no_symbols = true};
        EXPECT(resolve_text(text, &o, &p, &r) == 0);
        pc_buf_t b = {0};
        pc_error_t err;
        EXPECT(pc_write_folded(&r, &b, &err) == 0);
        char *t = strndup(b.data, b.len);
        EXPECT_STR(t, "0x1001 18446744073709551615\n0x2001 9000000000000000000\n");
        free(t);
        pc_buf_free(&b);
        EXPECT(pc_write_svg(&r, NULL, &b, &err) == 0);
        t = strndup(b.data, b.len);
        EXPECT(strstr(t, "in-use bytes: 18446744073709551615 in all;") != NULL);
        EXPECT(strstr(t, "<title>all (18446744073709551615 bytes, 100.00%)</title>") != NULL);
        /* Wrapped, 3 * 9e18 would be 27e18 - 2^64 and 4 * 9e18 36e18 - 2^64. */
        EXPECT(strstr(t, "8553255926290448384") == NULL &&
              strstr(t, "17553255926290448384") == NULL);
        EXPECT(strstr(t, "(-") == NULL && strstr(t, "bytes, -") == NULL);
        /* Every box within the graph: x + width <= 1190. */
        for (const char *q = t; (q = strstr(q, "<rect x=\"")) != NULL; q++) {
                double x = 0, w = 0;
                EXPECT(sscanf(q, "<rect x=\"%lf\" y=\"%*f\" width=\"%lf\"", &x, &w) == 2);
                EXPECT(x >= 10 && x + w <= 1190.01);
        }
        free(t);
        pc_buf_free(&b);
        pc_resolved_free(&r);
        pc_profile_free(&p);
}

int main(void)
{
        RUN("unit/profconv", parse_example);
        RUN("unit/profconv", parse_without_maps);
        RUN("unit/profconv", parse_errors);
        RUN("unit/profconv", frame_limit);
        RUN("unit/profconv", truncations);
        RUN("unit/profconv", mutations);
        RUN("unit/profconv", unbias);
        RUN("unit/profconv", alloc_frames);
        RUN("unit/profconv", symbolize_self);
        RUN("unit/profconv", trim_by_library);
        RUN("unit/profconv", pprof_fields);
        RUN("unit/profconv", pprof_parts);
        RUN("unit/profconv", folded_and_svg);
        RUN("unit/profconv", elf_hand_made);
        RUN("unit/profconv", elf_truncated_after_open);
        RUN("unit/profconv", elf_sparse_spellings);
        RUN("unit/profconv", elf_for_credentials);
        RUN("unit/profconv", record_without_frames);
        RUN("unit/profconv", absurd_counts);
        free(exact);
        return check_finish();
}
