#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-2-Clause
"""Memory-pressure tests (tests/pressure/run.sh runs this; see there for the list).

A holder process (BUILD_DIR/tests/pressure/pressure-holder, allocator from LD_PRELOAD)
builds a working set, frees most of it and reports its RSS and the stats.pressure.*
counters; these tests feed its watch the three forms of systemd's memory-pressure protocol
and bad input, and play the OOM scenario in a memory cgroup.  One PASS/FAIL/SKIP line per
test; exit status 1 if anything failed.
"""
import argparse
import base64
import os
import select
import signal
import socket
import stat
import subprocess
import sys
import tempfile
import threading
import time

ARGS = None
RESULTS = []
MIB = 1024


def out(kind, name, why=""):
    line = "%s: pressure/%s" % (kind, name) + (": " + why if why else "")
    print(line, flush=True)
    RESULTS.append(kind)


class Fail(Exception):
    pass


class Skip(Exception):
    pass


def check(cond, why):
    if not cond:
        raise Fail(why)


TESTS = []


def test(name):
    def wrap(fn):
        TESTS.append((name, fn))
        return fn
    return wrap


def reap(p, timeout=10):
    """Waits for process p to end, killing it after timeout seconds."""
    try:
        p.wait(timeout)
    except subprocess.TimeoutExpired:
        p.kill()
        p.wait()


