/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * fake_fleet: N small processes that each serve the control protocol on
 * DIR/<own pid>.sock with canned but realistic answers to hello, info and stats (the
 * shapes liballoc/src/server/ctl_ops.c answers, a stats summary with 8 arenas), so jemctld can be
 * measured against 1,000 processes without 1,000 real workloads.  Each child is one
 * fork of this small program (a few hundred KiB resident, mostly shared), serving one
 * connection at a time with the proto codec.
 *
 *   fake_fleet DIR N [SECONDS]    prints "ready N" once every socket listens, runs until
 *                                 SIGTERM/SIGINT (or SECONDS), then stops the children
 *                                 and removes their sockets.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <jp/proto.h>

#define MAX_CHILDREN 20000
#define IDLE_MS 5000 /* the server's own per-step deadline (docs/protocol.md) */

static char dir[90];
static char resp[16384];

static bool read_full(int fd, void *buf, size_t n)
{
        char *p = buf;
        while (n > 0) {
                struct pollfd pf = {fd, POLLIN, 0};
                if (poll(&pf, 1, IDLE_MS) <= 0)
                        return false;
                ssize_t r = read(fd, p, n);
                if (r <= 0) {
                        if (r < 0 && errno == EINTR)
                                continue;
                        return false;
                }
                p += r;
                n -= (size_t)r;
        }
        return true;
}

static bool write_full(int fd, const void *buf, size_t n)
{
        const char *p = buf;
        while (n > 0) {
                ssize_t w = send(fd, p, n, MSG_NOSIGNAL);
                if (w <= 0) {
                        if (w < 0 && errno == EINTR)
                                continue;
                        return false;
                }
                p += w;
                n -= (size_t)w;
        }
        return true;
}

static void put_info(jp_writer_t *w, pid_t me)
{
        char sock[128];
        snprintf(sock, sizeof(sock), "%s/%d.sock", dir, (int)me);
        jp_w_obj(w);
        jp_w_key(w, "pid");
        jp_w_u64(w, (uint64_t)me);
        jp_w_key(w, "ppid");
        jp_w_u64(w, (uint64_t)getppid());
        jp_w_key(w, "uid");
        jp_w_u64(w, (uint64_t)geteuid());
        jp_w_key(w, "gid");
        jp_w_u64(w, (uint64_t)getegid());
        jp_w_key(w, "comm");
        jp_w_str(w, "fake_fleet");
        jp_w_key(w, "exe");
        jp_w_str(w, "/usr/local/bin/fake_fleet");
        jp_w_key(w, "cmdline");
        jp_w_arr(w);
        jp_w_str(w, "fake_fleet");
        jp_w_str(w, "--serve");
        jp_w_arr_end(w);
        jp_w_key(w, "start_time");
        jp_w_u64(w, (uint64_t)time(NULL));
        jp_w_key(w, "cgroup");
        jp_w_str(w, "/system.slice/fake-fleet.service");
        jp_w_key(w, "allocator");
        jp_w_str(w, "liballoc");
        jp_w_key(w, "allocator_version");
        jp_w_str(w, "0.1.0");
        jp_w_key(w, "runtime_dir");
        jp_w_str(w, dir);
        jp_w_key(w, "socket");
        jp_w_str(w, sock);
        jp_w_obj_end(w);
}

/* A summary like a busy 8-thread server's: figures vary by pid and epoch. */
static void put_stats(jp_writer_t *w, pid_t me, uint64_t epoch)
{
        uint64_t base = 40u << 20, jitter = ((uint64_t)me * 7919u + epoch * 104729u) % (8u << 20);
        uint64_t allocated = base + jitter, active = allocated + (allocated >> 4);
        static const char *const k[] = {"allocated", "active",   "metadata", "resident",
                                        "mapped",    "retained", "rss"};
        uint64_t v[] = {allocated,
                        active,
                        3u << 20,
                        active + (6u << 20),
                        active + (8u << 20),
                        16u << 20,
                        active + (12u << 20)};
        jp_w_obj(w);
        jp_w_key(w, "epoch");
        jp_w_u64(w, epoch);
        for (size_t i = 0; i < sizeof(k) / sizeof(k[0]); i++) {
                jp_w_key(w, k[i]);
                jp_w_u64(w, v[i]);
        }
        jp_w_key(w, "narenas");
        jp_w_u64(w, 8);
        jp_w_key(w, "dirty_decay_ms");
        jp_w_i64(w, 10000);
        jp_w_key(w, "muzzy_decay_ms");
        jp_w_i64(w, 0);
        jp_w_key(w, "background_thread");
        jp_w_bool(w, false);
        jp_w_key(w, "arenas");
        jp_w_arr(w);
        for (unsigned a = 0; a < 8; a++) {
                jp_w_obj(w);
                jp_w_key(w, "index");
                jp_w_u64(w, a);
                jp_w_key(w, "nthreads");
                jp_w_u64(w, 1);
                jp_w_key(w, "pactive");
                jp_w_u64(w, active / 4096 / 8);
                jp_w_key(w, "pdirty");
                jp_w_u64(w, 300 + a);
                jp_w_key(w, "pmuzzy");
                jp_w_u64(w, 0);
                jp_w_key(w, "dirty_decay_ms");
                jp_w_i64(w, 10000);
                jp_w_key(w, "muzzy_decay_ms");
                jp_w_i64(w, 0);
                jp_w_key(w, "small_allocated");
                jp_w_u64(w, allocated / 8 * 3 / 4);
                jp_w_key(w, "large_allocated");
                jp_w_u64(w, allocated / 8 / 4);
                jp_w_obj_end(w);
        }
        jp_w_arr_end(w);
        jp_w_obj_end(w);
}

