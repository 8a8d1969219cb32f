/* SPDX-License-Identifier: BSD-2-Clause */
/* jcl blob: a descriptor a process passed with an answer (a heap profile's memfd). */
#ifndef JCL_BLOB_H
#define JCL_BLOB_H

#include <stdint.h>

/* What the protocol promises of a passed profile: a regular file (a memfd) of exactly
 * `bytes` (at most JP_DUMP_MAX), sealed against writing, shrinking and growing while it is
 * read.  0, or -EINVAL (not a regular file, or not sealed), -EMSGSIZE (another size),
 * -EFBIG (over the bound), or minus fstat's errno. */
int jcl_blob_check(int fd, uint64_t bytes);

#endif
