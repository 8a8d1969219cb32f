/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * hosts: the output of one verb run on several hosts (jemctl -H a,b,c) as one.  While a
 * host's run lasts (jc_hosts_begin .. jc_hosts_end), its top-level table (ps) goes into one
 * table with a HOST column first, its JSON documents are kept under its name, and any other
 * text it prints is kept and printed after, each line behind the host's name in a column
 * of its own; messages on stderr name the host.  jc_hosts_flush prints it all once:
 * the table, the lines, or with --json one document
 *   [{"host": "a", "status": 0, "results": [...]}, ...].
 */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
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
