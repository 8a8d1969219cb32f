#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-2-Clause
"""Hostile and life-cycle tests of the control socket (docs/protocol.md, docs/security.md).

    ctl_tests.py --build BUILD_DIR --tmp SCRATCH_DIR --lib LIBALLOC [--only NAME...]

Every test talks to a real process, BUILD_DIR/tests/control/ctl-target, run with
LD_PRELOAD=LIBALLOC and JEMCTL_RUNTIME_DIR in SCRATCH_DIR, and prints one line:
PASS: control/<name>, FAIL: control/<name>: reason, or SKIP: control/<name>: reason.
A test asserts its own outcome and then that the target still answers `hello` and that
its pattern-filled blocks are intact (SIGUSR1 makes it verify them).  tests/control/run.sh
runs this; see there for the list.
"""

import argparse
import errno
import fcntl
import glob
import grp
import json
import os
import pwd
import select
import shutil
import signal
import socket
import stat
import struct
import subprocess
import sys
import threading
import time
import traceback

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import jpclient as jp  # noqa: E402

ARGS = None
PROCS = []        # every process started here (killed at the end)
CHILD_PIDS = []   # processes forked by targets (killed at the end)
RESULTS = {"PASS": 0, "FAIL": 0, "SKIP": 0}
OUT = sys.stdout


class Fail(Exception):
    pass


class Skip(Exception):
    pass


def note(msg):
    print("# " + msg, file=OUT, flush=True)


def check(cond, msg):
    if not cond:
        raise Fail(msg)


def short(obj, n=240):
    s = obj if isinstance(obj, str) else json.dumps(obj, separators=(",", ":"))
    return s if len(s) <= n else s[:n] + "..."


# ---------------------------------------------------------------------------- targets

def base_env():
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("JEMCTL_", "MALLOC_CONF", "LD_PRELOAD", "XDG_RUNTIME_DIR"))}
    env["LC_ALL"] = "C"
    return env


def make_dir(path, mode=0o700, group=None, owner=None):
    if os.path.lexists(path):
        if os.path.isdir(path) and not os.path.islink(path):
            shutil.rmtree(path)
        else:
            os.unlink(path)
    os.mkdir(path)
    if group is not None or owner is not None:
        os.chown(path, -1 if owner is None else owner, -1 if group is None else group)
    os.chmod(path, mode)
    return path


