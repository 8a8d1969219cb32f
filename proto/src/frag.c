/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * frag: the fragmentation figures of a stats summary, one definition for jemctl and
 * jemctld (proto.h, docs/protocol.md "Fragmentation").
 */
#include <math.h>

#include "jp/proto.h"

void jp_frag(uint64_t allocated, uint64_t active, uint64_t resident, uint64_t rss,
             jp_frag_t *f)
{
        f->frag_ratio = allocated > 0 ? (double)active / (double)allocated : NAN;
        f->resident_ratio = active > 0 ? (double)resident / (double)active : NAN;
        f->rss_ratio = resident > 0 ? (double)rss / (double)resident : NAN;
        f->unused_bytes = (int64_t)resident - (int64_t)allocated;
}
