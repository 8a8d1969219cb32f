/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * outfile: writing a command's output file so that readers never see a partial one: a
 * new temporary file next to the target (O_EXCL|O_NOFOLLOW, mode 0644 before umask), the
 * data, fsync, then rename over the target and fsync of the directory.  (Whole writes
 * and reads of a descriptor are the client library's: jcl/io.h.)
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <unistd.h>

#include <jcl/io.h>

#include "jemctl.h"

int jc_write_stdout(const void *data, size_t len)
{
        fflush(stdout);
        /* A profile holds the process's own text (mapped file names, symbols): on a
         * terminal, sanitized like every other text of a process; into a pipe or a file,
         * the bytes as they are. */
        char *copy = NULL;
        if (isatty(STDOUT_FILENO) && (copy = malloc(len + 1)) != NULL) {
                memcpy(copy, data, len);
                len = jc_sanitize_buf(copy, len, true);
                data = copy;
        }
        int e = jcl_write_all(STDOUT_FILENO, data, len);
        free(copy);
        if (e != 0) {
                jc_err("cannot write to standard output: %s", strerror(e));
                return JC_FAIL;
        }
        return JC_OK;
}

int jc_write_file(const char *path, const void *data, size_t len)
{
        size_t plen = strlen(path);
        if (plen == 0 || path[plen - 1] == '/') {
                jc_err("%s: not a file name", path);
                return JC_USAGE;
        }
        const char *slash = strrchr(path, '/');
        size_t dlen = slash != NULL ? (size_t)(slash - path) + 1 : 0;
        const char *base = path + dlen;
        char *tmp = malloc(plen + 32);
        if (tmp == NULL) {
                jc_err("out of memory");
                return JC_FAIL;
        }
        int fd = -1, e = 0;
        for (int tries = 0; tries < 100 && fd < 0; tries++) {
                unsigned r = 0;
                if (getrandom(&r, sizeof(r), GRND_NONBLOCK) != (ssize_t)sizeof(r))
                        r = (unsigned)getpid() * 2654435761u + (unsigned)tries;
                snprintf(tmp, plen + 32, "%.*s.%s.%08x.tmp", (int)dlen, path, base, r);
                fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644);
                e = errno;
                if (fd < 0 && e != EEXIST)
                        break;
        }
        if (fd < 0) {
                jc_err("%s: cannot create a temporary file next to it: %s", path, strerror(e));
                free(tmp);
                return JC_FAIL;
        }
        e = jcl_write_all(fd, data, len);
        if (e == 0 && fsync(fd) != 0)
                e = errno;
        if (close(fd) != 0 && e == 0)
                e = errno;
        if (e == 0 && rename(tmp, path) != 0)
                e = errno;
        if (e != 0) {
                unlink(tmp);
                jc_err("%s: %s", path, strerror(e));
                free(tmp);
                return JC_FAIL;
        }
        free(tmp);
        /* The rename itself must survive a crash too. */
        char dir[4096];
        snprintf(dir, sizeof(dir), "%.*s", dlen ? (int)dlen : 1, dlen ? path : ".");
        int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (dfd >= 0) {
                fsync(dfd);
                close(dfd);
        }
        return JC_OK;
}

