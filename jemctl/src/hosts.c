/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * hosts: the output of one verb run on several hosts (jemctl -H a,b,c) as one.  While a
 * host's run lasts (jc_hosts_begin .. jc_hosts_end), its top-level table (ps) goes into one
 * table with a HOST column first, its JSON documents are kept under its name, and any other
 * text it prints is kept and printed after, each line behind the host's name in a column
 * of its own; messages on stderr name the host.  jc_hosts_flush prints it all once:
 * the table, the lines, or with --json one document
 *   [{"host": "a", "status": 0, "results": [...]}, ...].
 * jc_hosts_run does that for up to JC_HOSTS_PARALLEL hosts at once, one child process
 * each, whose gathered output comes back as one JSON document and is merged in the order
 * of the list.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include "jemctl.h"

static const char *cur;      /* the host running now, or NULL outside a multi-host run */
static int saved_stdout = -1; /* stdout while it is captured */
static int capture = -1;      /* where the host's other text goes */
static jc_table_t merged;
static bool merged_init;
static char merged_align[17];
static json_t *docs; /* [{"host", "status", "results"}] */
static json_t *cur_results;
static char **lines; /* "host\0text" pairs of the other text, in order */
static size_t nlines, cap_lines;
static size_t host_width = 4;

const char *jc_hosts_current(void)
{
        return cur;
}

void jc_hosts_begin(const char *host)
{
        cur = host;
        if (strlen(host) > host_width)
                host_width = strlen(host);
        if (docs == NULL)
                docs = json_array();
        cur_results = json_array();
        fflush(stdout);
        capture = memfd_create("jemctl-host-output", MFD_CLOEXEC);
        saved_stdout = capture >= 0 ? dup(1) : -1;
        if (saved_stdout >= 0)
                dup2(capture, 1);
}

static void keep_line(const char *host, const char *text, size_t len)
{
        if (nlines == cap_lines) {
                size_t nc = cap_lines ? cap_lines * 2 : 64;
                char **n = realloc(lines, nc * sizeof(*n));
                if (n == NULL)
                        return;
                lines = n;
                cap_lines = nc;
        }
        size_t hl = strlen(host);
        char *e = malloc(hl + 1 + len + 1);
        if (e == NULL)
                return;
        memcpy(e, host, hl + 1);
        memcpy(e + hl + 1, text, len);
        e[hl + 1 + len] = '\0';
        lines[nlines++] = e;
}

void jc_hosts_end(int status)
{
        fflush(stdout);
        if (saved_stdout >= 0) {
                dup2(saved_stdout, 1);
                close(saved_stdout);
                saved_stdout = -1;
        }
        if (capture >= 0) {
                off_t size = lseek(capture, 0, SEEK_END);
                char *text = size > 0 ? malloc((size_t)size) : NULL;
                if (text != NULL && pread(capture, text, (size_t)size, 0) == size) {
                        for (char *l = text; l < text + size;) {
                                char *nl = memchr(l, '\n', (size_t)(text + size - l));
                                size_t len = nl != NULL ? (size_t)(nl - l) : (size_t)(text + size - l);
                                keep_line(cur, l, len);
                                l += len + 1;
                        }
                }
                free(text);
                close(capture);
                capture = -1;
        }
        json_array_append_new(docs, json_pack("{s:s,s:i,s:o}", "host", cur, "status", status,
                                              "results", cur_results));
        cur_results = NULL;
        cur = NULL;
}

bool jc_hosts_take_json(json_t *doc)
{
        if (cur == NULL || cur_results == NULL)
                return false;
        json_array_append_new(cur_results, json_deep_copy(doc));
        return true;
}

bool jc_hosts_take_table(const jc_table_t *t, const char *indent)
{
        if (cur == NULL || indent[0] != '\0' || t->nrows == 0 || t->ncols >= 16)
                return false;
        if (!merged_init) {
                merged_align[0] = 'l';
                memcpy(merged_align + 1, t->right, t->ncols);
                merged_align[t->ncols + 1] = '\0';
                jc_table_init(&merged, t->ncols + 1, merged_align);
                merged.nrows = 0;
                merged_init = true;
        }
        if (merged.ncols != t->ncols + 1)
                return false;
        /* Row 0 is the header: once, for the first host. */
        for (size_t r = merged.nrows == 0 ? 0 : 1; r < t->nrows; r++)
                jc_table_add_row(&merged, r == 0 ? "HOST" : cur, t->cells + r * t->ncols);
        return true;
}

