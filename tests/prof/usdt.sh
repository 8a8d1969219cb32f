#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-2-Clause
# The `usdt` kind: liballoc's USDT probes for eBPF profilers (docs/profiling.md, "Probes").
# readelf lists the five notes (provider liballoc: prof_alloc, prof_free, purge; provider
# otel_memory, OpenTelemetry's contract: alloc, free) with their argument counts; each
# probe site is a nop (what an unattached probe costs).  Where the kernel lets bpftrace
# attach uprobes, it counts the probes while prof_sites samples (every one of its 192
# blocks of 256 KiB is sampled at lg_prof_sample:12, each standing for its own size),
# big-blocks frees sampled blocks (each otel_memory:free names a pointer an earlier
# otel_memory:alloc gave), and grow-free purges with dirty_decay_ms:0.  Bounded: about
# 15 s.
#   tests/prof/usdt.sh BUILD_DIR
set -u
B=$(cd "${1:?usage: tests/prof/usdt.sh BUILD_DIR}" && pwd)
LIB=${LIBALLOC:-$B/liballoc/liballoc.so}
PS=$B/tests/prof/prof_sites
BB=$B/tests/bench/bench-big-blocks
GF=$B/tests/bench/bench-grow-free
fails=0
pass() { echo "PASS: $1"; }
fail() { echo "FAIL: $1: $2"; fails=$((fails + 1)); }
skip() { echo "SKIP: $1: $2"; }
for f in "$LIB" "$PS" "$BB" "$GF"; do
        [ -e "$f" ] || { echo "FAIL: usdt-setup: $f is missing (build first)"; exit 1; }
done
if ! grep -q 'LA_HAVE_SDT' "$B/build.ninja"; then
        skip usdt-all "built without <sys/sdt.h> (Debian package systemtap-sdt-dev)"
        exit 0
fi
work=$(mktemp -d "${TMPDIR:-/tmp}/usdt.XXXXXX")
bt=""
trap '[ -n "$bt" ] && kill -KILL $bt 2>/dev/null; rm -rf "$work"' EXIT

# 1. The notes: provider, names, argument counts.
notes=$(readelf -n "$LIB" 2>&1)
if printf '%s\n' "$notes" | python3 -c '
import re, sys
text = sys.stdin.read()
probes = {}
for m in re.finditer(r"Provider: (\S+)\s+Name: (\S+)\s+Location: (0x[0-9a-f]+).*?\n\s+Arguments: ([^\n]*)", text, re.S):
    probes[(m.group(1), m.group(2))] = (int(m.group(3), 16), m.group(4).split())
want = {("liballoc", "prof_alloc"): 3, ("liballoc", "prof_free"): 2, ("liballoc", "purge"): 3,
        ("otel_memory", "alloc"): 3, ("otel_memory", "free"): 1}
for key, n in want.items():
    loc, args = probes[key]
    assert len(args) == n and all(re.fullmatch(r"-?\d+@\S+", a) for a in args), (key, args)
    assert all(a.startswith("8@") for a in args if key[0] == "otel_memory"), (key, args)
assert set(probes) == set(want), probes
print(" ".join("%x" % probes[k][0] for k in want))
' >"$work/locs"; then
        pass usdt-notes
else
        fail usdt-notes "$(printf '%s\n' "$notes" | grep -A3 stapsdt | head -12 | tr '\n' '|')"
fi

# 2. Unattached, each probe site is one nop.
ok=1
for loc in $(cat "$work/locs" 2>/dev/null); do
        insn=$(objdump -d --start-address=0x"$loc" --stop-address=$((0x$loc + 1)) "$LIB" |
                awk -F'\t' '/^ *[0-9a-f]+:/ {print $3; exit}')
        [ "$insn" = nop ] || { ok=0; echo "probe at 0x$loc: '$insn'"; }
done
if [ $ok = 1 ] && [ -s "$work/locs" ]; then
        pass usdt-nop
else
        fail usdt-nop "a probe site is not a nop"
fi

# 3. bpftrace counts them, where uprobes can be attached.
if [ "$(id -u)" != 0 ] || ! command -v bpftrace >/dev/null; then
        skip usdt-bpftrace "needs root and bpftrace (Debian package bpftrace)"
        [ $fails -eq 0 ]
        exit