class Target:
    """One ctl-target process."""
    seq = 0

    def __init__(self, name, rundir, args=(), env=None, expect_socket=True, mib=4,
                 preload=True, life=90, user=None):
        """user: setpriv arguments to run it as another user (setpriv and env run without
        the allocator; env preloads it into the target)."""
        Target.seq += 1
        self.name = name
        self.rundir = rundir
        self.log = os.path.join(ARGS.tmp, "%s-%d.out" % (name, Target.seq))
        self.errlog = os.path.join(ARGS.tmp, "%s-%d.err" % (name, Target.seq))
        e = base_env()
        if preload and user is None:
            e["LD_PRELOAD"] = ARGS.lib
        if rundir is not None:
            e["JEMCTL_RUNTIME_DIR"] = rundir
        e.update(env or {})
        cmd = [ARGS.target, "-m", str(mib), "-t", str(life)] + list(args)
        if user is not None:
            cmd = ["setpriv"] + list(user) + ["env", "LD_PRELOAD=" + ARGS.lib] + cmd
        with open(self.log, "wb") as out, open(self.errlog, "wb") as err:
            self.proc = subprocess.Popen(cmd, stdout=out, stderr=err, stdin=subprocess.DEVNULL,
                                         env=e, close_fds=True)
        PROCS.append(self.proc)
        self.pid = self.proc.pid
        self.wait_line("ready %d" % self.pid, 10)
        if expect_socket:
            self.wait_hello(5)

    @property
    def sock(self):
        return os.path.join(self.rundir, "%d.sock" % self.pid)

    def sock_of(self, pid):
        return os.path.join(self.rundir, "%d.sock" % pid)

    def lines(self):
        try:
            with open(self.log, "rb") as f:
                return f.read().decode("utf-8", "replace").splitlines()
        except OSError:
            return []

    def stderr(self):
        try:
            with open(self.errlog, "rb") as f:
                return f.read().decode("utf-8", "replace")
        except OSError:
            return ""

    def wait_line(self, prefix, timeout, after=0):
        """The first line (index >= after) starting with prefix; Fail on timeout."""
        t0 = time.monotonic()
        while True:
            ls = self.lines()
            for i in range(after, len(ls)):
                if ls[i].startswith(prefix):
                    return i, ls[i]
            if time.monotonic() - t0 > timeout:
                raise Fail("%s: no line %r from the target within %gs (out: %s; err: %s)"
                           % (self.name, prefix, timeout, short(" | ".join(ls[-5:])),
                              short(self.stderr())))
            if self.proc.poll() is not None and not ls[after:]:
                raise Fail("%s: target exited with status %s before %r (err: %s)"
                           % (self.name, self.proc.returncode, prefix, short(self.stderr())))
            time.sleep(0.01)

    def wait_hello(self, timeout, pid=None, path=None):
        pid = self.pid if pid is None else pid
        path = path or self.sock_of(pid)
        t0 = time.monotonic()
        last = None
        while time.monotonic() - t0 < timeout:
            try:
                with jp.Conn(path, timeout=2) as c:
                    r = c.call(jp.request("hello", id=1))
                if r.get("ok") and r["result"].get("pid") == pid:
                    return time.monotonic() - t0
                last = r
            except (OSError, jp.ProtocolError) as e:
                last = e
            time.sleep(0.02)
        raise Fail("%s: %s does not answer hello with pid %d within %gs (last: %r)"
                   % (self.name, path, pid, timeout, last))

    def call(self, payload, timeout=5):
        with jp.Conn(self.sock, timeout=timeout) as c:
            return c.call(payload)

    def verify(self, pid=None, timeout=5):
        """SIGUSR1 -> the process checks its blocks; returns the 'verify' line."""
        pid = self.pid if pid is None else pid
        n = len(self.lines())
        os.kill(pid, signal.SIGUSR1)
        _, line = self.wait_line("verify %d " % pid, timeout, after=n)
        return line

    def healthy(self, pid=None, path=None):
        """Fail unless the process answers hello (with its pid) and its data is intact."""
        pid = self.pid if pid is None else pid
        if self.proc.poll() is not None and pid == self.pid:
            raise Fail("%s: target died (status %s; err: %s)"
                       % (self.name, self.proc.returncode, short(self.stderr())))
        path = path or self.sock_of(pid)
        try:
            with jp.Conn(path, timeout=3) as c:
                r = c.call(jp.request("hello", id=99))
        except (OSError, jp.ProtocolError) as e:
            raise Fail("%s: hello afterwards failed: %r" % (self.name, e))
        check(r.get("ok") is True and r.get("id") == 99 and r["result"].get("pid") == pid,
              "%s: hello afterwards answered %s" % (self.name, short(r)))
        line = self.verify(pid)
        check(" ok " in line, "%s: data not intact afterwards: %s" % (self.name, line))

    def stop(self, timeout=10):
        """SIGTERM (normal exit through main's return); returns the exit status."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        try:
            return self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            raise Fail("%s: target did not exit within %gs of SIGTERM" % (self.name, timeout))

    def kill(self):
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait()


def stop_all():
    for pid in CHILD_PIDS:
        try:
            os.kill(pid, signal.SIGKILL)
        except OSError:
            pass
    for p in PROCS:
        if p.poll() is None:
            try:
                p.kill()
            except OSError:
                pass
    for p in PROCS:
        try:
            p.wait(5)
        except subprocess.TimeoutExpired:
            pass


# ------------------------------------------------------------------------- helpers

def expect_error(r, code, id=None):
    check(isinstance(r, dict) and r.get("v") == 1 and r.get("ok") is False,
          "expected an error %s, got %s" % (code, short(r)))
    err = r.get("error")
    check(isinstance(err, dict) and err.get("code") == code,
          "expected error code %s, got %s" % (code, short(r)))
    check(isinstance(err.get("message"), str) and err["message"],
          "error %s without a message: %s" % (code, short(r)))
    if id is not None:
        check(r.get("id") == id, "error %s with id %r, expected %r" % (code, r.get("id"), id))


def expect_ok(r, id=None):
    check(isinstance(r, dict) and r.get("v") == 1 and r.get("ok") is True and "result" in r,
          "expected success, got %s" % short(r))
    if id is not None:
        check(r.get("id") == id, "response id %r, expected %r" % (r.get("id"), id))
    return r["result"]


def is_int(v):
    return isinstance(v, int) and not isinstance(v, bool)


def then_eof(c, timeout=3):
    how, secs, data = c.wait_eof(timeout)
    check(how in ("eof", "reset") and not data,
          "expected the connection closed after the error, got %s after %.1fs (%d more bytes)"
          % (how, secs, len(data)))


def rss_kib(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def connect_errno(path, timeout=2):
    try:
        c = jp.Conn(path, timeout=timeout)
    except OSError as e:
        return e.errno
    c.close()
    return 0


def wait_gone(path, timeout):
    t0 = time.monotonic()
    while time.monotonic() - t0 < timeout:
        if not os.path.lexists(path):
            return True
        time.sleep(0.02)
    return False


# ---------------------------------------------------------------------- registry

TESTS = []


def test(name):
    def deco(fn):
        TESTS.append((name, fn))
        return fn
    return deco


MAIN = None  # the shared target


def main_target():
    global MAIN
    if MAIN is None or MAIN.proc.poll() is not None:
        MAIN = Target("main", make_dir(os.path.join(ARGS.tmp, "run-main")))
    return MAIN


# ---------------------------------------------------------------------- basic ops

@test("basic-hello-info")
def t_hello_info():
    t = main_target()
    with jp.Conn(t.sock) as c:
        h = expect_ok(c.call(jp.request("hello", id=12345)), 12345)
        check(h.get("protocol") == [1] and h.get("server") == "liballoc"
              and isinstance(h.get("version"), str) and h.get("pid") == t.pid,
              "hello result %s" % short(h))
        i = expect_ok(c.call(jp.request("info", id=2)), 2)
    keys = ["pid", "ppid", "uid", "gid", "comm", "exe", "cmdline", "start_time", "cgroup",
            "allocator", "allocator_version", "runtime_dir", "socket"]
    missing = [k for k in keys if k not in i]
    check(not missing, "info lacks %s: %s" % (missing, short(i)))
    check(i["pid"] == t.pid and i["ppid"] == os.getpid() and i["uid"] == os.geteuid()
          and i["gid"] == os.getegid(), "info ids %s" % short(i))
    check(i["comm"] == "ctl-target" and os.path.basename(i["exe"]) == "ctl-target",
          "info comm/exe %s" % short(i))
    check(isinstance(i["cmdline"], list) and i["cmdline"][0] == ARGS.target
          and "-m" in i["cmdline"], "info cmdline %s" % short(i["cmdline"]))
    check(is_int(i["start_time"]) and abs(i["start_time"] - time.time()) < 600,
          "info start_time %r vs now %d" % (i["start_time"], time.time()))
    check(i["allocator"] == "liballoc" and i["allocator_version"] == h["version"],
          "info allocator %s" % short(i))
    # liballoc's own version, not the jemalloc version string it answers `version` with.
    check(i["jemalloc_version"].startswith("5.3.0") and
          not i["allocator_version"].startswith("5.3.0") and
          i["jemalloc_version"] == h["jemalloc_version"], "info versions %s" % short(i))
    check(i["runtime_dir"] == t.rundir and i["socket"] == t.sock,
          "info runtime_dir/socket %s" % short(i))
    check(i["cgroup"] is None or isinstance(i["cgroup"], str), "info cgroup %r" % i["cgroup"])
    t.healthy()


@test("basic-get")
def t_get():
    t = main_target()
    names = ["stats.allocated", "opt.narenas", "version", "no.such.name", "opt.dirty_decay_ms",
             "arena.0.dirty_decay_ms", "config.debug", "arenas.page", "tcache.flush",
             "experimental.hooks.install"]
    v = expect_ok(t.call(jp.request("get", id=3, names=names)), 3).get("values")
    check(isinstance(v, dict) and sorted(v) == sorted(names),
          "get values keys %s" % short(sorted(v) if isinstance(v, dict) else v))
    want = {"stats.allocated": ("size_t", is_int), "opt.narenas": ("unsigned", is_int),
            "version": ("const char *", lambda x: isinstance(x, str)),
            "opt.dirty_decay_ms": ("ssize_t", is_int),
            "arena.0.dirty_decay_ms": ("ssize_t", is_int),
            "config.debug": ("bool", lambda x: isinstance(x, bool)),
            "arenas.page": ("size_t", lambda x: x == 4096 or (is_int(x) and x > 0))}
    for n, (ty, ok) in want.items():
        e = v[n]
        check(e.get("type") == ty and "value" in e and ok(e["value"]),
              "get %s -> %s (expected type %s)" % (n, short(e), ty))
    check(v["no.such.name"].get("error", {}).get("code") == "ENOENT",
          "get no.such.name -> %s" % short(v["no.such.name"]))
    check(v["tcache.flush"].get("error", {}).get("code") == "EPERM",
          "get of write-only tcache.flush -> %s" % short(v["tcache.flush"]))
    check("error" in v["experimental.hooks.install"],
          "get of a struct-typed name -> %s" % short(v["experimental.hooks.install"]))
    # No names at all is a valid, empty request.
    r = expect_ok(t.call(jp.request("get", id=4, names=[])), 4)
    check(r == {"values": {}}, "get [] -> %s" % short(r))
    t.healthy()


@test("basic-set")
def t_set():
    t = main_target()
    name = "arena.0.dirty_decay_ms"
    old = expect_ok(t.call(jp.request("get", names=[name])))["values"][name]["value"]
    new = 4321 if old != 4321 else 1234
    r = expect_ok(t.call(jp.request("set", id=5, values={name: new})), 5)
    e = r.get("values", {}).get(name, {})
    check(e.get("type") == "ssize_t" and e.get("old") == old, "set %s -> %s" % (name, short(r)))
    now = expect_ok(t.call(jp.request("get", names=[name])))["values"][name]["value"]
    check(now == new, "after set %s=%d, get says %r" % (name, new, now))
    # Per-name errors do not fail the others; values applied in order.
    r = expect_ok(t.call(jp.request("set", id=6, values={
        "opt.narenas": 3, name: "not a number", "no.such.name": 1, "epoch": 1,
        "tcache.flush": None, "arena.0.purge": None, "thread.tcache.enabled": True})), 6)
    v = r["values"]
    check(v["opt.narenas"].get("error", {}).get("code") == "EPERM",
          "set read-only opt.narenas -> %s" % short(v["opt.narenas"]))
    check(v[name].get("error", {}).get("code") == "bad_value",
          "set %s to a string -> %s" % (name, short(v[name])))
    check(v["no.such.name"].get("error", {}).get("code") == "ENOENT",
          "set no.such.name -> %s" % short(v["no.such.name"]))
    check(v["epoch"].get("type") == "uint64_t" and is_int(v["epoch"].get("old")),
          "set epoch -> %s" % short(v["epoch"]))
    check("error" not in v["arena.0.purge"], "set arena.0.purge null -> %s"
          % short(v["arena.0.purge"]))
    r = expect_ok(t.call(jp.request("set", values={name: old})))
    check(r["values"][name].get("old") == new, "restoring %s -> %s" % (name, short(r)))
    t.healthy()


@test("set-refused-over-socket")
def t_set_refused():
    """Writes that cannot be made safe from the control thread are refused per name with
    permission_denied (docs/security.md, "The host is never harmed"), and the target lives:
    thread.* (they act on the control thread itself; thread.arena then destroying the
    control arena was a double free), tcache.flush/destroy (an application thread's explicit
    cache; flushing it from another thread raced and crashed the owner), arena.<i>.reset /
    destroy (free blocks the application still holds) and prof.dump / prof.prefix (a path
    chosen by the request)."""
    d = make_dir(os.path.join(ARGS.tmp, "run-refused"), 0o700)
    t = Target("refused", d)
    scratch = make_dir(os.path.join(ARGS.tmp, "refused-files"), 0o700)

    def get1(name):
        return expect_ok(t.call(jp.request("get", names=[name])))["values"][name]["value"]

    def refused(values, why):
        r = expect_ok(t.call(jp.request("set", id=31, values=values)), 31)
        v = r.get("values", {})
        for name in values:
            e = v.get(name, {}).get("error", {})
            check(e.get("code") == "permission_denied" and isinstance(e.get("message"), str)
                  and e["message"], "set %s=%s over the socket (%s) -> %s (expected "
                  "permission_denied)" % (name, short(values[name]), why, short(v.get(name))))
        t.healthy()

    try:
        narenas = get1("arenas.narenas")
        ctl_arena = narenas - 1  # the control thread's own arena: the last one
        # The control thread rebound to its own arena, then that arena destroyed.
        refused({"thread.arena": ctl_arena}, "rebinds the control thread")
        refused({"arena.%d.destroy" % ctl_arena: None}, "the control thread's arena")
        for name, val in (("thread.arena", 0), ("thread.tcache.enabled", False),
                          ("thread.tcache.flush", None), ("thread.idle", None),
                          ("thread.peak.reset", None), ("thread.prof.name", "x"),
                          ("thread.prof.active", False)):
            refused({name: val}, "acts on the control thread")
        # An explicit cache: create is allowed, flush and destroy are not.
        r = expect_ok(t.call(jp.request("set", values={"tcache.create": None})))
        tc = r["values"]["tcache.create"]
        check(is_int(tc.get("value")), "set tcache.create null -> %s" % short(tc))
        for _ in range(3):
            refused({"tcache.flush": tc["value"]}, "an application thread's cache")
        refused({"tcache.destroy": tc["value"]}, "an application thread's cache")
        # Arenas: a fresh one, arena 0 (the application's), and all.
        r = expect_ok(t.call(jp.request("set", values={"arenas.create": None})))
        na = r["values"]["arenas.create"].get("value")
        check(is_int(na), "set arenas.create null -> %s" % short(r))
        for i in (na, 0):
            refused({"arena.%d.reset" % i: None}, "frees the arena's blocks")
            refused({"arena.%d.destroy" % i: None}, "frees the arena's blocks")
        # Profiles: a named path (or a prefix) is never written; a dump goes through prof.
        path = os.path.join(scratch, "dump.heap")
        refused({"prof.dump": path}, "a path chosen by the request")
        refused({"prof.prefix": os.path.join(scratch, "pfx")}, "a path chosen by the request")
        refused({"prof.dump": None}, "a file written by the target")
        check(os.listdir(scratch) == [], "files written on request: %s" % os.listdir(scratch))
        # Per-name refusals do not fail the others, and ordinary writes still work.
        r = expect_ok(t.call(jp.request("set", values={"thread.arena": 0,
                                                       "arena.0.purge": None})))
        check("error" not in r["values"]["arena.0.purge"],
              "arena.0.purge next to a refused name -> %s" % short(r))
        check(get1("arenas.narenas") == narenas + 1, "arenas.narenas changed unexpectedly")
        t.healthy()
    finally:
        t.kill()


@test("basic-list")
def t_list():
    t = main_target()
    names = expect_ok(t.call(jp.request("list", id=7)), 7).get("names")
    check(isinstance(names, list) and len(names) > 100, "list -> %d names" % len(names or []))
    check(all(set(n) == {"name", "type", "rw"} for n in names),
          "list entries %s" % short(names[:3]))
    byname = {n["name"]: n for n in names}
    check(byname.get("stats.allocated", {}).get("rw") == "r-"
          and byname["stats.allocated"]["type"] == "size_t",
          "list stats.allocated -> %s" % byname.get("stats.allocated"))
    check(byname.get("epoch", {}).get("rw") == "rw", "list epoch -> %s" % byname.get("epoch"))
    opt = expect_ok(t.call(jp.request("list", prefix="opt")))["names"]
    check(opt and all(n["name"].startswith("opt.") for n in opt),
          "list prefix opt -> %s" % short(opt[:3]))
    ar = expect_ok(t.call(jp.request("list", prefix="stats.arenas.0.")))["names"]
    check(ar and all(n["name"].startswith("stats.arenas.<i>.") for n in ar),
          "list prefix stats.arenas.0. -> %s" % short(ar[:3]))
    none = expect_ok(t.call(jp.request("list", prefix="no.such.prefix")))["names"]
    check(none == [], "list of an unknown prefix -> %s" % short(none))
    expect_error(t.call(jp.request("list", id=8, prefix=5)), "bad_request", 8)
    t.healthy()


@test("basic-stats")
def t_stats():
    t = main_target()
    s = expect_ok(t.call(jp.request("stats", id=9)), 9)
    keys = ["epoch", "allocated", "active", "metadata", "resident", "mapped", "retained", "rss",
            "narenas", "dirty_decay_ms", "muzzy_decay_ms", "background_thread", "arenas"]
    missing = [k for k in keys if k not in s]
    check(not missing, "stats lacks %s: %s" % (missing, short(s)))
    check(s["allocated"] >= 4 << 20, "stats allocated %d < the target's 4 MiB" % s["allocated"])
    check(s["active"] >= s["allocated"] and s["mapped"] >= s["active"] and s["rss"] > 0,
          "stats totals %s" % short(s))
    akeys = {"index", "nthreads", "pactive", "pdirty", "pmuzzy", "dirty_decay_ms",
             "muzzy_decay_ms", "small_allocated", "large_allocated"}
    check(isinstance(s["arenas"], list) and s["arenas"]
          and all(set(a) == akeys for a in s["arenas"]), "stats arenas %s" % short(s["arenas"]))
    # The control thread's own arena is the last one: the application's arena 0 holds the
    # blocks.
    check(s["arenas"][0]["index"] == 0 and
          s["arenas"][0]["small_allocated"] + s["arenas"][0]["large_allocated"] >= 4 << 20,
          "arena 0 does not hold the target's blocks: %s" % short(s["arenas"][0]))
    s2 = expect_ok(t.call(jp.request("stats", full=False)))
    check(s2["epoch"] > s["epoch"], "stats epoch did not advance: %r then %r"
          % (s["epoch"], s2["epoch"]))
    expect_error(t.call(jp.request("stats", id=10, full="yes")), "bad_request", 10)
    t.healthy()


@test("basic-stats-full")
def t_stats_full():
    t = main_target()
    with jp.Conn(t.sock, timeout=10) as c:
        c.send(jp.request("stats", id=11, full=True))
        p = c.recv_frame()
    check(p is not None, "EOF instead of the stats")
    try:
        r = jp.strict_loads(p)
    except (ValueError, jp.ProtocolError) as e:
        raise Fail("stats full: not strict JSON (%s) near: %s" % (e, short(p[:200].decode(
            "utf-8", "replace"))))
    res = expect_ok(r, 11)
    j = res.get("jemalloc") if isinstance(res, dict) else None
    check(isinstance(j, dict), "stats full result has no \"jemalloc\": %s" % short(res))
    for k in ("version", "config", "opt", "arenas", "stats"):
        check(k in j, "stats full: jemalloc.%s missing (keys %s)" % (k, sorted(j)))
    check(j["stats"].get("allocated", 0) >= 4 << 20,
          "stats full: allocated %r" % j["stats"].get("allocated"))
    note("stats full: %d bytes" % len(p))
    t.healthy()


@test("basic-purge-decay")
def t_purge_decay():
    t = main_target()
    r = expect_ok(t.call(jp.request("purge", id=12)), 12)
    check(is_int(r.get("rss_before")) and is_int(r.get("rss_after")) and "error" not in r,
          "purge -> %s" % short(r))
    r = expect_ok(t.call(jp.request("purge", arena=0)))
    check(is_int(r.get("rss_after")) and "error" not in r, "purge arena 0 -> %s" % short(r))
    expect_error(t.call(jp.request("purge", id=13, arena="all")), "bad_request", 13)
    s = expect_ok(t.call(jp.request("stats")))
    d0, m0 = s["dirty_decay_ms"], s["muzzy_decay_ms"]
    r = expect_ok(t.call(jp.request("decay-all", id=14, dirty_ms=0, muzzy_ms=0)), 14)
    check(is_int(r.get("arenas")) and r["arenas"] >= 1 and is_int(r.get("rss_before"))
          and is_int(r.get("rss_after")) and "error" not in r, "decay-all -> %s" % short(r))
    s = expect_ok(t.call(jp.request("stats")))
    check(s["dirty_decay_ms"] == 0 and all(a["dirty_decay_ms"] == 0 for a in s["arenas"]),
          "after decay-all 0: %s" % short(s))
    expect_error(t.call(jp.request("decay-all", id=15)), "bad_request", 15)
    expect_error(t.call(jp.request("decay-all", id=16, dirty_ms=1.5)), "bad_request", 16)
    expect_ok(t.call(jp.request("decay-all", dirty_ms=d0, muzzy_ms=m0)))
    t.healthy()


@test("prof-live")
def t_prof_live():
    """Heap profiling switched on, dumped (a sealed memfd passed with the answer) and off."""
    t = main_target()
    r = expect_ok(t.call(jp.request("prof", id=17, action="status")), 17)
    check(r.get("active") is False and r.get("lg_sample") == 19, "status -> %s" % short(r))
    expect_error(t.call(jp.request("prof", id=18, action="frob")), "bad_request", 18)
    expect_error(t.call(jp.request("prof", id=19, action="on", lg_sample=64)), "bad_request", 19)
    expect_error(t.call(jp.request("prof", id=20, action="on", lg_sample="x")), "bad_request", 20)
    expect_error(t.call(jp.request("prof", id=21)), "bad_request", 21)
    r = expect_ok(t.call(jp.request("prof", action="on", lg_sample=0)))
    check(r.get("active") is True and r.get("was_active") is False and r.get("lg_sample") == 0,
          "on -> %s" % short(r))
    time.sleep(0.5)
    before = len(os.listdir("/proc/%d/fd" % t.pid))
    with jp.Conn(t.sock) as c:
        r, fds = c.call_fds(jp.request("prof", id=22, action="dump"))
    res = r.get("result", {})
    check(r.get("ok") is True and res.get("format") == "heap_v2" and res.get("fd") is True
          and len(fds) == 1, "dump -> %s, fds %s" % (short(r), fds))
    if fds:
        st = os.fstat(fds[0])
        data = os.pread(fds[0], st.st_size + 1, 0)
        check(st.st_size == res.get("bytes") and len(data) == st.st_size,
              "size %d, answer says %s" % (st.st_size, res.get("bytes")))
        check(data.startswith(b"heap_v2/1\n") and b"\nMAPPED_LIBRARIES:\n" in data
              and b"\n@ 0x" in data, "dump content: %r" % data[:120])
        seals = fcntl.fcntl(fds[0], 1034)  # F_GET_SEALS
        check(seals & 8 and seals & 2 and seals & 4, "seals %#x" % seals)
        try:
            os.pwrite(fds[0], b"x", 0)
            check(False, "the profile could be changed")
        except OSError:
            pass
        for fd in fds:
            os.close(fd)
    # A client that reads with plain recv still gets its answer; the descriptor is closed
    # on the target's side either way.
    for _ in range(10):
        r = t.call(jp.request("prof", action="dump"))
        check(r.get("ok") is True, "plain dump -> %s" % short(r))
    # The target closes its copy of each descriptor once sent and each connection once it
    # sees the client's EOF: give the control thread a moment.
    for _ in range(20):
        after = len(os.listdir("/proc/%d/fd" % t.pid))
        if after <= before:
            break
        time.sleep(0.1)
    check(after <= before, "target fds %d -> %d after 11 dumps" % (before, after))
    r = expect_ok(t.call(jp.request("prof", action="off")))
    check(r.get("active") is False and r.get("was_active") is True, "off -> %s" % short(r))
    t.healthy()


@test("pipelined-requests")
def t_pipeline():
    t = main_target()
    reqs = b"".join(jp.frame(jp.request(op, id=i + 1)) for i, op in
                    enumerate(["hello", "stats", "frob", "info", "hello"]))
    with jp.Conn(t.sock) as c:
        c.send_raw(reqs)
        rs = [c.recv() for _ in range(5)]
    check([r.get("id") if r else None for r in rs] == [1, 2, 3, 4, 5],
          "pipelined ids %s" % [r.get("id") if r else None for r in rs])
    check([r["ok"] for r in rs] == [True, True, False, True, True],
          "pipelined ok flags %s" % [r["ok"] for r in rs])
    t.healthy()


# ---------------------------------------------------------------------- malformed

def same_conn(t, cases):
    """Sends each (payload, code, id) on one connection; the connection stays usable."""
    with jp.Conn(t.sock) as c:
        for payload, code, id in cases:
            r = c.call(payload)
            expect_error(r, code, id)
            h = c.call(jp.request("hello", id=777))
            check(h.get("ok") is True and h.get("id") == 777,
                  "after %s the connection does not answer hello: %s" % (code, short(h)))


@test("bad-json")
def t_bad_json():
    t = main_target()
    deep_ok = '{"v":1,"op":"hello","x":' + "[" * 7 + "1" + "]" * 7 + "}"
    deep_bad = '{"v":1,"op":"hello","x":' + "[" * 8 + "1" + "]" * 8 + "}"
    many = '{"v":1,"op":"hello","x":[' + ",".join("0" * 1 for _ in range(1018)) + "]}"
    same_conn(t, [
        (b"{not json", "bad_json", 0),
        (b'{"v":1,"op":"hello"} trailing', "bad_json", 0),
        (b'[{"v":1,"op":"hello"}]', "bad_json", 0),
        (b'"hello"', "bad_json", 0),
        (b'{"v":1,"id":3,"op":"hello","id":4}', "bad_json", 0),
        (b'{"v":1,"op":"h\xffllo"}', "bad_json", 0),
        (b'{"v":1,"op":"he\x01llo"}', "bad_json", 0),
        (b'{"v":01,"op":"hello"}', "bad_json", 0),
        (b'{"v":1,"op":"hello"}\x00', "bad_json", 0),
        (deep_bad, "bad_json", 0),
        (many, "bad_json", 0),
    ])
    expect_ok(t.call(deep_ok))
    expect_ok(t.call(many.replace("[0,", "[", 1)))  # 1024 tokens: the limit
    t.healthy()


@test("bad-version")
def t_bad_version():
    t = main_target()
    with jp.Conn(t.sock) as c:
        for v in (2, 0, 999):
            r = c.call('{"v":%d,"id":21,"op":"hello"}' % v)
            expect_error(r, "unsupported_version", 21)
            check(r["error"].get("versions") == [1],
                  "unsupported_version without versions [1]: %s" % short(r))
        expect_error(c.call('{"v":"1","id":22,"op":"hello"}'), "bad_request", 22)
        expect_error(c.call('{"id":23,"op":"hello"}'), "bad_request", 23)
        expect_ok(c.call(jp.request("hello", id=24)), 24)
    t.healthy()


@test("bad-request-members")
def t_bad_members():
    t = main_target()
    same_conn(t, [
        ('{"v":1,"id":31,"op":"frob"}', "unknown_op", 31),
        ('{"v":1,"id":32,"op":"HELLO"}', "unknown_op", 32),
        ('{"v":1,"id":33}', "bad_request", 33),
        ('{"v":1,"id":34,"op":7}', "bad_request", 34),
        ('{"v":1,"id":35,"op":"get"}', "bad_request", 35),
        ('{"v":1,"id":36,"op":"get","names":"stats.allocated"}', "bad_request", 36),
        ('{"v":1,"id":37,"op":"get","names":{"a":1}}', "bad_request", 37),
        ('{"v":1,"id":38,"op":"get","names":[1,2]}', "bad_request", 38),
        (jp.request("get", id=39, names=["n%d" % i for i in range(300)]), "bad_request", 39),
        (jp.request("get", id=40, names=["n%d" % i for i in range(257)]), "bad_request", 40),
        (jp.request("get", id=41, names=["x" * 300]), "bad_request", 41),
        ('{"v":1,"id":42,"op":"set","values":[1]}', "bad_request", 42),
        ('{"v":1,"id":43,"op":"set"}', "bad_request", 43),
        ('{"v":1,"id":-1,"op":"hello"}', "bad_request", 0),
    ])
    # 256 names is the limit, and unknown members are ignored.
    r = expect_ok(t.call(jp.request("get", id=44, names=["no.n%d" % i for i in range(256)],
                                    future={"x": [1]})), 44)
    check(len(r.get("values", {})) == 256 and all(
        e.get("error", {}).get("code") == "ENOENT" for e in r["values"].values()),
        "get of 256 unknown names -> %s" % short(r))
    t.healthy()


def strict_answer(t, what, payload, nentries):
    """A response must be one well-formed object by the protocol's own rules: no duplicate
    keys (the codec, jp_parse, refuses them: jemctl could not read it), and a get/set that
    succeeds has one entry per requested name (docs/protocol.md).  Refusing the whole
    request (ok false) is fine too."""
    with jp.Conn(t.sock) as c:
        c.send(payload)
        p = c.recv_frame()
    check(p is not None, "%s: EOF instead of a response" % what)
    try:
        r = jp.strict_loads(p)
    except jp.ProtocolError as e:
        raise Fail("%s: sent %s, got %s (%s)" % (what, short(payload, 80), short(p.decode()), e))
    if r.get("ok") is not False:
        vals = r.get("result", {}).get("values", {})
        check(len(vals) == nentries, "%s: sent %s, got %d entries (expected %d, or the request "
              "refused): %s" % (what, short(payload, 80), len(vals), nentries, short(r)))
    t.healthy()


@test("get-repeated-name")
def t_get_repeated():
    strict_answer(main_target(), "get of a name twice",
                  jp.request("get", id=51, names=["version", "version"]), 1)


@test("set-long-names")
def t_set_long_names():
    strict_answer(main_target(), "set of two names over 255 bytes",
                  jp.request("set", id=52, values={"a" * 300: 1, "b" * 300: 2}), 2)


@test("get-name-with-nul")
def t_get_nul():
    strict_answer(main_target(), "get of a name with \\u0000",
                  '{"v":1,"id":53,"op":"get","names":["ver\\u0000sion","version"]}', 2)


# ----------------------------------------------------------------------- framing

@test("frame-zero-length")
def t_zero():
    t = main_target()
    with jp.Conn(t.sock) as c:
        c.send_raw(b"\0\0\0\0")
        r = c.recv()
        expect_error(r, "bad_frame", 0)
        then_eof(c)
    t.healthy()


@test("frame-too-large")
def t_too_large():
    t = main_target()
    for n in (0x7fffffff, 0xffffffff, 65537):
        with jp.Conn(t.sock) as c:
            c.send_raw(struct.pack(">I", n) + b'{"v":1,"op":"hello"}')
            r = c.recv()
            expect_error(r, "too_large", 0)
            then_eof(c)
    # Exactly 65,536 bytes is allowed.
    base = '{"v":1,"id":61,"op":"hello","pad":""}'
    big = base.replace('""', '"' + "p" * (65536 - len(base)) + '"')
    check(len(big) == 65536, "test bug: %d" % len(big))
    expect_ok(t.call(big), 61)
    t.healthy()


@test("frame-truncated")
def t_truncated():
    t = main_target()
    with jp.Conn(t.sock) as c:
        c.send_raw(struct.pack(">I", 100) + b'{"v":1,"op')
    # Half-closed inside a frame: the server may answer bad_frame, must close.
    with jp.Conn(t.sock) as c:
        c.send_raw(struct.pack(">I", 100) + b'{"v":1,"op')
        c.sock.shutdown(socket.SHUT_WR)
        how, secs, data = c.wait_eof(7)
        check(how in ("eof", "reset"), "half-closed mid-frame: %s after %.1fs" % (how, secs))
        rs = jp.split_frames(data)
        check(not data or (len(rs) == 1 and rs[0].get("error", {}).get("code") == "bad_frame"),
              "half-closed mid-frame answered %r" % data[:200])
        note("half-closed mid-frame: %s" % ("answered bad_frame" if rs else
                                             "closed without an answer"))
    # Only a header, and only part of a header.
    for raw in (struct.pack(">I", 20), b"\0\0"):
        with jp.Conn(t.sock) as c:
            c.send_raw(raw)
    t.healthy()


@test("frame-byte-by-byte")
def t_byte_by_byte():
    t = main_target()
    data = jp.frame(jp.request("hello", id=71)) + jp.frame(jp.request("get", id=72,
                                                                      names=["version"]))
    with jp.Conn(t.sock) as c:
        c.sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 4096)
        for i in range(len(data)):
            c.send_raw(data[i:i + 1])
            time.sleep(0.003)
        expect_ok(c.recv(), 71)
        expect_ok(c.recv(), 72)
    t.healthy()


# ----------------------------------------------------------------- other users

NOBODY = None


def nobody_setup():
    """(uid, gid) of nobody/nogroup, or Skip with the reason."""
    global NOBODY
    if NOBODY is not None:
        return NOBODY
    if os.geteuid() != 0:
        raise Skip("needs root (to run a client as nobody)")
    if not shutil.which("setpriv"):
        raise Skip("setpriv (util-linux) is not installed")
    try:
        uid = pwd.getpwnam("nobody").pw_uid
        gid = grp.getgrnam("nogroup").gr_gid
    except KeyError:
        raise Skip("no user nobody or group nogroup")
    client = os.path.join(ARGS.tmp, "bin", "jpclient.py")
    os.makedirs(os.path.dirname(client), exist_ok=True)
    os.chmod(os.path.dirname(client), 0o755)
    shutil.copy(os.path.join(os.path.dirname(os.path.abspath(__file__)), "jpclient.py"), client)
    os.chmod(client, 0o644)
    r = subprocess.run(["setpriv", "--reuid=nobody", "--regid=nogroup", "--clear-groups",
                        "test", "-r", client], stdin=subprocess.DEVNULL)
    if r.returncode != 0:
        raise Skip("nobody cannot reach %s (a parent directory is closed to others)" % client)
    NOBODY = (uid, gid, client)
    return NOBODY


def as_user(setpriv_args, sock, *reqs):
    """Runs jpclient.py as another user; returns its output lines."""
    client = nobody_setup()[2]
    py = "/usr/bin/python3" if os.path.exists("/usr/bin/python3") else sys.executable
    cmd = ["setpriv"] + setpriv_args + [py, "-I", "-B", client, sock] + list(reqs)
    r = subprocess.run(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE, timeout=20, env={"PATH": "/usr/bin:/bin",
                                                                "LC_ALL": "C"})
    out = r.stdout.decode("utf-8", "replace").splitlines()
    if not out:
        raise Fail("client as %s printed nothing (status %d): %s"
                   % (setpriv_args, r.returncode, short(r.stderr.decode("utf-8", "replace"))))
    return out


NOBODY_ARGS = ["--reuid=nobody", "--regid=nogroup", "--clear-groups"]


def resp(line):
    check(line.startswith("RESP "), "client: %s" % line)
    return jp.strict_loads(line[5:].encode())


@test("uid-other-cannot-connect")
def t_uid_other():
    nobody_setup()
    t = main_target()
    st = os.stat(t.sock)
    check(stat.S_IMODE(st.st_mode) == 0o600, "socket mode %o, expected 600"
          % stat.S_IMODE(st.st_mode))
    check(stat.S_IMODE(os.stat(t.rundir).st_mode) == 0o700, "test setup: dir not 0700")
    out = as_user(NOBODY_ARGS, t.sock, jp.request("hello"))
    check(out == ["ERR connect EACCES"], "nobody connecting to a 0600 socket in a 0700 dir: %s"
          % out)
    t.healthy()


GROUP_T = None


def group_target():
    global GROUP_T
    uid, gid, _ = nobody_setup()
    if GROUP_T is None or GROUP_T.proc.poll() is not None:
        d = make_dir(os.path.join(ARGS.tmp, "run-group"), 0o750, group=gid)
        GROUP_T = Target("group", d, env={"JEMCTL_READ_GROUP": "nogroup"})
    return GROUP_T


@test("uid-read-group")
def t_uid_group():
    uid, gid, _ = nobody_setup()
    t = group_target()
    st = os.stat(t.sock)
    check(stat.S_IMODE(st.st_mode) == 0o660 and st.st_gid == gid,
          "socket with JEMCTL_READ_GROUP=nogroup: mode %o gid %d, expected 660 gid %d"
          % (stat.S_IMODE(st.st_mode), st.st_gid, gid))
    name = "arena.0.dirty_decay_ms"
    before = expect_ok(t.call(jp.request("get", names=[name])))["values"][name]["value"]
    reqs = [jp.request("hello", id=1), jp.request("get", id=2, names=[name, "version"]),
            jp.request("stats", id=3), jp.request("list", id=4, prefix="opt"),
            jp.request("info", id=5),
            jp.request("set", id=6, values={name: 1}), jp.request("purge", id=7),
            jp.request("decay-all", id=8, dirty_ms=0), jp.request("prof", id=9, action="dump"),
            jp.request("hello", id=10)]
    out = as_user(NOBODY_ARGS, t.sock, *reqs)
    check(len(out) == len(reqs), "nobody (read group) got %d answers for %d requests: %s"
          % (len(out), len(reqs), short(out)))
    rs = [resp(x) for x in out]
    for r in rs[:5] + rs[9:]:
        expect_ok(r)
    check(rs[0]["result"]["pid"] == t.pid, "hello as nobody: %s" % short(rs[0]))
    check(rs[1]["result"]["values"][name]["value"] == before, "get as nobody: %s" % short(rs[1]))
    for r, i in zip(rs[5:9], range(6, 10)):
        expect_error(r, "permission_denied", i)
    after = expect_ok(t.call(jp.request("get", names=[name])))["values"][name]["value"]
    check(after == before, "a refused set changed %s: %r -> %r" % (name, before, after))
    t.healthy()


@test("uid-peercred-check")
def t_uid_peercred():
    """Layer 3 of docs/security.md: a peer the filesystem lets in (nogroup as a
    supplementary group) but whose primary gid is not the read group is refused."""
    uid, gid, _ = nobody_setup()
    try:
        other = grp.getgrnam("daemon").gr_gid
    except KeyError:
        raise Skip("no group daemon")
    t = group_target()
    out = as_user(["--reuid=nobody", "--regid=%d" % other, "--groups=%d" % gid], t.sock,
                  jp.request("hello", id=1))
    check(len(out) == 1, "client output %s" % out)
    check(out[0].startswith("RESP "), "peer with primary gid daemon: %s (expected a "
          "permission_denied answer)" % out[0])
    expect_error(resp(out[0]), "permission_denied", 0)
    t.healthy()


@test("uid-read-group-get-has-no-side-effects")
def t_uid_group_side_effects():
    """A read-only peer's get must not change the process: reading arenas.create or
    tcache.create runs their mallctl with an old value only, which creates an arena / a
    tcache (jemalloc's semantics); through get that is a write in disguise (docs/security.md:
    the read group may only read)."""
    nobody_setup()
    t = group_target()

    def narenas():
        return expect_ok(t.call(jp.request("get", names=["arenas.narenas"])))[
            "values"]["arenas.narenas"]["value"]
    n0 = narenas()
    out = as_user(NOBODY_ARGS, t.sock, jp.request("get", id=1, names=["arenas.create",
                                                                      "tcache.create"]),
                  jp.request("get", id=2, names=["arenas.create"]))
    n1 = narenas()
    vals = [resp(x).get("result", {}).get("values", {}) for x in out if x.startswith("RESP ")]
    check(n1 == n0, "a read-only peer (JEMCTL_READ_GROUP) created %d arena(s) with get "
          "[\"arenas.create\"] (arenas.narenas %d -> %d; answers: %s)"
          % (n1 - n0, n0, n1, short(vals)))
    for v in vals:
        for name in ("arenas.create", "tcache.create"):
            if name in v:
                check("error" in v[name], "read-only peer: get %s answered %s (expected a "
                      "per-name error)" % (name, short(v[name])))
    t.healthy()


@test("random-payloads")
def t_random():
    """2,000 payloads: random bytes and mutations of valid read requests.  Each gets one
    well-formed response (strict JSON, v 1, ok true/false), and the process is unharmed."""
    import random
    rng = random.Random(20240601)
    d = make_dir(os.path.join(ARGS.tmp, "run-random"), 0o700)
    t = Target("random", d)
    templates = [jp.request("hello", id=5), jp.request("info", id=6),
                 jp.request("get", id=7, names=["stats.allocated", "opt.narenas", "version"]),
                 jp.request("list", id=8, prefix="stats.arenas.0"),
                 jp.request("stats", id=9),
                 '{"v":1,"id":10,"op":"get","names":["\\u00e9\\ud83d\\ude00",[{"a":[1e5]}]]}']
    junk = [b"\\u", b"\"", b"{", b"}", b"[", b"]", b",", b":", b"\xff", b"\x00", b"\xc3",
            b"true", b"-0.5e", b"\\ud800", b"\n", b"1" * 30]
    try:
        with jp.Conn(t.sock, timeout=5) as c:
            for i in range(2000):
                base = bytearray(rng.choice(templates).encode())
                kind = rng.random()
                if kind < 0.15:
                    p = bytes(rng.getrandbits(8) for _ in range(rng.randint(1, 64)))
                else:
                    for _ in range(rng.randint(1, 4)):
                        pos = rng.randrange(len(base) + 1)
                        op = rng.random()
                        if op < 0.3 and pos < len(base):
                            base[pos] = rng.getrandbits(8)
                        elif op < 0.5:
                            del base[pos:pos + rng.randint(1, 8)]
                        else:
                            base[pos:pos] = rng.choice(junk)
                    p = bytes(base) or b" "
                c.send(p)
                try:
                    r = c.recv()
                except (ValueError, jp.ProtocolError) as e:
                    raise Fail("payload %r: response not strict JSON: %s" % (p[:120], e))
                check(isinstance(r, dict) and r.get("v") == 1 and r.get("ok") in (True, False)
                      and ("result" in r if r["ok"] else "error" in r),
                      "payload %r: response %s" % (p[:120], short(r)))
        t.healthy()
    finally:
        t.kill()


def expect_no_socket(t, why, wait=0.6):
    time.sleep(wait)
    socks = glob.glob(os.path.join(t.rundir, "*.sock")) if t.rundir and os.path.isdir(
        t.rundir) else []
    check(not socks, "%s: socket(s) appeared: %s" % (why, socks))
    line = t.verify()
    check(" ok " in line, "%s: data not intact: %s" % (why, line))


def expect_normal_exit(t):
    rc = t.stop()
    check(rc == 0, "target exit status %s (out: %s; err: %s)"
          % (rc, short(" | ".join(t.lines()[-3:])), short(t.stderr())))


@test("dir-world-writable")
def t_dir_777():
    d = make_dir(os.path.join(ARGS.tmp, "run-777"), 0o777)
    t = Target("dir777", d, expect_socket=False)
    try:
        expect_no_socket(t, "runtime dir mode 0777")
        check("control socket off" in t.stderr(),
              "no warning on stderr for a 0777 runtime dir (stderr: %r)" % short(t.stderr()))
        expect_normal_exit(t)
    finally:
        t.kill()
    # With the sticky bit (like /tmp) it is accepted.
    d = make_dir(os.path.join(ARGS.tmp, "run-1777"), 0o1777)
    t = Target("dir1777", d)
    try:
        t.healthy()
    finally:
        t.kill()


@test("dir-unsafe-owner-or-symlink")
def t_dir_unsafe():
    if os.geteuid() != 0:
        raise Skip("needs root (to chown a directory to another user)")
    uid = pwd.getpwnam("nobody").pw_uid
    d = make_dir(os.path.join(ARGS.tmp, "run-nobody"), 0o700, owner=uid)
    good = make_dir(os.path.join(ARGS.tmp, "run-real"), 0o700)
    link = os.path.join(ARGS.tmp, "run-link")
    if os.path.lexists(link):
        os.unlink(link)
    os.symlink(good, link)
    for name, path in (("owned by nobody", d), ("a symbolic link", link)):
        t = Target("unsafe", path, expect_socket=False)
        try:
            time.sleep(0.4)
            socks = glob.glob(os.path.join(path, "*.sock"))
            check(not socks, "runtime dir %s: socket appeared: %s" % (name, socks))
            check("control socket off" in t.stderr(),
                  "runtime dir %s: no warning (stderr %r)" % (name, short(t.stderr())))
            expect_normal_exit(t)
        finally:
            t.kill()


@test("dir-missing")
def t_dir_missing():
    d = os.path.join(ARGS.tmp, "run-missing")
    if os.path.lexists(d):
        shutil.rmtree(d)
    t = Target("missing", d, expect_socket=False)
    try:
        expect_no_socket(t, "missing runtime dir")
        check(not os.path.exists(d), "the runtime dir was created without ctl:true")
        check(t.stderr() == "", "stderr: %r" % short(t.stderr()))
        expect_normal_exit(t)
    finally:
        t.kill()


@test("dir-created-later")
def t_dir_later():
    # The README's order: the program first, then the runtime directory.  The process
    # looks again (at most once a second, from an allocator slow path) and serves its
    # socket within a few seconds of the directory appearing.
    d = os.path.join(ARGS.tmp, "run-later")
    if os.path.lexists(d):
        shutil.rmtree(d)
    t = Target("later", d, expect_socket=False)
    try:
        time.sleep(1.2)
        check(not os.path.exists(d), "the runtime dir was created without ctl:true")
        make_dir(d, 0o700)
        t.wait_hello(5)  # Fail: no socket within 5 s of the directory's creation
        t.healthy()
        check(t.stderr() == "", "stderr: %r" % short(t.stderr()))
        expect_normal_exit(t)
        check(wait_gone(t.sock, 2), "socket left after a normal exit: %s" % t.sock)
    finally:
        t.kill()


@test("dir-ctl-true-creates")
def t_ctl_true():
    d = os.path.join(ARGS.tmp, "run-created")
    if os.path.lexists(d):
        shutil.rmtree(d)
    t = Target("ctltrue", d, env={"MALLOC_CONF": "ctl:true"})
    try:
        st = os.stat(d)
        check(stat.S_ISDIR(st.st_mode) and stat.S_IMODE(st.st_mode) == 0o700,
              "ctl:true created %s with mode %o, expected 0700" % (d, stat.S_IMODE(st.st_mode)))
        t.healthy()
        expect_normal_exit(t)
        check(wait_gone(t.sock, 2), "socket left after a normal exit: %s" % t.sock)
    finally:
        t.kill()


@test("dir-ctl-false")
def t_ctl_false():
    d = make_dir(os.path.join(ARGS.tmp, "run-ctlfalse"), 0o700)
    t = Target("ctlfalse", d, env={"MALLOC_CONF": "ctl:false"}, expect_socket=False)
    try:
        expect_no_socket(t, "MALLOC_CONF=ctl:false")
        expect_normal_exit(t)
    finally:
        t.kill()


# ------------------------------------------------------------------ bounds on the server

@test("idle-client-closed")
def t_idle():
    d = make_dir(os.path.join(ARGS.tmp, "run-idle"), 0o700)
    t = Target("idle", d)
    try:
        idle = jp.Conn(t.sock, timeout=10)
        # A slow reader too: pipelined full stats that it never reads.
        slow = jp.Conn(t.sock, timeout=10)
        slow.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        try:
            slow.sock.settimeout(0.5)
            for i in range(64):
                slow.send(jp.request("stats", id=i + 1, full=True))
        except (socket.timeout, BlockingIOError):
            pass
        t0 = time.monotonic()
        result = {}

        def watch(name, c):
            result[name] = c.wait_eof(9)

        ths = [threading.Thread(target=watch, args=("idle", idle))]
        for th in ths:
            th.start()
        # Meanwhile the others are served promptly.
        worst = 0.0
        for _ in range(5):
            t1 = time.monotonic()
            with jp.Conn(t.sock, timeout=3) as c:
                expect_ok(c.call(jp.request("hello")))
            worst = max(worst, time.monotonic() - t1)
            time.sleep(0.4)
        for th in ths:
            th.join(12)
        # The slow reader starts reading only now, past the 5 s: it finds what the server
        # had sent before giving up on it, then the end.
        time.sleep(max(0.0, t0 + 6.5 - time.monotonic()))
        result["slow"] = slow.wait_eof(3)
        check(worst < 1.0, "hello took %.2fs while an idle client was connected" % worst)
        how, secs, data = result.get("idle", ("?", 0, b""))
        check(how in ("eof", "reset") and 4.0 <= secs <= 7.0,
              "silent client: %s after %.1fs (expected closed after ~5s)" % (how, secs))
        check(bool(data) and
              jp.split_frames(data)[0].get("error", {}).get("code") == "timeout",
              "silent client got %r (expected a timeout answer, then the end)" % data[:200])
        note("silent client: closed after %.1fs %s" % (
            secs, "with a timeout answer" if data else "without an answer"))
        how, secs, data = result.get("slow", ("?", 0, b""))
        frames = len(jp.split_frames(data)) if how == "eof" else 0
        check(how in ("eof", "reset") and frames < 64,
              "client that did not read for 6.5s: %s after %.1fs more, %d of 64 answers "
              "(expected the connection closed ~5s after the server's last progress)"
              % (how, secs, frames))
        note("client that did not read: closed, %d bytes (%d answers) were in flight"
             % (len(data), frames))
        idle.close()
        slow.close()
        t.healthy()
    finally:
        t.kill()


def take_slot(t, id, timeout=3.0):
    """A connection that got a slot (answers hello).  A slot freed by a client that just
    closed may not be free yet (busy): try again, as busy asks."""
    t0 = time.monotonic()
    while True:
        c = jp.Conn(t.sock, timeout=3)
        try:
            r = c.call(jp.request("hello", id=id))
            if r.get("ok") is True and r.get("id") == id:
                return c
            expect_error(r, "busy")
        except (OSError, jp.ProtocolError):
            pass
        c.close()
        check(time.monotonic() - t0 < timeout, "no free slot within %gs" % timeout)
        time.sleep(0.02)


@test("busy-17th-client")
def t_busy():
    d = make_dir(os.path.join(ARGS.tmp, "run-busy"), 0o700)
    t = Target("busy", d)
    conns = []
    try:
        for i in range(16):
            conns.append(take_slot(t, i + 1))
        with jp.Conn(t.sock, timeout=3) as c:
            try:
                c.send(jp.request("hello", id=99))
            except OSError:
                pass
            r = c.recv()
            check(r is not None, "the 17th client got EOF, expected busy")
            expect_error(r, "busy", 0)
            then_eof(c)
        for c in conns:
            c.close()
        conns = []
        dt = t.wait_hello(2)
        note("service resumed %.2fs after closing the 16" % dt)
        # And 16 at once work again.
        for i in range(16):
            conns.append(take_slot(t, i + 1))
        for c in conns:
            c.close()
        conns = []
        # The server frees a slot when it sees the close, not when the client closes:
        # until then a client may still be told busy (seen on a loaded machine).
        t.wait_hello(2)
        t.healthy()
    finally:
        for c in conns:
            c.close()
        t.kill()


def run_as(uid, gid, fn, *args):
    """fn(write, *args) in a forked child running as uid/gid (no supplementary groups);
    fn writes JSON lines with write(obj).  Returns (pid, file of those lines)."""
    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:
        code = 0
        try:
            os.close(r)
            os.setgroups([])
            os.setresgid(gid, gid, gid)
            os.setresuid(uid, uid, uid)
            fn(lambda obj: os.write(w, (json.dumps(obj) + "\n").encode()), *args)
        except BaseException as e:  # reported to the parent, which fails the test
            os.write(w, (json.dumps({"error": repr(e)}) + "\n").encode())
            code = 1
        os._exit(code)
    os.close(w)
    CHILD_PIDS.append(pid)
    return pid, os.fdopen(r, "r")


def child_line(f, pid, what):
    line = f.readline()
    check(line, "%s (pid %d) ended without a report" % (what, pid))
    obj = json.loads(line)
    check("error" not in obj, "%s (pid %d): %s" % (what, pid, obj.get("error")))
    return obj


def trickle(write, path, n, every, total):
    """n connections to path, each sent one byte of a hello frame every `every` s for at
    most `total` s; reports when each was closed (s after its connect) and its first
    answer's error code."""
    conns = []
    for _ in range(n):
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.connect(path)
        conns.append({"s": s, "t0": time.monotonic(), "closed": None, "data": b""})
    write({"connected": n})
    payload = jp.frame(jp.request("hello", id=1))
    t0 = time.monotonic()
    k = 0
    while time.monotonic() - t0 < total:
        live = [c for c in conns if c["closed"] is None]
        if not live:
            break
        for c in live:
            try:
                c["s"].send(payload[k:k + 1])
            except OSError:
                pass  # closed by the server: the read below sees the end
        k += 1
        until = min(time.monotonic() + every, t0 + total)
        while live and time.monotonic() < until:
            ready, _, _ = select.select([c["s"] for c in live], [], [],
                                        until - time.monotonic())
            for c in live:
                if c["s"] not in ready:
                    continue
                try:
                    chunk = c["s"].recv(65536)
                except OSError:
                    chunk = b""
                c["data"] += chunk
                if not chunk:
                    c["closed"] = time.monotonic() - c["t0"]
            live = [c for c in live if c["closed"] is None]
    out = []
    for c in conns:
        frames = jp.split_frames(c["data"])
        code = frames[0].get("error", {}).get("code") if frames else None
        out.append({"closed": c["closed"], "code": code})
        c["s"].close()
    write({"conns": out})


