/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * buf: the growable output buffer of the writers, and the error helper.
 */
#include "buf.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static bool reserve(pc_buf_t *b, size_t more)
{
        if (b->failed)
                return false;
        if (b->len + more <= b->cap)
                return true;
        size_t cap = b->cap ? b->cap : 4096;
        while (cap < b->len + more) {
                if (cap > SIZE_MAX / 2) {
                        b->failed = true;
                        return false;
                }
                cap *= 2;
        }
        char *d = realloc(b->data, cap);
        if (d == NULL) {
                b->failed = true;
                return false;
        }
        b->data = d;
        b->cap = cap;
        return true;
}

void pc_buf_add(pc_buf_t *b, const void *p, size_t n)
{
        if (n == 0 || !reserve(b, n))
                return;
        memcpy(b->data + b->len, p, n);
        b->len += n;
}

void pc_buf_str(pc_buf_t *b, const char *s)
{
        pc_buf_add(b, s, strlen(s));
}

void pc_buf_printf(pc_buf_t *b, const char *fmt, ...)
{
        char small[256];
        va_list ap;
        va_start(ap, fmt);
        int n = vsnprintf(small, sizeof(small), fmt, ap);
        va_end(ap);
        if (n < 0) {
                b->failed = true;
                return;
        }
        if ((size_t)n < sizeof(small)) {
                pc_buf_add(b, small, (size_t)n);
                return;
        }
        if (!reserve(b, (size_t)n + 1))
                return;
        va_start(ap, fmt);
        vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
        va_end(ap);
        b->len += (size_t)n;
}

void pc_buf_xml(pc_buf_t *b, const char *s)
{
        for (; *s != '\0'; s++) {
                unsigned char c = (unsigned char)*s;
                switch (c) {
                case '&':
                        pc_buf_str(b, "&amp;");
                        break;
                case '<':
                        pc_buf_str(b, "&lt;");
                        break;
                case '>':
                        pc_buf_str(b, "&gt;");
                        break;
                case '"':
                        pc_buf_str(b, "&quot;");
                        break;
                case '\'':
                        pc_buf_str(b, "&apos;");
                        break;
                default:
                        /* XML 1.0 forbids most C0 controls even as references. */
                        if (c >= 0x20 || c == '\t')
                                pc_buf_add(b, s, 1);
                }
        }
}

int pc_buf_status(const pc_buf_t *b)
{
        return b->failed ? -ENOMEM : 0;
}

void pc_buf_free(pc_buf_t *b)
{
        free(b->data);
        b->data = NULL;
        b->len = b->cap = 0;
        b->failed = false;
}

void pc_set_error(pc_error_t *err, unsigned line, const char *fmt, ...)
{
        if (err == NULL)
                return;
        err->line = line;
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
        va_end(ap);
}
