/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * oom: the allocator under an address-space limit (RLIMIT_AS).  Several threads allocate
 * through every entry point until the limit is hit; each failure must be a clean NULL with
 * errno ENOMEM (posix_memalign: ENOMEM returned, *memptr untouched; realloc: the old block
 * intact), and after everything is freed the same amount can be allocated again.
 *
 * usage: oom [threads=4] [limit_mib=256]
 */
#include <errno.h>
#include <stdio.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

#include "stress_util.h"

#define MAX_BLOCKS 200000

struct worker {
        void **blocks;
        size_t n;
        size_t bytes;
        int id;
};

static size_t sizes[] = {24, 200, 3000, 20000, 300000, 5u << 20};

static void fill(struct worker *w)
{
        uint64_t rng = 0x1234 + (uint64_t)w->id;
        unsigned failures = 0;
        while (w->n < MAX_BLOCKS && failures < 64) {
                size_t sz = sizes[rng_below(&rng, sizeof(sizes) / sizeof(sizes[0]))];
                void *p = NULL;
                int how = (int)rng_below(&rng, 4);
                errno = 0;
                if (how == 0) {
                        p = malloc(sz);
                } else if (how == 1) {
                        p = calloc(1, sz);
                } else if (how == 2) {
                        void *q = (void *)0x1;
                        int rc = posix_memalign(&q, 64, sz);
                        if (rc != 0) {
                                if (rc != ENOMEM)
                                        check_fatal("posix_memalign returned %d, not ENOMEM", rc);
                                if (q != (void *)0x1)
                                        check_fatal("posix_memalign touched *memptr on failure");
                                errno = ENOMEM;
                        } else {
                                p = q;
                        }
                } else {
                        p = malloc(16);
                        if (p != NULL) {
                                memset(p, 0x5a, 16);
                                void *q = realloc(p, sz);
                                if (q == NULL) {
                                        unsigned char *c = p;
                                        if (c[0] != 0x5a || c[15] != 0x5a)
                                                check_fatal("failed realloc changed the block");
                                        free(p);
                                        p = NULL;
                                } else {
                                        p = q;
                                }
                        }
                }
                if (p == NULL) {
                        if (errno != ENOMEM)
                                check_fatal("allocation failed with errno %d, not ENOMEM", errno);
                        failures++;
                        continue;
                }
                memset(p, 1, sz < 4096 ? sz : 4096);
                w->blocks[w->n++] = p;
                w->bytes += sz;
        }
}

static pthread_barrier_t barrier;

/* Threads exist before the limit is set (their stacks count against it) and serve both
 * rounds; main frees everything between the rounds. */
static void *worker_main(void *arg)
{
        struct worker *w = arg;
        for (int round = 0; round < 2; round++) {
                pthread_barrier_wait(&barrier);
                w->n = 0;
                w->bytes = 0;
                fill(w);
                pthread_barrier_wait(&barrier);
        }
        return NULL;
}

static size_t free_round(struct worker *w, int nthreads)
{
        size_t total = 0;
        for (int i = 0; i < nthreads; i++) {
                total += w[i].bytes;
                for (size_t j = 0; j < w[i].n; j++)
                        free(w[i].blocks[j]);
        }
        return total;
}

int main(int argc, char **argv)
{
        stress_begin("oom", 35);
        int nthreads = (int)stress_arg(argc, argv, 1, 4, 1, 16);
        long limit_mib = stress_arg(argc, argv, 2, 256, 64, 4096);
        struct worker w[16];
        for (int i = 0; i < nthreads; i++) {
                w[i].id = i;
                w[i].blocks = malloc(MAX_BLOCKS * sizeof(void *));
                if (w[i].blocks == NULL)
                        check_fatal("cannot allocate the block tables");
        }
        /* Limit the address space to what is mapped now plus limit_mib. */
        struct rlimit rl;
        size_t vm_pages = 0;
        FILE *f = fopen("/proc/self/statm", "r");
        if (f == NULL || fscanf(f, "%zu", &vm_pages) != 1)
                check_fatal("cannot read /proc/self/statm");
        fclose(f);
        pthread_t t[16];
        pthread_attr_t attr;
        pthread_attr_init(&attr);
        pthread_attr_setstacksize(&attr, 256 << 10);
        pthread_barrier_init(&barrier, NULL, (unsigned)nthreads + 1);
        for (int i = 0; i < nthreads; i++)
                if (pthread_create(&t[i], &attr, worker_main, &w[i]) != 0)
                        check_fatal("pthread_create failed");
        pthread_attr_destroy(&attr);
        rl.rlim_cur = rl.rlim_max = vm_pages * 4096 + ((size_t)limit_mib << 20);
        if (setrlimit(RLIMIT_AS, &rl) != 0)
                check_fatal("setrlimit: %s", strerror(errno));
        pthread_barrier_wait(&barrier); /* round 1 */
        pthread_barrier_wait(&barrier);
        size_t first = free_round(w, nthreads);
        pthread_barrier_wait(&barrier); /* round 2 */
        pthread_barrier_wait(&barrier);
        size_t second = free_round(w, nthreads);
        for (int i = 0; i < nthreads; i++)
                pthread_join(t[i], NULL);
        if (first < ((size_t)limit_mib << 20) / 4)
                check_fatal("only %zu bytes allocated under a %ld MiB limit", first, limit_mib);
        if (second < first / 2)
                check_fatal("after freeing everything only %zu of %zu bytes could be allocated "
                            "again",
                            second, first);
        printf("oom: ok: %d threads, %zu then %zu bytes under a %ld MiB address-space limit\n",
               nthreads, first, second, limit_mib);
        return 0;
}
