#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-2-Clause
# tests/bench/run.py: the benchmark runner.  Runs every workload of tests/bench/ under
# each allocator (LD_PRELOAD; glibc = no preload), interleaved (every round runs each
# allocator once, in an order rotated per round), measures wall time and peak RSS of each
# run (os.wait4 rusage), and prints medians with ratios against jemalloc and mimalloc,
# geometric means of those ratios, and the RSS the grow-free workload leaves behind.
# Python 3 standard library only.  See docs/benchmarks-howto.md.
"""Benchmark liballoc against glibc, jemalloc, mimalloc and tcmalloc.

Build first (meson setup build && ninja -C build), then run from anywhere:
    python3 tests/bench/run.py [--quick] [--runs N] [--threads N] [--only w1,w2]
                               [--alloc a,b] [--markdown FILE] [--json FILE]
Exit status: 0 if every run passed, 1 if any run failed (shown as FAIL), 2 on usage
errors or when the workloads are not built.
"""

import argparse
import datetime
import json
import math
import os
import platform
import re
import select
import signal
import statistics
import sys
import tempfile
import time

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
LIBDIR = "/usr/lib/x86_64-linux-gnu"


class Workload:
        """A row of the table: build/tests/bench/bench-PROG run with ARGS (PROG defaults to
        the name; two rows may share one program with different fixed arguments)."""

        def __init__(self, name, threaded, models, prog=None, args=()):
                self.name = name
                self.threaded = threaded
                self.models = models
                self.prog = prog or name
                self.args = list(args)


WORKLOADS = [
        Workload("small-churn", False,
                 "1 thread, 16-256 B malloc/free, LIFO bursts then random order"),
        Workload("mixed-sizes", True,
                 "per-thread pools, 8 B-1 MiB log-uniform (mostly small), pages touched"),
        Workload("larson", True,
                 "server: threads replace random slots, slot arrays rotate between threads"),
        Workload("prodcons", True,
                 "producer/consumer pairs: every free is a cross-thread free"),
        Workload("false-sharing", True,
                 "cache-scratch: threads write small objects hard"),
        Workload("realloc-growth", False,
                 "strings/vectors grown by realloc from 1 B to MiBs, then shrunk"),
        Workload("short-threads", True,
                 "thousands of short threads, a few hundred allocations each"),
        Workload("big-blocks", False,
                 "1-64 MiB blocks, every page touched, 4 alive"),
        Workload("grow-free", False,
                 "allocate 512 MiB small/medium, free 90 % randomly, RSS left behind"),
]

# --suite classic: our own programs modelled on the classic peer benchmarks (cache-scratch,
# xmalloc-test, malloc-large, glibc's malloc-simple/-thread, mstress, rptest, alloc-test,
# mleak, cfrac, espresso, barnes-hut); none of their code, see docs/benchmarks-howto.md.
CLASSIC = [
        Workload("classic-cache-scratch", True,
                 "passive false sharing: workers free objects main allocated, reuse them"),
        Workload("classic-cache-thrash", True,
                 "active false sharing: each thread's own 8 B objects written hard"),
        Workload("classic-xmalloc", True,
                 "xmalloc-test: T producers malloc batches, T consumers free them"),
        Workload("classic-malloc-large", False,
                 "malloc-large: 5-25 MiB blocks, 20 alive, first quarter touched"),
        Workload("classic-malloc-simple", False,
                 "glibc malloc-simple: fixed sizes 16 B-4 KiB, allocate N then free N",
                 args=["-t", "1"]),
        Workload("classic-malloc-thread", True,
                 "glibc malloc-thread: the malloc-simple loops in every thread",
                 prog="classic-malloc-simple"),
        Workload("classic-mstress", True,
                 "mstress: mixed sizes, realloc, long-lived set, cross-thread swaps"),
        Workload("classic-rptest", True,
                 "rptest: 8 B-16 KiB random lifetimes, objects passed round a ring"),
        Workload("classic-alloc-test1", False,
                 "alloc-test, 1 thread: random alloc/free over 8,192 slots",
                 prog="classic-alloc-test", args=["-t", "1"]),
        Workload("classic-alloc-testN", True,
                 "alloc-test, T threads: the same in every thread",
                 prog="classic-alloc-test"),
        Workload("classic-mleak", False,
                 "mleak: churn with a slow leak (rss_growth_kib against leaked_kib)"),
        Workload("classic-cfrac", False,
                 "cfrac-like: 1-12 limb bignums, every operation allocates its result"),
        Workload("classic-espresso", False,
                 "espresso-like: families of small bit-vector cubes, freed shuffled"),
        Workload("classic-barnes", False,
                 "barnes-hut-like: a quadtree of nodes built and freed wholesale per step"),
]
SUITES = {"default": WORKLOADS, "classic": CLASSIC, "all": WORKLOADS + CLASSIC}
WORKLOAD_BY_NAME = {w.name: w for w in WORKLOADS + CLASSIC}