fi
prog="usdt:$LIB:liballoc:prof_alloc { @alloc = count(); @bytes = sum(arg1); }
usdt:$LIB:liballoc:prof_alloc /arg1 == 262144/ { @big = count(); @bigw = sum(arg2); }
usdt:$LIB:liballoc:prof_free { @free = count(); }
usdt:$LIB:liballoc:purge { @purge = count(); @purged = sum(arg1); }
usdt:$LIB:otel_memory:alloc { @live[arg0] = 1; @oalloc = count(); @ow = sum(arg2); }
usdt:$LIB:otel_memory:free {
        if (@live[arg0]) { @matched = count(); delete(@live[arg0]); } else { @unmatched = count(); }
}
END { clear(@live); }"
bpftrace -e "$prog" >"$work/bt.out" 2>&1 &
bt=$!
for _ in $(seq 100); do
        grep -q '^Attaching [0-9]* probes' "$work/bt.out" && break
        kill -0 $bt 2>/dev/null || break
        sleep 0.1
done
sleep 1 # attached once the line is printed; a moment for the uprobes to be armed
if ! kill -0 $bt 2>/dev/null; then
        skip usdt-bpftrace "bpftrace cannot attach here: $(grep -v RLIMIT "$work/bt.out" | head -2 | tr '\n' ' ')"
        bt=""
        [ $fails -eq 0 ]
        exit
fi
LD_PRELOAD=$LIB MALLOC_CONF=prof:true,lg_prof_sample:12 "$PS" "$work/sites.heap" >/dev/null 2>&1
LD_PRELOAD=$LIB MALLOC_CONF=prof:true,lg_prof_sample:12 "$BB" -f 5 >/dev/null 2>&1
LD_PRELOAD=$LIB MALLOC_CONF=dirty_decay_ms:0,muzzy_decay_ms:0 "$GF" -f 5 >/dev/null 2>&1
kill -INT $bt
wait $bt 2>/dev/null
bt=""
val() { awk -v k="@$1:" '$1 == k {print $2}' "$work/bt.out"; }
big=$(val big) bigw=$(val bigw) alloc=$(val alloc) free=$(val free) purge=$(val purge)
purged=$(val purged) oalloc=$(val oalloc) ow=$(val ow) matched=$(val matched)
unmatched=$(val unmatched)
echo "bpftrace: alloc=${alloc:-} big=${big:-} bigw=${bigw:-} free=${free:-} purge=${purge:-}" \
        "purged=${purged:-} otel alloc=${oalloc:-} weight=${ow:-} free matched=${matched:-}" \
        "unmatched=${unmatched:-}"
# prof_sites' 192 blocks of 256 KiB, each sampled and weighing its size (bench-big-blocks
# allocates no 256 KiB block).
if [ "${big:-0}" = 192 ] && [ "${bigw:-0}" = $((192 * 262144)) ] && [ "${alloc:-0}" -gt 1000 ]; then
        pass usdt-prof-alloc
else
        fail usdt-prof-alloc "$(tail -12 "$work/bt.out" | tr '\n' ' ')"
fi
if [ "${free:-0}" -gt 0 ] && [ "${free:-0}" -le "${alloc:-0}" ]; then
        pass usdt-prof-free
else
        fail usdt-prof-free "free=${free:-} alloc=${alloc:-}"
fi
# OpenTelemetry's pair: the same samples, and every free names a sampled pointer.
if [ "${oalloc:-0}" = "${alloc:-x}" ] && [ "${ow:-0}" -ge "${bigw:-1}" ] &&
        [ "${matched:-0}" = "${free:-x}" ] && [ "${unmatched:-0}" = 0 ]; then
        pass usdt-otel-memory
else
        fail usdt-otel-memory "alloc ${oalloc:-} of ${alloc:-}, frees matched ${matched:-} of ${free:-}, unmatched ${unmatched:-}"
fi
if [ "${purge:-0}" -gt 0 ] && [ "${purged:-0}" -ge $((purge * 4096)) ]; then
        pass usdt-purge
else
        fail usdt-purge "purge=${purge:-} purged=${purged:-}"
fi
[ $fails -eq 0 ]
