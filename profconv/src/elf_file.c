/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * elf_file: reading symbols, segments and the build-id of an ELF file with pread, every
 * part bounds-checked against the file's size at open and a byte budget (elf_file.h).
 */
#include "elf_file.h"

#include <elf.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Symbols read per pread of a symbol table (96 KiB). */
#define SYM_CHUNK 4096

typedef struct reader {
        int fd;
        uint64_t size;  /* at open */
        uint64_t *left; /* the budget */
} reader_t;

/* Reads exactly n bytes at off into buf.  False if the range is outside the file's size at
 * open, over the budget, or the file now ends earlier (it shrank: a short read). */
static bool rd(reader_t *r, uint64_t off, void *buf, uint64_t n)
{
        if (off > r->size || n > r->size - off || n > *r->left)
                return false;
        *r->left -= n;
        char *p = buf;
        while (n > 0) {
                size_t want = n > (1u << 30) ? (1u << 30) : (size_t)n;
                ssize_t k = pread(r->fd, p, want, (off_t)off);
                if (k < 0 && errno == EINTR)
                        continue;
                if (k <= 0)
                        return false;
                p += k;
                off += (uint64_t)k;
                n -= (uint64_t)k;
        }
        return true;
}

/* n bytes at off in a new heap buffer (one more byte, set to 0), or NULL. */
static unsigned char *rd_alloc(reader_t *r, uint64_t off, uint64_t n)
{
        if (off > r->size || n > r->size - off || n > *r->left)
                return NULL; /* checked before allocating */
        unsigned char *p = malloc((size_t)n + 1);
        if (p == NULL)
                return NULL;
        if (!rd(r, off, p, n)) {
                free(p);
                return NULL;
        }
        p[n] = 0;
        return p;
}

static void read_loads(pc_elf_t *e, reader_t *r, const Elf64_Ehdr *h)
{
        if (h->e_phentsize != sizeof(Elf64_Phdr) || h->e_phnum == 0)
                return;
        unsigned char *v = rd_alloc(r, h->e_phoff, (uint64_t)h->e_phnum * sizeof(Elf64_Phdr));
        if (v == NULL)
                return;
        for (unsigned i = 0; i < h->e_phnum; i++) {
                Elf64_Phdr ph;
                memcpy(&ph, v + (size_t)i * sizeof(ph), sizeof(ph));
                if (ph.p_type == PT_LOAD && e->nloads < sizeof(e->loads) / sizeof(e->loads[0]))
                        e->loads[e->nloads++] = (pc_load_t){ph.p_offset, ph.p_filesz, ph.p_vaddr};
        }
        free(v);
}

/* The GNU build-id from the notes of one SHT_NOTE section. */
static void read_notes(pc_elf_t *e, reader_t *r, uint64_t off, uint64_t size)
{
        if (size < sizeof(Elf64_Nhdr) || size > PC_ELF_MAX_NOTE)
                return;
        unsigned char *p = rd_alloc(r, off, size);
        if (p == NULL)
                return;
        uint64_t pos = 0;
        while (size - pos >= sizeof(Elf64_Nhdr)) {
                Elf64_Nhdr nh;
                memcpy(&nh, p + pos, sizeof(nh));
                pos += sizeof(nh);
                uint64_t namesz = ((uint64_t)nh.n_namesz + 3) & ~3ull;
                uint64_t descsz = ((uint64_t)nh.n_descsz + 3) & ~3ull;
                if (namesz > size - pos || descsz > size - pos - namesz)
                        break;
                if (nh.n_type == NT_GNU_BUILD_ID && nh.n_namesz == 4 &&
                    memcmp(p + pos, "GNU", 4) == 0 && nh.n_descsz > 0 && nh.n_descsz <= 40) {
                        static const char hex[] = "0123456789abcdef";
                        for (unsigned i = 0; i < nh.n_descsz; i++) {
                                e->build_id[2 * i] = hex[p[pos + namesz + i] >> 4];
                                e->build_id[2 * i + 1] = hex[p[pos + namesz + i] & 15];
                        }
                        e->build_id[2 * nh.n_descsz] = '\0';
                        break;
                }
                pos += namesz + descsz;
        }
        free(p);
}

