/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * prof_sites: the workload of tests/prof/run.sh.  Three named allocation sites keep known
 * byte totals live, then the program dumps a heap profile through the allocator's
 * mallctl("prof.dump"), found at run time so that it runs under any allocator given with
 * LD_PRELOAD (liballoc or jemalloc):
 *
 *   site_big    48 MiB in 256 KiB blocks       (192 blocks)
 *   site_mid    12 MiB in 4 KiB blocks         (3,072 blocks)
 *   site_small   3 MiB in 48-byte blocks       (65,536 blocks)
 *
 *   prof_sites OUT.heap [threads]   with "threads" each site runs on its own thread
 *   prof_sites OUT.heap wait        no dump: prints "ready PID", then holds the blocks
 *                                   until its standard input closes (for `jemctl prof
 *                                   PID dump` through the control socket)
 *   prof_sites OUT.heap base        dumps OUT.heap after site_mid only, then
 *                                   OUT.heap.2 with all three sites (for --base diffs)
 *
 * Exit status 0, or 1 with a message (no mallctl, prof.dump failed).
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <dlfcn.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

typedef int (*mallctl_fn)(const char *, void *, size_t *, void *, size_t);

#define MIB (1024 * 1024)

/* Kept reachable so nothing is freed or optimised away. */
static void **volatile keep[3];

/* The index arrays come from here, not from the sites, so that the sites' totals are
 * exactly their blocks. */
static __attribute__((noinline)) void **alloc_index(size_t n)
{
        return calloc(n, sizeof(void *));
}

static __attribute__((noinline)) void **site_big(void)
{
        size_t n = 48 * MIB / (256 * 1024);
        void **v = alloc_index(n);
        for (size_t i = 0; v != NULL && i < n; i++)
                if ((v[i] = malloc(256 * 1024)) == NULL)
                        return NULL;
                else
                        memset(v[i], 1, 64);
        return v;
}

static __attribute__((noinline)) void **site_mid(void)
{
        size_t n = 12 * MIB / 4096;
        void **v = alloc_index(n);
        for (size_t i = 0; v != NULL && i < n; i++)
                if ((v[i] = malloc(4096)) == NULL)
                        return NULL;
                else
                        memset(v[i], 2, 64);
        return v;
}

static __attribute__((noinline)) void **site_small(void)
{
        size_t n = 3 * MIB / 48;
        void **v = alloc_index(n);
        for (size_t i = 0; v != NULL && i < n; i++)
                if ((v[i] = malloc(48)) == NULL)
                        return NULL;
                else
                        memset(v[i], 3, 48);
        return v;
}

static void *run_site(void *arg)
{
        int which = (int)(long)arg;
        void *r = which == 0 ? site_big() : which == 1 ? site_mid() : site_small();
        keep[which] = r;
        return r;
}

static int dump(mallctl_fn mallctl, const char *path)
{
        int e = mallctl("prof.dump", NULL, NULL, (void *)&path, sizeof(path));
        if (e != 0) {
                fprintf(stderr, "prof_sites: mallctl(\"prof.dump\", %s): %s\n", path, strerror(e));
                return 1;
        }
        return 0;
}

int main(int argc, char **argv)
{
        if (argc < 2 || argc > 3) {
                fprintf(stderr, "usage: prof_sites OUT.heap [threads|base|wait]\n");
                return 2;
        }
        const char *mode = argc == 3 ? argv[2] : "";
        mallctl_fn mallctl = (mallctl_fn)dlsym(RTLD_DEFAULT, "mallctl");
        if (mallctl == NULL) {
                fprintf(stderr, "prof_sites: no mallctl in this process (run it with "
                                "LD_PRELOAD=liballoc.so or libjemalloc.so.2)\n");
                return 1;
        }
        if (strcmp(mode, "threads") == 0) {
                pthread_t t[3];
                for (long i = 0; i < 3; i++)
                        if (pthread_create(&t[i], NULL, run_site, (void *)i) != 0)
                                return 1;
                for (int i = 0; i < 3; i++)
                        pthread_join(t[i], NULL);
        } else if (strcmp(mode, "base") == 0) {
                run_site((void *)1L);
                if (dump(mallctl, argv[1]) != 0)
                        return 1;
                run_site((void *)0L);
                run_site((void *)2L);
                char second[4096];
                snprintf(second, sizeof(second), "%s.2", argv[1]);
                return dump(mallctl, second);
        } else if (mode[0] == '\0' || strcmp(mode, "wait") == 0) {
                for (long i = 0; i < 3; i++)
                        run_site((void *)i);
        } else {
                fprintf(stderr, "prof_sites: unknown mode '%s'\n", mode);
                return 2;
        }
        for (int i = 0; i < 3; i++)
                if (keep[i] == NULL) {
                        fprintf(stderr, "prof_sites: out of memory\n");
                        return 1;
                }
        if (strcmp(mode, "wait") == 0) {
                printf("ready %d\n", (int)getpid());
                fflush(stdout);
                char buf[64];
                while (read(STDIN_FILENO, buf, sizeof(buf)) > 0)
                        ;
                return 0;
        }
        return dump(mallctl, argv[1]);
}
