#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-2-Clause
"""Heap-profile tests (tests/prof/run.sh runs this; standard library only).

    check.py BUILD_DIR ALLOCATOR_SO TMP_DIR          run the tests, print PASS/FAIL/SKIP lines
    check.py --serve DIR MODE HEAP_FILE LOG          a fake control-socket server (below)

The workload BUILD_DIR/tests/prof/prof_sites keeps known byte totals live at three named
sites and dumps a heap_v2 profile with mallctl("prof.dump"), under the allocator given with
LD_PRELOAD and MALLOC_CONF=prof:true,lg_prof_sample:N.  The dump is read by the real
readers: jeprof --text, and `jemctl prof convert` to pprof (read back by `go tool pprof`),
folded stacks and SVG.  Totals must match the truth within sampling error: an allocation
of s bytes is sampled with probability p = 1 - exp(-s/R), so the unbiased total of n such
allocations has standard deviation s * sqrt(n (1-p) / p); the tolerance is 4 of those plus
0.1 % for rounding (about a dozen such checks run, so 3 sigma would fail a correct build in
one run of 30; 4 sigma in one of 1,300).  With lg_prof_sample:0 (R = 1) every allocation is sampled and the
totals must be exact.
"""

import math
import os
import re
import shutil
import signal
import socket
import struct
import subprocess
import sys
import xml.etree.ElementTree as ET

MIB = 1 << 20
# name: (block size, number of blocks); see prof_sites.c
SITES = {"site_big": (256 * 1024, 192), "site_mid": (4096, 3072), "site_small": (48, 65536)}
LG = 14  # 16 KiB mean sampling interval: site_small (3 MiB of 48 B) within ~7 % (1 sigma)

results = []
TAG = "prof"  # "prof/jemalloc" or "prof/liballoc": which allocator wrote the dumps


def report(name, ok, why=""):
    name = TAG + "/" + name
    if ok is None:
        print("SKIP: %s: %s" % (name, why), flush=True)
    elif ok:
        print("PASS: %s" % name, flush=True)
    else:
        print("FAIL: %s: %s" % (name, why), flush=True)
    results.append(ok)


class Fail(Exception):
    pass


def check(cond, why):
    if not cond:
        raise Fail(why)


def run(cmd, env=None, timeout=60, input=None):
    p = subprocess.run(cmd, env=env, timeout=timeout, input=input, stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE)
    return p.returncode, p.stdout, p.stderr.decode("utf-8", "replace")


def sigma(size, n, period):
    p = 1.0 - math.exp(-size / period)
    return size * math.sqrt(n * (1.0 - p) / p) if p < 1.0 else 0.0


def tolerance(site, period):
    size, n = SITES[site]
    return 4.0 * sigma(size, n, period) + 0.001 * size * n + 16