# Allocator name -> library to preload (None: the C library's own malloc).
ALLOCATOR_NAMES = ["liballoc", "glibc", "jemalloc", "mimalloc", "tcmalloc"]
BASELINES = ["jemalloc", "mimalloc"]


def allocator_paths(args):
        return {
                "liballoc": args.liballoc or os.environ.get("LIBALLOC") or
                os.path.join(args.build, "liballoc", "liballoc.so"),
                "glibc": None,
                "jemalloc": os.environ.get("JEMALLOC") or
                os.path.join(LIBDIR, "libjemalloc.so.2"),
                "mimalloc": os.environ.get("MIMALLOC") or
                os.path.join(LIBDIR, "libmimalloc.so.2"),
                "tcmalloc": os.environ.get("TCMALLOC") or
                os.path.join(LIBDIR, "libtcmalloc_minimal.so.4"),
                # --base: another liballoc build (e.g. the previous commit), compared
                # with this one in the same interleaved run
                "base": args.base,
        }


class Run:
        """One execution of one workload under one allocator."""

        def __init__(self):
                self.wall = 0.0
                self.maxrss_kib = 0
                self.user = 0.0
                self.sys = 0.0
                self.ok = False
                self.reason = ""
                self.fields = {}
                self.stderr_tail = ""

        def as_dict(self):
                return {"wall_s": self.wall, "maxrss_kib": self.maxrss_kib,
                        "user_s": self.user, "sys_s": self.sys, "ok": self.ok,
                        "reason": self.reason, "fields": self.fields}


def signal_name(num):
        try:
                return signal.Signals(num).name
        except ValueError:
                return "signal %d" % num


# A process's peak RSS (ru_maxrss) survives exec(), and a child forked or vforked by this
# Python process starts with Python's resident pages, so a workload spawned directly
# would report at least Python's ~16 MiB.  Instead, this process becomes a child
# subreaper, a small /bin/sh starts the workload in the background (the workload's peak
# then starts from the shell's ~1 MiB), prints its pid on fd 3 and exits; the orphaned
# workload is re-parented here and reaped with os.wait4, whose rusage is its own.
LAUNCHER = r'''lib=$1; shift
if [ -n "$lib" ]; then LD_PRELOAD=$lib "$@" 3>&- & else "$@" 3>&- & fi
echo $! >&3
'''
PR_SET_CHILD_SUBREAPER = 36


def become_subreaper():
        """Return True if this process now adopts orphaned descendants."""
        try:
                import ctypes
                libc = ctypes.CDLL(None, use_errno=True)
                return libc.prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) == 0
        except (OSError, AttributeError, ImportError):
                return False


