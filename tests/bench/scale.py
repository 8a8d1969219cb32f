#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-2-Clause
# tests/bench/scale.py: the thread-scaling benchmark.  Runs a few multi-threaded
# workloads of tests/bench/ under each allocator (LD_PRELOAD; glibc = no preload) at
# several thread counts, with a fixed amount of work PER THREAD (so that the wall time
# stays flat when an allocator scales perfectly), interleaved (every repetition runs each
# allocator/thread-count combination once, in a freshly shuffled order), and prints
# Markdown tables: median wall times, liballoc/peer ratios of the medians, throughput
# and speed-up against the smallest thread count.  Python 3 standard library only.
# tests/bench/scale-bundle.sh packs this script, the workloads and the libraries into
# one directory that can be carried to another machine.
"""Thread-scaling benchmark: liballoc against glibc, jemalloc, mimalloc and tcmalloc.

From the repository (after meson setup build && ninja -C build):
    python3 tests/bench/scale.py [--threads 1,2,4,8,16] [--runs 3] [--budget 270]
From a bundle made by tests/bench/scale-bundle.sh build-scale:
    python3 build-scale/scale.py --bindir build-scale --libdir build-scale --json FILE
--estimate only calibrates and prints the expected run time.  Exit status: 0 if every
run passed, 1 if any run failed (FAIL in the tables), 2 on usage errors or when nothing
can run.
"""

import argparse
import datetime
import hashlib
import json
import math
import os
import platform
import random
import select
import signal
import statistics
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
SYSTEM_LIBDIR = "/usr/lib/x86_64-linux-gnu"
BUNDLE_INFO = "BUNDLE-INFO.txt"


