/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * pprof: the resolved profile as pprof's profile.proto (github.com/google/pprof,
 * proto/profile.proto), shaped like a Go heap profile so that `go tool pprof` shows it
 * with its usual views: sample types alloc_objects/count, alloc_space/bytes,
 * inuse_objects/count, inuse_space/bytes (default inuse_space), period space/bytes = R.
 * Locations are the looked-up addresses (pc-1 for return addresses), each with one Line
 * naming its function when the symbol is known; mappings are the executable files.
 * Several processes' profiles can be written as one (pc_write_pprof_parts): their
 * mappings and locations stay apart, functions of the same name are one, and each sample
 * carries a numeric label pid.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "buf.h"
#include "pb.h"
#include "pc/profconv.h"

/* profile.proto field numbers. */
enum {
        PROFILE_SAMPLE_TYPE = 1,
        PROFILE_SAMPLE = 2,
        PROFILE_MAPPING = 3,
        PROFILE_LOCATION = 4,
        PROFILE_FUNCTION = 5,
        PROFILE_STRING_TABLE = 6,
        PROFILE_TIME_NANOS = 9,
        PROFILE_PERIOD_TYPE = 11,
        PROFILE_PERIOD = 12,
        PROFILE_DEFAULT_SAMPLE_TYPE = 14,
        VALUE_TYPE_TYPE = 1,
        VALUE_TYPE_UNIT = 2,
        SAMPLE_LOCATION_ID = 1,
        SAMPLE_VALUE = 2,
        SAMPLE_LABEL = 3,
        LABEL_KEY = 1,
        LABEL_NUM = 3,
        MAPPING_ID = 1,
        MAPPING_START = 2,
        MAPPING_LIMIT = 3,
        MAPPING_OFFSET = 4,
        MAPPING_FILENAME = 5,
        MAPPING_BUILD_ID = 6,
        MAPPING_HAS_FUNCTIONS = 7,
        LOCATION_ID = 1,
        LOCATION_MAPPING_ID = 2,
        LOCATION_ADDRESS = 3,
        LOCATION_LINE = 4,
        LINE_FUNCTION_ID = 1,
        FUNCTION_ID = 1,
        FUNCTION_NAME = 2,
        FUNCTION_SYSTEM_NAME = 3,
};

/* An open-addressing table from a key (a string or an address/mapping pair) to an id. */
typedef struct slot {
        const char *str;
        uint64_t addr;
        int64_t map;
        uint64_t id; /* 0: empty */
} slot_t;

typedef struct table {
        slot_t *slots;
        size_t cap, n;
} table_t;

static uint64_t hash_str(const char *s)
{
        uint64_t h = 1469598103934665603ull; /* FNV-1a */
        for (; *s; s++)
                h = (h ^ (unsigned char)*s) * 1099511628211ull;
        return h;
}

static uint64_t hash_loc(uint64_t addr, int64_t map)
{
        uint64_t h = addr * 0x9e3779b97f4a7c15ull ^ (uint64_t)map * 0xc2b2ae3d27d4eb4full;
        return h ^ h >> 29;
}

static bool same(const slot_t *s, const char *str, uint64_t addr, int64_t map)
{
        if (str != NULL)
                return s->str != NULL && strcmp(s->str, str) == 0;
        return s->str == NULL && s->addr == addr && s->map == map;
}

