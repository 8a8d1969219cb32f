/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Unit tests of the client library's socket names and trusted connections (client/):
 * both name forms and their near misses; jcl_connect over real sockets in a scratch
 * directory: our own listener trusted, a symbolic link to it, a regular file, a socket
 * listened to by another process under our pid's name, a file nobody listens on, no file;
 * as root, a socket file owned by another uid than its listener's.  jcl_sock_names lists
 * an alternative name of the right owner after "<pid>.sock".  jcl_answer_parse: answers,
 * errors, integers past 2^63, and every malformed envelope.  jcl_proc_comm and
 * jcl_proc_cgroup of a live child and of one that is gone; jcl_write_all and
 * jcl_pread_all.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <jcl/answer.h>
#include <jcl/io.h>
#include <jcl/recv.h>
#include <jcl/sock.h>
#include "jp/proto.h"

#include "../common/check.h"

static char dir[256];

static void test_names(void)
{
        EXPECT(jcl_sock_name_pid("123.sock") == 123);
        EXPECT(jcl_sock_name_pid("123.0123456789abcdef.sock") == 123);
        EXPECT(jcl_sock_name_is_alt("123.0123456789abcdef.sock"));
        EXPECT(!jcl_sock_name_is_alt("123.sock"));
        const char *bad[] = {"0123.sock", "1234567890.sock", "123.sock.x", ".sock", "123",
                             "123.0123456789ABCDEF.sock", "123.0123456789abcde.sock",
                             "123.0123456789abcdef0.sock", "123..sock", "-1.sock",
                             "123.0123456789abcdef.sockx", "x123.sock"};
        for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
                if (jcl_sock_name_pid(bad[i]) != -1)
                        fprintf(stderr, "  accepted: %s\n", bad[i]);
                EXPECT(jcl_sock_name_pid(bad[i]) == -1);
        }
}

