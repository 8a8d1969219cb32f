/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * names: the shapes of mallctl names, /proc cgroup text and durations that the server
 * and its clients read by one rule (pure: no allocation, no I/O).
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jp/proto.h>

void jp_name_pattern(const char *name, char *out, size_t cap, char nums[2][24])
{
        size_t n = 0;
        unsigned idx = 0;
        if (nums != NULL)
                nums[0][0] = nums[1][0] = '\0';
        if (cap == 0)
                return;
        for (const char *s = name; *s != '\0' && n + 5 < cap;) {
                size_t len = strcspn(s, ".");
                if (len > 0 && strspn(s, "0123456789") >= len) {
                        if (nums != NULL && idx < 2) {
                                size_t k = len < 23 ? len : 23;
                                memcpy(nums[idx], s, k);
                                nums[idx][k] = '\0';
                        }
                        memcpy(out + n, idx++ == 0 ? "<i>" : "<j>", 3);
                        n += 3;
                } else {
                        size_t k = len < cap - n - 2 ? len : cap - n - 2;
                        memcpy(out + n, s, k);
                        n += k;
                }
                s += len;
                if (*s == '.')
                        out[n++] = '.', s++;
        }
        out[n] = '\0';
}

/* The rest of the line after tag at a line start of text ("0::"), or after
 * ":name=systemd:" anywhere in a line; NULL if absent. */
static const char *cg_field(const char *text, const char *tag)
{
        size_t tl = strlen(tag);
        for (const char *line = text; line != NULL && *line != '\0';) {
                const char *at = tag[0] == ':' ? strstr(line, tag) : line;
                const char *eol = strchr(line, '\n');
                if (at != NULL && (eol == NULL || at < eol) && strncmp(at, tag, tl) == 0)
                        return at + tl;
                line = eol != NULL ? eol + 1 : NULL;
        }
        return NULL;
}

size_t jp_cgroup_of(const char *text, char *out, size_t cap)
{
        const char *v2 = cg_field(text, "0::"), *v1 = cg_field(text, ":name=systemd:");
        const char *cg = v2 != NULL && !(v1 != NULL && v2[0] == '/' && (v2[1] == '\n' ||
                                                                          v2[1] == '\0'))
                                 ? v2
                                 : v1;
        if (cg == NULL || cap == 0)
                return 0;
        size_t len = strcspn(cg, "\n");
        if (len >= cap)
                return 0;
        memcpy(out, cg, len);
        out[len] = '\0';
        return len;
}

int jp_parse_duration(const char *s, double max, double *out)
{
        char *end;
        errno = 0;
        double v = strtod(s, &end);
        if (errno != 0 || end == s || !(v > 0) || !isfinite(v))
                return -EINVAL;
        double mult = 1;
        if (*end == 's')
                end++;
        else if (*end == 'm')
                mult = 60, end++;
        else if (*end == 'h')
                mult = 3600, end++;
        else if (*end == 'd')
                mult = 86400, end++;
        if (*end != '\0' || v * mult > max)
                return -EINVAL;
        *out = v * mult;
        return 0;
}
