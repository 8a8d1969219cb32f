#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-2-Clause
# jemctld at scale: fake_fleet serves N control sockets (canned hello/info/stats), jemctld
# polls them every 10 s; measures the daemon's CPU over a quiet window (utime+stime from
# /proc/PID/stat, as % of one core), its peak RSS (VmHWM), and the latency of 20 scrapes
# of /metrics (median, max), of /api/v1/targets and of one process's /metrics?pid=N, and
# one round of every process's /metrics?pid=N (a Prometheus job with one target per
# process, docs/prometheus/targets.yml); checks every process is listed without error.  Not part of
# the test command (it takes N/1000 * (WINDOW + 30) s); docs/performance.md has figures.
#   tests/bench/daemon_scale/run.sh BUILD_DIR [N=1000] [WINDOW_S=60] [INTERVAL_S=10]
set -u
B=$(cd "${1:?usage: run.sh BUILD_DIR [N] [WINDOW_S] [INTERVAL_S]}" && pwd)
N=${2:-1000}
WIN=${3:-60}
IVL=${4:-10}
FLEET=$B/tests/bench/fake-fleet
D=$B/jemctld/jemctld
for f in "$FLEET" "$D"; do
        [ -x "$f" ] || { echo "missing $f (build first)"; exit 1; }
