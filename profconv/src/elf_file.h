/*
 * elf_file: one ELF file mapped read-only for symbol lookup (internal to profconv).  Only
 * what symbolization needs: the function symbols (.symtab, else .dynsym), the PT_LOAD
 * segments (file offset -> virtual address) and the GNU build-id.  Every offset read from
 * the file is bounds-checked: a truncated or hostile file gives fewer symbols, never a
 * crash.
 */
#ifndef PC_ELF_FILE_H
#define PC_ELF_FILE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct pc_sym {
        uint64_t value, size;
        const char *name;   /* points into the mapping */
        unsigned char rank; /* which alias wins at one address: lower is better */
} pc_sym_t;

typedef struct pc_load {
        uint64_t offset, filesz, vaddr;
} pc_load_t;

typedef struct pc_elf {
        void *base;
        size_t size;
        pc_sym_t *syms; /* sorted by value, one per address */
        size_t nsyms;
        pc_load_t loads[16];
        size_t nloads;
        char build_id[81]; /* hex, "" if none */
        bool has_symtab;   /* the symbols came from .symtab (else .dynsym or none) */
} pc_elf_t;

/* Maps path and reads its tables.  0, or a negative errno (-ENOENT, -ENOEXEC for a file
 * that is not a 64-bit little-endian ELF, -ENOMEM); *ret untouched on failure. */
int pc_elf_open(const char *path, pc_elf_t *ret);
/* The virtual address of a file offset (through the PT_LOAD segments); false if none. */
bool pc_elf_vaddr(const pc_elf_t *e, uint64_t offset, uint64_t *vaddr);
/* The function containing vaddr, or NULL. */
const char *pc_elf_lookup(const pc_elf_t *e, uint64_t vaddr);
void pc_elf_close(pc_elf_t *e);

#endif
