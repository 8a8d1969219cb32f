/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * jemctl: verb dispatch and options.  jemctl VERB [ARGS] [OPTIONS]: options may appear
 * anywhere (before the verb too), "--" ends them, and an argument that looks like a
 * negative number ("-1") is an argument, not an option.
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "jemctl.h"

#ifndef JEMCTL_VERSION
#define JEMCTL_VERSION "unknown"
#endif

static jc_opts_t opts = {.timeout = 5.0, .interval = 2.0};
const jc_opts_t *jc_opt = &opts;

jc_opts_t *jc_opts_mut(void)
{
        return &opts;
}

typedef struct verb {
        const char *name;
        int (*fn)(int argc, char **argv);
        int min_args, max_args; /* positional arguments after the verb; -1: no limit */
        const char *options;    /* verb-specific options, space separated */
        const char *synopsis;
        const char *help; /* what `jemctl VERB --help` says below the synopsis */
} verb_t;

static const verb_t verbs[] = {
        {"ps", cmd_ps, 0, 0, "--clean", "ps [--clean]",
         "Lists the processes with a control socket: pid, command, allocated, active,\n"
         "resident and rss bytes, decay times.  --clean removes the socket files of\n"
         "processes that are gone."},
        {"stats", cmd_stats, 1, 1, "--full", "stats PID [--full]",
         "The process's memory figures, fragmentation, decay, memory-pressure counters\n"
         "and one line per arena.  --full: malloc_stats_print's whole report."},
        {"get", cmd_get, 2, -1, "", "get PID NAME...",
         "Reads mallctl names (jemalloc's, e.g. stats.resident, arena.0.dirty_decay_ms).\n"
         "stats.* are refreshed first.  'jemctl ls PID' lists the names."},
        {"set", cmd_set, 2, -1, "", "set PID NAME=VALUE...",
         "Writes mallctl names, each converted to the name's type first; an action takes\n"
         "NAME= (e.g. arena.4096.purge=).  arenas.dirty_decay_ms is only the default of\n"
         "new arenas: 'jemctl decay' changes every arena."},
        {"decay", cmd_decay, 2, 3, "", "decay PID DIRTY_MS [MUZZY_MS]",
         "Sets the decay times of every arena and of new ones, on the live process;\n"
         "0 hands freed memory back at once, -1 never.  Prints RSS before and after."},
        {"purge", cmd_purge, 1, 1, "--arena", "purge PID [--arena N]",
         "Hands every arena's unused pages back now (or arena N's); RSS before and after."},
        {"ls", cmd_ls, 1, 2, "", "ls PID [PREFIX]",
         "Lists the mallctl names with their C type and access (rw, r-, -w, --), all or\n"
         "those under PREFIX (or starting with it)."},
        {"list", cmd_ls, 1, 2, "", NULL, NULL},
        {"info", cmd_info, 1, 1, "", "info PID",
         "The process: pid, parent, user, command line, start time, cgroup, allocator\n"
         "version, runtime directory and socket."},
        {"watch", cmd_watch, 1, 1, "--interval --count",
         "watch PID [--interval SEC] [--count N]",
         "One line of figures every interval (default 2 s), until interrupted or N lines."},
        /* Two lines of help for one verb (the lookup takes the last entry of a name). */
        {"prof", cmd_prof, 1, 2, "-o --format --root --lg-sample",
         "prof PID on|off|status|reset|dump [-o FILE] [--format F] [--lg-sample N]", NULL},
        {"prof", cmd_prof, 1, 2, "-o --format --root --lg-sample",
         "prof convert FILE.heap [-o FILE] [--format pprof|folded|svg] [--root DIR]",
         "Heap profiling of the live process: on (with --lg-sample N: one sample per\n"
         "2^N bytes on average; default 19, 512 KiB), off, status, reset, and dump: the\n"
         "live heap as heap_v2 (jeprof), pprof (go tool pprof), folded stacks or an SVG\n"
         "flame graph (--format; -o FILE, else standard output).  convert turns a\n"
         "heap_v2 file into those formats (--root: where the binaries are)."},
        /* The far end of -H (bridge.c): started by ssh, not by people. */
        {"bridge", cmd_bridge, 0, 1, "", NULL, NULL},
};

#define NVERBS (sizeof(verbs) / sizeof(verbs[0]))