static unsigned char rank_of(unsigned char info, const char *name)
{
        unsigned bind = ELF64_ST_BIND(info);
        unsigned char r = bind == STB_GLOBAL ? 0 : bind == STB_WEAK ? 4 : 8;
        while (*name == '_' && r < 11) {
                name++;
                r++;
        }
        return r;
}

static int cmp_sym(const void *a, const void *b)
{
        const pc_sym_t *x = a, *y = b;
        if (x->value != y->value)
                return x->value < y->value ? -1 : 1;
        return (int)x->rank - (int)y->rank;
}

/* Function symbols of one symbol table section (its string table is section strsh); false
 * if it has none or cannot be read.  Names are copied out, so the tables are freed here. */
static bool read_symtab(pc_elf_t *e, reader_t *r, const Elf64_Shdr *sh, const Elf64_Shdr *strsh)
{
        if (sh->sh_entsize != sizeof(Elf64_Sym) || strsh->sh_size == 0 ||
            sh->sh_size < sizeof(Elf64_Sym))
                return false;
        uint64_t strsz = strsh->sh_size;
        uint64_t n = sh->sh_size / sizeof(Elf64_Sym);
        /* Both tables must fit the file and the budget before either is read. */
        if (sh->sh_offset > r->size || sh->sh_size > r->size - sh->sh_offset ||
            strsh->sh_offset > r->size || strsz > r->size - strsh->sh_offset || strsz > *r->left ||
            n * sizeof(Elf64_Sym) > *r->left - strsz)
                return false;
        char *str = (char *)rd_alloc(r, strsh->sh_offset, strsz); /* NUL-terminated at strsz */
        Elf64_Sym *chunk = malloc(SYM_CHUNK * sizeof(Elf64_Sym));
        pc_sym_t *out = NULL;
        size_t k = 0, cap = 0;
        bool ok = str != NULL && chunk != NULL;
        for (uint64_t i = 0; ok && i < n; i += SYM_CHUNK) {
                size_t c = n - i < SYM_CHUNK ? (size_t)(n - i) : SYM_CHUNK;
                if (!rd(r, sh->sh_offset + i * sizeof(Elf64_Sym), chunk, c * sizeof(Elf64_Sym))) {
                        ok = false;
                        break;
                }
                for (size_t j = 0; j < c; j++) {
                        const Elf64_Sym *s = &chunk[j];
                        unsigned type = ELF64_ST_TYPE(s->st_info);
                        if ((type != STT_FUNC && type != STT_GNU_IFUNC) ||
                            s->st_shndx == SHN_UNDEF || s->st_value == 0 || s->st_name >= strsz ||
                            str[s->st_name] == '\0')
                                continue;
                        if (k == cap) {
                                size_t nc = cap ? 2 * cap : 256;
                                pc_sym_t *d = realloc(out, nc * sizeof(*d));
                                if (d == NULL) {
                                        ok = false;
                                        break;
                                }
                                out = d;
                                cap = nc;
                        }
                        /* name: the offset in str for now (str ends in a NUL at strsz). */
                        out[k++] = (pc_sym_t){s->st_value, s->st_size,
                                              (const char *)(uintptr_t)s->st_name,
                                              rank_of(s->st_info, str + s->st_name)};
                }
        }
        free(chunk);
        if (!ok || k == 0) {
                free(str);
                free(out);
                return false;
        }
        qsort(out, k, sizeof(*out), cmp_sym);
        /* One symbol per address: the best-ranked alias (malloc over __libc_malloc). */
        size_t u = 0, pool = 0;
        for (size_t i = 0; i < k; i++) {
                if (u == 0 || out[u - 1].value != out[i].value) {
                        out[u++] = out[i];
                        pool += strlen(str + (uintptr_t)out[i].name) + 1;
                } else if (out[u - 1].size == 0) {
                        out[u - 1].size = out[i].size;
                }
        }
        char *names = malloc(pool);
        if (names == NULL) {
                free(str);
                free(out);
                return false;
        }
        size_t at = 0;
        for (size_t i = 0; i < u; i++) {
                const char *s = str + (uintptr_t)out[i].name;
                size_t len = strlen(s) + 1;
                memcpy(names + at, s, len);
                out[i].name = names + at;
                at += len;
        }
        free(str);
        pc_sym_t *shrunk = realloc(out, u * sizeof(*out));
        e->syms = shrunk != NULL ? shrunk : out;
        e->nsyms = u;
        e->names = names;
        return true;
}

