#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-2-Clause
# The `daemon` kind: jemctld against live processes.  Two workloads under LD_PRELOAD serve
# their control sockets in a fresh runtime directory; jemctld polls them every second and
# serves /metrics and /api/v1/processes on a free 127.0.0.1 port.  Checks discovery,
# values, promtool, the JSON API, the memory-pressure counters, a process that goes away,
# a hung process (no stall), a stale socket file, malformed HTTP and a clean SIGTERM.  The
# attackers (the Host header, fake targets) are tests/hostile's.  Bounded: about 20 s,
# killed at 55 s.
#   tests/daemon/run.sh BUILD_DIR
set -u
B=$(cd "${1:?usage: tests/daemon/run.sh BUILD_DIR}" && pwd)
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=tests/daemon/lib.sh
. "$here/lib.sh" # LIB, D, pass/fail/skip and the set-up below
WL=${LIVE_WORKLOAD:-$B/tools/live_workload} # a plain one for an instrumented jemctld (bus.sh)
tool="python3 $here/dtool.py"

need_files daemon "$D" "$WL" "$LIB"
make_work daemon run
dpid=""
start_watchdog daemon 55

preload w1 "$WL" 64 60
preload w2 "$WL" 64 60
wait_sockets "$w1" "$w2"

port=$(free_port)
url=http://127.0.0.1:$port
"$D" --runtime-dir "$rt" --http "127.0.0.1:$port" --interval 1 --timeout 2 \
        --allow-host jemctld.test 2>"$work/jemctld.log" &
dpid=$!

# 1. discovery: both pids appear in /metrics.
if $tool wait "$url/metrics" 10 "{'$w1','$w2'} <= pids"; then
        pass daemon-discovery
else
        fail daemon-discovery "pids $w1 $w2 not both in /metrics within 10 s"
        cat "$work/jemctld.log"
fi

# 2. values.
if out=$($tool check-values "$url/metrics" "$w1" "$w2"); then
        pass daemon-values
else
        fail daemon-values "$out"
fi
n=$($tool metric "$url/metrics" jemctld_processes)
[ "$n" = 2 ] && pass daemon-processes-gauge || fail daemon-processes-gauge "jemctld_processes=$n"

# 3. promtool.
$tool get "$url/metrics" >"$work/metrics.txt"
if ! command -v promtool >/dev/null; then
        skip daemon-promtool "promtool not installed (Debian package prometheus)"
elif out=$(promtool check metrics <"$work/metrics.txt" 2>&1); then
        pass daemon-promtool
else
        fail daemon-promtool "$(echo "$out" | head -5 | tr '\n' ' ')"
fi

# 4. the JSON API.
if $tool get "$url/api/v1/processes" >"$work/procs.json" &&
        python3 -m json.tool "$work/procs.json" >/dev/null &&
        python3 - "$work/procs.json" "$w1" "$w2" <<'PY'; then
import json, sys
d = json.load(open(sys.argv[1]))
by = {str(p["pid"]): p for p in d}
for pid in sys.argv[2:]:
    p = by[pid]
    assert p["info"]["comm"] == "live_workload", p["info"]
    assert p["stats"]["allocated"] > 0 and p["last_poll"] > 0 and p["error"] is None, p
PY
        pass daemon-api
else
        fail daemon-api "/api/v1/processes does not list both processes with info and stats"
fi

# 4b. memory-pressure metrics: a purge ordered through pressure.event in w1 shows in w1's
# counters and not in w2's.
if ! "$B/jemctl/jemctl" --runtime-dir "$rt" --no-daemon set "$w1" pressure.event= >/dev/null; then
        fail daemon-pressure-metrics "jemctl set $w1 pressure.event= failed"
elif $tool wait "$url/metrics" 5 "value(m, 'liballoc_pressure_events_total', '$w1') == 1 and \
value(m, 'liballoc_pressure_purges_total', '$w1') == 1 and \
value(m, 'liballoc_pressure_events_total', '$w2') == 0 and \
value(m, 'liballoc_pressure_watching', '$w2') is not None and \
value(m, 'liballoc_pressure_last_event_timestamp_seconds', '$w1') > 1.7e9"; then
        pass daemon-pressure-metrics
