/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * early_ctor: a shared library whose constructor allocates, so that when it is preloaded
 * before the allocator, malloc is called before the allocator's own constructor ran (and
 * possibly before libc finished its start-up).  The program "early" checks the results.
 */
#include <stdlib.h>
#include <string.h>

void *early_blocks[4];
int early_ok = -1;

__attribute__((constructor(101))) static void early_init(void)
{
        early_blocks[0] = malloc(40);
        early_blocks[1] = calloc(10, 100);
        early_blocks[2] = realloc(NULL, 5000);
        early_blocks[3] = malloc(1 << 20);
        early_ok = 1;
        for (int i = 0; i < 4; i++)
                if (early_blocks[i] == NULL)
                        early_ok = 0;
        if (early_ok) {
                const unsigned char *z = early_blocks[1];
                for (int i = 0; i < 1000; i++)
                        if (z[i] != 0)
                                early_ok = 0;
                memset(early_blocks[0], 1, 40);
                memset(early_blocks[3], 2, 1 << 20);
                early_blocks[2] = realloc(early_blocks[2], 9000);
        }
}
