/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * cgroup: the kernel's memory files for the governor (cgroup.h).
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "cgroup.h"

/* cgroup v1 says "no limit" with the page counter's largest value rounded to pages; any
 * value this large is none. */
#define V1_UNLIMITED (UINT64_C(1) << 60)

static char v1_mount[JD_CG_PATH]; /* "" if the v1 memory controller is not mounted */
static char v2_mount[JD_CG_PATH]; /* "" if no cgroup2 */

/* mountinfo escapes space, tab, newline and backslash as \ooo. */
static void unescape(char *s)
{
        char *o = s;
        for (char *i = s; *i != '\0'; i++) {
                if (i[0] == '\\' && i[1] >= '0' && i[1] <= '3' && i[2] >= '0' && i[2] <= '7' &&
                    i[3] >= '0' && i[3] <= '7') {
                        *o++ = (char)((i[1] - '0') * 64 + (i[2] - '0') * 8 + (i[3] - '0'));
                        i += 3;
                } else {
                        *o++ = *i;
                }
        }
        *o = '\0';
}

/* Whether the comma-separated list has the item. */
static bool has_item(const char *list, const char *item)
{
        size_t n = strlen(item);
        for (const char *p = list; p != NULL && *p != '\0';) {
                const char *c = strchr(p, ',');
                size_t len = c != NULL ? (size_t)(c - p) : strlen(p);
                if (len == n && memcmp(p, item, n) == 0)
                        return true;
                p = c != NULL ? c + 1 : NULL;
        }
        return false;
}

bool jd_cg_mounts(void)
{
        FILE *f = fopen("/proc/self/mountinfo", "re");
        v1_mount[0] = v2_mount[0] = '\0';
        if (f == NULL)
                return false;
        char line[4096];
        while (fgets(line, sizeof(line), f) != NULL) {
                /* ID PARENT MAJ:MIN ROOT MOUNTPOINT OPTS [TAGS...] - FSTYPE SOURCE SUPEROPTS */
                char *sep = strstr(line, " - ");
                if (sep == NULL)
                        continue;
                *sep = '\0';
                char *save = NULL, *mp = NULL, *root = NULL;
                char *tok = strtok_r(line, " ", &save);
                for (int i = 0; tok != NULL && i < 5; i++, tok = strtok_r(NULL, " ", &save)) {
                        if (i == 3)
                                root = tok;
                        if (i == 4)
                                mp = tok;
                }
                char *fstype = strtok_r(sep + 3, " ", &save);
                strtok_r(NULL, " ", &save); /* source */
                char *super = strtok_r(NULL, " \n", &save);
                /* Only a mount of the hierarchy's root gives the paths /proc/PID/cgroup
                 * names (a container's bind mount of a subtree would not). */
                if (mp == NULL || fstype == NULL || root == NULL || strcmp(root, "/") != 0)
                        continue;
                unescape(mp);
                if (strlen(mp) >= JD_CG_PATH / 2)
                        continue;
                if (strcmp(fstype, "cgroup2") == 0 && v2_mount[0] == '\0')
                        snprintf(v2_mount, sizeof(v2_mount), "%s", mp);
                else if (strcmp(fstype, "cgroup") == 0 && super != NULL &&
                         has_item(super, "memory") && v1_mount[0] == '\0')
                        snprintf(v1_mount, sizeof(v1_mount), "%s", mp);
        }
        fclose(f);
        return v1_mount[0] != '\0' || v2_mount[0] != '\0';
}

/* A path the kernel gave for a cgroup: absolute, no "." or ".." component (it never has
 * one; checked so that a path can never leave the mount). */
static bool cg_path_ok(const char *p)
{
        if (p[0] != '/')
                return false;
        for (const char *c = p; c != NULL; c = strchr(c + 1, '/')) {
                if (strncmp(c, "/./", 3) == 0 || strncmp(c, "/../", 4) == 0 ||
                    strcmp(c, "/.") == 0 || strcmp(c, "/..") == 0)
                        return false;
        }
        return true;
}