/* The verb of that name (the last entry of a name: its options), or NULL. */
static const verb_t *find_verb(const char *name)
{
        const verb_t *v = NULL;
        for (size_t i = 0; i < NVERBS; i++)
                if (strcmp(verbs[i].name, name) == 0)
                        v = &verbs[i];
        return v;
}

/* `jemctl VERB --help`: the verb's synopses and what it does. */
static void verb_usage(const char *name)
{
        const char *help = NULL;
        if (strcmp(name, "list") == 0) /* ls's other name */
                name = "ls";
        printf("Usage:\n");
        for (size_t i = 0; i < NVERBS; i++)
                if (strcmp(verbs[i].name, name) == 0 && verbs[i].synopsis != NULL) {
                        printf("  jemctl %s\n", verbs[i].synopsis);
                        if (verbs[i].help != NULL)
                                help = verbs[i].help;
                }
        if (help != NULL)
                printf("\n%s\n", help);
        printf("\nPID may be --comm NAME, --unit UNIT or --all where jemctl --help says so;\n"
               "the options common to every verb: jemctl --help.  See jemctl(1).\n");
}

static void usage(FILE *f)
{
        fprintf(f, "Usage: jemctl [OPTIONS] VERB [ARGUMENTS] [OPTIONS]\n"
                   "Reads and tunes the allocator of processes running liballoc through\n"
                   "their control sockets (<runtime dir>/<pid>.sock).\n\nVerbs:\n");
        for (size_t i = 0; i < NVERBS; i++)
                if (verbs[i].synopsis != NULL)
                        fprintf(f, "  jemctl %s\n", verbs[i].synopsis);
        fprintf(f,
                "\nOptions:\n"
                "  --json             machine-readable JSON output\n"
                "  --runtime-dir DIR  where the sockets are (default: $JEMCTL_RUNTIME_DIR,\n"
                "                     /run/jemctl for root, else $XDG_RUNTIME_DIR/jemctl)\n"
                "  --timeout SEC      per-connection timeout (default 5)\n"
                "  -H, --host [USER@]HOST[:PORT][,...]\n"
                "                     run the verb on other hosts' processes, over ssh to\n"
                "                     jemctl there (several hosts: one table, a HOST column)\n"
                "  --comm NAME, --unit UNIT, --all\n"
                "                     instead of PID: every process with that command name,\n"
                "                     in that systemd unit, or all (ps, stats, get, set,\n"
                "                     info, decay, purge, prof on|off|status|reset)\n"
                "  --daemon URL       jemctld to ask which processes match (default\n"
                "                     $JEMCTLD_URL, else http://127.0.0.1:9464); without it\n"
                "                     jemctl scans the runtime directory;  --no-daemon: scan\n"
                "  -h, --help         this help;  --version  the version\n"
                "  jemctl VERB --help, jemctl help VERB: what a verb does\n"
                "\nExit status: 0 ok, 1 a request failed (or part of it), 2 usage error,\n"
                "3 cannot connect or no such process, 4 permission denied.\n"
                "See jemctl(1).\n");
}

static int usage_error(const char *fmt, const char *arg)
{
        fputs("jemctl: ", stderr);
        fprintf(stderr, fmt, arg);
        fputs("\nTry 'jemctl --help'.\n", stderr);
        return JC_USAGE;
}

/* A verb nobody knows: the closest one if it looks like a typo; exit status 2. */
static int unknown_verb(const char *name)
{
        const char *names[NVERBS];
        for (size_t i = 0; i < NVERBS; i++)
                names[i] = verbs[i].name;
        const char *best = jc_closest(name, names, NVERBS);
        if (best == NULL)
                return usage_error("unknown verb '%s'", name);
        fprintf(stderr, "jemctl: unknown verb '%s' (did you mean '%s'?)\n", name, best);
        fputs("Try 'jemctl --help'.\n", stderr);
        return JC_USAGE;
}

pid_t jc_parse_pid(const char *s)
{
        char *end;
        errno = 0;
        long v = strtol(s, &end, 10);
        if (errno != 0 || end == s || *end != '\0' || v <= 0 || v > INT_MAX) {
                usage_error("'%s' is not a process id", s);
                return -1;
        }
        return (pid_t)v;
}

bool jc_parse_i64(const char *s, int64_t *out)
{
        char *end;
        errno = 0;
        long long v = strtoll(s, &end, 10);
        if (errno != 0 || end == s || *end != '\0')
                return false;
        *out = v;
        return true;
}

