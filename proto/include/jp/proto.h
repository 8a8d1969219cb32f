/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * jp: the codec of the jemctl control protocol (docs/protocol.md).  Pure C: no allocation,
 * no I/O, no global state, bounded in time and depth; the allocator's control thread,
 * jemctl and jemctld all use it.  Text is read from and written to caller buffers.
 */
#ifndef JP_PROTO_H
#define JP_PROTO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define JP_VERSION 1
#define JP_HDR_SIZE 4                      /* big-endian payload length */
#define JP_REQ_MAX 65536u                  /* largest request payload */
#define JP_RESP_MAX (16u * 1024 * 1024)    /* largest response payload */
#define JP_MAX_DEPTH 8                     /* nesting of a request */
#define JP_MAX_TOKENS 1024                 /* tokens of a request */
#define JP_MAX_NAMES 256                   /* names in one get/set */

/* ---- errors ------------------------------------------------------------------------ */

enum jp_err {
        JP_OK = 0,
        JP_ERR_BAD_FRAME,
        JP_ERR_TOO_LARGE,
        JP_ERR_BAD_JSON,
        JP_ERR_BAD_REQUEST,
        JP_ERR_UNSUPPORTED_VERSION,
        JP_ERR_UNKNOWN_OP,
        JP_ERR_PERMISSION,
        JP_ERR_BUSY,
        JP_ERR_TIMEOUT,
        JP_ERR_NOT_SUPPORTED,
        JP_ERR_INTERNAL,
        JP_ERR_BAD_VALUE,
        JP_NERRS
};
/* The stable code ("bad_json", ...) and a readable default message. */
const char *jp_err_code(enum jp_err e);
const char *jp_err_message(enum jp_err e);
/* mallctl's errno values as codes ("ENOENT", ...); "EUNKNOWN" for others. */
const char *jp_errno_code(int e);
const char *jp_errno_message(int e);

/* ---- framing ----------------------------------------------------------------------- */

void jp_frame_put(uint8_t hdr[JP_HDR_SIZE], uint32_t len);
uint32_t jp_frame_get(const uint8_t hdr[JP_HDR_SIZE]);
/* JP_OK, JP_ERR_BAD_FRAME (zero) or JP_ERR_TOO_LARGE (over max). */
enum jp_err jp_frame_check(uint32_t len, uint32_t max);

/* ---- reading JSON ------------------------------------------------------------------ */

enum jp_type { JP_NONE = 0, JP_OBJECT, JP_ARRAY, JP_STRING, JP_NUMBER, JP_TRUE, JP_FALSE,
               JP_NULL };

/* One token.  Objects and arrays are followed by their members (an object's as key,
 * value pairs); `next` is the index just past the token's whole subtree, so siblings are
 * reached without walking children.  Strings span their contents without the quotes. */
typedef struct jp_tok {
        uint8_t type;
        uint32_t start, end; /* byte offsets into the text */
        uint32_t size;       /* object: pairs; array: elements */
        uint32_t next;
} jp_tok_t;

/* Parses one JSON value filling the whole text (whitespace around allowed): strict
 * grammar, at most cap tokens and max_depth nesting, no duplicate keys in an object
 * (compared unescaped: "op" and "\u006fp" are the same key).  Returns the number of
 * tokens, or -1 (*err says why: always JP_ERR_BAD_JSON today, with *err_off the byte
 * offset). */
int jp_parse(const char *s, size_t len, jp_tok_t *toks, unsigned cap, unsigned max_depth,
             size_t *err_off);

/* Index of the value of key in object token obj, or -1. */
int jp_obj_find(const char *s, const jp_tok_t *toks, int obj, const char *key);
/* True if string token t equals the C string lit (after unescaping). */
bool jp_str_eq(const char *s, const jp_tok_t *t, const char *lit);
/* Unescapes string token t into out (NUL-terminated).  Returns its length, or -1 if it
 * does not fit or holds a NUL (\u0000). */
int jp_str_copy(const char *s, const jp_tok_t *t, char *out, size_t cap);
/* Integer number tokens (no fraction or exponent), range-checked. */
bool jp_get_u64(const char *s, const jp_tok_t *t, uint64_t *out);
bool jp_get_i64(const char *s, const jp_tok_t *t, int64_t *out);

