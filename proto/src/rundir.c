/* SPDX-License-Identifier: BSD-2-Clause */
/* rundir: the runtime directory rule shared by the server and its clients (pure). */
#include <string.h>

#include <jp/proto.h>

static int put(char *buf, size_t cap, size_t at, const char *s)
{
        size_t n = strlen(s);
        if (at + n >= cap)
                return -2;
        memcpy(buf + at, s, n + 1);
        return (int)(at + n);
}

/* Drops the trailing slashes of buf[0..n) (never the first byte); the new length. */
static int strip(char *buf, int n)
{
        while (n > 1 && buf[n - 1] == '/')
                buf[--n] = '\0';
        return n;
}

int jp_runtime_dir(const char *env_dir, const char *xdg, bool root, char *buf, size_t cap)
{
        int n;
        if (cap == 0)
                return -2;
        if (env_dir != NULL && env_dir[0] != '\0')
                n = put(buf, cap, 0, env_dir);
        else if (root)
                n = put(buf, cap, 0, JP_RUNTIME_DIR_ROOT);
        else if (xdg == NULL || xdg[0] == '\0')
                return -1;
        else if ((n = put(buf, cap, 0, xdg)) >= 0)
                n = put(buf, cap, (size_t)strip(buf, n), n > 1 ? "/jemctl" : "jemctl");
        return n < 0 ? n : strip(buf, n);
}
