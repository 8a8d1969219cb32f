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

static int failures;

static void check(bool ok, const char *name)
{
        std::printf("%s: cxx_ops/%s\n", ok ? "PASS" : "FAIL", name);
        if (!ok)
                failures++;
}

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
        check(*one == 7, "new_delete_plain");
        delete one;

        Wide *w = new Wide;
        check(reinterpret_cast<std::uintptr_t>(w) % 256 == 0, "aligned_new_256");
        delete w;
        Wide *wa = new Wide[3];
        check(reinterpret_cast<std::uintptr_t>(wa) % 256 == 0, "aligned_new_array_256");
        delete[] wa;

        void *big = ::operator new(100, std::align_val_t(1 << 16));
        check(reinterpret_cast<std::uintptr_t>(big) % (1 << 16) == 0, "aligned_new_64k");
        ::operator delete(big, 100, std::align_val_t(1 << 16));

        void *sized = ::operator new(48);
        ::operator delete(sized, 48);
        check(true, "sized_delete");

        void *nt = ::operator new(SIZE_MAX / 2, std::nothrow);
        check(nt == nullptr, "nothrow_new_fails_with_nullptr");

        bool threw = false;
        try {
                void *p = ::operator new(SIZE_MAX / 2);
                ::operator delete(p);
        } catch (const std::bad_alloc &) {
                threw = true;
        }
        check(threw, "throwing_new_throws_bad_alloc");

        std::set_new_handler(counting_handler);
        threw = false;
        try {
                void *p = ::operator new[](SIZE_MAX / 2);
                ::operator delete[](p);
        } catch (const std::bad_alloc &) {
                threw = true;
        }
        check(threw && handler_calls == 1, "new_handler_called_then_bad_alloc");
        return failures != 0;
}