def spawn(argv, lib, env, actions, via_shell):
        """Start argv with LD_PRELOAD=lib (None: no preload); return its pid."""
        env = dict(env)
        env.pop("LD_PRELOAD", None)
        if not via_shell:
                if lib:
                        env["LD_PRELOAD"] = lib
                return os.posix_spawn(argv[0], argv, env, file_actions=actions)
        rfd, wfd = os.pipe()
        try:
                sh = os.posix_spawn("/bin/sh", ["sh", "-c", LAUNCHER, "sh", lib or ""] + argv,
                                    env, file_actions=actions + [(os.POSIX_SPAWN_DUP2, wfd, 3)])
        finally:
                os.close(wfd)
        data = b""
        try:
                while True:
                        chunk = os.read(rfd, 64)
                        if not chunk:
                                break
                        data += chunk
        finally:
                os.close(rfd)
        _, status = os.waitpid(sh, 0)   # the workload is re-parented to us before this returns
        if not data.strip().isdigit():
                raise RuntimeError("launcher shell failed (status %d)" % status)
        return int(data.strip())


def run_once(name, argv, lib, env, timeout, scratch, via_shell):
        """Run argv once under lib, wait with os.wait4, return a Run."""
        out_path = os.path.join(scratch, "stdout")
        err_path = os.path.join(scratch, "stderr")
        actions = [
                (os.POSIX_SPAWN_OPEN, 0, "/dev/null", os.O_RDONLY, 0),
                (os.POSIX_SPAWN_OPEN, 1, out_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC,
                 0o644),
                (os.POSIX_SPAWN_OPEN, 2, err_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC,
                 0o644),
        ]
        r = Run()
        timed_out = False
        t0 = time.perf_counter()
        pid = spawn(argv, lib, env, actions, via_shell)
        pidfd = None
        try:
                pidfd = os.pidfd_open(pid)
        except (AttributeError, OSError):
                pidfd = None        # no timeout possible; wait4 below still works
        if pidfd is not None:
                try:
                        poller = select.poll()
                        poller.register(pidfd, select.POLLIN)
                        if not poller.poll(int(timeout * 1000)):
                                os.kill(pid, signal.SIGKILL)   # not reaped yet: pid is ours
                                timed_out = True
                finally:
                        os.close(pidfd)
        _, status, ru = os.wait4(pid, 0)
        r.wall = time.perf_counter() - t0
        r.maxrss_kib = ru.ru_maxrss
        r.user = ru.ru_utime
        r.sys = ru.ru_stime
        with open(out_path, errors="replace") as f:
                out = f.read()
        with open(err_path, errors="replace") as f:
                err = f.read()
        r.stderr_tail = "\n".join(err.strip().splitlines()[-5:])
        m = re.search(r"^%s: ok (.*)$" % re.escape(name), out, re.M)
        if timed_out:
                r.reason = "timeout after %gs" % timeout
        elif os.WIFSIGNALED(status):
                r.reason = signal_name(os.WTERMSIG(status))
        elif os.WEXITSTATUS(status) != 0:
                r.reason = "exit %d" % os.WEXITSTATUS(status)
        elif "cannot be preloaded" in err:
                r.reason = "preload failed"
        elif m is None:
                r.reason = "no ok line"
        else:
                r.ok = True
                r.fields = dict(kv.split("=", 1) for kv in m.group(1).split() if "=" in kv)
        return r


class Cell:
        """All runs of one workload under one allocator, summarised."""

        def __init__(self, runs):
                self.runs = runs
                bad = [r for r in runs if not r.ok]
                self.ok = bool(runs) and not bad
                self.reason = bad[0].reason if bad else ""
                self.failed = len(bad)
                self.stderr_tail = bad[0].stderr_tail if bad else ""
                if self.ok:
                        walls = [r.wall for r in runs]
                        self.time = statistics.median(walls)
                        self.spread = (max(walls) - min(walls)) / self.time if self.time else 0
                        self.rss_kib = statistics.median(r.maxrss_kib for r in runs)
                        left = [int(r.fields["rss_left_kib"]) for r in runs
                                if "rss_left_kib" in r.fields]
                        self.rss_left_kib = statistics.median(left) if left else None


def ratio(a, b):
        if a is None or b is None or b == 0:
                return None
        return a / b


def geomean(values):
        values = [v for v in values if v is not None and v > 0]
        if not values:
                return None
        return math.exp(sum(math.log(v) for v in values) / len(values))


def fmt_ratio(v):
        return "-" if v is None else "%.2f" % v