def probe_hello(path, pid):
    """(seconds, answered hello with pid, what came back): a refused client's request may
    meet a closed socket, and its answer (busy) is read all the same."""
    t0 = time.monotonic()
    try:
        with jp.Conn(path, timeout=5) as c:
            try:
                c.send(jp.request("hello", id=7))
            except OSError:
                pass
            r = c.recv()
    except (OSError, jp.ProtocolError) as e:
        r = repr(e)
    ok = isinstance(r, dict) and r.get("ok") is True and r["result"].get("pid") == pid
    return time.monotonic() - t0, ok, short(r)


def hello_as(write, path, pid):
    secs, ok, answer = probe_hello(path, pid)
    write({"secs": secs, "ok": ok, "answer": answer})


@test("slots-reserved-trickle")
def t_trickle():
    """Finding 10 of docs/security.md's review: a read-group member that opens 16
    connections and sends one byte every 4 s holds at most 4 slots (12 for the whole read
    group), each for at most 5 s from its connect whatever it sends; root and the process's
    owner are answered at once meanwhile."""
    uid, gid, _ = nobody_setup()
    reader = 65533  # a uid of its own, in the read group (its primary gid)
    d = make_dir(os.path.join(ARGS.tmp, "run-trickle"), 0o750, group=gid, owner=uid)
    t = Target("trickle", d, env={"JEMCTL_READ_GROUP": str(gid)},
               user=["--reuid=%d" % uid, "--regid=%d" % gid, "--clear-groups"])
    tpid = None
    try:
        tpid, tf = run_as(reader, gid, trickle, t.sock, 16, 4.0, 9.0)
        child_line(tf, tpid, "the trickler")
        start = time.monotonic()
        probes = []
        for when in (0.3, 2.0, 4.0):
            time.sleep(max(0.0, start + when - time.monotonic()))
            root_secs, ok, answer = probe_hello(t.sock, t.pid)
            check(ok, "root while a read-group peer trickles on 16 connections: %s" % answer)
            opid, of = run_as(uid, gid, hello_as, t.sock, t.pid)
            o = child_line(of, opid, "the owner's client")
            of.close()
            os.waitpid(opid, 0)
            check(o["ok"], "the owner while a read-group peer trickles on 16 connections: %s"
                  % o["answer"])
            probes.append((when, max(root_secs, o["secs"])))
            check(max(root_secs, o["secs"]) < 1.0, "root answered in %.2fs, the owner in "
                  "%.2fs (expected at once)" % (root_secs, o["secs"]))
        res = child_line(tf, tpid, "the trickler")["conns"]
        tf.close()
        os.waitpid(tpid, 0)
        tpid = None
        held = [c for c in res if c["code"] != "busy"]
        busy = [c for c in res if c["code"] == "busy"]
        check(len(held) == 4 and len(busy) == 12, "one read-only uid held %d slots, %d got "
              "busy (expected 4 and 12): %s" % (len(held), len(busy), short(res)))
        for c in held:
            check(c["closed"] is not None and 4.0 <= c["closed"] <= 7.0 and
                  c["code"] == "timeout", "a trickling connection: closed after %s s with "
                  "%s (expected ~5 s after its connect, with timeout)" % (c["closed"], c["code"]))
        for c in busy:
            check(c["closed"] is not None and c["closed"] < 2.0,
                  "a refused connection closed after %s s" % c["closed"])
        note("16 trickling connections: 4 held, closed after %s s; root/owner at once (%s)"
             % (", ".join("%.1f" % c["closed"] for c in held),
                ", ".join("%.2fs" % p[1] for p in probes)))
        t.healthy()
    finally:
        if tpid is not None:
            try:
                os.kill(tpid, signal.SIGKILL)
                os.waitpid(tpid, 0)
            except OSError:
                pass
        t.kill()


