// SPDX-License-Identifier: BSD-2-Clause
/*
 * prof_cxx: the C++ workload of tests/prof/run.sh.  app::Cache::fill keeps 8 MiB live in
 * 1,024 blocks of 8 KiB from operator new[], then the program dumps a heap profile with
 * mallctl("prof.dump") (found at run time, as in prof_sites.c).  Readers must cut the
 * operator new frames and show the demangled name.
 *
 *   prof_cxx OUT.heap      exit status 0, or 1 with a message
 */
#include <dlfcn.h>

#include <cstdio>
#include <cstring>

namespace app {
struct Cache {
        char **slots = nullptr;
        __attribute__((noinline)) void reserve(int n) { slots = new char *[n]; }
        __attribute__((noinline)) void fill(int n)
        {
                for (int i = 0; i < n; i++) {
                        slots[i] = new char[8192];
                        std::memset(slots[i], 1, 64);
                }
        }
};
} // namespace app

typedef int (*mallctl_fn)(const char *, void *, size_t *, void *, size_t);

int main(int argc, char **argv)
{
        if (argc != 2) {
                std::fprintf(stderr, "usage: prof_cxx OUT.heap\n");
                return 2;
        }
        auto mallctl = reinterpret_cast<mallctl_fn>(dlsym(RTLD_DEFAULT, "mallctl"));
        if (mallctl == nullptr) {
                std::fprintf(stderr, "prof_cxx: no mallctl in this process\n");
                return 1;
        }
        static app::Cache cache;
        cache.reserve(1024);
        cache.fill(1024);
        const char *path = argv[1];
        int e = mallctl("prof.dump", nullptr, nullptr, &path, sizeof(path));
        if (e != 0) {
                std::fprintf(stderr, "prof_cxx: prof.dump: %s\n", std::strerror(e));
                return 1;
        }
        return 0;
}
