/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * lockrank: the lock order, one enum for every lock that the fork handlers take, in
 * prefork order: a thread holding a lock of rank r takes only locks of a higher rank.
 * core/fork.c runs the fork participants in this order (and the reverse after the fork).
 */
#ifndef LA_LOCKRANK_H
#define LA_LOCKRANK_H

enum la_rank {
        LA_RANK_SERVER,   /* server/: the control thread's state */
        LA_RANK_CTL,      /* ctl/: the mallctl tree */
        LA_RANK_BG,       /* bg/: the background purging threads */
        LA_RANK_TCACHE,   /* core/tcache.c: the explicit tcaches */
        LA_RANK_REGISTRY, /* core/thread.c: the heap registry */
        LA_RANK_ARENA,    /* core/arena.c: the arenas */
        LA_RANK_META,     /* core/meta.c: the metadata allocator */
        LA_RANK_PROF,     /* prof/: the profiler's tables */
        LA_RANK_N
};

#endif
