/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * profconv: reads heap profiles in jemalloc's heap_v2 text format (what liballoc's and
 * jemalloc's prof.dump write, docs/profiling.md) and converts them for the usual readers:
 * pprof's profile.proto (gzip), folded stacks and a self-contained SVG flame graph.
 *
 * The steps are separate so that each can be tested on its own:
 *   pc_heap_parse   text -> pc_profile_t (strict: bad input is an error with a line number)
 *   pc_resolve      pc_profile_t -> pc_resolved_t: symbols from the mapped ELF files,
 *                   allocator frames trimmed, counts unbiased as jeprof does
 *   pc_write_*      pc_resolved_t -> bytes in a pc_buf_t
 * Library code: nothing here prints; every fallible call returns 0 or a negative errno and
 * fills a pc_error_t with the reason.  All calls may allocate (malloc); none takes locks.
 */
#ifndef PC_PROFCONV_H
#define PC_PROFCONV_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* Limits (value, and why). */
#define PC_MAX_FRAMES 1024        /* jemalloc stops at 128; other producers go deeper */
#define PC_MAX_INPUT (1ull << 31) /* 2 GiB of text: far beyond any real dump */
#define PC_MAX_PATH 4096          /* PATH_MAX: longer map paths are refused */
/* Reading mapped ELF files (pc_resolve): a dump names the files, so a hostile one must not
 * make a conversion read without end.  Past a limit, frames stay unsymbolized. */
#define PC_MAX_ELF_FILE_READ (256ull << 20) /* bytes read from one file (its header,
                                               segment and section tables, notes, symbol
                                               and string tables); far above libc's 4 MiB */
#define PC_MAX_ELF_TOTAL_READ (1ull << 30)  /* bytes read from all files of a conversion */
#define PC_MAX_ELF_FILES 1024               /* distinct files (device, inode) opened per
                                               conversion, separate debug files included */

/* Why a call failed: a message and, for parse errors, the 1-based line (0 if none). */
typedef struct pc_error {
        unsigned line;
        char msg[200];
} pc_error_t;

/* ---- the parsed profile --------------------------------------------------------------- */

typedef struct pc_counts {
        uint64_t cur_objs, cur_bytes; /* live (in-use) */
        uint64_t cum_objs, cum_bytes; /* cumulative, the bracket fields ([0: 0] unless
                                         prof_accum) */
} pc_counts_t;

typedef struct pc_thread {
        uint64_t uid;
        pc_counts_t c;
        char *name; /* "" when the line has none */
} pc_thread_t;

typedef struct pc_record {
        uint64_t *pcs; /* innermost first, as dumped (return addresses but the first) */
        size_t npcs;
        pc_counts_t c; /* the record's t* line */
} pc_record_t;

typedef struct pc_map {
        uint64_t start, end, offset, inode;
        char perms[5]; /* "r-xp" */
        char *path;    /* "" for anonymous mappings */
} pc_map_t;

typedef struct pc_profile {
        uint64_t period; /* R of heap_v2/R: mean bytes between samples */
        pc_counts_t total;
        pc_thread_t *threads;
        size_t nthreads;
        pc_record_t *records;
        size_t nrecords;
        pc_map_t *maps;
        size_t nmaps;
        bool has_maps; /* the MAPPED_LIBRARIES section was present */
} pc_profile_t;

/* Parses a heap_v2 text (len bytes, need not be NUL-terminated).  0 with *ret filled, or
 * -EINVAL (malformed: err says what and on which line) or -ENOMEM; *ret is untouched on
 * failure. */
int pc_heap_parse(const char *buf, size_t len, pc_profile_t *ret, pc_error_t *err);
void pc_profile_free(pc_profile_t *p);

/* jeprof's unbiasing of one record's pair (objs, bytes) sampled every `period` bytes on
 * average: both scaled by 1/(1-exp(-(bytes/objs)/period)).  (0, 0) stays (0, 0). */
void pc_unbias(uint64_t period, uint64_t objs, uint64_t bytes, double *ret_objs, double *ret_bytes);

/* ---- symbols and trimming ------------------------------------------------------------- */

typedef struct pc_frame {
        uint64_t addr;        /* the address looked up: pc, or pc-1 for a return address */
        int32_t map;          /* index in pc_resolved_t.maps, -1 if in no mapped file */
        const char *func;     /* function name (C++ demangled), NULL if unknown */
        const char *sys_name; /* the name in the symbol table (mangled), NULL if unknown */
} pc_frame_t;

typedef struct pc_sample {
        size_t first, n; /* frames[first .. first+n), innermost first, allocator trimmed */
        int64_t alloc_objs, alloc_bytes, inuse_objs, inuse_bytes; /* unbiased, rounded */
} pc_sample_t;

/* A mapped file that frames point into. */
typedef struct pc_rmap {
        uint64_t start, limit, offset;
        const char *path;
        char build_id[41 + 40]; /* lowercase hex, "" if none or unreadable */
        bool symbolized;        /* its file was read and had a symbol table */
} pc_rmap_t;

struct pc_symtab_cache;

typedef struct pc_resolved {
        pc_sample_t *samples;
        size_t nsamples;
        pc_frame_t *frames;
        size_t nframes;
        pc_rmap_t *maps;
        size_t nmaps;
        uint64_t period;
        size_t nrefused; /* mapped paths not read because the credentials may not (or the
                            path is a link, a kernel file, not a regular file) */
        struct pc_symtab_cache *files; /* owns the names frames point to */
} pc_resolved_t;

