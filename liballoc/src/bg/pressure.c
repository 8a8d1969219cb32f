/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * pressure: the watch and what an event does.
 *
 * Arming follows sd_event_add_memory_pressure(3): MEMORY_PRESSURE_WATCH names a PSI file
 * (the decoded MEMORY_PRESSURE_WRITE is written to it as the trigger, then POLLPRI is
 * awaited and nothing is read), a FIFO (POLLIN; what arrives is read and dropped) or an
 * AF_UNIX stream socket (opening it fails with ENXIO: connect, write the trigger, POLLIN;
 * the end of the stream ends the watch).  Empty or /dev/null means no watch.  Without the
 * variable the trigger "some <threshold> <window>" goes to the process's own cgroup v2
 * memory.pressure; when that cannot be armed there is silently no watch.
 *
 * An event purges every arena's dirty and muzzy pages at once (the huge mappings an arena
 * keeps are dirty pages too) and bumps la_pressure_gen, so each thread gives its empty
 * slabs back at its next refill.  Events closer than MIN_GAP_NS to the last purge are
 * merged into one purge when the gap has passed (a storm costs at most one purge per gap).
 * For HOLD_NS after the last event the arenas are purged again every STEP_NS: the decay
 * time is in effect at most a second until the pressure is over, then the configured
 * curves go on.  Nothing here runs when there is no watch and nobody orders an event.
 */
#include "bg/pressure.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/magic.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "core/arena.h"
#include "core/conf.h"
#include "core/upcalls.h"
#include "os/os.h"
#include "core/thread.h"
#include "os/util.h"

#define MIN_GAP_NS 250000000ull   /* between two purges ordered by events */
#define STEP_NS 1000000000ull     /* follow-up purges while the pressure lasts */
#define HOLD_NS 30000000000ull    /* how long after the last event */
#define TRIGGER_MAX 128

enum kind { W_OFF, W_PSI, W_FIFO, W_SOCKET, W_ENDED, W_FAILED };
static const char *const kind_names[] = {"off", "psi:", "fifo:", "socket:", "ended:",
                                         "failed:"};


static struct {
        int fd;
        enum kind kind;
        short events;
        bool fifo_rdonly; /* a FIFO we may not open for writing: reopened after its writer */
        char path[256];
        char trigger[TRIGGER_MAX];
        size_t trigger_len;
        char watch[300]; /* la_pressure_watch */
} w = {.fd = -1, .watch = "off"};

/* Written by the service thread and by pressure.event callers: atomics, no lock (two
 * purges at once are harmless). */
static uint64_t n_events, n_purges, bytes_returned, last_event_ms;
static uint64_t last_purge_ns, last_pass_ns, hold_until_ns;
static bool pending;

/* ---- base64 (MEMORY_PRESSURE_WRITE) ------------------------------------------------- */

static int b64_value(char c)
{
        if (c >= 'A' && c <= 'Z')
                return c - 'A';
        if (c >= 'a' && c <= 'z')
                return c - 'a' + 26;
        if (c >= '0' && c <= '9')
                return c - '0' + 52;
        if (c == '+')
                return 62;
        if (c == '/')
                return 63;
        return -1;
}

long la_pressure_unbase64(const char *s, unsigned char *out, size_t cap)
{
        uint32_t acc = 0;
        unsigned bits = 0;
        size_t n = 0;
        bool padded = false;
        for (; *s != '\0'; s++) {
                char c = *s;
                if (c == ' ' || c == '\n' || c == '\t' || c == '\r')
                        continue;
                if (c == '=') {
                        padded = true;
                        continue;
                }
                int v = b64_value(c);
                if (v < 0 || padded)
                        return -1; /* not base64, or data after the padding */
                acc = (acc << 6) | (uint32_t)v;
                bits += 6;
                if (bits >= 8) {
                        bits -= 8;
                        if (n >= cap)
                                return -1;
                        out[n++] = (unsigned char)(acc >> bits);
                        acc &= (1u << bits) - 1;
                }
        }
        /* Leftover bits must be the zero fill of the last character (at most 4 of them). */
        if (bits >= 6 || acc != 0)
                return -1;
        return (long)n;
}

/* ---- finding the own cgroup's memory.pressure -------------------------------------- */

/* Calls fn for each line of a /proc file (lines longer than the buffer are skipped);
 * stops when fn returns true.  Never allocates. */
