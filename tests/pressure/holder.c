/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * holder: process A of the memory-pressure tests (tests/pressure/run.sh).  Allocates
 * MiB megabytes in blocks of 16 B - 32 KiB, frees all but KEEP percent of them (a
 * scattered survivor set), then reports on stdout and obeys commands on stdin:
 *   ready <rss_kib>                     once the working set is in place
 *   event <events> <purges> <bytes_returned> <rss_kib> <ms since ready>
 *                                       whenever stats.pressure.events changes, once
 *                                       the purge it ordered is over (1 s at most)
 *   watch <pressure.watch>              answer to "w"
 *   rss <rss_kib>                       answer to "r"
 *   ok <rc>                             answer to "e" (mallctl pressure.event) and to
 *                                       "f" (frees half of what is left)
 *   ready <rss_kib>                     answer to "g" (frees everything, then builds the
 *                                       working set again)
 * It exits at end of input.  The allocator comes from LD_PRELOAD; mallctl is looked up
 * at run time, so the program also runs under allocators without it (then it reports no
 * events).
 */
#include <dlfcn.h>
#include <poll.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

typedef int (*mallctl_fn)(const char *, void *, size_t *, void *, size_t);
static mallctl_fn ctl;

static long rss_kib(void)
{
        FILE *f = fopen("/proc/self/statm", "r");
        long pages = 0, rss = 0;
        if (f != NULL) {
                if (fscanf(f, "%ld %ld", &pages, &rss) != 2)
                        rss = 0;
                fclose(f);
        }
        return rss * (sysconf(_SC_PAGESIZE) / 1024);
}

static uint64_t u64(const char *name)
{
        uint64_t v = 0;
        size_t sz = sizeof(v);
        if (ctl == NULL || ctl(name, &v, &sz, NULL, 0) != 0)
                return 0;
        return v;
}

static double now_ms(void)
{
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static uint64_t rng = 88172645463325252ull;
static uint64_t next_rand(void)
{
        rng ^= rng << 13;
        rng ^= rng >> 7;
        rng ^= rng << 17;
        return rng;
}

/* Allocates mib MiB, then frees all but keep percent, at random. */
static bool fill(void **blocks, size_t cap, size_t *ret_n, size_t mib, unsigned keep)
{
        size_t n = 0, total = 0;
        while (total < (mib << 20) && n < cap) {
                /* sizes spread log-uniformly over 16 B .. 32 KiB */
                size_t size = (size_t)16 << (next_rand() % 12);
                size += next_rand() % size;
                char *p = malloc(size);
                if (p == NULL)
                        return false;
                memset(p, 1, size);
                blocks[n++] = p;
                total += size;
        }
        size_t live = 0;
        for (size_t i = 0; i < n; i++) {
                if (next_rand() % 100 < keep)
                        blocks[live++] = blocks[i];
                else
                        free(blocks[i]);
        }
        *ret_n = live;
        return true;
}

int main(int argc, char **argv)
{
        size_t mib = argc > 1 ? strtoul(argv[1], NULL, 0) : 200;
        unsigned keep = argc > 2 ? (unsigned)strtoul(argv[2], NULL, 0) : 10;
        ctl = (mallctl_fn)dlsym(RTLD_DEFAULT, "mallctl");
        setvbuf(stdout, NULL, _IOLBF, 0);
        size_t cap = mib << 12, n = 0;
        void **blocks = malloc(cap * sizeof(void *));
        if (blocks == NULL || !fill(blocks, cap, &n, mib, keep))
                return 1;
        double t0 = now_ms();
        /* Counted before "ready": an event that comes right after it must be news. */
        uint64_t seen = u64("stats.pressure.events"), purges = u64("stats.pressure.purges");
        printf("ready %ld\n", rss_kib());
        char line[64];
        for (;;) {
                struct pollfd p = {0, POLLIN, 0};
                int r = poll(&p, 1, 5);
                uint64_t ev = u64("stats.pressure.events");
                if (ev != seen) {
                        seen = ev;
                        /* The purge the event starts (or the one it was merged into, within
                         * 250 ms) is counted when it is over: wait for it, 1 s at most. */
                        for (int i = 0; i < 500 && u64("stats.pressure.purges") == purges; i++)
                                usleep(2000);
                        purges = u64("stats.pressure.purges");
                        printf("event %llu %llu %llu %ld %.1f\n", (unsigned long long)ev,
                               (unsigned long long)u64("stats.pressure.purges"),
                               (unsigned long long)u64("stats.pressure.bytes_returned"),
                               rss_kib(), now_ms() - t0);
                }
                if (r <= 0)
                        continue;
                if (fgets(line, sizeof(line), stdin) == NULL)
                        break;
                if (line[0] == 'w') {
                        const char *w = "(none)";
                        size_t sz = sizeof(w);
                        if (ctl != NULL)
                                ctl("pressure.watch", &w, &sz, NULL, 0);
                        printf("watch %s\n", w);
                } else if (line[0] == 'r') {
                        printf("rss %ld\n", rss_kib());
                } else if (line[0] == 'e') {
                        printf("ok %d\n", ctl != NULL ? ctl("pressure.event", NULL, NULL, NULL, 0)
                                                     : -1);
                } else if (line[0] == 'g') {
                        for (size_t i = 0; i < n; i++)
                                free(blocks[i]);
                        if (!fill(blocks, cap, &n, mib, keep))
                                return 1;
                        printf("ready %ld\n", rss_kib());
                } else if (line[0] == 'f') {
                        size_t half = n / 2;
                        for (size_t i = half; i < n; i++)
                                free(blocks[i]);
                        n = half;
                        printf("ok 0\n");
                }
        }
        for (size_t i = 0; i < n; i++)
                free(blocks[i]);
        free(blocks);
        return 0;
}
