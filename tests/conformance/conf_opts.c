/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * conf_opts: MALLOC_CONF options read back through opt.*, and the fill options' effect.
 * run.sh runs it under assorted MALLOC_CONF strings with
 *   EXPECT_OPTS="name:type=value;..."  (type: bool, u32, unsigned, size, ssize, u64, i64, str)
 *   EXPECT_FILL=junk|zero|none        (what malloc'd and freed memory must look like)
 */
#define _GNU_SOURCE
#include <jemalloc/jemalloc.h>

#include "impl.h"

static void check_opt(const char *spec)
{
        char name[128], type[16], want[128], got[160];
        if (sscanf(spec, "%127[^:]:%15[^=]=%127[^;]", name, type, want) != 3) {
                CHECKF("spec", false, "bad EXPECT_OPTS item '%s'", spec);
                return;
        }
        union {
                bool b;
                uint32_t u32;
                unsigned u;
                size_t sz;
                ssize_t ssz;
                uint64_t u64;
                int64_t i64;
                const char *s;
        } v;
        size_t len = 0;
        if (strcmp(type, "bool") == 0)
                len = sizeof(v.b);
        else if (strcmp(type, "u32") == 0 || strcmp(type, "unsigned") == 0)
                len = 4;
        else
                len = 8;
        memset(&v, 0, sizeof(v));
        int rc = mallctl(name, &v, &len, NULL, 0);
        if (rc != 0) {
                CHECKF(name, false, "mallctl returned %d", rc);
                return;
        }
        if (strcmp(type, "bool") == 0)
                snprintf(got, sizeof(got), "%s", v.b ? "true" : "false");
        else if (strcmp(type, "u32") == 0 || strcmp(type, "unsigned") == 0)
                snprintf(got, sizeof(got), "%u", v.u32);
        else if (strcmp(type, "size") == 0 || strcmp(type, "u64") == 0)
                snprintf(got, sizeof(got), "%llu", (unsigned long long)v.u64);
        else if (strcmp(type, "ssize") == 0 || strcmp(type, "i64") == 0)
                snprintf(got, sizeof(got), "%lld", (long long)v.i64);
        else
                snprintf(got, sizeof(got), "%s", v.s != NULL ? v.s : "(null)");
        CHECKF(name, strcmp(got, want) == 0, "read %s, want %s", got, want);
}

static bool all_bytes(const unsigned char *p, size_t n, unsigned char b)
{
        for (size_t i = 0; i < n; i++)
                if (p[i] != b)
                        return false;
        return true;
}

static void check_fill(const char *mode)
{
        /* Small and large, and a small block reused after a free (dirty memory). */
        unsigned char *s = escape(malloc(100));
        unsigned char *l = escape(malloc(100000));
        bool junk = strcmp(mode, "junk") == 0, zero = strcmp(mode, "zero") == 0;
        if (junk) {
                CHECK("fill/junk_small", all_bytes(s, 100, 0xa5));
                CHECK("fill/junk_large", all_bytes(l, 100000, 0xa5));
        }
        memset(s, 7, 100);
        free(s);
        unsigned char *r = escape(malloc(100));
        if (zero) {
                CHECK("fill/zero_reused", all_bytes(r, 100, 0));
                CHECK("fill/zero_large", all_bytes(l, 100000, 0));
        }
        if (!junk && !zero) {
                /* Without fill options a fresh large block is not junked. */
                CHECK("fill/none_large", !all_bytes(l, 4096, 0xa5));
        }
        free(r);
        free(l);
}

int main(void)
{
        impl_init();
        const char *opts = getenv("EXPECT_OPTS");
        if (opts != NULL) {
                char buf[2048];
                snprintf(buf, sizeof(buf), "%s", opts);
                for (char *save = NULL, *it = strtok_r(buf, ";", &save); it != NULL;
                     it = strtok_r(NULL, ";", &save))
                        check_opt(it);
        }
        const char *fill = getenv("EXPECT_FILL");
        if (fill != NULL)
                check_fill(fill);
        return check_finish();
}