class Ctx:
    def __init__(self, build, alloc, tmp):
        self.build, self.alloc, self.tmp = build, alloc, tmp
        self.sites = os.path.join(build, "tests", "prof", "prof_sites")
        self.jemctl = os.path.join(build, "jemctl", "jemctl")
        self.goenv = dict(os.environ, HOME=os.path.join(tmp, "home"),
                          GOCACHE=os.path.join(tmp, "gocache"), GOFLAGS="-mod=mod",
                          GOTOOLCHAIN="local", GOPROXY="off", GOSUMDB="off",
                          PPROF_TMPDIR=os.path.join(tmp, "pprof"), PPROF_BINARY_PATH="")
        os.makedirs(self.goenv["HOME"], exist_ok=True)
        self.go = shutil.which("go")
        self.jeprof = shutil.which("jeprof")

    def dump(self, name, mode=None, lg=LG, extra=""):
        out = os.path.join(self.tmp, name)
        conf = "prof:true,lg_prof_sample:%d%s" % (lg, extra)
        env = dict(os.environ, LD_PRELOAD=self.alloc, MALLOC_CONF=conf)
        cmd = [self.sites, out] + ([mode] if mode else [])
        rc, _, err = run(cmd, env=env, timeout=60)
        check(rc == 0, "prof_sites (%s, MALLOC_CONF=%s) exited %d: %s" % (self.alloc, conf, rc,
                                                                       err.strip()[-300:]))
        check(os.path.exists(out), "prof_sites wrote no %s" % out)
        return out

    def convert(self, heap, fmt, out=None, extra=()):
        out = out or heap + "." + fmt
        rc, _, err = run([self.jemctl, "prof", "convert", heap, "--format", fmt, "-o", out]
                         + list(extra))
        check(rc == 0, "jemctl prof convert --format %s exited %d: %s" % (fmt, rc, err.strip()))
        return out

    def jeprof_text(self, heap, base=None):
        cmd = [self.jeprof, "--text", "--show_bytes"]
        if base:
            cmd.append("--base=" + base)
        rc, out, err = run(cmd + [self.sites, heap], timeout=120)
        check(rc == 0, "jeprof exited %d: %s" % (rc, err[-300:]))
        flat = {}
        for line in out.decode().splitlines():
            m = re.match(r"^\s*(-?\d+)\s+-?[\d.]+%\s+-?[\d.]+%\s+(-?\d+)\s+-?[\d.]+%\s+(\S.*)$", line)
            if m:
                flat[m.group(3).strip()] = int(m.group(1))
        check(flat, "no entries in jeprof --text output: %r" % out[:300])
        return flat

    def pprof_top(self, pb, index="inuse_space", base=None):
        cmd = [self.go, "tool", "pprof", "-top", "-unit=B", "-nodefraction=0",
               "-nodecount=1000", "-symbolize=none", "-sample_index=" + index]
        if base:
            cmd.append("-diff_base=" + base)
        rc, out, err = run(cmd + [pb], env=self.goenv, timeout=120)
        check(rc == 0, "go tool pprof exited %d: %s" % (rc, err[-400:]))
        flat = {}
        for line in out.decode().splitlines():
            m = re.match(r"^\s*(-?[\d.]+)B?\s+-?[\d.]+%\s+-?[\d.]+%\s+(-?[\d.]+)B?\s+-?[\d.]+%\s+(\S.*)$",
                         line)
            if m:
                flat[m.group(3).strip()] = float(m.group(1))
        check(flat, "no entries in go tool pprof -top output: %r / %s" % (out[:300], err[-300:]))
        return flat


def expect_sites(flat, period, who, top=True, only=None):
    names = only or list(SITES)
    for site in names:
        size, n = SITES[site]
        want = size * n
        got = flat.get(site)
        check(got is not None, "%s: %s is missing (entries: %s)" % (who, site, sorted(flat)[:12]))
        tol = tolerance(site, period)
        check(abs(got - want) <= tol, "%s: %s = %d bytes, expected %d +- %d" %
              (who, site, got, want, tol))
    if top:
        ranked = sorted(flat.items(), key=lambda kv: -kv[1])[:len(names)]
        check([k for k, _ in ranked] == names,
              "%s: top entries are %s, expected %s" % (who, ranked, names))


def same_totals(a, b, who):
    for site in SITES:
        x, y = a.get(site, 0), b.get(site, 0)
        check(abs(x - y) <= 0.001 * max(abs(x), 1) + 64,
              "%s: %s differs: %s vs %s" % (who, site, x, y))


# ---- the tests ---------------------------------------------------------------------------

def t_jeprof_sites(c):
    if not c.jeprof:
        return None, "jeprof not installed (tools/deps.sh installs libjemalloc-dev)"
    heap = c.dump("single.heap")
    c.flat_jeprof = c.jeprof_text(heap)
    expect_sites(c.flat_jeprof, 1 << LG, "jeprof --text")
    c.single = heap


