/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * prof: heap profiling of a live process (on, off, status, reset, dump) and offline
 * conversion of a heap_v2 dump (convert).  A dump arrives as a sealed memfd passed with
 * the answer (docs/protocol.md); it is written raw (--format heap, jeprof reads it) or
 * converted with profconv to pprof, folded stacks or an SVG flame graph, symbolized from
 * the files the process maps (seen through /proc/PID/root when that exists).
 */
#define _GNU_SOURCE /* F_GET_SEALS */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <jcl/blob.h>
#include <jcl/io.h>

#include "jemctl.h"
#include "pc/profconv.h"

#define JC_PROF_MAX ((size_t)1 << 30) /* a file to convert: 1 GiB, far above any real dump */

static void free_ptr(void *p)
{
        free(*(void **)p);
}

static void close_fd(int *fd)
{
        if (*fd >= 0)
                close(*fd);
}

/* Converts a heap_v2 text to fmt (pprof, folded, svg) and writes it out, reading the
 * mapped files only as creds may (NULL: as this process may). */
static int convert_and_write(const char *what, const char *text, size_t len, const char *fmt,
                             const char *root, const pc_creds_t *creds, const char *title)
{
        pc_profile_t p;
        pc_error_t err = {0};
        int rc = pc_heap_parse(text, len, &p, &err);
        if (rc != 0) {
                jc_err("%s: not a valid heap profile: %s", what, err.msg);
                return JC_FAIL;
        }
        pc_resolve_opts_t o = {.root = root, .creds = creds};
        pc_resolved_t r;
        rc = pc_resolve(&p, &o, &r, &err);
        pc_profile_free(&p);
        if (rc != 0) {
                jc_err("%s: %s", what, err.msg);
                return JC_FAIL;
        }
        if (r.nrefused > 0)
                jc_err("%s: %zu mapped file%s not read (the process's user may not read %s, "
                       "or a link or kernel file): %s frames stay addresses",
                       what, r.nrefused, r.nrefused == 1 ? "" : "s",
                       r.nrefused == 1 ? "it" : "them", r.nrefused == 1 ? "its" : "their");
        pc_buf_t out = {0};
        if (strcmp(fmt, "pprof") == 0)
                rc = pc_write_pprof(&r, &out, &err);
        else if (strcmp(fmt, "folded") == 0)
                rc = pc_write_folded(&r, &out, &err);
        else
                rc = pc_write_svg(&r, title, &out, &err);
        pc_resolved_free(&r);
        if (rc != 0) {
                jc_err("%s: %s", what, err.msg);
                return JC_FAIL;
        }
        rc = jc_opt->out_file != NULL ? jc_write_file(jc_opt->out_file, out.data, out.len)
                                      : jc_write_stdout(out.data, out.len);
        pc_buf_free(&out);
        return rc;
}

/* pprof is binary: never onto a terminal. */
static bool binary_to_tty(const char *fmt)
{
        if (jc_opt->out_file == NULL && strcmp(fmt, "pprof") == 0 && isatty(STDOUT_FILENO)) {
                jc_err("refusing to write a binary pprof profile to a terminal (use -o FILE or "
                       "a pipe)");
                return true;
        }
        return false;
}

static int usage(const char *msg)
{
        jc_err("prof: %s", msg);
        fputs("Try 'jemctl --help'.\n", stderr);
        return JC_USAGE;
}

/* ---- prof convert FILE ---------------------------------------------------------------- */

static int prof_convert(const char *file)
{
        const char *fmt = jc_opt->prof_format != NULL ? jc_opt->prof_format : "pprof";
        if (strcmp(fmt, "heap") == 0)
                return usage("convert: --format heap is the input format; use pprof, folded "
                             "or svg");
        if (jc_opt->have_lg_sample)
                return usage("--lg-sample applies to 'on' and 'reset' only");
        if (binary_to_tty(fmt))
                return JC_USAGE;
        __attribute__((cleanup(close_fd))) int fd = open(file, O_RDONLY | O_CLOEXEC | O_NOCTTY);
        if (fd < 0) {
                jc_err("%s: %s", file, strerror(errno));
                return JC_FAIL;
        }
        struct stat st;
        if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
                jc_err("%s: not a regular file", file);
                return JC_FAIL;
        }
        if ((uint64_t)st.st_size > JC_PROF_MAX) {
                jc_err("%s: larger than 1 GiB, not a heap profile", file);
                return JC_FAIL;
        }
        __attribute__((cleanup(free_ptr))) char *text = malloc((size_t)st.st_size + 1);
        if (text == NULL) {
                jc_err("out of memory");
                return JC_FAIL;
        }
        int e = jcl_pread_all(fd, text, (size_t)st.st_size);
        if (e != 0) {
                jc_err("%s: cannot read: %s", file, strerror(e));
                return JC_FAIL;
        }
        /* The files this user could read: the dump may name anyone's. */
        return convert_and_write(file, text, (size_t)st.st_size, fmt, jc_opt->root, NULL, NULL);
}

