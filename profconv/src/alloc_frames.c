/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * alloc_frames: which frames belong to the allocator, for trimming stacks as jeprof does
 * (its RemoveUninterestingFrames): the public entry points by name, plus anything inside
 * liballoc's or jemalloc's own shared object (their internal frames may have no symbol).
 */
#include <string.h>

#include "pc/profconv.h"

static const char *const alloc_names[] = {
        "malloc",
        "calloc",
        "realloc",
        "free",
        "cfree",
        "memalign",
        "posix_memalign",
        "aligned_alloc",
        "valloc",
        "pvalloc",
        "reallocarray",
        "malloc_usable_size",
        "mallocx",
        "rallocx",
        "xallocx",
        "dallocx",
        "sdallocx",
        "sdallocx_noflags",
        "nallocx",
        "je_malloc",
        "je_calloc",
        "je_realloc",
        "je_free",
        "je_memalign",
        "je_posix_memalign",
        "je_aligned_alloc",
        "je_valloc",
        "je_pvalloc",
        "je_mallocx",
        "je_rallocx",
        "je_xallocx",
        "je_dallocx",
        "je_sdallocx",
        "__libc_malloc",
        "__libc_calloc",
        "__libc_realloc",
        "__libc_free",
        "__libc_memalign",
        "__libc_valloc",
        "__libc_pvalloc",
        "__posix_memalign",
        /* operator new / new[] and delete / delete[] (Itanium mangling, 64- and 32-bit
         * size_t); the aligned and nothrow variants are matched by prefix below. */
        "_Znwm",
        "_Znam",
        "_Znwj",
        "_Znaj",
        "_ZdlPv",
        "_ZdaPv",
};

static const char *const alloc_prefixes[] = {
        "_ZnwmSt",   "_ZnamSt",   "_ZnwmRKSt", "_ZnamRKSt", "_ZnwjSt",      "_ZnajSt",
        "_ZnwjRKSt", "_ZnajRKSt", "_ZdlPv",    "_ZdaPv",    "operator new", "operator delete",
};

bool pc_is_alloc_function(const char *name)
{
        if (name == NULL)
                return false;
        /* Symbol tables may carry a version: "malloc@@GLIBC_2.2.5" is malloc. */
        size_t len = strcspn(name, "@");
        for (size_t i = 0; i < sizeof(alloc_names) / sizeof(alloc_names[0]); i++)
                if (strlen(alloc_names[i]) == len && strncmp(name, alloc_names[i], len) == 0)
                        return true;
        for (size_t i = 0; i < sizeof(alloc_prefixes) / sizeof(alloc_prefixes[0]); i++) {
                size_t pl = strlen(alloc_prefixes[i]);
                if (pl <= len && strncmp(name, alloc_prefixes[i], pl) == 0)
                        return true;
        }
        return false;
}

bool pc_is_alloc_library(const char *path)
{
        if (path == NULL)
                return false;
        const char *base = strrchr(path, '/');
        base = base != NULL ? base + 1 : path;
        return strncmp(base, "liballoc.so", 11) == 0 || strncmp(base, "libjemalloc.so", 14) == 0;
}