def machine_info():
        model = "unknown CPU"
        try:
                with open("/proc/cpuinfo") as f:
                        for line in f:
                                if line.startswith("model name"):
                                        model = line.split(":", 1)[1].strip()
                                        break
        except OSError:
                pass
        libc = " ".join(platform.libc_ver())
        return "%s, %d CPUs, Linux %s, %s" % (model, os.cpu_count() or 0, platform.release(),
                                              libc)


def build_tables(workloads, allocs, cells):
        """Return (rows, geo_rows, left_rows) of plain strings, shared by both outputs."""
        header = ["workload", "allocator", "time s", "spread", "peak RSS MiB"]
        for b in BASELINES:
                header.append("time/" + b[:2])
        for b in BASELINES:
                header.append("RSS/" + b[:2])
        rows = [header]
        keys = ["t_" + b for b in BASELINES] + ["r_" + b for b in BASELINES]
        per_alloc = {a: {k: [] for k in keys} for a in allocs}
        for w in workloads:
                first = True
                for a in allocs:
                        c = cells[(w.name, a)]
                        name = w.name if first else ""
                        first = False
                        if not c.ok:
                                rows.append([name, a, "FAIL", "(%s, %d/%d runs)" %
                                             (c.reason, c.failed, len(c.runs))])
                                continue
                        row = [name, a, "%.3f" % c.time, "%.0f%%" % (100 * c.spread),
                               "%.1f" % (c.rss_kib / 1024)]
                        tr, rr = [], []
                        for b in BASELINES:
                                bc = cells.get((w.name, b))
                                bok = bc is not None and bc.ok
                                tr.append(ratio(c.time, bc.time) if bok else None)
                                rr.append(ratio(c.rss_kib, bc.rss_kib) if bok else None)
                        row += [fmt_ratio(v) for v in tr + rr]
                        rows.append(row)
                        for key, v in zip(keys, tr + rr):
                                if v is not None:
                                        per_alloc[a][key].append(v)
        geo = [["allocator"] + ["time/" + b[:2] for b in BASELINES] +
               ["RSS/" + b[:2] for b in BASELINES] + ["workloads"]]
        for a in allocs:
                d = per_alloc[a]
                counted = max(len(v) for v in d.values())
                geo.append([a] + [fmt_ratio(geomean(d[k])) for k in keys] +
                           ["%d of %d" % (counted, len(workloads))])
        left = None
        if any(w.name == "grow-free" for w in workloads):
                left = [["allocator", "RSS left MiB", "of peak"] +
                        ["left/" + b[:2] for b in BASELINES]]
                for a in allocs:
                        c = cells[("grow-free", a)]
                        if not c.ok or c.rss_left_kib is None:
                                left.append([a, "FAIL" if not c.ok else "-", ""] +
                                            [""] * len(BASELINES))
                                continue
                        row = [a, "%.1f" % (c.rss_left_kib / 1024),
                               "%.0f%%" % (100 * c.rss_left_kib / c.rss_kib)]
                        for b in BASELINES:
                                bc = cells.get(("grow-free", b))
                                ok = bc is not None and bc.ok and bc.rss_left_kib
                                row.append(fmt_ratio(ratio(c.rss_left_kib, bc.rss_left_kib)
                                                     if ok else None))
                        left.append(row)
        return rows, geo, left


def text_table(rows, text_cols):
        """Align rows under rows[0]; the first text_cols columns are left-aligned.
        A row shorter than the header (a FAIL row) is laid out only up to its short
        part and does not widen the columns."""
        ncol = len(rows[0])
        widths = [0] * ncol
        for r in rows:
                for i, v in enumerate(r):
                        if len(r) == ncol or i < len(r) - 1:
                                widths[i] = max(widths[i], len(v))
        out = []
        for r in rows:
                cells = []
                for i, v in enumerate(r):
                        if len(r) < ncol and i == len(r) - 1:
                                cells.append(v)
                        elif i < text_cols:
                                cells.append(v.ljust(widths[i]))
                        else:
                                cells.append(v.rjust(widths[i]))
                out.append("  ".join(cells).rstrip())
        return "\n".join(out)