def t_pprof_sites(c):
    if not c.go:
        return None, "go not installed (tools/deps.sh installs golang-go)"
    heap = getattr(c, "single", None) or c.dump("single.heap")
    pb = c.convert(heap, "pprof")
    with open(pb, "rb") as f:
        check(f.read(2) == b"\x1f\x8b", "the pprof output is not gzip")
    flat = c.pprof_top(pb)
    expect_sites(flat, 1 << LG, "go tool pprof -top")
    if getattr(c, "flat_jeprof", None):
        same_totals(flat, c.flat_jeprof, "pprof vs jeprof")
    c.flat_pprof = flat
    c.single_pb = pb


def t_exact_lg0(c):
    """R = 1: every allocation sampled, totals exact in every reader."""
    heap = c.dump("exact.heap", lg=0)
    with open(heap) as f:
        check(f.readline().strip() == "heap_v2/1", "lg_prof_sample:0 dump does not say heap_v2/1")
    folded = folded_totals(c.convert(heap, "folded"))
    for site, (size, n) in SITES.items():
        check(folded.get(site) == size * n, "folded: %s = %s, exact total is %d" %
              (site, folded.get(site), size * n))
    if c.jeprof:
        flat = c.jeprof_text(heap)
        for site, (size, n) in SITES.items():
            check(flat.get(site) == size * n, "jeprof: %s = %s, exact total is %d" %
                  (site, flat.get(site), size * n))
    if c.go:
        flat = c.pprof_top(c.convert(heap, "pprof"))
        flat_obj = c.pprof_top(heap + ".pprof", index="inuse_objects")
        for site, (size, n) in SITES.items():
            check(flat.get(site) == size * n, "pprof: %s = %s bytes, exact total is %d" %
                  (site, flat.get(site), size * n))
            check(flat_obj.get(site) == n, "pprof: %s = %s objects, exact count is %d" %
                  (site, flat_obj.get(site), n))


def t_threads_accum(c):
    """Each site on its own thread, prof_accum: alloc_space equals inuse_space (nothing
    is freed) and the per-thread lines parse."""
    heap = c.dump("threads.heap", mode="threads", extra=",prof_accum:true")
    with open(heap) as f:
        text = f.read()
    busy = re.findall(r"^  t\d+: [1-9]\d*: ", text.split("\n@", 1)[0], re.M)
    check(len(busy) >= 3, "expected a thread line with samples for each of the 3 workers in "
          "the header, got %d" % len(busy))
    if c.jeprof:
        expect_sites(c.jeprof_text(heap), 1 << LG, "jeprof (threads)")
    if c.go:
        pb = c.convert(heap, "pprof")
        inuse = c.pprof_top(pb)
        alloc = c.pprof_top(pb, index="alloc_space")
        expect_sites(inuse, 1 << LG, "pprof inuse_space (threads)")
        same_totals(inuse, alloc, "inuse_space vs alloc_space")
    # The sites ran on their own threads: their stacks reach run_site, never main.
    with open(c.convert(heap, "folded")) as f:
        for line in f:
            frames = line.rsplit(" ", 1)[0].split(";")
            if frames[-1] in SITES:
                check("run_site" in frames and "main" not in frames,
                      "a thread's stack should start at run_site, not main: %s" % line.strip())


def folded_totals(path):
    leaf = {}
    with open(path) as f:
        for n, line in enumerate(f, 1):
            m = re.match(r"^(\S.*) (\d+)$", line.rstrip("\n"))
            check(m, "folded line %d is not 'stack bytes': %r" % (n, line))
            frames = m.group(1).split(";")
            check(all(frames), "folded line %d has an empty frame" % n)
            leaf[frames[-1]] = leaf.get(frames[-1], 0) + int(m.group(2))
    return leaf


