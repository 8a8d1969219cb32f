#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-2-Clause
"""Figures of the memory-pressure work (docs/performance.md, "Memory pressure").  Not a
test: prints figures.  Needs root for the cgroup parts.

  python3 tests/bench/pressure.py latency [--runs N]
      the process's own watch: a FIFO event (MEMORY_PRESSURE_WATCH) to the holder's RSS
      falling below 35 % of what it held; p50 and p99 over N runs (default 50)
  python3 tests/bench/pressure.py governor [--runs N]
      jemctld as the governor in the 256 MiB cgroup-v1 scenario of tests/pressure: the
      usage threshold's event to the process's answer, and the bytes returned (N runs,
      default 20)
  python3 tests/bench/pressure.py fleet [--procs N] [--seconds S]
      jemctld's CPU with N idle liballoc processes (default 1000) in 10 memory cgroups
      with limits, over S seconds (default 60), with --governor=on and --governor=off

Options: --build DIR (default build/ at the repository root).
"""
import argparse
import json
import os
import select
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def pct(xs, p):
    xs = sorted(xs)
    k = min(len(xs) - 1, max(0, int(round(p / 100.0 * len(xs) + 0.5)) - 1))
    return xs[k]


def rss_kib(pid):
    with open("/proc/%d/statm" % pid) as f:
        return int(f.read().split()[1]) * (os.sysconf("SC_PAGE_SIZE") // 1024)


def own_memcg():
    for line in open("/proc/self/cgroup"):
        f = line.strip().split(":", 2)
        if "memory" in f[1].split(","):
            return "/sys/fs/cgroup/memory" + f[2]
    sys.exit("no cgroup-v1 memory controller here")


def make_cg(name, limit):
    path = os.path.join(own_memcg(), name)
    os.makedirs(path, exist_ok=True)
    with open(os.path.join(path, "memory.limit_in_bytes"), "w") as f:
        f.write(str(limit))
    return path


def remove_cg(path):
    for _ in range(100):
        try:
            os.rmdir(path)
            return
        except OSError:
            time.sleep(0.05)


def enter(path):
    def fn():
        with open(os.path.join(path, "cgroup.procs"), "w") as f:
            f.write("0")
    return fn


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


class Daemon:
    def __init__(self, b, rt, *extra):
        self.port = free_port()
        self.p = subprocess.Popen([os.path.join(b, "jemctld/jemctld"), "--runtime-dir", rt,
                                   "--http", "127.0.0.1:%d" % self.port] + list(extra),
                                  stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    def get(self, path):
        with urllib.request.urlopen("http://127.0.0.1:%d%s" % (self.port, path),
                                    timeout=10) as r:
            return r.read().decode()

    def metric(self, name):
        for line in self.get("/metrics").splitlines():
            if line.startswith(name + " "):
                return float(line.split()[1])
        return None

    def cpu(self):
        with open("/proc/%d/stat" % self.p.pid) as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def close(self):
        self.p.terminate()
        self.p.wait(10)


def holder(b, env, conf, preexec=None):
    e = dict(os.environ)
    e.update(env)
    e["LD_PRELOAD"] = os.path.join(b, "liballoc/liballoc.so")
    e["MALLOC_CONF"] = conf
    p = subprocess.Popen([os.path.join(b, "tests/pressure/pressure-holder"), "200", "10"],
                         stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, bufsize=1,
                         env=e, preexec_fn=preexec)
    return p


def expect(p, word):
    while True:
        r, _, _ = select.select([p.stdout], [], [], 30)
        if not r:
            sys.exit("the holder is silent")
        f = p.stdout.readline().split()
        if f and f[0] == word:
            return f[1:]


def latency(a):
    tmp = tempfile.mkdtemp()
    fifo = os.path.join(tmp, "fifo")
    os.mkfifo(fifo, 0o600)
    p = holder(a.build, {"MEMORY_PRESSURE_WATCH": fifo}, "pressure_arm_mb:0")
    ready = int(expect(p, "ready")[0])
    ms, back = [], []
    for i in range(a.runs):
        if i:
            time.sleep(0.3)  # past the 250 ms rate limit
            p.stdin.write("g\n")
            p.stdin.flush()
            ready = int(expect(p, "ready")[0])
        fd = os.open(fifo, os.O_WRONLY | os.O_NONBLOCK)
        t0 = time.monotonic()
        os.write(fd, b"x")
        os.close(fd)
        while rss_kib(p.pid) > ready * 0.35:
            if time.monotonic() - t0 > 5:
                sys.exit("no purge within 5 s")
            time.sleep(0.0002)
        ms.append((time.monotonic() - t0) * 1000)
        back.append(ready - rss_kib(p.pid))
    p.stdin.close()
    p.wait()
    print("own watch (FIFO event -> RSS below 35 %% of %d MiB), %d runs: p50 %.1f ms, "
          "p99 %.1f ms, max %.1f ms; returned p50 %.0f MiB" % (
              ready // 1024, a.runs, pct(ms, 50), pct(ms, 99), max(ms),
              statistics.median(back) / 1024))


def governor(a):
    ms, back, kills = [], [], 0
    for i in range(a.runs):
        cg = make_cg("bench-governor-%d" % os.getpid(), 256 << 20)
        rt = tempfile.mkdtemp()
        os.chmod(rt, 0o700)
        d = Daemon(a.build, rt)
        p = holder(a.build, {"JEMCTL_RUNTIME_DIR": rt}, "pressure:off", enter(cg))
        expect(p, "ready")
        end = time.monotonic() + 10
        while time.monotonic() < end:
            try:
                if json.loads(d.get("/api/v1/governor"))["cgroups"]:
                    break
            except OSError:
                pass
            time.sleep(0.1)
        subprocess.run([os.path.join(a.build, "tests/pressure/pressure-toucher"), "150", "20"],
                       preexec_fn=enter(cg), stdout=subprocess.DEVNULL,
                       stderr=subprocess.DEVNULL)
        time.sleep(0.3)
        acts = [x for x in json.loads(d.get("/api/v1/governor"))["actions"]
                if x["result"] == "ok"]
        with open(os.path.join(cg, "memory.oom_control")) as f:
            kills += int([ln for ln in f if ln.startswith("oom_kill ")][0].split()[1])
        if acts:
            ms.append(acts[0]["ms"])
            back.append(acts[0]["bytes"] / 2.0**20)
        p.stdin.close()
        p.wait()
        d.close()
        remove_cg(cg)
    print("governor (v1 threshold event -> the purge's answer), %d runs, %d with a purge, "
          "%d OOM kills: p50 %.1f ms, p99 %.1f ms, max %.1f ms; returned p50 %.0f MiB" % (
              a.runs, len(ms), kills, pct(ms, 50), pct(ms, 99), max(ms),
              statistics.median(back)))


def fleet(a):
    rt = tempfile.mkdtemp()
    os.chmod(rt, 0o700)
    cgs = [make_cg("bench-fleet-%d-%d" % (os.getpid(), i), 2 << 30) for i in range(10)]
    e = dict(os.environ)
    e["LD_PRELOAD"] = os.path.join(a.build, "liballoc/liballoc.so")
    e["JEMCTL_RUNTIME_DIR"] = rt
    procs = []
    try:
        for i in range(a.procs):
            procs.append(subprocess.Popen(["sleep", "3600"], env=e, preexec_fn=enter(cgs[i % 10]),
                                          stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                          stderr=subprocess.DEVNULL))
        for mode in ("on", "off", "on", "off"):
            d = Daemon(a.build, rt, "--governor=" + mode)
            end = time.monotonic() + 120
            while time.monotonic() < end:
                try:
                    if d.metric("jemctld_processes") == a.procs:
                        break
                except OSError:
                    pass
                time.sleep(0.5)
            time.sleep(12)  # past the first poll cycle and the governor's first reads
            c0, t0 = d.cpu(), time.monotonic()
            time.sleep(a.seconds)
            c1, t1 = d.cpu(), time.monotonic()
            n = d.metric("jemctld_governor_cgroups")
            print("jemctld --governor=%s, %d processes, %s cgroups watched: %.2f %% of one "
                  "CPU (%.2f s in %.0f s)" % (mode, d.metric("jemctld_processes"),
                                              "%d" % n if n is not None else "-",
                                              100 * (c1 - c0) / (t1 - t0), c1 - c0, t1 - t0))
            d.close()
    finally:
        for p in procs:
            p.kill()
        for p in procs:
            p.wait()
        for cg in cgs:
            remove_cg(cg)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("what", choices=["latency", "governor", "fleet"])
    ap.add_argument("--build", default=os.path.join(ROOT, "build"))
    ap.add_argument("--runs", type=int, default=0)
    ap.add_argument("--procs", type=int, default=1000)
    ap.add_argument("--seconds", type=float, default=60)
    a = ap.parse_args()
    a.build = os.path.abspath(a.build)
    if a.what == "latency":
        a.runs = a.runs or 50
        latency(a)
    elif a.what == "governor":
        a.runs = a.runs or 20
        governor(a)
    else:
        fleet(a)


if __name__ == "__main__":
    main()
