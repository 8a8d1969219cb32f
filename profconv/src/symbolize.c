/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * symbolize: from a parsed profile to resolved samples.  Each address is matched to its
 * executable mapping, the mapped file (under an optional root, for a process in another
 * mount namespace; only if the process's credentials could read it, path_open.c) is read
 * once, and the address becomes a function name through the
 * file's symbol table.  Then, per record, the allocator's frames are trimmed and the
 * counts unbiased exactly as jeprof does.
 */
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "buf.h"
#include "demangle.h"
#include "elf_file.h"
#include "path_open.h"
#include "pc/profconv.h"

/* One distinct file (device, inode), read on first use. */
typedef struct file_entry {
        dev_t dev;
        ino_t ino;
        bool ok; /* read as an ELF file */
        pc_elf_t elf;
        pc_elf_t debug; /* its separate debug file, when it has no .symtab itself */
        bool has_debug;
} file_entry_t;

#define MAP_UNSEEN (-1)  /* file_of_map: not looked up yet */
#define MAP_NO_FILE (-2) /* file_of_map: no readable file (missing, not regular, a limit) */

/* Distinct path spellings looked up (stat) per conversion: far above the libraries of any
 * process, and what bounds the work of a dump naming one file in millions of ways. */
#define MAX_PATH_LOOKUPS (4 * PC_MAX_ELF_FILES)

struct pc_symtab_cache {
        file_entry_t *files;
        size_t nfiles, cap_files;
        size_t nopened;     /* files opened, debug files included (<= max_files) */
        size_t nlookups;    /* paths looked up (<= MAX_PATH_LOOKUPS) */
        size_t nrefused;    /* paths refused for the credentials (path_open.c) */
        pc_creds_t creds;   /* whose access files are opened with */
        uint64_t read_left; /* bytes all files may still have read (PC_MAX_ELF_TOTAL_READ) */
        char **paths;       /* copies of the map paths, owned */
        size_t npaths;
        uint32_t *by_start;   /* indexes of the resolved maps, sorted by start address */
        int32_t *file_of_map; /* per resolved map: its entry in files, or MAP_* */
        uint32_t *first_map;  /* per resolved map: the first map with the same path */
        pc_demangler_t demangler;
};

void pc_unbias(uint64_t period, uint64_t objs, uint64_t bytes, double *ret_objs, double *ret_bytes)
{
        double o = (double)objs, b = (double)bytes;
        if (objs != 0 && period != 0) {
                double ratio = (b / o) / (double)period;
                double scale = 1.0 / (1.0 - exp(-ratio));
                o *= scale;
                b *= scale;
        }
        *ret_objs = o;
        *ret_bytes = b;
}

static int64_t round_i64(double v)
{
        if (!(v < 9.2e18))
                return INT64_MAX;
        return (int64_t)llround(v);
}

/* Reads the tables of the file l found into *elf within the byte limits (l is closed).
 * False if it cannot be opened, was replaced meanwhile, or is not ELF. */
static bool read_file(struct pc_symtab_cache *fc, pc_leaf_t *l, const pc_resolve_opts_t *o,
                      pc_elf_t *elf)
{
        int fd = pc_path_open(l);
        if (fd < 0)
                return false;
        bool ok = false;
        if (l->st.st_size > 0) {
                uint64_t per_file = o->max_file_read != 0 && o->max_file_read < PC_MAX_ELF_FILE_READ
                                            ? o->max_file_read
                                            : PC_MAX_ELF_FILE_READ;
                uint64_t budget = per_file < fc->read_left ? per_file : fc->read_left;
                uint64_t before = budget;
                ok = pc_elf_read(fd, (uint64_t)l->st.st_size, &budget, elf) == 0;
                fc->read_left -= before - budget;
        }
        close(fd);
        return ok;
}

/* Looks path up for the credentials (path_open.c); counts a refusal.  0 or an errno. */
static int lookup_path(struct pc_symtab_cache *fc, const char *path, const pc_resolve_opts_t *o,
                       pc_leaf_t *l)
{
        int rc = pc_path_lookup(o->root, path, &fc->creds, l);
        if (rc == -EACCES || rc == -ELOOP || rc == -ENOTDIR)
                fc->nrefused++;
        return rc;
}

/* Its separate debug file, for an entry read without a .symtab: distributions strip the
 * symbol table into a file found by build-id (libc6-dbg and the like), with the same
 * addresses. */
static void read_debug(struct pc_symtab_cache *fc, file_entry_t *f, const pc_resolve_opts_t *o,
                       size_t max_files)
{
        char path[160];
        pc_leaf_t l;
        if (!f->ok || f->elf.has_symtab || strlen(f->elf.build_id) <= 2 || fc->nopened >= max_files)
                return;
        snprintf(path, sizeof(path), "/usr/lib/debug/.build-id/%.2s/%s.debug", f->elf.build_id,
                 f->elf.build_id + 2);
        if (lookup_path(fc, path, o, &l) != 0)
                return;
        fc->nopened++;
        if (read_file(fc, &l, o, &f->debug)) {
                if (f->debug.nsyms > 0)
                        f->has_debug = true;
                else
                        pc_elf_close(&f->debug);
        }
}

/* The entry of the file at path (as the dump names it), or MAP_NO_FILE. */
static int32_t open_path(struct pc_symtab_cache *fc, const char *path, const pc_resolve_opts_t *o)
{
        if (o->no_symbols || path[0] != '/' || strlen(path) >= PC_MAX_PATH ||
            fc->nlookups >= MAX_PATH_LOOKUPS)
                return MAP_NO_FILE;
        fc->nlookups++;
        /* Only regular files the process could read: never a device, a FIFO, /proc or a
         * file behind a directory its user may not enter. */
        pc_leaf_t l;
        if (lookup_path(fc, path, o, &l) != 0)
                return MAP_NO_FILE;
        /* The same file under another spelling ("//", "/./", a hard link) is the same
         * entry: read once. */
        for (size_t i = 0; i < fc->nfiles; i++)
                if (fc->files[i].dev == l.st.st_dev && fc->files[i].ino == l.st.st_ino) {
                        pc_path_close(&l);
                        return (int32_t)i;
                }
        size_t max_files = o->max_files != 0 && o->max_files < PC_MAX_ELF_FILES ? o->max_files
                                                                                : PC_MAX_ELF_FILES;
        if (fc->nopened >= max_files || fc->nfiles == fc->cap_files) {
                size_t nc = fc->cap_files ? 2 * fc->cap_files : 16;
                file_entry_t *d = fc->nopened >= max_files ? NULL
                                                           : realloc(fc->files, nc * sizeof(*d));
                if (d == NULL) {
                        pc_path_close(&l);
                        return MAP_NO_FILE;
                }
                fc->files = d;
                fc->cap_files = nc;
        }
        file_entry_t *f = &fc->files[fc->nfiles];
        memset(f, 0, sizeof(*f));
        f->dev = l.st.st_dev;
        f->ino = l.st.st_ino;
        fc->nopened++;
        f->ok = read_file(fc, &l, o, &f->elf);
        read_debug(fc, f, o, max_files);
        return (int32_t)fc->nfiles++;
}

static file_entry_t *file_of(pc_resolved_t *r, int32_t map, const pc_resolve_opts_t *o)
{
        struct pc_symtab_cache *fc = r->files;
        if (fc->file_of_map[map] == MAP_UNSEEN) {
                uint32_t first = fc->first_map[map];
                if (fc->file_of_map[first] == MAP_UNSEEN)
                        fc->file_of_map[first] = open_path(fc, r->maps[first].path, o);
                fc->file_of_map[map] = fc->file_of_map[first];
        }
        int32_t i = fc->file_of_map[map];
        return i >= 0 && fc->files[i].ok ? &fc->files[i] : NULL;
}

/* The executable, file-backed mappings, in the dump's order (the program first). */
static int collect_maps(const pc_profile_t *p, pc_resolved_t *r)
{
        r->maps = calloc(p->nmaps ? p->nmaps : 1, sizeof(*r->maps));
        r->files = calloc(1, sizeof(*r->files));
        if (r->maps == NULL || r->files == NULL)
                return -ENOMEM;
        r->files->read_left = PC_MAX_ELF_TOTAL_READ;
        r->files->paths = calloc(p->nmaps ? p->nmaps : 1, sizeof(char *));
        if (r->files->paths == NULL)
                return -ENOMEM;
        for (size_t i = 0; i < p->nmaps; i++) {
                const pc_map_t *m = &p->maps[i];
                if (m->perms[2] != 'x' || m->path[0] == '\0' || m->path[0] == '[')
                        continue;
                char *path = strdup(m->path);
                if (path == NULL)
                        return -ENOMEM;
                r->files->paths[r->files->npaths++] = path;
                r->maps[r->nmaps++] = (pc_rmap_t){
                        .start = m->start, .limit = m->end, .offset = m->offset, .path = path};
        }
        return 0;
}

static const pc_rmap_t *sort_maps_base;

static int cmp_start(const void *a, const void *b)
{
        uint64_t x = sort_maps_base[*(const uint32_t *)a].start;
        uint64_t y = sort_maps_base[*(const uint32_t *)b].start;
        return x < y ? -1 : x > y;
}

static uint64_t hash_str(const char *s)
{
        uint64_t h = 14695981039346656037ull;
        for (; *s; s++)
                h = (h ^ (unsigned char)*s) * 1099511628211ull;
        return h;
}

/* first_map: per map, the first map with the same path (through a hash table, so that a
 * dump of millions of maps costs linear time). */
static int index_paths(pc_resolved_t *r)
{
        size_t cap = 16;
        while (cap < 2 * r->nmaps)
                cap *= 2;
        uint32_t *tab = calloc(cap, sizeof(*tab)); /* 1 + a map index, 0: empty */
        if (tab == NULL)
                return -ENOMEM;
        for (size_t i = 0; i < r->nmaps; i++) {
                size_t k = (size_t)hash_str(r->maps[i].path) & (cap - 1);
                while (tab[k] != 0 && strcmp(r->maps[tab[k] - 1].path, r->maps[i].path) != 0)
                        k = (k + 1) & (cap - 1);
                if (tab[k] == 0)
                        tab[k] = (uint32_t)i + 1;
                r->files->first_map[i] = tab[k] - 1;
        }
        free(tab);
        return 0;
}

static int index_maps(pc_resolved_t *r)
{
        uint32_t *v = malloc((r->nmaps ? r->nmaps : 1) * sizeof(*v));
        if (v == NULL)
                return -ENOMEM;
        for (size_t i = 0; i < r->nmaps; i++)
                v[i] = (uint32_t)i;
        sort_maps_base = r->maps;
        qsort(v, r->nmaps, sizeof(*v), cmp_start);
        r->files->by_start = v;
        r->files->file_of_map = malloc((r->nmaps ? r->nmaps : 1) * sizeof(int32_t));
        r->files->first_map = malloc((r->nmaps ? r->nmaps : 1) * sizeof(uint32_t));
        if (r->files->file_of_map == NULL || r->files->first_map == NULL)
                return -ENOMEM;
        for (size_t i = 0; i < r->nmaps; i++)
                r->files->file_of_map[i] = MAP_UNSEEN;
        return index_paths(r);
}

/* The mapping containing addr: the last one starting at or below it (maps do not
 * overlap in /proc/PID/maps; if a hostile dump makes them, one of them is taken). */
static int32_t find_map(const pc_resolved_t *r, uint64_t addr)
{
        const uint32_t *v = r->files->by_start;
        size_t lo = 0, hi = r->nmaps;
        while (lo < hi) {
                size_t mid = lo + (hi - lo) / 2;
                if (r->maps[v[mid]].start <= addr)
                        lo = mid + 1;
                else
                        hi = mid;
        }
        if (lo > 0 && addr < r->maps[v[lo - 1]].limit)
                return (int32_t)v[lo - 1];
        return -1;
}

static const char *lookup(pc_resolved_t *r, int32_t map, uint64_t addr, const pc_resolve_opts_t *o)
{
        if (map < 0)
                return NULL;
        file_entry_t *f = file_of(r, map, o);
        pc_rmap_t *m = &r->maps[map];
        if (f == NULL)
                return NULL;
        if (m->build_id[0] == '\0')
                snprintf(m->build_id, sizeof(m->build_id), "%s", f->elf.build_id);
        if (f->elf.nsyms > 0 || f->has_debug)
                m->symbolized = true;
        uint64_t vaddr;
        if (!pc_elf_vaddr(&f->elf, addr - m->start + m->offset, &vaddr))
                return NULL;
        const char *name = f->has_debug ? pc_elf_lookup(&f->debug, vaddr) : NULL;
        return name != NULL ? name : pc_elf_lookup(&f->elf, vaddr);
}

/* What one looked-up address resolves to.  A profile repeats the same few hundred
 * addresses over its stacks (10,000 stacks of 30 frames hold a few hundred functions), so
 * each is looked up once (the lookups were two thirds of a large profile's conversion). */
typedef struct addr_info {
        uint64_t addr;
        int32_t map;
        bool used, is_alloc;
        const char *func, *sys;
} addr_info_t;

typedef struct addr_cache {
        addr_info_t *slots;
        size_t cap, n;
} addr_cache_t;

/* The slot of addr (used or the empty one where it goes); NULL out of memory. */
static addr_info_t *cache_slot(addr_cache_t *c, uint64_t addr)
{
        if (c->n * 2 >= c->cap) {
                size_t nc = c->cap ? c->cap * 2 : 1024;
                addr_info_t *ns = calloc(nc, sizeof(*ns));
                if (ns == NULL)
                        return NULL;
                for (size_t i = 0; i < c->cap; i++) {
                        if (!c->slots[i].used)
                                continue;
                        size_t j = (c->slots[i].addr * 0x9e3779b97f4a7c15ull >> 20) & (nc - 1);
                        while (ns[j].used)
                                j = (j + 1) & (nc - 1);
                        ns[j] = c->slots[i];
                }
                free(c->slots);
                c->slots = ns;
                c->cap = nc;
        }
        size_t j = (addr * 0x9e3779b97f4a7c15ull >> 20) & (c->cap - 1);
        while (c->slots[j].used && c->slots[j].addr != addr)
                j = (j + 1) & (c->cap - 1);
        return &c->slots[j];
}

static const addr_info_t *resolve_addr(pc_resolved_t *r, addr_cache_t *c, uint64_t a,
                                       const pc_resolve_opts_t *o)
{
        addr_info_t *e = cache_slot(c, a);
        if (e == NULL || e->used)
                return e;
        int32_t map = find_map(r, a);
        const char *sys = lookup(r, map, a, o);
        const char *func = o->no_demangle ? sys : pc_demangle(&r->files->demangler, sys);
        bool is_alloc = pc_is_alloc_function(sys) || pc_is_alloc_function(func) ||
                        (map >= 0 && pc_is_alloc_library(r->maps[map].path));
        *e = (addr_info_t){a, map, true, is_alloc, func, sys};
        c->n++;
        return e;
}

static int resolve_record(const pc_profile_t *p, const pc_record_t *rec, pc_resolved_t *r,
                          const pc_resolve_opts_t *o, size_t *cap_frames, addr_cache_t *cache)
{
        /* Allocated even for a record without frames: frames is never NULL below (NULL + 0
         * and memmove(NULL, ...) are undefined). */
        if (r->frames == NULL || r->nframes + rec->npcs > *cap_frames) {
                size_t nc = *cap_frames ? *cap_frames : 1024;
                while (nc < r->nframes + rec->npcs)
                        nc *= 2;
                pc_frame_t *d = realloc(r->frames, nc * sizeof(*d));
                if (d == NULL)
                        return -ENOMEM;
                r->frames = d;
                *cap_frames = nc;
        }
        pc_frame_t *fr = r->frames + r->nframes;
        size_t keep_from = 0;
        for (size_t i = 0; i < rec->npcs; i++) {
                /* Every frame but the innermost holds a return address: the call is
                 * the instruction before it. */
                uint64_t a = rec->pcs[i] - (i > 0 && rec->pcs[i] > 0 ? 1 : 0);
                const addr_info_t *e = resolve_addr(r, cache, a, o);
                if (e == NULL)
                        return -ENOMEM;
                fr[i] = (pc_frame_t){a, e->map, e->func, e->sys};
                if (!o->no_trim && e->is_alloc)
                        keep_from = i + 1;
        }
        size_t n = rec->npcs - keep_from;
        if (keep_from > 0 && n > 0)
                memmove(fr, fr + keep_from, n * sizeof(*fr));
        pc_sample_t *s = &r->samples[r->nsamples++];
        s->first = r->nframes;
        s->n = n;
        r->nframes += n;
        double objs, bytes;
        pc_unbias(p->period, rec->c.cur_objs, rec->c.cur_bytes, &objs, &bytes);
        s->inuse_objs = round_i64(objs);
        s->inuse_bytes = round_i64(bytes);
        pc_unbias(p->period, rec->c.cum_objs, rec->c.cum_bytes, &objs, &bytes);
        s->alloc_objs = round_i64(objs);
        s->alloc_bytes = round_i64(bytes);
        return 0;
}

int pc_resolve(const pc_profile_t *p, const pc_resolve_opts_t *o, pc_resolved_t *ret,
               pc_error_t *err)
{
        static const pc_resolve_opts_t defaults;
        pc_resolved_t r;
        memset(&r, 0, sizeof(r));
        if (o == NULL)
                o = &defaults;
        r.period = p->period;
        int rc = collect_maps(p, &r);
        if (rc == 0 && o->creds != NULL)
                r.files->creds = *o->creds;
        else if (rc == 0)
                pc_creds_self(&r.files->creds);
        if (rc == 0)
                rc = index_maps(&r);
        if (rc == 0 &&
            (r.samples = calloc(p->nrecords ? p->nrecords : 1, sizeof(*r.samples))) == NULL)
                rc = -ENOMEM;
        size_t cap_frames = 0;
        addr_cache_t cache = {0};
        for (size_t i = 0; rc == 0 && i < p->nrecords; i++)
                rc = resolve_record(p, &p->records[i], &r, o, &cap_frames, &cache);
        free(cache.slots);
        if (r.files != NULL)
                r.nrefused = r.files->nrefused;
        if (rc != 0) {
                pc_set_error(err, 0, "out of memory resolving the profile");
                pc_resolved_free(&r);
                return rc;
        }
        *ret = r;
        return 0;
}

void pc_resolved_free(pc_resolved_t *r)
{
        if (r->files != NULL) {
                for (size_t i = 0; i < r->files->nfiles; i++) {
                        if (r->files->files[i].ok)
                                pc_elf_close(&r->files->files[i].elf);
                        if (r->files->files[i].has_debug)
                                pc_elf_close(&r->files->files[i].debug);
                }
                free(r->files->by_start);
                free(r->files->file_of_map);
                free(r->files->first_map);
                pc_demangler_free(&r->files->demangler);
                for (size_t i = 0; i < r->files->npaths; i++)
                        free(r->files->paths[i]);
                free(r->files->files);
                free(r->files->paths);
                free(r->files);
        }
        free(r->samples);
        free(r->frames);
        free(r->maps);
        memset(r, 0, sizeof(*r));
}

const char *pc_frame_name(const pc_resolved_t *r, const pc_frame_t *f, char *buf, size_t cap)
{
        if (f->func != NULL)
                return f->func;
        if (f->map >= 0) {
                const pc_rmap_t *m = &r->maps[f->map];
                const char *base = strrchr(m->path, '/');
                snprintf(buf, cap, "%s+0x%llx", base != NULL ? base + 1 : m->path,
                         (unsigned long long)(f->addr - m->start + m->offset));
        } else {
                snprintf(buf, cap, "0x%llx", (unsigned long long)f->addr);
        }
        return buf;
}