/* ---- writing JSON ------------------------------------------------------------------ */

/* Appends into buf; on overflow the text is cut, `overflow` is set and len stops growing
 * (check it once at the end).  Commas and colons are placed automatically. */
typedef struct jp_writer {
        char *buf;
        size_t cap, len;
        bool overflow;
        uint8_t depth;
        bool after_key;
        bool need_comma[JP_MAX_DEPTH * 4];
} jp_writer_t;

void jp_w_init(jp_writer_t *w, char *buf, size_t cap);
void jp_w_obj(jp_writer_t *w);
void jp_w_obj_end(jp_writer_t *w);
void jp_w_arr(jp_writer_t *w);
void jp_w_arr_end(jp_writer_t *w);
void jp_w_key(jp_writer_t *w, const char *key);
void jp_w_str(jp_writer_t *w, const char *s); /* NULL writes null */
void jp_w_strn(jp_writer_t *w, const char *s, size_t n);
void jp_w_u64(jp_writer_t *w, uint64_t v);
void jp_w_i64(jp_writer_t *w, int64_t v);
void jp_w_bool(jp_writer_t *w, bool v);
void jp_w_null(jp_writer_t *w);
/* A value already in JSON (copied as is). */
void jp_w_raw(jp_writer_t *w, const char *json, size_t n);
/* Reserves n bytes for a value the caller writes itself at buf + len; returns that
 * address or NULL (overflow).  jp_w_commit(w, used) then accounts for them. */
char *jp_w_reserve(jp_writer_t *w, size_t n);
void jp_w_commit(jp_writer_t *w, size_t used);

/* ---- value kinds ------------------------------------------------------------------- */

/* How a mallctl name's C type (as `list` reports it) travels as a JSON value: booleans,
 * unsigned or signed integers, strings, null for actions (void); pointers and structs do
 * not travel (JP_K_OTHER). */
enum jp_kind { JP_K_BOOL, JP_K_U32, JP_K_U64, JP_K_I64, JP_K_STR, JP_K_VOID, JP_K_OTHER };
enum jp_kind jp_type_kind(const char *ctype);

/* ---- fragmentation ------------------------------------------------------------------- */

/* The figures derived from a stats summary, under the same names wherever they are shown
 * (jemctl stats, jemctld's JSON, the dashboard, the recording rules):
 *   frag_ratio     active / allocated: bytes of the pages holding objects per byte asked
 *                  for (size-class rounding, partly used slabs)
 *   resident_ratio resident / active: resident bytes per active byte (pages freed and not
 *                  yet purged, metadata)
 *   rss_ratio      rss / resident: the whole process's resident set per allocator byte
 *   unused_bytes   resident - allocated
 * A ratio whose divisor is 0 is NaN (null in JSON). */
typedef struct jp_frag {
        double frag_ratio, resident_ratio, rss_ratio;
        int64_t unused_bytes;
} jp_frag_t;
void jp_frag(uint64_t allocated, uint64_t active, uint64_t resident, uint64_t rss,
             jp_frag_t *f);

/* ---- selectors ----------------------------------------------------------------------- */

/* jemctl --comm / --unit and jemctld's /api/v1/select: a process's comm equals the
 * selector (both cut to the kernel's 15 bytes); a unit is a component of its cgroup path,
 * a bare name meaning NAME.service. */
#define JP_COMM_MAX 15 /* TASK_COMM_LEN - 1 */
bool jp_comm_matches(const char *comm, const char *want);
bool jp_unit_matches(const char *cgroup, const char *unit);

/* ---- vocabulary -------------------------------------------------------------------- */

/* The members of requests and results that more than one side reads or writes
 * (docs/protocol.md), so no program spells them on its own. */
#define JP_ARG_NAMES "names"         /* get: names to read; list: the names found */
#define JP_ARG_VALUES "values"       /* set: name -> value; get: name -> {value|error} */
#define JP_ARG_PREFIX "prefix"       /* list */
#define JP_ARG_FULL "full"           /* stats: the whole tree, not the summary */
#define JP_ARG_ARENA "arena"         /* purge: one arena */
#define JP_ARG_DIRTY_MS "dirty_ms"   /* decay-all */
#define JP_ARG_MUZZY_MS "muzzy_ms"   /* decay-all */
#define JP_ARG_PRESSURE "pressure"   /* purge: act as a pressure event; stats: its figures */
#define JP_ARG_ACTION "action"       /* prof: on, off, status, reset, dump */
#define JP_ARG_LG_SAMPLE "lg_sample" /* prof on / reset; prof results */
#define JP_DUMP_MAX ((uint64_t)256 << 20) /* bytes of one heap profile passed as a memfd */

