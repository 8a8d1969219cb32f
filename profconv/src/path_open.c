/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * path_open: opens a file a dump names the way the profiled process could, never more.
 * A heap dump is written by the process (or by anyone who forged it), so the paths in
 * its MAPPED_LIBRARIES section are not trusted: a reader running as root must not open
 * /etc/shadow, /proc/self/mem, a FIFO or a binary in a directory only root may enter on
 * their behalf.  The path is walked one component at a time from the root directory
 * with O_PATH|O_NOFOLLOW: a symbolic link anywhere, a ".." component, a directory the
 * credentials may not search, a file they may not read, anything but a regular file and
 * anything on a kernel file system (proc, sysfs, ...) is refused before the file is ever
 * opened for reading.  The paths of /proc/PID/maps are canonical, so a real process's
 * libraries pass.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/magic.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <unistd.h>

#include "path_open.h"

/* File systems whose files are the kernel's, not programs: never entered. */
static bool kernel_fs(int fd)
{
        static const unsigned long magic[] = {
                PROC_SUPER_MAGIC,  SYSFS_MAGIC,     DEBUGFS_MAGIC,   TRACEFS_MAGIC,
                SECURITYFS_MAGIC,  CGROUP_SUPER_MAGIC, CGROUP2_SUPER_MAGIC, DEVPTS_SUPER_MAGIC,
                BPF_FS_MAGIC,      EFIVARFS_MAGIC,  PSTOREFS_MAGIC,
        };
        struct statfs sf;
        if (fstatfs(fd, &sf) != 0)
                return true;
        for (size_t i = 0; i < sizeof(magic) / sizeof(magic[0]); i++)
                if ((unsigned long)sf.f_type == magic[i])
                        return true;
        return false;
}

/* The directory fd may be searched by c and is an ordinary one: 0, or -EACCES. */
static int check_dir(int fd, const pc_creds_t *c)
{
        struct stat st;
        if (fstat(fd, &st) != 0 || !S_ISDIR(st.st_mode))
                return -ENOTDIR;
        if (kernel_fs(fd))
                return -EACCES;
        return pc_creds_permit(c, &st, PC_PERM_SEARCH) ? 0 : -EACCES;
}

/* The next component of *p (skipping "/" and "." ones) into name; 1 found, 0 at the end,
 * negative errno for ".." or a name too long. */
static int next_component(const char **p, char *name, size_t cap)
{
        for (;;) {
                while (**p == '/')
                        (*p)++;
                if (**p == '\0')
                        return 0;
                size_t n = strcspn(*p, "/");
                if (n >= cap)
                        return -ENAMETOOLONG;
                memcpy(name, *p, n);
                name[n] = '\0';
                *p += n;
                if (strcmp(name, ".") == 0)
                        continue;
                return strcmp(name, "..") == 0 ? -EACCES : 1;
        }
}

int pc_path_lookup(const char *root, const char *path, const pc_creds_t *c, pc_leaf_t *ret)
{
        ret->dirfd = -1;
        if (path[0] != '/')
                return -EINVAL;
        /* The prefix is the caller's (e.g. /proc/PID/root, a magic link): followed. */
        int dir = open(root != NULL && root[0] != '\0' ? root : "/",
                       O_PATH | O_DIRECTORY | O_CLOEXEC);
        if (dir < 0)
                return -errno;
        int rc = check_dir(dir, c);
        const char *p = path;
        char name[sizeof(ret->name)];
        int more = rc == 0 ? next_component(&p, name, sizeof(name)) : rc;
        while (more == 1) {
                char next[sizeof(ret->name)];
                const char *q = p;
                int after = next_component(&q, next, sizeof(next));
                if (after == 0)
                        break; /* name is the file */
                int sub = after < 0 ? -1
                                    : openat(dir, name, O_PATH | O_DIRECTORY | O_NOFOLLOW |
                                                                O_CLOEXEC);
                rc = after < 0 ? after : sub < 0 ? -errno : 0;
                close(dir);
                dir = sub;
                if (rc == 0)
                        rc = check_dir(dir, c);
                more = rc == 0 ? 1 : rc;
                p = q;
                memcpy(name, next, sizeof(next));
        }
        if (more == 0)
                rc = -EISDIR; /* the path names the root */
        else if (more < 0)
                rc = more;
        if (rc == 0 && fstatat(dir, name, &ret->st, AT_SYMLINK_NOFOLLOW) != 0)
                rc = -errno;
        if (rc == 0 && !S_ISREG(ret->st.st_mode))
                rc = S_ISLNK(ret->st.st_mode) ? -ELOOP : -EACCES;
        if (rc == 0 && !pc_creds_permit(c, &ret->st, PC_PERM_READ))
                rc = -EACCES;
        if (rc != 0) {
                if (dir >= 0)
                        close(dir);
                return rc;
        }
        ret->dirfd = dir;
        memcpy(ret->name, name, sizeof(ret->name));
        return 0;
}

int pc_path_open(pc_leaf_t *l)
{
        int fd = openat(l->dirfd, l->name,
                        O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
        int rc = fd < 0 ? -errno : 0;
        struct stat st;
        /* The same inode as the one checked, still a regular file. */
        if (rc == 0 && (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) ||
                        st.st_dev != l->st.st_dev || st.st_ino != l->st.st_ino))
                rc = -ESTALE;
        if (rc == 0)
                l->st = st;
        else if (fd >= 0)
                close(fd);
        pc_path_close(l);
        return rc == 0 ? fd : rc;
}

void pc_path_close(pc_leaf_t *l)
{
        if (l->dirfd >= 0)
                close(l->dirfd);
        l->dirfd = -1;
}
