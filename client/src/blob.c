/* SPDX-License-Identifier: BSD-2-Clause */
/* blob: the checks of a passed profile's descriptor (jcl/blob.h). */
#define _GNU_SOURCE /* F_GET_SEALS */
#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>

#include <jcl/blob.h>
#include <jp/proto.h>

int jcl_blob_check(int fd, uint64_t bytes)
{
        struct stat st;
        if (fstat(fd, &st) != 0)
                return -errno;
        if (!S_ISREG(st.st_mode))
                return -EINVAL;
        if (bytes > JP_DUMP_MAX)
                return -EFBIG;
        if ((uint64_t)st.st_size != bytes)
                return -EMSGSIZE;
        int need = F_SEAL_WRITE | F_SEAL_SHRINK | F_SEAL_GROW;
        int seals = fcntl(fd, F_GET_SEALS);
        if (seals < 0 || (seals & need) != need)
                return -EINVAL;
        return 0;
}
