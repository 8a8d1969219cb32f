/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * jemctl: the command-line client of the control socket (docs/protocol.md).  Shared
 * declarations of its modules: options, discovery of sockets, the connection, output.
 */
#ifndef JEMCTL_H
#define JEMCTL_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "jp/proto.h"

/* Exit statuses (documented in jemctl(1)). */
enum jc_exit {
        JC_OK = 0,     /* everything asked for was done */
        JC_FAIL = 1,   /* a request (or part of one) failed, or the answer was malformed */
        JC_USAGE = 2,  /* bad command line or a value that does not fit its name's type */
        JC_NOCONN = 3, /* no such process, no socket, refused, timed out, connection lost */
        JC_PERM = 4,   /* permission denied (by the socket file or by the server) */
};

#define JC_PATH_MAX 108 /* sizeof(sockaddr_un.sun_path) */

/* The command line, parsed once by main.c. */
typedef struct jc_opts {
        const char *runtime_dir; /* --runtime-dir, or NULL */
        double timeout;          /* --timeout, seconds */
        bool json;               /* --json */
        bool full;               /* stats --full */
        bool clean;              /* ps --clean */
        bool have_arena;         /* purge --arena N */
        unsigned arena;
        double interval; /* watch --interval */
        long count;      /* watch --count (0: forever) */
        const char *sel_comm;   /* --comm NAME (select.c) */
        const char *sel_unit;   /* --unit UNIT */
        bool sel_all;           /* --all */
        bool multi;             /* a selector is running the verb once per process */
        const char *daemon_url; /* --daemon URL, or NULL ($JEMCTLD_URL, the default) */
        bool no_daemon;         /* --no-daemon: always scan */
        const char *out_file;    /* prof -o FILE (NULL: stdout) */
        const char *prof_format; /* prof --format heap|pprof|folded|svg, or NULL */
        const char *root;        /* prof convert --root DIR */
        bool have_lg_sample;     /* prof on|reset --lg-sample N */
        unsigned lg_sample;
        const char *hosts; /* -H/--host [USER@]HOST[:PORT][,...], or NULL (remote.c) */
} jc_opts_t;

extern const jc_opts_t *jc_opt;
/* The options themselves, for the bridge (bridge.c), which takes selectors from its
 * requests. */
jc_opts_t *jc_opts_mut(void);

/* ---- messages (output.c) ------------------------------------------------------------ */

