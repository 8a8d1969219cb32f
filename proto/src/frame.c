/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * frame: the 4-byte big-endian length in front of every payload.
 */
#include "jp/proto.h"

void jp_frame_put(uint8_t hdr[JP_HDR_SIZE], uint32_t len)
{
        hdr[0] = (uint8_t)(len >> 24);
        hdr[1] = (uint8_t)(len >> 16);
        hdr[2] = (uint8_t)(len >> 8);
        hdr[3] = (uint8_t)len;
}

uint32_t jp_frame_get(const uint8_t hdr[JP_HDR_SIZE])
{
        return (uint32_t)hdr[0] << 24 | (uint32_t)hdr[1] << 16 | (uint32_t)hdr[2] << 8 |
               (uint32_t)hdr[3];
}

enum jp_err jp_frame_check(uint32_t len, uint32_t max)
{
        if (len == 0)
                return JP_ERR_BAD_FRAME;
        return len > max ? JP_ERR_TOO_LARGE : JP_OK;
}
