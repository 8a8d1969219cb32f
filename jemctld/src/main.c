/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * jemctld main: flags, the event loop, the poll timer and the signals.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include <jp/proto.h>

#include "config.h"
#include "convert.h"
#include "jemctld.h"
#include "bus.h"
#include "call.h"
#include "sd.h"
#include "history.h"
#include "host.h"
#include "governor.h"
#include "policy.h"
#include "store.h"

jd_state_t jd;

double jd_mono(void)
{
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

double jd_wall(void)
{
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

size_t jd_escape(char *dst, size_t cap, const char *src)
{
        size_t k = 0;
        if (cap == 0)
                return 0;
        for (const unsigned char *c = (const unsigned char *)src; *c != '\0'; c++) {
                char e[8];
                const char *add = e;
                size_t n;
                if (*c == '\n') {
                        add = "\\n";
                } else if (*c == '\r') {
                        add = "\\r";
                } else if (*c == '\t') {
                        add = "\\t";
                } else if (*c < 0x20 || *c == 0x7f) {
                        snprintf(e, sizeof(e), "\\x%02x", *c);
                } else if (*c == 0xc2 && c[1] >= 0x80 && c[1] <= 0x9f) {
                        /* C1 controls as UTF-8 (U+0085 is a line break to some readers) */
                        snprintf(e, sizeof(e), "\\u%04x", c[1]);
                        c++;
                } else {
                        e[0] = (char)*c;
                        e[1] = '\0';
                }
                n = strlen(add);
                if (k + n >= cap)
                        break; /* cut, never in the middle of an escape */
                memcpy(dst + k, add, n);
                k += n;
        }
        dst[k] = '\0';
        return k;
}

void jd_log(const char *fmt, ...)
{
        char ts[32];
        time_t t = time(NULL);
        struct tm tm;
        strftime(ts, sizeof(ts), "%Y-%m-%dT%H:%M:%S", localtime_r(&t, &tm));
        /* The arguments carry text from outside (targets' answers, HTTP headers, paths,
         * D-Bus callers): one line per call whatever they hold, control characters
         * escaped. */
        char msg[2048], out[4 * sizeof(msg)];
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(msg, sizeof(msg), fmt, ap);
        va_end(ap);
        jd_escape(out, sizeof(out), msg);
        fprintf(stderr, "jemctld: %s %s\n", ts, out);
}

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

static int default_runtime_dir(void)
{
        char given[sizeof(jd.opt.runtime_dir)];
        memcpy(given, jd.opt.runtime_dir, sizeof(given));
        int n = jp_runtime_dir(given[0] != '\0' ? given : getenv(JP_ENV_RUNTIME_DIR),
                               getenv("XDG_RUNTIME_DIR"), geteuid() == 0, jd.opt.runtime_dir,
                               sizeof(jd.opt.runtime_dir));
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
static int parse_http(const char *s)
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
        if (hl == 0 || hl >= sizeof(jd.opt.http_host))
                return -1;
        memcpy(jd.opt.http_host, h, hl);
        jd.opt.http_host[hl] = '\0';
        if (strcmp(jd.opt.http_host, "localhost") == 0)
                strcpy(jd.opt.http_host, "127.0.0.1");
        char *end;
        errno = 0;
        unsigned long port = strtoul(colon + 1, &end, 10);
        if (errno != 0 || *end != '\0' || colon[1] == '\0' || port > 65535)
                return -1;
        jd.opt.http_port = (unsigned)port;
        return 0;
}

/* --timeout, --interval: a duration of at most a day (jp_parse_duration). */
static bool parse_seconds(const char *s, double *out)
{
        return jp_parse_duration(s, 86400, out) == 0;
}

static struct event *tick_ev;

static void on_tick(evutil_socket_t fd, short what, void *arg)
{
        (void)fd;
        (void)what;
        (void)arg;
        jd_poll_tick();
}

static void on_signal(evutil_socket_t sig, short what, void *arg)
{
        (void)what;
        (void)arg;
        jd_log("signal %d: exiting", (int)sig);
        event_base_loopbreak(jd.base);
}

/* The command line and the configuration file into jd.opt and the modules' options.
 * -1: go on; 0: --help or --version was printed; 2: a bad option (said on stderr). */
/* One option c (its long name, the value in optarg, where: "FILE:LINE: " when it came
 * from the configuration file).  -1: go on; 0: --help or --version printed; 2: bad. */
static int set_option(int c, const char *name, const char *where, const char **http_arg,
                      const char **http_where)
{
        switch (c) {
        case 'r':
                if (snprintf(jd.opt.runtime_dir, sizeof(jd.opt.runtime_dir), "%s",
                             optarg) >= (int)sizeof(jd.opt.runtime_dir) ||
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
                snprintf(jd.opt.bus, sizeof(jd.opt.bus), "%s", optarg);
                break;
        case 'A':
                jd.opt.http_any = true;
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
                if (!parse_seconds(optarg, c == 'i' ? &jd.opt.interval : &jd.opt.timeout)) {
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
                jd.opt.max_inflight = (unsigned)n;
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

static int parse_options(int argc, char **argv)
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
        jd.opt.interval = 10;
        jd.opt.timeout = 2;
        jd.opt.max_inflight = 32;
        snprintf(jd.opt.bus, sizeof(jd.opt.bus), "none");
        /* The configuration file's settings come first, so the flags override them. */
        int cfg_rc = jd_config_argv(argc, argv, longopts, &argc, &argv);
        if (cfg_rc != 0)
                return cfg_rc;
        int c, li = 0;
        while ((c = getopt_long(argc, argv, "h", longopts, &li)) != -1) {
                const char *where = jd_config_origin(optind - 1);
                int rc = set_option(c, longopts[li].name, where, &http_arg, &http_where);
                if (rc >= 0)
                        return rc;
        }
        if (optind != argc) {
                usage(stderr);
                return 2;
        }
        if (jd_governor_check_options() != 0)
                return 2;
        if (parse_http(http_arg) != 0) {
                fprintf(stderr, "jemctld: %sbad --http address (ADDR:PORT): %s\n", http_where,
                        http_arg);
                return 2;
        }
        if (!jd.opt.http_any && !jd_addr_is_loopback(jd.opt.http_host)) {
                fprintf(stderr, "jemctld: %s%s is not a loopback address; the metrics tell "
                                "about every process of the host: add --http-any to serve them "
                                "there\n",
                        http_where, jd.opt.http_host);
                return 2;
        }
        if (default_runtime_dir() != 0)
                return 2;
        return -1;
}

/* The soft limit of descriptors raised to the hard one where that is allowed (the unit's
 * system-call filter refuses setrlimit with EPERM: LimitNOFILE= has set both), and the
 * budget that follows from it (jemctld.h): fd_limit, and at most an eighth of it for the
 * polls in flight.  libevent uses epoll, never select, so a high number is fine. */
static void budget_descriptors(void)
{
        struct rlimit rl;
        jd.fd_limit = 1024;
        if (getrlimit(RLIMIT_NOFILE, &rl) != 0)
                return;
        if (rl.rlim_cur < rl.rlim_max) {
                struct rlimit up = {rl.rlim_max, rl.rlim_max};
                if (setrlimit(RLIMIT_NOFILE, &up) == 0)
                        rl = up;
        }
        jd.fd_limit = rl.rlim_cur > (1u << 30) ? (1u << 30) : (unsigned)rl.rlim_cur;
        if (jd.opt.max_inflight > jd.fd_limit / 8) {
                unsigned m = jd.fd_limit / 8 > 0 ? jd.fd_limit / 8 : 1;
                jd_log("--max-inflight %u lowered to %u: %u descriptors", jd.opt.max_inflight, m,
                       jd.fd_limit);
                jd.opt.max_inflight = m;
        }
}

/* From the options to the end: the loop, the listeners, the bus, the watches.  The exit
 * status. */
static int run(void)
{
        signal(SIGPIPE, SIG_IGN);
        budget_descriptors();
        jd.base = event_base_new();
        if (jd.base == NULL) {
                fprintf(stderr, "jemctld: cannot create the event loop\n");
                return 1;
        }
        if (jd_http_start() != 0) {
                fprintf(stderr, "jemctld: cannot listen on %s:%u: %s\n", jd.opt.http_host,
                        jd.opt.http_port, strerror(errno));
                event_base_free(jd.base);
                return 1;
        }
        struct event *sigterm = evsignal_new(jd.base, SIGTERM, on_signal, NULL);
        struct event *sigint = evsignal_new(jd.base, SIGINT, on_signal, NULL);
        tick_ev = event_new(jd.base, -1, EV_PERSIST, on_tick, NULL);
        if (sigterm == NULL || sigint == NULL || tick_ev == NULL) {
                fprintf(stderr, "jemctld: out of memory\n");
                return 1;
        }
        evsignal_add(sigterm, NULL);
        evsignal_add(sigint, NULL);
        struct timeval tv = {(time_t)jd.opt.interval,
                             (suseconds_t)((jd.opt.interval - (double)(time_t)jd.opt.interval) *
                                           1e6)};
        event_add(tick_ev, &tv);
        jd_log("dashboard at http://%s%s%s:%u/ (metrics at /metrics), watching %s every %g s",
               strchr(jd.opt.http_host, ':') ? "[" : "", jd.opt.http_host,
               strchr(jd.opt.http_host, ':') ? "]" : "", jd.opt.http_port, jd.opt.runtime_dir,
               jd.opt.interval);
        if (jd_config_path()[0] != '\0')
                jd_log("settings from %s", jd_config_path());
        if (strcmp(jd.opt.bus, "none") != 0) {
                int brc = jd_bus_start(jd.opt.bus);
                /* No bus to connect to (a host without dbus-user-session for the user
                 * instance), or a policy that does not let it own the name (not
                 * installed where the bus reads it): without the D-Bus API, but serving
                 * everything else.  Exiting would make systemd restart it every 2 s
                 * while HTTP clients wait on the socket it holds.  Another jemctld
                 * owning the name is an exit: that one serves. */
                if (brc == -EEXIST)
                        return 1;
                if (brc != 0)
                        jd_log("D-Bus: the API is off until jemctld is restarted with a bus "
                               "and its policy in place; HTTP, the metrics and the policies "
                               "go on");
        }
        jd_store_start(); /* rescans the profile store */
        jd_watch_start();
        jd_governor_start();
        jd_poll_tick();
        jd_sd_ready();
        event_base_dispatch(jd.base);
        jd_sd_stopping();
        jd_call_shutdown(); /* answers the callers still waiting, over the bus too */
        jd_convert_shutdown(); /* and the conversions in progress */
        jd_bus_stop();      /* first: no ProcessRemoved for every process at a stop */
        jd_watch_stop();
        jd_governor_stop();
        jd_poll_shutdown();
        jd_history_free();
        jd_policy_free();
        jd_store_stop();
        jd_config_free();
        jd_http_stop();
        jd_allow_host_free();
        event_free(tick_ev);
        event_free(sigterm);
        event_free(sigint);
        event_base_free(jd.base);
        return jd_bus_lost() ? 1 : 0;
}

int main(int argc, char **argv)
{
        int rc = parse_options(argc, argv);
        return rc >= 0 ? rc : run();
}