static void serve_conn(int fd, pid_t me, uint64_t *epoch)
{
        static char req[JP_REQ_MAX];
        static jp_tok_t toks[JP_MAX_TOKENS];
        for (;;) {
                uint8_t hdr[JP_HDR_SIZE];
                if (!read_full(fd, hdr, sizeof(hdr)))
                        return;
                uint32_t len = jp_frame_get(hdr);
                if (jp_frame_check(len, JP_REQ_MAX) != JP_OK || !read_full(fd, req, len))
                        return;
                jp_request_t r;
                jp_writer_t w;
                jp_w_init(&w, resp + JP_HDR_SIZE, sizeof(resp) - JP_HDR_SIZE);
                enum jp_err e = jp_request_parse(req, len, toks, JP_MAX_TOKENS, &r);
                if (e != JP_OK) {
                        jp_response_error(&w, r.id, e, NULL);
                } else if (r.op == JP_OP_HELLO || r.op == JP_OP_INFO || r.op == JP_OP_STATS) {
                        jp_response_begin(&w, r.id);
                        if (r.op == JP_OP_INFO) {
                                put_info(&w, me);
                        } else if (r.op == JP_OP_STATS) {
                                put_stats(&w, me, ++*epoch);
                        } else {
                                jp_w_obj(&w);
                                jp_w_key(&w, "protocol");
                                jp_w_arr(&w);
                                jp_w_u64(&w, 1);
                                jp_w_arr_end(&w);
                                jp_w_key(&w, "server");
                                jp_w_str(&w, "liballoc");
                                jp_w_key(&w, "version");
                                jp_w_str(&w, "0.1.0");
                                jp_w_key(&w, "pid");
                                jp_w_u64(&w, (uint64_t)me);
                                jp_w_obj_end(&w);
                        }
                        jp_response_end(&w);
                } else {
                        jp_response_error(&w, r.id, JP_ERR_NOT_SUPPORTED,
                                          "fake_fleet answers hello, info and stats only");
                }
                jp_frame_put((uint8_t *)resp, (uint32_t)w.len);
                if (!write_full(fd, resp, JP_HDR_SIZE + w.len))
                        return;
        }
}

static void child(int ready_fd)
{
        pid_t me = getpid();
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        struct sockaddr_un sa = {.sun_family = AF_UNIX};
        snprintf(sa.sun_path, sizeof(sa.sun_path), "%s/%d.sock", dir, (int)me);
        int lfd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        unlink(sa.sun_path);
        if (lfd < 0 || bind(lfd, (struct sockaddr *)&sa, sizeof(sa)) != 0 || listen(lfd, 16) != 0) {
                fprintf(stderr, "fake_fleet: %s: %s\n", sa.sun_path, strerror(errno));
                _exit(1);
        }
        char one = 1;
        if (write(ready_fd, &one, 1) != 1)
                _exit(1);
        close(ready_fd);
        uint64_t epoch = 0;
        for (;;) {
                int fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
                if (fd < 0)
                        continue;
                serve_conn(fd, me, &epoch);
                close(fd);
        }
}

static volatile sig_atomic_t stop;
static void on_stop(int sig)
{
        (void)sig;
        stop = 1;
}

int main(int argc, char **argv)
{
        if (argc < 3 || argc > 4) {
                fprintf(stderr, "usage: fake_fleet DIR N [SECONDS]\n");
                return 2;
        }
        if (snprintf(dir, sizeof(dir), "%s", argv[1]) >= (int)sizeof(dir)) {
                fprintf(stderr, "fake_fleet: directory name too long for socket addresses\n");
                return 2;
        }
        long n = atol(argv[2]);
        double secs = argc > 3 ? atof(argv[3]) : 0;
        if (n <= 0 || n > MAX_CHILDREN) {
                fprintf(stderr, "fake_fleet: N must be 1 to %d\n", MAX_CHILDREN);
                return 2;
        }
        pid_t *kids = calloc((size_t)n, sizeof(*kids));
        int pfd[2];
        if (kids == NULL || pipe(pfd) != 0)
                return 1;
        struct sigaction sa = {.sa_handler = on_stop};
        sigaction(SIGTERM, &sa, NULL);
        sigaction(SIGINT, &sa, NULL);
        signal(SIGPIPE, SIG_IGN);
        long started = 0;
        for (; started < n; started++) {
                pid_t p = fork();
                if (p == 0) {
                        close(pfd[0]);
                        signal(SIGTERM, SIG_DFL);
                        signal(SIGINT, SIG_DFL);
                        child(pfd[1]);
                }
                if (p < 0) {
                        fprintf(stderr, "fake_fleet: fork: %s\n", strerror(errno));
                        break;
                }
                kids[started] = p;
        }
        close(pfd[1]);
        long ready = 0;
        char c;
        while (ready < started && read(pfd[0], &c, 1) == 1)
                ready++;
        printf("ready %ld\n", ready);
        fflush(stdout);
        time_t end = secs > 0 ? time(NULL) + (time_t)secs : 0;
        while (!stop && (end == 0 || time(NULL) < end) && ready == n)
                usleep(100000);
        for (long i = 0; i < started; i++)
                kill(kids[i], SIGKILL);
        for (long i = 0; i < started; i++) {
                waitpid(kids[i], NULL, 0);
                char path[128];
                snprintf(path, sizeof(path), "%s/%d.sock", dir, (int)kids[i]);
                unlink(path);
        }
        free(kids);
        return ready == n ? 0 : 1;
}