static bool join(char *dir, size_t cap, const char *mount, const char *path)
{
        if (!cg_path_ok(path))
                return false;
        int n = snprintf(dir, cap, "%s%s", mount, strcmp(path, "/") == 0 ? "" : path);
        return n > 0 && (size_t)n < cap;
}

/* Reads a small file whole into buf (NUL-terminated).  0 or a negative errno. */
static int read_small(const char *dir, const char *name, char *buf, size_t cap)
{
        char path[JD_CG_PATH + 64];
        if (name != NULL)
                snprintf(path, sizeof(path), "%s/%s", dir, name);
        else
                snprintf(path, sizeof(path), "%s", dir);
        int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
        if (fd < 0)
                return -errno;
        size_t len = 0;
        while (len + 1 < cap) {
                ssize_t r = read(fd, buf + len, cap - 1 - len);
                if (r < 0 && errno == EINTR)
                        continue;
                if (r < 0) {
                        int e = errno;
                        close(fd);
                        return -e;
                }
                if (r == 0)
                        break;
                len += (size_t)r;
        }
        close(fd);
        buf[len] = '\0';
        return 0;
}

int jd_cg_of_pid(pid_t pid, char *dir, size_t cap)
{
        if (v1_mount[0] == '\0' && v2_mount[0] == '\0')
                return 0;
        char file[64], buf[8192];
        snprintf(file, sizeof(file), "/proc/%d/cgroup", (int)pid);
        if (read_small(file, NULL, buf, sizeof(buf)) != 0)
                return 0;
        char *v2path = NULL, *save = NULL;
        for (char *line = strtok_r(buf, "\n", &save); line != NULL;
             line = strtok_r(NULL, "\n", &save)) {
                /* ID:CONTROLLERS:PATH */
                char *c1 = strchr(line, ':');
                char *c2 = c1 != NULL ? strchr(c1 + 1, ':') : NULL;
                if (c2 == NULL)
                        continue;
                *c1 = *c2 = '\0';
                if (v1_mount[0] != '\0' && has_item(c1 + 1, "memory"))
                        return join(dir, cap, v1_mount, c2 + 1) ? 1 : 0;
                if (strcmp(line, "0") == 0 && c1[1] == '\0')
                        v2path = c2 + 1;
        }
        if (v2path == NULL || v2_mount[0] == '\0' || !join(dir, cap, v2_mount, v2path))
                return 0;
        /* The memory controller is on in this part of the tree only if the file is there
         * (the root cgroup has none, and no limit either). */
        char probe[JD_CG_PATH + 32];
        snprintf(probe, sizeof(probe), "%s/memory.current", dir);
        return access(probe, R_OK) == 0 ? 2 : 0;
}

bool jd_cg_parent(int version, char *dir)
{
        const char *mount = version == 1 ? v1_mount : v2_mount;
        size_t ml = strlen(mount);
        if (strlen(dir) <= ml)
                return false;
        char *slash = strrchr(dir, '/');
        if (slash == NULL || (size_t)(slash - dir) < ml)
                return false;
        *slash = '\0';
        return true;
}

static int read_u64(const char *dir, const char *name, uint64_t *ret, bool max_word)
{
        char buf[64];
        int rc = read_small(dir, name, buf, sizeof(buf));
        if (rc != 0)
                return rc;
        if (max_word && strncmp(buf, "max", 3) == 0) {
                *ret = JD_CG_NONE;
                return 0;
        }
        char *end;
        errno = 0;
        unsigned long long v = strtoull(buf, &end, 10);
        if (errno != 0 || end == buf || (*end != '\n' && *end != '\0'))
                return -EINVAL;
        *ret = v;
        return 0;
}

int jd_cg_limits(int version, const char *dir, uint64_t *max, uint64_t *high)
{
        *max = *high = JD_CG_NONE;
        if (version == 1) {
                int rc = read_u64(dir, "memory.limit_in_bytes", max, false);
                if (rc == 0 && *max >= V1_UNLIMITED)
                        *max = JD_CG_NONE;
                return rc;
        }
        int rc = read_u64(dir, "memory.max", max, true);
        if (rc == 0)
                rc = read_u64(dir, "memory.high", high, true);
        return rc;
}