static bool each_line(const char *file, bool (*fn)(char *line, void *arg), void *arg)
{
        int fd = open(file, O_RDONLY | O_CLOEXEC);
        if (fd < 0)
                return false;
        char buf[4096];
        size_t have = 0;
        bool found = false, skipping = false;
        for (;;) {
                ssize_t r = read(fd, buf + have, sizeof(buf) - 1 - have);
                if (r < 0 && errno == EINTR)
                        continue;
                if (r <= 0)
                        break;
                have += (size_t)r;
                size_t start = 0;
                for (size_t i = 0; i < have && !found; i++) {
                        if (buf[i] != '\n')
                                continue;
                        buf[i] = '\0';
                        if (!skipping)
                                found = fn(buf + start, arg);
                        skipping = false;
                        start = i + 1;
                }
                if (found)
                        break;
                memmove(buf, buf + start, have - start);
                have -= start;
                if (have == sizeof(buf) - 1) {
                        have = 0; /* a line too long for us: skip to its end */
                        skipping = true;
                }
        }
        close(fd);
        return found;
}

struct cg_find {
        char cgroup[256]; /* the process's path in the v2 hierarchy */
        char result[256];
};

static bool cgroup_line(char *line, void *arg)
{
        struct cg_find *f = arg;
        if (strncmp(line, "0::", 3) != 0)
                return false;
        la_strlcpy(f->cgroup, line + 3, sizeof(f->cgroup));
        return true;
}

/* Field k (0-based, space separated) of a mountinfo line, cut in place. */
static char *field(char *line, unsigned k)
{
        char *p = line;
        for (unsigned i = 0; i < k && p != NULL; i++) {
                p = strchr(p, ' ');
                if (p != NULL)
                        p++;
        }
        if (p == NULL)
                return NULL;
        char *end = strchr(p, ' ');
        if (end != NULL)
                *end = '\0';
        return p;
}

/* A mount point with \040-style escapes undone; false if it does not fit. */
static bool unescape(const char *s, char *out, size_t cap)
{
        size_t n = 0;
        for (; *s != '\0'; s++) {
                char c = *s;
                if (c == '\\' && s[1] >= '0' && s[1] <= '3' && s[2] >= '0' && s[2] <= '7' &&
                    s[3] >= '0' && s[3] <= '7') {
                        c = (char)((s[1] - '0') * 64 + (s[2] - '0') * 8 + (s[3] - '0'));
                        s += 3;
                }
                if (n + 1 >= cap)
                        return false;
                out[n++] = c;
        }
        out[n] = '\0';
        return true;
}

static bool mount_line(char *line, void *arg)
{
        struct cg_find *f = arg;
        char *sep = strstr(line, " - ");
        if (sep == NULL || strncmp(sep + 3, "cgroup2 ", 8) != 0)
                return false;
        *sep = '\0';
        char copy[512];
        la_strlcpy(copy, line, sizeof(copy));
        const char *root = field(line, 3);
        char *mnt = field(copy, 4);
        char mpoint[256];
        if (root == NULL || mnt == NULL || !unescape(mnt, mpoint, sizeof(mpoint)))
                return false;
        /* The process's path is relative to the hierarchy's root; this mount shows the
         * part under `root`. */
        const char *rel = f->cgroup;
        size_t rl = strlen(root);
        if (strcmp(root, "/") != 0) {
                if (strncmp(rel, root, rl) != 0 || (rel[rl] != '/' && rel[rl] != '\0'))
                        return false;
                rel += rl;
        }
        la_strlcpy(f->result, mpoint, sizeof(f->result));
        if (strcmp(rel, "/") != 0)
                la_strlcat(f->result, rel, sizeof(f->result));
        return la_strlcat(f->result, "/memory.pressure", sizeof(f->result)) <
               sizeof(f->result) - 1;
}

static bool own_cgroup_pressure(char *path, size_t cap)
{
        struct cg_find f;
        memset(&f, 0, sizeof(f));
        if (!each_line("/proc/self/cgroup", cgroup_line, &f) || f.cgroup[0] != '/')
                return false;
        if (strcmp(f.cgroup, "/") == 0)
                return false; /* the root cgroup has no memory.pressure of its own */
        if (!each_line("/proc/self/mountinfo", mount_line, &f))
                return false;
        return la_strlcpy(path, f.result, cap) < cap;
}

/* ---- arming ------------------------------------------------------------------------ */

static void set_watch(enum kind k)
{
        w.kind = k;
        la_strlcpy(w.watch, kind_names[k], sizeof(w.watch));
        if (k != W_OFF)
                la_strlcat(w.watch, w.path, sizeof(w.watch));
}