else
        fail daemon-pressure-metrics "$($tool get "$url/metrics" | grep -E "pressure.*pid=\"($w1|$w2)\"" | tr '\n' ' ')"
fi

# 5. HTTP codes.
c404=$($tool status "$url/nope")
c405=$($tool status "$url/metrics" POST)
chead=$($tool status "$url/metrics" HEAD)
b404=$($tool get "$url/nope")
if [ "$c404" = 404 ] && [ "$c405" = 405 ] && [ "$chead" = 200 ] &&
        echo "$b404" | python3 -c 'import json, sys
d = json.load(sys.stdin)
sys.exit(0 if d["ok"] is False and d["error"]["code"] == "not_found" else 1)'; then
        pass daemon-http-codes
else
        fail daemon-http-codes "unknown path $c404 ($b404), POST $c405, HEAD $chead"
fi

# 6. a hung process: the other's polls go on, the errors counter grows.
e0=$($tool metric "$url/metrics" jemctld_poll_errors_total)
$tool hang "$rt" >"$work/hang.out" 2>&1 &
hpid=$!
pids+=($hpid)
last_poll() {
        python3 -c 'import json,sys; print(next(p["last_poll"] for p in json.load(sys.stdin) if p["pid"]==int(sys.argv[1])))' "$1" \
                < <($tool get "$url/api/v1/processes")
}
sleep 1.5 # the hung one is found and its poll in flight
t0=$(last_poll "$w1")
sleep 3.5 # interval + timeout + slack
t1=$(last_poll "$w1")
e1=$($tool metric "$url/metrics" jemctld_poll_errors_total)
herr=$(python3 -c 'import json,sys; print(next((p["error"] for p in json.load(sys.stdin) if p["pid"]==int(sys.argv[1])), "absent"))' "$hpid" \
        < <($tool get "$url/api/v1/processes"))
if python3 -c "import sys; sys.exit(0 if $t1 - $t0 >= 2 else 1)"; then
        pass daemon-hung-no-stall
else
        fail daemon-hung-no-stall "pid $w1 last polled at $t0 then $t1 while pid $hpid hangs"
fi
if [ "${e1:-0}" -gt "${e0:-0}" ] && [[ "$herr" == *"no answer"* ]]; then
        pass daemon-hung-errors
else
        fail daemon-hung-errors "poll errors $e0 -> $e1, hung process error: $herr"
fi
kill "$hpid" 2>/dev/null
{ wait "$hpid"; } 2>/dev/null

# 7. a stale socket file of a dead pid is ignored.
sh -c 'exit 0' &
dead=$!
wait $dead
$tool stale "$rt" "$dead"
sleep 2.2
inapi=$($tool get "$url/api/v1/processes" | python3 -c 'import json,sys; print(any(p["pid"]==int(sys.argv[1]) for p in json.load(sys.stdin)))' "$dead")
if [ -S "$rt/$dead.sock" ] && [ "$inapi" = False ] &&
        $tool wait "$url/metrics" 3 "value(m, 'jemctld_processes') == 2"; then
        pass daemon-stale-socket
else
        fail daemon-stale-socket "pid $dead listed: $inapi, processes $($tool metric "$url/metrics" jemctld_processes)"
fi

# 8. a process that goes away disappears.
kill -KILL "$w2"
{ wait "$w2"; } 2>/dev/null
if $tool wait "$url/metrics" 5 "'$w2' not in pids and '$w1' in pids"; then
        pass daemon-process-gone
else
        fail daemon-process-gone "pid $w2 still in /metrics 5 s after it was killed"
fi

# 9. malformed HTTP does not hurt the daemon.
$tool garbage 127.0.0.1 "$port" 2>/dev/null
if kill -0 "$dpid" 2>/dev/null && $tool wait "$url/metrics" 3 "'$w1' in pids"; then
        pass daemon-malformed-http
else
        fail daemon-malformed-http "the daemon no longer answers /metrics"
fi

# 10. SIGTERM exits 0.
stop_process "$dpid"
rc=$?
dpid=""
[ "$rc" = 0 ] && pass daemon-sigterm || fail daemon-sigterm "exit status $rc"

if [ $fails -ne 0 ]; then
        echo "--- jemctld log"
        cat "$work/jemctld.log"
fi
[ $fails -eq 0 ]