/* Where the control sockets are, by one rule for every side: env_dir
 * ($JEMCTL_RUNTIME_DIR) when set and not empty, else /run/jemctl for root, else
 * xdg ($XDG_RUNTIME_DIR) + "/jemctl".  Trailing slashes are dropped (not from "/"),
 * xdg's before "/jemctl" is added.
 * Returns the length written to buf, -1 when there is none (no $XDG_RUNTIME_DIR for a
 * user), -2 when it does not fit in cap. */
#define JP_ENV_RUNTIME_DIR "JEMCTL_RUNTIME_DIR"
#define JP_RUNTIME_DIR_ROOT "/run/jemctl"
int jp_runtime_dir(const char *env_dir, const char *xdg, bool root, char *buf, size_t cap);

/* A mallctl name with its numeric components as <i> then <j> ("arena.3.purge" ->
 * "arena.<i>.purge"), into out (cap bytes, cut between components); the first two
 * numbers into nums when not NULL ("" when absent). */
void jp_name_pattern(const char *name, char *out, size_t cap, char nums[2][24]);
/* A process's cgroup from its /proc/PID/cgroup text: the unified (v2) path, unless that is
 * the root and systemd keeps its units in the v1 name=systemd hierarchy (hybrid hosts),
 * then that one.  Its length written to out, or 0 (none, or longer than cap - 1). */
size_t jp_cgroup_of(const char *text, char *out, size_t cap);
/* A duration: a positive number with an optional unit s, m, h or d (seconds without),
 * at most max seconds.  0 with *out in seconds, or -EINVAL. */
int jp_parse_duration(const char *s, double max, double *out);

/* ---- messages ---------------------------------------------------------------------- */

enum jp_op {
        JP_OP_HELLO,
        JP_OP_INFO,
        JP_OP_GET,
        JP_OP_SET,
        JP_OP_LIST,
        JP_OP_STATS,
        JP_OP_PURGE,
        JP_OP_DECAY_ALL,
        JP_OP_PROF,
        JP_NOPS
};
const char *jp_op_name(enum jp_op op);

/* A parsed request: the tokens stay in the caller's array; args is the object token. */
typedef struct jp_request {
        uint64_t id;
        enum jp_op op;
        int args; /* index of the request object */
        int ntoks;
} jp_request_t;

/* Parses and checks a request payload (version, id, op).  On error the id is still
 * filled when it could be read, so the answer can carry it. */
enum jp_err jp_request_parse(const char *s, size_t len, jp_tok_t *toks, unsigned cap,
                             jp_request_t *req);

/* Builds a request {"v":1,"id":id,"op":op, then the caller's members...}: call
 * jp_request_begin, add keys and values, then jp_request_end. */
void jp_request_begin(jp_writer_t *w, uint64_t id, enum jp_op op);
void jp_request_end(jp_writer_t *w);

/* ---- request builders ------------------------------------------------------------ */

/* The arguments of each request kind (docs/protocol.md, "Request builders"), written
 * between jp_request_begin and jp_request_end so that no caller spells an argument key.
 * Each writes members of the request object and nothing else; overflow as for any
 * writer.  hello and info take no arguments. */
#define JP_ARENA_ALL 4096u /* purge: every arena (the server's default) */

enum jp_prof_action { JP_PROF_ON, JP_PROF_OFF, JP_PROF_STATUS, JP_PROF_RESET, JP_PROF_DUMP,
                      JP_PROF_NACTIONS };
/* "on", "off", "status", "reset", "dump"; "?" for another value. */
const char *jp_prof_action_name(enum jp_prof_action a);
/* The action named s, or JP_PROF_NACTIONS if none is. */
enum jp_prof_action jp_prof_action_parse(const char *s);

