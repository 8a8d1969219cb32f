/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * demangle: C++ symbol names made readable for folded stacks and flame graphs (internal to
 * profconv).  The C++ runtime's __cxa_demangle is used when it can be found (already
 * loaded, or libstdc++.so.6 on the system); without it names stay mangled.  Results are
 * cached per symbol (names are compared by address: they point into a mapped file).
 */
#ifndef PC_DEMANGLE_H
#define PC_DEMANGLE_H

#include <stdbool.h>
#include <stddef.h>

typedef struct pc_demangle_slot {
        const char *key;
        char *val; /* NULL: not demangled */
} pc_demangle_slot_t;

typedef struct pc_demangler {
        char *(*fn)(const char *, char *, size_t *, int *);
        void *handle; /* dlopen'ed libstdc++, or NULL */
        bool tried;
        pc_demangle_slot_t *slots;
        size_t cap, n;
} pc_demangler_t;

/* The readable form of name (an "_Z..." symbol), or name itself when it is not mangled, the
 * runtime is missing, or memory runs out.  The result lives as long as d. */
const char *pc_demangle(pc_demangler_t *d, const char *name);
void pc_demangler_free(pc_demangler_t *d);

#endif
