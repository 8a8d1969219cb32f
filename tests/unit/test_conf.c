/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Unit tests of the MALLOC_CONF grammar: values land in la_opt, bad pairs are counted and
 * skipped while the rest still applies, clipping options clamp, and the messages have
 * jemalloc's wording.
 */
#include <string.h>

#include "../../liballoc/src/core/conf.h"
#include "../common/check.h"

static char captured[4096];

static void capture(void *opaque, const char *s)
{
        (void)opaque;
        strncat(captured, s, sizeof(captured) - strlen(captured) - 1);
}

extern void (*malloc_message)(void *, const char *);

static void good_pairs_apply(void)
{
        captured[0] = '\0';
        EXPECT(la_conf_parse("narenas:3,dirty_decay_ms:5000,muzzy_decay_ms:-1,tcache:false") ==
              0);
        EXPECT_EQ(la_opt.narenas, 3);
        EXPECT(la_opt.dirty_decay_ms == 5000);
        EXPECT(la_opt.muzzy_decay_ms == -1);
        EXPECT(!la_opt.tcache);
        EXPECT(captured[0] == '\0');
        la_conf_parse("tcache:true,dirty_decay_ms:0x10");
        EXPECT(la_opt.dirty_decay_ms == 16);
}

static void bad_pairs_warn_and_continue(void)
{
        captured[0] = '\0';
        EXPECT(la_conf_parse("foo:bar,narenas:abc,narenas:7,dirty_decay_ms:-5") != 0);
        EXPECT(strstr(captured, "<jemalloc>: Invalid conf pair: foo:bar\n") != NULL);
        EXPECT(strstr(captured, "<jemalloc>: Invalid conf value: narenas:abc\n") != NULL);
        EXPECT(strstr(captured, "<jemalloc>: Out-of-range conf value: dirty_decay_ms:-5\n") !=
              NULL);
        EXPECT_EQ(la_opt.narenas, 7);
}

static void syntax_errors(void)
{
        captured[0] = '\0';
        la_conf_parse("narenas:2,");
        EXPECT(strstr(captured, "Conf string ends with comma") != NULL);
        captured[0] = '\0';
        la_conf_parse("narenas");
        EXPECT(strstr(captured, "Conf string ends with key") != NULL);
        captured[0] = '\0';
        la_conf_parse("nar-enas:3");
        EXPECT(strstr(captured, "Malformed conf string") != NULL);
}

static void clipping_and_enums(void)
{
        la_conf_parse("tcache_max:99999999,lg_prof_sample:100,thp:nev,zero_realloc:alloc");
        EXPECT_EQ(la_opt.tcache_max, 8388608);
        EXPECT_EQ(la_opt.lg_prof_sample, 63);
        EXPECT(strcmp(la_opt.thp, "never") == 0);
        EXPECT(strcmp(la_opt.zero_realloc, "alloc") == 0);
        la_conf_parse("lg_tcache_max:12,max_background_threads:9999");
        EXPECT_EQ(la_opt.tcache_max, 4096);
        EXPECT_EQ(la_opt.max_background_threads, 4);
        la_conf_parse("zero_realloc:free");
}

/* liballoc's own safety keys: foreign_free and hardened. */
static void safety_keys(void)
{
        EXPECT(strcmp(la_opt.foreign_free, "abort") == 0); /* the default */
        EXPECT(!la_opt.hardened);
        captured[0] = '\0';
        EXPECT(la_conf_parse("foreign_free:warn,hardened:true") == 0);
        EXPECT(strcmp(la_opt.foreign_free, "warn") == 0);
        EXPECT(la_opt.hardened);
        EXPECT(la_conf_parse("foreign_free:crash") != 0);
        EXPECT(strstr(captured, "Invalid conf value: foreign_free:crash") != NULL);
        EXPECT(strcmp(la_opt.foreign_free, "warn") == 0); /* a bad value changes nothing */
        la_conf_parse("foreign_free:ignore,hardened:false");
        EXPECT(strcmp(la_opt.foreign_free, "ignore") == 0);
        EXPECT(!la_opt.hardened);
        la_conf_parse("foreign_free:abort");
}

int main(void)
{
        malloc_message = capture;
        RUN("unit/conf", good_pairs_apply);
        RUN("unit/conf", bad_pairs_warn_and_continue);
        RUN("unit/conf", syntax_errors);
        RUN("unit/conf", clipping_and_enums);
        RUN("unit/conf", safety_keys);
        malloc_message = NULL;
        return check_finish();
}