static const char *errno_text(int e)
{
        switch (e) {
        case ENOENT:
                return "it does not exist";
        case EACCES:
        case EPERM:
                return "permission denied";
        case ECONNREFUSED:
                return "nobody listens on the socket";
        case EINVAL:
                return "the kernel refused the trigger";
        case EISDIR:
                return "it is a directory";
        default:
                return "it cannot be opened";
        }
}

/* A watch asked for by the environment and not armed: said once, then no watch. */
static bool fail(bool report, const char *why)
{
        if (w.fd >= 0)
                close(w.fd);
        w.fd = -1;
        set_watch(W_FAILED);
        if (report)
                la_messagef("liballoc: memory-pressure watch off: MEMORY_PRESSURE_WATCH=",
                            w.path, ": ", why, (const char *)NULL);
        return false;
}

static void default_trigger(void)
{
        char a[24], b[24];
        size_t thr = la_opt.pressure_threshold_ms, win = la_opt.pressure_window_ms;
        if (thr > win)
                thr = win;
        la_strlcpy(w.trigger, "some ", sizeof(w.trigger));
        la_strlcat(w.trigger, la_fmt_u64(a, (uint64_t)thr * 1000), sizeof(w.trigger));
        la_strlcat(w.trigger, " ", sizeof(w.trigger));
        la_strlcat(w.trigger, la_fmt_u64(b, (uint64_t)win * 1000), sizeof(w.trigger));
        w.trigger_len = strlen(w.trigger);
}

static bool connect_socket(bool report)
{
        struct sockaddr_un sa;
        memset(&sa, 0, sizeof(sa));
        sa.sun_family = AF_UNIX;
        if (strlen(w.path) >= sizeof(sa.sun_path))
                return fail(report, "the socket path is too long");
        la_strlcpy(sa.sun_path, w.path, sizeof(sa.sun_path));
        w.fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (w.fd < 0)
                return fail(report, "no socket could be made");
        if (connect(w.fd, (struct sockaddr *)&sa, sizeof(sa)) != 0)
                return fail(report, errno_text(errno));
        if (w.trigger_len > 0 &&
            send(w.fd, w.trigger, w.trigger_len, MSG_NOSIGNAL | MSG_DONTWAIT) < 0)
                return fail(report, "the trigger could not be written to the socket");
        int fl = fcntl(w.fd, F_GETFL);
        fcntl(w.fd, F_SETFL, fl | O_NONBLOCK);
        w.events = POLLIN;
        set_watch(W_SOCKET);
        return true;
}

static bool open_fifo(void)
{
        w.fd = open(w.path, O_RDWR | O_NONBLOCK | O_CLOEXEC | O_NOCTTY);
        w.fifo_rdonly = false;
        if (w.fd < 0) {
                /* Without write permission: read only, reopened when the writer leaves. */
                w.fd = open(w.path, O_RDONLY | O_NONBLOCK | O_CLOEXEC | O_NOCTTY);
                w.fifo_rdonly = true;
        }
        return w.fd >= 0;
}

/* Opens w.path as the protocol says; report: whether a failure is worth a message. */
static bool open_watch(bool report)
{
        struct stat st;
        if (stat(w.path, &st) != 0)
                return fail(report, errno_text(errno));
        if (S_ISSOCK(st.st_mode))
                return connect_socket(report);
        if (S_ISFIFO(st.st_mode)) {
                if (!open_fifo())
                        return fail(report, errno_text(errno));
                w.events = POLLIN;
                set_watch(W_FIFO);
                return true;
        }
        if (S_ISDIR(st.st_mode))
                return fail(report, errno_text(EISDIR));
        if (!S_ISREG(st.st_mode))
                return fail(report, "it is not a PSI file, a FIFO or a socket");
        w.fd = open(w.path, O_RDWR | O_NONBLOCK | O_CLOEXEC | O_NOCTTY);
        if (w.fd < 0 && (errno == EACCES || errno == EPERM))
                w.fd = open(w.path, O_WRONLY | O_NONBLOCK | O_CLOEXEC | O_NOCTTY);
        if (w.fd < 0)
                return fail(report, errno_text(errno));
        /* A trigger is only ever written to a PSI file: procfs or cgroup2, never a file
         * of some file system a mistaken variable points at. */
        struct statfs fs;
        if (fstatfs(w.fd, &fs) != 0 ||
            (fs.f_type != PROC_SUPER_MAGIC && fs.f_type != CGROUP2_SUPER_MAGIC))
                return fail(report, "it is not a PSI file, a FIFO or a socket");
        if (w.trigger_len == 0)
                default_trigger();
        /* procfs's PSI files take the last byte written for the string's end: the trigger
         * goes with its NUL (as systemd encodes it in MEMORY_PRESSURE_WRITE). */
        if (w.trigger[w.trigger_len - 1] != '\0')
                w.trigger[w.trigger_len++] = '\0';
        ssize_t r = write(w.fd, w.trigger, w.trigger_len);
        if (r != (ssize_t)w.trigger_len)
                return fail(report, r < 0 ? errno_text(errno) : "the trigger was cut short");
        w.events = POLLPRI;
        set_watch(W_PSI);
        return true;
}

