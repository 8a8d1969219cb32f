/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * folded: the "folded stacks" text that flame graph tools read (one line per distinct
 * stack, root first, frames separated by ';', then a space and the in-use bytes).
 */
#include "folded.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"

/* One frame's name with the separators of the format made harmless. */
static void add_frame(pc_buf_t *b, const char *name)
{
        for (const char *p = name; *p; p++) {
                char ch = *p == ';' ? ':' : (*p == '\n' || *p == '\r' || *p == '\t') ? ' ' : *p;
                pc_buf_add(b, &ch, 1);
        }
}

static int cmp_line(const void *a, const void *b)
{
        return strcmp(((const pc_stack_line_t *)a)->stack, ((const pc_stack_line_t *)b)->stack);
}

int pc_stack_lines(const pc_resolved_t *r, pc_stack_line_t **ret, size_t *ret_n)
{
        pc_stack_line_t *v = calloc(r->nsamples ? r->nsamples : 1, sizeof(*v));
        if (v == NULL)
                return -ENOMEM;
        size_t n = 0;
        pc_buf_t b = {0}; /* reused; each line is copied out at its exact size */
        for (size_t i = 0; i < r->nsamples; i++) {
                const pc_sample_t *s = &r->samples[i];
                if (s->inuse_bytes <= 0)
                        continue;
                b.len = 0;
                char tmp[128];
                for (size_t k = s->n; k-- > 0;) {
                        add_frame(&b, pc_frame_name(r, &r->frames[s->first + k], tmp, sizeof(tmp)));
                        if (k > 0)
                                pc_buf_add(&b, ";", 1);
                }
                if (s->n == 0)
                        pc_buf_str(&b, "[no frames]");
                pc_buf_add(&b, "", 1);
                char *line = b.failed ? NULL : strdup(b.data);
                if (line == NULL) {
                        pc_buf_free(&b);
                        pc_stack_lines_free(v, n);
                        return -ENOMEM;
                }
                v[n++] = (pc_stack_line_t){line, (uint64_t)s->inuse_bytes};
        }
        pc_buf_free(&b);
        qsort(v, n, sizeof(*v), cmp_line);
        size_t u = 0;
        for (size_t i = 0; i < n; i++) {
                if (u > 0 && strcmp(v[u - 1].stack, v[i].stack) == 0) {
                        v[u - 1].bytes = pc_sat_add(v[u - 1].bytes, v[i].bytes);
                        free(v[i].stack);
                } else {
                        v[u++] = v[i];
                }
        }
        *ret = v;
        *ret_n = u;
        return 0;
}

void pc_stack_lines_free(pc_stack_line_t *v, size_t n)
{
        for (size_t i = 0; i < n; i++)
                free(v[i].stack);
        free(v);
}

int pc_write_folded(const pc_resolved_t *r, pc_buf_t *out, pc_error_t *err)
{
        pc_stack_line_t *v;
        size_t n;
        int rc = pc_stack_lines(r, &v, &n);
        if (rc != 0) {
                pc_set_error(err, 0, "out of memory folding stacks");
                return rc;
        }
        pc_buf_t b = {0};
        for (size_t i = 0; i < n; i++)
                pc_buf_printf(&b, "%s %llu\n", v[i].stack, (unsigned long long)v[i].bytes);
        pc_stack_lines_free(v, n);
        if (b.failed) {
                pc_buf_free(&b);
                pc_set_error(err, 0, "out of memory folding stacks");
                return -ENOMEM;
        }
        *out = b;
        return 0;
}
