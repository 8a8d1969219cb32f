/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * rss_demo: shows liballoc handing memory back.  It grows to a few hundred MiB of mixed
 * objects, frees most of them, and prints the allocator's figures and the real RSS after
 * each step: after the frees the dirty pages wait for the 10 s decay (jemalloc's default);
 * setting every arena's dirty_decay_ms to 0 through mallctl purges them at once.
 */
#include <jemalloc/jemalloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static size_t rss_mib(void)
{
        FILE *f = fopen("/proc/self/statm", "r");
        unsigned long size = 0, rss = 0;
        if (f != NULL) {
                if (fscanf(f, "%lu %lu", &size, &rss) != 2)
                        rss = 0;
                fclose(f);
        }
        return rss * (size_t)sysconf(_SC_PAGESIZE) >> 20;
}

static size_t stat_mib(const char *name)
{
        size_t v = 0, len = sizeof(v);
        mallctl(name, &v, &len, NULL, 0);
        return v >> 20;
}

static void show(const char *step)
{
        uint64_t epoch = 1;
        mallctl("epoch", NULL, NULL, &epoch, sizeof(epoch));
        printf("%-34s %9zu %9zu %9zu %9zu\n", step, stat_mib("stats.allocated"),
               stat_mib("stats.active"), stat_mib("stats.resident"), rss_mib());
}

int main(int argc, char **argv)
{
        size_t total_mib = argc > 1 ? strtoul(argv[1], NULL, 0) : 384;
        size_t n = total_mib * 1024 / 6; /* objects of 6 KiB on average */
        char **v = malloc(n * sizeof(*v));
        if (v == NULL)
                return 1;
        const char *ver;
        size_t len = sizeof(ver);
        mallctl("version", &ver, &len, NULL, 0);
        printf("allocator reports version %s\n\n", ver);
        printf("%-34s %9s %9s %9s %9s\n", "step", "alloc MiB", "active", "resident", "RSS MiB");
        show("start");
        unsigned seed = 42;
        for (size_t i = 0; i < n; i++) {
                seed = seed * 1103515245u + 12345u;
                size_t sz = 16 + (seed >> 8) % 12288;
                v[i] = malloc(sz);
                if (v[i] == NULL)
                        return 1;
                memset(v[i], (int)i, sz);
        }
        show("grown");
        for (size_t i = 0; i < n; i++) {
                if (i % 10 != 0) {
                        free(v[i]);
                        v[i] = NULL;
                }
        }
        show("freed 90% (dirty pages kept)");
        unsigned narenas;
        len = sizeof(narenas);
        mallctl("arenas.narenas", &narenas, &len, NULL, 0);
        ssize_t zero = 0;
        for (unsigned i = 0; i < narenas; i++) {
                char name[64];
                snprintf(name, sizeof(name), "arena.%u.dirty_decay_ms", i);
                mallctl(name, NULL, NULL, &zero, sizeof(zero)); /* unused arenas: EFAULT */
        }
        show("dirty_decay_ms=0 on every arena");
        for (size_t i = 0; i < n; i++)
                free(v[i]);
        free(v);
        show("freed everything");
        return 0;
}
