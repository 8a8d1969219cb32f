/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Shared by the configuration programs (conf_global, conf_env):
 * - check_opts() reads opt.narenas, opt.dirty_decay_ms, opt.muzzy_decay_ms and opt.tcache
 *   and compares them with what the runner expects (EXPECT_NARENAS -- a number or
 *   "default" --, EXPECT_DIRTY_DECAY_MS, EXPECT_MUZZY_DECAY_MS, EXPECT_TCACHE), falling back
 *   to the caller's defaults for the ones not given;
 * - run_workload() shows the allocator still works correctly under whatever configuration
 *   was given: malloc/calloc/realloc/free and mallocx/dallocx across small, large and huge
 *   sizes, in four threads at once, with contents verified and cross-thread frees.
 */
#ifndef CONFORMANCE_CONF_COMMON_H
#define CONFORMANCE_CONF_COMMON_H

#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>

#include <jemalloc/jemalloc.h>

#include "impl.h"

#define WL_THREADS 4
#define WL_SLOTS 256

struct wl_thread {
        unsigned id;
        unsigned errors;
        void *handoff[WL_SLOTS]; /* freed by the main thread */
        size_t handoff_size[WL_SLOTS];
};

static size_t wl_size(uint32_t *rng)
{
        *rng = *rng * 1103515245u + 12345u;
        uint32_t r = *rng >> 8;
        switch (r % 16) {
        case 0:
                return 16384 + r % 200000; /* large */
        case 1:
                return (r % 64 == 0) ? 9u << 20 : 4096 + r % 12000;
        default:
                return 1 + r % 1024; /* small */
        }
}

static unsigned char wl_byte(uintptr_t key, size_t i)
{
        return (unsigned char)((key >> 4) + i * 31);
}

static void *wl_thread_main(void *arg)
{
        struct wl_thread *t = arg;
        uint32_t rng = 7919u * (t->id + 1);
        void *slot[WL_SLOTS] = {0};
        size_t size[WL_SLOTS] = {0};

        for (int iter = 0; iter < 6000; iter++) {
                unsigned k = (unsigned)(wl_size(&rng) % WL_SLOTS);
                if (slot[k] != NULL) {
                        unsigned char *c = slot[k];
                        for (size_t i = 0; i < size[k]; i += 61)
                                if (c[i] != wl_byte((uintptr_t)k, i))
                                        t->errors++;
                        switch (iter % 3) {
                        case 0: {
                                size_t n = wl_size(&rng);
                                void *q = realloc(slot[k], n);
                                if (q == NULL) {
                                        t->errors++;
                                        break;
                                }
                                size_t keep = n < size[k] ? n : size[k];
                                for (size_t i = 0; i < keep; i += 61)
                                        if (((unsigned char *)q)[i] != wl_byte((uintptr_t)k, i))
                                                t->errors++;
                                slot[k] = q;
                                size[k] = n;
                                for (size_t i = 0; i < n; i++)
                                        ((unsigned char *)q)[i] = wl_byte((uintptr_t)k, i);
                                continue;
                        }
                        case 1:
                                dallocx(slot[k], 0);
                                break;
                        default:
                                free(slot[k]);
                                break;
                        }
                        slot[k] = NULL;
                        continue;
                }
                size_t n = wl_size(&rng);
                void *p;
                if (iter % 5 == 0) {
                        p = calloc(1, n);
                        if (p != NULL)
                                for (size_t i = 0; i < n; i += 97)
                                        if (((unsigned char *)p)[i] != 0)
                                                t->errors++;
                } else if (iter % 5 == 1) {
                        p = mallocx(n, MALLOCX_ALIGN(64));
                        if (p != NULL && ((uintptr_t)p & 63) != 0)
                                t->errors++;
                } else {
                        p = malloc(n);
                }
                if (p == NULL) {
                        t->errors++;
                        continue;
                }
                for (size_t i = 0; i < n; i++)
                        ((unsigned char *)p)[i] = wl_byte((uintptr_t)k, i);
                slot[k] = p;
                size[k] = n;
        }
        for (unsigned k = 0; k < WL_SLOTS; k++) {
                t->handoff[k] = slot[k];
                t->handoff_size[k] = size[k];
        }
        return NULL;
}