/* A listening socket at dir/name; its descriptor. */
static int listen_at(const char *name)
{
        struct sockaddr_un sa = {.sun_family = AF_UNIX};
        if (snprintf(sa.sun_path, sizeof(sa.sun_path), "%s/%s", dir, name) >=
            (int)sizeof(sa.sun_path))
                return -1;
        unlink(sa.sun_path);
        int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (fd < 0 || bind(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0 || listen(fd, 4) != 0)
                return -1;
        return fd;
}

static enum jcl_fail try_name(const char *name, jcl_peer_t *peer)
{
        enum jcl_fail f;
        int fd = jcl_connect(dir, name, getpid(), false, &f, peer);
        if (fd >= 0)
                close(fd);
        return fd >= 0 ? JCL_OK : f;
}

static void test_connect(void)
{
        char own[64], path[512], target[512];
        jcl_peer_t peer;
        snprintf(own, sizeof(own), "%d.sock", (int)getpid());
        int l = listen_at(own);
        EXPECT(l >= 0);
        EXPECT(try_name(own, &peer) == JCL_OK);
        EXPECT(peer.uid == geteuid());
        /* A link to it is not followed. */
        snprintf(path, sizeof(path), "%s/%d.0000000000000001.sock", dir, (int)getpid());
        snprintf(target, sizeof(target), "%s/%s", dir, own);
        EXPECT(symlink(target, path) == 0);
        EXPECT(try_name(strrchr(path, '/') + 1, &peer) == JCL_UNTRUSTED);
        EXPECT(strstr(peer.why, "symbolic link") != NULL);
        unlink(path);
        /* A regular file. */
        FILE *f = fopen(path, "w");
        EXPECT(f != NULL);
        if (f != NULL)
                fclose(f);
        EXPECT(try_name(strrchr(path, '/') + 1, &peer) == JCL_UNTRUSTED);
        EXPECT(strstr(peer.why, "not a socket") != NULL);
        unlink(path);
        /* No file; a file nobody listens on. */
        EXPECT(try_name("1.sock", &peer) == JCL_GONE);
        close(l);
        EXPECT(try_name(own, &peer) == JCL_GONE);
        EXPECT(peer.e == ECONNREFUSED);
        unlink(target);
}

/* Another process listens on our pid's name. */
static void test_other_listener(void)
{
        char own[64];
        snprintf(own, sizeof(own), "%d.sock", (int)getpid());
        int ready[2];
        EXPECT(pipe(ready) == 0);
        pid_t child = fork();
        if (child == 0) {
                int l = listen_at(own);
                char c = l >= 0 ? 'y' : 'n';
                if (write(ready[1], &c, 1) != 1)
                        _exit(1);
                pause();
                _exit(0);
        }
        char c = 0;
        EXPECT(read(ready[0], &c, 1) == 1 && c == 'y');
        jcl_peer_t peer;
        EXPECT(try_name(own, &peer) == JCL_UNTRUSTED);
        EXPECT(strstr(peer.why, "served by pid") != NULL);
        kill(child, SIGKILL);
        waitpid(child, NULL, 0);
        close(ready[0]);
        close(ready[1]);
        char path[512];
        snprintf(path, sizeof(path), "%s/%s", dir, own);
        unlink(path);
}

/* As root: the file's owner must be its listener's uid; jcl_sock_names lists the
 * alternative name of a right owner only. */
static void test_owner_and_names(void)
{
        char own[64], alt[64], path[512];
        snprintf(own, sizeof(own), "%d.sock", (int)getpid());
        snprintf(alt, sizeof(alt), "%d.00000000000000ff.sock", (int)getpid());
        int l = listen_at(alt);
        EXPECT(l >= 0);
        char names[JCL_ALT_MAX][JCL_NAME_MAX];
        size_t n = jcl_sock_names(dir, getpid(), names);
        EXPECT(n == 2 && strcmp(names[0], own) == 0 && strcmp(names[1], alt) == 0);
        EXPECT(jcl_sock_names(NULL, getpid(), names) == 1);
        snprintf(path, sizeof(path), "%s/%s", dir, alt);
        if (geteuid() == 0) {
                EXPECT(chown(path, 65534, 65534) == 0);
                jcl_peer_t peer;
                EXPECT(try_name(alt, &peer) == JCL_UNTRUSTED);
                EXPECT(strstr(peer.why, "belongs to uid 65534") != NULL);
                EXPECT(jcl_sock_names(dir, getpid(), names) == 1); /* a squatter's */
        }
        close(l);
        unlink(path);
}

static enum jcl_answer_kind parse(const char *text, uint64_t id, jcl_answer_t *a)
{
        enum jcl_answer_kind k = jcl_answer_parse(text, strlen(text), id, a);
        if (k != JCL_ANSWER_OK)
                EXPECT(a->result == NULL);
        return k;
}

static void test_answers(void)
{
        jcl_answer_t a;
        EXPECT(parse("{\"v\":1,\"id\":7,\"ok\":true,\"result\":{\"x\":1}}", 7, &a) ==
              JCL_ANSWER_OK);
        EXPECT(json_integer_value(json_object_get(a.result, "x")) == 1);
        json_decref(a.result);
        EXPECT(parse("{\"id\":0,\"ok\":true,\"result\":{}}", 7, &a) == JCL_ANSWER_OK);
        json_decref(a.result);
        EXPECT(parse("{\"ok\":true,\"result\":{\"big\":18446744073709551615}}", 7, &a) ==
              JCL_ANSWER_OK);
        EXPECT(json_is_real(json_object_get(a.result, "big")));
        json_decref(a.result);
        EXPECT(parse("{\"ok\":false,\"error\":{\"code\":\"busy\",\"message\":\"m\"}}", 1,
                    &a) == JCL_ANSWER_ERROR);
        EXPECT(strcmp(a.code, "busy") == 0 && strcmp(a.message, "m") == 0);
        const char *bad[] = {
                "[1]", "{}", "{\"ok\":1}", "{\"id\":8,\"ok\":true,\"result\":{}}",
                "{\"id\":-1,\"ok\":true,\"result\":{}}",
                "{\"id\":\"7\",\"ok\":true,\"result\":{}}", "{\"ok\":true}",
                "{\"ok\":true,\"result\":[]}", "{\"ok\":false,\"error\":{}}",
                "{\"ok\":false,\"error\":{\"code\":3}}",
                "{\"ok\":true,\"ok\":true,\"result\":{}}",
                "{\"ok\":true,\"\\u006fk\":true,\"result\":{}}", "{\"ok\":true,", ""};
        for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
                enum jcl_answer_kind k = parse(bad[i], 7, &a);
                if (k != JCL_ANSWER_MALFORMED)
                        fprintf(stderr, "  accepted: %s\n", bad[i]);
                EXPECT(k == JCL_ANSWER_MALFORMED && a.why[0] != '\0');
                if (k == JCL_ANSWER_OK)
                        json_decref(a.result);
        }
}

/* Sends "x" with the descriptors fds[0..n) over s. */
static void send_fds(int s, const int *fds, size_t n)
{
        union {
                struct cmsghdr align;
                char buf[CMSG_SPACE(4 * sizeof(int))];
        } ctl;
        char byte = 'x';
        struct iovec iov = {&byte, 1};
        struct msghdr mh = {.msg_iov = &iov, .msg_iovlen = 1};
        if (n > 0) {
                mh.msg_control = ctl.buf;
                mh.msg_controllen = CMSG_SPACE(n * sizeof(int));
                struct cmsghdr *cm = CMSG_FIRSTHDR(&mh);
                cm->cmsg_level = SOL_SOCKET;
                cm->cmsg_type = SCM_RIGHTS;
                cm->cmsg_len = CMSG_LEN(n * sizeof(int));
                memcpy(CMSG_DATA(cm), fds, n * sizeof(int));
        }
        EXPECT(sendmsg(s, &mh, 0) == 1);
}