def markdown_table(rows, text_cols):
        ncol = len(rows[0])
        out = ["| " + " | ".join(rows[0]) + " |",
               "|" + "|".join("---" if i < text_cols else "---:" for i in range(ncol)) + "|"]
        for r in rows[1:]:
                r = list(r) + [""] * (ncol - len(r))
                out.append("| " + " | ".join(v if v else " " for v in r) + " |")
        return "\n".join(out)


def parse_args(argv):
        p = argparse.ArgumentParser(
                description="Run the tests/bench workloads under several allocators.",
                epilog="Workloads: " + ", ".join(w.name for w in WORKLOADS) +
                "; with --suite classic: " + ", ".join(w.name for w in CLASSIC))
        p.add_argument("--build", default=os.path.join(REPO, "build"),
                       help="Meson build directory (default: %(default)s)")
        p.add_argument("--runs", type=int, default=None,
                       help="timed runs per workload and allocator (default 5, 3 with --quick)")
        p.add_argument("--warmup", type=int, default=None,
                       help="untimed rounds before the timed ones (default 1, 0 with --quick)")
        p.add_argument("--threads", type=int, default=2,
                       help="threads for the multi-threaded workloads (default 2)")
        p.add_argument("--suite", choices=sorted(SUITES), default="default",
                       help="which workloads: default (the nine of tests/bench), classic "
                       "(our versions of the classic peer benchmarks) or all")
        p.add_argument("--only", default=None,
                       help="comma-separated workloads to run (from any suite)")
        p.add_argument("--alloc", default=None,
                       help="comma-separated allocators (default: %s)" %
                       ",".join(ALLOCATOR_NAMES))
        p.add_argument("--quick", action="store_true",
                       help="quarter-size workloads, 3 runs, no warm-up")
        p.add_argument("--scale", type=int, default=None,
                       help="percent of each workload's default work (default 100, "
                       "25 with --quick)")
        p.add_argument("--timeout", type=float, default=120.0,
                       help="seconds before a run is killed and counted as FAIL")
        p.add_argument("--liballoc-env", action="append", default=[], metavar="VAR=VALUE",
                       help="environment only for the liballoc runs (not base or the "
                            "peers), e.g. JEMCTL_RUNTIME_DIR=DIR to measure the idle "
                            "control thread against --base of the same library")
        p.add_argument("--base", default=None, metavar="LIBALLOC",
                       help="also run this liballoc build as allocator 'base' and report "
                            "liballoc/base (overhead of a change)")
        p.add_argument("--peer", action="append", default=[], metavar="NAME=LIBRARY",
                       help="also run the malloc in LIBRARY (preloaded) as allocator NAME, "
                            "e.g. mimalloc-2.4=/path/to/libmimalloc.so.2 for a peer built "
                            "outside the repository (repeatable)")
        p.add_argument("--liballoc", default=None,
                       help="liballoc library (default: $LIBALLOC or "
                       "BUILD/liballoc/liballoc.so)")
        p.add_argument("--markdown", metavar="FILE", help="also write the tables as Markdown")
        p.add_argument("--json", metavar="FILE", help="also write every run as JSON")
        p.add_argument("--list", action="store_true", help="list the workloads and exit")
        args = p.parse_args(argv)
        if args.runs is None:
                args.runs = 3 if args.quick else 5
        if args.warmup is None:
                args.warmup = 0 if args.quick else 1
        if args.scale is None:
                args.scale = 25 if args.quick else 100
        if args.runs < 1 or args.warmup < 0 or args.threads < 1 or args.scale < 1:
                p.error("--runs, --threads and --scale must be positive, --warmup >= 0")
        return args


