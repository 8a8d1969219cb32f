/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * lockrank: the lock order.  Every liballoc mutex has a rank from this enum (given where
 * it is initialised, os/util.h); the ranks are in prefork order: a thread holding a lock
 * of rank r waits only for locks of a higher rank.  Debug builds check it on every
 * acquisition (util.c, la_rank_check) and abort naming both locks.
 *
 * Two locks of one rank: a thread may hold several only if it took every one after the
 * first with a trylock (which never waits, so it cannot close a cycle: an arena taking
 * unpurged pages from another) or in the prefork handler (which takes every arena lock in
 * index order).
 *
 * core/fork.c runs the fork participants in this order (and the reverse after the fork);
 * a participant registers under the lowest rank it takes (arenas under LA_RANK_ARENAS,
 * the profiler under LA_RANK_PROF_DUMP).
 */
#ifndef LA_LOCKRANK_H
#define LA_LOCKRANK_H

enum la_rank {
        LA_RANK_NONE,      /* never a lock's: a mutex initialised without a rank */
        LA_RANK_SERVER,    /* server/: the control thread's state */
        LA_RANK_CTL,       /* ctl/: the mallctl tree */
        LA_RANK_BG,        /* bg/: the background purging threads */
        LA_RANK_TCACHE,    /* core/tcache.c: the explicit tcaches */
        LA_RANK_REGISTRY,  /* core/thread.c: the heap registry */
        LA_RANK_ARENAS,    /* core/arena.c: creating arenas */
        LA_RANK_ARENA,     /* core/arena.c: one arena's runs, slabs and counters */
        LA_RANK_META,      /* core/meta.c: the metadata allocator */
        LA_RANK_PROF_DUMP, /* prof/: one dump or reset at a time */
        LA_RANK_PROF,      /* prof/: the profiler's tables */
        LA_RANK_N
};

#endif
