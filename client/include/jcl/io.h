/* SPDX-License-Identifier: BSD-2-Clause */
/* jcl io: whole writes and reads of a descriptor, the loops every client needs for a
 * profile's bytes (a passed memfd read back, a file or a pipe written). */
#ifndef JCL_IO_H
#define JCL_IO_H

#include <stddef.h>

/* Writes all n bytes of buf to fd, retrying after EINTR and short writes.  0, or the
 * errno of the failed write (EIO if write returned 0). */
int jcl_write_all(int fd, const void *buf, size_t n);
/* Reads exactly len bytes of fd from offset 0 into buf (pread: the file offset is left
 * alone), retrying after EINTR and short reads.  0, or the errno of the failed read (EIO
 * if the file ends first). */
int jcl_pread_all(int fd, void *buf, size_t len);

#endif