done
# One listening socket per process here, and --max-inflight connections in the daemon.
ulimit -n 65536 2>/dev/null || ulimit -n "$(ulimit -Hn)"
work=$(mktemp -d /tmp/jemctld-scale.XXXXXX)
rt=$work/rt
mkdir -m 0700 "$rt"
fpid="" dpid=""
cleanup() {
        [ -n "$dpid" ] && kill -TERM "$dpid" 2>/dev/null
        [ -n "$fpid" ] && kill -TERM "$fpid" 2>/dev/null
        { wait; } 2>/dev/null
        rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 1' INT TERM

"$FLEET" "$rt" "$N" >"$work/fleet.out" 2>&1 &
fpid=$!
for _ in $(seq 600); do
        grep -q '^ready' "$work/fleet.out" && break
        sleep 0.1
done
ready=$(awk '/^ready/ {print $2}' "$work/fleet.out")
[ "$ready" = "$N" ] || { echo "fake_fleet: only '${ready:-0}' of $N ready"; cat "$work/fleet.out"; exit 1; }

port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
url=http://127.0.0.1:$port
"$D" --runtime-dir "$rt" --http "127.0.0.1:$port" --interval "$IVL" 2>"$work/jemctld.log" &
dpid=$!
count() { curl -s "$url/metrics" | awk '/^jemctld_processes / {print $2}'; }
t0=$(date +%s.%N)
for _ in $(seq 300); do
        [ "$(count)" = "$N" ] && break
        sleep 0.1
done
t1=$(date +%s.%N)
echo "discovered $(count) of $N in $(python3 -c "print(round($t1 - $t0, 2))") s"
# Let one whole cycle with stats for every process finish.
sleep "$IVL"

ticks=$(getconf CLK_TCK)
cpu() { awk '{print $14 + $15}' "/proc/$dpid/stat"; }
c0=$(cpu)
s0=$(date +%s.%N)
sleep "$WIN"
c1=$(cpu)
s1=$(date +%s.%N)
cpu_pct=$(python3 -c "print(round(100.0 * ($c1 - $c0) / $ticks / ($s1 - $s0), 3))")

# 20 scrapes, one every 0.5 s.
: >"$work/lat"
c2=$(cpu)
for _ in $(seq 20); do
        curl -s -o "$work/metrics.txt" -w '%{time_total}\n' "$url/metrics" >>"$work/lat"
        sleep 0.5
done
c3=$(cpu)
lat=$(python3 - "$work/lat" <<'PY'
import statistics, sys
v = [float(x) * 1000 for x in open(sys.argv[1]) if x.strip()]
print("median %.1f ms, max %.1f ms over %d scrapes" % (statistics.median(v), max(v), len(v)))
PY
)
scrape_cpu=$(python3 -c "print(round(1000.0 * ($c3 - $c2) / $ticks / 20, 1))")
# Discovery and per-process scrapes (docs/prometheus/targets.yml): 20 of /api/v1/targets
# and of one /metrics?pid=N, then all N /metrics?pid=N on one keep-alive connection.
lat_of() { # URL: median and max of 20 GETs, one every 0.2 s
        : >"$work/lat2"
        for _ in $(seq 20); do
                curl -s -o "$work/out2" -w '%{time_total}\n' "$1" >>"$work/lat2"
                sleep 0.2
        done
        python3 - "$work/lat2" <<'PY'
import statistics, sys
v = [float(x) * 1000 for x in open(sys.argv[1]) if x.strip()]
print("median %.1f ms, max %.1f ms" % (statistics.median(v), max(v)))
PY
}
tlat=$(lat_of "$url/api/v1/targets")
ntargets=$(python3 -c 'import json,sys; print(len(json.load(open(sys.argv[1]))))' "$work/out2")
one=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))[0]["labels"]["pid"])' "$work/out2")
plat=$(lat_of "$url/metrics?pid=$one")
pbytes=$(wc -c <"$work/out2")
c4=$(cpu)
round=$(python3 - "$port" "$work/out2" <<'PY'
import http.client, json, sys, time
port = int(sys.argv[1])
c = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
c.request("GET", "/api/v1/targets")
pids = [g["labels"]["pid"] for g in json.loads(c.getresponse().read())]
t = time.time()
bad = 0
for p in pids:
    c.request("GET", "/metrics?pid=" + p)
    r = c.getresponse()
    body = r.read()
    bad += r.status != 200 or ('pid="%s"' % p).encode() not in body
print("%d scrapes in %.2f s, %d bad" % (len(pids), time.time() - t, bad))
PY
)
c5=$(cpu)
round_cpu=$(python3 -c "print(round(1000.0 * ($c5 - $c4) / $ticks, 1))")
hwm=$(awk '/^VmHWM/ {print $2, $3}' "/proc/$dpid/status")
rss=$(awk '/^VmRSS/ {print $2, $3}' "/proc/$dpid/status")
listed=$(grep -c '^liballoc_allocated_bytes{' "$work/metrics.txt")
bytes=$(wc -c <"$work/metrics.txt")
errs=$(curl -s "$url/api/v1/processes" | python3 -c 'import json,sys; d=json.load(sys.stdin); print(len(d), sum(1 for p in d if p["error"] or not p["stats"]))')
dur=$(awk '/^jemctld_poll_duration_seconds / {print $2}' "$work/metrics.txt")
echo "processes: $N   interval: $IVL s   window: $WIN s   max-inflight: default"
echo "daemon CPU: $cpu_pct % of one core (utime+stime over the window, no scrapes)"
echo "daemon RSS: peak $hwm (VmHWM), now $rss"
echo "/metrics: $lat; $bytes bytes, $listed processes listed; CPU per scrape about $scrape_cpu ms"
echo "api: $errs (processes, of which without stats or with an error)"
echo "/api/v1/targets: $tlat; $ntargets targets"
echo "/metrics?pid=N: $plat; $pbytes bytes"
echo "every /metrics?pid=N once: $round; daemon CPU $round_cpu ms"
echo "poll cycle: $dur s for $N processes"
echo "machine: $(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg) (other work shares it)"
ok=1
[ "$listed" = "$N" ] || ok=0
python3 -c "import sys; sys.exit(0 if $cpu_pct < 2.0 else 1)" || ok=0
[ "${hwm%% *}" -lt 65536 ] || ok=0
[ $ok = 1 ] && echo "RESULT: within the targets (< 2% of one core, < 64 MiB, all listed)" ||
        echo "RESULT: MISSED a target (< 2% of one core, < 64 MiB, all listed)"
[ $ok = 1 ]
