/* SPDX-License-Identifier: BSD-2-Clause */
/* answer: one answer of a control socket, checked member by member (jcl/answer.h). */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include <jcl/answer.h>

static enum jcl_answer_kind malformed(jcl_answer_t *a, const char *fmt, ...)
        __attribute__((format(printf, 2, 3)));
static enum jcl_answer_kind malformed(jcl_answer_t *a, const char *fmt, ...)
{
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(a->why, sizeof(a->why), fmt, ap);
        va_end(ap);
        return JCL_ANSWER_MALFORMED;
}

static enum jcl_answer_kind check(json_t *doc, uint64_t id, jcl_answer_t *a)
{
        json_t *ok = json_object_get(doc, "ok");
        json_t *jid = json_object_get(doc, "id");
        if (!json_is_object(doc))
                return malformed(a, "not a JSON object");
        if (!json_is_boolean(ok))
                return malformed(a, "no \"ok\" member");
        if (jid != NULL && (!json_is_integer(jid) || json_integer_value(jid) < 0 ||
                            ((uint64_t)json_integer_value(jid) != id &&
                             json_integer_value(jid) != 0)))
                return malformed(a, "the answer's id does not match the request's");
        if (json_is_true(ok)) {
                json_t *r = json_object_get(doc, "result");
                if (!json_is_object(r))
                        return malformed(a, "no result object");
                a->result = json_incref(r);
                return JCL_ANSWER_OK;
        }
        json_t *e = json_object_get(doc, "error");
        const char *code = json_string_value(json_object_get(e, "code"));
        const char *msg = json_string_value(json_object_get(e, "message"));
        if (code == NULL)
                return malformed(a, "an error without a code");
        snprintf(a->code, sizeof(a->code), "%s", code);
        snprintf(a->message, sizeof(a->message), "%s", msg != NULL ? msg : "");
        return JCL_ANSWER_ERROR;
}

enum jcl_answer_kind jcl_answer_parse(const char *buf, size_t len, uint64_t id,
                                      jcl_answer_t *a)
{
        memset(a, 0, sizeof(*a));
        json_error_t err;
        json_t *doc = json_loadb(buf, len, JSON_REJECT_DUPLICATES, &err);
        if (doc == NULL && strstr(err.text, "too big") != NULL)
                doc = json_loadb(buf, len, JSON_REJECT_DUPLICATES | JSON_DECODE_INT_AS_REAL,
                                 &err);
        if (doc == NULL)
                return malformed(a, "%s (at byte %d)", err.text, err.position);
        enum jcl_answer_kind k = check(doc, id, a);
        json_decref(doc);
        return k;
}
