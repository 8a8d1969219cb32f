#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-2-Clause
"""Check that LD_PRELOAD=LIB took effect, from the dynamic linker's own log.

    LD_PRELOAD=LIB LD_BIND_NOW=1 LD_DEBUG=bindings LD_DEBUG_OUTPUT=PREFIX \\
        preload_probe.py self LIB PREFIX
        This process: LIB must be in /proc/self/maps, and its binding log
        PREFIX.<pid> is checked as below.

    preload_probe.py bindings LIB EXE LOG [SYMBOL...]
        The binding log LOG of another process (run with LD_BIND_NOW=1
        LD_DEBUG=bindings LD_PRELOAD=LIB) whose executable is EXE.

Every reference to malloc, free, calloc and realloc (and, where referenced,
posix_memalign, aligned_alloc, memalign, valloc, malloc_usable_size), from the
executable and from every library (libc included), must be bound to LIB. A
binding to the executable itself is accepted: a non-PIE executable that takes
the address of malloc has a canonical PLT entry, which forwards to wherever the
executable's own reference was bound (and that binding is checked). Each
extra SYMBOL that LIB exports (a list from `nm -D --defined-only LIB` in the
environment variable LIB_EXPORTS, one per line) must bind to LIB as well; for
those LIB does not export, where they bound is only reported. Prints what it
found; exits 0 only if everything holds.
"""
import os
import re
import sys

REQUIRED = ["malloc", "free", "calloc", "realloc"]
OPTIONAL = ["posix_memalign", "aligned_alloc", "memalign", "valloc", "malloc_usable_size"]
PAT = re.compile(r"binding file (\S+) \[\d+\] to (\S+) \[\d+\]: normal symbol `([^']+)'")


def check(lib, exe, log, extra):
    lib, exe = os.path.realpath(lib), os.path.realpath(exe)
    exports = set(os.environ.get("LIB_EXPORTS", "").split())
    names = REQUIRED + OPTIONAL + [s for s in extra if s not in REQUIRED + OPTIONAL]
    targets = {}
    try:
        with open(log, errors="replace") as f:
            for line in f:
                m = PAT.search(line)
                if m and m.group(3) in names:
                    targets.setdefault(m.group(3), []).append(
                        (os.path.realpath(m.group(1)), os.path.realpath(m.group(2))))
    except OSError as e:
        print(f"cannot read the binding log {log}: {e}")
        return False
    ok = True
    for name in names:
        b = targets.get(name, [])
        to_lib = sum(1 for _, dst in b if dst == lib)
        to_exe = sum(1 for _, dst in b if dst == exe)
        others = sorted({f"{src} -> {dst}" for src, dst in b if dst not in (lib, exe)})
        must = name in REQUIRED or name in OPTIONAL or name in exports
        if not b:
            print(f"{name}: not referenced")
            ok = ok and name not in REQUIRED
        elif others:
            print(f"{name}: {len(b)} bindings, {len(others)} not to the library: {'; '.join(others)}"
                  + ("" if must else " (the library does not export it: only reported)"))
            ok = ok and not must
        elif not to_lib:
            print(f"{name}: {len(b)} bindings, all to the executable's PLT, none to the library")
            ok = False
        else:
            print(f"{name}: {len(b)} bindings: {to_lib} to the library, {to_exe} to the executable's PLT")
    return ok


def main():
    a = sys.argv[1:]
    if len(a) == 3 and a[0] == "self":
        lib = os.path.realpath(a[1])
        with open("/proc/self/maps") as f:
            mapped = any(line.rstrip("\n").endswith(lib) or (lib + " (deleted)") in line for line in f)
        print("mapped:", "yes" if mapped else "no")
        ok = check(lib, "/proc/self/exe", f"{a[2]}.{os.getpid()}", [])
        return 0 if ok and mapped else 1
    if len(a) >= 4 and a[0] == "bindings":
        return 0 if check(a[1], a[2], a[3], a[4:]) else 1
    sys.exit(__doc__)


if __name__ == "__main__":
    sys.exit(main())