static void test_recv(void)
{
        int sv[2], p[2];
        EXPECT(socketpair(AF_UNIX, SOCK_STREAM, 0, sv) == 0);
        EXPECT(pipe(p) == 0);
        char buf[8];
        int got = -1;
        bool extra = false;
        send_fds(sv[0], p, 1); /* one: taken */
        EXPECT(jcl_recv(sv[1], buf, sizeof(buf), 0, &got, &extra) == 1);
        EXPECT(got >= 0 && !extra);
        EXPECT((fcntl(got, F_GETFD) & FD_CLOEXEC) != 0);
        send_fds(sv[0], p, 1); /* another while one is held: closed, said */
        int held = got;
        EXPECT(jcl_recv(sv[1], buf, sizeof(buf), 0, &got, &extra) == 1);
        EXPECT(got == held && extra);
        close(got);
        got = -1;
        extra = false;
        send_fds(sv[0], p, 2); /* two at once: the first kept, the other closed */
        EXPECT(jcl_recv(sv[1], buf, sizeof(buf), 0, &got, &extra) == 1);
        EXPECT(got >= 0 && extra);
        close(got);
        got = -1;
        extra = false;
        send_fds(sv[0], NULL, 0); /* none */
        EXPECT(jcl_recv(sv[1], buf, sizeof(buf), 0, &got, &extra) == 1);
        EXPECT(got == -1 && !extra);
        close(sv[0]);
        close(sv[1]);
        close(p[0]);
        close(p[1]);
}

struct scanned {
        int n, alt;
        pid_t pids[8];
};

static void count_name(void *arg, pid_t pid, bool alt, const char *name)
{
        struct scanned *sc = arg;
        EXPECT(jcl_sock_name_pid(name) == pid);
        if (sc->n < 8)
                sc->pids[sc->n] = pid;
        sc->n++;
        sc->alt += alt;
}

/* jcl_scan: every control socket's name once, nothing else; -ENOENT for no directory. */
static void test_scan(void)
{
        char sub[300], path[400];
        snprintf(sub, sizeof(sub), "%s/scan", dir);
        EXPECT(mkdir(sub, 0700) == 0);
        const char *files[] = {"12.sock", "12.0123456789abcdef.sock", "34.sock", "x.sock",
                               "012.sock", "56.sock.tmp", "README"};
        for (unsigned i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
                snprintf(path, sizeof(path), "%s/%s", sub, files[i]);
                int fd = open(path, O_CREAT | O_WRONLY, 0600);
                EXPECT(fd >= 0);
                close(fd);
        }
        struct scanned sc = {0};
        EXPECT(jcl_scan(sub, count_name, &sc) == 0);
        EXPECT_EQ(sc.n, 3);
        EXPECT_EQ(sc.alt, 1);
        int twelve = 0, thirty_four = 0;
        for (int i = 0; i < sc.n && i < 8; i++) {
                twelve += sc.pids[i] == 12;
                thirty_four += sc.pids[i] == 34;
        }
        EXPECT(twelve == 2 && thirty_four == 1);
        for (unsigned i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
                snprintf(path, sizeof(path), "%s/%s", sub, files[i]);
                unlink(path);
        }
        rmdir(sub);
        EXPECT(jcl_scan(sub, count_name, &sc) == -ENOENT);
}

/* A process's comm and cgroup: a child that names itself, read while it lives and after
 * it is gone. */