/* ---- prof PID dump -------------------------------------------------------------------- */

/* The descriptor must be what the contract says (jcl_blob_check): a regular file (a
 * memfd) of exactly the announced size, sealed against any change while we read it. */
static bool check_dump_fd(pid_t pid, int fd, uint64_t bytes)
{
        switch (jcl_blob_check(fd, bytes)) {
        case 0:
                return true;
        case -EMSGSIZE: {
                struct stat st;
                long long has = fstat(fd, &st) == 0 ? (long long)st.st_size : -1;
                jc_err("pid %d: the passed profile has %lld bytes, the answer says %llu", (int)pid,
                       has, (unsigned long long)bytes);
                return false;
        }
        case -EFBIG:
                jc_err("pid %d: the profile is larger than the protocol allows (%llu bytes)",
                       (int)pid, (unsigned long long)bytes);
                return false;
        default:
                jc_err("pid %d: the passed profile is not a regular file, or not sealed against "
                       "changes",
                       (int)pid);
                return false;
        }
}

/* Converts pid's dump (text, bytes) to fmt, symbolized from its files as it may read them. */
static int convert_dump(pid_t pid, const char *text, uint64_t bytes, const char *fmt)
{
        char root[64], what[64], title[128], comm[32] = "";
        struct stat st;
        snprintf(root, sizeof(root), "/proc/%d/root", (int)pid);
        snprintf(what, sizeof(what), "pid %d", (int)pid);
        /* The program's name in the title (the flame graph is read later, away
         * from the process); the kernel's comm, cut at a newline. */
        snprintf(title, sizeof(title), "/proc/%d/comm", (int)pid);
        FILE *cf = jc_remote_active() ? NULL : fopen(title, "re");
        if (cf != NULL) {
                if (fgets(comm, sizeof(comm), cf) != NULL)
                        comm[strcspn(comm, "\n")] = '\0';
                fclose(cf);
        }
        snprintf(title, sizeof(title), "Heap profile of %s%spid %d", comm,
                 comm[0] != '\0' ? ", " : "", (int)pid);
        const char *rp = jc_opt->root;
        if (rp == NULL && !jc_remote_active() && stat(root, &st) == 0 &&
            access(root, R_OK | X_OK) == 0)
                rp = root;
        /* Its files as the process itself may read them, not as this user (often
         * root): the dump names them.  With -H, the copies under --root are read
         * as this user may. */
        pc_creds_t creds;
        const pc_creds_t *cp = NULL;
        if (!jc_remote_active()) {
                if (pc_creds_of_pid((int)pid, &creds) != 0) {
                        jc_err("pid %d: cannot read its credentials from /proc: "
                               "symbols only from files anyone may read",
                               (int)pid);
                        creds = (pc_creds_t){.uid = (uid_t)-1, .gid = (gid_t)-1};
                }
                cp = &creds;
        }
        return convert_and_write(what, text, bytes, fmt, rp, cp, title);
}

static int prof_dump(pid_t pid, jc_conn_t *c)
{
        const char *fmt = jc_opt->prof_format != NULL ? jc_opt->prof_format : "heap";
        if (binary_to_tty(fmt))
                return JC_USAGE;
        if (jc_remote_active() && strcmp(fmt, "heap") != 0 && jc_opt->root == NULL) {
                /* The symbols are in that host's files, not in the same paths here. */
                jc_err("with -H, prof dump converts only with --root DIR (where that host's "
                       "binaries are found here); else --format heap, or that host's "
                       "jemctld /debug/pprof/heap");
                return JC_USAGE;
        }
        jp_req_prof(jc_begin(c, JP_OP_PROF), JP_PROF_DUMP, false, 0);
        json_t *r = NULL;
        __attribute__((cleanup(close_fd))) int fd = -1;
        int rc = jc_call_fd(c, &r, &fd);
        if (rc != JC_OK)
                return rc;
        uint64_t bytes = 0;
        const char *f = jc_get_str(r, "format");
        bool ok = f != NULL && strcmp(f, "heap_v2") == 0 && jc_get_u64(r, "bytes", &bytes) &&
                  json_is_true(json_object_get(r, "fd"));
        json_decref(r);
        if (!ok) {
                jc_err("pid %d: malformed answer to prof dump (expected format \"heap_v2\", "
                       "bytes and fd: true)",
                       (int)pid);
                return JC_FAIL;
        }
        if (fd < 0) {
                jc_err("pid %d: the answer to prof dump came without the profile's file "
                       "descriptor",
                       (int)pid);
                return JC_FAIL;
        }
        if (!check_dump_fd(pid, fd, bytes))
                return JC_FAIL;
        __attribute__((cleanup(free_ptr))) char *text = malloc((size_t)bytes + 1);
        if (text == NULL) {
                jc_err("out of memory");
                return JC_FAIL;
        }
        int e = jcl_pread_all(fd, text, (size_t)bytes);
        if (e != 0) {
                jc_err("pid %d: cannot read the passed profile: %s", (int)pid, strerror(e));
                return JC_FAIL;
        }
        if (strcmp(fmt, "heap") == 0) {
                rc = jc_opt->out_file != NULL ? jc_write_file(jc_opt->out_file, text, bytes)
                                              : jc_write_stdout(text, bytes);
        } else {
                rc = convert_dump(pid, text, bytes, fmt);
        }
        if (rc == JC_OK && jc_opt->out_file != NULL) {
                if (jc_opt->json)
                        printf("{\"pid\": %d, \"format\": \"%s\", \"bytes\": %llu}\n", (int)pid,
                               fmt, (unsigned long long)bytes);
                else
                        printf(strcmp(fmt, "heap") == 0
                                       ? "pid %d: heap profile written to %s (heap_v2, "
                                         "%s%llu bytes)\n"
                                       : "pid %d: heap profile written to %s (%s, converted "
                                         "from %llu bytes of heap_v2)\n",
                               (int)pid, jc_opt->out_file,
                               strcmp(fmt, "heap") == 0 ? "" : fmt, (unsigned long long)bytes);
        }
        return rc;
}