bool jc_parse_u64(const char *s, uint64_t *out)
{
        char *end;
        const char *p = s;
        while (*p == ' ' || *p == '\t')
                p++;
        if (*p == '-' || *p == '+')
                return false;
        errno = 0;
        int base = p[0] == '0' && (p[1] == 'x' || p[1] == 'X') ? 16 : 10;
        unsigned long long v = strtoull(p, &end, base);
        if (errno != 0 || end == p || *end != '\0')
                return false;
        *out = v;
        return true;
}

/* --timeout, --interval: a duration of at most a day (jp_parse_duration). */
static bool parse_seconds(const char *s, double *out)
{
        return jp_parse_duration(s, 86400, out) == 0;
}

static bool looks_negative_number(const char *a)
{
        return a[0] == '-' && a[1] >= '0' && a[1] <= '9';
}

/* The option's value: "--opt=value" or the next argument. */
static const char *opt_value(const char *arg, int argc, char **argv, int *i)
{
        const char *eq = strchr(arg, '=');
        if (eq != NULL)
                return eq + 1;
        if (*i + 1 >= argc)
                return NULL;
        return argv[++*i];
}

static bool takes_value(const char *a)
{
        static const char *const opts_with_value[] = {"--runtime-dir", "--timeout", "--arena",
                                                      "--interval", "--count", "-o",
                                                      "--format", "--root", "--lg-sample",
                                                      "--comm", "--unit", "--daemon", "-H",
                                                      "--host"};
        for (size_t i = 0; i < sizeof(opts_with_value) / sizeof(opts_with_value[0]); i++)
                if (strcmp(a, opts_with_value[i]) == 0)
                        return true;
        return false;
}

/* The verb once (or once per selected process). */
static int run_verb(const verb_t *verb, int npos, char **pos)
{
        if (jc_selecting()) {
                /* The same verb on every process the selectors match (select.c). */
                opts.multi = strcmp(verb->name, "ps") != 0;
                return jc_select_run(verb->name, verb->fn, verb->min_args, verb->max_args, npos,
                                     pos);
        }
        if (npos < verb->min_args || (verb->max_args >= 0 && npos > verb->max_args)) {
                char msg[160];
                snprintf(msg, sizeof(msg), "%s arguments; usage: jemctl %s",
                         npos < verb->min_args ? "missing" : "too many",
                         verb->synopsis != NULL ? verb->synopsis : verb->name);
                return usage_error("%s", msg);
        }
        return verb->fn(npos, pos);
}

/* The verb of a -H run and its positional arguments. */
typedef struct host_run {
        const verb_t *verb;
        int npos;
        char **pos;
} host_run_t;

/* The verb on one host through its bridge (remote.c). */
static int run_one(const char *host, void *arg)
{
        const host_run_t *r = arg;
        int rc = jc_remote_open(host);
        if (rc == JC_OK) {
                /* The positional arguments are consumed by some verbs: a copy. */
                char *copy[r->npos + 1];
                memcpy(copy, r->pos, sizeof(copy[0]) * (size_t)(r->npos + 1));
                rc = run_verb(r->verb, r->npos, copy);
        }
        jc_remote_close();
        return rc;
}

/* -H: the verb on each host; with several, up to 16 at once and their output as one
 * (hosts.c).  The exit status is the highest of the hosts'. */
static int run_on_hosts(const verb_t *verb, int npos, char **pos)
{
        char *list = strdup(opts.hosts);
        char **hosts = calloc(JC_HOSTS_MAX, sizeof(*hosts));
        size_t n = 0;
        bool too_many = false;
        for (char *h = list != NULL && hosts != NULL ? strtok(list, ",") : NULL; h != NULL;
             h = strtok(NULL, ","))
                if (n < JC_HOSTS_MAX)
                        hosts[n++] = h;
                else
                        too_many = true;
        int rc;
        host_run_t run = {verb, npos, pos};
        if (too_many)
                rc = usage_error("-H names more than %s hosts", "1024");
        else if (n == 0)
                rc = usage_error("%s", "-H needs [USER@]HOST[:PORT]");
        else if (n == 1)
                rc = run_one(hosts[0], &run);
        else {
                rc = jc_hosts_run(hosts, n, run_one, &run);
                jc_hosts_flush();
        }
        free(hosts);
        free(list);
        return rc;
}

/* Sets option name (its value v, NULL for a flag).  JC_OK, or JC_USAGE with the message
 * printed. */
