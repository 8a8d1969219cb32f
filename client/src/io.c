/* SPDX-License-Identifier: BSD-2-Clause */
/* io: whole writes and reads of a descriptor (jcl/io.h). */
#include <errno.h>
#include <unistd.h>

#include <jcl/io.h>

int jcl_write_all(int fd, const void *buf, size_t n)
{
        const char *p = buf;
        while (n > 0) {
                ssize_t w = write(fd, p, n);
                if (w < 0 && errno == EINTR)
                        continue;
                if (w < 0)
                        return errno;
                if (w == 0)
                        return EIO;
                p += w;
                n -= (size_t)w;
        }
        return 0;
}

int jcl_pread_all(int fd, void *buf, size_t len)
{
        char *p = buf;
        size_t done = 0;
        while (done < len) {
                ssize_t r = pread(fd, p + done, len - done, (off_t)done);
                if (r < 0 && errno == EINTR)
                        continue;
                if (r < 0)
                        return errno;
                if (r == 0)
                        return EIO; /* shorter than announced */
                done += (size_t)r;
        }
        return 0;
}
