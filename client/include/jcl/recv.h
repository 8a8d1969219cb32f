/* SPDX-License-Identifier: BSD-2-Clause */
/* jcl recv: reading a control socket's answer with the descriptor that may ride on it. */
#ifndef JCL_RECV_H
#define JCL_RECV_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

/* One recvmsg of at most n bytes from fd (flags as recvmsg's; MSG_CMSG_CLOEXEC is added).
 * A descriptor passed with them (SCM_RIGHTS) goes to *ret_fd when *ret_fd is -1; every
 * other one is closed at once and *extra set, as when the control data was cut short
 * (the protocol passes at most one descriptor per answer).  Returns recvmsg's result
 * (errno set on -1). */
ssize_t jcl_recv(int fd, void *buf, size_t n, int flags, int *ret_fd, bool *extra);

#endif