/* "jemctl: " and the message on stderr (sanitized by jc_sanitize_text). */
void jc_err(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* The one sanitizer of text a target (or the daemon relaying it) supplied, before it
 * reaches a terminal: C0 controls and DEL become '?', and so does each C1 control written
 * in UTF-8 (0xc2 0x80..0x9f: one '?'); other UTF-8 is kept.  jc_sanitize_text works in
 * place (the text can only shrink) and returns s; jc_sanitize_json applies it to every
 * string in a document, keys excepted. */
char *jc_sanitize_text(char *s);
/* The same over n bytes (NULs too) in place, keeping '\n' and '\t' if keep_lines (a
 * multi-line document for a terminal); returns the new length. */
size_t jc_sanitize_buf(char *s, size_t n, bool keep_lines);
void jc_sanitize_json(json_t *doc);
/* Human sizes: "512 B", "12.0 KiB", "300.2 MiB", "1.50 GiB". */
const char *jc_fmt_bytes(char buf[32], uint64_t bytes);
/* A JSON document on stdout, indented (or one line), newline-terminated. */
void jc_print_json(json_t *doc, bool pretty);
/* A JSON scalar as text for "name = value" lines: strings bare, null as "null". */
char *jc_value_text(const json_t *v);

/* Checked readers of response members; false if missing or of another type. */
bool jc_get_u64(const json_t *obj, const char *key, uint64_t *out);
bool jc_get_i64(const json_t *obj, const char *key, int64_t *out);
const char *jc_get_str(const json_t *obj, const char *key);

/* A simple aligned table: add the header, then rows of strings, then print. */
typedef struct jc_table {
        unsigned ncols;
        const char *right; /* per column: 'r' right-aligned, 'l' left */
        char **cells;      /* rows * ncols, owned */
        size_t nrows, cap;
} jc_table_t;
void jc_table_init(jc_table_t *t, unsigned ncols, const char *align);
void jc_table_add(jc_table_t *t, ...); /* ncols const char * cells (copied) */
void jc_table_print(jc_table_t *t, const char *indent);
/* A row of ncols cells: first, then ncols - 1 from rest (copied). */
void jc_table_add_row(jc_table_t *t, const char *first, char *const *rest);
void jc_table_free(jc_table_t *t);

/* ---- discovery (discover.c) --------------------------------------------------------- */

/* The runtime directory as the server picks it, or --runtime-dir.  JC_OK or an error
 * status (message printed). */
int jc_runtime_dir(char *buf, size_t cap);
/* "<dir>/<pid>.sock"; false if it does not fit a socket address. */
bool jc_socket_path(const char *dir, pid_t pid, char *buf, size_t cap);
/* The process exists (/proc/PID, or kill(pid, 0) where /proc is missing). */
bool jc_pid_alive(pid_t pid);

typedef struct jc_sock {
        pid_t pid;
        bool alt; /* the "<pid>.<hex>.sock" form (its "<pid>.sock" was squatted) */
        char path[JC_PATH_MAX];
} jc_sock_t;
/* The processes with a socket file in dir ("<pid>.sock" or "<pid>.<hex>.sock", one entry
 * per pid, "<pid>.sock" preferred), sorted by pid (*out malloc'ed).  JC_OK, or an error
 * status with the message printed; a missing directory is an empty list. */
int jc_list_sockets(const char *dir, jc_sock_t **out, size_t *n);
/* Removes path if it is a socket of this user whose pid is gone and that refuses
 * connections.  True if removed. */
bool jc_remove_stale(const jc_sock_t *s);

/* ---- the connection (client.c) ------------------------------------------------------ */

typedef struct jc_conn {
        int fd;
        bool remote; /* through the bridge of jemctl -H (remote.c), fd unused */
        pid_t pid;
        char path[JC_PATH_MAX];
        uint64_t next_id;
        char *req;        /* frame buffer: header + JP_REQ_MAX */
        jp_writer_t w;    /* the request being built */
        char *raw;        /* payload of the last response (kept until the next call) */
        size_t raw_len;
        char err_code[64]; /* code of the last server error, "" if none */
} jc_conn_t;

/* Why a connection could not be made, for callers that want to stay quiet (ps). */
enum jc_conn_fail { JC_CF_NONE, JC_CF_STALE, JC_CF_GONE, JC_CF_NOSOCK, JC_CF_PERM,
                    JC_CF_OTHER };

/* Connects to pid's socket in the runtime directory.  Returns JC_OK or an exit status;
 * unless quiet the reason is printed.  *why (may be NULL) tells the kind of failure. */
int jc_connect(pid_t pid, jc_conn_t *c, bool quiet, enum jc_conn_fail *why);
/* Starts a request of op; add members to the returned writer, then jc_call. */
jp_writer_t *jc_begin(jc_conn_t *c, enum jp_op op);
/* Sends the request and reads its answer.  JC_OK with *result (a new reference) set to
 * the response's "result", or an exit status with the reason printed. */
int jc_call(jc_conn_t *c, json_t **result);
/* jc_call for answers that pass one file descriptor (SCM_RIGHTS) with their first byte:
 * *ret_fd is that descriptor (close-on-exec, the caller closes it) or -1 if none came;
 * any other descriptor that arrives is closed. */
int jc_call_fd(jc_conn_t *c, json_t **result, int *ret_fd);
void jc_close(jc_conn_t *c);
/* The bridge's relay: sends a request payload as it came (len bytes, at most JP_REQ_MAX)
 * and reads the response into c->raw (and a passed descriptor into *ret_fd, or -1),
 * without parsing it.  JC_OK or a status, the reason printed. */
int jc_relay(jc_conn_t *c, const char *payload, size_t len, int *ret_fd);
/* suggest.c: "did you mean".  jc_edit_distance: edits (insert, delete, replace, swap two
 * neighbours) from a to b.  jc_closest: the candidate within a typo's distance of word
 * (1 to 3 edits by its length), or NULL.  jc_suggest_name: for a mallctl name pid does not
 * know, the closest name it does (its `list`, indices kept), in out ("" if none). */
unsigned jc_edit_distance(const char *a, const char *b);
const char *jc_closest(const char *word, const char *const *cands, size_t n);
const char *jc_suggest_name(pid_t pid, const char *name, char *out, size_t cap);
/* One-shot: connect, one request without arguments, close. */
int jc_simple(pid_t pid, enum jp_op op, json_t **result);

/* ---- commands (cmd_*.c) --------------------------------------------------------------
 * Each gets the positional arguments after the verb (argv[0] is the first of them). */
int cmd_ps(int argc, char **argv);
int cmd_stats(int argc, char **argv);
int cmd_watch(int argc, char **argv);
int cmd_get(int argc, char **argv);
int cmd_set(int argc, char **argv);
int cmd_ls(int argc, char **argv);
int cmd_info(int argc, char **argv);
int cmd_decay(int argc, char **argv);
int cmd_purge(int argc, char **argv);
int cmd_prof(int argc, char **argv);

/* Shared by the commands (main.c): a process id argument, or -1 with the usage error
 * printed. */
pid_t jc_parse_pid(const char *s);
bool jc_parse_i64(const char *s, int64_t *out);
bool jc_parse_u64(const char *s, uint64_t *out);

/* Output files (outfile.c): the whole of data to path, atomically (temporary file in the
 * same directory, fsync, rename), or to stdout.  JC_OK or a status, message printed. */
int jc_write_file(const char *path, const void *data, size_t len);
int jc_write_stdout(const void *data, size_t len);

/* ---- selectors (select.c, daemon.c) -------------------------------------------------- */

/* --comm, --unit or --all was given. */
bool jc_selecting(void);
/* Checks that the verb takes selectors and its arguments (those of the verb without the
 * PID), then runs fn once per matching process with the pid put first; ps runs once and
 * filters itself.  The exit status: JC_OK if every process succeeded, else the highest
 * status of a failed one; JC_NOCONN if nothing matches, JC_USAGE (message printed). */
int jc_select_run(const char *verb, int (*fn)(int, char **), int min_args, int max_args,
                  int npos, char **pos);
/* The matching pids, sorted (*out malloc'ed), asked of jemctld if it runs and watches the
 * same runtime directory (*via_daemon), else found by scanning.  JC_OK with *n >= 1,
 * JC_NOCONN if none matches (said on stderr), or another status. */
int jc_select_pids(pid_t **out, size_t *n, bool *via_daemon);
int jc_for_each_selected(int (*fn)(int, char **), int argc, char **argv, bool header);
/* Whether pid matches the selectors by /proc/PID/comm and /proc/PID/cgroup. */
bool jc_select_match_local(pid_t pid);
/* The daemon's rows ({"pid", "comm", "cgroup", "unit", "allocated", "active", "resident",
 * "rss", "dirty_decay_ms", "muzzy_decay_ms", "socket", "error"}) matching the selectors;
 * JC_OK, or JC_NOCONN if no daemon answers for this runtime directory (said on stderr
 * only when --daemon or $JEMCTLD_URL named one). */
int jc_daemon_rows(json_t **rows);
/* A blocking GET of url + path under one deadline (daemon.c), sent only if root or this
 * user serves the connection (found in /proc/net/tcp and tcp6).  0 with *ret_body
 * (malloc'ed, NUL-terminated) and *ret_status, or a negative errno: -EPERM when another
 * user serves it (*ret_owner: that uid) or nobody can tell who does (*ret_owner: -1). */
int jc_http_get(const char *url, const char *path, double timeout, char **ret_body,
                int *ret_status, long *ret_owner);

/* ---- remote hosts (remote.c, bridge.c) ------------------------------------------------
 * jemctl -H runs the verbs here against another host's processes through `ssh HOST
 * jemctl bridge`; while a host is open, discovery, selectors and connections go there. */
#define JC_REMOTE_FD_MAX (256ll << 20) /* the largest descriptor content relayed (a dump) */
bool jc_remote_active(void);
const char *jc_remote_host(void);
/* Starts the bridge on spec ([USER@]HOST[:PORT]) and greets it.  JC_OK or a status. */
int jc_remote_open(const char *spec);
void jc_remote_close(void);
int jc_remote_runtime_dir(char *buf, size_t cap);
int jc_remote_list(jc_sock_t **out, size_t *n);
int jc_remote_select(pid_t **out, size_t *n);
/* Whether the remote selectors match pid (ps with -H). */
bool jc_remote_selected(pid_t pid);
int jc_remote_connect(pid_t pid, bool quiet, enum jc_conn_fail *why);
void jc_remote_disconnect(void);
int jc_remote_request(const char *req, size_t len, char **raw, size_t *raw_len, int *ret_fd);
/* Frames of the channel: 4-byte big-endian length, then (type != 0) a type byte, then
 * the body.  jc_frame_read: at most max bytes, before deadline (monotonic seconds; < 0
 * none); 0 with *buf (malloc'ed, NUL-terminated) or an errno value (EPIPE: the end). */
int jc_frame_write(int fd, char type, const void *body, size_t len);
int jc_frame_read(int fd, char **buf, size_t *len, size_t max, double deadline);
int cmd_bridge(int argc, char **argv);
/* The bridge's name for its host in messages (its argument: the -H spec). */
void jc_bridge_label_set(const char *label);
/* Output of several hosts (output.c): tables get a HOST column and are printed once,
 * JSON documents are gathered under their host; jc_hosts_flush prints what was kept. */
void jc_hosts_begin(const char *host);
void jc_hosts_end(int status);
void jc_hosts_flush(void);
const char *jc_hosts_current(void);
/* Taken for the gathered output (true), or to be printed as usual (false). */
bool jc_hosts_take_json(json_t *doc);
bool jc_hosts_take_table(const jc_table_t *t, const char *indent);
/* Runs run_one(host, arg) for each host, up to JC_HOSTS_PARALLEL at once in child processes,
 * and gathers their output as above (jc_hosts_flush prints it).  The highest status. */
#define JC_HOSTS_PARALLEL 16
#define JC_HOSTS_MAX (1024)                  /* hosts in one -H list */
#define JC_HOSTS_MAX_OUTPUT (64ull << 20)    /* bytes of output kept per host */
int jc_hosts_run(char **hosts, size_t n, int (*run_one)(const char *host, void *arg),
                 void *arg);

/* The stats summary of a process (cmd_stats.c), also used by ps and watch. */
int jc_stats_summary(jc_conn_t *c, json_t **summary);

#endif