void jc_hosts_flush(void)
{
        if (jc_opt->json) {
                jc_print_json(docs != NULL ? docs : json_array(), true);
        } else {
                if (merged_init)
                        jc_table_print(&merged, "");
                for (size_t i = 0; i < nlines; i++) {
                        const char *h = lines[i];
                        const char *text = h + strlen(h) + 1;
                        printf("%-*s  %s\n", (int)host_width, h, text);
                }
        }
        if (merged_init)
                jc_table_free(&merged);
        merged_init = false;
        for (size_t i = 0; i < nlines; i++)
                free(lines[i]);
        free(lines);
        lines = NULL;
        nlines = cap_lines = 0;
        json_decref(docs);
        docs = NULL;
}

/* ---- several hosts at once ------------------------------------------------------------ */

/* What this process gathered for its one host, as a JSON document (a child's answer). */
static char *export_state(void)
{
        json_t *rows = json_array();
        for (size_t r = 0; merged_init && r < merged.nrows; r++) {
                json_t *row = json_array();
                for (unsigned i = 0; i < merged.ncols; i++)
                        json_array_append_new(row, json_string(merged.cells[r * merged.ncols + i]));
                json_array_append_new(rows, row);
        }
        json_t *ls = json_array();
        for (size_t i = 0; i < nlines; i++)
                json_array_append_new(ls, json_string(lines[i] + strlen(lines[i]) + 1));
        json_t *doc = json_pack("{s:s,s:o,s:o,s:O}", "align", merged_init ? merged_align : "",
                                "rows", rows, "lines", ls, "docs", docs != NULL ? docs : json_null());
        char *s = doc != NULL ? json_dumps(doc, JSON_COMPACT | JSON_ENSURE_ASCII) : NULL;
        json_decref(doc);
        return s;
}

/* A child's document into this process's gathered output, for host. */
static void import_state(const char *host, json_t *doc)
{
        const char *align = json_string_value(json_object_get(doc, "align"));
        json_t *rows = json_object_get(doc, "rows");
        size_t ncols = align != NULL ? strlen(align) : 0;
        if (!merged_init && ncols > 1 && ncols <= 16) {
                memcpy(merged_align, align, ncols + 1);
                jc_table_init(&merged, (unsigned)ncols, merged_align);
                merged_init = true;
        }
        size_t r;
        json_t *row;
        json_array_foreach(rows, r, row) {
                if (!merged_init || json_array_size(row) != merged.ncols)
                        break;
                if (r == 0 && merged.nrows > 0)
                        continue; /* the header, once */
                char *cells[16];
                for (unsigned i = 0; i < merged.ncols; i++) {
                        const char *v = json_string_value(json_array_get(row, i));
                        cells[i] = (char *)(v != NULL ? v : "");
                }
                jc_table_add_row(&merged, cells[0], cells + 1);
        }
        size_t i;
        json_t *l;
        json_array_foreach(json_object_get(doc, "lines"), i, l) {
                const char *t = json_string_value(l);
                if (t != NULL)
                        keep_line(host, t, strlen(t));
        }
        if (strlen(host) > host_width)
                host_width = strlen(host);
        if (docs == NULL)
                docs = json_array();
        json_t *d;
        json_array_foreach(json_object_get(doc, "docs"), i, d)
                json_array_append(docs, d);
}

typedef struct child {
        pid_t pid;
        int fd;
        char *buf;
        size_t len, cap;
        bool done;
} child_t;

/* Starts host's run in a child whose gathered output comes back on c->fd. */
static void start_child(child_t *c, const char *host,
                        int (*run_one)(const char *host, void *arg), void *arg)
{
        int p[2];
        c->fd = -1;
        if (pipe2(p, O_CLOEXEC) != 0) {
                jc_err("%s: cannot start: %s", host, strerror(errno));
                c->done = true;
                return;
        }
        c->pid = fork();
        if (c->pid == 0) {
                close(p[0]);
                jc_hosts_begin(host);
                int rc = run_one(host, arg);
                jc_hosts_end(rc);
                char *s = export_state();
                if (s != NULL)
                        jc_frame_write(p[1], 0, s, strlen(s));
                _exit(0);
        }
        close(p[1]);
        if (c->pid < 0) {
                close(p[0]);
                jc_err("%s: cannot start: %s", host, strerror(errno));
                c->done = true;
                return;
        }
        c->fd = p[0];
}

