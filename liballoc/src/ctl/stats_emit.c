/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * stats_emit: the printer's emitter (jemalloc's emitter, reduced to what stats_print.c
 * uses): the same calls produce the human text or one compact JSON document.  Output is
 * formatted into the caller's 4 KiB buffer, without allocation or the printf family, and
 * handed to write_cb (or la_message) each time the buffer fills.
 */
#include "ctl/stats_emit.h"

#include <string.h>

#include "os/util.h"

void em_flush(em_t *em)
{
        if (em->len == 0)
                return;
        em->buf[em->len] = '\0';
        if (em->cb != NULL)
                em->cb(em->opaque, em->buf);
        else
                la_message(em->buf);
        em->len = 0;
}

void em_write(em_t *em, const char *s, size_t n)
{
        while (n > 0) {
                size_t room = EM_BUF - 1 - em->len;
                if (room == 0) {
                        em_flush(em);
                        continue;
                }
                size_t k = n < room ? n : room;
                memcpy(em->buf + em->len, s, k);
                em->len += k;
                s += k;
                n -= k;
        }
}

void em_puts(em_t *em, const char *s)
{
        em_write(em, s, strlen(s));
}

void em_putc(em_t *em, char c)
{
        em_write(em, &c, 1);
}

void em_pad(em_t *em, size_t n)
{
        static const char spaces[] = "                                ";
        while (n > 0) {
                size_t k = n < sizeof(spaces) - 1 ? n : sizeof(spaces) - 1;
                em_write(em, spaces, k);
                n -= k;
        }
}

void em_json_string(em_t *em, const char *s)
{
        static const char hex[] = "0123456789abcdef";
        const char *run = s;
        em_putc(em, '"');
        for (; *s != '\0'; s++) {
                unsigned char c = (unsigned char)*s;
                if (c >= 0x20 && c != '"' && c != '\\')
                        continue;
                em_write(em, run, (size_t)(s - run));
                char esc[7] = {'\\', (char)c, '\0', '\0', '\0', '\0', '\0'};
                if (c == '\n')
                        esc[1] = 'n';
                else if (c == '\t')
                        esc[1] = 't';
                else if (c == '\r')
                        esc[1] = 'r';
                else if (c < 0x20) {
                        esc[1] = 'u';
                        esc[2] = '0';
                        esc[3] = '0';
                        esc[4] = hex[c >> 4];
                        esc[5] = hex[c & 15];
                }
                em_puts(em, esc);
                run = s + 1;
        }
        em_write(em, run, (size_t)(s - run));
        em_putc(em, '"');
}

/* Writes v, padded to width with the given justification (text only). */
void em_value(em_t *em, val_t v, int just, size_t width)
{
        char num[24];
        const char *s;
        size_t n, quotes = 0;
        switch (v.t) {
        case V_BOOL:
                s = v.b ? "true" : "false";
                break;
        case V_U64:
                s = la_fmt_u64(num, v.u);
                break;
        case V_I64:
                s = la_fmt_i64(num, v.i);
                break;
        case V_STR:
                if (em->json) {
                        em_json_string(em, v.s);
                        return;
                }
                s = v.s;
                quotes = 2;
                break;
        default:
                s = v.s;
                break;
        }
        n = strlen(s) + quotes;
        if (just == JUST_RIGHT && width > n)
                em_pad(em, width - n);
        if (quotes != 0)
                em_putc(em, '"');
        em_puts(em, s);
        if (quotes != 0)
                em_putc(em, '"');
        if (just == JUST_LEFT && width > n)
                em_pad(em, width - n);
}

/* -- JSON -- */

void em_json_key_prefix(em_t *em)
{
        if (em->emitted_key) {
                em->emitted_key = false;
                return;
        }
        if (em->item_at_depth)
                em_putc(em, ',');
}

void em_json_key(em_t *em, const char *key)
{
        if (!em->json)
                return;
        em_json_key_prefix(em);
        em_json_string(em, key);
        em_putc(em, ':');
        em->emitted_key = true;
}

void em_json_value(em_t *em, val_t v)
{
        if (!em->json)
                return;
        em_json_key_prefix(em);
        em_value(em, v, JUST_NONE, 0);
        em->item_at_depth = true;
}

void em_json_kv(em_t *em, const char *key, val_t v)
{
        em_json_key(em, key);
        em_json_value(em, v);
}

void em_json_open(em_t *em, char c)
{
        if (!em->json)
                return;
        em_json_key_prefix(em);
        em_putc(em, c);
        em->depth++;
        em->item_at_depth = false;
}

void em_json_close(em_t *em, char c)
{
        if (!em->json)
                return;
        em->depth--;
        em->item_at_depth = true;
        em_putc(em, c);
}

void em_json_object_begin(em_t *em)
{
        em_json_open(em, '{');
}
void em_json_object_kv_begin(em_t *em, const char *key)
{
        em_json_key(em, key);
        em_json_open(em, '{');
}
void em_json_object_end(em_t *em)
{
        em_json_close(em, '}');
}
void em_json_array_kv_begin(em_t *em, const char *key)
{
        em_json_key(em, key);
        em_json_open(em, '[');
}
void em_json_array_end(em_t *em)
{
        em_json_close(em, ']');
}

/* -- text -- */

void em_text(em_t *em, const char *s)
{
        if (!em->json)
                em_puts(em, s);
}

void em_text_u(em_t *em, uint64_t v)
{
        char num[24];
        if (!em->json)
                em_puts(em, la_fmt_u64(num, v));
}

/* Table cells: no separators, the widths include the gaps (as jemalloc's rows). */
void em_cell_u(em_t *em, size_t width, uint64_t v)
{
        em_value(em, vu(v), JUST_RIGHT, width);
}
void em_cell_i(em_t *em, size_t width, int64_t v)
{
        em_value(em, vi(v), JUST_RIGHT, width);
}
void em_cell_t(em_t *em, size_t width, const char *s)
{
        em_value(em, vt(s), JUST_RIGHT, width);
}
void em_cell_l(em_t *em, size_t width, const char *s)
{
        em_value(em, vt(s), JUST_LEFT, width);
}

/* -- both -- */

/* "json_key":v, or in text "<indent>table_key: v[ (note_key: note)]\n". */
void em_kv_note(em_t *em, const char *json_k, const char *table_k, val_t v, const char *note_k,
                val_t note)
{
        if (em->json) {
                em_json_kv(em, json_k, v);
                return;
        }
        em_pad(em, (size_t)em->depth * 2);
        em_puts(em, table_k);
        em_puts(em, ": ");
        em_value(em, v, JUST_NONE, 0);
        if (note_k != NULL) {
                em_puts(em, " (");
                em_puts(em, note_k);
                em_puts(em, ": ");
                em_value(em, note, JUST_NONE, 0);
                em_putc(em, ')');
        }
        em_putc(em, '\n');
        em->item_at_depth = true;
}

void em_kv(em_t *em, const char *json_k, const char *table_k, val_t v)
{
        em_kv_note(em, json_k, table_k, v, NULL, vb(false));
}

void em_dict_begin(em_t *em, const char *json_k, const char *table_header)
{
        if (em->json) {
                em_json_object_kv_begin(em, json_k);
                return;
        }
        em_pad(em, (size_t)em->depth * 2);
        em_puts(em, table_header);
        em_putc(em, '\n');
        em->depth++;
        em->item_at_depth = false;
}

void em_dict_end(em_t *em)
{
        if (em->json) {
                em_json_object_end(em);
                return;
        }
        em->depth--;
        em->item_at_depth = true;
}