/* get: "names": the n names in order. */
void jp_req_get(jp_writer_t *w, const char *const *names, size_t n);
/* get, one name at a time: begin, then each name, then end. */
void jp_req_get_begin(jp_writer_t *w);
void jp_req_get_name(jp_writer_t *w, const char *name);
void jp_req_get_end(jp_writer_t *w);
/* set: "values": begin, then one typed value per name (applied in order), then end. */
void jp_req_set_begin(jp_writer_t *w);
void jp_req_set_bool(jp_writer_t *w, const char *name, bool v);
void jp_req_set_u64(jp_writer_t *w, const char *name, uint64_t v);
void jp_req_set_i64(jp_writer_t *w, const char *name, int64_t v);
void jp_req_set_str(jp_writer_t *w, const char *name, const char *v); /* NULL: null */
void jp_req_set_null(jp_writer_t *w, const char *name);                /* void actions */
void jp_req_set_end(jp_writer_t *w);
/* list: "prefix" unless prefix is NULL (every name). */
void jp_req_list(jp_writer_t *w, const char *prefix);
/* stats: "full": the whole tree (true) or the summary (false). */
void jp_req_stats(jp_writer_t *w, bool full);
/* purge: "arena" unless arena is JP_ARENA_ALL; "pressure": true when pressure (a
 * memory-pressure event instead of one arena's purge). */
void jp_req_purge(jp_writer_t *w, uint64_t arena, bool pressure);
/* decay-all: "dirty_ms", and "muzzy_ms" when has_muzzy. */
void jp_req_decay_all(jp_writer_t *w, int64_t dirty_ms, bool has_muzzy, int64_t muzzy_ms);
/* prof: "action", and "lg_sample" when has_lg (meant for on and reset). */
void jp_req_prof(jp_writer_t *w, enum jp_prof_action action, bool has_lg, uint64_t lg_sample);

/* ---- request readers ------------------------------------------------------------- */

/* The mirror of the builders: jp_args_read reads a parsed request's arguments under the
 * same keys and checks what the protocol states of them (docs/protocol.md, "Request
 * readers"): their types, names of at most JP_NAME_MAX - 1 bytes without NUL, at most
 * JP_MAX_NAMES of them, an arena index of at most JP_ARENA_ALL, decay times of at least
 * -1, lg_sample 0 to 63.  Keys a kind does not know are ignored.  Whatever only the
 * server can know (how many arenas it has, which names exist, repeated names) it checks
 * after. */
#define JP_NAME_MAX 256 /* bytes of a mallctl name in a request, with its NUL */

typedef struct jp_args {
        int names;              /* get: the "names" array's token; set: the "values"
                                 * object's; -1 for the others (walk: jp_names_*) */
        char prefix[JP_NAME_MAX]; /* list: unescaped; "" when absent (every name) */
        bool full;                /* stats */
        uint64_t arena;           /* purge: JP_ARENA_ALL when absent */
        bool pressure;            /* purge */
        int64_t dirty_ms;         /* decay-all */
        bool has_muzzy;
        int64_t muzzy_ms;
        enum jp_prof_action action; /* prof */
        bool has_lg;
        uint64_t lg_sample;
} jp_args_t;

/* JP_OK with *a filled (absent arguments at their defaults), or JP_ERR_BAD_REQUEST with
 * *msg saying what the argument must be.  hello and info: JP_OK. */
enum jp_err jp_args_read(const char *s, const jp_tok_t *toks, const jp_request_t *req,
                         jp_args_t *a, const char **msg);

/* The names of a get (the strings of its array) or a set (the keys of its object, each
 * with its value), in request order. */
typedef struct jp_names_iter {
        const jp_tok_t *toks;
        uint32_t next, left;
        bool object;
} jp_names_iter_t;
void jp_names_begin(jp_names_iter_t *it, const jp_tok_t *toks, int names);
/* The next name's token and, for a set, its value's (-1 for a get); false at the end. */
bool jp_names_next(jp_names_iter_t *it, int *name, int *value);

/* {"v":1,"id":id,"ok":true,"result": ... } */
void jp_response_begin(jp_writer_t *w, uint64_t id);
void jp_response_end(jp_writer_t *w);
/* A whole error response; message NULL uses the default one. */
void jp_response_error(jp_writer_t *w, uint64_t id, enum jp_err e, const char *message);

#endif
