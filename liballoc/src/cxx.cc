/*
 * cxx: the C++ allocation operators jemalloc exports, so C++ programs get liballoc for
 * new/delete too.  Throwing forms run the new_handler loop and throw std::bad_alloc;
 * nothrow forms return nullptr; sized and aligned deletes map onto sdallocx/dallocx.
 */
#include <cstddef>
#include <cstdlib>
#include <new>

extern "C" {
void *mallocx(size_t size, int flags);
void dallocx(void *p, int flags);
void sdallocx(void *p, size_t size, int flags);
void *malloc(size_t size) noexcept;
void free(void *p) noexcept;
}

#define LA_CXX_EXPORT __attribute__((visibility("default")))

static int align_flags(std::align_val_t al)
{
        size_t a = static_cast<size_t>(al);
        return __builtin_ctzl(a); /* MALLOCX_LG_ALIGN */
}

template <bool Throws>
static void *alloc_loop(size_t size, int flags)
{
        if (size == 0)
                size = 1;
        for (;;) {
                void *p = flags != 0 ? mallocx(size, flags) : malloc(size);
                if (p != nullptr)
                        return p;
                std::new_handler handler = std::get_new_handler();
                if (handler == nullptr) {
                        if (Throws)
                                throw std::bad_alloc();
                        return nullptr;
                }
                if (Throws) {
                        handler();
                } else {
                        try {
                                handler();
                        } catch (...) {
                                return nullptr;
                        }
                }
        }
}

LA_CXX_EXPORT void *operator new(size_t size)
{
        return alloc_loop<true>(size, 0);
}
LA_CXX_EXPORT void *operator new[](size_t size)
{
        return alloc_loop<true>(size, 0);
}
LA_CXX_EXPORT void *operator new(size_t size, const std::nothrow_t &) noexcept
{
        return alloc_loop<false>(size, 0);
}
LA_CXX_EXPORT void *operator new[](size_t size, const std::nothrow_t &) noexcept
{
        return alloc_loop<false>(size, 0);
}
LA_CXX_EXPORT void *operator new(size_t size, std::align_val_t al)
{
        return alloc_loop<true>(size, align_flags(al));
}
LA_CXX_EXPORT void *operator new[](size_t size, std::align_val_t al)
{
        return alloc_loop<true>(size, align_flags(al));
}
LA_CXX_EXPORT void *operator new(size_t size, std::align_val_t al,
                                 const std::nothrow_t &) noexcept
{
        return alloc_loop<false>(size, align_flags(al));
}
LA_CXX_EXPORT void *operator new[](size_t size, std::align_val_t al,
                                   const std::nothrow_t &) noexcept
{
        return alloc_loop<false>(size, align_flags(al));
}

LA_CXX_EXPORT void operator delete(void *p) noexcept
{
        free(p);
}
LA_CXX_EXPORT void operator delete[](void *p) noexcept
{
        free(p);
}
LA_CXX_EXPORT void operator delete(void *p, const std::nothrow_t &) noexcept
{
        free(p);
}
LA_CXX_EXPORT void operator delete[](void *p, const std::nothrow_t &) noexcept
{
        free(p);
}
LA_CXX_EXPORT void operator delete(void *p, size_t size) noexcept
{
        if (p != nullptr)
                sdallocx(p, size, 0);
}
LA_CXX_EXPORT void operator delete[](void *p, size_t size) noexcept
{
        if (p != nullptr)
                sdallocx(p, size, 0);
}
LA_CXX_EXPORT void operator delete(void *p, std::align_val_t al) noexcept
{
        if (p != nullptr)
                dallocx(p, align_flags(al));
}
LA_CXX_EXPORT void operator delete[](void *p, std::align_val_t al) noexcept
{
        if (p != nullptr)
                dallocx(p, align_flags(al));
}
LA_CXX_EXPORT void operator delete(void *p, std::align_val_t al, const std::nothrow_t &) noexcept
{
        if (p != nullptr)
                dallocx(p, align_flags(al));
}
LA_CXX_EXPORT void operator delete[](void *p, std::align_val_t al,
                                     const std::nothrow_t &) noexcept
{
        if (p != nullptr)
                dallocx(p, align_flags(al));
}
LA_CXX_EXPORT void operator delete(void *p, size_t size, std::align_val_t al) noexcept
{
        if (p != nullptr)
                sdallocx(p, size, align_flags(al));
}
LA_CXX_EXPORT void operator delete[](void *p, size_t size, std::align_val_t al) noexcept
{
        if (p != nullptr)
                sdallocx(p, size, align_flags(al));
}