/* ---- when to arm ------------------------------------------------------------------ */

static bool service_booted; /* la_ctl_server_boot ran: the service thread may be started */
static bool grown;          /* the heap passed opt.pressure_arm_mb */
static size_t carved;

LA_WARM void la_pressure_grew(size_t bytes)
{
        if (__atomic_load_n(&grown, __ATOMIC_RELAXED))
                return;
        size_t total = __atomic_add_fetch(&carved, bytes, __ATOMIC_RELAXED);
        if (total < (la_opt.pressure_arm_mb << 20))
                return;
        /* Sequentially consistent with la_pressure_boot: either the boot sees the heap
         * grown (and its start tries to arm), or this sees the service booted. */
        if (__atomic_exchange_n(&grown, true, __ATOMIC_SEQ_CST))
                return;
        if (__atomic_load_n(&service_booted, __ATOMIC_SEQ_CST) && la_opt.pressure[0] != 'o')
                la_defer_request(LA_DEFER_SERVICE);
}

LA_BOOT void la_pressure_boot(void)
{
        /* No request of its own: the start that follows tries to arm when the heap has
         * grown already (a constructor's allocations). */
        __atomic_store_n(&service_booted, true, __ATOMIC_SEQ_CST);
}

/* Arming is tried once per process (a fork child tries again): a misconfigured watch is
 * reported once, however often the service is started. */
static bool tried;

LA_BOOT bool la_pressure_arm(void)
{
        if (w.fd >= 0)
                return true;
        if (tried || (!__atomic_load_n(&grown, __ATOMIC_SEQ_CST) && la_opt.pressure_arm_mb != 0))
                return false;
        tried = true;
        w.trigger_len = 0;
        w.path[0] = '\0';
        set_watch(W_OFF);
        if (la_opt.pressure[0] == 'o') /* pressure:off */
                return false;
        const char *env = secure_getenv("MEMORY_PRESSURE_WATCH");
        if (env == NULL) {
                if (!own_cgroup_pressure(w.path, sizeof(w.path)))
                        return false;
                default_trigger();
                if (open_watch(false))
                        return true;
                /* The kernel would not let us arm it (permissions, an old kernel): no
                 * watch, silently, as the option says. */
                w.path[0] = '\0';
                set_watch(W_OFF);
                return false;
        }
        if (env[0] == '\0' || strcmp(env, "/dev/null") == 0)
                return false;
        if (la_strlcpy(w.path, env, sizeof(w.path)) >= sizeof(w.path)) {
                w.path[0] = '\0';
                return fail(true, "the path is too long");
        }
        if (env[0] != '/')
                return fail(true, "not an absolute path");
        const char *wr = secure_getenv("MEMORY_PRESSURE_WRITE");
        if (wr != NULL && wr[0] != '\0') {
                long n = la_pressure_unbase64(wr, (unsigned char *)w.trigger,
                                              sizeof(w.trigger) - 1);
                if (n < 0)
                        return fail(true, "MEMORY_PRESSURE_WRITE is not base64 of at most "
                                          "127 bytes");
                w.trigger_len = (size_t)n;
                w.trigger[n] = '\0';
        }
        return open_watch(true);
}

int la_pressure_fd(short *events)
{
        *events = w.events;
        return w.fd;
}

void la_pressure_disarm(void)
{
        if (w.fd >= 0)
                close(w.fd);
        w.fd = -1;
        w.events = 0;
}

void la_pressure_postfork_child(void)
{
        la_pressure_disarm();
        tried = false;
}

const char *la_pressure_watch(void)
{
        return w.watch;
}

/* ---- acting ------------------------------------------------------------------------ */