def t_folded(c):
    heap = getattr(c, "single", None) or c.dump("single.heap")
    path = c.convert(heap, "folded")
    leaf = folded_totals(path)
    expect_sites(leaf, 1 << LG, "folded", top=False)
    with open(path) as f:
        text = f.read()
    for site in SITES:
        check(re.search(r"(^|;)main;run_site;%s \d+$" % site, text, re.M),
              "folded: no stack ...;main;run_site;%s (root first)" % site)
    check("malloc" not in text.replace("alloc_index", ""),
          "folded: allocator frames were not trimmed")
    if getattr(c, "flat_pprof", None):
        same_totals(leaf, c.flat_pprof, "folded vs pprof")


def t_svg(c):
    heap = getattr(c, "single", None) or c.dump("single.heap")
    path = c.convert(heap, "svg")
    try:
        root = ET.parse(path).getroot()
    except ET.ParseError as e:
        raise Fail("the SVG is not well-formed XML: %s" % e)
    ns = "{http://www.w3.org/2000/svg}"
    check(root.tag == ns + "svg", "root element is %s" % root.tag)
    for bad in ("script", "image", "foreignObject"):
        check(not list(root.iter(ns + bad)), "the SVG has a <%s>" % bad)
    check("href" not in open(path).read(), "the SVG refers to something outside it")
    width = {}
    for g in root.iter(ns + "g"):
        title, rect = g.find(ns + "title"), g.find(ns + "rect")
        if title is None or rect is None:
            continue
        name = title.text.rsplit(" (", 1)[0]
        width[name] = max(width.get(name, 0), float(rect.get("width")))
    for site in SITES:
        check(site in width, "no box titled %s (titles: %s)" % (site, sorted(width)[:15]))
    check(width["site_big"] > width["site_mid"] > width["site_small"] > 0,
          "box widths not ordered by bytes: %s" % {s: width[s] for s in SITES})
    full = width["all"]
    share = width["site_big"] / full
    check(abs(share - 48.0 / 63.5) < 0.05, "site_big's box is %.3f of the width" % share)


def t_base_diff(c):
    """Dump after site_mid, then after all three: the difference has big and small only."""
    first = c.dump("base.heap", mode="base")
    second = first + ".2"
    check(os.path.exists(second), "no second dump")
    mid = SITES["site_mid"][0] * SITES["site_mid"][1]
    if c.jeprof:
        flat = c.jeprof_text(second, base=first)
        expect_sites(flat, 1 << LG, "jeprof --base", top=False, only=["site_big", "site_small"])
        check(abs(flat.get("site_mid", 0)) <= 0.001 * mid,
              "jeprof --base: site_mid should cancel, got %s" % flat.get("site_mid"))
    if c.go:
        a, b = c.convert(first, "pprof"), c.convert(second, "pprof")
        flat = c.pprof_top(b, base=a)
        expect_sites(flat, 1 << LG, "pprof -diff_base", top=False,
                     only=["site_big", "site_small"])
        check(abs(flat.get("site_mid", 0)) <= 0.001 * mid,
              "pprof -diff_base: site_mid should cancel, got %s" % flat.get("site_mid"))


def t_cxx(c):
    """C++: operator new[] frames are cut and the method shows demangled (8 MiB in 8 KiB
    blocks from app::Cache::fill)."""
    exe = os.path.join(c.build, "tests", "prof", "prof_cxx")
    out = os.path.join(c.tmp, "cxx.heap")
    env = dict(os.environ, LD_PRELOAD=c.alloc, MALLOC_CONF="prof:true,lg_prof_sample:%d" % LG)
    rc, _, err = run([exe, out], env=env)
    check(rc == 0, "prof_cxx exited %d: %s" % (rc, err.strip()[-300:]))
    folded = c.convert(out, "folded")
    leaf = folded_totals(folded)
    name = "app::Cache::fill(int)"
    want, tol = 8 * MIB, 4 * sigma(8192, 1024, 1 << LG) + 0.001 * 8 * MIB
    check(abs(leaf.get(name, 0) - want) <= tol, "folded: %s = %s, expected %d +- %d (leaves %s)" %
          (name, leaf.get(name), want, tol, sorted(leaf)[:10]))
    text = open(folded).read()
    check("operator new" not in text and "_Zna" not in text and "_Znw" not in text,
          "operator new frames were not cut")
    check("main;app::Cache::fill(int) " in text, "no stack main;app::Cache::fill(int)")
    if c.go:
        pb = c.convert(out, "pprof")
        flat = c.pprof_top(pb)
        check(abs(flat.get(name, 0) - want) <= tol, "pprof: %s = %s" % (name, flat.get(name)))


