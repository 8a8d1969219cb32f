/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Conformance of the MALLOC_CONF environment variable (malloc_conf.md §2-3).  The runner
 * starts this program with assorted MALLOC_CONF strings -- valid ones, whose values must
 * read back through opt.narenas / opt.dirty_decay_ms / opt.muzzy_decay_ms / opt.tcache
 * (EXPECT_* say which), and garbage ones (unknown keys, bad values, malformed keys, a
 * trailing comma, a key with no value), after which the program must still run correctly
 * with the defaults for the rejected pairs.  The jemalloc-style warnings on stderr are
 * checked by the runner.
 */
#define _GNU_SOURCE
#include <stdlib.h>

#include <jemalloc/jemalloc.h>

#include "impl.h"
#include "conf_common.h"

int main(void)
{
        impl_init();
        check_opts((struct opt_expect){NULL, NULL, NULL, NULL});
        run_workload();
        return check_finish();
}
