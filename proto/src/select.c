/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * select: which processes a selector names (jemctl --comm / --unit, jemctld's
 * /api/v1/select).  One rule for both, so the daemon's answer and jemctl's own scan agree.
 */
#include <string.h>

#include "jp/proto.h"

bool jp_comm_matches(const char *comm, const char *want)
{
        /* The kernel keeps 15 bytes of a name: a longer selector matches its first 15. */
        return comm != NULL && strncmp(comm, want, JP_COMM_MAX) == 0 &&
               (strlen(comm) < JP_COMM_MAX || strlen(want) >= JP_COMM_MAX);
}

bool jp_unit_matches(const char *cgroup, const char *unit)
{
        if (cgroup == NULL)
                return false;
        size_t ul = strlen(unit);
        /* "redis-server" means "redis-server.service", as systemctl reads it. */
        bool bare = strchr(unit, '.') == NULL;
        for (const char *c = cgroup; *c != '\0';) {
                c += strspn(c, "/");
                size_t l = strcspn(c, "/");
                if (l == ul && memcmp(c, unit, l) == 0)
                        return true;
                if (bare && l == ul + 8 && memcmp(c, unit, ul) == 0 &&
                    memcmp(c + ul, ".service", 8) == 0)
                        return true;
                c += l;
        }
        return false;
}
