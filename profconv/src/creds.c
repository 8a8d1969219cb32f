/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * creds: whose access the symbolizer opens files with (pc_creds_t): a process's file
 * system credentials from /proc/PID/status, or the caller's own, and the kernel's
 * owner/group/other rule applied to one inode for them.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "pc/profconv.h"

/* Up to 4 decimal ids after the key of a status line ("Uid:\t0\t0\t0\t0"); how many. */
static size_t parse_ids(const char *s, unsigned long *ids, size_t cap)
{
        size_t n = 0;
        while (n < cap) {
                while (*s == ' ' || *s == '\t')
                        s++;
                if (*s < '0' || *s > '9')
                        break;
                char *end;
                errno = 0;
                unsigned long v = strtoul(s, &end, 10);
                if (errno != 0 || v > 0xfffffffful)
                        break;
                ids[n++] = v;
                s = end;
        }
        return n;
}

int pc_creds_of_pid(int pid, pc_creds_t *ret)
{
        char path[64], line[4096];
        snprintf(path, sizeof(path), "/proc/%d/status", pid);
        FILE *f = fopen(path, "re");
        if (f == NULL)
                return -errno;
        pc_creds_t c;
        memset(&c, 0, sizeof(c));
        bool have_uid = false, have_gid = false, have_groups = false;
        while (fgets(line, sizeof(line), f) != NULL) {
                unsigned long ids[4];
                if (strncmp(line, "Uid:", 4) == 0 && parse_ids(line + 4, ids, 4) == 4) {
                        c.uid = (uid_t)ids[3]; /* the file system uid */
                        have_uid = true;
                } else if (strncmp(line, "Gid:", 4) == 0 && parse_ids(line + 4, ids, 4) == 4) {
                        c.gid = (gid_t)ids[3];
                        have_gid = true;
                } else if (strncmp(line, "Groups:", 7) == 0) {
                        /* Beyond PC_MAX_GROUPS the rest are dropped: fewer files, never
                         * more. */
                        const char *s = line + 7;
                        while (c.ngroups < PC_MAX_GROUPS) {
                                unsigned long g;
                                if (parse_ids(s, &g, 1) != 1)
                                        break;
                                c.groups[c.ngroups++] = (gid_t)g;
                                while (*s == ' ' || *s == '\t')
                                        s++;
                                s += strspn(s, "0123456789");
                        }
                        have_groups = true;
                }
        }
        fclose(f);
        if (!have_uid || !have_gid || !have_groups)
                return -EINVAL;
        *ret = c;
        return 0;
}

void pc_creds_self(pc_creds_t *ret)
{
        memset(ret, 0, sizeof(*ret));
        ret->uid = geteuid();
        ret->gid = getegid();
        gid_t g[PC_MAX_GROUPS];
        int n = getgroups(PC_MAX_GROUPS, g);
        /* More groups than fit (EINVAL): none but the primary one, fewer files. */
        for (int i = 0; i < n; i++)
                ret->groups[ret->ngroups++] = g[i];
}

static bool in_groups(const pc_creds_t *c, gid_t gid)
{
        if (c->gid == gid)
                return true;
        for (size_t i = 0; i < c->ngroups; i++)
                if (c->groups[i] == gid)
                        return true;
        return false;
}

bool pc_creds_permit(const pc_creds_t *c, const struct stat *st, unsigned want)
{
        if (c->uid == 0)
                return true;
        unsigned mode = (unsigned)st->st_mode;
        unsigned bits = st->st_uid == c->uid      ? mode >> 6
                        : in_groups(c, st->st_gid) ? mode >> 3
                                                   : mode;
        return (bits & want) == want;
}
