/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * cxx: the C++ allocation operators jemalloc exports (operator new/delete in every form:
 * plain, nothrow, sized, aligned), written in C under their mangled names so that
 * liballoc.so does not depend on libstdc++: loading libstdc++ into a C program costs
 * about 1.3 MiB of RSS.  The C++ runtime's std::get_new_handler and std::__throw_bad_alloc
 * are weak references, resolved when the process has libstdc++ (every C++ program does).
 * Compiled with -fexceptions so exceptions thrown by a new_handler, or std::bad_alloc,
 * unwind through these frames.
 *
 * Known limit: a nothrow operator new whose new_handler throws cannot catch the exception
 * here (C has no catch); it propagates.  libstdc++'s own nothrow new would return NULL.
 */
#include <stdbool.h>
#include <stddef.h>

#include "os/util.h"

void *malloc(size_t size);
void free(void *p);
void *mallocx(size_t size, int flags);
void dallocx(void *p, int flags);
void sdallocx(void *p, size_t size, int flags);

typedef void (*new_handler_t)(void);
extern new_handler_t _ZSt15get_new_handlerv(void) __attribute__((weak));
extern void _ZSt17__throw_bad_allocv(void) __attribute__((weak, noreturn));

static int align_flags(size_t align)
{
        return __builtin_ctzl(align); /* MALLOCX_LG_ALIGN */
}

static void *new_loop(size_t size, int flags, bool nothrow)
{
        if (size == 0)
                size = 1;
        for (;;) {
                void *p = flags != 0 ? mallocx(size, flags) : malloc(size);
                if (LA_LIKELY(p != NULL))
                        return p;
                new_handler_t handler = _ZSt15get_new_handlerv != NULL ? _ZSt15get_new_handlerv()
                                                                        : NULL;
                if (handler == NULL) {
                        if (nothrow)
                                return NULL;
                        if (_ZSt17__throw_bad_allocv != NULL)
                                _ZSt17__throw_bad_allocv();
                        la_fatal("operator new: out of memory, and no C++ runtime to throw "
                                 "std::bad_alloc");
                }
                handler();
        }
}

/* operator new / new[] */
LA_EXPORT void *_Znwm(size_t size)
{
        return new_loop(size, 0, false);
}
LA_EXPORT void *_Znam(size_t size)
{
        return new_loop(size, 0, false);
}
LA_EXPORT void *_ZnwmRKSt9nothrow_t(size_t size, const void *tag)
{
        (void)tag;
        return new_loop(size, 0, true);
}
LA_EXPORT void *_ZnamRKSt9nothrow_t(size_t size, const void *tag)
{
        (void)tag;
        return new_loop(size, 0, true);
}
LA_EXPORT void *_ZnwmSt11align_val_t(size_t size, size_t align)
{
        return new_loop(size, align_flags(align), false);
}
LA_EXPORT void *_ZnamSt11align_val_t(size_t size, size_t align)
{
        return new_loop(size, align_flags(align), false);
}
LA_EXPORT void *_ZnwmSt11align_val_tRKSt9nothrow_t(size_t size, size_t align, const void *tag)
{
        (void)tag;
        return new_loop(size, align_flags(align), true);
}
LA_EXPORT void *_ZnamSt11align_val_tRKSt9nothrow_t(size_t size, size_t align, const void *tag)
{
        (void)tag;
        return new_loop(size, align_flags(align), true);
}

/* operator delete / delete[] */
LA_EXPORT void _ZdlPv(void *p)
{
        free(p);
}
LA_EXPORT void _ZdaPv(void *p)
{
        free(p);
}
LA_EXPORT void _ZdlPvRKSt9nothrow_t(void *p, const void *tag)
{
        (void)tag;
        free(p);
}
LA_EXPORT void _ZdaPvRKSt9nothrow_t(void *p, const void *tag)
{
        (void)tag;
        free(p);
}
LA_EXPORT void _ZdlPvm(void *p, size_t size)
{
        if (p != NULL)
                sdallocx(p, size, 0);
}
LA_EXPORT void _ZdaPvm(void *p, size_t size)
{
        if (p != NULL)
                sdallocx(p, size, 0);
}
LA_EXPORT void _ZdlPvSt11align_val_t(void *p, size_t align)
{
        if (p != NULL)
                dallocx(p, align_flags(align));
}
LA_EXPORT void _ZdaPvSt11align_val_t(void *p, size_t align)
{
        if (p != NULL)
                dallocx(p, align_flags(align));
}
LA_EXPORT void _ZdlPvSt11align_val_tRKSt9nothrow_t(void *p, size_t align, const void *tag)
{
        (void)tag;
        if (p != NULL)
                dallocx(p, align_flags(align));
}
LA_EXPORT void _ZdaPvSt11align_val_tRKSt9nothrow_t(void *p, size_t align, const void *tag)
{
        (void)tag;
        if (p != NULL)
                dallocx(p, align_flags(align));
}
LA_EXPORT void _ZdlPvmSt11align_val_t(void *p, size_t size, size_t align)
{
        if (p != NULL)
                sdallocx(p, size, align_flags(align));
}
LA_EXPORT void _ZdaPvmSt11align_val_t(void *p, size_t size, size_t align)
{
        if (p != NULL)
                sdallocx(p, size, align_flags(align));
}
