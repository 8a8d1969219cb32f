#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-2-Clause
# The `daemon` kind: jemctld against live processes.  Two workloads under LD_PRELOAD serve
# their control sockets in a fresh runtime directory; jemctld polls them every second and
# serves /metrics and /api/v1/processes on a free 127.0.0.1 port.  Checks discovery,
# values, promtool, the JSON API, the memory-pressure counters, a process that goes away,
# a hung process (no stall), a stale socket file, malformed HTTP and a clean SIGTERM;
# then the security review's checks (issue 17): the Host header (DNS rebinding), a client
# on [::ffff:127.0.0.1], jemctl printing a hostile comm relayed by the daemon, a target's
# answer forging log lines.  Bounded: about 25 s, killed at 55 s.
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

# 7b. a socket served by another pid than its name says is not trusted.
sleep 30 &
spid=$!
pids+=($spid)
$tool hang "$rt" "$spid" >"$work/squat.out" 2>&1 &
qpid=$!
pids+=($qpid)
sleep 2.2
inapi=$($tool get "$url/api/v1/processes" | python3 -c 'import json,sys; print(any(p["pid"]==int(sys.argv[1]) for p in json.load(sys.stdin)))' "$spid")
if [ -S "$rt/$spid.sock" ] && [ "$inapi" = False ] && grep -q "pid $spid: .*not trusted" "$work/jemctld.log"; then
        pass daemon-untrusted-socket
else
        fail daemon-untrusted-socket "pid $spid served by pid $qpid: listed $inapi"
fi
kill "$qpid" "$spid" 2>/dev/null
{ wait "$qpid" "$spid"; } 2>/dev/null

# 8. a process that goes away disappears.
kill -KILL "$w2"
{ wait "$w2"; } 2>/dev/null
if $tool wait "$url/metrics" 5 "'$w2' not in pids and '$w1' in pids"; then
        pass daemon-process-gone
else
        fail daemon-process-gone "pid $w2 still in /metrics 5 s after it was killed"
fi

# 8b. DNS rebinding: a name that is not loopback, localhost or --allow-host gets 421
# with the JSON error form, on every path; the first refusal is logged with the header's
# control characters escaped.
raw() { $tool raw "${@:1:1}" "$port" "${@:2}"; }
bad=""
r=$(raw 127.0.0.1 GET /metrics $'rebind.attacker.example\x1b[2J')
[ "$r" = "421 bad_host" ] || bad="$bad esc-host:$r"
for path in /metrics /api/v1/processes /api/v1/profiles / /api/v1/select \
        "/api/v1/history?pid=$w1" /nope; do
        r=$($tool raw-hosts 127.0.0.1 "$port" "$path" "rebind.attacker.example:$port" \
                rebind.attacker.example "127.0.0.1.nip.io:$port" localhost.attacker.example \
                "[fe80::1]:$port" "127.0.0.1:$port@evil" "127.0.0.1 :$port" |
                grep -v ' 421 bad_host$')
        [ -z "$r" ] || bad="$bad $path: $(echo "$r" | tr '\n' ' ')"
done
r=$(raw 127.0.0.1 POST "/api/v1/processes/$w1/purge" "evil.example:$port" '{}')
[ "$r" = "421 bad_host" ] || bad="$bad post:$r"
if [ -z "$bad" ] && grep -q 'refused a request for Host "rebind.attacker.example\\x1b\[2J"' \
        "$work/jemctld.log" && ! grep -q $'\x1b' "$work/jemctld.log"; then
        pass daemon-host-rebinding-refused
else
        fail daemon-host-rebinding-refused "${bad:- the log line is missing or holds a raw ESC}"
fi

# 8c. loopback addresses, localhost and --allow-host names are served, with and without a
# port; no Host is 400 in HTTP/1.1 and fine in HTTP/1.0; two Host headers are 400.
bad=""
r=$($tool raw-hosts 127.0.0.1 "$port" /metrics "127.0.0.1:$port" 127.0.0.1 "127.4.5.6:$port" \
        localhost "LocalHost:$port" "[::1]:$port" "[::1]" "[::ffff:127.0.0.1]:$port" \
        "jemctld.test:$port" JEMCTLD.test | grep -v ' 200 -$')
[ -z "$r" ] || bad="$bad $(echo "$r" | tr '\n' ' ')"
r=$(raw 127.0.0.1 GET /api/v1/processes -)
[ "$r" = "400 bad_request" ] || bad="$bad no-host:$r"
r=$(raw 127.0.0.1 GET /metrics - - 1.0)
[ "$r" = "200 -" ] || bad="$bad no-host-1.0:$r"
r=$(raw 127.0.0.1 GET /metrics "127.0.0.1:$port|evil.example")
[ "$r" = "400 bad_request" ] || bad="$bad two-hosts:$r"
if [ -z "$bad" ]; then
        pass daemon-host-allowed
