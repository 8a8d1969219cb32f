/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * prof_bt: the backtraces of heap profiling.  libunwind is loaded with dlopen(RTLD_LOCAL)
 * the first time one is taken; liballoc's own frames are left out and every backtrace
 * starts at malloc's address, which jeprof and pprof recognise as the allocator.
 */
#include <dlfcn.h>
#include <elf.h>
#include <execinfo.h>
#include <link.h>
#include <stdatomic.h>
#include <stdint.h>
#include <ucontext.h>

#include "core/heap.h"
#include "prof/prof.h"
#include "prof/prof_data.h"
#include "core/thread.h"

static la_prof_bt_hook_t bt_hook; /* experimental.hooks.prof_backtrace */

/* liballoc's own code, whose frames a backtrace leaves out. */
static uintptr_t text_lo, text_hi;

#ifdef LA_SHARED_BUILD
extern const ElfW(Ehdr) __ehdr_start __attribute__((visibility("hidden")));

static void find_own_text(void)
{
        const ElfW(Ehdr) *eh = &__ehdr_start;
        const ElfW(Phdr) *ph = (const ElfW(Phdr) *)((const char *)eh + eh->e_phoff);
        uintptr_t base = 0;
        bool have_base = false;
        for (unsigned i = 0; i < eh->e_phnum; i++) {
                if (ph[i].p_type != PT_LOAD)
                        continue;
                if (!have_base) {
                        base = (uintptr_t)eh - (ph[i].p_vaddr - ph[i].p_offset);
                        have_base = true;
                }
                if ((ph[i].p_flags & PF_X) != 0) {
                        text_lo = base + ph[i].p_vaddr;
                        text_hi = text_lo + ph[i].p_memsz;
                }
        }
}
#else
static void find_own_text(void)
{
        /* Linked into a program: its text and ours cannot be told apart; keep all. */
}
#endif

/* The unwinder: libunwind's unw_backtrace, loaded the first time a backtrace is taken,
 * with RTLD_LOCAL.  Linking it instead would put its _Unwind_* functions (it exports the
 * whole C++ exception ABI) ahead of libgcc's in every process that preloads liballoc.
 * Without libunwind, glibc's backtrace() (libgcc's unwinder) does the job. */
typedef int (*unw_bt_fn)(void **, int);
static _Atomic(unw_bt_fn) unw_bt;
static _Atomic int unw_state; /* 0 not tried, 1 libunwind, 2 glibc's backtrace */

/* libunwind's stepping interface, for the loop below (its unw_backtrace keeps a cache per
 * thread, mapped and unmapped with each thread, which made a thread's first sample cost
 * as much as a short thread's whole life).  Opaque sizes from libunwind.h (x86-64). */
typedef struct {
        uint64_t w[127];
} unw_cursor_buf;
static int (*unw_getcontext_fn)(ucontext_t *);
static int (*unw_init_fn)(unw_cursor_buf *, ucontext_t *);
static int (*unw_step_fn)(unw_cursor_buf *);
static int (*unw_get_reg_fn)(unw_cursor_buf *, int, uint64_t *);

static int step_loop(void **buf, int max)
{
        ucontext_t uc;
        unw_cursor_buf cur;
        if (unw_getcontext_fn(&uc) != 0 || unw_init_fn(&cur, &uc) != 0)
                return 0;
        int n = 0;
        while (n < max && unw_step_fn(&cur) > 0) {
                uint64_t ip;
                if (unw_get_reg_fn(&cur, 16 /* UNW_REG_IP */, &ip) != 0 || ip == 0)
                        break;
                buf[n++] = (void *)(uintptr_t)ip;
        }
        return n;
}

static __thread uint32_t tls_unwinds __attribute__((tls_model("initial-exec")));

