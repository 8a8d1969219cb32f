#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-2-Clause
"""Redis under redis-benchmark with each allocator: requests per second and memory.

Starts a real redis-server (no persistence, 127.0.0.1, a free port) with each allocator
preloaded, runs redis-benchmark against it (SET, GET, LPUSH, LRANGE_100, pipelined), and
reads the server's peak and final RSS (/proc/PID/status VmHWM, VmRSS).  Allocators are
interleaved round by round and the medians of the rounds reported, with ratios to
jemalloc (Debian's redis-server is linked with libjemalloc, which serves it when nothing
is preloaded; glibc's malloc cannot be measured that way, so it is left out).

  tests/bench/redis.py [--rounds N] [--requests N] [--peer NAME=LIB ...] [--markdown F]
"""
import argparse
import os
import socket
import statistics
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
TOP = os.path.normpath(os.path.join(HERE, "..", ".."))
LIBDIR = "/usr/lib/x86_64-linux-gnu"
TESTS = "set,get,lpush,lrange_100"


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def status_kib(pid, key):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith(key + ":"):
                return int(line.split()[1])
    return 0


def wait_ready(port, proc, timeout=10.0):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if proc.poll() is not None:
            return False
        r = subprocess.run(["redis-cli", "-p", str(port), "ping"], capture_output=True,
                           text=True)
        if r.stdout.strip() == "PONG":
            return True
        time.sleep(0.05)
    return False


def one_run(lib, args):
    port = free_port()
    env = dict(os.environ)
    env.pop("LD_PRELOAD", None)
    if lib:
        env["LD_PRELOAD"] = lib
    srv = subprocess.Popen(["redis-server", "--port", str(port), "--bind", "127.0.0.1",
                            "--save", "", "--appendonly", "no", "--protected-mode", "no",
                            "--loglevel", "warning"],
                           env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        if not wait_ready(port, srv):
            err = srv.stderr.read().decode(errors="replace") if srv.poll() is not None else ""
            raise RuntimeError(f"redis-server did not start with {lib or 'its own malloc'}: "
                               f"{err.strip()[:300]}")
        out = subprocess.run(["redis-benchmark", "-p", str(port), "-q", "--csv", "-t", TESTS,
                              "-n", str(args.requests), "-c", "50", "-P", "16", "-d", "256",
                              "-r", "100000"],
                             capture_output=True, text=True, timeout=600)
        if out.returncode != 0:
            raise RuntimeError("redis-benchmark failed: " + out.stderr.strip()[:300])
        rps = {}
        for line in out.stdout.splitlines():
            cols = [c.strip('"') for c in line.split(",")]
            if len(cols) >= 2 and cols[0] != "test":
                try:
                    rps[cols[0].split()[0].lower()] = float(cols[1])
                except ValueError:
                    pass
        hwm = status_kib(srv.pid, "VmHWM")
        rss = status_kib(srv.pid, "VmRSS")
        loaded = True
        if lib:
            with open(f"/proc/{srv.pid}/maps") as f:
                loaded = os.path.realpath(lib) in f.read()
        return rps, hwm, rss, loaded
    finally:
        srv.terminate()
        try:
            srv.wait(timeout=10)
        except subprocess.TimeoutExpired:
            srv.kill()
            srv.wait()


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--requests", type=int, default=200000)
    ap.add_argument("--liballoc", default=os.environ.get(
        "LIBALLOC", os.path.join(TOP, "build", "liballoc", "liballoc.so")))
    ap.add_argument("--peer", action="append", default=[], metavar="NAME=LIB")
    ap.add_argument("--markdown")
    args = ap.parse_args()
    for tool in ("redis-server", "redis-benchmark", "redis-cli"):
        if subprocess.run(["sh", "-c", f"command -v {tool}"], capture_output=True).returncode:
            print(f"SKIP: {tool} is not installed (apt-get install redis-server redis-tools)")
            return 0
    allocs = [("liballoc", os.path.abspath(args.liballoc)), ("jemalloc", None),
              ("mimalloc", f"{LIBDIR}/libmimalloc.so.2"),
              ("tcmalloc", f"{LIBDIR}/libtcmalloc_minimal.so.4")]
    for p in args.peer:
        name, _, lib = p.partition("=")
        allocs.append((name, os.path.abspath(lib)))
    allocs = [(n, l) for n, l in allocs if l is None or os.path.exists(l)]
    runs = {n: [] for n, _ in allocs}
    for r in range(args.rounds):
        order = allocs[r % len(allocs):] + allocs[:r % len(allocs)]
        for name, lib in order:
            runs[name].append(one_run(lib, args))
            print(f"round {r + 1}/{args.rounds} {name}: "
                  + " ".join(f"{k}={v:.0f}" for k, v in runs[name][-1][0].items())
                  + f" peak={runs[name][-1][1]} KiB"
                  + f" loaded={'yes' if runs[name][-1][3] else 'NO'}", file=sys.stderr)
    tests = list(runs["jemalloc"][0][0].keys())

    def med(name, f):
        return statistics.median(f(x) for x in runs[name])
    lines = ["| allocator | " + " | ".join(f"{t} req/s" for t in tests)
             + " | peak RSS MiB | RSS at end MiB | req/s / je (geomean) | peak / je |",
             "|---|" + "---:|" * (len(tests) + 4)]
    je_rps = {t: med("jemalloc", lambda x, t=t: x[0].get(t, 0)) for t in tests}
    je_hwm = med("jemalloc", lambda x: x[1])
    for name, _ in allocs:
        vals = {t: med(name, lambda x, t=t: x[0].get(t, 0)) for t in tests}
        ratios = [vals[t] / je_rps[t] for t in tests if je_rps[t] > 0 and vals[t] > 0]
        geo = statistics.geometric_mean(ratios) if ratios else 0
        hwm = med(name, lambda x: x[1])
        rss = med(name, lambda x: x[2])
        lines.append(f"| {name} | " + " | ".join(f"{vals[t]:,.0f}" for t in tests)
                     + f" | {hwm / 1024:.1f} | {rss / 1024:.1f} | {geo:.2f} | "
                     f"{hwm / je_hwm:.2f} |")
    text = "\n".join(lines)
    print(text)
    if args.markdown:
        with open(args.markdown, "w") as f:
            f.write(text + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
