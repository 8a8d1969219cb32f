#!/usr/bin/env bash
# The README's demo command: installs what is missing, builds, then shows liballoc at work:
#  1. a real program (python3) under LD_PRELOAD, with the allocator's statistics printed at
#     exit (MALLOC_CONF=stats_print:true), exactly as jemalloc would print them;
#  2. a program that grows, frees most of its memory and hands it back to the OS when its
#     decay time is changed through mallctl.
set -eu
cd "$(dirname "$0")/.."
tools/deps.sh test
[ -f build/build.ninja ] || meson setup build >/dev/null
ninja -C build >/dev/null
lib=$PWD/build/liballoc/liballoc.so

echo "== python3 under LD_PRELOAD=$lib"
LD_PRELOAD=$lib MALLOC_CONF=stats_print:true python3 - <<'PY' 2>&1 | head -40
import json, collections
words = [str(i) * (i % 7 + 1) for i in range(300000)]
counts = collections.Counter(w[:3] for w in words)
doc = json.dumps({"top": counts.most_common(5), "n": len(words)})
print("python3 says:", doc)
maps = open("/proc/self/maps").read()
print("liballoc mapped into python3:", "liballoc" in maps)
PY
echo
echo "== memory handed back to the OS"
build/tools/rss_demo 384
