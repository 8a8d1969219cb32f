/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * os: the only module that talks to the kernel about memory (mmap, munmap, madvise,
 * mremap), plus the few facts liballoc reads from the system (CPU count, clock).
 * Failure injection and portability live here.  Nothing here allocates.
 */
#ifndef LA_OS_H
#define LA_OS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define LA_LG_PAGE 12
#define LA_PAGE ((size_t)1 << LA_LG_PAGE)

/* Maps size bytes (page multiple) aligned to align (power of two >= page), read-write,
 * zero-filled.  Returns NULL on failure (errno from mmap). */
void *la_os_map(size_t size, size_t align);
void la_os_unmap(void *addr, size_t size);
/* Pages read back as zero afterwards (MADV_DONTNEED).  Returns 0 or -errno. */
int la_os_purge_forced(void *addr, size_t size);
/* Pages may be reclaimed lazily (MADV_FREE, else DONTNEED).  Returns 0 or -errno. */
int la_os_purge_lazy(void *addr, size_t size);
/* Grows or moves a standalone mapping (mremap MAYMOVE); NULL on failure. */
void *la_os_remap(void *addr, size_t old_size, size_t new_size);
/* Grows a standalone mapping without moving it; false if the space after it is taken. */
bool la_os_extend(void *addr, size_t old_size, size_t new_size);
/* Shrinks a standalone mapping in place. */
void la_os_trim(void *addr, size_t old_size, size_t new_size);
/* Makes pages inaccessible (a guard: any access faults) or accessible again; false when
 * the kernel refused (out of memory maps). */
bool la_os_guard(void *addr, size_t size, bool on);
/* Bytes currently mapped through la_os_map/remap/extend, and a hook told the new total
 * each time it grows (heap profiling's gdump; it must not allocate or lock). */
size_t la_os_mapped_bytes(void);
extern void (*la_os_map_hook)(size_t mapped_bytes);
unsigned la_os_ncpus(void);
/* pthread_atfork, registered directly with glibc (os.c says why). */
int la_os_atfork(void (*prepare)(void), void (*parent)(void), void (*child)(void));
uint64_t la_os_now_ns(void);
/* Monotonic time at the kernel tick's resolution (1-10 ms; a quarter of the cost of
 * la_os_now_ns in the vDSO): the clock of decay's bookkeeping (arena.c, hcache.c, bg.c),
 * which runs on large allocations and frees and counts in 50 ms epochs by default. */
uint64_t la_os_coarse_ns(void);
/* Resident pages of the process, from /proc/self/statm (0 if unreadable). */
size_t la_os_rss_bytes(void);
/* 64 unpredictable bits: getrandom, mixed with the kernel's AT_RANDOM bytes and the
 * clock (so it never fails and never allocates, even before libc is fully up). */
uint64_t la_os_random64(void);

#endif
