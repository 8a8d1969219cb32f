/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * death: misuse liballoc detects.  Each case runs in a child process that must die by
 * SIGABRT with the expected message on stderr; the parent checks both.  (jemalloc 5.3
 * does not check these; this program only runs against liballoc.)
 *   double free of a large block, free of a pointer inside a small block (when the slow
 *   path sees it); double frees of small blocks on the owner's fast path (at once, after
 *   other frees, after the block's list was refilled) and from another thread; a free of
 *   a stack, static or unmapped address (foreign_free:abort, the default); an unaligned
 *   pointer; sdallocx with another class's size; realloc of a foreign pointer; a forged
 *   pointer written into a freed block (malloc reports the corrupted list).
 *   hardened:true: a double free while the block is quarantined (same thread, other
 *   thread), a write into a quarantined block, a write past a large block (guard page),
 *   and writes past the usable size of a live small block (its canary): one byte, in a
 *   class of at most 4 KiB and in a larger one, and through the canary into the next
 *   block; each is found when the overflowed block is freed, which names it.
 *   Not detected (documented in liballoc(3)): an 8-byte-aligned pointer inside a small
 *   block freed by its owner, a double free of a block handed out again in between.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <malloc.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "stress_util.h"

static void *volatile keep;

static void case_double_free_large(void)
{
        char *p = malloc(100000);
        keep = p;
        free(p);
        free(p);
}

static void *free_interior(void *arg)
{
        free((char *)arg + 8);
        return NULL;
}

/* Runs fn(arg) on a thread of its own and waits for it. */
static void on_thread(void *(*fn)(void *), void *arg)
{
        pthread_t t;
        pthread_create(&t, NULL, fn, arg);
        pthread_join(t, NULL);
}

static void case_interior_small_remote(void)
{
        /* Freed from another thread, the block goes through the slow path, which checks
         * block boundaries (the owner's own fast path does not look). */
        char *p = malloc(48);
        keep = p;
        on_thread(free_interior, p);
}

static void case_double_free_small(void)
{
        char *p = malloc(32);
        keep = p;
        free(p);
        free(p);
}

static void case_double_free_small_later(void)
{
        char *p = malloc(48), *q = malloc(48);
        keep = q;
        free(p);
        free(q);
        free(p);
}

static void case_double_free_small_refilled(void)
{
        /* The freed block's list is taken back into the heap by a refill. */
        char *p = malloc(64);
        free(p);
        for (int i = 0; i < 2000; i++) {
                void *x = malloc(64);
                keep = x;
                free(x);
        }
        free(p);
}

static void *free_arg(void *arg)
{
        free(arg);
        return NULL;
}

static void case_double_free_small_remote(void)
{
        char *p = malloc(32);
        keep = p;
        free(p);
        on_thread(free_arg, p);
}

static void case_double_free_remote_then_owner(void)
{
        char *p = malloc(32);
        keep = p;
        on_thread(free_arg, p);
        free(p);
}

static void case_free_stack(void)
{
        char buf[64];
        keep = buf;
        free((void *)keep);
}

static char static_buf[64];

static void case_free_static(void)
{
        keep = static_buf;
        free((void *)keep);
}

static void case_free_far(void)
{
        keep = (void *)(uintptr_t)0x100000000000ull;
        free((void *)keep);
}

static void case_free_unaligned(void)
{
        char *p = malloc(32);
        keep = p;
        free(p + 1);
}

static void case_sdallocx_mismatch(void)
{
        /* The preloaded allocator's sdallocx (the program links none). */
        void (*sdallocx_fn)(void *, size_t, int) =
                (void (*)(void *, size_t, int))dlsym(RTLD_DEFAULT, "sdallocx");
        void *p = malloc(24);
        keep = p;
        if (sdallocx_fn != NULL)
                sdallocx_fn(p, 200, 0);
}

static void case_realloc_foreign(void)
{
        char buf[64];
        keep = buf;
        void *q = realloc((void *)keep, 100);
        keep = q;
}

