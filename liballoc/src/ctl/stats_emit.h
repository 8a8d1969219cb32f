/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * stats_emit: text and JSON output for malloc_stats_print (stats_print.c).
 */
#ifndef LA_STATS_EMIT_H
#define LA_STATS_EMIT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define EM_BUF 4096

/* jemalloc's emitter, reduced to what the printer uses.  JSON is always compact. */
typedef struct em {
        void (*cb)(void *, const char *);
        void *opaque;
        bool json;
        bool item_at_depth; /* JSON: a value was already written at this depth */
        bool emitted_key;   /* JSON: a key was written; its value comes next */
        int depth;          /* JSON: object nesting; text: dict indentation */
        size_t len;
        char buf[EM_BUF];
} em_t;

/* A value: bool, unsigned or signed integer, string (quoted in both forms, escaped in
 * JSON) or title (a bare table word). */
enum vtype { V_BOOL, V_U64, V_I64, V_STR, V_TITLE };
typedef struct val {
        enum vtype t;
        union {
                bool b;
                uint64_t u;
                int64_t i;
                const char *s;
        };
} val_t;

static inline val_t vb(bool b)
{
        val_t v = {.t = V_BOOL, .b = b};
        return v;
}
static inline val_t vu(uint64_t u)
{
        val_t v = {.t = V_U64, .u = u};
        return v;
}
static inline val_t vi(int64_t i)
{
        val_t v = {.t = V_I64, .i = i};
        return v;
}
static inline val_t vs(const char *s)
{
        val_t v = {.t = V_STR, .s = s != NULL ? s : ""};
        return v;
}
static inline val_t vt(const char *s)
{
        val_t v = {.t = V_TITLE, .s = s != NULL ? s : ""};
        return v;
}

/* Justification of a text cell. */
enum { JUST_NONE, JUST_LEFT, JUST_RIGHT };

void em_flush(em_t *em);
void em_write(em_t *em, const char *s, size_t n);
void em_puts(em_t *em, const char *s);
void em_putc(em_t *em, char c);
void em_pad(em_t *em, size_t n);
void em_json_string(em_t *em, const char *s);
void em_value(em_t *em, val_t v, int just, size_t width);
void em_json_key_prefix(em_t *em);
void em_json_key(em_t *em, const char *key);
void em_json_value(em_t *em, val_t v);
void em_json_kv(em_t *em, const char *key, val_t v);
void em_json_open(em_t *em, char c);
void em_json_close(em_t *em, char c);
void em_json_object_begin(em_t *em);
void em_json_object_kv_begin(em_t *em, const char *key);
void em_json_object_end(em_t *em);
void em_json_array_kv_begin(em_t *em, const char *key);
void em_json_array_end(em_t *em);
void em_text(em_t *em, const char *s);
void em_text_u(em_t *em, uint64_t v);
void em_cell_u(em_t *em, size_t width, uint64_t v);
void em_cell_i(em_t *em, size_t width, int64_t v);
void em_cell_t(em_t *em, size_t width, const char *s);
void em_cell_l(em_t *em, size_t width, const char *s);
void em_kv_note(em_t *em, const char *json_k, const char *table_k, val_t v, const char *note_k,
                val_t note);
void em_kv(em_t *em, const char *json_k, const char *table_k, val_t v);
void em_dict_begin(em_t *em, const char *json_k, const char *table_header);
void em_dict_end(em_t *em);

#endif
