/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * jemctld main: the options (the command line over the configuration file), then the
 * manager (manager.c) runs the daemon.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jp/proto.h>

#include "config.h"
#include "manager.h"
#include "host.h"
#include "governor.h"
#include "policy.h"

static void usage(FILE *f)
{
        fprintf(f,
                "usage: jemctld [options]\n"
                "  --runtime-dir DIR   where the control sockets are (default: as the server:\n"
                "                      $JEMCTL_RUNTIME_DIR, /run/jemctl for root,\n"
                "                      $XDG_RUNTIME_DIR/jemctl)\n"
                "  --http ADDR:PORT    HTTP listen address (default 127.0.0.1:9464)\n"
                "  --http-any          allow a non-loopback --http address\n"
                "  --allow-host NAME   answer HTTP requests for Host NAME too (repeatable;\n"
                "                      always: loopback addresses, localhost, the --http\n"
                "                      address)\n"
                "  --interval SEC      poll interval (default 10)\n"
                "  --timeout SEC       per-request timeout (default 2)\n"
                "  --max-inflight N    concurrent connections to processes (default 32)\n"
                "  --bus BUS           D-Bus API on the system or session bus, or none\n"
                "                      (default none; the systemd units say system/session)\n"
                JD_POLICY_USAGE
                JD_GOVERNOR_USAGE
                "  --config FILE       settings file, keys named as these options (default\n"
                "                      " JD_CONFIG_DEFAULT " if it exists)\n"
                "  --help, --version\n");
}

static int default_runtime_dir(jd_opts_t *o)
{
        char given[sizeof(o->runtime_dir)];
        memcpy(given, o->runtime_dir, sizeof(given));
        int n = jp_runtime_dir(given[0] != '\0' ? given : getenv(JP_ENV_RUNTIME_DIR),
                               getenv("XDG_RUNTIME_DIR"), geteuid() == 0, o->runtime_dir,
                               sizeof(o->runtime_dir));
        if (n == -1) {
                fprintf(stderr, "jemctld: cannot tell the runtime directory: XDG_RUNTIME_DIR is "
                                "not set (set JEMCTL_RUNTIME_DIR or use --runtime-dir DIR)\n");
                return -1;
        }
        if (n < 0) {
                fprintf(stderr, "jemctld: runtime directory name too long\n");
                return -1;
        }
        return 0;
}

/* ADDR:PORT, [V6ADDR]:PORT or localhost:PORT. */
static int parse_http(jd_opts_t *o, const char *s)
{
        const char *colon;
        size_t hl;
        const char *h = s;
        if (s[0] == '[') {
                const char *rb = strchr(s, ']');
                if (rb == NULL || rb[1] != ':')
                        return -1;
                h = s + 1;
                hl = (size_t)(rb - h);
                colon = rb + 1;
        } else {
                colon = strrchr(s, ':');
                if (colon == NULL)
                        return -1;
                hl = (size_t)(colon - s);
        }
        if (hl == 0 || hl >= sizeof(o->http_host))
                return -1;
        memcpy(o->http_host, h, hl);
        o->http_host[hl] = '\0';
        if (strcmp(o->http_host, "localhost") == 0)
                strcpy(o->http_host, "127.0.0.1");
        char *end;
        errno = 0;
        unsigned long port = strtoul(colon + 1, &end, 10);
        if (errno != 0 || *end != '\0' || colon[1] == '\0' || port > 65535)
                return -1;
        o->http_port = (unsigned)port;
        return 0;
}

/* --timeout, --interval: a duration of at most a day (jp_parse_duration). */
static bool parse_seconds(const char *s, double *out)
{
        return jp_parse_duration(s, 86400, out) == 0;
}

/* One option c (its long name, the value in optarg, where: "FILE:LINE: " when it came
 * from the configuration file).  -1: go on; 0: --help or --version printed; 2: bad. */