static int set_option(const char *name, const char *v)
{
        uint64_t u;
        if (strcmp(name, "--json") == 0) {
                opts.json = true;
        } else if (strcmp(name, "--all") == 0) {
                opts.sel_all = true;
        } else if (strcmp(name, "--no-daemon") == 0) {
                opts.no_daemon = true;
        } else if (strcmp(name, "--comm") == 0) {
                opts.sel_comm = v;
        } else if (strcmp(name, "--unit") == 0) {
                opts.sel_unit = v;
        } else if (strcmp(name, "--daemon") == 0) {
                opts.daemon_url = v;
        } else if (strcmp(name, "-H") == 0 || strcmp(name, "--host") == 0) {
                if (v[0] == '\0')
                        return usage_error("%s", "-H needs [USER@]HOST[:PORT]");
                opts.hosts = v;
        } else if (strcmp(name, "--clean") == 0) {
                opts.clean = true;
        } else if (strcmp(name, "--full") == 0) {
                opts.full = true;
        } else if (strcmp(name, "--runtime-dir") == 0) {
                if (v[0] == '\0')
                        return usage_error("%s", "--runtime-dir needs a directory");
                opts.runtime_dir = v;
        } else if (strcmp(name, "--timeout") == 0) {
                if (!parse_seconds(v, &opts.timeout))
                        return usage_error("--timeout: '%s' is not a number of "
                                           "seconds (> 0)",
                                           v);
        } else if (strcmp(name, "--interval") == 0) {
                if (!parse_seconds(v, &opts.interval))
                        return usage_error("--interval: '%s' is not a number of "
                                           "seconds (> 0)",
                                           v);
        } else if (strcmp(name, "--count") == 0) {
                if (!jc_parse_u64(v, &u) || u == 0 || u > 1000000000)
                        return usage_error("--count: '%s' is not a positive count",
                                           v);
                opts.count = (long)u;
        } else if (strcmp(name, "--arena") == 0) {
                if (!jc_parse_u64(v, &u) || u > UINT32_MAX)
                        return usage_error("--arena: '%s' is not an arena index", v);
                opts.have_arena = true;
                opts.arena = (unsigned)u;
        } else if (strcmp(name, "-o") == 0) {
                if (v[0] == '\0')
                        return usage_error("%s", "-o needs a file name");
                opts.out_file = v;
        } else if (strcmp(name, "--format") == 0) {
                if (strcmp(v, "heap") != 0 && strcmp(v, "pprof") != 0 &&
                    strcmp(v, "folded") != 0 && strcmp(v, "svg") != 0)
                        return usage_error("--format: '%s' is not heap, pprof, "
                                           "folded or svg",
                                           v);
                opts.prof_format = v;
        } else if (strcmp(name, "--root") == 0) {
                if (v[0] == '\0')
                        return usage_error("%s", "--root needs a directory");
                opts.root = v;
        } else if (strcmp(name, "--lg-sample") == 0) {
                if (!jc_parse_u64(v, &u) || u > 63)
                        return usage_error("--lg-sample: '%s' is not a number from 0 "
                                           "to 63",
                                           v);
                opts.have_lg_sample = true;
                opts.lg_sample = (unsigned)u;
        }
        return JC_OK;
}

/* Splits the arguments after the verb into positional ones (pos, *npos) and options (set
 * in opts).  -1: go on; JC_OK: help was printed; else the usage error (printed). */