static void case_forged_link(void)
{
        /* Write an address of our choosing into a freed block; malloc must never return
         * it, and report the overwritten link instead. */
        void *p = malloc(32);
        free(p);
        *(void **)p = static_buf;
        for (int i = 0; i < 100000; i++) {
                void *q = malloc(32);
                if (q == static_buf) {
                        fprintf(stderr, "malloc returned the forged address\n");
                        _exit(3);
                }
        }
        fprintf(stderr, "the forged link went unnoticed\n");
        _exit(4);
}

struct death_case {
        const char *name;
        void (*fn)(void);
        const char *message;
};

static const struct death_case cases[] = {
        {"double-free-large", case_double_free_large, "free(): double free or invalid pointer"},
        {"interior-small", case_interior_small_remote, "free(): invalid pointer (not the start"},
        {"double-free-small", case_double_free_small, "free(): double free detected"},
        {"double-free-small-later", case_double_free_small_later, "free(): double free detected"},
        {"double-free-small-refilled", case_double_free_small_refilled,
         "free(): double free detected"},
        {"double-free-small-remote", case_double_free_small_remote, "free(): double free detected"},
        {"double-free-remote-then-owner", case_double_free_remote_then_owner,
         "free(): double free detected"},
        {"free-stack", case_free_stack, "free(): invalid pointer (not allocated by liballoc"},
        {"free-static", case_free_static, "free(): invalid pointer (not allocated by liballoc"},
        {"free-far", case_free_far, "free(): invalid pointer (not allocated by liballoc"},
        {"free-unaligned", case_free_unaligned, "free(): invalid pointer (not the start"},
        {"sdallocx-mismatch", case_sdallocx_mismatch, "size mismatch (size 200"},
        {"realloc-foreign", case_realloc_foreign, "realloc(): invalid pointer"},
        {"forged-link", case_forged_link, "malloc(): corrupted free list"},
};

/* Runs fn in a child process, or, when conf is set, this program again (self arg) with
 * MALLOC_CONF=conf; the child's stderr lands in out.  Returns its wait status. */
static int run_child(void (*fn)(void), const char *self, const char *conf, const char *arg,
                     char *out, size_t cap)
{
        int fds[2];
        if (pipe(fds) != 0)
                check_fatal("pipe failed");
        pid_t pid = fork();
        if (pid == 0) {
                dup2(fds[1], STDERR_FILENO);
                close(fds[0]);
                signal(SIGABRT, SIG_DFL);
                if (conf == NULL) {
                        fn();
                        _exit(0); /* not detected */
                }
                setenv("MALLOC_CONF", conf, 1);
                execl(self, self, arg, (char *)NULL);
                _exit(127);
        }
        close(fds[1]);
        size_t n = 0;
        ssize_t r;
        while (n < cap - 1 && (r = read(fds[0], out + n, cap - 1 - n)) > 0)
                n += (size_t)r;
        out[n] = '\0';
        close(fds[0]);
        int status;
        waitpid(pid, &status, 0);
        return status;
}

/* foreign_free:warn and :ignore: the same foreign frees are survived, reported once or
 * not at all. */
static int check_foreign_mode(const char *self, const char *mode, int want_lines)
{
        char conf[64], out[2048];
        snprintf(conf, sizeof(conf), "foreign_free:%s", mode);
        int status = run_child(NULL, self, conf, "--foreign-frees", out, sizeof(out));
        int lines = 0;
        for (const char *q = out; (q = strstr(q, "invalid pointer")) != NULL; q++)
                lines++;
        bool ok = WIFEXITED(status) && WEXITSTATUS(status) == 0 && lines == want_lines;
        if (!CHECKF(cname("death/foreign_free:%s", mode), ok, "%s, %d report(s), want %d",
                    WIFEXITED(status) ? "exited" : "killed", lines, want_lines))
                fprintf(stderr, "death: foreign_free:%s: stderr was: %s\n", mode, out);
        return ok ? 0 : 1;
}

