/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * connect: jemctld's connections to control sockets.  Every connection, the polls' and
 * the operations', goes through jcl_connect: the socket file is never followed through a
 * link, its listener must be the pid of its name, of the uid owning the file, of a uid
 * the process runs as, and still alive (docs/security.md).
 */
#include <string.h>

#include "connect.h"
#include "manager.h"

_Static_assert(sizeof(((jd_proc_t *)0)->sock) == JCL_NAME_MAX, "jd_proc_t.sock");

int jd_connect_target(const char *dir, pid_t pid, const char *known, bool alts, char *name,
                      enum jcl_fail *fail, jcl_peer_t *peer)
{
        char names[JCL_ALT_MAX][JCL_NAME_MAX];
        size_t n;
        if (known != NULL && known[0] != '\0') {
                strncpy(names[0], known, JCL_NAME_MAX - 1);
                names[0][JCL_NAME_MAX - 1] = '\0';
                n = 1;
        } else if (alts) {
                n = jcl_sock_names(dir, pid, names);
        } else {
                n = jcl_sock_names(NULL, pid, names);
        }
        size_t i;
        int fd = jcl_connect_first(dir, names, n, pid, true, &i, fail, peer);
        if (fd >= 0)
                memcpy(name, names[i], JCL_NAME_MAX);
        return fd;
}
