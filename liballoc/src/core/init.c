/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * init: the once-only start-up.  Phase one (size classes, options, arenas) calls nothing
 * that allocates.  Phase two registers the pthread key and the fork handlers, which may
 * call malloc: by then liballoc is ready and the initialising thread is marked busy, so
 * those calls take the arena's shared heap.
 */
#include "core/init.h"

#include <sched.h>
#include <string.h>

#include "core/arena.h"
#include "core/conf.h"
#include "core/heap.h"
#include "core/meta.h"
#include "os/os.h"
#include "core/sizeclass.h"
#include "core/thread.h"
#include "core/upcalls.h"

void la_arenas_boot(void);

_Atomic int la_init_state;
static __thread bool tls_initializing __attribute__((tls_model("initial-exec")));

#define BOOT_BUF_SIZE ((size_t)64 << 10)
static _Alignas(4096) char boot_buf[BOOT_BUF_SIZE];
static _Atomic size_t boot_used;

void *la_boot_alloc(size_t size)
{
        size_t need = la_align_up(size + 16, 16);
        size_t off = atomic_fetch_add(&boot_used, need);
        if (need < size || off + need > BOOT_BUF_SIZE)
                return NULL;
        char *p = boot_buf + off;
        *(size_t *)p = size;
        return p + 16;
}

bool la_boot_owns(const void *p)
{
        return (const char *)p >= boot_buf && (const char *)p < boot_buf + BOOT_BUF_SIZE;
}

size_t la_boot_usable(const void *p)
{
        return *(const size_t *)((const char *)p - 16);
}

bool la_init_slow(void)
{
        int state = atomic_load_explicit(&la_init_state, memory_order_acquire);
        if (state == 2)
                return true;
        int expected = 0;
        if (atomic_compare_exchange_strong(&la_init_state, &expected, 1)) {
                tls_initializing = true;
                la_fl_key_init(); /* before any block is carved */
                la_sizeclass_init();
                /* The empty heap's class table: harmless before (every class is empty). */
                memcpy(la_empty_heap.size2cls, la_size2cls_tab, sizeof(la_empty_heap.size2cls));
                la_meta_init();
                la_conf_init(la_os_ncpus());
                if (la_opt.hardened) {
                        /* Canaries: the classes change before any heap or slab exists. */
                        la_sizeclass_harden();
                        memcpy(la_empty_heap.size2cls, la_size2cls_tab,
                               sizeof(la_empty_heap.size2cls));
                }
                la_arenas_boot();
                if (la_arena_get(0, true) == NULL)
                        la_fatal("cannot map the first arena");
                uint8_t saved = la_tls_state;
                la_tls_state = LA_THREAD_BUSY;
                atomic_store_explicit(&la_init_state, 2, memory_order_release);
                tls_initializing = false;
                la_layers_init(); /* the layers above register (upcalls.h) */
                la_thread_boot();
                if (la_up.boot_early != NULL)
                        la_up.boot_early();
                la_tls_state = saved;
                if (la_up.boot_late != NULL)
                        la_up.boot_late();
                return true;
        }
        if (tls_initializing)
                return false;
        while (atomic_load_explicit(&la_init_state, memory_order_acquire) != 2)
                sched_yield();
        return true;
}

__attribute__((constructor(101))) static void la_ctor(void)
{
        la_init_slow();
}

/* The shared library's DT_FINI (liballoc/meson.build links with -fini=la_fini): it has no
 * work at unload (its destructors, if any, are in .fini_array).  The linker's default,
 * the C runtime's _fini (crti.o/crtn.o, an empty prologue and epilogue), sits after all
 * of the library's code, so calling it at exit would map the last 64 KiB of code into
 * every process (docs/architecture.md, "Code layout"). */
void la_fini(void);
void la_fini(void)
{
}
