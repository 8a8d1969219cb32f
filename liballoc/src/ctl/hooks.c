/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * hooks: the extent hook table that arena.<i>.extent_hooks reads back.  liballoc does not
 * route its own mappings through hooks (custom hooks are refused, docs/mallctl.md), but
 * the table is real: programs that wrap the default hooks call working functions.
 */
#include "ctl/hooks.h"

#include <sys/mman.h>

#include "os/os.h"

static void *hook_alloc(extent_hooks_t *h, void *new_addr, size_t size, size_t alignment,
                        bool *zero, bool *commit, unsigned arena_ind)
{
        (void)h, (void)arena_ind;
        if (new_addr != NULL || size == 0)
                return NULL; /* no placement at a given address */
        void *p = la_os_map(size, alignment > LA_PAGE ? alignment : LA_PAGE);
        if (p != NULL) {
                *zero = true;
                *commit = true;
        }
        return p;
}

static bool hook_dalloc(extent_hooks_t *h, void *addr, size_t size, bool committed,
                        unsigned arena_ind)
{
        (void)h, (void)committed, (void)arena_ind;
        la_os_unmap(addr, size);
        return false;
}

static void hook_destroy(extent_hooks_t *h, void *addr, size_t size, bool committed,
                         unsigned arena_ind)
{
        (void)h, (void)committed, (void)arena_ind;
        la_os_unmap(addr, size);
}

static bool hook_commit(extent_hooks_t *h, void *addr, size_t size, size_t offset,
                        size_t length, unsigned arena_ind)
{
        (void)h, (void)addr, (void)size, (void)offset, (void)length, (void)arena_ind;
        return false; /* mappings are always committed */
}

static bool hook_decommit(extent_hooks_t *h, void *addr, size_t size, size_t offset,
                          size_t length, unsigned arena_ind)
{
        (void)h, (void)addr, (void)size, (void)offset, (void)length, (void)arena_ind;
        return true; /* opt out, as jemalloc does on Linux with overcommit */
}

static bool hook_purge(extent_hooks_t *h, void *addr, size_t size, size_t offset,
                       size_t length, unsigned arena_ind, int advice)
{
        (void)h, (void)size, (void)arena_ind;
        return madvise((char *)addr + offset, length, advice) != 0;
}

static bool hook_purge_lazy(extent_hooks_t *h, void *addr, size_t size, size_t offset,
                            size_t length, unsigned arena_ind)
{
        return hook_purge(h, addr, size, offset, length, arena_ind, MADV_FREE);
}

static bool hook_purge_forced(extent_hooks_t *h, void *addr, size_t size, size_t offset,
                              size_t length, unsigned arena_ind)
{
        return hook_purge(h, addr, size, offset, length, arena_ind, MADV_DONTNEED);
}

static bool hook_split(extent_hooks_t *h, void *addr, size_t size, size_t size_a,
                       size_t size_b, bool committed, unsigned arena_ind)
{
        (void)h, (void)addr, (void)size, (void)size_a, (void)size_b, (void)committed,
                (void)arena_ind;
        return false; /* plain mappings split anywhere */
}

static bool hook_merge(extent_hooks_t *h, void *addr_a, size_t size_a, void *addr_b,
                       size_t size_b, bool committed, unsigned arena_ind)
{
        (void)h, (void)size_b, (void)committed, (void)arena_ind;
        return (char *)addr_a + size_a != (char *)addr_b; /* only neighbours merge */
}

extent_hooks_t la_default_hooks = {
        hook_alloc,        hook_dalloc,       hook_destroy, hook_commit, hook_decommit,
        hook_purge_lazy,   hook_purge_forced, hook_split,   hook_merge,
};