@test("many-clients-rss")
def t_many():
    t = main_target()
    for _ in range(50):  # warm up: the server's buffers exist
        with jp.Conn(t.sock) as c:
            expect_ok(c.call(jp.request("hello")))
    r0 = rss_kib(t.pid)
    t0 = time.monotonic()
    bad = 0
    for i in range(1000):
        with jp.Conn(t.sock, timeout=3) as c:
            r = c.call(jp.request("hello", id=i + 1))
            if not (r.get("ok") and r.get("id") == i + 1):
                bad += 1
    took = time.monotonic() - t0
    r1 = rss_kib(t.pid)
    check(bad == 0, "%d of 1000 clients not answered properly" % bad)
    check(r1 - r0 < 5 * 1024, "target VmRSS grew %d KiB over 1000 clients (%d -> %d)"
          % (r1 - r0, r0, r1))
    note("1000 clients in %.2fs, VmRSS %d -> %d KiB" % (took, r0, r1))
    t.healthy()


# ------------------------------------------------------------------------ life cycle

@test("exit-normal-closes-clients")
def t_exit_normal():
    d = make_dir(os.path.join(ARGS.tmp, "run-exit"), 0o700)
    t = Target("exit", d)
    try:
        t.healthy()
        c = jp.Conn(t.sock, timeout=5)
        expect_ok(c.call(jp.request("hello")))
        t.proc.send_signal(signal.SIGTERM)
        how, secs, data = c.wait_eof(5)
        c.close()
        check(how in ("eof", "reset"), "client holding a connection: %s after %.1fs when the "
              "target exited" % (how, secs))
        rc = t.proc.wait(5)
        check(rc == 0, "target exit status %s: %s" % (rc, short(t.lines()[-2:])))
        check(any(x.startswith("exit %d ok" % t.pid) for x in t.lines()),
              "target data not intact at exit: %s" % short(t.lines()[-2:]))
        check(wait_gone(t.sock, 2), "socket file left after a normal exit: %s" % t.sock)
    finally:
        t.kill()


