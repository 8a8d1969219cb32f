/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * ctl_latency: round-trip latency of the control socket (docs/protocol.md).
 * usage: bench-ctl-latency SOCKET [N]  -- N round trips each of `get stats.allocated`,
 * `stats` (summary) and `stats full`; prints min / median / p99 in microseconds.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "jp/proto.h"

static double now_us(void)
{
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        return ts.tv_sec * 1e6 + ts.tv_nsec / 1e3;
}

static int io_all(int fd, void *buf, size_t n, int rd)
{
        char *p = buf;
        while (n > 0) {
                ssize_t r = rd ? read(fd, p, n) : write(fd, p, n);
                if (r < 0 && errno == EINTR)
                        continue;
                if (r <= 0)
                        return -1;
                p += r;
                n -= (size_t)r;
        }
        return 0;
}

static char *resp;

/* One round trip; returns the response length or -1. */
static long call(int fd, const char *req, size_t len)
{
        uint8_t hdr[JP_HDR_SIZE];
        jp_frame_put(hdr, (uint32_t)len);
        if (io_all(fd, hdr, sizeof(hdr), 0) || io_all(fd, (void *)req, len, 0) ||
            io_all(fd, hdr, sizeof(hdr), 1))
                return -1;
        uint32_t n = jp_frame_get(hdr);
        if (n > JP_RESP_MAX || io_all(fd, resp, n, 1))
                return -1;
        return (long)n;
}

static int cmp(const void *a, const void *b)
{
        double x = *(const double *)a, y = *(const double *)b;
        return x < y ? -1 : x > y;
}

static void run(int fd, const char *label, const char *req, int n)
{
        double *t = malloc(sizeof(double) * (size_t)n);
        long size = 0;
        for (int i = 0; i < n; i++) {
                double s = now_us();
                size = call(fd, req, strlen(req));
                t[i] = now_us() - s;
                if (size < 0) {
                        fprintf(stderr, "ctl_latency: %s: connection failed\n", label);
                        exit(1);
                }
        }
        qsort(t, (size_t)n, sizeof(double), cmp);
        printf("%-22s min %8.1f us  median %8.1f us  p99 %8.1f us  (response %ld bytes)\n",
               label, t[0], t[n / 2], t[(n * 99) / 100], size);
        free(t);
}

int main(int argc, char **argv)
{
        if (argc < 2) {
                fprintf(stderr, "usage: %s SOCKET [N]\n", argv[0]);
                return 2;
        }
        int n = argc > 2 ? atoi(argv[2]) : 1000;
        resp = malloc(JP_RESP_MAX);
        int fd = socket(AF_UNIX, SOCK_STREAM, 0);
        struct sockaddr_un sa = {.sun_family = AF_UNIX};
        snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", argv[1]);
        if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0) {
                perror("connect");
                return 1;
        }
        run(fd, "get stats.allocated",
            "{\"v\":1,\"op\":\"get\",\"names\":[\"stats.allocated\"]}", n);
        run(fd, "stats (summary)", "{\"v\":1,\"op\":\"stats\"}", n);
        run(fd, "stats full (JSON)", "{\"v\":1,\"op\":\"stats\",\"full\":true}", n / 10 + 1);
        return 0;
}