/* Runs the workload; reports one grouped check, "workload". */
static void run_workload(void)
{
        static struct wl_thread t[WL_THREADS];
        pthread_t tid[WL_THREADS];
        bool started[WL_THREADS];

        GROUP_BEGIN("workload");
        for (unsigned i = 0; i < WL_THREADS; i++) {
                memset(&t[i], 0, sizeof(t[i]));
                t[i].id = i;
                started[i] = pthread_create(&tid[i], NULL, wl_thread_main, &t[i]) == 0;
                EXPECTF(started[i], "pthread_create %u failed", i);
        }
        for (unsigned i = 0; i < WL_THREADS; i++) {
                if (!started[i])
                        continue;
                pthread_join(tid[i], NULL);
                EXPECTF(t[i].errors == 0, "thread %u: %u errors", i, t[i].errors);
                for (unsigned k = 0; k < WL_SLOTS; k++) {
                        unsigned char *c = t[i].handoff[k];
                        if (c == NULL)
                                continue;
                        for (size_t j = 0; j < t[i].handoff_size[k]; j += 61)
                                if (c[j] != wl_byte((uintptr_t)k, j)) {
                                        EXPECTF(false, "thread %u slot %u corrupted", i, k);
                                        break;
                                }
                        free(c);
                }
        }
        GROUP_END();
}

/* Expected values; a NULL field means "not checked". */
struct opt_expect {
        const char *narenas; /* number or "default" */
        const char *dirty_decay_ms;
        const char *muzzy_decay_ms;
        const char *tcache; /* "true" / "false" */
};

static const char *env_or(const char *name, const char *fallback)
{
        const char *v = getenv(name);
        return (v != NULL && v[0] != '\0') ? v : fallback;
}

static void check_opts(struct opt_expect def)
{
        struct opt_expect e = {
                env_or("EXPECT_NARENAS", def.narenas),
                env_or("EXPECT_DIRTY_DECAY_MS", def.dirty_decay_ms),
                env_or("EXPECT_MUZZY_DECAY_MS", def.muzzy_decay_ms),
                env_or("EXPECT_TCACHE", def.tcache),
        };
        unsigned narenas = 0, nauto = 0;
        ssize_t dirty = 0, muzzy = 0;
        bool tcache = false;
        size_t len;
        int r;

        len = sizeof(narenas);
        r = mallctl("opt.narenas", &narenas, &len, NULL, 0);
        CHECK_EQ("opt/narenas_readable", r, 0);
        if (e.narenas != NULL) {
                unsigned want = strcmp(e.narenas, "default") == 0
                                        ? default_narenas()
                                        : (unsigned)strtoul(e.narenas, NULL, 0);
                CHECK_EQ(cname("opt/narenas_is_%s", e.narenas), narenas, want);
        }
        len = sizeof(nauto);
        r = mallctl("arenas.narenas", &nauto, &len, NULL, 0);
        CHECKF("arenas/narenas_covers_opt", r == 0 && nauto >= narenas,
               "r=%d arenas.narenas %u opt.narenas %u", r, nauto, narenas);

        len = sizeof(dirty);
        r = mallctl("opt.dirty_decay_ms", &dirty, &len, NULL, 0);
        CHECK_EQ("opt/dirty_decay_ms_readable", r, 0);
        if (e.dirty_decay_ms != NULL)
                CHECK_EQ_S(cname("opt/dirty_decay_ms_is_%s", e.dirty_decay_ms), dirty,
                           strtoll(e.dirty_decay_ms, NULL, 0));
        len = sizeof(muzzy);
        r = mallctl("opt.muzzy_decay_ms", &muzzy, &len, NULL, 0);
        CHECK_EQ("opt/muzzy_decay_ms_readable", r, 0);
        if (e.muzzy_decay_ms != NULL)
                CHECK_EQ_S(cname("opt/muzzy_decay_ms_is_%s", e.muzzy_decay_ms), muzzy,
                           strtoll(e.muzzy_decay_ms, NULL, 0));
        len = sizeof(tcache);
        r = mallctl("opt.tcache", &tcache, &len, NULL, 0);
        CHECK_EQ("opt/tcache_readable", r, 0);
        if (e.tcache != NULL)
                CHECK_EQ(cname("opt/tcache_is_%s", e.tcache), tcache,
                         strcmp(e.tcache, "true") == 0);
}

#endif /* CONFORMANCE_CONF_COMMON_H */
