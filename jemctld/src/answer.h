/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * answer: what jemctld keeps of a process's answers.  A target may answer anything (a
 * fake "liballoc process" is any user's program), so a poll's answers are bounded on
 * arrival and only their figures are kept: jemctld's memory does not grow with what
 * targets send (docs/security.md).
 */
#ifndef JEMCTLD_ANSWER_H
#define JEMCTLD_ANSWER_H

#include <stddef.h>
#include <sys/types.h>

#include <jansson.h>

#define JD_INFO_MAX (64u * 1024)          /* largest `info` answer read, bytes */
#define JD_STATS_MAX (1024u * 1024)       /* largest `stats` answer read, bytes */
#define JD_KEPT_MAX (256u * 1024 * 1024)  /* all processes' kept answers, bytes of text */

/* The members of an `info` result jemctld keeps: the known ones of their type, strings
 * within their bounds (the command line at most 64 arguments and 4 KiB), the kernel's
 * uid of the socket's listener (uid) in place of the one the process claims.  A new
 * object (never NULL unless out of memory). */
json_t *jd_answer_info(const json_t *res, uid_t uid);
/* The figures of a `stats` result: numbers and booleans, strings of at most 64 bytes,
 * objects and arrays nested at most 3 deep with at most 64 members (arrays: 4,352
 * elements, every arena); anything else is dropped.  A new object, or NULL. */
json_t *jd_answer_stats(const json_t *res);

#endif
