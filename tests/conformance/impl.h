/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * impl: what the conformance programs share besides the harness (tests/common/check.h).
 *
 * The runner (run.sh) runs each program once against liballoc and once with Debian's
 * jemalloc preloaded and tells the program which one through CONF_IMPL=liballoc|jemalloc;
 * impl_is_jemalloc() answers that, for the few checks where liballoc deliberately differs
 * from jemalloc 5.3.0 (each says why where it checks).  impl_init() also verifies that malloc really resolves
 * into the library the runner claims, so a broken LD_PRELOAD cannot pass silently, and
 * makes the summary line start with the library's name.  The rest keeps the compiler from
 * reasoning about allocations (escape, opaque, launder) and fills and verifies patterns.
 */
#ifndef CONFORMANCE_IMPL_H
#define CONFORMANCE_IMPL_H

#include <dlfcn.h>
#include <sched.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../common/check.h"

static int impl_which; /* 0 = liballoc, 1 = jemalloc */

/*
 * Returns p through a volatile, so the compiler cannot reason about it from what it knows of
 * the allocation functions (alignment attributes, "malloc never fails", elided
 * malloc/free pairs): the checks must observe the library, not the optimiser.
 */
static inline void *escape(void *p)
{
        void *volatile v = p;
        return v;
}

static inline bool aligned_to(const void *p, size_t al)
{
        volatile uintptr_t a = (uintptr_t)p;
        return (a & (al - 1)) == 0;
}

/* True when the runner says this run is Debian's jemalloc (CONF_IMPL=jemalloc). */
static inline bool impl_is_jemalloc(void)
{
        return impl_which == 1;
}

static inline const char *impl_name(void)
{
        return impl_which == 1 ? "jemalloc" : "liballoc";
}

/*
 * Reads CONF_IMPL (liballoc or jemalloc; when unset, guessed from where malloc lives) and
 * checks that malloc resolves into that library: the file CONF_LIB names when the runner
 * sets it (compared by device and inode), else a library whose name says so.
 */
static inline void impl_init(void)
{
        const char *want = getenv("CONF_IMPL");
        const char *want_lib = getenv("CONF_LIB");
        void *sym = dlsym(RTLD_DEFAULT, "malloc");
        Dl_info info;
        const char *lib = NULL;
        bool ok;

        if (sym != NULL && dladdr(sym, &info) != 0)
                lib = info.dli_fname;
        if (want == NULL || want[0] == '\0')
                want = (lib != NULL && strstr(lib, "jemalloc") != NULL) ? "jemalloc" : "liballoc";
        impl_which = strcmp(want, "jemalloc") == 0 ? 1 : 0;
        if (lib == NULL) {
                ok = false;
        } else if (want_lib != NULL && want_lib[0] != '\0') {
                struct stat a, b;

                ok = stat(lib, &a) == 0 && stat(want_lib, &b) == 0 && a.st_dev == b.st_dev &&
                     a.st_ino == b.st_ino;
        } else {
                ok = strstr(lib, impl_which == 1 ? "jemalloc" : "liballoc") != NULL;
        }
        check_label = impl_name();
        CHECKF("harness/malloc_resolves_to_impl", ok,
               "CONF_IMPL=%s CONF_LIB=%s but malloc comes from %s", want,
               want_lib ? want_lib : "(unset)", lib ? lib : "(unknown)");
}

/* jemalloc's default opt.narenas: 4 per CPU the process may run on, 1 with one CPU. */
static inline unsigned default_narenas(void)
{
        cpu_set_t set;
        long n;

        CPU_ZERO(&set);
        if (sched_getaffinity(0, sizeof(set), &set) == 0)
                n = CPU_COUNT(&set);
        else
                n = sysconf(_SC_NPROCESSORS_ONLN);
        if (n <= 1)
                return 1;
        return n * 4 > 4094 ? 4094 : (unsigned)(n * 4);
}

/* Hides constants from the compiler so it neither warns about nor folds huge sizes. */
static inline size_t opaque(size_t x)
{
        volatile size_t v = x;
        return v;
}

/* Hides where a pointer came from, so the compiler does not judge accesses to the usable
 * size (beyond the request, or after a failed realloc) by the allocation functions'
 * attributes. */
static inline const void *launder(const void *p)
{
        const void *volatile v = p;
        return v;
}

/* Writes / checks a pattern derived from seed over n bytes. */
static inline void fill(void *p, size_t n, unsigned seed)
{
        unsigned char *c = (unsigned char *)launder(p);
        for (size_t i = 0; i < n; i++)
                c[i] = (unsigned char)(seed + i * 7 + (i >> 8));
}

static inline bool verify(const void *p, size_t n, unsigned seed)
{
        const unsigned char *c = (const unsigned char *)launder(p);
        for (size_t i = 0; i < n; i++)
                if (c[i] != (unsigned char)(seed + i * 7 + (i >> 8)))
                        return false;
        return true;
}

#endif /* CONFORMANCE_IMPL_H */
