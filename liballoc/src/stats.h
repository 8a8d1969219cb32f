/*
 * stats: the figures behind stats.* and malloc_stats_print.  Hot counters live in heaps
 * and arenas; an epoch refresh folds them into one snapshot that readers see.
 */
#ifndef LA_STATS_H
#define LA_STATS_H

#include <stddef.h>
#include <stdint.h>

typedef struct la_stats_snapshot {
        size_t allocated, active, metadata, resident, mapped, retained;
        uint64_t zero_reallocs;
} la_stats_snapshot_t;

/* Refreshes the snapshot (epoch write); returns the new epoch. */
uint64_t la_stats_refresh(void);
uint64_t la_stats_epoch(void);
const la_stats_snapshot_t *la_stats_get(void);
void la_stats_zero_realloc(void);
void la_stats_postfork_child(void);
void la_stats_print(void (*write_cb)(void *, const char *), void *cbopaque, const char *opts);

#endif
