/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * demangle: C++ names through the C++ runtime's __cxa_demangle, found at run time so that
 * profconv (and jemctl) do not link libstdc++.
 */
#include "demangle.h"

#include <dlfcn.h>
#include <stdint.h>
#include <stdlib.h>
#include <stdbool.h>
#include <string.h>

typedef char *(*cxa_demangle_fn)(const char *, char *, size_t *, int *);

static void find_runtime(pc_demangler_t *d)
{
        d->tried = true;
        void *f = dlsym(RTLD_DEFAULT, "__cxa_demangle");
        if (f == NULL) {
                d->handle = dlopen("libstdc++.so.6", RTLD_LAZY | RTLD_LOCAL);
                if (d->handle != NULL)
                        f = dlsym(d->handle, "__cxa_demangle");
        }
        /* The only way from dlsym's object pointer to a function pointer. */
        memcpy(&d->fn, &f, sizeof(f));
}

static size_t slot_of(const pc_demangle_slot_t *slots, size_t cap, const char *key)
{
        uintptr_t h = (uintptr_t)key * 0x9e3779b97f4a7c15ull;
        size_t i = (size_t)(h >> 17) & (cap - 1);
        while (slots[i].key != NULL && slots[i].key != key)
                i = (i + 1) & (cap - 1);
        return i;
}

static bool grow(pc_demangler_t *d)
{
        size_t nc = d->cap ? d->cap * 2 : 256;
        pc_demangle_slot_t *ns = calloc(nc, sizeof(*ns));
        if (ns == NULL)
                return false;
        for (size_t i = 0; i < d->cap; i++)
                if (d->slots[i].key != NULL)
                        ns[slot_of(ns, nc, d->slots[i].key)] = d->slots[i];
        free(d->slots);
        d->slots = ns;
        d->cap = nc;
        return true;
}

const char *pc_demangle(pc_demangler_t *d, const char *name)
{
        if (name == NULL)
                return name;
        bool mangled = name[0] == '_' && name[1] == 'Z';
        size_t len = strcspn(name, "@"); /* a symbol version: "memcpy@@GLIBC_2.14" */
        if (!mangled && name[len] == '\0')
                return name;
        if (mangled && !d->tried)
                find_runtime(d);
        if (mangled && d->fn == NULL && name[len] == '\0')
                return name;
        if (d->n * 2 >= d->cap && !grow(d))
                return name;
        size_t i = slot_of(d->slots, d->cap, name);
        if (d->slots[i].key == NULL) {
                /* Shown without the version; C++ names demangled. */
                char *bare = strndup(name, len);
                int status = -1;
                char *v = bare != NULL && mangled && d->fn != NULL
                                  ? d->fn(bare, NULL, NULL, &status)
                                  : NULL;
                if (status == 0) {
                        free(bare);
                } else {
                        free(v);
                        v = bare;
                }
                d->slots[i] = (pc_demangle_slot_t){name, v};
                d->n++;
        }
        return d->slots[i].val != NULL ? d->slots[i].val : name;
}

void pc_demangler_free(pc_demangler_t *d)
{
        for (size_t i = 0; i < d->cap; i++)
                free(d->slots[i].val);
        free(d->slots);
        if (d->handle != NULL)
                dlclose(d->handle);
        memset(d, 0, sizeof(*d));
}