@test("exit-kill-mid-request")
def t_exit_kill():
    d = make_dir(os.path.join(ARGS.tmp, "run-kill"), 0o700)
    t = Target("kill", d, mib=16)
    try:
        t.healthy()
        a = jp.Conn(t.sock, timeout=5)
        b = jp.Conn(t.sock, timeout=5)
        a.send(jp.request("stats", full=True))
        b.send_raw(struct.pack(">I", 200) + b'{"v":1,')  # inside a frame
        t.proc.kill()
        res = []
        for c in (a, b):
            how, secs, data = c.wait_eof(5)
            c.close()
            res.append("%s after %.1fs" % (how, secs))
            check(how in ("eof", "reset"), "client of a killed target: %s after %.1fs"
                  % (how, secs))
        t.proc.wait(5)
        check(os.path.exists(t.sock), "socket file gone after SIGKILL (expected it left)")
        e = connect_errno(t.sock)
        check(e == errno.ECONNREFUSED, "stale socket: connect gave %s, expected ECONNREFUSED"
              % (errno.errorcode.get(e, e) if e else "success"))
        note("killed mid-request: %s; stale socket refuses connections" % ", ".join(res))
        os.unlink(t.sock)
    finally:
        t.kill()


@test("fork-child-serves")
def t_fork():
    d = make_dir(os.path.join(ARGS.tmp, "run-fork"), 0o700)
    t = Target("fork", d, args=["-f"])
    child = None
    try:
        _, line = t.wait_line("forked ", 5)
        child = int(line.split()[1])
        CHILD_PIDS.append(child)
        _, line = t.wait_line("child-ready %d" % child, 5)
        t0 = time.monotonic()
        t.wait_hello(2.0, pid=child)
        note("child %d answered %.2fs after it allocated" % (child, time.monotonic() - t0))
        r = expect_ok(jp.Conn(t.sock_of(child)).call(jp.request("info")))
        check(r["pid"] == child and r["ppid"] == t.pid and r["socket"] == t.sock_of(child),
              "child info %s" % short(r))
        t.healthy()
        t.healthy(pid=child)
        # The child exits normally: its socket goes, the parent's stays.
        os.kill(child, signal.SIGTERM)
        _, line = t.wait_line("exit %d " % child, 5)
        check(" ok " in line, "child data at exit: %s" % line)
        check(wait_gone(t.sock_of(child), 3), "child's socket left after its normal exit")
        check(os.path.exists(t.sock), "the child's exit removed the parent's socket")
        t.healthy()
    finally:
        if child:
            try:
                os.kill(child, signal.SIGKILL)
            except ProcessLookupError:
                pass
        t.kill()