static int unwind(void **buf, int max)
{
        int st = atomic_load_explicit(&unw_state, memory_order_acquire);
        /* A thread's first few backtraces step frame by frame (the decoded rules are cached
         * for the whole process); from then on unw_backtrace, whose per-thread cache of
         * frames is worth creating for a thread that keeps sampling. */
        if (st == 1 && tls_unwinds < 8 && unw_step_fn != NULL && unw_init_fn != NULL &&
            unw_getcontext_fn != NULL && unw_get_reg_fn != NULL) {
                tls_unwinds++;
                return step_loop(buf, max);
        }
        if (LA_UNLIKELY(st == 0)) {
                void *lib = dlopen("libunwind.so.8", RTLD_NOW | RTLD_LOCAL);
                unw_bt_fn f = lib != NULL ? (unw_bt_fn)dlsym(lib, "unw_backtrace") : NULL;
                /* One cache of decoded unwind rules for the process instead of one per
                 * thread: a thread's first backtrace then costs a lookup, not a parse
                 * (threads that live for a few allocations are common). */
                int (*policy)(void *, int) =
                        lib != NULL ? (int (*)(void *, int))dlsym(lib, "_ULx86_64_set_caching_policy")
                                    : NULL;
                void **as = lib != NULL ? dlsym(lib, "_ULx86_64_local_addr_space") : NULL;
                if (policy != NULL && as != NULL)
                        policy(*as, 1 /* UNW_CACHE_GLOBAL */);
#if defined(__x86_64__) /* the cursor size and register number below are x86-64's */
                if (lib != NULL) {
                        unw_getcontext_fn = (int (*)(ucontext_t *))dlsym(lib, "_Ux86_64_getcontext");
                        unw_init_fn = (int (*)(unw_cursor_buf *, ucontext_t *))dlsym(lib, "_ULx86_64_init_local");
                        unw_get_reg_fn = (int (*)(unw_cursor_buf *, int, uint64_t *))dlsym(lib, "_ULx86_64_get_reg");
                        unw_step_fn = (int (*)(unw_cursor_buf *))dlsym(lib, "_ULx86_64_step");
                }
#endif
                if (f != NULL)
                        atomic_store_explicit(&unw_bt, f, memory_order_relaxed);
                st = f != NULL ? 1 : 2;
                atomic_store_explicit(&unw_state, st, memory_order_release);
        }
        if (st == 1)
                return atomic_load_explicit(&unw_bt, memory_order_relaxed)(buf, max);
        return backtrace(buf, max);
}

bool la_prof_uses_libunwind(void)
{
        return atomic_load(&unw_state) != 2;
}

/* The innermost frame of every backtrace: malloc's address, so that jeprof and pprof
 * recognise (and drop) the allocator as they do for jemalloc. */
extern void *la_api_malloc_addr(void);

unsigned la_prof_capture(uintptr_t *out)
{
        void *buf[LA_PROF_BT_MAX + 32];
        int n = 0;
        la_prof_aside_t aside = la_prof_aside_begin(); /* what the unwinder allocates */
        la_prof_bt_hook_t hook = __atomic_load_n(&bt_hook, __ATOMIC_ACQUIRE);
        if (hook != NULL) {
                unsigned len = 0;
                hook(buf, &len, LA_PROF_BT_MAX + 32);
                n = (int)(len > LA_PROF_BT_MAX + 32 ? LA_PROF_BT_MAX + 32 : len);
        } else {
                n = unwind(buf, LA_PROF_BT_MAX + 32);
        }
        la_prof_aside_end(aside);
        int i = 0;
        while (i < n && (uintptr_t)buf[i] >= text_lo && (uintptr_t)buf[i] < text_hi)
                i++;
        unsigned k = 0;
        out[k++] = (uintptr_t)la_api_malloc_addr();
        for (; i < n && k < LA_PROF_BT_MAX; i++)
                out[k++] = (uintptr_t)buf[i];
        return k;
}

static _Atomic bool warmed;

void la_prof_bt_warm(void)
{
        if (atomic_exchange(&warmed, true))
                return;
        find_own_text();
        /* Loading the unwinder (dlopen) waits for the first backtrace: this may run inside
         * liballoc's start-up (prof:true), where the loader may be busy with us. */
}

la_prof_bt_hook_t la_prof_bt_hook_get(void)
{
        return __atomic_load_n(&bt_hook, __ATOMIC_ACQUIRE);
}

void la_prof_bt_hook_set(la_prof_bt_hook_t hook)
{
        __atomic_store_n(&bt_hook, hook, __ATOMIC_RELEASE);
}