static void test_proc_identity(void)
{
        int ready[2], hold[2];
        EXPECT(pipe(ready) == 0 && pipe(hold) == 0);
        pid_t pid = fork();
        if (pid == 0) {
                char c;
                prctl(PR_SET_NAME, "jcl-ident-probe+", 0, 0, 0); /* cut to 15 bytes */
                if (write(ready[1], "x", 1) != 1 || read(hold[0], &c, 1) < 0)
                        _exit(1);
                _exit(0);
        }
        char c, comm[64], cg[4096], want[4096], text[8192];
        EXPECT(pid > 0 && read(ready[0], &c, 1) == 1);
        EXPECT(jcl_proc_comm(pid, comm, sizeof(comm)));
        EXPECT_STR(comm, "jcl-ident-probe");
        /* The cgroup by jp_cgroup_of's rule: the same as ours, read through /proc/self. */
        FILE *f = fopen("/proc/self/cgroup", "re");
        size_t n = f != NULL ? fread(text, 1, sizeof(text) - 1, f) : 0;
        if (f != NULL)
                fclose(f);
        text[n] = '\0';
        bool have = jp_cgroup_of(text, want, sizeof(want)) > 0;
        EXPECT(jcl_proc_cgroup(pid, cg, sizeof(cg)) == have);
        if (have)
                EXPECT_STR(cg, want);
        /* Too small a buffer: none, not a cut path. */
        char tiny[2] = "?";
        EXPECT(!jcl_proc_cgroup(pid, tiny, sizeof(tiny)) || strcmp(want, "/") == 0);
        EXPECT(write(hold[1], "x", 1) == 1);
        int st;
        EXPECT(waitpid(pid, &st, 0) == pid);
        /* Gone: false and empty. */
        strcpy(comm, "stale");
        strcpy(cg, "stale");
        EXPECT(!jcl_proc_comm(pid, comm, sizeof(comm)) && comm[0] == '\0');
        EXPECT(!jcl_proc_cgroup(pid, cg, sizeof(cg)) && cg[0] == '\0');
        EXPECT(!jcl_proc_comm(0, comm, sizeof(comm)) && !jcl_proc_comm(-1, comm, sizeof(comm)));
        close(ready[0]);
        close(ready[1]);
        close(hold[0]);
        close(hold[1]);
}

/* Whole writes and reads: 1 MiB through a pipe a child drains in small reads (so writes
 * come back short), read back whole; the errors. */
static void test_io(void)
{
        enum { N = 1 << 20 };
        static char out[N], in[N];
        for (size_t i = 0; i < N; i++)
                out[i] = (char)(i * 131 + (i >> 12));
        char path[300];
        snprintf(path, sizeof(path), "%s/io", dir);
        int fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600);
        int p[2];
        EXPECT(fd >= 0 && pipe(p) == 0);
        pid_t pid = fork();
        if (pid == 0) {
                close(p[1]);
                char b[1000];
                ssize_t r;
                while ((r = read(p[0], b, sizeof(b))) > 0)
                        if (write(fd, b, (size_t)r) != r)
                                _exit(1);
                _exit(r == 0 ? 0 : 1);
        }
        close(p[0]);
        EXPECT(jcl_write_all(p[1], out, N) == 0);
        close(p[1]);
        int st;
        EXPECT(waitpid(pid, &st, 0) == pid && WIFEXITED(st) && WEXITSTATUS(st) == 0);
        memset(in, 0, sizeof(in));
        EXPECT(jcl_pread_all(fd, in, N) == 0);
        EXPECT(memcmp(in, out, N) == 0);
        /* pread leaves the offset alone; one byte more than the file: EIO. */
        EXPECT(lseek(fd, 0, SEEK_CUR) == N);
        EXPECT(jcl_pread_all(fd, in, N) == 0);
        EXPECT(ftruncate(fd, N - 1) == 0 && jcl_pread_all(fd, in, N) == EIO);
        close(fd);
        unlink(path);
        EXPECT(jcl_write_all(-1, out, 1) == EBADF && jcl_pread_all(-1, in, 1) == EBADF);
        EXPECT(jcl_write_all(-1, out, 0) == 0 && jcl_pread_all(-1, in, 0) == 0);
        /* A reader that is gone: EPIPE (with SIGPIPE ignored, as the clients do). */
        EXPECT(pipe(p) == 0);
        close(p[0]);
        void (*old)(int) = signal(SIGPIPE, SIG_IGN);
        EXPECT(jcl_write_all(p[1], out, 10) == EPIPE);
        signal(SIGPIPE, old);
        close(p[1]);
}

int main(void)
{
        const char *tmp = getenv("TMPDIR") != NULL ? getenv("TMPDIR") : "/tmp";
        snprintf(dir, sizeof(dir), "%s/test_jcl.XXXXXX", tmp);
        if (mkdtemp(dir) == NULL) {
                perror("mkdtemp");
                return 1;
        }
        check_run("unit/jcl/names", test_names);
        check_run("unit/jcl/connect", test_connect);
        check_run("unit/jcl/other-listener", test_other_listener);
        check_run("unit/jcl/owner-and-names", test_owner_and_names);
        check_run("unit/jcl/answers", test_answers);
        check_run("unit/jcl/recv", test_recv);
        check_run("unit/jcl/scan", test_scan);
        check_run("unit/jcl/proc-identity", test_proc_identity);
        check_run("unit/jcl/io", test_io);
        rmdir(dir);
        return check_finish();
}