/* The id of the key; new keys get next_id (then *is_new).  0 when out of memory. */
static uint64_t intern(table_t *t, const char *str, uint64_t addr, int64_t map, uint64_t next_id,
                       bool *is_new)
{
        *is_new = false;
        if (t->n * 2 >= t->cap) {
                size_t nc = t->cap ? t->cap * 2 : 256;
                slot_t *ns = calloc(nc, sizeof(*ns));
                if (ns == NULL)
                        return 0;
                for (size_t i = 0; i < t->cap; i++) {
                        if (t->slots[i].id == 0)
                                continue;
                        const slot_t *o = &t->slots[i];
                        uint64_t h = o->str ? hash_str(o->str) : hash_loc(o->addr, o->map);
                        size_t j = h & (nc - 1);
                        while (ns[j].id != 0)
                                j = (j + 1) & (nc - 1);
                        ns[j] = *o;
                }
                free(t->slots);
                t->slots = ns;
                t->cap = nc;
        }
        uint64_t h = str ? hash_str(str) : hash_loc(addr, map);
        size_t j = h & (t->cap - 1);
        while (t->slots[j].id != 0) {
                if (same(&t->slots[j], str, addr, map))
                        return t->slots[j].id;
                j = (j + 1) & (t->cap - 1);
        }
        t->slots[j] = (slot_t){str, addr, map, next_id};
        t->n++;
        *is_new = true;
        return next_id;
}

typedef struct builder {
        pc_buf_t out;     /* the Profile message */
        pc_buf_t strings; /* string_table entries, encoded as they are added */
        table_t str_ids, func_ids, loc_ids;
        uint64_t nstrings, nfuncs, nlocs;
        uint64_t nmaps;      /* real mappings of all parts; id nmaps + 1 is the empty one */
        uint64_t map_base;   /* the first mapping id of the part being written, less 1 */
        int64_t part;        /* its index: addresses in no file are per part */
        bool need_empty_map; /* some location is in no mapped file */
        bool failed;
} builder_t;

/* The string table index of s (ids are index + 1 in the table, so "" is 0). */
static uint64_t str_index(builder_t *b, const char *s)
{
        bool is_new;
        uint64_t id = intern(&b->str_ids, s, 0, 0, b->nstrings + 1, &is_new);
        if (id == 0) {
                b->failed = true;
                return 0;
        }
        if (is_new) {
                b->nstrings++;
                pc_pb_bytes(&b->strings, PROFILE_STRING_TABLE, s, strlen(s));
        }
        return id - 1;
}

static void value_type(builder_t *b, unsigned field, const char *type, const char *unit)
{
        pc_buf_t m = {0};
        pc_pb_int(&m, VALUE_TYPE_TYPE, str_index(b, type));
        pc_pb_int(&m, VALUE_TYPE_UNIT, str_index(b, unit));
        pc_pb_bytes(&b->out, field, m.data, m.len);
        b->failed |= m.failed;
        pc_buf_free(&m);
}

static uint64_t function_id(builder_t *b, const char *name, const char *sys_name)
{
        bool is_new;
        uint64_t id = intern(&b->func_ids, name, 0, 0, b->nfuncs + 1, &is_new);
        if (id == 0) {
                b->failed = true;
                return 0;
        }
        if (is_new) {
                b->nfuncs++;
                pc_buf_t m = {0};
                pc_pb_int(&m, FUNCTION_ID, id);
                pc_pb_int(&m, FUNCTION_NAME, str_index(b, name));
                pc_pb_int(&m, FUNCTION_SYSTEM_NAME,
                          str_index(b, sys_name != NULL ? sys_name : name));
                pc_pb_bytes(&b->out, PROFILE_FUNCTION, m.data, m.len);
                b->failed |= m.failed;
                pc_buf_free(&m);
        }
        return id;
}