/* ---- prof PID on|off|status|reset ----------------------------------------------------- */

static int prof_control(pid_t pid, jc_conn_t *c, const char *action)
{
        jp_req_prof(jc_begin(c, JP_OP_PROF), jp_prof_action_parse(action),
                    jc_opt->have_lg_sample, jc_opt->lg_sample);
        json_t *r = NULL;
        int rc = jc_call(c, &r);
        if (rc != JC_OK)
                return rc;
        uint64_t lg = 0, samples = 0, sbytes = 0;
        json_t *active = json_object_get(r, "active"), *was = json_object_get(r, "was_active");
        if (!json_is_boolean(active) || !json_is_boolean(was) || !jc_get_u64(r, JP_ARG_LG_SAMPLE, &lg) ||
            !jc_get_u64(r, "samples", &samples) || !jc_get_u64(r, "sampled_bytes", &sbytes) ||
            lg > 63) {
                json_decref(r);
                jc_err("pid %d: malformed answer to prof %s (expected active, was_active, "
                       "lg_sample, samples, sampled_bytes)",
                       (int)pid, action);
                return JC_FAIL;
        }
        if (jc_opt->json) {
                json_object_set_new(r, "pid", json_integer(pid));
                jc_print_json(r, true);
        } else if (jc_opt->multi) { /* one line per process of a selector */
                char b1[32];
                printf("pid %d: heap profiling %s%s, lg_sample %llu, %llu samples, %s\n", (int)pid,
                       json_is_true(active) ? "on" : "off",
                       strcmp(action, "status") == 0 ? ""
                       : json_is_true(was)           ? " (was on)"
                                                     : " (was off)",
                       (unsigned long long)lg, (unsigned long long)samples,
                       jc_fmt_bytes(b1, sbytes));
        } else {
                char b1[32], b2[32];
                printf("pid %d: heap profiling %s", (int)pid, json_is_true(active) ? "on" : "off");
                if (strcmp(action, "status") != 0)
                        printf(" (was %s)", json_is_true(was) ? "on" : "off");
                printf("\n  sampling  one sample per %s on average (lg_sample %llu)\n",
                       jc_fmt_bytes(b1, (uint64_t)1 << lg), (unsigned long long)lg);
                printf("  samples   %llu live, %s\n", (unsigned long long)samples,
                       jc_fmt_bytes(b2, sbytes));
        }
        json_decref(r);
        return JC_OK;
}

int cmd_prof(int argc, char **argv)
{
        if (strcmp(argv[0], "convert") == 0) {
                if (argc != 2)
                        return usage("convert needs one file: jemctl prof convert FILE.heap");
                return prof_convert(argv[1]);
        }
        pid_t pid = jc_parse_pid(argv[0]);
        if (pid < 0)
                return JC_USAGE;
        if (argc != 2)
                return usage("missing action: on, off, status, reset or dump");
        const char *action = argv[1];
        bool dump = jp_prof_action_parse(action) == JP_PROF_DUMP;
        if (jp_prof_action_parse(action) == JP_PROF_NACTIONS) {
                jc_err("prof: '%s' is not on, off, status, reset or dump", action);
                fputs("Try 'jemctl --help'.\n", stderr);
                return JC_USAGE;
        }
        if (!dump &&
            (jc_opt->out_file != NULL || jc_opt->prof_format != NULL || jc_opt->root != NULL))
                return usage("-o, --format and --root apply to dump and convert only");
        if (jc_opt->have_lg_sample && strcmp(action, "on") != 0 && strcmp(action, "reset") != 0)
                return usage("--lg-sample applies to 'on' and 'reset' only");
        jc_conn_t c;
        int rc = jc_connect(pid, &c, false, NULL);
        if (rc != JC_OK)
                return rc;
        rc = dump ? prof_dump(pid, &c) : prof_control(pid, &c, action);
        jc_close(&c);
        return rc;
}
