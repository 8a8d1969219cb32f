/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The part of jemctld's manager that a module under test (history.c, policy.c) sees
 * without the real one: which processes are visible, and the one observer the module
 * subscribes, which the test then tells of a process leaving (observer->gone).  Included
 * once by a unit test, after jemctld's manager.h.
 */
#ifndef STUB_OBSERVER_H
#define STUB_OBSERVER_H

bool jd_proc_visible(const jd_proc_t *p)
{
        return !p->untrusted;
}

static jd_observer_t *observer; /* the module's */

void jd_manager_subscribe(jd_manager_t *m, jd_observer_t *o)
{
        (void)m;
        observer = o;
}

void jd_manager_unsubscribe(jd_manager_t *m, jd_observer_t *o)
{
        (void)m, (void)o;
        observer = NULL;
}

#endif
