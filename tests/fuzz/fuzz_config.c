/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * fuzz_config: libFuzzer target for jemctld's configuration file (jemctld/src/config.c),
 * which root's daemon reads at start: any content given as `--config FILE` must give an
 * argument vector or exit status 2 with a message, never a crash, a leak or undefined
 * behaviour; every argument built is a string, and each has an origin.
 */
#define _GNU_SOURCE
#include <getopt.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "config.h"

/* A few of jemctld's options, of both kinds (with and without a value). */
static const struct option longopts[] = {
        {"runtime-dir", required_argument, NULL, 'r'},
        {"http", required_argument, NULL, 'H'},
        {"http-any", no_argument, NULL, 'A'},
        {"interval", required_argument, NULL, 'i'},
        {"governor", required_argument, NULL, 'g'},
        {"capture-enable-sampling", no_argument, NULL, 'e'},
        {"config", required_argument, NULL, 'c'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        int fd = memfd_create("jemctld.conf", MFD_CLOEXEC);
        if (fd < 0)
                return 0;
        if (size > 0 && write(fd, data, size) != (ssize_t)size) {
                close(fd);
                return 0;
        }
        char path[64];
        snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
        char a0[] = "jemctld", a1[] = "--config", a3[] = "--interval=5";
        char *argv[] = {a0, a1, path, a3, NULL};
        int argc = 4, ac = 0;
        char **av = NULL;
        int rc = jd_config_argv(argc, argv, longopts, &ac, &av);
        if (rc == 0) {
                /* argv[0], the file's settings, then the command line, in that order. */
                if (ac < argc || av == NULL || strcmp(av[0], a0) != 0 ||
                    strcmp(av[ac - 1], a3) != 0)
                        abort();
                for (int i = 0; i < ac; i++)
                        if (av[i] == NULL || jd_config_origin(i) == NULL ||
                            strlen(av[i]) > (size_t)size + 64)
                                abort();
        } else if (rc != 2) {
                abort();
        }
        jd_config_free();
        close(fd);
        return 0;
}
