/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * tests/bench/grow_free.c: the "grow-free" workload (grow, then free most) — allocate
 * about SIZE MiB of small and medium objects (16 B..32 KiB, log-uniform), write all of
 * them, free a random 90 %, and read the resident set size right away (no sleep, so
 * background purging gets no extra time).  That RSS, printed as rss_left_kib=, is what
 * the runner reports as "RSS left behind": it shows how well the allocator returns
 * memory from fragmented pages.  The surviving 10 % are checked, then freed.
 * Models caches and servers after a load peak.
 */
#include "bench.h"

static const char usage[] =
        "grow-free: allocate SIZE MiB of 16 B..32 KiB objects, free 90 % at random,\n"
        "print the RSS left (rss_left_kib=), check and free the rest.\n"
        "  -n  percent of the objects freed in the middle (default 90, at most 100)\n"
        "  -s  MiB to allocate (default 512; -f scales it)\n";

struct obj {
        unsigned char *p;
        size_t size;
        size_t id;              /* allocation order, which the contents encode */
};

int main(int argc, char **argv)
{
        struct bench_opt o = { .threads = 1, .iters = 90, .size = 512, .seed = 9 };
        struct obj *obj;
        size_t count = 0, cap = 0, freed;
        size_t target;
        long rss_full, rss_left;
        struct rng r;
        uint64_t sum = 0;

        bench_parse(argc, argv, "grow-free", usage, &o);
        /* -f scales the volume here, not the percentage. */
        if (!o.iters_given) {
                o.size = o.size * o.scale / 100;
                o.iters = 90;
        }
        if (o.iters > 100)
                o.iters = 100;
        if (o.size < 1)
                o.size = 1;
        target = (size_t)o.size << 20;
        rng_seed(&r, o.seed);

        /* Grow: allocate and fully write objects until the target volume is reached. */
        cap = 1024;
        obj = bench_xmalloc(cap * sizeof(*obj));
        for (size_t total = 0; total < target; count++) {
                size_t n = rng_log_uniform(&r, 16, 32768);

                if (count == cap) {
                        struct obj *bigger = realloc(obj, 2 * cap * sizeof(*obj));

                        if (bigger == NULL)
                                bench_fail("realloc of the index failed");
                        obj = bigger;
                        cap *= 2;
                }
                obj[count].p = bench_xmalloc(n);
                obj[count].size = n;
                obj[count].id = count;
                memset(obj[count].p, (int)(count & 0xff), n);
                bench_stamp(obj[count].p, n, bench_tag(count, n));
                total += n;
        }
        rss_full = bench_rss_kib();

        /* Free a random o.iters percent: partial Fisher-Yates over the index. */
        freed = count * (size_t)o.iters / 100;
        for (size_t i = 0; i < freed; i++) {
                size_t j = i + (size_t)rng_below(&r, count - i);
                struct obj t = obj[i];

                obj[i] = obj[j];
                obj[j] = t;
                free(obj[i].p);
                obj[i].p = NULL;
        }
        rss_left = bench_rss_kib();

        /* Check and free the survivors. */
        for (size_t i = freed; i < count; i++) {
                unsigned char *p = obj[i].p;
                size_t n = obj[i].size, id = obj[i].id;

                if (!bench_check(p, n, bench_tag(id, n)) ||
                    (n >= 32 && p[n / 2] != (unsigned char)(id & 0xff)))
                        bench_fail("object %zu (%zu B) corrupted", id, n);
                sum += p[n / 2];
                free(p);
        }
        free(obj);
        bench_ok("objects=%zu freed=%zu rss_full_kib=%ld rss_left_kib=%ld checksum=%llu",
                 count, freed, rss_full, rss_left, (unsigned long long)sum);
        return 0;
}
