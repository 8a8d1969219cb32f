/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * pb: protocol-buffers wire format encoders (https://protobuf.dev/programming-guides/encoding).
 */
#include "pb.h"

void pc_pb_varint(pc_buf_t *b, uint64_t v)
{
        unsigned char tmp[10];
        size_t n = 0;
        do {
                unsigned char byte = v & 0x7f;
                v >>= 7;
                tmp[n++] = byte | (v != 0 ? 0x80 : 0);
        } while (v != 0);
        pc_buf_add(b, tmp, n);
}

void pc_pb_int(pc_buf_t *b, unsigned field, uint64_t v)
{
        pc_pb_varint(b, (uint64_t)field << 3 | 0);
        pc_pb_varint(b, v);
}

void pc_pb_bytes(pc_buf_t *b, unsigned field, const void *p, size_t n)
{
        pc_pb_varint(b, (uint64_t)field << 3 | 2);
        pc_pb_varint(b, n);
        pc_buf_add(b, p, n);
}

void pc_pb_packed(pc_buf_t *b, unsigned field, const uint64_t *v, size_t n)
{
        pc_buf_t tmp = {0};
        for (size_t i = 0; i < n; i++)
                pc_pb_varint(&tmp, v[i]);
        if (tmp.failed)
                b->failed = true;
        else
                pc_pb_bytes(b, field, tmp.data, tmp.len);
        pc_buf_free(&tmp);
}