static uint64_t realtime_ms(void)
{
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

/* Purges every arena fully; ordered: an event's purge (counted, heaps told to trim).
 * The purge is counted when it is over, after its bytes: whoever sees stats.pressure.purges
 * grow sees the bytes it returned too. */
static void purge(uint64_t now, bool ordered)
{
        if (ordered) {
                __atomic_store_n(&last_purge_ns, now, __ATOMIC_RELAXED);
                __atomic_add_fetch(&la_pressure_gen, 1, __ATOMIC_RELAXED);
        }
        __atomic_store_n(&last_pass_ns, now, __ATOMIC_RELAXED);
        la_thread_trim();
        size_t pages = 0;
        unsigned n = atomic_load(&la_narenas_total);
        for (unsigned i = 0; i < n; i++) {
                la_arena_t *a = la_arena_get(i, false);
                if (a != NULL)
                        pages += la_arena_purge_all(a);
        }
        __atomic_add_fetch(&bytes_returned, (uint64_t)pages * LA_PAGE, __ATOMIC_RELEASE);
        if (ordered)
                __atomic_add_fetch(&n_purges, 1, __ATOMIC_RELEASE);
}

static void on_event(bool now_anyway)
{
        uint64_t now = la_os_now_ns();
        __atomic_add_fetch(&n_events, 1, __ATOMIC_RELAXED);
        __atomic_store_n(&last_event_ms, realtime_ms(), __ATOMIC_RELAXED);
        __atomic_store_n(&hold_until_ns, now + HOLD_NS, __ATOMIC_RELAXED);
        uint64_t last = __atomic_load_n(&last_purge_ns, __ATOMIC_RELAXED);
        if (now_anyway || last == 0 || now - last >= MIN_GAP_NS) {
                __atomic_store_n(&pending, false, __ATOMIC_RELAXED);
                purge(now, true);
        } else {
                __atomic_store_n(&pending, true, __ATOMIC_RELAXED);
        }
}

void la_pressure_event_now(void)
{
        on_event(true);
}

/* The other side of the watch went away: said once, no more polling. */
static void end_watch(const char *why)
{
        la_pressure_disarm();
        set_watch(W_ENDED);
        la_messagef("liballoc: memory-pressure watch ended: ", w.path, ": ", why,
                    (const char *)NULL);
}

/* Reads what is there; returns whether anything was (false at the end of the stream). */
static bool drain(bool *eof)
{
        char buf[256];
        bool got = false;
        *eof = false;
        for (;;) {
                ssize_t r = read(w.fd, buf, sizeof(buf));
                if (r > 0) {
                        got = true;
                        continue;
                }
                if (r < 0 && errno == EINTR)
                        continue;
                *eof = r == 0;
                return got;
        }
}

void la_pressure_ready(short revents)
{
        bool eof = false;
        switch (w.kind) {
        case W_PSI:
                if (revents & (POLLERR | POLLNVAL)) {
                        end_watch("the pressure file is gone (its cgroup was removed?)");
                        return;
                }
                if (revents & POLLPRI)
                        on_event(false);
                return;
        case W_FIFO:
                if ((revents & POLLIN) && drain(&eof))
                        on_event(false);
                if (w.fifo_rdonly && (eof || (revents & POLLHUP))) {
                        /* The writer left; a fresh descriptor waits for the next one. */
                        close(w.fd);
                        if (!open_fifo()) {
                                w.fd = -1;
                                end_watch("the FIFO cannot be opened again");
                        }
                }
                return;
        case W_SOCKET:
                if ((revents & POLLIN) && drain(&eof))
                        on_event(false);
                if (eof || (revents & (POLLHUP | POLLERR | POLLNVAL)))
                        end_watch("the socket was closed by its other end");
                return;
        default:
                return;
        }
}

uint64_t la_pressure_tick(void)
{
        uint64_t now = la_os_now_ns(), next = UINT64_MAX;
        if (__atomic_load_n(&pending, __ATOMIC_RELAXED)) {
                uint64_t due = __atomic_load_n(&last_purge_ns, __ATOMIC_RELAXED) + MIN_GAP_NS;
                if (now >= due) {
                        __atomic_store_n(&pending, false, __ATOMIC_RELAXED);
                        purge(now, true);
                } else {
                        next = due;
                }
        }
        if (now < __atomic_load_n(&hold_until_ns, __ATOMIC_RELAXED)) {
                uint64_t due = __atomic_load_n(&last_pass_ns, __ATOMIC_RELAXED) + STEP_NS;
                if (now >= due) {
                        purge(now, false);
                        due = now + STEP_NS;
                }
                if (due < next)
                        next = due;
        }
        return next;
}

void la_pressure_stats(la_pressure_stats_t *st)
{
        st->events = __atomic_load_n(&n_events, __ATOMIC_RELAXED);
        st->purges = __atomic_load_n(&n_purges, __ATOMIC_RELAXED);
        st->bytes_returned = __atomic_load_n(&bytes_returned, __ATOMIC_RELAXED);
        st->last_event_ms = __atomic_load_n(&last_event_ms, __ATOMIC_RELAXED);
}
