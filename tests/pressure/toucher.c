/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * toucher: process B of the memory-pressure tests.  Touches MiB megabytes, STEP_MS
 * milliseconds per 8 MiB, then prints "done" and exits 0 (or is OOM-killed).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int main(int argc, char **argv)
{
        size_t mib = argc > 1 ? strtoul(argv[1], NULL, 0) : 150;
        unsigned step_ms = argc > 2 ? (unsigned)strtoul(argv[2], NULL, 0) : 20;
        for (size_t done = 0; done < mib; done += 8) {
                char *p = malloc((size_t)8 << 20);
                if (p == NULL)
                        return 1;
                memset(p, 7, (size_t)8 << 20);
                usleep(step_ms * 1000u);
        }
        printf("done\n");
        return 0;
}
