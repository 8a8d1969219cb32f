/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Conformance of the application-defined malloc_conf symbol (malloc_conf.md §1): this
 * program defines its own strong `const char *malloc_conf`, which the allocator must read at
 * initialisation, so opt.narenas reads 3 and opt.dirty_decay_ms 7000 while the options it
 * does not mention keep their defaults.  The runner also runs it with MALLOC_CONF set (and
 * EXPECT_* telling what to expect) to check that the environment variable is applied after
 * the global, key by key.  A workload then shows the allocator works with that setting.
 */
#define _GNU_SOURCE
#include <stdlib.h>

#include <jemalloc/jemalloc.h>

#include "impl.h"
#include "conf_common.h"

const char *malloc_conf = "narenas:3,dirty_decay_ms:7000";

int main(void)
{
        impl_init();
        check_opts((struct opt_expect){"3", "7000", "0", "true"});

        /* The main thread of a 3-arena process is bound to one of the automatic arenas. */
        unsigned ta = 0, narenas = 0;
        size_t len = sizeof(ta);
        int r = mallctl("thread.arena", &ta, &len, NULL, 0);
        len = sizeof(narenas);
        mallctl("opt.narenas", &narenas, &len, NULL, 0);
        CHECKF("thread_arena_automatic", r == 0 && ta < narenas,
               "r=%d thread.arena %u opt.narenas %u", r, ta, narenas);

        run_workload();
        return check_finish();
}