static void read_sections(pc_elf_t *e, reader_t *r, const Elf64_Ehdr *h)
{
        /* e_shnum 0 with sections is the extended numbering of > 65279 sections: none read. */
        if (h->e_shentsize != sizeof(Elf64_Shdr) || h->e_shnum == 0)
                return;
        size_t nsh = h->e_shnum;
        unsigned char *raw = rd_alloc(r, h->e_shoff, (uint64_t)nsh * sizeof(Elf64_Shdr));
        if (raw == NULL)
                return;
        /* Copied into aligned structures: e_shoff need not be aligned in a hostile file. */
        Elf64_Shdr *shs = malloc(nsh * sizeof(Elf64_Shdr));
        if (shs == NULL) {
                free(raw);
                return;
        }
        memcpy(shs, raw, nsh * sizeof(Elf64_Shdr));
        free(raw);
        const Elf64_Shdr *symtab = NULL, *dynsym = NULL;
        for (size_t i = 0; i < nsh; i++) {
                const Elf64_Shdr *sh = &shs[i];
                if (sh->sh_type == SHT_SYMTAB && symtab == NULL)
                        symtab = sh;
                else if (sh->sh_type == SHT_DYNSYM && dynsym == NULL)
                        dynsym = sh;
                else if (sh->sh_type == SHT_NOTE && e->build_id[0] == '\0')
                        read_notes(e, r, sh->sh_offset, sh->sh_size);
        }
        if (symtab != NULL && symtab->sh_link < nsh &&
            read_symtab(e, r, symtab, &shs[symtab->sh_link]))
                e->has_symtab = true;
        else if (dynsym != NULL && dynsym->sh_link < nsh)
                read_symtab(e, r, dynsym, &shs[dynsym->sh_link]);
        free(shs);
}

int pc_elf_read(int fd, uint64_t size, uint64_t *budget, pc_elf_t *ret)
{
        reader_t r = {fd, size, budget};
        Elf64_Ehdr h;
        if (!rd(&r, 0, &h, sizeof(h)))
                return -ENOEXEC;
        if (memcmp(h.e_ident, ELFMAG, SELFMAG) != 0 || h.e_ident[EI_CLASS] != ELFCLASS64 ||
            h.e_ident[EI_DATA] != ELFDATA2LSB)
                return -ENOEXEC;
        pc_elf_t elf;
        memset(&elf, 0, sizeof(elf));
        read_loads(&elf, &r, &h);
        read_sections(&elf, &r, &h);
        *ret = elf;
        return 0;
}

bool pc_elf_vaddr(const pc_elf_t *e, uint64_t offset, uint64_t *vaddr)
{
        for (size_t i = 0; i < e->nloads; i++) {
                const pc_load_t *l = &e->loads[i];
                if (offset >= l->offset && offset - l->offset < l->filesz) {
                        *vaddr = l->vaddr + (offset - l->offset);
                        return true;
                }
        }
        return false;
}

const char *pc_elf_lookup(const pc_elf_t *e, uint64_t vaddr)
{
        size_t lo = 0, hi = e->nsyms;
        while (lo < hi) { /* first symbol with value > vaddr */
                size_t mid = lo + (hi - lo) / 2;
                if (e->syms[mid].value <= vaddr)
                        lo = mid + 1;
                else
                        hi = mid;
        }
        if (lo == 0)
                return NULL;
        const pc_sym_t *s = &e->syms[lo - 1];
        /* A sized symbol must contain the address; an unsized one (hand-written assembly)
         * is taken as reaching the next symbol. */
        if (s->size != 0 && vaddr - s->value >= s->size)
                return NULL;
        return s->name;
}

void pc_elf_close(pc_elf_t *e)
{
        free(e->syms);
        free(e->names);
        memset(e, 0, sizeof(*e));
}
