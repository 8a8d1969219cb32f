/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * upcalls: the core's table of what the layers above registered (upcalls.h).
 */
#include "core/upcalls.h"

static bool no_flag[LA_DEFER_N]; /* what the deferred slots point to until registered */

la_upcalls_t la_up = {
        .deferred = {{&no_flag[LA_DEFER_SERVICE], NULL}, {&no_flag[LA_DEFER_DIR], NULL}},
};

_Atomic uint32_t la_prof_gen;
_Atomic bool la_prof_active;
_Atomic bool la_prof_dump_pending;
unsigned la_pressure_gen;

void la_deferred_run(void)
{
        for (unsigned i = 0; i < LA_DEFER_N; i++) {
                const la_deferred_t *d = &la_up.deferred[i];
                if (LA_UNLIKELY(__atomic_load_n(d->pending, __ATOMIC_RELAXED))) {
                        if (d->run != NULL)
                                d->run();
                        return;
                }
        }
}