static int set_option(jd_opts_t *o, int c, const char *name, const char *where, const char **http_arg,
                      const char **http_where)
{
        switch (c) {
        case 'r':
                if (snprintf(o->runtime_dir, sizeof(o->runtime_dir), "%s",
                             optarg) >= (int)sizeof(o->runtime_dir) ||
                    optarg[0] == '\0') {
                        fprintf(stderr, "jemctld: %sbad --runtime-dir\n", where);
                        return 2;
                }
                break;
        case 'H':
                *http_arg = optarg;
                *http_where = where;
                break;
        case 'c': /* read by jd_config_argv */
                break;
        case JD_OPT_CAPTURE: /* policy.c */
                if (jd_policy_option(name, optarg, where) != 0)
                        return 2;
                break;
        case JD_OPT_GOVERNOR: /* governor.c */
                if (jd_governor_option(name, optarg, where) != 0)
                        return 2;
                break;
        case 'B':
                if (strcmp(optarg, "system") != 0 && strcmp(optarg, "session") != 0 &&
                    strcmp(optarg, "none") != 0) {
                        fprintf(stderr, "jemctld: %sbad --bus: %s (system, session "
                                        "or none)\n", where, optarg);
                        return 2;
                }
                snprintf(o->bus, sizeof(o->bus), "%s", optarg);
                break;
        case 'A':
                o->http_any = true;
                break;
        case 'a':
                if (jd_allow_host_add(optarg) != 0) {
                        fprintf(stderr, "jemctld: %sbad --allow-host: %s (a host "
                                        "name or an address)\n", where, optarg);
                        return 2;
                }
                break;
        case 'i': /* --interval */
        case 't': /* --timeout */
                if (!parse_seconds(optarg, c == 'i' ? &o->interval : &o->timeout)) {
                        fprintf(stderr, "jemctld: %sbad --%s: %s\n", where, name, optarg);
                        return 2;
                }
                break;
        case 'm': {
                char *end;
                errno = 0;
                unsigned long n = strtoul(optarg, &end, 10);
                if (errno != 0 || *end != '\0' || n == 0 || n > 4096) {
                        fprintf(stderr, "jemctld: %sbad --max-inflight: %s\n", where,
                                optarg);
                        return 2;
                }
                o->max_inflight = (unsigned)n;
                break;
        }
        case 'h':
                usage(stdout);
                return 0;
        case 'V':
                printf("jemctld %s\n", JEMCTLD_VERSION);
                return 0;
        default:
                usage(stderr);
                return 2;
        }
        return -1;
}

/* The command line and the configuration file into *o and the modules' options.
 * -1: go on; 0: --help or --version was printed; 2: a bad option (said on stderr). */
static int parse_options(jd_opts_t *o, int argc, char **argv)
{
        static const struct option longopts[] = {
                {"runtime-dir", required_argument, NULL, 'r'},
                {"http", required_argument, NULL, 'H'},
                {"http-any", no_argument, NULL, 'A'},
                {"allow-host", required_argument, NULL, 'a'},
                {"interval", required_argument, NULL, 'i'},
                {"timeout", required_argument, NULL, 't'},
                {"max-inflight", required_argument, NULL, 'm'},
                {"config", required_argument, NULL, 'c'},
                {"bus", required_argument, NULL, 'B'},
                JD_POLICY_LONGOPTS, /* the profile store and the capture policies */
                JD_GOVERNOR_LONGOPTS, /* the memory governor */
                {"help", no_argument, NULL, 'h'},
                {"version", no_argument, NULL, 'V'},
                {NULL, 0, NULL, 0},
        };
        const char *http_arg = "127.0.0.1:9464";
        const char *http_where = ""; /* "FILE:LINE: " when --http came from the file */
        o->interval = 10;
        o->timeout = 2;
        o->max_inflight = 32;
        snprintf(o->bus, sizeof(o->bus), "none");
        /* The configuration file's settings come first, so the flags override them. */
        int cfg_rc = jd_config_argv(argc, argv, longopts, &argc, &argv);
        if (cfg_rc != 0)
                return cfg_rc;
        int c, li = 0;
        while ((c = getopt_long(argc, argv, "h", longopts, &li)) != -1) {
                const char *where = jd_config_origin(optind - 1);
                int rc = set_option(o, c, longopts[li].name, where, &http_arg, &http_where);
                if (rc >= 0)
                        return rc;
        }
        if (optind != argc) {
                usage(stderr);
                return 2;
        }
        if (jd_governor_check_options() != 0)
                return 2;
        if (parse_http(o, http_arg) != 0) {
                fprintf(stderr, "jemctld: %sbad --http address (ADDR:PORT): %s\n", http_where,
                        http_arg);
                return 2;
        }
        if (!o->http_any && !jd_addr_is_loopback(o->http_host)) {
                fprintf(stderr, "jemctld: %s%s is not a loopback address; the metrics tell "
                                "about every process of the host: add --http-any to serve them "
                                "there\n",
                        http_where, o->http_host);
                return 2;
        }
        if (default_runtime_dir(o) != 0)
                return 2;
        return -1;
}

int main(int argc, char **argv)
{
        static jd_manager_t m;
        int rc = parse_options(&m.opt, argc, argv);
        return rc >= 0 ? rc : jd_manager_run(&m);
}