def wait_comm(pid, comm, timeout):
    t0 = time.monotonic()
    while time.monotonic() - t0 < timeout:
        try:
            with open("/proc/%d/comm" % pid) as f:
                if f.read().strip() == comm:
                    return
        except OSError:
            pass
        time.sleep(0.01)
    raise Fail("pid %d did not become %s" % (pid, comm))


@test("exec-closes-socket")
def t_exec():
    d = make_dir(os.path.join(ARGS.tmp, "run-exec"), 0o700)
    t = Target("exec", d, args=["-x"])
    try:
        t.healthy()
        idle = jp.Conn(t.sock, timeout=5)
        os.kill(t.pid, signal.SIGUSR2)
        wait_comm(t.pid, "sleep", 5)
        time.sleep(0.1)
        e = connect_errno(t.sock)
        check(e == errno.ECONNREFUSED or (e == errno.ENOENT),
              "after exec (without the allocator) connecting to %s gave %s, expected "
              "ECONNREFUSED" % (t.sock, errno.errorcode.get(e, e) if e else "success"))
        how, secs, _ = idle.wait_eof(3)
        idle.close()
        check(how in ("eof", "reset"), "a client connected across the exec: %s after %.1fs"
              % (how, secs))
    finally:
        t.kill()
    # The new image runs the allocator too: it replaces the old socket of its pid.
    d = make_dir(os.path.join(ARGS.tmp, "run-exec2"), 0o700)
    t = Target("exec2", d, args=["-X"])
    try:
        t.healthy()
        os.kill(t.pid, signal.SIGUSR2)
        wait_comm(t.pid, "sleep", 5)
        t0 = time.monotonic()
        while True:
            try:
                r = expect_ok(t.call(jp.request("info")))
                if r.get("comm") == "sleep":
                    break
            except (OSError, jp.ProtocolError, Fail):
                pass
            check(time.monotonic() - t0 < 3, "after exec with the allocator preloaded, the "
                  "new image does not serve %s" % t.sock)
            time.sleep(0.02)
        check(r["pid"] == t.pid, "exec'd image info %s" % short(r))
    finally:
        t.kill()