class Workload:
        """A workload and how its per-thread amount of work maps to its options.

        n is the work per thread (per producer/consumer pair for prodcons, per slot of
        live threads for short-threads) at --scale 100."""

        def __init__(self, name, n, n_probe, min_threads, unit, unit_div, models, per):
                self.name = name
                self.n = n
                self.n_probe = n_probe          # tiny run of the preflight, at 2 threads
                self.min_threads = min_threads
                self.unit = unit
                self.unit_div = unit_div
                self.models = models
                self.per = per

        def argv(self, bindir, threads, n):
                exe = os.path.join(bindir, "bench-" + self.name)
                if self.name == "short-threads":
                        return [exe, "-t", str(threads), "-n", str(n * threads)]
                return [exe, "-t", str(threads), "-n", str(n)]

        def ops(self, threads, n):
                """Total units of work of one run (what throughput counts)."""
                if self.name == "thread-churn":
                        return threads * 2 * n          # malloc+free pairs
                if self.name == "larson":
                        return threads * max(n // 1000, 1) * 1000   # replacements
                if self.name == "prodcons":
                        return max(threads // 2, 1) * n  # objects handed over and freed
                return threads * n                      # short-threads: threads run


# Default per-thread work: about 0.3-0.4 s per run for liballoc at one thread on a
# 2.5-3.5 GHz x86-64 core; peers at up to several times that on some workloads.
WORKLOADS = [
        Workload("thread-churn", 10000000, 2000, 1, "M malloc+free/s", 1e6,
                 "each thread churns its own 16-256 B objects (LIFO bursts, then random "
                 "replacement in a pool of 4096); nothing shared",
                 "malloc+free pairs per phase and thread (-n)"),
        Workload("larson", 12000000, 2000, 1, "M replacements/s", 1e6,
                 "T slot arrays of 1000 objects (16-512 B); every round each thread "
                 "replaces random slots of one array; arrays rotate between threads",
                 "replacements per thread (-n)"),
        Workload("prodcons", 5000000, 2000, 2, "M objects/s", 1e6,
                 "T/2 producer/consumer pairs; every free is a cross-thread free",
                 "objects per pair (-n); needs 2 threads, so it has no 1-thread row"),
        Workload("short-threads", 3000, 10, 1, "k threads/s", 1e3,
                 "short-lived threads, T alive at a time, ~450 allocations of 16 B-4 KiB "
                 "each, one object freed after the thread exits",
                 "threads per live-thread slot (-n = this x T)"),
]
WORKLOAD_BY_NAME = {w.name: w for w in WORKLOADS}

# A calibration run does 10 % of the work; one that needs longer than this is killed (a
# hang, or a full run that would take over a minute), and the combination is not run.
CAL_TIMEOUT = 6.0

ALLOCATOR_NAMES = ["liballoc", "glibc", "jemalloc", "mimalloc", "tcmalloc"]
PEER_FILES = {"jemalloc": "libjemalloc.so.2", "mimalloc": "libmimalloc.so.2",
              "tcmalloc": "libtcmalloc_minimal.so.4"}
SHORT = {"liballoc": "la", "glibc": "glibc", "jemalloc": "je", "mimalloc": "mi",
         "tcmalloc": "tc"}

def log(msg):
        print("scale.py: " + msg, file=sys.stderr, flush=True)


# ---- running one workload ----------------------------------------------------------

class Run:
        def __init__(self):
                self.wall = 0.0
                self.user = 0.0
                self.sys = 0.0
                self.ok = False
                self.reason = ""
                self.stderr_tail = ""

        def as_dict(self):
                return {"wall_s": round(self.wall, 6), "user_s": round(self.user, 4),
                        "sys_s": round(self.sys, 4), "ok": self.ok, "reason": self.reason}


def signal_name(num):
        try:
                return signal.Signals(num).name
        except ValueError:
                return "signal %d" % num


def wait_timeout(pid, timeout):
        """Wait for pid for at most timeout seconds; kill it after that.  Return
        (status, rusage, timed_out)."""
        timed_out = False
        pidfd = None
        if hasattr(os, "pidfd_open"):
                try:
                        pidfd = os.pidfd_open(pid)
                except OSError:
                        pidfd = None
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
                return status, ru, timed_out
        # No pidfd (old kernel or Python < 3.9): poll with a short sleep.
        deadline = time.perf_counter() + timeout
        delay = 0.0005
        while True:
                wpid, status, ru = os.wait4(pid, os.WNOHANG)
                if wpid == pid:
                        return status, ru, timed_out
                if time.perf_counter() > deadline and not timed_out:
                        os.kill(pid, signal.SIGKILL)
                        timed_out = True
                time.sleep(delay)
                delay = min(delay * 2, 0.005)


def run_once(name, argv, env, timeout, scratch):
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
        t0 = time.perf_counter()
        try:
                pid = os.posix_spawn(argv[0], argv, env, file_actions=actions)
        except OSError as e:
                r.reason = "cannot start: %s" % e
                return r
        status, ru, timed_out = wait_timeout(pid, timeout)
        r.wall = time.perf_counter() - t0
        r.user = ru.ru_utime
        r.sys = ru.ru_stime
        with open(out_path, errors="replace") as f:
                out = f.read()
        with open(err_path, errors="replace") as f:
                err = f.read()
        r.stderr_tail = "\n".join(err.strip().splitlines()[-5:])
        ok_line = any(line.startswith(name + ": ok") for line in out.splitlines())
        if timed_out:
                r.reason = "timeout after %.0fs" % timeout
        elif os.WIFSIGNALED(status):
                r.reason = signal_name(os.WTERMSIG(status))
        elif os.WEXITSTATUS(status) != 0:
                r.reason = "exit %d" % os.WEXITSTATUS(status)
        elif "cannot be preloaded" in err:
                r.reason = "preload failed"
        elif not ok_line:
                r.reason = "no ok line"
        else:
                r.ok = True
        return r


# ---- allocators --------------------------------------------------------------------

class Allocator:
        def __init__(self, name, lib):
                self.name = name
                self.lib = lib                  # None: glibc, no preload
                self.env = None                 # set by the preflight
                self.mode = ""
                self.overhead = 0.0             # wall time of the preflight run
                self.error = ""

        def describe(self):
                if self.lib is None:
                        return "%s: (no preload)" % self.name
                return "%s: %s [sha256 %s]%s" % (self.name, os.path.realpath(self.lib),
                                                 sha256_prefix(self.lib),
                                                 " " + self.mode if self.mode else "")


def sha256_prefix(path):
        try:
                h = hashlib.sha256()
                with open(path, "rb") as f:
                        for chunk in iter(lambda: f.read(1 << 20), b""):
                                h.update(chunk)
                return h.hexdigest()[:12]
        except OSError:
                return "?"


def make_env(base, lib, ld_path):
        env = dict(base)
        env.pop("LD_PRELOAD", None)
        if lib:
                env["LD_PRELOAD"] = lib
        if ld_path:
                old = env.get("LD_LIBRARY_PATH")
                env["LD_LIBRARY_PATH"] = ld_path + (":" + old if old else "")
        return env


def preflight(alloc, base_env, libdir, bindir, probe, scratch):
        """Find an environment in which alloc loads and a tiny run passes.  Peers are
        tried first with LD_LIBRARY_PATH=libdir (the bundle's copies of libstdc++ and
        libgcc_s), then with the host's own libraries."""
        if alloc.lib is not None and not os.access(alloc.lib, os.R_OK):
                alloc.error = "%s not found" % alloc.lib
                return False
        tries = [(None, "")]
        if alloc.name in PEER_FILES and os.path.realpath(libdir) != \
                        os.path.realpath(SYSTEM_LIBDIR):
                tries = [(libdir, "(LD_LIBRARY_PATH=%s)" % libdir),
                         (None, "(host's own dependencies)")]
        errors = []
        for ld_path, mode in tries:
                env = make_env(base_env, alloc.lib, ld_path)
                r = run_once(probe.name, probe.argv(bindir, 2, probe.n_probe), env, 20.0,
                             scratch)
                if r.ok:
                        alloc.env = env
                        alloc.mode = mode if len(tries) > 1 else ""
                        alloc.overhead = r.wall
                        return True
                errors.append("%s%s: %s%s" % (r.reason, " " + mode if mode else "",
                                              "" if not r.stderr_tail else "\n      | ",
                                              r.stderr_tail.replace("\n", "\n      | ")))
        alloc.error = "; ".join(errors)
        return False


# ---- statistics and tables ---------------------------------------------------------

class Cell:
        def __init__(self, runs, skipped_reason=""):
                self.runs = runs
                bad = [r for r in runs if not r.ok]
                self.ok = bool(runs) and not bad and not skipped_reason
                self.reason = skipped_reason or (bad[0].reason if bad else "no run")
                self.failed = len(bad)
                self.stderr_tail = bad[0].stderr_tail if bad else ""
                self.time = self.spread = None
                if self.ok:
                        walls = [r.wall for r in runs]
                        self.time = statistics.median(walls)
                        self.spread = (max(walls) - min(walls)) / self.time


def ratio(a, b):
        if a is None or b is None or b == 0:
                return None
        return a / b


def geomean(values):
        values = [v for v in values if v is not None and v > 0]
        if not values:
                return None
        return math.exp(sum(math.log(v) for v in values) / len(values))


def fmt(v, f="%.2f"):
        return "-" if v is None else f % v


def markdown_table(rows, text_cols=1):
        ncol = len(rows[0])
        out = ["| " + " | ".join(rows[0]) + " |",
               "|" + "|".join("---" if i < text_cols else "---:" for i in range(ncol)) + "|"]
        for r in rows[1:]:
                r = list(r) + [""] * (ncol - len(r))
                out.append("| " + " | ".join(v if v else " " for v in r) + " |")
        return "\n".join(out)


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
        ncpu = os.cpu_count() or 0
        try:
                avail = len(os.sched_getaffinity(0))
        except (AttributeError, OSError):
                avail = ncpu
        libc = " ".join(platform.libc_ver())
        cpus = "%d CPUs" % ncpu if avail == ncpu else "%d CPUs (%d usable)" % (ncpu, avail)
        return "%s, %s, Linux %s, %s" % (model, cpus, platform.release(), libc)


def usable_cpus():
        try:
                return len(os.sched_getaffinity(0))
        except (AttributeError, OSError):
                return os.cpu_count() or 1


# ---- main --------------------------------------------------------------------------

def parse_list(text, what, known=None):
        items = [x.strip() for x in text.split(",") if x.strip()]
        if known is not None:
                unknown = [x for x in items if x not in known]
                if unknown:
                        raise SystemExit("scale.py: unknown %s: %s (known: %s)" %
                                         (what, ", ".join(unknown), ", ".join(known)))
        return items


def default_bindir():
        if os.access(os.path.join(HERE, "bench-" + WORKLOADS[0].name), os.X_OK):
                return HERE                     # running from a bundle
        return os.path.join(REPO, "build", "tests", "bench")


def parse_args(argv):
        p = argparse.ArgumentParser(
                description="Thread-scaling benchmark of liballoc against glibc, jemalloc, "
                "mimalloc and tcmalloc (LD_PRELOAD).",
                epilog="Workloads: " + ", ".join(w.name for w in WORKLOADS))
        p.add_argument("--threads", default="1,2,4,8,16",
                       help="comma-separated thread counts (default %(default)s)")
        p.add_argument("--runs", type=int, default=3,
                       help="timed repetitions; medians are reported (default 3)")
        p.add_argument("--workloads", default=",".join(w.name for w in WORKLOADS),
                       help="comma-separated workloads (default: all: %(default)s)")
        p.add_argument("--alloc", default=",".join(ALLOCATOR_NAMES),
                       help="comma-separated allocators (default %(default)s)")
        p.add_argument("--bindir", default=None,
                       help="directory of the bench-* programs (default: this script's "
                       "directory if it holds them, else REPO/build/tests/bench)")
        p.add_argument("--libdir", default=SYSTEM_LIBDIR,
                       help="directory of libjemalloc.so.2, libmimalloc.so.2 and "
                       "libtcmalloc_minimal.so.4; when it is not the system directory it "
                       "also goes into LD_LIBRARY_PATH of the peers' runs, for bundled "
                       "libstdc++/libgcc_s (default %(default)s)")
        p.add_argument("--liballoc", default=None,
                       help="liballoc library (default: $LIBALLOC, else liballoc.so in "
                       "--libdir or --bindir, else REPO/build/liballoc/liballoc.so)")
        p.add_argument("--budget", type=float, default=270.0,
                       help="seconds the whole run should take: after a calibration round "
                       "(every combination once at 10 %% of the work) the work per thread "
                       "of the costliest workloads is scaled down (never up) to fit, and "
                       "repetitions that would end past 1.25 x budget are dropped; 0 = no "
                       "limit (default %(default)s)")
        p.add_argument("--scale", type=float, default=None,
                       help="percent of the default work per thread; disables the budget "
                       "scaling (the estimate is still printed)")
        p.add_argument("--estimate", action="store_true",
                       help="run the preflight and calibration, print the estimate, exit")
        p.add_argument("--timeout", type=float, default=60.0,
                       help="upper bound in seconds for one run (each run's own limit is "
                       "5 x its calibrated time, at least 10 s, at most this; a calibration "
                       "run at 10 %%%% of the work gets %.0f s)" % CAL_TIMEOUT)
        p.add_argument("--seed", type=int, default=None,
                       help="seed of the run order shuffle (default: from the clock)")
        p.add_argument("--json", metavar="FILE", help="write every run and the medians as JSON")
        p.add_argument("--markdown", metavar="FILE", help="also write the report to FILE")
        p.add_argument("--list", action="store_true", help="list the workloads and exit")
        args = p.parse_args(argv)
        try:
                args.thread_list = sorted(set(int(x) for x in parse_list(args.threads,
                                                                        "thread count")))
        except ValueError:
                p.error("--threads takes comma-separated integers")
        if not args.thread_list or args.thread_list[0] < 1:
                p.error("--threads must list positive integers")
        if args.runs < 1:
                p.error("--runs must be at least 1")
        if args.scale is not None and args.scale <= 0:
                p.error("--scale must be positive")
        args.workload_list = [WORKLOAD_BY_NAME[n] for n in
                              parse_list(args.workloads, "workload", WORKLOAD_BY_NAME)]
        args.alloc_list = parse_list(args.alloc, "allocator", ALLOCATOR_NAMES)
        if not args.workload_list or not args.alloc_list:
                p.error("no workload or no allocator selected")
        if args.bindir is None:
                args.bindir = default_bindir()
        args.bindir = os.path.abspath(args.bindir)
        args.libdir = os.path.abspath(args.libdir)
        if args.liballoc is None:
                args.liballoc = os.environ.get("LIBALLOC")
        if args.liballoc is None:
                for cand in (os.path.join(args.libdir, "liballoc.so"),
                             os.path.join(args.bindir, "liballoc.so"),
                             os.path.join(REPO, "build", "liballoc", "liballoc.so")):
                        if os.path.exists(cand):
                                args.liballoc = cand
                                break
                else:
                        args.liballoc = os.path.join(REPO, "build", "liballoc",
                                                     "liballoc.so")
        args.liballoc = os.path.abspath(args.liballoc)
        return args


def fit_budget(est_run, runs, avail):
        """Per-workload fractions of the default work (at most 1) whose total estimated
        time fits avail seconds: each workload gets an equal share of the time, and what
        a cheap workload leaves unused goes to the others (water-filling)."""
        scale = {}
        left = max(avail, 0.0)
        items = sorted(est_run.items(), key=lambda kv: kv[1])
        for i, (name, est) in enumerate(items):
                share = left / (len(items) - i)
                cost = est * runs
                f = 1.0 if cost <= share else max(share / cost, 0.02)
                # Round down to whole percent; within 5 % of the default, keep the default.
                scale[name] = 1.0 if f >= 0.95 else math.floor(f * 100) / 100
                left -= cost * scale[name]
        return scale


def scale_text(workloads, scale):
        vals = set(scale[w.name] for w in workloads)
        if len(vals) == 1:
                return "%.0f %%" % (100 * vals.pop())
        return ", ".join("%s %.0f %%" % (w.name, 100 * scale[w.name]) for w in workloads)


def combos(w, threads):
        return [t for t in threads if t >= w.min_threads]


def read_bundle_info(bindir):
        try:
                with open(os.path.join(bindir, BUNDLE_INFO)) as f:
                        return f.read().strip()
        except OSError:
                return None


def main(argv):
        args = parse_args(argv)
        if args.list:
                for w in WORKLOADS:
                        print("%-14s %s\n%14s work per thread: %d %s" %
                              (w.name, w.models, "", w.n, w.per))
                return 0
        started = time.time()
        workloads = args.workload_list
        threads = args.thread_list

        missing = [w.name for w in workloads
                   if not os.access(os.path.join(args.bindir, "bench-" + w.name), os.X_OK)]
        if missing:
                log("workloads not found in %s: %s\n  build them (meson setup build && "
                    "ninja -C build) or pass --bindir" % (args.bindir, ", ".join(missing)))
                return 2

        paths = {"liballoc": args.liballoc, "glibc": None}
        for a, f in PEER_FILES.items():
                paths[a] = os.environ.get(a.upper()) or os.path.join(args.libdir, f)
        allocs = [Allocator(a, paths[a]) for a in args.alloc_list]

        base_env = dict(os.environ)
        base_env.pop("LD_PRELOAD", None)
        scratch = tempfile.mkdtemp(prefix="scale.")
        ncpu = usable_cpus()
        try:
                return bench(args, workloads, threads, allocs, base_env, scratch, ncpu,
                             started)
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


def bench(args, workloads, threads, allocs, base_env, scratch, ncpu, started):
        # Preflight: every allocator must load and pass a tiny run, else it is dropped.
        probe = workloads[0]
        usable = []
        for a in allocs:
                if preflight(a, base_env, args.libdir, args.bindir, probe, scratch):
                        usable.append(a)
                        log("preflight %-8s ok   %s" % (a.name, a.describe()))
                else:
                        log("preflight %-8s UNAVAILABLE: %s" % (a.name, a.error))
        unavailable = [a for a in allocs if a not in usable]
        if not any(a.name == "glibc" for a in usable) and any(a.name == "glibc"
                                                              for a in allocs):
                log("the workloads do not even run without a preload here (built for a "
                    "newer glibc?); giving up")
                return 2
        if not usable:
                log("no allocator left to run")
                return 2
        if threads[-1] > ncpu:
                log("note: up to %d threads on %d usable CPUs; the rows above %d threads "
                    "measure oversubscription, not scaling" % (threads[-1], ncpu, ncpu))
        load_start = os.getloadavg()[0]
        if load_start > 0.25 * ncpu:
                log("warning: load average %.1f on %d CPUs; other work is running, timings "
                    "will be noisy (watch the spread column)" % (load_start, ncpu))

        rng = random.Random(args.seed if args.seed is not None else time.time_ns())
        jobs = [(w, a, t) for w in workloads for a in usable for t in combos(w, threads)]

        # Calibration round (also the warm-up): every combination once at 10 % of the work.
        cal_frac = 0.10
        est = {}
        cal_fail = {}
        t_cal = time.time()
        for w in workloads:
                n_cal = max(int(w.n * cal_frac), 1)
                order = [(a, t) for a in usable for t in combos(w, threads)]
                rng.shuffle(order)
                for a, t in order:
                        r = run_once(w.name, w.argv(args.bindir, t, n_cal), a.env,
                                     min(args.timeout, CAL_TIMEOUT), scratch)
                        if r.ok:
                                est[(w.name, a.name, t)] = a.overhead + \
                                        max(r.wall - a.overhead, 0.0) / cal_frac
                        else:
                                cal_fail[(w.name, a.name, t)] = r
                                est[(w.name, a.name, t)] = 0.0
        cal_time = time.time() - t_cal
        est_run = {}
        for w in workloads:
                est_run[w.name] = sum(est[(w.name, a.name, t)] for a in usable
                                      for t in combos(w, threads))
        est_total = args.runs * sum(est_run.values())
        log("calibration (10 %% of the work, every combination once) took %.1fs" %
            cal_time)
        for w in workloads:
                log("  %-14s one repetition at 100 %% ~ %.1fs" % (w.name, est_run[w.name]))
        elapsed = time.time() - started
        if args.scale is not None:
                scale = {w.name: args.scale / 100.0 for w in workloads}
                why = "--scale"
        elif args.budget > 0 and est_total > 0 and elapsed + est_total > args.budget:
                scale = fit_budget(est_run, args.runs, 0.95 * (args.budget - elapsed))
                why = "scaled down to fit --budget %.0fs" % args.budget
        else:
                scale = {w.name: 1.0 for w in workloads}
                why = "default work"
        est_scaled = args.runs * sum(est_run[w.name] * scale[w.name] for w in workloads)
        log("estimate: %d runs x %d repetitions, %.0fs at 100 %% of the work; running at "
            "%s (%s): ~%.0fs more, ~%.0fs in all" %
            (len(jobs), args.runs, est_total, scale_text(workloads, scale), why, est_scaled,
             elapsed + est_scaled))
        if args.estimate:
                for key, r in sorted(cal_fail.items()):
                        log("calibration FAIL %s/%s/%dT: %s" % (key + (r.reason,)))
                return 0

        runs = {(w.name, a.name, t): [] for w, a, t in jobs}
        dead = {}               # combination -> reason; it is not run again
        for key, r in cal_fail.items():
                dead[key] = "%s (calibration)" % r.reason
                runs[key].append(r)
        n_eff = {w.name: max(int(round(w.n * scale[w.name])), 1) for w in workloads}
        if "larson" in n_eff:
                n_eff["larson"] = max(n_eff["larson"], 1000)
        reps_done = 0
        stopped = ""
        for rep in range(args.runs):
                now = time.time() - started
                # The next repetition should take what the last one took, less the runs
                # that failed (those are not run again).
                predicted = sum(runs[k][-1].wall for k in runs if k not in dead and runs[k])
                if rep > 0 and args.budget > 0 and args.scale is None and \
                                now + predicted > 1.25 * args.budget:
                        stopped = ("stopped after %d of %d repetitions: the next one would "
                                   "end past 1.25 x --budget" % (rep, args.runs))
                        log(stopped)
                        break
                t_rep = time.time()
                for w in workloads:
                        order = [(a, t) for a in usable for t in combos(w, threads)]
                        rng.shuffle(order)
                        t_w = time.time()
                        bad = []
                        for a, t in order:
                                key = (w.name, a.name, t)
                                if key in dead:
                                        continue
                                limit = min(args.timeout,
                                            max(10.0, 5.0 * est[key] * max(scale[w.name], 0.1)))
                                r = run_once(w.name, w.argv(args.bindir, t, n_eff[w.name]),
                                             a.env, limit, scratch)
                                runs[key].append(r)
                                if not r.ok:
                                        dead[key] = r.reason
                                        bad.append("%s/%dT: %s" % (a.name, t, r.reason))
                        log("rep %d/%d %-14s %5.1fs%s" %
                            (rep + 1, args.runs, w.name, time.time() - t_w,
                             "  FAIL " + ", ".join(bad) if bad else ""))
                log("rep %d/%d done in %.1fs, %.0fs since start" %
                    (rep + 1, args.runs, time.time() - t_rep, time.time() - started))
                reps_done += 1

        cells = {}
        for w, a, t in jobs:
                key = (w.name, a.name, t)
                cells[key] = Cell(runs[key], dead.get(key, ""))
        total = time.time() - started
        report, summary = build_report(args, workloads, threads, usable, unavailable, cells,
                                       n_eff, scale, why, reps_done, stopped, total,
                                       load_start, ncpu)
        sys.stdout.write(report)
        sys.stdout.flush()
        if args.markdown:
                with open(args.markdown, "w") as f:
                        f.write(report)
        if args.json:
                data = {
                        "machine": machine_info(),
                        "date": datetime.datetime.now().isoformat(timespec="seconds"),
                        "bundle_info": read_bundle_info(args.bindir),
                        "threads": threads, "runs_requested": args.runs,
                        "runs_done": reps_done, "scale": scale, "scale_reason": why,
                        "budget_s": args.budget, "total_s": round(total, 1),
                        "calibration_estimate_s": {"%s/%s/%d" % k: round(v, 4)
                                                   for k, v in est.items()},
                        "libraries": {a.name: {"path": a.lib,
                                               "realpath": os.path.realpath(a.lib)
                                               if a.lib else None,
                                               "sha256_12": sha256_prefix(a.lib)
                                               if a.lib else None,
                                               "mode": a.mode} for a in usable},
                        "unavailable": {a.name: a.error for a in unavailable},
                        "workloads": {w.name: {"work_per_thread": n_eff[w.name],
                                               "per": w.per, "unit": w.unit,
                                               "models": w.models} for w in workloads},
                        "results": [{"workload": w.name, "allocator": a.name, "threads": t,
                                     "argv": [os.path.basename(x) for x in
                                              w.argv(args.bindir, t, n_eff[w.name])],
                                     "ops": w.ops(t, n_eff[w.name]),
                                     "runs": [r.as_dict() for r in runs[(w.name, a.name, t)]]}
                                    for w, a, t in jobs],
                        "summary": summary,
                }
                with open(args.json, "w") as f:
                        json.dump(data, f, indent=1)
                log("wrote %s" % args.json)
        failed = any(not c.ok for c in cells.values())
        return 1 if failed or unavailable else 0


def build_report(args, workloads, threads, allocs, unavailable, cells, n_eff, scale, why,
                 reps_done, stopped, total, load_start, ncpu):
        names = [a.name for a in allocs]
        peers = [a for a in names if a != "liballoc"]
        has_la = "liballoc" in names
        info = read_bundle_info(args.bindir)
        md = ["# liballoc thread-scaling benchmark", "",
              "* machine: %s" % machine_info(),
              "* date: %s" % datetime.datetime.now().strftime("%Y-%m-%d %H:%M"),
              "* settings: threads %s, %d of %d repetitions (median), interleaved in "
              "shuffled order, work per thread at %s (%s), %.0fs in all, load "
              "average %.1f at start and %.1f at end, %d usable CPUs" %
              (",".join(map(str, threads)), reps_done, args.runs,
               scale_text(workloads, scale), why, total,
               load_start, os.getloadavg()[0], ncpu)]
        if stopped:
                md.append("* **%s**" % stopped)
        md.append("* libraries:")
        md += ["  * %s" % a.describe() for a in allocs]
        for a in unavailable:
                md.append("  * %s: **unavailable**: %s" % (a.name, a.error.replace("\n", " ")))
        if info:
                md += ["* bundle:", ""] + ["      " + line for line in info.splitlines()]
        md += ["",
               "Each workload does a fixed amount of work per thread, so perfect scaling "
               "keeps the wall time flat. *time* is the median wall time in seconds "
               "(spawn to exit); *la/xx* is liballoc's median time divided by the peer's "
               "(below 1.00 = liballoc faster); *spread* is the largest (max - min) / "
               "median in the row. *throughput* is total work / median time, and (N.NNx) "
               "is the speed-up against the same allocator's smallest thread count.", ""]
        summary = {}
        geo_rows = {t: {p: [] for p in peers} for t in threads}
        top_rows = []
        for w in workloads:
                ts = combos(w, threads)
                base_t = ts[0] if ts else None
                md += ["## %s" % w.name, "",
                       "%s. Work per thread: %d %s%s." %
                       (w.models, n_eff[w.name], w.per,
                        "" if scale[w.name] == 1.0 else
                        " (%.0f %% of the default %d)" % (100 * scale[w.name], w.n)), ""]
                head = ["threads"] + ["%s time" % a for a in names]
                if has_la:
                        head += ["la/%s" % SHORT[p] for p in peers]
                head.append("spread")
                rows = [head]
                trow = [["threads"] + names]
                summary[w.name] = {}
                for t in threads:
                        if t not in ts:
                                rows.append(["%d" % t, "n/a (needs %d threads)" %
                                             w.min_threads])
                                continue
                        row = ["%d" % t]
                        tr = ["%d" % t]
                        spreads = []
                        srow = summary[w.name][t] = {}
                        for a in names:
                                c = cells[(w.name, a, t)]
                                if not c.ok:
                                        row.append("FAIL (%s)" % c.reason)
                                        tr.append("FAIL")
                                        srow[a] = {"ok": False, "reason": c.reason}
                                        continue
                                spreads.append(c.spread)
                                thr = w.ops(t, n_eff[w.name]) / c.time / w.unit_div
                                b = cells[(w.name, a, base_t)]
                                speed = None
                                if b.ok:
                                        base_thr = w.ops(base_t, n_eff[w.name]) / b.time / \
                                                w.unit_div
                                        speed = thr / base_thr
                                row.append("%.3f" % c.time)
                                tr.append("%.2f (%s)" % (thr, fmt(speed, "%.2fx")))
                                srow[a] = {"ok": True, "median_s": round(c.time, 5),
                                           "spread": round(c.spread, 4),
                                           "throughput": round(thr, 4),
                                           "speedup_vs_%dT" % base_t:
                                           None if speed is None else round(speed, 4),
                                           "runs": len(c.runs)}
                        if has_la:
                                la = cells[(w.name, "liballoc", t)]
                                for p in peers:
                                        pc = cells[(w.name, p, t)]
                                        v = ratio(la.time, pc.time) if la.ok and pc.ok \
                                                else None
                                        row.append(fmt(v))
                                        srow["la/" + p] = None if v is None else round(v, 4)
                                        geo_rows[t][p].append(v)
                        row.append("%.0f%%" % (100 * max(spreads)) if spreads else "-")
                        rows.append(row)
                        trow.append(tr)
                md += ["Median wall time (s):", "", markdown_table(rows), "",
                       "Throughput, %s (speed-up against %d thread%s):" %
                       (w.unit, base_t or 0, "" if base_t == 1 else "s"), "",
                       markdown_table(trow), ""]
                if ts:
                        top = ts[-1]
                        r = [w.name + " @%dT" % top]
                        for a in names:
                                c = cells[(w.name, a, top)]
                                b = cells[(w.name, a, base_t)]
                                if c.ok and b.ok and top != base_t:
                                        r.append("%.2fx" % ((w.ops(top, n_eff[w.name]) /
                                                             c.time) /
                                                            (w.ops(base_t, n_eff[w.name]) /
                                                             b.time)))
                                else:
                                        r.append("-" if c.ok else "FAIL")
                        top_rows.append(r)
        if has_la and peers:
                md += ["## Summary", "",
                       "Geometric mean over the workloads of liballoc's median time / the "
                       "peer's (below 1.00 = liballoc faster; the last column counts the "
                       "workloads with both passing):", ""]
                rows = [["threads"] + ["la/%s" % SHORT[p] for p in peers] + ["workloads"]]
                summary["geomean"] = {}
                for t in threads:
                        g = {p: geomean(geo_rows[t][p]) for p in peers}
                        n = max(len([v for v in geo_rows[t][p] if v]) for p in peers)
                        rows.append(["%d" % t] + [fmt(g[p]) for p in peers] +
                                    ["%d of %d" % (n, len([w for w in workloads
                                                           if t in combos(w, threads)]))])
                        summary["geomean"][t] = {p: None if g[p] is None else round(g[p], 4)
                                                 for p in peers}
                md += [markdown_table(rows), ""]
        if top_rows:
                md += ["Speed-up at the largest thread count against the smallest "
                       "(throughput ratio; ideal = the ratio of the thread counts, capped "
                       "by the usable CPUs):", "",
                       markdown_table([["workload"] + names] + top_rows), ""]
        failures = [(k, c) for k, c in sorted(cells.items()) if not c.ok]
        if failures:
                md += ["## Failures", ""]
                for (wn, a, t), c in failures:
                        md.append("* %s under %s at %dT: %s (%d of %d runs)" %
                                  (wn, a, t, c.reason, c.failed, len(c.runs)))
                        for line in c.stderr_tail.splitlines():
                                md.append("  > %s" % line)
                md.append("")
        return "\n".join(md) + "\n", summary


if __name__ == "__main__":
        sys.exit(main(sys.argv[1:]))
