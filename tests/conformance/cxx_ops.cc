// SPDX-License-Identifier: BSD-2-Clause
/*
 * C++ allocation operators, as the allocator exports them: every form of new/delete
 * works, aligned new honours the alignment, a failing throwing new calls the installed
 * new_handler and then throws std::bad_alloc, nothrow new returns nullptr.  Run against
 * liballoc and against Debian's jemalloc like the C conformance programs.
 */
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <new>

#include "../common/check.h"

struct alignas(256) Wide {
        char bytes[300];
};

static int handler_calls;
static void counting_handler()
{
        handler_calls++;
        std::set_new_handler(nullptr); /* next failure throws */
}

int main()
{
        int *a = new int[1000];
        std::memset(a, 1, 1000 * sizeof(int));
        delete[] a;
        int *one = new int(7);
        CHECK("cxx_ops/new_delete_plain", *one == 7);
        delete one;

        Wide *w = new Wide;
        CHECK("cxx_ops/aligned_new_256", reinterpret_cast<std::uintptr_t>(w) % 256 == 0);
        delete w;
        Wide *wa = new Wide[3];
        CHECK("cxx_ops/aligned_new_array_256", reinterpret_cast<std::uintptr_t>(wa) % 256 == 0);
        delete[] wa;

        void *big = ::operator new(100, std::align_val_t(1 << 16));
        CHECK("cxx_ops/aligned_new_64k", reinterpret_cast<std::uintptr_t>(big) % (1 << 16) == 0);
        ::operator delete(big, 100, std::align_val_t(1 << 16));

        void *sized = ::operator new(48);
        ::operator delete(sized, 48);
        CHECK("cxx_ops/sized_delete", true);

        void *nt = ::operator new(SIZE_MAX / 2, std::nothrow);
        CHECK("cxx_ops/nothrow_new_fails_with_nullptr", nt == nullptr);

        bool threw = false;
        try {
                void *p = ::operator new(SIZE_MAX / 2);
                ::operator delete(p);
        } catch (const std::bad_alloc &) {
                threw = true;
        }
        CHECK("cxx_ops/throwing_new_throws_bad_alloc", threw);

        std::set_new_handler(counting_handler);
        threw = false;
        try {
                void *p = ::operator new[](SIZE_MAX / 2);
                ::operator delete[](p);
        } catch (const std::bad_alloc &) {
                threw = true;
        }
        CHECK("cxx_ops/new_handler_called_then_bad_alloc", threw && handler_calls == 1);
        return check_finish();
}