/* A child that must die by SIGABRT with message on stderr. */
static int check_abort(const char *label, int status, const char *out, const char *message)
{
        bool ok = WIFSIGNALED(status) && WTERMSIG(status) == SIGABRT &&
                  strstr(out, message) != NULL;
        if (!CHECKF(cname("death/%s", label), ok, "%s, want SIGABRT and \"%s\"",
                    WIFSIGNALED(status) ? strsignal(WTERMSIG(status)) : "exited", message))
                fprintf(stderr, "death: %s: stderr was: %s\n", label, out);
        return ok ? 0 : 1;
}

/* hardened:true: a double free while the block waits in the quarantine, and a write
 * into a freed block found when it leaves the quarantine. */
static int check_hardened(const char *self, const char *which, const char *message)
{
        char out[2048], label[96];
        int status = run_child(NULL, self, "hardened:true", which, out, sizeof(out));
        snprintf(label, sizeof(label), "hardened %s", which);
        return check_abort(label, status, out, message);
}

static void *hardened_free_and_churn(void *p)
{
        free(p);
        for (int i = 0; i < 1000; i++) {
                void *x = malloc(40);
                keep = x;
                free(x);
        }
        return NULL;
}

/* hardened:true: a write past the usable size of a live small block, found by its free,
 * whose message must name the block (the child prints it first: "block 0x..."). */
static int check_overflow(const char *self, const char *which)
{
        char out[2048], label[96], want[96];
        int status = run_child(NULL, self, "hardened:true", which, out, sizeof(out));
        snprintf(label, sizeof(label), "hardened %s", which);
        const char *b = strstr(out, "block 0x");
        unsigned long long addr = 0;
        if (b == NULL || sscanf(b, "block %llx", &addr) != 1)
                addr = 0;
        snprintf(want, sizeof(want),
                 "free(): heap overflow detected (canary of block %#llx overwritten)", addr);
        return check_abort(label, status, out, want);
}

/* Two blocks of n bytes with the second right after the first (fresh blocks are carved
 * in a random order, so some of a slab's are neighbours in the other order too); the
 * first in *first.  Returns the second, or NULL. */
static char *neighbours(size_t n, char **first)
{
        enum { NB = 64 };
        static char *b[NB];
        for (int i = 0; i < NB; i++)
                b[i] = malloc(n);
        size_t step = malloc_usable_size(b[0]) + 8; /* the canary: classes up to 4 KiB */
        for (int i = 0; i < NB; i++)
                for (int j = 0; j < NB; j++)
                        if (b[j] == b[i] + step) {
                                *first = b[i];
                                return b[j];
                        }
        return NULL;
}

static int hardened_overflow(const char *which)
{
        if (strcmp(which, "--hardened-overflow-one-byte") == 0 ||
            strcmp(which, "--hardened-overflow-one-byte-5k") == 0) {
                /* One byte past the usable size (a class of at most 4 KiB, whose canary is
                 * its last word; a larger one, whose blocks grew by 16 bytes). */
                bool small = strcmp(which, "--hardened-overflow-one-byte") == 0;
                char *p = malloc(small ? 40 : 5000);
                keep = p;
                size_t u = malloc_usable_size(p);
                memset(p, 'a', u); /* all of the usable size is the program's */
                fprintf(stderr, "block %p\n", (void *)p);
                p[u] = 'a';
                free(p);
        } else if (strcmp(which, "--hardened-overflow-neighbour") == 0) {
                /* A string copy 12 bytes too long: through the canary into the first bytes
                 * of the next block, a live one.  Found when the overflowed block is
                 * freed, whatever the neighbour does first. */
                char *p, *q = neighbours(40, &p);
                if (q == NULL)
                        return 2;
                memset(q, 'q', malloc_usable_size(q));
                fprintf(stderr, "block %p\n", (void *)p);
                char src[64];
                memset(src, 'x', sizeof(src));
                src[malloc_usable_size(p) + 11] = '\0';
                strcpy(p, src);
                if (q[2] != 'x' || q[3] != '\0' || q[4] != 'q')
                        return 3; /* not the layout this case is about */
                free(q); /* the neighbour's own canary is intact */
                free(p);
        } else {
                return 2;
        }
        return 0; /* not detected */
}

