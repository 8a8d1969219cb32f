/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * jcl: the client side of the control protocol shared by jemctl and jemctld (I/O allowed,
 * no global state).  This part: the names of control sockets in a runtime directory and
 * connecting to one only when it is the process its name says.
 *
 * A process serves <dir>/<pid>.sock; when that name is taken by a file it may not
 * replace (a squatter's), it serves <dir>/<pid>.<16 lowercase hex digits>.sock instead
 * (liballoc(3)).  Both name the pid.
 */
#ifndef JCL_SOCK_H
#define JCL_SOCK_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#define JCL_NAME_MAX 40 /* "<pid>.<16 hex>.sock" and its NUL fit */
#define JCL_ALT_MAX 4   /* other names of one pid a client tries (jcl_sock_names) */

/* The pid a socket file name names, or -1 if it is not a control socket's name
 * ("<digits>.sock" or "<digits>.<16 hex>.sock", no leading zero, at most 9 digits). */
pid_t jcl_sock_name_pid(const char *name);
/* True for the "<pid>.<16 hex>.sock" form. */
bool jcl_sock_name_is_alt(const char *name);

/* One pass over the control sockets' names in dir (the rule of jcl_sock_name_pid):
 * calls fn(arg, pid, alt, name) for each, in directory order (a pid may come twice: its
 * "<pid>.sock" and an alternative name).  Returns 0, or -errno when dir cannot be read
 * (-ENOENT: nobody has turned a socket on yet). */
int jcl_scan(const char *dir, void (*fn)(void *arg, pid_t pid, bool alt, const char *name),
             void *arg);

/* The process exists and is not a zombie (a zombie serves nothing): /proc/PID/stat's
 * state, or kill(pid, 0) where /proc is not mounted. */
bool jcl_pid_alive(pid_t pid);
/* jcl_pid_alive, and the process's start time into *start: field 22 of /proc/PID/stat
 * (clock ticks since boot), which with the pid names one process for good (a pid reused
 * by another process has another start time); 0 where /proc cannot tell. */
bool jcl_pid_start(pid_t pid, unsigned long long *start);
/* Who a process says it is, from /proc, by the rules every side uses: its comm
 * (/proc/PID/comm without the newline) and its cgroup (/proc/PID/cgroup through
 * jp_cgroup_of).  Each fills buf and returns true, or returns false with buf "" when the
 * file cannot be read (the process is gone, or /proc is not ours) or has no such path. */
bool jcl_proc_comm(pid_t pid, char *buf, size_t cap);
bool jcl_proc_cgroup(pid_t pid, char *buf, size_t cap);

/* The socket names of pid in dir that a client should try, in order: "<pid>.sock" first
 * (always listed), then at most JCL_ALT_MAX - 1 "<pid>.<hex>.sock" files of dir that are
 * sockets owned by root or by a uid the process runs as (others are squatters).  Fills
 * names[JCL_ALT_MAX]; returns how many (at least 1).  dir NULL: only the first name. */
size_t jcl_sock_names(const char *dir, pid_t pid, char names[][JCL_NAME_MAX]);

/* Why jcl_connect failed. */
enum jcl_fail {
        JCL_OK = 0,
        JCL_GONE,      /* no such file, or nobody listens (a stale file): errno-like e set */
        JCL_BUSY,      /* the listen queue is full (EAGAIN) */
        JCL_UNTRUSTED, /* a file or listener that is not the process of the name: why */
        JCL_ERROR,     /* anything else: e and why set */
};

typedef struct jcl_peer {
        uid_t uid; /* the listener's (SO_PEERCRED) */
        gid_t gid;
        int e;          /* errno of the failure, 0 */
        char why[256];  /* for JCL_UNTRUSTED / JCL_ERROR: one line, no newline */
} jcl_peer_t;

/* Connects to dir/name (a socket name of pid) and trusts it only if:
 *   - the file is a socket, not a symbolic link (never followed) nor anything else, and
 *     is connected through a descriptor of that very inode (no race with a rename);
 *   - the kernel says (SO_PEERCRED) the listener was made by pid, and the socket file's
 *     owner is the listener's uid;
 *   - the listener's uid is root or one of pid's uids now (real, effective, saved): a
 *     socket of another user whose pid was reused is refused;
 *   - where the kernel gives a pidfd of the listener (SO_PEERPIDFD, Linux 6.5), the
 *     process that made it is still alive, so it is the process holding pid now.
 * nonblock: the descriptor is O_NONBLOCK.  Returns the connected descriptor (close on
 * exec), or -1 with *fail set and peer->e / peer->why saying why. */
int jcl_connect(const char *dir, const char *name, pid_t pid, bool nonblock,
                enum jcl_fail *fail, jcl_peer_t *peer);

/* jcl_connect on names[0..n) in order (jcl_sock_names' list): the first trusted
 * connection, with its index in *which; or -1 with the most telling failure of them (busy,
 * then an error, then untrusted, then gone) in *fail and *peer and its name's index in
 * *which. */
int jcl_connect_first(const char *dir, char (*names)[JCL_NAME_MAX], size_t n, pid_t pid,
                      bool nonblock, size_t *which, enum jcl_fail *fail, jcl_peer_t *peer);

#endif
