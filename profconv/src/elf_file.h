/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * elf_file: the tables of one ELF file read for symbol lookup (internal to profconv).  Only
 * what symbolization needs: the function symbols (.symtab, else .dynsym), the PT_LOAD
 * segments (file offset -> virtual address) and the GNU build-id.
 *
 * The file is never mapped: each part is read with pread into a heap buffer, every offset
 * and size checked against the size the caller got from fstat at open and against a byte
 * budget.  A file that another process truncates or rewrites meanwhile gives short reads
 * (fewer or wrong symbols), never a fault; a truncated or hostile file gives fewer symbols,
 * never a crash.  Nothing refers to the file once pc_elf_read returns.
 */
#ifndef PC_ELF_FILE_H
#define PC_ELF_FILE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* A note section larger than this is not read (a build-id note is 36 bytes). */
#define PC_ELF_MAX_NOTE (64u << 10)

typedef struct pc_sym {
        uint64_t value, size;
        const char *name;   /* points into pc_elf_t.names */
        unsigned char rank; /* which alias wins at one address: lower is better */
} pc_sym_t;

typedef struct pc_load {
        uint64_t offset, filesz, vaddr;
} pc_load_t;

typedef struct pc_elf {
        pc_sym_t *syms; /* sorted by value, one per address */
        size_t nsyms;
        char *names; /* the symbols' names, NUL-terminated, back to back */
        pc_load_t loads[16];
        size_t nloads;
        char build_id[81]; /* hex, "" if none */
        bool has_symtab;   /* the symbols came from .symtab (else .dynsym or none) */
} pc_elf_t;

/* Reads the tables of the open regular file fd, which was size bytes long at open (from
 * fstat), reading at most *budget bytes; *budget is decreased by what was read, even on
 * failure.  A part that does not fit the file or the budget is skipped.  0, or -ENOEXEC (not
 * a 64-bit little-endian ELF, or its header unreadable) or -ENOMEM; *ret untouched on
 * failure.  fd stays open (the caller closes it). */
int pc_elf_read(int fd, uint64_t size, uint64_t *budget, pc_elf_t *ret);
/* The virtual address of a file offset (through the PT_LOAD segments); false if none. */
bool pc_elf_vaddr(const pc_elf_t *e, uint64_t offset, uint64_t *vaddr);
/* The function containing vaddr, or NULL. */
const char *pc_elf_lookup(const pc_elf_t *e, uint64_t vaddr);
void pc_elf_close(pc_elf_t *e);

#endif