class Holder:
    """pressure-holder under the allocator, driven through its stdin and stdout."""

    def __init__(self, env=None, mib=200, keep=10, lib=None, conf="pressure_arm_mb:0",
                 preexec=None, user=None):
        e = dict(os.environ)
        for k in ("MEMORY_PRESSURE_WATCH", "MEMORY_PRESSURE_WRITE", "JEMCTL_RUNTIME_DIR",
                  "MALLOC_CONF"):
            e.pop(k, None)
        e["XDG_RUNTIME_DIR"] = ARGS.tmp + "/no-runtime-dir"  # no control socket
        e["LD_PRELOAD"] = lib or ARGS.lib
        if conf:
            e["MALLOC_CONF"] = conf
        e.update(env or {})
        cmd = [ARGS.holder, str(mib), str(keep)]
        if user is not None:
            # setpriv itself must not run under the allocator: it changes capabilities in
            # one thread, then the uid, which glibc cannot do in a process with two.
            e.pop("LD_PRELOAD")
            cmd = (["setpriv", "--reuid", str(user), "--regid", str(user), "--clear-groups",
                    "env", "LD_PRELOAD=" + (lib or ARGS.lib)] + cmd)
        self.err_path = tempfile.mktemp(dir=ARGS.tmp, suffix=".err")
        self.err = open(self.err_path, "w")
        self.p = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                  stderr=self.err, env=e, text=True, bufsize=1,
                                  preexec_fn=preexec)
        self.ready = self.expect("ready")

    def line(self, timeout=20.0):
        r, _, _ = select.select([self.p.stdout], [], [], timeout)
        if not r:
            raise Fail("the holder said nothing for %.0f s" % timeout)
        s = self.p.stdout.readline()
        if s == "":
            raise Fail("the holder ended (status %s): %s" % (self.p.wait(), self.stderr()))
        return s.split()

    def expect(self, word, timeout=20.0):
        while True:
            f = self.line(timeout)
            if f[0] == word:
                return f[1:]

    def ask(self, cmd, word):
        self.p.stdin.write(cmd + "\n")
        self.p.stdin.flush()
        return self.expect(word)

    def watch(self):
        return " ".join(self.ask("w", "watch"))

    def rss(self):
        """VmRSS in KiB, read from /proc (works while the holder is busy)."""
        with open("/proc/%d/statm" % self.p.pid) as f:
            return int(f.read().split()[1]) * (os.sysconf("SC_PAGE_SIZE") // 1024)

    def threads(self):
        return len(os.listdir("/proc/%d/task" % self.p.pid))

    def stderr(self):
        self.err.flush()
        with open(self.err_path) as f:
            return f.read()

    def close(self):
        try:
            self.p.stdin.close()
        except OSError:
            pass
        reap(self.p)
        self.err.close()
        os.unlink(self.err_path)
        return self.p.returncode


def wait_rss_below(h, kib, timeout):
    t0 = time.monotonic()
    while time.monotonic() - t0 < timeout:
        if h.rss() < kib:
            return time.monotonic() - t0
        time.sleep(0.001)
    return None


def fifo_write(path, data=b"x"):
    fd = os.open(path, os.O_WRONLY | os.O_NONBLOCK)
    try:
        os.write(fd, data)
    finally:
        os.close(fd)


def make_fifo(name="fifo", mode=0o600):
    path = os.path.join(ARGS.tmp, name)
    if os.path.exists(path):
        os.unlink(path)
    os.mkfifo(path, mode)
    os.chmod(path, mode)
    return path


def live_target(h):
    """RSS a purged holder should reach: well under half of what it held."""
    return int(h.ready[0]) * 35 // 100


# ---- the three forms of the protocol ------------------------------------------------

@test("fifo-event-returns-memory")
def t_fifo():
    fifo = make_fifo()
    h = Holder({"MEMORY_PRESSURE_WATCH": fifo})
    try:
        check(h.watch() == "fifo:" + fifo, "pressure.watch -> %r" % h.watch())
        before = h.rss()
        check(before > 150 * MIB, "the holder holds %d KiB, expected > 150 MiB" % before)
        fifo_write(fifo)
        took = wait_rss_below(h, live_target(h), 2.0)
        check(took is not None, "RSS %d KiB 2 s after the event (was %d)" % (h.rss(), before))
        ev = h.expect("event")
        check(int(ev[0]) == 1 and int(ev[1]) == 1, "events/purges after one event: %s" % ev)
        check(int(ev[2]) > 100 * MIB * 1024, "bytes_returned %s, expected > 100 MiB" % ev[2])
        check(h.stderr() == "", "stderr: %r" % h.stderr())
    finally:
        h.close()


@test("fifo-writer-leaves-and-returns")
def t_fifo_writers():
    fifo = make_fifo()
    h = Holder({"MEMORY_PRESSURE_WATCH": fifo}, mib=40)
    try:
        for i in range(1, 4):
            fifo_write(fifo)  # each writer opens, writes, closes
            ev = h.expect("event", 20)  # generous: a loaded CI machine
            check(int(ev[0]) == i, "event %d counted as %s" % (i, ev[0]))
            time.sleep(0.3)
        check(h.watch() == "fifo:" + fifo, "watch after writers left: %r" % h.watch())
    finally:
        h.close()


@test("fifo-read-only-reopened")
def t_fifo_rdonly():
    if os.geteuid() != 0 or subprocess.call(["which", "setpriv"],
                                            stdout=subprocess.DEVNULL) != 0:
        raise Skip("needs root and setpriv to run the holder as nobody")
    os.chmod(ARGS.tmp, 0o755)
    fifo = make_fifo("fifo-ro", 0o644)  # nobody may read it, not write it
    h = Holder({"MEMORY_PRESSURE_WATCH": fifo}, mib=40, user=65534)
    try:
        check(h.watch() == "fifo:" + fifo, "pressure.watch -> %r" % h.watch())
        for i in range(1, 4):
            fifo_write(fifo)
            ev = h.expect("event", 20)  # generous: a loaded CI machine
            check(int(ev[0]) == i, "event %d counted as %s" % (i, ev[0]))
            time.sleep(0.3)
        check(h.stderr() == "", "stderr: %r" % h.stderr())
    finally:
        h.close()


@test("socket-trigger-events-end")
def t_socket():
    path = os.path.join(ARGS.tmp, "pressure.sock")
    if os.path.exists(path):
        os.unlink(path)
    srv = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    srv.bind(path)
    srv.listen(4)
    trigger = b"some 150000 2000000"
    h = Holder({"MEMORY_PRESSURE_WATCH": path,
                "MEMORY_PRESSURE_WRITE": base64.b64encode(trigger).decode()}, mib=60)
    try:
        srv.settimeout(5)
        conn, _ = srv.accept()
        conn.settimeout(5)
        got = b""
        while len(got) < len(trigger):
            b = conn.recv(64)
            if not b:
                break
            got += b
        check(got == trigger, "trigger received: %r" % got)
        check(h.watch() == "socket:" + path, "pressure.watch -> %r" % h.watch())
        conn.sendall(b"pressure\n")
        ev = h.expect("event", 20)  # generous: a loaded CI machine
        check(int(ev[0]) == 1, "events after one message: %s" % ev)
        conn.close()  # the other end goes away: the watch ends, the process goes on
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline and not h.watch().startswith("ended:"):
            time.sleep(0.05)
        check(h.watch() == "ended:" + path, "watch after the end: %r" % h.watch())
        err = h.stderr()
        check(err.count("memory-pressure watch ended") == 1, "stderr: %r" % err)
        check(h.ask("e", "ok") == ["0"], "pressure.event after the end")
    finally:
        h.close()
        srv.close()


@test("psi-file-from-environment")
def t_psi_env():
    psi = "/proc/pressure/memory"
    if not os.path.exists(psi):
        raise Skip("no %s (kernel without PSI)" % psi)
    h = Holder({"MEMORY_PRESSURE_WATCH": psi,
                "MEMORY_PRESSURE_WRITE": base64.b64encode(b"some 150000 2000000").decode()},
               mib=20)
    try:
        w = h.watch()
        if w.startswith("failed:") and "permission" in h.stderr():
            raise Skip("this user may not arm a trigger on %s" % psi)
        check(w == "psi:" + psi, "pressure.watch -> %r (%s)" % (w, h.stderr()))
        check(h.threads() == 2, "threads: %d, expected the main one and the service thread"
              % h.threads())
    finally:
        h.close()


def cgroup2_root():
    for line in open("/proc/self/mountinfo"):
        f = line.split(" - ")
        if len(f) == 2 and f[1].startswith("cgroup2 "):
            return line.split()[4]
    return None


def own_cgroup2():
    for line in open("/proc/self/cgroup"):
        if line.startswith("0::"):
            return line[3:].strip()
    return None


@test("psi-own-cgroup")
def t_psi_cgroup():
    root = cgroup2_root()
    if root is None or not os.access(os.path.join(root, "cgroup.procs"), os.W_OK):
        raise Skip("no writable cgroup2 hierarchy here")
    parent = os.path.join(root, own_cgroup2().lstrip("/"))
    child = os.path.join(parent, "liballoc-pressure-%d" % os.getpid())
    try:
        os.mkdir(child)
    except OSError as e:
        raise Skip("cannot make a cgroup2 child: %s" % e)
    if not os.path.exists(os.path.join(child, "memory.pressure")):
        os.rmdir(child)
        raise Skip("the cgroup has no memory.pressure (PSI off)")

    def enter():
        with open(os.path.join(child, "cgroup.procs"), "w") as f:
            f.write("0")

    try:
        h = Holder(mib=20, preexec=enter)
        try:
            w = h.watch()
            check(w == "psi:" + child + "/memory.pressure", "pressure.watch -> %r" % w)
            check(h.stderr() == "", "stderr: %r" % h.stderr())
        finally:
            h.close()
        h = Holder(mib=20, preexec=enter, conf="pressure_arm_mb:0,pressure:off")
        try:
            check(h.watch() == "off", "pressure:off -> %r" % h.watch())
            check(h.threads() == 1, "pressure:off: %d threads" % h.threads())
        finally:
            h.close()
    finally:
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline:
            try:
                os.rmdir(child)
                break
            except OSError:
                time.sleep(0.05)


@test("psi-event-from-page-cache-thrash")
def t_psi_fires():
    """A real PSI event: the holder and a reader of a file larger than their memory cgroup
    share a cgroup2 child; the reader's refaults stall, the trigger fires, A purges."""
    root = cgroup2_root()
    if root is None or not os.access(os.path.join(root, "cgroup.procs"), os.W_OK):
        raise Skip("no writable cgroup2 hierarchy here")
    cg = MemCgroup(96 << 20)
    child = os.path.join(root, own_cgroup2().lstrip("/"), "liballoc-psi-%d" % os.getpid())
    big = os.path.join(ARGS.tmp, "thrash.bin")
    h = reader = None
    try:
        try:
            os.mkdir(child)
        except OSError as e:
            raise Skip("cannot make a cgroup2 child: %s" % e)

        def enter():
            cg.enter()
            with open(os.path.join(child, "cgroup.procs"), "w") as f:
                f.write("0")

        h = Holder(mib=40, preexec=enter, conf="pressure_arm_mb:0,pressure_threshold_ms:20")
        w = h.watch()
        check(w == "psi:" + child + "/memory.pressure", "pressure.watch -> %r" % w)
        # Written from inside the cgroup, so its page cache is charged there.
        reader = subprocess.Popen(
            ["sh", "-c", "head -c 150000000 /dev/zero > %s; for i in $(seq 60); do "
             "cat %s > /dev/null; done" % (big, big)], preexec_fn=enter,
            start_new_session=True)
        ev = h.expect("event", 30)
        check(int(ev[0]) >= 1 and int(ev[3]) < int(h.ready[0]) // 2,
              "event %s, RSS %s KiB (was %s)" % (ev, ev[3], h.ready[0]))
        with open(os.path.join(child, "memory.pressure")) as f:
            print("  " + f.readline().strip())
    finally:
        if reader is not None:
            os.killpg(reader.pid, signal.SIGKILL)
            reader.wait()
        if h is not None:
            h.close()
        if os.path.exists(big):
            os.unlink(big)
        deadline = time.monotonic() + 5
        while os.path.exists(child) and time.monotonic() < deadline:
            try:
                os.rmdir(child)
            except OSError:
                time.sleep(0.05)
        cg.remove()


# ---- what an event does -----------------------------------------------------------------

@test("armed-when-the-heap-grows")
def t_lazy():
    fifo = make_fifo()
    h = Holder({"MEMORY_PRESSURE_WATCH": fifo}, mib=4, conf=None)
    try:
        check(h.watch() == "off", "a 4 MiB heap: pressure.watch -> %r" % h.watch())
        check(h.threads() == 1, "a 4 MiB heap: %d threads" % h.threads())
    finally:
        h.close()
    h = Holder({"MEMORY_PRESSURE_WATCH": fifo}, mib=40, conf=None)
    try:
        check(h.watch() == "fifo:" + fifo, "a 40 MiB heap: pressure.watch -> %r" % h.watch())
        check(h.threads() == 2, "a 40 MiB heap: %d threads" % h.threads())
        fifo_write(fifo)
        h.expect("event", 20)  # generous: a loaded CI machine
    finally:
        h.close()
    h = Holder({"MEMORY_PRESSURE_WATCH": fifo}, mib=40, conf="pressure_arm_mb:64")
    try:
        check(h.watch() == "off", "pressure_arm_mb:64, 40 MiB heap -> %r" % h.watch())
    finally:
        h.close()


@test("mallctl-event-without-watch")
def t_mallctl_event():
    h = Holder()
    try:
        check(h.watch() == "off", "no watch configured -> %r" % h.watch())
        check(h.threads() == 1, "no watch, no socket: %d threads (a service thread?)"
              % h.threads())
        check(h.ask("e", "ok") == ["0"], "pressure.event failed")
        check(wait_rss_below(h, live_target(h), 1.0) is not None,
              "RSS %d KiB after pressure.event (was %s)" % (h.rss(), h.ready[0]))
        ev = h.expect("event")
        check(ev[:2] == ["1", "1"], "events/purges: %s" % ev)
    finally:
        h.close()


@test("storm-is-rate-limited")
def t_storm():
    fifo = make_fifo()
    h = Holder({"MEMORY_PRESSURE_WATCH": fifo}, mib=40)
    try:
        fd = os.open(fifo, os.O_WRONLY | os.O_NONBLOCK)
        t0 = time.monotonic()
        n = 0
        while time.monotonic() - t0 < 1.0:
            os.write(fd, b"x")
            n += 1
            time.sleep(0.001)
        os.close(fd)
        took = time.monotonic() - t0
        time.sleep(0.5)
        h.p.stdin.write("e\n")
        h.p.stdin.flush()
        h.expect("ok")
        last = None
        deadline = time.monotonic() + 2
        while time.monotonic() < deadline:
            r, _, _ = select.select([h.p.stdout], [], [], 0.3)
            if not r:
                break
            f = h.p.stdout.readline().split()
            if f and f[0] == "event":
                last = f[1:]
        check(last is not None, "no event reported")
        events, purges = int(last[0]), int(last[1])
        # One purge per 250 ms at most, plus the one pressure.event ordered.
        limit = int(took / 0.25) + 3
        check(events >= 5, "%d writes counted as %d events" % (n, events))
        check(purges <= limit, "%d purges for %d events in %.1f s (limit %d)"
              % (purges, events, took, limit))
        with open("/proc/%d/stat" % h.p.pid) as f:
            fields = f.read().rsplit(")", 1)[1].split()
        cpu = (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
        print("  storm: %d writes, %d events, %d purges, holder CPU %.2f s in all"
              % (n, events, purges, cpu))
    finally:
        h.close()


@test("purges-follow-while-pressure-lasts")
def t_follow_up():
    fifo = make_fifo()
    drops = {}
    for with_event in (True, False):
        h = Holder({"MEMORY_PRESSURE_WATCH": fifo}, mib=100, keep=30)
        try:
            if with_event:
                fifo_write(fifo)
                h.expect("event", 20)  # generous: a loaded CI machine
                time.sleep(0.2)
            before = h.rss()
            h.ask("f", "ok")  # frees half of the survivors, no new event
            time.sleep(2.2)
            drops[with_event] = before - h.rss()
        finally:
            h.close()
    check(drops[True] > 4 * MIB and drops[True] > 2 * drops[False],
          "RSS returned 2.2 s after a free: %d KiB under pressure, %d KiB without"
          % (drops[True], drops[False]))


@test("nothing-without-pressure")
def t_quiet():
    fifo = make_fifo()
    h = Holder({"MEMORY_PRESSURE_WATCH": fifo}, mib=60)
    try:
        time.sleep(1.0)
        before = h.rss()
        check(before > int(h.ready[0]) * 8 // 10,
              "RSS fell from %s to %d KiB with no event" % (h.ready[0], before))
        with open("/proc/%d/stat" % h.p.pid) as f:
            fields = f.read().rsplit(")", 1)[1].split()
        check(h.threads() == 2, "threads with a watch: %d" % h.threads())
        task = [t for t in os.listdir("/proc/%d/task" % h.p.pid) if int(t) != h.p.pid][0]
        with open("/proc/%d/task/%s/stat" % (h.p.pid, task)) as f:
            tf = f.read().rsplit(")", 1)[1].split()
        ticks = int(tf[11]) + int(tf[12])
        check(ticks <= 2, "the idle service thread used %d clock ticks" % ticks)
    finally:
        h.close()


# ---- bad input ----------------------------------------------------------------------------

def bad(env, want_watch, want_msg, conf="pressure_arm_mb:0"):
    h = Holder(env, mib=10, conf=conf)
    try:
        w = h.watch()
        check(w.startswith(want_watch), "pressure.watch -> %r, expected %r..." % (w, want_watch))
        err = h.stderr()
        if want_msg is None:
            check(err == "", "stderr: %r" % err)
        else:
            check(err.count(want_msg) == 1 and err.count("\n") == 1,
                  "stderr %r, expected one line with %r" % (err, want_msg))
        check(h.ask("e", "ok") == ["0"], "pressure.event after bad input")
        check(h.threads() == 1, "a service thread with no watch")
    finally:
        h.close()


@test("bad-input")
def t_bad():
    reg = os.path.join(ARGS.tmp, "regular-file")
    with open(reg, "w") as f:
        f.write("untouched\n")
    psi = "/proc/pressure/memory"
    b64 = lambda s: base64.b64encode(s).decode()
    cases = [
        ("relative", {"MEMORY_PRESSURE_WATCH": "relative/path"}, "failed:",
         "not an absolute path"),
        ("missing", {"MEMORY_PRESSURE_WATCH": ARGS.tmp + "/none"}, "failed:",
         "it does not exist"),
        ("directory", {"MEMORY_PRESSURE_WATCH": ARGS.tmp}, "failed:", "it is a directory"),
        ("regular-file", {"MEMORY_PRESSURE_WATCH": reg,
                          "MEMORY_PRESSURE_WRITE": b64(b"some 1 2")}, "failed:",
         "not a PSI file, a FIFO or a socket"),
        ("bad-base64", {"MEMORY_PRESSURE_WATCH": psi, "MEMORY_PRESSURE_WRITE": "!!notbase64"},
         "failed:", "not base64"),
        ("long-write", {"MEMORY_PRESSURE_WATCH": psi,
                        "MEMORY_PRESSURE_WRITE": b64(b"some 1 " + b"9" * 200)}, "failed:",
         "not base64 of at most 127 bytes"),
        ("refused-trigger", {"MEMORY_PRESSURE_WATCH": psi,
                             "MEMORY_PRESSURE_WRITE": b64(b"bogus trigger")}, "failed:",
         "the kernel refused the trigger"),
        ("socket-nobody-listens", {"MEMORY_PRESSURE_WATCH": ARGS.tmp + "/dead.sock"},
         "failed:", "nobody listens on the socket"),
        ("dev-null", {"MEMORY_PRESSURE_WATCH": "/dev/null"}, "off", None),
        ("empty", {"MEMORY_PRESSURE_WATCH": ""}, "off", None),
    ]
    # A socket file nobody listens on any more.
    dead = ARGS.tmp + "/dead.sock"
    if os.path.exists(dead):
        os.unlink(dead)
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.bind(dead)
    s.close()
    failed = []
    for name, env, want_watch, want_msg in cases:
        if env.get("MEMORY_PRESSURE_WATCH") == psi and not os.path.exists(psi):
            continue
        try:
            bad(env, want_watch, want_msg)
        except Fail as e:
            failed.append("%s: %s" % (name, e))
    with open(reg) as f:
        check(f.read() == "untouched\n", "the regular file was written to")
    # pressure:off wins over the environment: no watch, no message, no event.
    fifo = make_fifo()
    try:
        bad({"MEMORY_PRESSURE_WATCH": fifo}, "off", None, conf="pressure_arm_mb:0,pressure:off")
    except Fail as e:
        failed.append("pressure:off: %s" % e)
    check(not failed, "; ".join(failed))


@test("malloc-conf-keys")
def t_conf():
    h = Holder(mib=5, conf="pressure:sometimes,pressure_window_ms:100,pressure_threshold_ms:0,"
               "pressure_arm_mb:-1")
    try:
        err = h.stderr()
        for key in ("pressure:sometimes", "pressure_window_ms:100", "pressure_threshold_ms:0",
                    "pressure_arm_mb:-1"):
            check(key in err, "no warning for %s: %r" % (key, err))
    finally:
        h.close()


# ---- the OOM scenario in a memory cgroup (cgroup v1) ----------------------------------------

class MemCgroup:
    def __init__(self, limit):
        base = None
        for line in open("/proc/self/cgroup"):
            f = line.strip().split(":", 2)
            if "memory" in f[1].split(","):
                base = "/sys/fs/cgroup/memory" + f[2]
        if base is None or not os.access(os.path.join(base, "cgroup.procs"), os.W_OK):
            raise Skip("no writable cgroup-v1 memory controller here")
        self.path = os.path.join(base, "liballoc-pressure-%d" % os.getpid())
        try:
            os.mkdir(self.path)
        except OSError as e:
            raise Skip("cannot make a memory cgroup: %s" % e)
        self.write("memory.limit_in_bytes", str(limit))
        if os.path.exists(os.path.join(self.path, "memory.memsw.limit_in_bytes")):
            self.write("memory.memsw.limit_in_bytes", str(limit))

    def write(self, name, value):
        with open(os.path.join(self.path, name), "w") as f:
            f.write(value)

    def read(self, name):
        with open(os.path.join(self.path, name)) as f:
            return f.read()

    def usage(self):
        return int(self.read("memory.usage_in_bytes"))

    def oom_kills(self):
        for line in self.read("memory.oom_control").splitlines():
            if line.startswith("oom_kill "):
                return int(line.split()[1])
        return 0

    def enter(self):
        with open(os.path.join(self.path, "cgroup.procs"), "w") as f:
            f.write("0")

    def remove(self):
        try:
            self.write("memory.force_empty", "0")
        except OSError:
            pass
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline:
            try:
                os.rmdir(self.path)
                return
            except OSError:
                time.sleep(0.05)


class ThresholdWatcher(threading.Thread):
    """Stands in for the service manager: a cgroup-v1 usage threshold (eventfd through
    cgroup.event_control) that writes to the process's memory-pressure FIFO."""

    def __init__(self, cg, threshold, fifo):
        super().__init__(daemon=True)
        self.efd = os.eventfd(0)
        self.ufd = os.open(os.path.join(cg.path, "memory.usage_in_bytes"), os.O_RDONLY)
        cg.write("cgroup.event_control", "%d %d %d" % (self.efd, self.ufd, threshold))
        self.fifo = fifo
        self.fired = []
        self.stop = False

    def run(self):
        while not self.stop:
            r, _, _ = select.select([self.efd], [], [], 0.1)
            if r:
                os.eventfd_read(self.efd)
                self.fired.append(time.monotonic())
                try:
                    fifo_write(self.fifo)
                except OSError:
                    pass

    def close(self):
        self.stop = True
        self.join(2)
        os.close(self.efd)
        os.close(self.ufd)


LIMIT = 256 << 20


def squeeze(cg, h):
    """B touches 150 MiB in cgroup cg next to holder h: whether B finished, whether h is
    alive and h's RSS."""
    b = subprocess.run([ARGS.toucher, "150", "20"], preexec_fn=cg.enter,
                       stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
                       timeout=60)
    a_alive = h.p.poll() is None
    return b.returncode == 0 and "done" in b.stdout, a_alive, h.rss() if a_alive else 0


def oom_scenario(lib, conf=None, watcher=False):
    """A holds 200 MiB and frees 90 %; B then touches 150 MiB in the same 256 MiB cgroup.
    Returns (oom kills, B finished, A's RSS at the end in KiB, A alive)."""
    cg = MemCgroup(LIMIT)
    fifo = make_fifo("oom-fifo")
    env = {"MEMORY_PRESSURE_WATCH": fifo} if watcher else {}
    h = tw = None
    try:
        # The default options (the watch is armed as the heap grows past 16 MiB).
        h = Holder(env, mib=200, keep=10, lib=lib, conf=conf, preexec=cg.enter)
        if watcher:
            tw = ThresholdWatcher(cg, cg.usage() + (8 << 20), fifo)
            tw.start()
        b_done, a_alive, a_rss = squeeze(cg, h)
        return cg.oom_kills(), b_done, a_rss, a_alive, (tw.fired if tw else [])
    finally:
        if tw is not None:
            tw.close()
        if h is not None:
            h.close()  # also when the OOM killer ended it
        cg.remove()


@test("oom-baseline-is-killed")
def t_oom_baseline():
    rows = []
    for name, lib, conf in (("jemalloc", ARGS.jemalloc, None),
                            ("liballoc pressure:off", ARGS.lib, "pressure:off")):
        if not os.path.exists(lib):
            continue
        kills, b_done, a_rss, a_alive, _ = oom_scenario(lib, conf)
        rows.append("%s: %d OOM kill(s), B %s, A %s" % (
            name, kills, "finished" if b_done else "killed",
            "alive at %d MiB" % (a_rss // 1024) if a_alive else "killed"))
        check(kills > 0 and not (b_done and a_alive),
              "the baseline was not OOM-killed (%s): the scenario does not show the problem"
              % rows[-1])
    print("  " + "; ".join(rows))


@test("oom-avoided-by-the-watch")
def t_oom_watch():
    kills, b_done, a_rss, a_alive, fired = oom_scenario(ARGS.lib, None, watcher=True)
    print("  liballoc with the watch: %d OOM kill(s), B %s, A %s, %d threshold event(s)" % (
        kills, "finished" if b_done else "killed",
        "alive at %d MiB" % (a_rss // 1024) if a_alive else "killed", len(fired)))
    check(fired, "the threshold never fired")
    check(kills == 0 and b_done and a_alive, "someone was OOM-killed")
    check(a_rss < 60 * MIB, "A holds %d KiB after the purge" % a_rss)


# ---- jemctld as the governor (no watch in the process) ----------------------------------

class Daemon:
    """jemctld with its defaults (plus the arguments given), on a private runtime
    directory and a free 127.0.0.1 port."""

    def __init__(self, *extra):
        if not os.path.exists(ARGS.jemctld):
            raise Skip("jemctld was not built")
        self.rt = tempfile.mkdtemp(dir=ARGS.tmp, prefix="rt-")
        os.chmod(self.rt, 0o700)
        s = socket.socket()
        s.bind(("127.0.0.1", 0))
        self.port = s.getsockname()[1]
        s.close()
        self.log_path = os.path.join(self.rt, "..", os.path.basename(self.rt) + ".log")
        self.log = open(self.log_path, "w")
        e = dict(os.environ)
        e.pop("LD_PRELOAD", None)
        self.p = subprocess.Popen([ARGS.jemctld, "--runtime-dir", self.rt, "--http",
                                   "127.0.0.1:%d" % self.port] + list(extra),
                                  stdout=self.log, stderr=self.log, env=e)
        self.env = {"JEMCTL_RUNTIME_DIR": self.rt}

    def get(self, path):
        import urllib.request
        with urllib.request.urlopen("http://127.0.0.1:%d%s" % (self.port, path),
                                    timeout=5) as r:
            return r.read().decode()

    def governor(self):
        import json
        return json.loads(self.get("/api/v1/governor"))

    def metric(self, name):
        for line in self.get("/metrics").splitlines():
            if line.startswith(name + " ") or line.startswith(name + "{"):
                return float(line.rsplit(" ", 1)[1])
        return None

    def wait(self, cond, timeout, what):
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            try:
                if cond():
                    return
            except OSError:
                pass
            time.sleep(0.1)
        raise Fail("%s within %.0f s; the log: %s" % (what, timeout, self.text()[-600:]))

    def watched(self, path, procs=1):
        return any(c["cgroup"] == path and c["processes"] >= procs
                   for c in self.governor()["cgroups"])

    def text(self):
        self.log.flush()
        with open(self.log_path) as f:
            return f.read()

    def close(self):
        if self.p.poll() is None:
            self.p.terminate()
            reap(self.p)
        self.log.close()
        return self.p.returncode


def dashboard_marks(d, pid):
    """The dashboard as headless Chromium draws it: the governor's marks on pid's chart
    (a list of their tooltips), or None without Chromium."""
    import re
    import shutil
    chrome = shutil.which("chromium") or shutil.which("chromium-browser")
    if chrome is None:
        return None
    prof = tempfile.mkdtemp(dir=ARGS.tmp, prefix="chrome-")
    dom = subprocess.run([chrome, "--headless", "--no-sandbox", "--disable-gpu",
                          "--no-first-run", "--disable-extensions", "--disable-dev-shm-usage",
                          "--user-data-dir=" + prof, "--virtual-time-budget=8000",
                          "--dump-dom", "http://127.0.0.1:%d/" % d.port],
                         stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
                         timeout=60).stdout
    with open(os.path.join(ARGS.tmp, "dashboard-dom.html"), "w") as f:
        f.write(dom)
    chart = re.search(r'<svg class="chart bytes"[^>]*data-pid="%d".*?</svg>' % pid, dom, re.S)
    if chart is None:
        return []
    # The governor's marks: their tooltips ("pressure (governor) at ... UTC: limit: ok, ...").
    return re.findall(r'<line class="mark pressure[^"]*"[^>]*data-kind="pressure"><title>'
                      r'([^<]*)</title>', chart.group(0))


def governor_scenario(*extra):
    """The OOM scenario with jemctld as the only help: A (liballoc, pressure:off, so its
    own watch plays no part) holds 200 MiB and frees 90 %; B touches 150 MiB."""
    cg = MemCgroup(LIMIT)
    d = Daemon(*extra)
    h = None
    try:
        h = Holder(d.env, mib=200, keep=10, conf="pressure:off", preexec=cg.enter)
        d.wait(lambda: d.watched(cg.path), 10, "jemctld did not watch the cgroup")
        t0 = time.monotonic()
        b_done, a_alive, a_rss = squeeze(cg, h)
        time.sleep(0.3)  # the answer of a purge still in flight
        gov = d.governor()
        marks = dashboard_marks(d, h.p.pid) if a_alive else None
        return dict(kills=cg.oom_kills(), b_done=b_done, a_alive=a_alive, a_rss=a_rss,
                    gov=gov, log=d.text(), b_s=time.monotonic() - t0,
                    ready=int(h.ready[0]), marks=marks)
    finally:
        if h is not None:
            h.close()  # also when the OOM killer ended it
        d.close()
        cg.remove()


@test("governor-avoids-oom")
def t_governor():
    r = governor_scenario()
    acts = [a for a in r["gov"]["actions"] if not a["dry_run"]]
    print("  jemctld as the governor: %d OOM kill(s), B %s, A %s (held %d MiB), %d purge(s): "
          "%s" % (r["kills"], "finished" if r["b_done"] else "killed",
                  "alive at %d MiB" % (r["a_rss"] // 1024) if r["a_alive"] else "killed",
                  r["ready"] // 1024, len(acts),
                  ", ".join("%s %.1f MiB in %.0f ms" % (a["reason"], a["bytes"] / 2.0**20,
                                                        a["ms"]) for a in acts)))
    check(acts, "the governor never purged; log: %s" % r["log"][-600:])
    check(r["kills"] == 0 and r["b_done"] and r["a_alive"], "someone was OOM-killed")
    check(r["a_rss"] < 60 * MIB, "A holds %d KiB after the purge" % r["a_rss"])
    check(acts[0]["reason"] == "limit" and acts[0]["result"] == "ok" and
          acts[0]["bytes"] > 100 << 20, "the first action: %r" % acts[0])
    check("returned" in r["log"] and r["gov"]["actions_total"]["limit"] >= 1,
          "not logged or not counted")
    if r["marks"] is None:
        print("  (the dashboard's marks not checked: chromium not installed)")
    else:
        check(any(": limit: ok, " in m for m in r["marks"]),
              "the dashboard shows no governor mark on A's chart (marks: %r)" % r["marks"])


@test("governor-dry-run-only-says")
def t_governor_dry():
    r = governor_scenario("--governor=dry-run")
    acts = r["gov"]["actions"]
    print("  dry-run: %d OOM kill(s), %d action(s) logged" % (r["kills"], len(acts)))
    check(acts and all(a["dry_run"] and a["bytes"] == 0 for a in acts),
          "dry-run actions: %r" % acts)
    check("would purge" in r["log"], "no 'would purge' line")
    check(r["kills"] > 0, "nobody was OOM-killed, so dry-run must have done something")


@test("governor-bad-input")
def t_governor_bad():
    """A process that does not answer (stopped): one line, the daemon goes on; the cgroup
    removed under the watch: one line, no longer watched."""
    cg = MemCgroup(LIMIT)
    d = Daemon("--timeout", "1")
    h = None
    try:
        h = Holder(d.env, mib=200, keep=10, conf="pressure:off", preexec=cg.enter)
        d.wait(lambda: d.watched(cg.path), 10, "jemctld did not watch the cgroup")
        os.kill(h.p.pid, signal.SIGSTOP)
        # B needs only 24 MiB to pass the 90 % trigger (A holds about 87 %).
        b = subprocess.Popen([ARGS.toucher, "24", "1"], preexec_fn=cg.enter,
                             stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        d.wait(lambda: d.governor()["errors_total"] >= 1, 8,
               "no failed purge counted for a stopped process")
        b.wait(30)
        check(d.text().count("did not purge") == 1,
              "the failure was not logged exactly once: %s" % d.text()[-400:])
        os.kill(h.p.pid, signal.SIGCONT)
        check(d.get("/metrics").count("jemctld_pressure_action_errors_total 1") == 1,
              "/metrics does not answer or does not count the failure")
        h.close()
        h = None
        cg.remove()
        d.wait(lambda: "the cgroup is gone" in d.text() and not d.governor()["cgroups"], 5,
               "the removed cgroup was not dropped")
        check(d.text().count("the cgroup is gone") == 1, "said more than once")
        check(d.p.poll() is None, "jemctld stopped")
    finally:
        if h is not None:
            try:
                os.kill(h.p.pid, signal.SIGCONT)
            except OSError:
                pass
            h.close()
        d.close()
        cg.remove()


def main():
    global ARGS
    ap = argparse.ArgumentParser()
    ap.add_argument("--holder", required=True)
    ap.add_argument("--toucher", required=True)
    ap.add_argument("--jemctld", default="")
    ap.add_argument("--lib", required=True)
    ap.add_argument("--jemalloc", default="/usr/lib/x86_64-linux-gnu/libjemalloc.so.2")
    ap.add_argument("--tmp", required=True)
    ap.add_argument("only", nargs="*")
    ARGS = ap.parse_args()
    os.makedirs(ARGS.tmp, exist_ok=True)
    for name, fn in TESTS:
        if ARGS.only and name not in ARGS.only:
            continue
        try:
            fn()
            out("PASS", name)
        except Skip as e:
            out("SKIP", name, str(e))
        except Fail as e:
            out("FAIL", name, str(e))
        except Exception as e:  # a broken test is a failure, with its reason
            out("FAIL", name, "%s: %s" % (type(e).__name__, e))
    return 1 if "FAIL" in RESULTS else 0


if __name__ == "__main__":
    sys.exit(main())
