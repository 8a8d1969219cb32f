/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * grow_free: the workload of tests/control/jemctl_e2e.sh.  Grows to about MIB MiB (default
 * 300) of 64 KiB blocks, touching every page, frees 9 blocks of every 10, prints READY
 * and sleeps until killed.  The freed pages stay with the allocator as dirty pages (the
 * default decay is 10 s), so a decay or purge through the control socket shows in the
 * RSS.  It never calls mallctl: everything is done from outside by jemctl.
 *   grow_free [MIB]
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define BLOCK (64 * 1024)

int main(int argc, char **argv)
{
        size_t mib = argc > 1 ? strtoul(argv[1], NULL, 10) : 300;
        if (mib == 0 || mib > 65536) {
                fprintf(stderr, "usage: grow_free [MIB]\n");
                return 2;
        }
        size_t n = mib * (1024 * 1024 / BLOCK);
        char **v = calloc(n, sizeof(*v));
        if (v == NULL)
                return 1;
        for (size_t i = 0; i < n; i++) {
                v[i] = malloc(BLOCK);
                if (v[i] == NULL) {
                        fprintf(stderr, "grow_free: out of memory after %zu blocks\n", i);
                        return 1;
                }
                memset(v[i], (int)(i & 0xff) | 1, BLOCK);
        }
        size_t freed = 0;
        for (size_t i = 0; i < n; i++) {
                if (i % 10 != 0) {
                        free(v[i]);
                        v[i] = NULL;
                        freed += BLOCK;
                }
        }
        printf("READY %zu\n", freed);
        fflush(stdout);
        for (;;)
                pause();
}
