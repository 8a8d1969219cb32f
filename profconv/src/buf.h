/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * buf: appending to a pc_buf_t (internal to profconv).  Appends never fail loudly: they
 * set b->failed and the writer checks it once at the end.
 */
#ifndef PC_BUF_H
#define PC_BUF_H

#include "pc/profconv.h"

void pc_buf_add(pc_buf_t *b, const void *p, size_t n);
void pc_buf_str(pc_buf_t *b, const char *s);
void pc_buf_printf(pc_buf_t *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* s with &, <, >, " and ' escaped for XML text and attributes; control bytes dropped. */
void pc_buf_xml(pc_buf_t *b, const char *s);
/* 0, or -ENOMEM if an append failed. */
int pc_buf_status(const pc_buf_t *b);

/* snprintf into err (which may be NULL). */
void pc_set_error(pc_error_t *err, unsigned line, const char *fmt, ...)
        __attribute__((format(printf, 3, 4)));

#endif
