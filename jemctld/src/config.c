/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * config: reads jemctld.conf ("key = value" lines, # comments) and turns each setting into
 * the "--key=value" argument of the long option of the same name (config.h says why).
 */
#define _GNU_SOURCE /* asprintf */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"

static char cfg_path[4096];
/* Origins of the file's settings: argument index 1 + k is origins[k] ("FILE:LINE: "). */
static char **origins;
static int norigins;
/* The vector built and the file's arguments in it: kept here, so they stay reachable (and
 * are not reported as leaks) until jd_config_free. */
static char **built;
static char **file_args;
static int nfile_args;

const char *jd_config_path(void)
{
        return cfg_path;
}

const char *jd_config_origin(int i)
{
        if (i >= 1 && i - 1 < norigins)
                return origins[i - 1];
        return "";
}

static char *trim(char *s)
{
        while (*s == ' ' || *s == '\t')
                s++;
        size_t n = strlen(s);
        while (n > 0 &&
               (s[n - 1] == ' ' || s[n - 1] == '\t' || s[n - 1] == '\r' || s[n - 1] == '\n'))
                s[--n] = '\0';
        return s;
}

/* 1 true, 0 false, -1 neither. */
static int parse_bool(const char *v)
{
        static const char *const yes[] = {"true", "yes", "on", "1"};
        static const char *const no[] = {"false", "no", "off", "0"};
        for (size_t i = 0; i < sizeof(yes) / sizeof(yes[0]); i++) {
                if (strcasecmp(v, yes[i]) == 0)
                        return 1;
                if (strcasecmp(v, no[i]) == 0)
                        return 0;
        }
        return -1;
}

static const struct option *find_key(const struct option *longopts, const char *key)
{
        if (strcmp(key, "config") == 0 || strcmp(key, "help") == 0 || strcmp(key, "version") == 0)
                return NULL;
        for (const struct option *o = longopts; o->name != NULL; o++)
                if (strcmp(o->name, key) == 0)
                        return o;
        return NULL;
}

/* --config FILE or --config=FILE before "--"; NULL if absent, "" if it lacks its value. */
static const char *config_arg(int argc, char **argv)
{
        const char *found = NULL;
        for (int i = 1; i < argc; i++) {
                if (strcmp(argv[i], "--") == 0)
                        break;
                if (strcmp(argv[i], "--config") == 0)
                        found = i + 1 < argc ? argv[++i] : "";
                else if (strncmp(argv[i], "--config=", 9) == 0)
                        found = argv[i] + 9;
        }
        return found;
}

static int add_arg(char ***v, int *n, int *cap, char *s)
{
        if (*n == *cap) {
                int c = *cap ? *cap * 2 : 16;
                char **nv = realloc(*v, (size_t)c * sizeof(**v));
                if (nv == NULL)
                        return -1;
                *v = nv;
                *cap = c;
        }
        (*v)[(*n)++] = s;
        return 0;
}

/* Reads the file into args (and origins); 0 or 2 with the message printed. */
static int read_file(FILE *f, const struct option *longopts, char ***args, int *nargs)
{
        char line[JD_CONFIG_LINE_MAX + 2];
        int cap = 0, ocap = 0, lineno = 0;
        while (fgets(line, sizeof(line), f) != NULL) {
                lineno++;
                size_t len = strlen(line);
                if (len == sizeof(line) - 1 && line[len - 1] != '\n' && !feof(f)) {
                        fprintf(stderr, "jemctld: %s:%d: line longer than %d bytes\n", cfg_path,
                                lineno, JD_CONFIG_LINE_MAX);
                        return 2;
                }
                char *s = trim(line);
                if (s[0] == '\0' || s[0] == '#')
                        continue;
                char *eq = strchr(s, '=');
                if (eq == NULL) {
                        fprintf(stderr, "jemctld: %s:%d: expected \"key = value\", got \"%s\"\n",
                                cfg_path, lineno, s);
                        return 2;
                }
                *eq = '\0';
                char *key = trim(s), *val = trim(eq + 1);
                /* A trailing comment: " # ..." after the value, or in place of it. */
                char *hash = val[0] == '#' ? val : strstr(val, " #");
                if (hash == NULL)
                        hash = strstr(val, "\t#");
                if (hash != NULL) {
                        *hash = '\0';
                        val = trim(val);
                }
                const struct option *o = find_key(longopts, key);
                if (o == NULL) {
                        fprintf(stderr,
                                "jemctld: %s:%d: unknown key \"%s\" (the keys are the "
                                "long options: see jemctld(8))\n",
                                cfg_path, lineno, key);
                        return 2;
                }
                if (val[0] == '\0') {
                        fprintf(stderr, "jemctld: %s:%d: %s: missing value\n", cfg_path, lineno,
                                key);
                        return 2;
                }
                char *arg = NULL;
                if (o->has_arg == no_argument) {
                        int b = parse_bool(val);
                        if (b < 0) {
                                fprintf(stderr,
                                        "jemctld: %s:%d: %s: \"%s\" is not a boolean "
                                        "(true or false)\n",
                                        cfg_path, lineno, key, val);
                                return 2;
                        }
                        if (b == 0)
                                continue;
                        if (asprintf(&arg, "--%s", key) < 0)
                                arg = NULL;
                } else if (asprintf(&arg, "--%s=%s", key, val) < 0) {
                        arg = NULL;
                }
                char *where = NULL;
                if (arg == NULL || asprintf(&where, "%s:%d: ", cfg_path, lineno) < 0 ||
                    add_arg(args, nargs, &cap, arg) != 0 ||
                    add_arg(&origins, &norigins, &ocap, where) != 0) {
                        fprintf(stderr, "jemctld: out of memory\n");
                        return 2;
                }
        }
        if (ferror(f)) {
                fprintf(stderr, "jemctld: cannot read %s: %s\n", cfg_path, strerror(errno));
                return 2;
        }
        return 0;
}

int jd_config_argv(int argc, char **argv, const struct option *longopts, int *ret_argc,
                   char ***ret_argv)
{
        const char *path = config_arg(argc, argv);
        bool explicit = path != NULL;
        if (path != NULL && path[0] == '\0') {
                fprintf(stderr, "jemctld: --config needs a file\n");
                return 2;
        }
        if (path == NULL)
                path = JD_CONFIG_DEFAULT;
        char **args = NULL;
        int nargs = 0;
        FILE *f = fopen(path, "re");
        if (f == NULL && (explicit || errno != ENOENT)) {
                fprintf(stderr, "jemctld: cannot read the configuration file %s: %s\n", path,
                        strerror(errno));
                return 2;
        }
        if (f != NULL) {
                snprintf(cfg_path, sizeof(cfg_path), "%s", path);
                int rc = read_file(f, longopts, &args, &nargs);
                fclose(f);
                file_args = args; /* reachable, for jd_config_free */
                nfile_args = nargs;
                if (rc != 0)
                        return rc;
        }
        char **v = calloc((size_t)(argc + nargs + 1), sizeof(*v));
        if (v == NULL) {
                fprintf(stderr, "jemctld: out of memory\n");
                return 2;
        }
        v[0] = argv[0];
        for (int i = 0; i < nargs; i++)
                v[1 + i] = args[i];
        for (int i = 1; i < argc; i++)
                v[nargs + i] = argv[i];
        built = v;
        file_args = args;
        nfile_args = nargs;
        *ret_argc = argc + nargs;
        *ret_argv = v;
        return 0;
}

void jd_config_free(void)
{
        for (int i = 0; i < nfile_args; i++)
                free(file_args[i]);
        free(file_args);
        for (int i = 0; i < norigins; i++)
                free(origins[i]);
        free(origins);
        free(built);
        file_args = origins = built = NULL;
        nfile_args = norigins = 0;
}
