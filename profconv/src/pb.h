/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * pb: the few protocol-buffers wire encodings profile.proto needs (internal to profconv):
 * varints, int64/uint64/bool fields, strings, packed repeated integers and nested
 * messages (encoded into their own buffer, then copied in with their length).
 */
#ifndef PC_PB_H
#define PC_PB_H

#include "buf.h"

void pc_pb_varint(pc_buf_t *b, uint64_t v);
/* Field `field` as a varint (wire type 0); zero values are written too. */
void pc_pb_int(pc_buf_t *b, unsigned field, uint64_t v);
/* Field `field` as length-delimited bytes (wire type 2): strings, nested messages. */
void pc_pb_bytes(pc_buf_t *b, unsigned field, const void *p, size_t n);
/* Packed repeated varints. */
void pc_pb_packed(pc_buf_t *b, unsigned field, const uint64_t *v, size_t n);

#endif