# ---------------------------------------------------------------------------- main

def main():
    global ARGS
    ap = argparse.ArgumentParser()
    ap.add_argument("--build", required=True)
    ap.add_argument("--tmp", required=True)
    ap.add_argument("--lib", required=True)
    ap.add_argument("--budget", type=float, default=120)
    ap.add_argument("--only", nargs="*")
    ARGS = ap.parse_args()
    ARGS.target = os.path.join(os.path.abspath(ARGS.build), "tests", "control", "ctl-target")
    os.makedirs(ARGS.tmp, exist_ok=True)
    os.chmod(ARGS.tmp, 0o755)
    deadline = time.monotonic() + ARGS.budget
    signal.signal(signal.SIGTERM, lambda *a: (stop_all(), sys.exit(130)))
    signal.signal(signal.SIGPIPE, signal.SIG_IGN)
    try:
        for name, fn in TESTS:
            if ARGS.only and name not in ARGS.only:
                continue
            full = "control/" + name
            if time.monotonic() > deadline:
                print("FAIL: %s: not run, the runner's %gs budget is used up"
                      % (full, ARGS.budget), flush=True)
                RESULTS["FAIL"] += 1
                continue
            t0 = time.monotonic()
            try:
                fn()
                if time.monotonic() - t0 > 1:
                    note("%s took %.1fs" % (name, time.monotonic() - t0))
                print("PASS: %s" % full, flush=True)
                RESULTS["PASS"] += 1
            except Skip as e:
                print("SKIP: %s: %s" % (full, e), flush=True)
                RESULTS["SKIP"] += 1
            except Fail as e:
                print("FAIL: %s: %s" % (full, e), flush=True)
                RESULTS["FAIL"] += 1
            except Exception as e:  # a test that breaks is a failure, with its reason
                tb = traceback.extract_tb(e.__traceback__)[-1]
                print("FAIL: %s: %s: %s (ctl_tests.py:%d)" % (full, type(e).__name__, e,
                                                             tb.lineno), flush=True)
                RESULTS["FAIL"] += 1
    finally:
        if MAIN is not None and MAIN.proc.poll() is None:
            try:
                rc = MAIN.stop()
                if rc != 0:
                    note("main target exit status %s" % rc)
            except Fail as e:
                note(str(e))
        stop_all()
    return 1 if RESULTS["FAIL"] else 0


if __name__ == "__main__":
    sys.exit(main())
