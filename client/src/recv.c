/* SPDX-License-Identifier: BSD-2-Clause */
/* recv: one read of an answer and the descriptor riding on it (jcl/recv.h). */
#define _GNU_SOURCE /* MSG_CMSG_CLOEXEC */
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <jcl/recv.h>

#define FDS_MAX 4 /* taken from one message (and closed but the first) */

ssize_t jcl_recv(int fd, void *buf, size_t n, int flags, int *ret_fd, bool *extra)
{
        union {
                struct cmsghdr align;
                char buf[CMSG_SPACE(FDS_MAX * sizeof(int))];
        } ctl;
        struct iovec iov = {buf, n};
        struct msghdr mh = {.msg_iov = &iov,
                            .msg_iovlen = 1,
                            .msg_control = ctl.buf,
                            .msg_controllen = sizeof(ctl.buf)};
        ssize_t r = recvmsg(fd, &mh, flags | MSG_CMSG_CLOEXEC);
        if (r < 0)
                return r;
        if (mh.msg_flags & MSG_CTRUNC)
                *extra = true;
        for (struct cmsghdr *cm = CMSG_FIRSTHDR(&mh); cm != NULL; cm = CMSG_NXTHDR(&mh, cm)) {
                if (cm->cmsg_level != SOL_SOCKET || cm->cmsg_type != SCM_RIGHTS)
                        continue;
                size_t k = (cm->cmsg_len - CMSG_LEN(0)) / sizeof(int);
                for (size_t i = 0; i < k && i < FDS_MAX; i++) {
                        int pfd;
                        memcpy(&pfd, CMSG_DATA(cm) + i * sizeof(int), sizeof(int));
                        if (*ret_fd < 0 && !*extra) {
                                *ret_fd = pfd;
                        } else {
                                close(pfd);
                                *extra = true;
                        }
                }
        }
        return r;
}