static uint64_t location_id(builder_t *b, const pc_frame_t *f)
{
        bool is_new;
        /* Keyed by the mapping id over all parts: the same address in two processes is
         * two locations. */
        int64_t key = f->map >= 0 ? (int64_t)(b->map_base + (uint64_t)f->map) : -1 - b->part;
        uint64_t id = intern(&b->loc_ids, NULL, f->addr, key, b->nlocs + 1, &is_new);
        if (id == 0) {
                b->failed = true;
                return 0;
        }
        if (is_new) {
                b->nlocs++;
                uint64_t fid = f->func != NULL ? function_id(b, f->func, f->sys_name) : 0;
                pc_buf_t m = {0};
                pc_pb_int(&m, LOCATION_ID, id);
                /* Every location names a mapping (some consumers, Pyroscope among them,
                 * refuse one without); addresses in no file get the empty mapping
                 * written after the real ones, as Go does when it has no maps. */
                uint64_t map_id = f->map >= 0 ? b->map_base + (uint64_t)f->map + 1 : b->nmaps + 1;
                b->need_empty_map |= f->map < 0;
                pc_pb_int(&m, LOCATION_MAPPING_ID, map_id);
                pc_pb_int(&m, LOCATION_ADDRESS, f->addr);
                if (fid != 0) {
                        pc_buf_t line = {0};
                        pc_pb_int(&line, LINE_FUNCTION_ID, fid);
                        pc_pb_bytes(&m, LOCATION_LINE, line.data, line.len);
                        m.failed |= line.failed;
                        pc_buf_free(&line);
                }
                pc_pb_bytes(&b->out, PROFILE_LOCATION, m.data, m.len);
                b->failed |= m.failed;
                pc_buf_free(&m);
        }
        return id;
}

static void sample(builder_t *b, const pc_resolved_t *r, const pc_sample_t *s, int64_t pid)
{
        uint64_t locs[PC_MAX_FRAMES];
        size_t n = s->n < PC_MAX_FRAMES ? s->n : PC_MAX_FRAMES;
        for (size_t i = 0; i < n; i++)
                locs[i] = location_id(b, &r->frames[s->first + i]); /* leaf first */
        uint64_t values[4] = {(uint64_t)s->alloc_objs, (uint64_t)s->alloc_bytes,
                              (uint64_t)s->inuse_objs, (uint64_t)s->inuse_bytes};
        pc_buf_t m = {0};
        pc_pb_packed(&m, SAMPLE_LOCATION_ID, locs, n);
        pc_pb_packed(&m, SAMPLE_VALUE, values, 4);
        if (pid > 0) {
                pc_buf_t l = {0};
                pc_pb_int(&l, LABEL_KEY, str_index(b, "pid"));
                pc_pb_int(&l, LABEL_NUM, (uint64_t)pid);
                pc_pb_bytes(&m, SAMPLE_LABEL, l.data, l.len);
                m.failed |= l.failed;
                pc_buf_free(&l);
        }
        pc_pb_bytes(&b->out, PROFILE_SAMPLE, m.data, m.len);
        b->failed |= m.failed;
        pc_buf_free(&m);
}

static void mapping(builder_t *b, const pc_rmap_t *m, uint64_t id)
{
        pc_buf_t e = {0};
        pc_pb_int(&e, MAPPING_ID, id);
        pc_pb_int(&e, MAPPING_START, m->start);
        pc_pb_int(&e, MAPPING_LIMIT, m->limit);
        pc_pb_int(&e, MAPPING_OFFSET, m->offset);
        pc_pb_int(&e, MAPPING_FILENAME, str_index(b, m->path));
        pc_pb_int(&e, MAPPING_BUILD_ID, str_index(b, m->build_id));
        if (m->symbolized)
                pc_pb_int(&e, MAPPING_HAS_FUNCTIONS, 1);
        pc_pb_bytes(&b->out, PROFILE_MAPPING, e.data, e.len);
        b->failed |= e.failed;
        pc_buf_free(&e);
}