static int hardened_case(const char *which)
{
        if (strncmp(which, "--hardened-overflow-", 20) == 0)
                return hardened_overflow(which);
        char *p = malloc(40);
        keep = p;
        if (strcmp(which, "--hardened-double-free") == 0) {
                free(p);
                free(p);
        } else if (strcmp(which, "--hardened-cross-thread-double-free") == 0) {
                /* Each thread has its own quarantine: the second free, by another thread,
                 * is found when the block leaves one of them. */
                free(p);
                on_thread(hardened_free_and_churn, p);
                hardened_free_and_churn(malloc(40));
        } else if (strcmp(which, "--hardened-guard-page") == 0) {
                /* The process's first large run gets a guard page right after its usable
                 * size: the write must fault. */
                char *q = malloc(100000);
                keep = q;
                q[malloc_usable_size(q)] = 1;
        } else if (strcmp(which, "--hardened-keeps-tcache") == 0) {
                bool on = false;
                size_t len = sizeof(on);
                int (*ctl)(const char *, void *, size_t *, void *, size_t);
                *(void **)&ctl = dlsym(RTLD_DEFAULT, "mallctl");
                if (ctl == NULL || ctl("thread.tcache.enabled", &on, &len, NULL, 0) != 0)
                        return 2;
                return on ? 0 : 1;
        } else {
                free(p);
                p[10] = 1; /* use after free */
                for (int i = 0; i < 1000; i++) {
                        void *x = malloc(40);
                        keep = x;
                        free(x);
                }
        }
        return 0; /* not detected */
}

int main(int argc, char **argv)
{
        if (argc > 1 && strncmp(argv[1], "--hardened-", 11) == 0)
                return hardened_case(argv[1]);
        if (argc > 1 && strcmp(argv[1], "--foreign-frees") == 0) {
                char buf[64];
                keep = buf;
                free((void *)keep);
                keep = static_buf;
                free((void *)keep);
                void *q = realloc((void *)keep, 10); /* NULL: its size is unknown */
                return q == NULL ? 0 : 1;
        }
        stress_begin("death", 30);
        int failed = 0;
        failed |= check_foreign_mode(argv[0], "warn", 1);
        failed |= check_foreign_mode(argv[0], "ignore", 0);
        failed |= check_hardened(argv[0], "--hardened-double-free",
                                 "double free detected (block in quarantine)");
        failed |= check_hardened(argv[0], "--hardened-use-after-free", "use after free detected");
        failed |= check_hardened(argv[0], "--hardened-cross-thread-double-free",
                                 "double free detected (block in quarantine)");
        failed |= check_overflow(argv[0], "--hardened-overflow-one-byte");
        failed |= check_overflow(argv[0], "--hardened-overflow-one-byte-5k");
        failed |= check_overflow(argv[0], "--hardened-overflow-neighbour");
        {
                char out[256];
                int status = run_child(NULL, argv[0], "hardened:true", "--hardened-guard-page",
                                       out, sizeof(out));
                if (!CHECKF("death/hardened --hardened-guard-page",
                            WIFSIGNALED(status) && WTERMSIG(status) == SIGSEGV,
                            "a write past a large block did not fault on its guard page "
                            "(status %#x)", status))
                        failed = 1;
        }
        {
                /* The hardened mode keeps the thread caches (malloc's fast path). */
                char out[256];
                int status = run_child(NULL, argv[0], "hardened:true", "--hardened-keeps-tcache",
                                       out, sizeof(out));
                if (!CHECKF("death/hardened --hardened-keeps-tcache",
                            WIFEXITED(status) && WEXITSTATUS(status) == 0,
                            "thread.tcache.enabled is not true (status %#x)", status))
                        failed = 1;
        }
        for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
                char out[1024];
                int status = run_child(cases[i].fn, NULL, NULL, NULL, out, sizeof(out));
                failed |= check_abort(cases[i].name, status, out, cases[i].message);
        }
        if (failed || check_finish() != 0)
                check_fatal("some misuse was not detected as expected");
        printf("death: ok\n");
        return 0;
}