MALFORMED = {
    "empty": b"",
    "not-heap": b"hello world\n",
    "zero-period": b"heap_v2/0\n  t*: 0: 0 [0: 0]\n",
    "header-only": b"heap_v2/524288\n",
    "no-newline": b"heap_v2/524288\n  t*: 1: 2 [0: 0]",
    "bad-count": b"heap_v2/524288\n  t*: x: 1 [0: 0]\n",
    "stack-no-total": b"heap_v2/524288\n  t*: 1: 8 [0: 0]\n  t0: 1: 8 [0: 0]\n@ 0x1 0x2\n",
    "bad-address": b"heap_v2/524288\n  t*: 1: 8 [0: 0]\n@ 0x1 0xZZ\n  t*: 1: 8 [0: 0]\n",
    "name-on-stack-count": b"heap_v2/1\n  t*: 1: 8 [0: 0]\n@ 0x1\n  t*: 1: 8 [0: 0] x\n",
    "overflow": b"heap_v2/1\n  t*: 99999999999999999999999: 8 [0: 0]\n",
    "bad-maps": b"heap_v2/1\n  t*: 1: 8 [0: 0]\n@ 0x1\n  t*: 1: 8 [0: 0]\n\n"
                b"MAPPED_LIBRARIES:\nnot a maps line\n",
    "binary": bytes(range(256)) * 4,
}


