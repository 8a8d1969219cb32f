/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * sockname: the names of control sockets ("<pid>.sock", and "<pid>.<16 hex>.sock" where
 * the first name was squatted) and the names of one pid worth trying.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <jcl/sock.h>

#include "procid.h"

#define ALT_HEX 16

static size_t pid_digits(const char *name)
{
        size_t d = strspn(name, "0123456789");
        return d == 0 || d > 9 || name[0] == '0' ? 0 : d;
}

bool jcl_sock_name_is_alt(const char *name)
{
        size_t d = pid_digits(name);
        if (d == 0 || name[d] != '.')
                return false;
        const char *h = name + d + 1;
        return strspn(h, "0123456789abcdef") == ALT_HEX && strcmp(h + ALT_HEX, ".sock") == 0;
}

pid_t jcl_sock_name_pid(const char *name)
{
        size_t d = pid_digits(name);
        if (d == 0 || (strcmp(name + d, ".sock") != 0 && !jcl_sock_name_is_alt(name)))
                return -1;
        return (pid_t)atol(name);
}

int jcl_scan(const char *dir, void (*fn)(void *arg, pid_t pid, bool alt, const char *name),
             void *arg)
{
        DIR *d = opendir(dir);
        if (d == NULL)
                return -errno;
        struct dirent *e;
        while ((e = readdir(d)) != NULL) {
                pid_t pid = jcl_sock_name_pid(e->d_name);
                if (pid > 0)
                        fn(arg, pid, jcl_sock_name_is_alt(e->d_name), e->d_name);
        }
        closedir(d);
        return 0;
}

size_t jcl_sock_names(const char *dir, pid_t pid, char names[][JCL_NAME_MAX])
{
        size_t n = 0;
        snprintf(names[n++], JCL_NAME_MAX, "%d.sock", (int)pid);
        DIR *d = dir != NULL ? opendir(dir) : NULL;
        if (d == NULL)
                return n;
        uid_t uids[3];
        if (!jcl_proc_uids(pid, uids)) {
                closedir(d);
                return n;
        }
        struct dirent *e;
        while (n < JCL_ALT_MAX && (e = readdir(d)) != NULL) {
                struct stat st;
                if (!jcl_sock_name_is_alt(e->d_name) || jcl_sock_name_pid(e->d_name) != pid ||
                    fstatat(dirfd(d), e->d_name, &st, AT_SYMLINK_NOFOLLOW) != 0 ||
                    !S_ISSOCK(st.st_mode) || !jcl_uid_may_serve(st.st_uid, uids))
                        continue;
                size_t len = strlen(e->d_name); /* < JCL_NAME_MAX: checked by the form */
                memcpy(names[n++], e->d_name, len + 1);
        }
        closedir(d);
        return n;
}