/* Whose access mapped files are opened with: the profiled process's file system uid, gid
 * and supplementary groups.  A dump names its files, and whoever converts it (often root)
 * must not read on its behalf what its process could not: a file is read only if these
 * credentials may search every directory on its path and read it (the kernel's
 * owner/group/other rule on the mode bits; uid 0 may read anything; ACLs and capabilities
 * other than root's are not considered), and only if the path holds no symbolic link, no
 * ".." and nothing on a kernel file system (/proc, /sys, ...), and names a regular file. */
#define PC_MAX_GROUPS 64 /* supplementary groups kept; beyond, fewer files are read */
typedef struct pc_creds {
        uid_t uid;
        gid_t gid;
        size_t ngroups;
        gid_t groups[PC_MAX_GROUPS];
} pc_creds_t;

/* The file system credentials of process pid (the fourth ids of Uid: and Gid:, and
 * Groups: of /proc/PID/status).  0, or a negative errno (-EINVAL: unreadable status). */
int pc_creds_of_pid(int pid, pc_creds_t *ret);
/* The caller's own effective credentials. */
void pc_creds_self(pc_creds_t *ret);
/* Whether c may access the inode st as want says (PC_PERM_*, or-ed). */
#define PC_PERM_READ 4u
#define PC_PERM_SEARCH 1u
struct stat;
bool pc_creds_permit(const pc_creds_t *c, const struct stat *st, unsigned want);

typedef struct pc_resolve_opts {
        const char *root; /* read mapped files under this prefix (e.g. /proc/PID/root), or
                             NULL */
        const pc_creds_t *creds; /* whose access files are read with (above); NULL: the
                                    caller's own (pc_creds_self) */
        bool no_trim;     /* keep the allocator's own frames */
        bool no_symbols;  /* do not read any file */
        bool no_demangle; /* keep C++ names mangled */
        /* Lower limits than PC_MAX_ELF_FILE_READ and PC_MAX_ELF_FILES (0: those). */
        uint64_t max_file_read;
        size_t max_files;
} pc_resolve_opts_t;

/* Symbolizes, trims and unbiases p.  0, or -ENOMEM.  Files that are missing, are not ELF,
 * are refused for the credentials (counted in nrefused) or are over the limits above are
 * not errors: their frames keep the raw address.  Each
 * file is read once, by (device, inode), whatever the spellings of its path in the dump; it
 * is read with pread, never mapped, so a file truncated meanwhile cannot fault. */
int pc_resolve(const pc_profile_t *p, const pc_resolve_opts_t *o, pc_resolved_t *ret,
               pc_error_t *err);
void pc_resolved_free(pc_resolved_t *r);

/* True if name is an allocator entry point jeprof trims at (malloc, operator new, ...). */
bool pc_is_alloc_function(const char *name);
/* True if the mapped file (a path) is the allocator itself (liballoc.so*, libjemalloc.so*). */
bool pc_is_alloc_library(const char *path);

/* A frame's display name: the function, else "file+0xOFFSET", else "0xADDR".  Writes
 * into buf (cap bytes, at least 64) when it has to build one; returns buf or the name. */
const char *pc_frame_name(const pc_resolved_t *r, const pc_frame_t *f, char *buf, size_t cap);

/* ---- writers -------------------------------------------------------------------------- */

/* A growable byte buffer; free with pc_buf_free. */
typedef struct pc_buf {
        char *data;
        size_t len, cap;
        bool failed; /* an append ran out of memory; the contents are incomplete */
} pc_buf_t;
void pc_buf_free(pc_buf_t *b);

/* pprof profile.proto, gzip-compressed (what `go tool pprof` reads).  0, -ENOMEM or -EIO
 * (zlib failed). */
int pc_write_pprof(const pc_resolved_t *r, pc_buf_t *out, pc_error_t *err);
/* Several profiles as one pprof profile (gzip), e.g. the processes of one service: each
 * part's mappings and locations are its own, functions are shared by name, each sample is
 * labelled pid (a number) when the part's pid is > 0.  The period is the first part's;
 * time_nanos (> 0) is written as the profile's time.  0, -ENOMEM or -EIO. */
typedef struct pc_pprof_part {
        const pc_resolved_t *r;
        int64_t pid; /* 0: no label */
} pc_pprof_part_t;
int pc_write_pprof_parts(const pc_pprof_part_t *parts, size_t n, int64_t time_nanos,
                         pc_buf_t *out, pc_error_t *err);
/* The uncompressed profile.proto message (tests decode it). */
int pc_write_pprof_raw(const pc_resolved_t *r, pc_buf_t *out, pc_error_t *err);
/* Folded stacks: "outer;...;inner BYTES\n", in-use bytes, identical stacks merged, sorted
 * by stack text.  0 or -ENOMEM. */
int pc_write_folded(const pc_resolved_t *r, pc_buf_t *out, pc_error_t *err);
/* A flame graph as one SVG document (no scripts, no external resources): widths by in-use
 * bytes, each box titled with its function, bytes and share.  title may be NULL. */
int pc_write_svg(const pc_resolved_t *r, const char *title, pc_buf_t *out, pc_error_t *err);

#endif
