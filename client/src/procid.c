/* SPDX-License-Identifier: BSD-2-Clause */
/* procid: whether a process lives and who it is now (uids, comm, cgroup), from /proc. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include <jcl/sock.h>
#include "jp/proto.h"

#include "procid.h"

bool jcl_proc_uids(pid_t pid, uid_t uids[3])
{
        char path[40], line[256];
        snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
        FILE *f = fopen(path, "re");
        if (f == NULL)
                return false;
        bool found = false;
        while (!found && fgets(line, sizeof(line), f) != NULL) {
                unsigned long r, e, s;
                if (strncmp(line, "Uid:", 4) == 0 &&
                    sscanf(line + 4, "%lu %lu %lu", &r, &e, &s) == 3) {
                        uids[0] = (uid_t)r;
                        uids[1] = (uid_t)e;
                        uids[2] = (uid_t)s;
                        found = true;
                }
        }
        fclose(f);
        return found;
}

bool jcl_pid_start(pid_t pid, unsigned long long *start)
{
        char path[40], buf[512];
        struct stat st;
        *start = 0;
        if (pid <= 0)
                return false;
        if (stat("/proc/self", &st) != 0)
                return kill(pid, 0) == 0 || errno == EPERM;
        snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
        FILE *f = fopen(path, "re");
        if (f == NULL)
                return false;
        size_t n = fread(buf, 1, sizeof(buf) - 1, f);
        fclose(f);
        buf[n] = '\0';
        const char *rp = strrchr(buf, ')'); /* after the comm, which may hold anything */
        if (rp == NULL || rp[1] != ' ')
                return true;
        if (rp[2] == 'Z' || rp[2] == 'X')
                return false;
        /* Field 22, starttime: the 20th after the comm's ") " (the state is the first). */
        const char *c = rp + 2;
        for (int field = 3; field < 22 && c != NULL; field++) {
                c = strchr(c, ' ');
                if (c != NULL)
                        c++;
        }
        if (c != NULL && sscanf(c, "%llu", start) != 1)
                *start = 0;
        return true;
}

bool jcl_pid_alive(pid_t pid)
{
        unsigned long long start;
        return jcl_pid_start(pid, &start);
}

bool jcl_uid_may_serve(uid_t uid, const uid_t uids[3])
{
        return uid == 0 || uid == uids[0] || uid == uids[1] || uid == uids[2];
}

/* A small /proc file whole into buf (NUL-terminated, cut at cap - 1 bytes). */
static bool read_small(pid_t pid, const char *file, char *buf, size_t cap)
{
        char path[48];
        buf[0] = '\0';
        if (pid <= 0 || cap == 0)
                return false;
        snprintf(path, sizeof(path), "/proc/%d/%s", (int)pid, file);
        FILE *f = fopen(path, "re");
        if (f == NULL)
                return false;
        size_t n = fread(buf, 1, cap - 1, f);
        fclose(f);
        buf[n] = '\0';
        return true;
}

bool jcl_proc_comm(pid_t pid, char *buf, size_t cap)
{
        if (!read_small(pid, "comm", buf, cap))
                return false;
        buf[strcspn(buf, "\n")] = '\0';
        return true;
}

bool jcl_proc_cgroup(pid_t pid, char *buf, size_t cap)
{
        char text[8192];
        if (cap == 0)
                return false;
        buf[0] = '\0';
        return read_small(pid, "cgroup", text, sizeof(text)) && jp_cgroup_of(text, buf, cap) > 0;
}
