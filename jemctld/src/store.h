/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * store: jemctld's profile store (jemctld(8), "PROFILE STORE").  Heap profiles captured
 * from targets (on demand over HTTP and D-Bus, or by the capture policies of policy.c)
 * are kept as files under one directory:
 *
 *   <dir>/<pid>.<start>/<UTC time>-<reason>.heap   the heap_v2 dump, exactly as dumped
 *   <dir>/<pid>.<start>/<UTC time>-<reason>.json   its metadata (the sidecar)
 *
 * <start> is the process's start time (Unix seconds), so a reused pid gets a directory of
 * its own.  A file only ever appears under its final name whole: it is written under a
 * temporary name in the same directory, fsynced and renamed (the sidecar first, then the
 * dump; a sidecar without its dump is an interrupted capture and is removed at the next
 * start).  Limits per process (count, bytes) and in total (bytes) evict the oldest.  The
 * store is rescanned at start, so it survives a restart.
 */
#ifndef JEMCTLD_STORE_H
#define JEMCTLD_STORE_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include <event2/buffer.h>
#include <jansson.h>
#include <pc/profconv.h>

#include "manager.h"

/* Defaults of the limits (jemctld.conf): a few dozen profiles of a busy process are what
 * a person compares; a heap_v2 dump of a large server is a few MiB. */
#define JD_STORE_MAX_PER_PROC 20                   /* --profile-max-count */
#define JD_STORE_MAX_BYTES_PER_PROC (256ull << 20) /* --profile-max-bytes */
#define JD_STORE_MAX_BYTES_TOTAL (1ull << 30)      /* --profile-max-total */
/* The longest a dump for the store may take (--capture-timeout), as JD_CALL_PROFILE_TIMEOUT. */
#define JD_STORE_CAPTURE_TIMEOUT 30.0
/* The longest reason ("manual", "resident", "growth", "periodic"). */
#define JD_STORE_REASON_MAX 16
/* An id: "<pid>.<start>-<YYYYmmddTHHMMSSmmmZ>-<reason>". */
#define JD_STORE_ID_MAX 80

typedef struct jd_store_opts {
        char dir[4096];          /* "" until jd_store_start picks the default */
        unsigned max_per_proc;   /* profiles per process */
        uint64_t max_bytes_proc; /* bytes per process */
        uint64_t max_bytes_total;
        double capture_timeout; /* seconds */
} jd_store_opts_t;

extern jd_store_opts_t jd_store_opt;

/* One stored profile. */
typedef struct jd_profile {
        char id[JD_STORE_ID_MAX];
        pid_t pid;
        long long start; /* the process's start time, Unix seconds */
        uid_t uid;       /* the process's user: who may download or delete it (and root) */
        /* The process's groups at capture (/proc/PID/status), for reading its mapped files
         * as it could when converting: absent from profiles stored before they were
         * kept (then only the uid's and everyone's permissions count). */
        bool has_groups;
        gid_t gid;        /* its file system gid */
        unsigned ngroups; /* its supplementary groups, at most PC_MAX_GROUPS */
        gid_t groups[PC_MAX_GROUPS];
        char comm[64];
        char unit[256]; /* "" if none */
        char reason[JD_STORE_REASON_MAX];
        double time; /* capture, Unix seconds */
        uint64_t bytes;
        uint64_t resident;       /* the process's allocator resident bytes at capture, 0 unknown */
        char format[16];         /* "heap_v2" */
        struct jd_profile *next; /* oldest first */
} jd_profile_t;

/* The result of a capture, for the metrics and the callers.  JD_STORE_OK and the errors
 * each have a name (jd_store_result_name) used as the `result` label of
 * jemctld_profile_captures_total and as the error code of HTTP and D-Bus answers. */
typedef enum jd_store_result {
        JD_STORE_OK,
        JD_STORE_BUSY,          /* a capture of that process is already in flight */
        JD_STORE_DENIED,        /* the caller may not act on the process */
        JD_STORE_GONE,          /* the process went away (before or during the dump) */
        JD_STORE_TIMEOUT,       /* no whole dump within --capture-timeout */
        JD_STORE_TARGET_FAILED, /* the target refused (not_supported, ...) or broke off */
        JD_STORE_BAD_DUMP,      /* no descriptor, not sealed, or not `bytes` long */
        JD_STORE_TOO_LARGE,     /* the dump alone exceeds a byte limit */
        JD_STORE_NO_SPACE,      /* ENOSPC, EDQUOT or EFBIG while writing */
        JD_STORE_IO_ERROR,      /* any other error of the file system */
        JD_STORE_UNAVAILABLE,   /* the directory cannot be made or opened */
        JD_STORE_NRESULTS
} jd_store_result_t;

const char *jd_store_result_name(jd_store_result_t r);

/* Called once, always from the event loop: r, the profile stored (r == JD_STORE_OK; valid
 * during the call only) or NULL, and a readable message (the error, or "stored ..."). */
typedef void (*jd_store_cb_t)(jd_store_result_t r, const jd_profile_t *pf, const char *msg,
                              void *arg);

/* Picks the default directory if none was set, rescans it if it exists (removes
 * temporary and orphaned files, applies the limits) and ignores SIGXFSZ so that a file
 * size limit is an EFBIG error.  The directory itself is made at the first capture.
 * Returns 0, or a negative errno (logged) when the directory exists but cannot be read:
 * the daemon still runs, captures then fail with JD_STORE_UNAVAILABLE. */
int jd_store_start(jd_manager_t *m);
/* Frees the table (at exit); captures in flight were ended by jd_call_shutdown. */
void jd_store_stop(jd_manager_t *m);

/* Captures a heap profile of pid (a process of m's table) into the store, for as_uid
 * (JD_CALL_ANY_UID for the policies), with reason (lowercase letters).  The callback runs
 * exactly once, later.  Returns 0, or -ENOMEM (nothing is called back).  Allocates. */
int jd_store_capture(jd_manager_t *m, pid_t pid, uid_t as_uid, const char *reason,
                     jd_store_cb_t cb, void *arg);

/* Whether a capture of p's process is in flight (listed on its record); false for NULL. */
bool jd_store_busy(const jd_proc_t *p);

/* The profiles, oldest first; jd_store_find: by id, or NULL. */
const jd_profile_t *jd_store_list(void);
const jd_profile_t *jd_store_find(const char *id);
/* The newest capture time of pid's current process (start), 0 if none (policy.c). */
double jd_store_last_capture(pid_t pid, long long start);

/* The metadata of a profile as a JSON object (a new reference). */
json_t *jd_profile_json(const jd_profile_t *pf);

/* The credentials pf's mapped files are read with when it is converted. */
void jd_profile_creds(const jd_profile_t *pf, pc_creds_t *ret);

/* Opens the dump of pf read-only: a descriptor, or a negative errno. */
int jd_store_open(const jd_profile_t *pf);

/* Deletes pf (both files).  0 or a negative errno; pf is freed on success. */
int jd_store_delete(const jd_profile_t *pf);

/* The families jemctld_profile_* of /metrics. */
void jd_store_metrics(struct evbuffer *b);

/* A process's start time (Unix seconds) from its `info`, or 0 if unknown. */
long long jd_store_proc_start(const jd_manager_t *m, pid_t pid);

#endif