/* Reads what c sent; true once it is done (its end of the pipe closed, or too much). */
static bool read_child(child_t *c, const char *host)
{
        if (c->len == c->cap) {
                size_t nc = c->cap ? c->cap * 2 : 65536;
                char *b = nc <= JC_HOSTS_MAX_OUTPUT ? realloc(c->buf, nc) : NULL;
                if (b == NULL) {
                        jc_err("%s: more output than jemctl keeps", host);
                        kill(c->pid, SIGKILL);
                        c->len = 0;
                        goto done;
                }
                c->buf = b;
                c->cap = nc;
        }
        ssize_t r = read(c->fd, c->buf + c->len, c->cap - c->len);
        if (r > 0) {
                c->len += (size_t)r;
                return false;
        }
        if (r < 0 && errno == EINTR)
                return false;
done:
        close(c->fd);
        waitpid(c->pid, NULL, 0);
        c->done = true;
        return true;
}

/* c's document into the gathered output for host; its status. */
static int merge_child(child_t *c, const char *host)
{
        json_t *doc = NULL;
        if (c->len > 4) {
                uint32_t fl = (uint32_t)(uint8_t)c->buf[0] << 24 | (uint32_t)(uint8_t)c->buf[1] << 16 |
                              (uint32_t)(uint8_t)c->buf[2] << 8 | (uint8_t)c->buf[3];
                if (fl == c->len - 4)
                        doc = json_loadb(c->buf + 4, fl, 0, NULL);
        }
        json_t *d0 = json_array_get(json_object_get(doc, "docs"), 0);
        json_int_t st = json_integer_value(json_object_get(d0, "status"));
        if (doc == NULL) {
                jc_err("%s: the run ended without its output", host);
                st = JC_FAIL;
                doc = json_pack("{s:s,s:[],s:[],s:[{s:s,s:i,s:[]}]}", "align", "", "rows",
                                "lines", "docs", "host", host, "status", JC_FAIL, "results");
        }
        import_state(host, doc);
        json_decref(doc);
        free(c->buf);
        return st < 0 || st > JC_PERM ? JC_FAIL : (int)st;
}

int jc_hosts_run(char **hosts, size_t n, int (*run_one)(const char *host, void *arg),
                 void *arg)
{
        child_t *ch = calloc(n, sizeof(*ch));
        if (ch == NULL) {
                jc_err("out of memory");
                return JC_FAIL;
        }
        size_t started = 0, finished = 0;
        fflush(stdout);
        while (finished < n) {
                /* Up to JC_HOSTS_PARALLEL running. */
                while (started < n && started - finished < JC_HOSTS_PARALLEL) {
                        start_child(&ch[started], hosts[started], run_one, arg);
                        finished += ch[started].done;
                        started++;
                }
                struct pollfd pf[JC_HOSTS_PARALLEL];
                size_t idx[JC_HOSTS_PARALLEL], np = 0;
                for (size_t i = 0; i < started && np < JC_HOSTS_PARALLEL; i++)
                        if (!ch[i].done) {
                                pf[np] = (struct pollfd){ch[i].fd, POLLIN, 0};
                                idx[np++] = i;
                        }
                if (np == 0)
                        continue;
                if (poll(pf, np, -1) < 0 && errno != EINTR)
                        break;
                for (size_t k = 0; k < np; k++)
                        if (pf[k].revents != 0 && read_child(&ch[idx[k]], hosts[idx[k]]))
                                finished++;
        }
        /* In the order of the list, whatever order they finished in. */
        int worst = JC_OK;
        for (size_t i = 0; i < n; i++) {
                int st = merge_child(&ch[i], hosts[i]);
                if (st > worst)
                        worst = st;
        }
        free(ch);
        return worst;
}