static int write_raw(const pc_pprof_part_t *parts, size_t n, int64_t time_nanos,
                     pc_buf_t *out, pc_error_t *err)
{
        builder_t b;
        memset(&b, 0, sizeof(b));
        for (size_t p = 0; p < n; p++)
                b.nmaps += parts[p].r->nmaps;
        str_index(&b, ""); /* index 0 */
        value_type(&b, PROFILE_SAMPLE_TYPE, "alloc_objects", "count");
        value_type(&b, PROFILE_SAMPLE_TYPE, "alloc_space", "bytes");
        value_type(&b, PROFILE_SAMPLE_TYPE, "inuse_objects", "count");
        value_type(&b, PROFILE_SAMPLE_TYPE, "inuse_space", "bytes");
        uint64_t period = 0;
        for (size_t p = 0; p < n; p++) {
                const pc_resolved_t *r = parts[p].r;
                b.part = (int64_t)p;
                for (size_t i = 0; i < r->nsamples; i++)
                        sample(&b, r, &r->samples[i], parts[p].pid);
                for (size_t i = 0; i < r->nmaps; i++)
                        mapping(&b, &r->maps[i], b.map_base + i + 1);
                b.map_base += r->nmaps;
                if (period == 0)
                        period = r->period;
        }
        if (b.need_empty_map) {
                static const pc_rmap_t empty = {.path = ""};
                mapping(&b, &empty, b.nmaps + 1);
        }
        if (time_nanos > 0)
                pc_pb_int(&b.out, PROFILE_TIME_NANOS, (uint64_t)time_nanos);
        value_type(&b, PROFILE_PERIOD_TYPE, "space", "bytes");
        pc_pb_int(&b.out, PROFILE_PERIOD, period);
        pc_pb_int(&b.out, PROFILE_DEFAULT_SAMPLE_TYPE, str_index(&b, "inuse_space"));
        pc_buf_add(&b.out, b.strings.data, b.strings.len);
        int rc = b.failed || b.out.failed || b.strings.failed ? -ENOMEM : 0;
        free(b.str_ids.slots);
        free(b.func_ids.slots);
        free(b.loc_ids.slots);
        pc_buf_free(&b.strings);
        if (rc != 0) {
                pc_buf_free(&b.out);
                pc_set_error(err, 0, "out of memory writing the pprof profile");
                return rc;
        }
        *out = b.out;
        return 0;
}

int pc_write_pprof_raw(const pc_resolved_t *r, pc_buf_t *out, pc_error_t *err)
{
        pc_pprof_part_t one = {r, 0};
        return write_raw(&one, 1, 0, out, err);
}

/* raw (freed) as gzip into *out. */
static int gzip(pc_buf_t raw, pc_buf_t *out, pc_error_t *err)
{
        z_stream z;
        memset(&z, 0, sizeof(z));
        /* windowBits 15 + 16: a gzip wrapper, as pprof expects. */
        if (deflateInit2(&z, Z_DEFAULT_COMPRESSION, Z_DEFLATED, 31, 8, Z_DEFAULT_STRATEGY) !=
            Z_OK) {
                pc_buf_free(&raw);
                pc_set_error(err, 0, "zlib: deflateInit2 failed");
                return -EIO;
        }
        pc_buf_t gz = {0};
        size_t bound = deflateBound(&z, raw.len);
        gz.data = malloc(bound);
        if (gz.data == NULL) {
                deflateEnd(&z);
                pc_buf_free(&raw);
                pc_set_error(err, 0, "out of memory compressing the pprof profile");
                return -ENOMEM;
        }
        gz.cap = bound;
        z.next_in = (Bytef *)raw.data;
        z.avail_in = (uInt)raw.len;
        z.next_out = (Bytef *)gz.data;
        z.avail_out = (uInt)bound;
        int zr = raw.len > UINT32_MAX ? Z_BUF_ERROR : deflate(&z, Z_FINISH);
        gz.len = bound - z.avail_out;
        deflateEnd(&z);
        pc_buf_free(&raw);
        if (zr != Z_STREAM_END) {
                pc_buf_free(&gz);
                pc_set_error(err, 0, "zlib: deflate failed (%d)", zr);
                return -EIO;
        }
        *out = gz;
        return 0;
}

int pc_write_pprof(const pc_resolved_t *r, pc_buf_t *out, pc_error_t *err)
{
        pc_buf_t raw;
        int rc = pc_write_pprof_raw(r, &raw, err);
        return rc != 0 ? rc : gzip(raw, out, err);
}

int pc_write_pprof_parts(const pc_pprof_part_t *parts, size_t n, int64_t time_nanos,
                         pc_buf_t *out, pc_error_t *err)
{
        pc_buf_t raw;
        int rc = write_raw(parts, n, time_nanos, &raw, err);
        return rc != 0 ? rc : gzip(raw, out, err);
}
