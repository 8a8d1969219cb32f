/* SPDX-License-Identifier: BSD-2-Clause */
/* procid: who a process is now, from /proc (internal to jcl). */
#ifndef JCL_PROCID_H
#define JCL_PROCID_H

#include <stdbool.h>
#include <sys/types.h>

/* The real, effective and saved uids of pid now ("Uid:" of /proc/PID/status); false if
 * the process is gone or unreadable. */
bool jcl_proc_uids(pid_t pid, uid_t uids[3]);
/* uid is root or one of uids. */
bool jcl_uid_may_serve(uid_t uid, const uid_t uids[3]);

#endif
