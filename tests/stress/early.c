/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * early: allocation before the allocator's constructor.  run.sh preloads the allocator and
 * then libearly_ctor.so, whose constructor ld.so therefore runs first: the blocks it
 * allocated must be valid, owned by the allocator under test (their usable size is known
 * to it), and freeable here; the process then allocates normally.
 */
#include <dlfcn.h>
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "stress_util.h"

int main(void)
{
        stress_begin("early", 20);
        void **blocks = dlsym(RTLD_DEFAULT, "early_blocks");
        int *ok = dlsym(RTLD_DEFAULT, "early_ok");
        if (blocks == NULL || ok == NULL)
                check_fatal("libearly_ctor.so is not preloaded");
        if (*ok != 1)
                check_fatal("allocation in the early constructor failed (state %d)", *ok);
        static const size_t want[4] = {40, 1000, 9000, 1 << 20};
        for (int i = 0; i < 4; i++) {
                size_t u = malloc_usable_size(blocks[i]);
                if (u < want[i])
                        check_fatal("early block %d: usable size %zu < %zu: not from the "
                                    "allocator under test",
                                    i, u, want[i]);
        }
        if (((unsigned char *)blocks[3])[12345] != 2)
                check_fatal("early 1 MiB block lost its contents");
        for (int i = 0; i < 4; i++)
                free(blocks[i]);
        for (int i = 0; i < 10000; i++)
                free(malloc((size_t)i % 3000 + 1));
        printf("early: ok\n");
        return 0;
}
