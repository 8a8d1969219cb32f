/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * errors: the protocol's stable error codes and mallctl's errno values, with readable
 * default messages.
 */
#include <errno.h>

#include "jp/proto.h"

static const struct {
        const char *code, *message;
} errs[JP_NERRS] = {
        [JP_OK] = {"ok", "no error"},
        [JP_ERR_BAD_FRAME] = {"bad_frame", "malformed frame (zero length or cut short)"},
        [JP_ERR_TOO_LARGE] = {"too_large", "frame longer than the protocol allows"},
        [JP_ERR_BAD_JSON] = {"bad_json", "the payload is not one well-formed JSON object"},
        [JP_ERR_BAD_REQUEST] = {"bad_request", "a required member is missing or mistyped"},
        [JP_ERR_UNSUPPORTED_VERSION] = {"unsupported_version",
                                        "protocol version not supported (this server: 1)"},
        [JP_ERR_UNKNOWN_OP] = {"unknown_op", "unknown operation"},
        [JP_ERR_PERMISSION] = {"permission_denied", "not allowed for this peer"},
        [JP_ERR_BUSY] = {"busy", "too many clients; try again"},
        [JP_ERR_TIMEOUT] = {"timeout", "the request did not arrive in time"},
        [JP_ERR_NOT_SUPPORTED] = {"not_supported", "not available in this build"},
        [JP_ERR_INTERNAL] = {"internal", "internal error"},
        [JP_ERR_BAD_VALUE] = {"bad_value", "the value does not fit the name's type"},
};

const char *jp_err_code(enum jp_err e)
{
        return (unsigned)e < JP_NERRS ? errs[e].code : "internal";
}

const char *jp_err_message(enum jp_err e)
{
        return (unsigned)e < JP_NERRS ? errs[e].message : "internal error";
}

const char *jp_errno_code(int e)
{
        switch (e) {
        case ENOENT: return "ENOENT";
        case EINVAL: return "EINVAL";
        case EPERM: return "EPERM";
        case EFAULT: return "EFAULT";
        case EAGAIN: return "EAGAIN";
        default: return "EUNKNOWN";
        }
}

const char *jp_errno_message(int e)
{
        switch (e) {
        case ENOENT: return "no such name (or index, or the feature is not built)";
        case EINVAL: return "invalid value or size";
        case EPERM: return "not allowed in this direction (read-only or write-only name)";
        case EFAULT: return "the action failed";
        case EAGAIN: return "out of memory";
        default: return "unexpected mallctl error";
        }
}
