/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * kinds: which JSON value carries a mallctl name of a given C type (shared by the server
 * and the clients, so both sides agree on every type).
 */
#include <string.h>

#include "jp/proto.h"

enum jp_kind jp_type_kind(const char *ctype)
{
        static const struct {
                const char *type;
                enum jp_kind kind;
        } map[] = {
                {"bool", JP_K_BOOL},     {"unsigned", JP_K_U32},     {"uint32_t", JP_K_U32},
                {"fxp_t", JP_K_U32},     {"size_t", JP_K_U64},       {"uint64_t", JP_K_U64},
                {"ssize_t", JP_K_I64},   {"int64_t", JP_K_I64},      {"const char *", JP_K_STR},
                {"void", JP_K_VOID},
        };
        for (size_t i = 0; ctype != NULL && i < sizeof(map) / sizeof(map[0]); i++)
                if (strcmp(ctype, map[i].type) == 0)
                        return map[i].kind;
        return JP_K_OTHER;
}
