#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-2-Clause
# The README's demo command: installs what is missing, builds, then shows the live
# control plane on a program that knows nothing about it:
#  1. a workload runs under LD_PRELOAD: it fills a 400 MiB cache, evicts the oldest 90 %
#     and keeps serving; its freed pages stay resident (10 s dirty decay, jemalloc's
#     default);
#  2. `jemctl ps` finds it, `jemctl stats` shows the fragmentation (resident vs allocated);
#  3. `jemctl decay PID 0` changes the decay time of the live process, and its RSS falls;
#  4. `jemctl get` reads the new setting back; the process keeps running;
#  5. `jemctl prof` switches heap profiling on in it and shows what is live, by stack.
# Then python3 runs under LD_PRELOAD with the allocator's statistics printed at exit, as
# jemalloc would print them.
set -eu
cd "$(dirname "$0")/.."
tools/deps.sh demo # the build set, python3 and libunwind8: not the test toolchain
if [ ! -f build/build.ninja ]; then
        echo "demo: meson setup build ..." >&2
        meson setup build >/dev/null
fi
echo "demo: ninja -C build ..." >&2
ninja -C build >/dev/null
lib=$PWD/build/liballoc/liballoc.so
jemctl=$PWD/build/jemctl/jemctl

# A runtime directory of our own, so the demo needs no system set-up (jemctl and the
# allocator both read JEMCTL_RUNTIME_DIR).
export JEMCTL_RUNTIME_DIR
JEMCTL_RUNTIME_DIR=$(mktemp -d "${TMPDIR:-/tmp}/jemctl-demo.XXXXXX")
chmod 700 "$JEMCTL_RUNTIME_DIR"
out=$JEMCTL_RUNTIME_DIR/workload.out
pid=
cleanup() {
        [ -n "$pid" ] && kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null
        rm -rf "$JEMCTL_RUNTIME_DIR"
}
trap cleanup EXIT

rss_mib() {
        awk '/^VmRSS/ {printf "%d MiB", $2 / 1024}' "/proc/$1/status"
}
say() { # bold on a terminal; plain text into a pipe or a file
        if [ -t 1 ]; then
                printf '\n\033[1m== %s\033[0m\n' "$*"
        else
                printf '\n== %s\n' "$*"
        fi
}

say "a workload under LD_PRELOAD=$lib"
LD_PRELOAD=$lib build/tools/live_workload 400 60 >"$out" &
pid=$!
for _ in $(seq 200); do
        grep -q ready "$out" 2>/dev/null && break
        sleep 0.1
done
echo "pid $pid: filled a 400 MiB cache and evicted the oldest 90 %; RSS $(rss_mib "$pid")"

say "jemctl ps"
"$jemctl" ps

say "jemctl stats $pid"
"$jemctl" stats "$pid"

say "jemctl decay $pid 0    (live: no restart, no code in the program)"
"$jemctl" decay "$pid" 0
sleep 0.5
echo "RSS of pid $pid now: $(rss_mib "$pid")"

say "jemctl get $pid arenas.dirty_decay_ms arena.0.dirty_decay_ms stats.resident"
"$jemctl" get "$pid" arenas.dirty_decay_ms arena.0.dirty_decay_ms stats.resident
say "jemctl prof $pid on --lg-sample 12    (heap profiling, switched on live)"
"$jemctl" prof "$pid" on --lg-sample 12
sleep 3
say "jemctl prof $pid dump --format folded    (what is live, by allocation stack)"
"$jemctl" prof "$pid" dump --format folded | sort -t' ' -k2 -nr | head -3 | cut -c1-150
"$jemctl" prof "$pid" dump --format svg -o "$JEMCTL_RUNTIME_DIR/flame.svg"
echo "flame graph: $(wc -c <"$JEMCTL_RUNTIME_DIR/flame.svg") bytes of SVG"
"$jemctl" prof "$pid" off

kill "$pid"
wait "$pid" 2>/dev/null || true
pid=

say "python3 under LD_PRELOAD, MALLOC_CONF=stats_print:true (first lines of the report)"
LD_PRELOAD=$lib MALLOC_CONF=stats_print:true python3 - <<'PY' 2>&1 | head -30
import json, collections
words = [str(i) * (i % 7 + 1) for i in range(300000)]
counts = collections.Counter(w[:3] for w in words)
doc = json.dumps({"top": counts.most_common(5), "n": len(words)})
print("python3 says:", doc)
maps = open("/proc/self/maps").read()
print("liballoc mapped into python3:", "liballoc" in maps)
PY
