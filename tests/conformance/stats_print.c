/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Conformance of malloc_stats_print and malloc_message (jemalloc(3), liballoc(3)):
 * text output framed by "___ Begin jemalloc statistics ___" / "--- End jemalloc
 * statistics ---" with the Version line, the "g" option dropping general information,
 * compact JSON with "J" (starts {"jemalloc":{"version":..., balanced, no trailing newline),
 * "Jgmdablxeh" leaving only the totals, cbopaque passed through to write_cb, a NULL
 * write_cb going to the malloc_message hook (which receives the text), and with no hook
 * installed, to stderr.
 */
#define _GNU_SOURCE
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jemalloc/jemalloc.h>

#include "impl.h"

/* Output is collected in static storage: the callbacks must not allocate. */
struct sink {
        char buf[1 << 20];
        size_t len;
        int chunks;
        int bad_opaque;
        bool overflow;
};

static struct sink sink;
static int opaque_token;

static void sink_reset(void)
{
        sink.len = 0;
        sink.chunks = 0;
        sink.bad_opaque = 0;
        sink.overflow = false;
        sink.buf[0] = '\0';
}

static void sink_append(const char *s)
{
        size_t n = strlen(s);
        if (sink.len + n + 1 > sizeof(sink.buf)) {
                sink.overflow = true;
                n = sizeof(sink.buf) - 1 - sink.len;
        }
        memcpy(sink.buf + sink.len, s, n);
        sink.len += n;
        sink.buf[sink.len] = '\0';
        sink.chunks++;
}

static void write_cb(void *cbopaque, const char *s)
{
        if (cbopaque != &opaque_token)
                sink.bad_opaque++;
        sink_append(s);
}

static void message_hook(void *cbopaque, const char *s)
{
        if (cbopaque != NULL)
                sink.bad_opaque++;
        sink_append(s);
}

static bool starts_with(const char *s, const char *prefix)
{
        return strncmp(s, prefix, strlen(prefix)) == 0;
}

static bool ends_with(const char *s, size_t len, const char *suffix)
{
        size_t n = strlen(suffix);
        return len >= n && memcmp(s + len - n, suffix, n) == 0;
}

/* Structural JSON check: one value made of balanced {} / [] with well-formed strings. */
static bool json_balanced(const char *s, size_t len)
{
        char stack[256];
        int depth = 0;
        bool in_str = false;

        for (size_t i = 0; i < len; i++) {
                char c = s[i];
                if (in_str) {
                        if (c == '\\')
                                i++;
                        else if (c == '"')
                                in_str = false;
                        else if ((unsigned char)c < 0x20)
                                return false;
                        continue;
                }
                if (c == '"') {
                        in_str = true;
                } else if (c == '{' || c == '[') {
                        if (depth == (int)sizeof(stack))
                                return false;
                        stack[depth++] = c;
                } else if (c == '}' || c == ']') {
                        if (depth == 0 || stack[depth - 1] != (c == '}' ? '{' : '['))
                                return false;
                        depth--;
                        if (depth == 0) {
                                /* One document: only whitespace may follow. */
                                for (i++; i < len; i++)
                                        if (strchr(" \t\r\n", s[i]) == NULL)
                                                return false;
                                return true;
                        }
                } else if (depth == 0 && strchr(" \t\r\n", c) == NULL) {
                        return false;
                }
        }
        return depth == 0 && !in_str && len > 0;
}

#define BEGIN_TEXT "___ Begin jemalloc statistics ___\n"
#define END_TEXT "--- End jemalloc statistics ---\n"

static void test_text(void)
{
        void *keep = malloc(100000);

        sink_reset();
        malloc_stats_print(write_cb, &opaque_token, NULL);
        CHECK("malloc_stats_print/text_nonempty", sink.len > 0 && !sink.overflow);
        CHECKF("malloc_stats_print/cbopaque_passed", sink.bad_opaque == 0,
               "%d chunks with wrong opaque", sink.bad_opaque);
        CHECK("malloc_stats_print/text_begin_frame", starts_with(sink.buf, BEGIN_TEXT));
        CHECK("malloc_stats_print/text_end_frame", ends_with(sink.buf, sink.len, END_TEXT));
        CHECK("malloc_stats_print/text_version_line",
              strstr(sink.buf, "\nVersion: \"" JEMALLOC_VERSION "\"") != NULL);
        CHECK("malloc_stats_print/text_allocated_line", strstr(sink.buf, "\nAllocated: ") != NULL);

        sink_reset();
        malloc_stats_print(write_cb, &opaque_token, "g");
        CHECK("malloc_stats_print/text_g_framed",
              starts_with(sink.buf, BEGIN_TEXT) && ends_with(sink.buf, sink.len, END_TEXT));
        CHECK("malloc_stats_print/text_g_omits_version", strstr(sink.buf, "Version:") == NULL);
        CHECK("malloc_stats_print/text_g_keeps_totals", strstr(sink.buf, "\nAllocated: ") != NULL);

        /* Unknown option characters are ignored. */
        sink_reset();
        malloc_stats_print(write_cb, &opaque_token, "gmdablxeh?!Z");
        CHECK("malloc_stats_print/text_unknown_opts_ignored",
              starts_with(sink.buf, BEGIN_TEXT) && ends_with(sink.buf, sink.len, END_TEXT) &&
                      strstr(sink.buf, "\nAllocated: ") != NULL);
        free(keep);
}

static void test_json(void)
{
        sink_reset();
        malloc_stats_print(write_cb, &opaque_token, "J");
        CHECK("malloc_stats_print/json_nonempty", sink.len > 0 && !sink.overflow);
        CHECK("malloc_stats_print/json_prefix",
              starts_with(sink.buf, "{\"jemalloc\":{\"version\":\"" JEMALLOC_VERSION "\""));
        CHECK("malloc_stats_print/json_balanced", json_balanced(sink.buf, sink.len));
        CHECK("malloc_stats_print/json_no_trailing_newline",
              sink.len > 0 && sink.buf[sink.len - 1] == '}');
        CHECK("malloc_stats_print/json_has_stats",
              strstr(sink.buf, "\"stats\":{\"allocated\":") != NULL);
        CHECK("malloc_stats_print/json_has_opt_narenas", strstr(sink.buf, "\"narenas\":") != NULL);

        sink_reset();
        malloc_stats_print(write_cb, &opaque_token, "Jgmdablxeh");
        CHECK("malloc_stats_print/json_all_opts_prefix",
              starts_with(sink.buf, "{\"jemalloc\":{\"stats\":{\"allocated\":"));
        CHECK("malloc_stats_print/json_all_opts_balanced", json_balanced(sink.buf, sink.len));
        CHECK("malloc_stats_print/json_all_opts_totals",
              strstr(sink.buf, "\"active\":") && strstr(sink.buf, "\"resident\":") &&
                      strstr(sink.buf, "\"mapped\":"));
        CHECK("malloc_stats_print/json_all_opts_no_version",
              strstr(sink.buf, "\"version\"") == NULL);
}

static void test_message_hook(void)
{
        CHECK("malloc_message/default_null", malloc_message == NULL);

        malloc_message = message_hook;
        sink_reset();
        malloc_stats_print(NULL, NULL, "g");
        malloc_message = NULL;
        CHECK("malloc_message/hook_receives_stats",
              sink.len > 0 && starts_with(sink.buf, BEGIN_TEXT) &&
                      ends_with(sink.buf, sink.len, END_TEXT));
        CHECK("malloc_message/hook_cbopaque_null", sink.bad_opaque == 0);

        /* With neither write_cb nor a hook the text goes to stderr (fd 2). */
        char path[4096];
        const char *dir = getenv("CONF_TMPDIR");
        snprintf(path, sizeof(path), "%s/stats-stderr-XXXXXX", dir && dir[0] ? dir : "/tmp");
        int fd = mkstemp(path);
        int saved = dup(2);
        bool ok = fd >= 0 && saved >= 0;
        if (ok) {
                fflush(stderr);
                ok = dup2(fd, 2) == 2;
                if (ok)
                        malloc_stats_print(NULL, NULL, "g");
                dup2(saved, 2);
                close(saved);
        }
        sink_reset();
        if (ok) {
                ssize_t n = pread(fd, sink.buf, sizeof(sink.buf) - 1, 0);
                sink.len = n > 0 ? (size_t)n : 0;
                sink.buf[sink.len] = '\0';
        }
        if (fd >= 0) {
                close(fd);
                unlink(path);
        }
        CHECK("malloc_message/null_goes_to_stderr",
              ok && starts_with(sink.buf, BEGIN_TEXT) && ends_with(sink.buf, sink.len, END_TEXT));
}

int main(void)
{
        impl_init();
        test_text();
        test_json();
        test_message_hook();
        return check_finish();
}