def main(argv):
        args = parse_args(argv)
        if args.list:
                for w in SUITES[args.suite]:
                        print("%-22s %s%s" % (w.name, w.models,
                                              " (uses --threads)" if w.threaded else ""))
                return 0

        if args.only:
                names = [n.strip() for n in args.only.split(",") if n.strip()]
                unknown = [n for n in names if n not in WORKLOAD_BY_NAME]
                if unknown:
                        print("run.py: unknown workload(s): %s (known: %s)" %
                              (", ".join(unknown), ", ".join(WORKLOAD_BY_NAME)),
                              file=sys.stderr)
                        return 2
                workloads = [w for w in SUITES["all"] if w.name in names]
        else:
                workloads = list(SUITES[args.suite])

        paths = allocator_paths(args)
        wanted = list(ALLOCATOR_NAMES)
        if args.alloc:
                wanted = [a.strip() for a in args.alloc.split(",") if a.strip()]
                unknown = [a for a in wanted if a not in paths]
                if unknown:
                        print("run.py: unknown allocator(s): %s (known: %s)" %
                              (", ".join(unknown), ", ".join(ALLOCATOR_NAMES)),
                              file=sys.stderr)
                        return 2
        if args.base:
                wanted.insert(1, "base")
                BASELINES.insert(0, "base")
        for spec in args.peer:
                name, sep, lib = spec.partition("=")
                name = name.strip()
                if not sep or not name or not lib or name in paths:
                        print("run.py: --peer wants NAME=LIBRARY with a new NAME, got %r" %
                              spec, file=sys.stderr)
                        return 2
                paths[name] = lib
                wanted.append(name)
        allocs = []
        for a in wanted:
                lib = paths[a]
                if lib is not None and not os.path.exists(lib):
                        print("run.py: skipping %s: %s not found" % (a, lib), file=sys.stderr)
                        continue
                allocs.append(a)
        if not allocs:
                print("run.py: no allocator left to run", file=sys.stderr)
                return 2

        bindir = os.path.join(args.build, "tests", "bench")
        missing = sorted({w.prog for w in workloads
                          if not os.access(os.path.join(bindir, "bench-" + w.prog), os.X_OK)})
        if missing:
                print("run.py: workloads not built in %s: %s\n"
                      "build first: meson setup build && ninja -C build" %
                      (bindir, ", ".join(missing)), file=sys.stderr)
                return 2

        env = dict(os.environ)
        env.pop("LD_PRELOAD", None)
        libs_abs = {a: os.path.abspath(paths[a]) if paths[a] else None for a in allocs}
        env_la = dict(env)
        for kv in args.liballoc_env:
                k, _, v = kv.partition("=")
                env_la[k] = v
        via_shell = become_subreaper()
        if not via_shell:
                print("run.py: cannot become a child subreaper; peak RSS will include this "
                      "Python process's footprint (~16 MiB)", file=sys.stderr)

        scratch_root = os.path.join(args.build, "tests-tmp", "bench")
        os.makedirs(scratch_root, exist_ok=True)
        scratch = tempfile.mkdtemp(prefix="run.", dir=scratch_root)

        ncpu = os.cpu_count() or 1
        load_start = os.getloadavg()[0]
        if load_start > 0.5 * ncpu:
                print("run.py: warning: load average %.1f on %d CPUs; other work is running, "
                      "timings will be noisy (watch the spread column)" % (load_start, ncpu),
                      file=sys.stderr)
        if args.threads > ncpu:
                print("run.py: note: --threads %d is more than the %d CPUs here" %
                      (args.threads, ncpu), file=sys.stderr)
        started = time.time()
        cells = {}
        try:
                for w in workloads:
                        argv_w = [os.path.join(bindir, "bench-" + w.prog)] + w.args
                        if w.threaded:
                                argv_w += ["-t", str(args.threads)]
                        if args.scale != 100:
                                argv_w += ["-f", str(args.scale)]
                        runs = {a: [] for a in allocs}
                        t_w = time.time()
                        total = args.warmup + args.runs
                        for rnd in range(total):
                                k = rnd % len(allocs)
                                order = allocs[k:] + allocs[:k]
                                report = []
                                for a in order:
                                        r = run_once(w.prog, argv_w, libs_abs[a],
                                                     env_la if a == "liballoc" else env,
                                                     args.timeout, scratch, via_shell)
                                        if rnd >= args.warmup:
                                                runs[a].append(r)
                                        report.append("%s %s" % (a, "%.2fs" % r.wall
                                                                 if r.ok else "FAIL"))
                                tag = "warm-up" if rnd < args.warmup else \
                                        "run %d/%d" % (rnd - args.warmup + 1, args.runs)
                                print("[%s] %s: %s" % (w.name, tag, ", ".join(report)),
                                      file=sys.stderr, flush=True)
                        for a in allocs:
                                cells[(w.name, a)] = Cell(runs[a])
                        print("[%s] done in %.1fs" % (w.name, time.time() - t_w),
                              file=sys.stderr, flush=True)
        finally:
                for f in ("stdout", "stderr"):
                        try:
                                os.unlink(os.path.join(scratch, f))
                        except OSError:
                                pass
                try:
                        os.rmdir(scratch)
                except OSError:
                        pass

        rows, geo, left = build_tables(workloads, allocs, cells)
        info = machine_info()
        when = datetime.datetime.now().strftime("%Y-%m-%d %H:%M")
        settings = ("runs=%d (median), warm-up rounds=%d, threads=%d, scale=%d%%, "
                    "interleaved, %.0fs total, load average %.1f at start, %.1f at end" %
                    (args.runs, args.warmup, args.threads, args.scale, time.time() - started,
                     load_start, os.getloadavg()[0]))
        libs = ", ".join("%s=%s" % (a, os.path.realpath(paths[a]) if paths[a] else "(none)")
                         for a in allocs)
        failures = [(w.name, a, cells[(w.name, a)]) for w in workloads for a in allocs
                    if not cells[(w.name, a)].ok]

        print()
        print("machine: %s" % info)
        print("date: %s; %s" % (when, settings))
        print("libraries: %s" % libs)
        print()
        print(text_table(rows, 2))
        print()
        print("geometric mean of the ratios over workloads (below 1.00 = faster / smaller):")
        print(text_table(geo, 1))
        if left is not None:
                print()
                print("RSS left behind (grow-free: RSS right after freeing 90 %, no sleep):")
                print(text_table(left, 1))
        if failures:
                print()
                print("failures:")
                for wn, a, c in failures:
                        print("  %s under %s: %s (%d of %d runs)" % (wn, a, c.reason, c.failed,
                                                                     len(c.runs)))
                        for line in c.stderr_tail.splitlines():
                                print("    | " + line)

        if args.markdown:
                md = ["# liballoc benchmark results", "",
                      "* machine: %s" % info, "* date: %s" % when, "* %s" % settings,
                      "* libraries: %s" % libs, "",
                      "Median wall time and median peak RSS per workload; spread = "
                      "(max - min) / median of the times; ratios below 1.00 mean faster or "
                      "smaller than the baseline.", "",
                      markdown_table(rows, 2), "",
                      "## Geometric mean of the ratios over workloads", "",
                      markdown_table(geo, 1)]
                if left is not None:
                        md += ["", "## RSS left behind (grow-free, right after freeing 90 %)",
                               "", markdown_table(left, 1)]
                if failures:
                        md += ["", "## Failures", ""]
                        md += ["* %s under %s: %s (%d of %d runs)" %
                               (wn, a, c.reason, c.failed, len(c.runs))
                               for wn, a, c in failures]
                with open(args.markdown, "w") as f:
                        f.write("\n".join(md) + "\n")
        if args.json:
                data = {"machine": info, "date": when, "runs": args.runs,
                        "warmup": args.warmup, "threads": args.threads, "scale": args.scale,
                        "libraries": {a: paths[a] for a in allocs},
                        "results": {w.name: {a: [r.as_dict() for r in cells[(w.name, a)].runs]
                                             for a in allocs} for w in workloads}}
                with open(args.json, "w") as f:
                        json.dump(data, f, indent=1)
        return 1 if failures else 0


if __name__ == "__main__":
        sys.exit(main(sys.argv[1:]))
