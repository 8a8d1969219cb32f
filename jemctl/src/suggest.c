/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * suggest: "did you mean ...?" for a mistyped verb or mallctl name (jemctl.h).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "jemctl.h"

unsigned jc_edit_distance(const char *a, const char *b)
{
        size_t n = strlen(a), m = strlen(b);
        if (n > 255 || m > 255)
                return 999;
        unsigned prev2[256], prev[256], cur[256];
        for (size_t j = 0; j <= m; j++)
                prev[j] = (unsigned)j;
        for (size_t i = 1; i <= n; i++) {
                cur[0] = (unsigned)i;
                for (size_t j = 1; j <= m; j++) {
                        unsigned sub = prev[j - 1] + (a[i - 1] != b[j - 1]);
                        unsigned del = prev[j] + 1, ins = cur[j - 1] + 1;
                        unsigned best = sub < del ? sub : del;
                        best = ins < best ? ins : best;
                        /* Two neighbours swapped count as one edit. */
                        if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] &&
                            prev2[j - 2] + 1 < best)
                                best = prev2[j - 2] + 1;
                        cur[j] = best;
                }
                memcpy(prev2, prev, sizeof(prev));
                memcpy(prev, cur, sizeof(cur));
        }
        return prev[m];
}

const char *jc_closest(const char *word, const char *const *cands, size_t n)
{
        /* Close enough to be a typo: a third of the word, at least 1, at most 3 edits. */
        size_t len = strlen(word);
        unsigned limit = len >= 9 ? 3 : len >= 4 ? 2 : 1;
        const char *best = NULL;
        unsigned bd = limit + 1;
        for (size_t i = 0; i < n; i++) {
                unsigned d = jc_edit_distance(word, cands[i]);
                if (d < bd && d > 0) {
                        bd = d;
                        best = cands[i];
                }
        }
        return best;
}

/* The pattern with <i>, <j> given back the numbers of the name asked for. */
static void from_pattern(const char *pat, char nums[2][24], char *out, size_t cap)
{
        size_t n = 0;
        for (const char *s = pat; *s != '\0' && n + 1 < cap;) {
                const char *num = strncmp(s, "<i>", 3) == 0   ? nums[0]
                                  : strncmp(s, "<j>", 3) == 0 ? nums[1]
                                                              : NULL;
                if (num != NULL) {
                        const char *v = num[0] != '\0' ? num : "0";
                        int w = snprintf(out + n, cap - n, "%s", v);
                        n += w > 0 ? (size_t)w : 0;
                        s += 3;
                } else {
                        out[n++] = *s++;
                }
        }
        out[n < cap ? n : cap - 1] = '\0';
}

const char *jc_suggest_name(pid_t pid, const char *name, char *out, size_t cap)
{
        out[0] = '\0';
        jc_conn_t c;
        if (strlen(name) >= 256 || jc_connect(pid, &c, true, NULL) != JC_OK)
                return out;
        jc_begin(&c, JP_OP_LIST);
        json_t *r = NULL;
        int rc = jc_call(&c, &r);
        jc_close(&c);
        json_t *names = json_object_get(r, JP_ARG_NAMES);
        size_t n = json_array_size(names);
        const char **cands = n > 0 ? calloc(n, sizeof(*cands)) : NULL;
        if (rc == JC_OK && cands != NULL) {
                for (size_t i = 0; i < n; i++) {
                        const char *s = jc_get_str(json_array_get(names, i), "name");
                        cands[i] = s != NULL ? s : "";
                }
                char pat[256], nums[2][24];
                jp_name_pattern(name, pat, sizeof(pat), nums);
                const char *best = jc_closest(pat, cands, n);
                if (best != NULL)
                        from_pattern(best, nums, out, cap);
        }
        free(cands);
        json_decref(r);
        return out;
}
