/*
 * elf_file: reading symbols, segments and the build-id of a mapped ELF file.
 */
#include "elf_file.h"

#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

/* A pointer to n bytes at off, or NULL if that range is outside the file. */
static const void *at(const pc_elf_t *e, uint64_t off, uint64_t n)
{
        if (off > e->size || n > e->size - off)
                return NULL;
        return (const char *)e->base + off;
}

static const Elf64_Shdr *section(const pc_elf_t *e, const Elf64_Ehdr *h, unsigned i)
{
        if (i >= h->e_shnum || h->e_shentsize != sizeof(Elf64_Shdr))
                return NULL;
        return at(e, h->e_shoff + (uint64_t)i * sizeof(Elf64_Shdr), sizeof(Elf64_Shdr));
}

static void read_loads(pc_elf_t *e, const Elf64_Ehdr *h)
{
        if (h->e_phentsize != sizeof(Elf64_Phdr))
                return;
        for (unsigned i = 0; i < h->e_phnum; i++) {
                const Elf64_Phdr *ph = at(e, h->e_phoff + (uint64_t)i * sizeof(*ph), sizeof(*ph));
                if (ph == NULL)
                        return;
                if (ph->p_type == PT_LOAD && e->nloads < sizeof(e->loads) / sizeof(e->loads[0]))
                        e->loads[e->nloads++] =
                                (pc_load_t){ph->p_offset, ph->p_filesz, ph->p_vaddr};
        }
}

/* The GNU build-id from the notes of one SHT_NOTE section. */
static void read_notes(pc_elf_t *e, uint64_t off, uint64_t size)
{
        const unsigned char *p = at(e, off, size);
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
                        return;
                if (nh.n_type == NT_GNU_BUILD_ID && nh.n_namesz == 4 &&
                    memcmp(p + pos, "GNU", 4) == 0 && nh.n_descsz > 0 && nh.n_descsz <= 40) {
                        static const char hex[] = "0123456789abcdef";
                        for (unsigned i = 0; i < nh.n_descsz; i++) {
                                e->build_id[2 * i] = hex[p[pos + namesz + i] >> 4];
                                e->build_id[2 * i + 1] = hex[p[pos + namesz + i] & 15];
                        }
                        e->build_id[2 * nh.n_descsz] = '\0';
                        return;
                }
                pos += namesz + descsz;
        }
}

static unsigned char rank_of(const Elf64_Sym *s, const char *name)
{
        unsigned bind = ELF64_ST_BIND(s->st_info);
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

/* Function symbols of one symbol table section; false if it has none. */
static bool read_symtab(pc_elf_t *e, const Elf64_Ehdr *h, const Elf64_Shdr *sh)
{
        const Elf64_Shdr *strsh = section(e, h, sh->sh_link);
        if (strsh == NULL || sh->sh_entsize != sizeof(Elf64_Sym))
                return false;
        const char *str = at(e, strsh->sh_offset, strsh->sh_size);
        const Elf64_Sym *sym = at(e, sh->sh_offset, sh->sh_size);
        if (str == NULL || sym == NULL || strsh->sh_size == 0)
                return false;
        size_t n = sh->sh_size / sizeof(Elf64_Sym);
        pc_sym_t *out = malloc((n ? n : 1) * sizeof(*out));
        if (out == NULL)
                return false;
        size_t k = 0;
        for (size_t i = 0; i < n; i++) {
                unsigned type = ELF64_ST_TYPE(sym[i].st_info);
                if ((type != STT_FUNC && type != STT_GNU_IFUNC) || sym[i].st_shndx == SHN_UNDEF ||
                    sym[i].st_value == 0 || sym[i].st_name >= strsh->sh_size)
                        continue;
                const char *name = str + sym[i].st_name;
                if (memchr(name, '\0', strsh->sh_size - sym[i].st_name) == NULL || *name == '\0')
                        continue;
                out[k++] =
                        (pc_sym_t){sym[i].st_value, sym[i].st_size, name, rank_of(&sym[i], name)};
        }
        if (k == 0) {
                free(out);
                return false;
        }
        qsort(out, k, sizeof(*out), cmp_sym);
        /* One symbol per address: the best-ranked alias (malloc over __libc_malloc). */
        size_t u = 0;
        for (size_t i = 0; i < k; i++)
                if (u == 0 || out[u - 1].value != out[i].value)
                        out[u++] = out[i];
                else if (out[u - 1].size == 0)
                        out[u - 1].size = out[i].size;
        e->syms = out;
        e->nsyms = u;
        return true;
}

static void read_sections(pc_elf_t *e, const Elf64_Ehdr *h)
{
        const Elf64_Shdr *symtab = NULL, *dynsym = NULL;
        for (unsigned i = 0; i < h->e_shnum; i++) {
                const Elf64_Shdr *sh = section(e, h, i);
                if (sh == NULL)
                        break;
                if (sh->sh_type == SHT_SYMTAB)
                        symtab = sh;
                else if (sh->sh_type == SHT_DYNSYM)
                        dynsym = sh;
                else if (sh->sh_type == SHT_NOTE && e->build_id[0] == '\0')
                        read_notes(e, sh->sh_offset, sh->sh_size);
        }
        if (symtab != NULL && read_symtab(e, h, symtab))
                e->has_symtab = true;
        else if (dynsym != NULL)
                read_symtab(e, h, dynsym);
}

int pc_elf_open(const char *path, pc_elf_t *ret)
{
        int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
        if (fd < 0)
                return -errno;
        struct stat st;
        if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) || st.st_size < (off_t)sizeof(Elf64_Ehdr)) {
                close(fd);
                return -ENOEXEC;
        }
        void *base = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
        int e = errno;
        close(fd);
        if (base == MAP_FAILED)
                return -e;
        pc_elf_t elf;
        memset(&elf, 0, sizeof(elf));
        elf.base = base;
        elf.size = (size_t)st.st_size;
        const Elf64_Ehdr *h = base;
        if (memcmp(h->e_ident, ELFMAG, SELFMAG) != 0 || h->e_ident[EI_CLASS] != ELFCLASS64 ||
            h->e_ident[EI_DATA] != ELFDATA2LSB) {
                munmap(base, elf.size);
                return -ENOEXEC;
        }
        read_loads(&elf, h);
        read_sections(&elf, h);
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
        if (e->base != NULL)
                munmap(e->base, e->size);
        free(e->syms);
        memset(e, 0, sizeof(*e));
}
