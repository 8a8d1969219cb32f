/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * prof_stacks: a heap with many distinct allocation stacks, for the profile endpoint's
 * latency (docs/performance.md) and its test.  Block i is allocated at the bottom of a
 * chain of BITS calls, each through fork_a or fork_b as bit k of i says, so 2^BITS blocks
 * have 2^BITS different stacks.  Run with MALLOC_CONF=prof:true,lg_prof_sample:0 (every
 * allocation sampled).  Prints "ready PID" and holds the blocks until its standard input
 * closes.
 *
 *   prof_stacks [BITS]     (default 10: 1,024 stacks; 14 gives 16,384)
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static volatile unsigned sink;

__attribute__((noinline)) static void *chain(unsigned i, unsigned k, unsigned bits);

__attribute__((noinline)) static void *fork_a(unsigned i, unsigned k, unsigned bits)
{
        void *p = chain(i, k + 1, bits);
        sink += k; /* no tail call: each level keeps its frame */
        return p;
}

__attribute__((noinline)) static void *fork_b(unsigned i, unsigned k, unsigned bits)
{
        void *p = chain(i, k + 1, bits);
        sink += k * 3;
        return p;
}

__attribute__((noinline)) static void *chain(unsigned i, unsigned k, unsigned bits)
{
        if (k == bits) {
                void *p = malloc(256);
                if (p != NULL)
                        memset(p, (int)i, 256);
                return p;
        }
        void *p = (i >> k & 1) ? fork_b(i, k, bits) : fork_a(i, k, bits);
        sink++;
        return p;
}

int main(int argc, char **argv)
{
        unsigned bits = argc > 1 ? (unsigned)strtoul(argv[1], NULL, 10) : 10;
        if (bits > 20) {
                fprintf(stderr, "prof_stacks: at most 20 bits\n");
                return 2;
        }
        size_t n = (size_t)1 << bits;
        void **blocks = calloc(n, sizeof(*blocks));
        if (blocks == NULL)
                return 1;
        for (size_t i = 0; i < n; i++)
                blocks[i] = chain((unsigned)i, 0, bits);
        printf("ready %d\n", (int)getpid());
        fflush(stdout);
        char buf[64];
        while (read(0, buf, sizeof(buf)) > 0)
                ;
        for (size_t i = 0; i < n; i++)
                free(blocks[i]);
        free(blocks);
        return 0;
}
