/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * jcl answer: reading one answer of a control socket (docs/protocol.md, "Responses"):
 * {"v":1, "id":N, "ok":true, "result":{...}} or {"ok":false, "error":{"code":C,
 * "message":M}}.  Shared by jemctl and jemctld so both sides read answers by one rule.
 */
#ifndef JCL_ANSWER_H
#define JCL_ANSWER_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

enum jcl_answer_kind {
        JCL_ANSWER_OK,        /* result set (a new reference to an object) */
        JCL_ANSWER_ERROR,     /* the process refused or failed: code and message set */
        JCL_ANSWER_MALFORMED, /* not an answer of the protocol: why set */
};

typedef struct jcl_answer {
        json_t *result;
        char code[64];     /* the error code, "" otherwise */
        char message[512]; /* the error message ("" if none), as sent (unsanitized) */
        char why[256];     /* what is malformed */
} jcl_answer_t;

/* Parses len bytes of one answer to the request of id: a JSON object (duplicate keys
 * refused; integers past 2^63 read as reals rather than refusing the answer) with a
 * boolean "ok", an "id" absent, 0 or id, and either an object "result" or an "error" with
 * a string "code".  Returns the kind; a->result is the caller's to json_decref. */
enum jcl_answer_kind jcl_answer_parse(const char *buf, size_t len, uint64_t id,
                                      jcl_answer_t *a);

#endif