else
        fail daemon-host-allowed "$bad"
fi

# 8d. a client on an IPv6 socket through [::ffff:127.0.0.1] is loopback: its uid is found
# (in /proc/net/tcp6) and its write is made.
r=$(raw ::ffff:127.0.0.1 POST "/api/v1/processes/$w1/purge" "[::ffff:127.0.0.1]:$port" '{}')
if [ "$r" = "200 -" ]; then
        pass daemon-v4-mapped-client
else
        fail daemon-v4-mapped-client "POST purge from [::ffff:127.0.0.1]: $r"
fi

# 8e. jemctl never prints a process's escape sequences (a comm set with PR_SET_NAME):
# through the daemon, scanning by itself, the comm of /proc in stats, and a heap profile
# written to a terminal.
JC=$B/jemctl/jemctl
$tool fake "$rt" comm >"$work/evil.out" 2>&1 &
epid=$!
pids+=($epid)
if [ ! -x "$JC" ]; then
        skip daemon-jemctl-sanitized "$JC was not built"
elif ! $tool wait "$url/metrics" 5 "'$epid' in pids"; then
        fail daemon-jemctl-sanitized "the fake process $epid was not polled"
else
        export JEMCTL_RUNTIME_DIR=$rt
        "$JC" --daemon "$url" ps >"$work/ps-daemon.out" 2>"$work/ps-daemon.err"
        "$JC" --no-daemon ps >"$work/ps-scan.out" 2>&1
        "$JC" stats "$epid" >"$work/stats.out" 2>&1
        # A profile written to a terminal (a pty made by script(1); CR is the pty's).
        if command -v script >/dev/null; then
                script -qec "$JC prof $epid dump" /dev/null >"$work/prof-tty.out" 2>&1
        else
                echo "heap_v2 (script(1) is not installed)" >"$work/prof-tty.out"
        fi
        unset JEMCTL_RUNTIME_DIR
        bad=""
        for f in ps-daemon.out ps-daemon.err ps-scan.out stats.out prof-tty.out; do
                grep -q $'[\x01-\x08\x0b\x0c\x0e-\x1f\x7f]' "$work/$f" && bad="$bad $f"
        done
        grep -q heap_v2 "$work/prof-tty.out" || bad="$bad prof-tty.out(no profile)"
        if [ -z "$bad" ] && [ ! -s "$work/ps-daemon.err" ] &&
                grep -q "^ *$epid  *?\]0;pwn??\[2J " "$work/ps-daemon.out" &&
                grep -q "^ *$epid  *?\]0;pwn??\[2J " "$work/ps-scan.out" &&
                grep -q "^pid $epid (?\]0;pwn??\[2J)" "$work/stats.out"; then
                pass daemon-jemctl-sanitized
        else
                fail daemon-jemctl-sanitized "control characters in:${bad:- (none)}; $(cat -v "$work/ps-daemon.out" "$work/ps-daemon.err" "$work/stats.out" | tr '\n' '|')"
        fi
fi
kill "$epid" 2>/dev/null
{ wait "$epid"; } 2>/dev/null

# 8f. a target's error message cannot forge log lines: its newlines, CR, ESC, DEL and C1
# controls are escaped in the one line the daemon writes.
$tool fake "$rt" forge >"$work/forge.out" 2>&1 &
fpid=$!
pids+=($fpid)
for _ in $(seq 50); do
        grep -q "pid $fpid: info: internal: boom" "$work/jemctld.log" && break
        sleep 0.1
done
line=$(grep -a "pid $fpid: info: internal: boom" "$work/jemctld.log" | head -1)
want='boom\njemctld: 2099-01-01T00:00:00 pid 1: FORGED line\r\x1b[2J\x7f\u0085after'
if [ -n "$line" ] && [[ "$line" == *"$want" ]] && ! grep -aq '^jemctld: 2099' "$work/jemctld.log" &&
        ! grep -aq $'[\x01-\x08\x0b-\x1f\x7f]' "$work/jemctld.log" &&
        ! grep -aq $'\xc2\x85' "$work/jemctld.log"; then
        pass daemon-log-not-forged
else
        fail daemon-log-not-forged "$(grep -a -A1 "pid $fpid:" "$work/jemctld.log" | cat -v | tr '\n' '|')"
fi
kill "$fpid" 2>/dev/null
{ wait "$fpid"; } 2>/dev/null

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