int jd_cg_usage(int version, const char *dir, uint64_t *ret)
{
        return read_u64(dir, version == 1 ? "memory.usage_in_bytes" : "memory.current", ret,
                        false);
}

int jd_cg_inactive_file(int version, const char *dir, uint64_t *ret)
{
        char buf[8192];
        int rc = read_small(dir, "memory.stat", buf, sizeof(buf));
        if (rc != 0)
                return rc;
        const char *key = version == 1 ? "\ntotal_inactive_file " : "\ninactive_file ";
        const char *p = strstr(buf, key);
        if (p == NULL && version == 2 && strncmp(buf, key + 1, strlen(key + 1)) == 0)
                p = buf - 1;
        if (p == NULL)
                return -EINVAL;
        *ret = strtoull(p + strlen(key), NULL, 10);
        return 0;
}

int jd_cg_events(const char *dir, uint64_t *high, uint64_t *max)
{
        char buf[512];
        int rc = read_small(dir, "memory.events", buf, sizeof(buf));
        if (rc != 0)
                return rc;
        *high = *max = 0;
        char *save = NULL;
        for (char *line = strtok_r(buf, "\n", &save); line != NULL;
             line = strtok_r(NULL, "\n", &save)) {
                unsigned long long v;
                char key[16];
                if (sscanf(line, "%15s %llu", key, &v) != 2)
                        continue;
                if (strcmp(key, "high") == 0)
                        *high = v;
                else if (strcmp(key, "max") == 0)
                        *max = v;
        }
        return 0;
}

int jd_cg_psi_avg10(const char *file, double *ret)
{
        char buf[256];
        int rc = read_small(file, NULL, buf, sizeof(buf));
        if (rc != 0)
                return rc;
        /* "some avg10=1.23 avg60=... total=..." */
        const char *p = strstr(buf, "some avg10=");
        if (p == NULL)
                return -EINVAL;
        char *end;
        double v = strtod(p + 11, &end);
        if (end == p + 11 || !(v >= 0 && v <= 100))
                return -EINVAL;
        *ret = v;
        return 0;
}

int jd_cg_v1_threshold(const char *dir, uint64_t threshold)
{
        char path[JD_CG_PATH + 64];
        int efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
        if (efd < 0)
                return -errno;
        snprintf(path, sizeof(path), "%s/memory.usage_in_bytes", dir);
        int ufd = open(path, O_RDONLY | O_CLOEXEC);
        snprintf(path, sizeof(path), "%s/cgroup.event_control", dir);
        int cfd = ufd >= 0 ? open(path, O_WRONLY | O_CLOEXEC) : -1;
        int rc = 0;
        if (cfd < 0) {
                rc = -errno;
        } else {
                char line[96];
                int n = snprintf(line, sizeof(line), "%d %d %" PRIu64, efd, ufd, threshold);
                if (write(cfd, line, (size_t)n) != n)
                        rc = -errno;
        }
        /* The kernel keeps what it needs of both files: the registration lives as long as
         * the eventfd (and ends when the cgroup is removed, with one last wake-up). */
        if (cfd >= 0)
                close(cfd);
        if (ufd >= 0)
                close(ufd);
        if (rc != 0) {
                close(efd);
                return rc;
        }
        return efd;
}

int jd_host_meminfo(uint64_t *total, uint64_t *available)
{
        char buf[4096];
        int rc = read_small("/proc/meminfo", NULL, buf, sizeof(buf));
        if (rc != 0)
                return rc;
        const char *t = strstr(buf, "MemTotal:");
        const char *a = strstr(buf, "MemAvailable:");
        if (t == NULL || a == NULL)
                return -EINVAL;
        *total = strtoull(t + 9, NULL, 10) << 10;
        *available = strtoull(a + 13, NULL, 10) << 10;
        return 0;
}