def t_malformed(c):
    for name, data in MALFORMED.items():
        path = os.path.join(c.tmp, "bad-%s.heap" % name)
        with open(path, "wb") as f:
            f.write(data)
        out = path + ".out"
        rc, _, err = run([c.jemctl, "prof", "convert", path, "--format", "folded", "-o", out])
        check(rc == 1, "%s: exit %d, expected 1 (stderr %r)" % (name, rc, err))
        check("not a valid heap profile" in err and re.search(r"line \d+", err),
              "%s: unclear error: %r" % (name, err))
        check(err.count("\n") == 1, "%s: expected one error line: %r" % (name, err))
        check(not os.path.exists(out), "%s: an output file was written" % name)
    # A real dump cut in the middle of a line, and one cut after a stack line.
    src = getattr(c, "single", None) or c.dump("single.heap")
    with open(src, "rb") as f:
        text = f.read()
    # (in the middle of the first stack line: a cut inside MAPPED_LIBRARIES, which a
    # reader cannot tell from a short maps file, would not be an error)
    first = text.index(b"\n@ ") + 1
    cuts = {"cut-mid-line": text[:first + (text.index(b"\n", first) - first) // 2],
            "cut-after-stack": text[:text.index(b"\n", text.index(b"\n@ ") + 1) + 1]}
    for name, data in cuts.items():
        path = os.path.join(c.tmp, "bad-%s.heap" % name)
        with open(path, "wb") as f:
            f.write(data)
        rc, _, err = run([c.jemctl, "prof", "convert", path, "--format", "folded"])
        check(rc == 1 and "line" in err, "%s: exit %d: %r" % (name, rc, err))


def t_convert_errors(c):
    heap = getattr(c, "single", None) or c.dump("single.heap")
    cases = [
        ([os.path.join(c.tmp, "missing.heap")], 1, "No such file"),
        ([c.tmp], 1, "not a regular file"),
        ([heap, "--format", "heap"], 2, "input format"),
        ([heap, "--format", "png"], 2, "is not heap, pprof, folded or svg"),
        ([heap, "-o", os.path.join(c.tmp, "no-such-dir", "x.pb.gz")], 1, "temporary file"),
        ([heap, "--lg-sample", "3"], 2, "--lg-sample"),
        ([], 2, "convert needs one file"),
    ]
    for args, want_rc, want in cases:
        rc, _, err = run([c.jemctl, "prof", "convert"] + args)
        check(rc == want_rc and want in err,
              "jemctl prof convert %s: exit %d (want %d), stderr %r" % (args, rc, want_rc, err))


def t_atomic_output(c):
    heap = getattr(c, "single", None) or c.dump("single.heap")
    d = os.path.join(c.tmp, "out")
    os.makedirs(d, exist_ok=True)
    target = os.path.join(d, "profile.pb.gz")
    with open(target, "w") as f:
        f.write("old contents\n")
    c.convert(heap, "pprof", out=target)
    with open(target, "rb") as f:
        check(f.read(2) == b"\x1f\x8b", "the existing file was not replaced")
    check(oct(os.stat(target).st_mode & 0o777) in ("0o644", "0o640", "0o600", "0o664"),
          "mode %o" % os.stat(target).st_mode)
    victim = os.path.join(d, "victim")
    with open(victim, "w") as f:
        f.write("keep me\n")
    link = os.path.join(d, "link.folded")
    if os.path.lexists(link):
        os.unlink(link)
    os.symlink(victim, link)
    c.convert(heap, "folded", out=link)
    check(not os.path.islink(link), "-o through a symlink: the link is still there")
    with open(victim) as f:
        check(f.read() == "keep me\n", "-o wrote through a symlink into its target")
    left = [n for n in os.listdir(d) if n.endswith(".tmp")]
    check(not left, "temporary files left behind: %s" % left)


# ---- the live path against a fake server ---------------------------------------------------

def serve(sockdir, mode, heap_file, log):
    """A stand-in for liballoc's control thread: answers prof requests on <pid>.sock as the
    contract in docs/protocol.md says; mode picks a misbehaviour for dump."""
    import fcntl
    import json
    path = os.path.join(sockdir, "%d.sock" % os.getpid())
    srv = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    srv.bind(path)
    srv.listen(4)
    print("READY", flush=True)
    signal.alarm(60)
    with open(heap_file, "rb") as f:
        heap = f.read()
    while True:
        conn, _ = srv.accept()
        hdr = conn.recv(4, socket.MSG_WAITALL)
        if len(hdr) < 4:
            conn.close()
            continue
        (n,) = struct.unpack(">I", hdr)
        req = json.loads(conn.recv(n, socket.MSG_WAITALL))
        with open(log, "a") as f:
            f.write(json.dumps(req) + "\n")
        action = req.get("action")
        fds = []
        if action == "dump":
            fd = os.memfd_create("prof", os.MFD_ALLOW_SEALING | os.MFD_CLOEXEC)
            os.write(fd, heap)
            if mode != "unsealed":
                fcntl.fcntl(fd, fcntl.F_ADD_SEALS,
                            fcntl.F_SEAL_WRITE | fcntl.F_SEAL_SHRINK | fcntl.F_SEAL_GROW)
            size = len(heap) + (100 if mode == "wrong-size" else 0)
            result = {"format": "heap_v2", "bytes": size, "fd": True}
            fds = [] if mode == "nofd" else [fd]
        else:
            result = {"active": action in ("on", "reset"), "was_active": False,
                      "lg_sample": req.get("lg_sample", 19), "samples": 3,
                      "sampled_bytes": 3 << 19}
        body = json.dumps({"v": 1, "id": req.get("id"), "ok": True, "result": result}).encode()
        frame = struct.pack(">I", len(body)) + body
        if fds:
            socket.send_fds(conn, [frame], fds)
        else:
            conn.sendall(frame)
        for fd in fds:
            os.close(fd)
        conn.close()


def t_live_fake_server(c):
    heap = getattr(c, "single", None) or c.dump("single.heap")
    sockdir = os.path.join(c.tmp, "run")
    os.makedirs(sockdir, mode=0o700, exist_ok=True)
    procs = {}
    try:
        for mode in ("good", "nofd", "unsealed", "wrong-size"):
            log = os.path.join(c.tmp, "fake-%s.log" % mode)
            p = subprocess.Popen([sys.executable, os.path.abspath(__file__), "--serve", sockdir,
                                  mode, heap, log], stdout=subprocess.PIPE)
            check(p.stdout.readline().strip() == b"READY", "the fake server did not start")
            procs[mode] = (p, log)
        jc = [c.jemctl, "--runtime-dir", sockdir, "prof"]
        pid = str(procs["good"][0].pid)
        out = os.path.join(c.tmp, "live.heap")
        rc, stdout, err = run(jc + [pid, "dump", "-o", out])
        check(rc == 0, "dump -o: exit %d: %s" % (rc, err))
        with open(out, "rb") as f, open(heap, "rb") as g:
            check(f.read() == g.read(), "dump -o: the file differs from the profile sent")
        rc, stdout, err = run(jc + [pid, "dump"])
        with open(heap, "rb") as g:
            check(rc == 0 and stdout == g.read(), "dump to stdout: exit %d %s" % (rc, err))
        rc, stdout, err = run(jc + [pid, "dump", "--format", "folded"])
        check(rc == 0 and b"main;run_site;site_big " in stdout,
              "dump --format folded: exit %d, %s %r" % (rc, err, stdout[:200]))
        rc, stdout, err = run(jc + [pid, "on", "--lg-sample", "12"])
        check(rc == 0 and b"heap profiling on" in stdout and b"lg_sample 12" in stdout,
              "on --lg-sample 12: exit %d %s %r" % (rc, err, stdout))
        rc, stdout, err = run([c.jemctl, "--json", "--runtime-dir", sockdir, "prof", pid,
                               "status"])
        check(rc == 0 and b'"active": false' in stdout, "--json status: %s %r" % (err, stdout))
        with open(procs["good"][1]) as f:
            reqs = [__import__("json").loads(l) for l in f]
        check([r["action"] for r in reqs] == ["dump", "dump", "dump", "on", "status"],
              "requests seen: %s" % reqs)
        check(reqs[3].get("lg_sample") == 12 and "lg_sample" not in reqs[4] and
              all(r.get("op") == "prof" and r.get("v") == 1 for r in reqs),
              "request members: %s" % reqs)
        for mode, want in (("nofd", "without the profile's file descriptor"),
                           ("unsealed", "not sealed"), ("wrong-size", "the answer says")):
            rc, _, err = run(jc + [str(procs[mode][0].pid), "dump", "-o",
                                   os.path.join(c.tmp, "x-%s.heap" % mode)])
            check(rc == 1 and want in err, "%s: exit %d: %r" % (mode, rc, err))
            check(not os.path.exists(os.path.join(c.tmp, "x-%s.heap" % mode)),
                  "%s: a file was written" % mode)
        rc, _, err = run(jc + [pid, "on", "-o", "x"])
        check(rc == 2, "on -o: exit %d" % rc)
        rc, _, err = run(jc + [pid, "dump", "--format", "pprof"])
        check(rc == 0 or "terminal" in err, "dump --format pprof to a pipe: exit %d %s" % (rc, err))
    finally:
        for p, _ in procs.values():
            p.kill()
            p.wait()


def t_live_allocator(c):
    """The real thing: a live process under liballoc, profiled through its control socket
    (status, dump in every format, off), totals checked as for the file dumps."""
    if not os.path.basename(c.alloc).startswith("liballoc"):
        return None, "needs liballoc's control socket (allocator: %s)" % c.alloc
    rt = os.path.join(c.tmp, "rt")
    os.makedirs(rt, mode=0o700, exist_ok=True)
    env = dict(os.environ, LD_PRELOAD=c.alloc, JEMCTL_RUNTIME_DIR=rt,
               MALLOC_CONF="prof:true,lg_prof_sample:%d" % LG)
    p = subprocess.Popen([c.sites, os.path.join(c.tmp, "unused.heap"), "wait"], env=env,
                         stdin=subprocess.PIPE, stdout=subprocess.PIPE)
    try:
        line = p.stdout.readline().split()
        check(len(line) == 2 and line[0] == b"ready", "prof_sites wait: %r" % line)
        pid = line[1].decode()
        jc = [c.jemctl, "--runtime-dir", rt, "prof", pid]
        rc, out, err = run(jc + ["status"])
        check(rc == 0 and b"heap profiling on" in out, "status: exit %d %s %r" % (rc, err, out))
        heap = os.path.join(c.tmp, "live-real.heap")
        rc, out, err = run(jc + ["dump", "-o", heap])
        check(rc == 0 and os.path.getsize(heap) > 0, "dump -o: exit %d %s" % (rc, err))
        if c.jeprof:
            expect_sites(c.jeprof_text(heap), 1 << LG, "jeprof (live dump)")
        folded = os.path.join(c.tmp, "live-real.folded")
        rc, out, err = run(jc + ["dump", "--format", "folded", "-o", folded])
        check(rc == 0, "dump --format folded: exit %d %s" % (rc, err))
        expect_sites(folded_totals(folded), 1 << LG, "folded (live dump)", top=False)
        if c.go:
            pb = os.path.join(c.tmp, "live-real.pb.gz")
            rc, out, err = run(jc + ["dump", "--format", "pprof", "-o", pb])
            check(rc == 0, "dump --format pprof: exit %d %s" % (rc, err))
            expect_sites(c.pprof_top(pb), 1 << LG, "pprof (live dump)")
        rc, out, err = run(jc + ["off"])
        check(rc == 0 and b"heap profiling off (was on)" in out, "off: exit %d %s %r" %
              (rc, err, out))
    finally:
        p.stdin.close()
        try:
            p.wait(timeout=10)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait()


TESTS = [("jeprof-sites", t_jeprof_sites), ("pprof-sites", t_pprof_sites),
         ("exact-lg0", t_exact_lg0), ("threads-accum", t_threads_accum), ("folded", t_folded),
         ("svg", t_svg), ("cxx", t_cxx), ("base-diff", t_base_diff), ("malformed", t_malformed),
         ("convert-errors", t_convert_errors), ("atomic-output", t_atomic_output),
         ("live-fake-server", t_live_fake_server), ("live-allocator", t_live_allocator)]


def main():
    if len(sys.argv) == 6 and sys.argv[1] == "--serve":
        serve(*sys.argv[2:])
        return 0
    if len(sys.argv) != 4:
        print(__doc__, file=sys.stderr)
        return 2
    c = Ctx(*sys.argv[1:])
    global TAG
    base = os.path.basename(c.alloc)
    TAG = "prof/" + ("liballoc" if base.startswith("liballoc") else
                     "jemalloc" if base.startswith("libjemalloc") else base)
    for exe in (c.sites, c.jemctl):
        if not os.access(exe, os.X_OK):
            report("build", False, "%s was not built" % exe)
            return 1
    only = os.environ.get("PROF_TESTS", "").split()
    for name, fn in TESTS:
        if only and name not in only:
            continue
        try:
            r = fn(c)
            if isinstance(r, tuple):
                report(name, None, r[1])
            else:
                report(name, True)
        except Fail as e:
            report(name, False, str(e))
        except subprocess.TimeoutExpired as e:
            report(name, False, "timed out: %s" % e.cmd[0])
        except (OSError, ValueError, KeyError, IndexError) as e:
            report(name, False, "%s: %s" % (type(e).__name__, e))
    return 1 if False in results else 0


if __name__ == "__main__":
    sys.exit(main())