static int parse_args(const verb_t *verb, int argc, char **argv, char **pos, int *ret_npos)
{
        int npos = 0;
        bool only_args = false;
        for (int i = 1; i < argc; i++) {
                char *a = argv[i];
                if (only_args || a[0] != '-' || a[1] == '\0' || looks_negative_number(a)) {
                        pos[npos++] = a;
                        continue;
                }
                if (strcmp(a, "--") == 0) {
                        only_args = true;
                        continue;
                }
                if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
                        verb_usage(verb->name);
                        return JC_OK;
                }
                char name[32];
                size_t nl = strcspn(a, "=");
                snprintf(name, sizeof(name), "%.*s", (int)(nl < 31 ? nl : 31), a);
                bool has_eq = a[nl] == '=';
                /* Verb-specific options are refused elsewhere. */
                if (strcmp(name, "--clean") == 0 || strcmp(name, "--full") == 0 ||
                    strcmp(name, "--arena") == 0 || strcmp(name, "--interval") == 0 ||
                    strcmp(name, "--count") == 0 || strcmp(name, "-o") == 0 ||
                    strcmp(name, "--format") == 0 || strcmp(name, "--root") == 0 ||
                    strcmp(name, "--lg-sample") == 0) {
                        const char *o = strstr(verb->options, name);
                        size_t l = strlen(name);
                        if (o == NULL || (o[l] != '\0' && o[l] != ' ')) {
                                char msg[96];
                                snprintf(msg, sizeof(msg), "option %s does not apply to '%s'",
                                         name, verb->name);
                                return usage_error("%s", msg);
                        }
                }
                const char *v = NULL;
                bool flag = strcmp(name, "--json") == 0 || strcmp(name, "--clean") == 0 ||
                            strcmp(name, "--full") == 0 || strcmp(name, "--all") == 0 ||
                            strcmp(name, "--no-daemon") == 0;
                if (flag && has_eq)
                        return usage_error("option %s takes no value", name);
                if (!flag && strcmp(name, "--runtime-dir") != 0 &&
                    strcmp(name, "--timeout") != 0 && strcmp(name, "--arena") != 0 &&
                    strcmp(name, "--interval") != 0 && strcmp(name, "--count") != 0 &&
                    strcmp(name, "-o") != 0 && strcmp(name, "--format") != 0 &&
                    strcmp(name, "--root") != 0 && strcmp(name, "--lg-sample") != 0 &&
                    strcmp(name, "--comm") != 0 && strcmp(name, "--unit") != 0 &&
                    strcmp(name, "--daemon") != 0 && strcmp(name, "-H") != 0 &&
                    strcmp(name, "--host") != 0)
                        return usage_error("unknown option '%s'", a);
                if (!flag && (v = opt_value(a, argc, argv, &i)) == NULL)
                        return usage_error("option %s needs a value", name);
                int rc = set_option(name, v);
                if (rc != JC_OK)
                        return rc;
        }
        *ret_npos = npos;
        return -1;
}

int main(int argc, char **argv)
{
        /* The verb: the first argument that is not an option (or an option's value);
         * options may come before it too ("jemctl --json ps"). */
        int vi = 1;
        while (vi < argc && argv[vi][0] == '-' && argv[vi][1] != '\0' &&
               strcmp(argv[vi], "--") != 0 && strcmp(argv[vi], "-h") != 0 &&
               strcmp(argv[vi], "--help") != 0 && strcmp(argv[vi], "--version") != 0)
                vi += takes_value(argv[vi]) ? 2 : 1;
        if (vi < argc && (strcmp(argv[vi], "-h") == 0 || strcmp(argv[vi], "--help") == 0 ||
                          strcmp(argv[vi], "help") == 0)) {
                /* "jemctl help VERB": that verb's help. */
                if (strcmp(argv[vi], "help") == 0 && vi + 1 < argc &&
                    find_verb(argv[vi + 1]) != NULL)
                        verb_usage(argv[vi + 1]);
                else
                        usage(stdout);
                return JC_OK;
        }
        if (vi < argc && strcmp(argv[vi], "--version") == 0) {
                printf("jemctl %s (protocol %d)\n", JEMCTL_VERSION, JP_VERSION);
                return JC_OK;
        }
        if (vi >= argc || strcmp(argv[vi], "--") == 0) {
                if (argc < 2) {
                        usage(stderr);
                        return JC_USAGE;
                }
                return usage_error("%s", "no verb given");
        }
        const verb_t *verb = find_verb(argv[vi]);
        if (verb == NULL)
                return unknown_verb(argv[vi]);
        /* The arguments without the verb, options and all, in order. */
        for (int i = vi; i > 1; i--)
                argv[i] = argv[i - 1];
        argv++;
        argc--;

        char **pos = calloc((size_t)argc, sizeof(*pos));
        if (pos == NULL)
                return JC_FAIL;
        int npos = 0;
        int prc = parse_args(verb, argc, argv, pos, &npos);
        if (prc >= 0) {
                free(pos);
                return prc;
        }
        int rc;
        if (opts.hosts != NULL && strcmp(verb->name, "bridge") == 0)
                rc = usage_error("%s", "the bridge runs on the far side of -H, not with it");
        else if (opts.hosts != NULL && opts.clean)
                rc = usage_error("%s", "--clean does not apply with -H: run it on that host");
        else if (opts.hosts != NULL)
                rc = run_on_hosts(verb, npos, pos);
        else
                rc = run_verb(verb, npos, pos);
        free(pos);
        if (fflush(stdout) != 0 && rc == JC_OK)
                rc = JC_FAIL; /* output lost (a full disk, a closed pipe) */
        return rc;
}
