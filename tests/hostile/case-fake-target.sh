#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-2-Clause
# Hostile case: fake targets, processes that are not what their control socket says or
# that answer to hurt whoever reads them (tests/daemon/dtool.py hang and fake).  jemctld
# watches a live workload and: does not trust a socket served by another pid than its
# name says; relays a comm full of escape sequences that jemctl never prints raw (through
# the daemon, scanning by itself, in stats, in a profile written to a terminal); writes a
# target's error message full of newlines and controls as one escaped log line.  jemctl
# itself does not trust a socket squatted under another live process's pid.  Moved from
# tests/daemon/run.sh (its checks 7b, 8e, 8f) and tests/control/jemctl_e2e.sh
# (squatted-socket).  Bounded: about 10 s, killed at 60 s.
#   tests/hostile/case-fake-target.sh BUILD_DIR
set -u
B=$(cd "${1:?usage: tests/hostile/case-fake-target.sh BUILD_DIR}" && pwd)
# shellcheck source=tests/hostile/lib.sh
. "$(dirname "$0")/lib.sh"
WL=${LIVE_WORKLOAD:-$B/tools/live_workload}
tool="python3 $here/dtool.py"

need_files daemon "$D" "$WL" "$LIB"
make_work hostile fake-target
dpid=""
start_watchdog hostile-fake-target 60

preload w1 "$WL" 64 60
wait_sockets "$w1"
port=$(free_port)
url=http://127.0.0.1:$port
"$D" --runtime-dir "$rt" --http "127.0.0.1:$port" --interval 1 --timeout 2 \
        2>"$work/jemctld.log" &
dpid=$!
if ! $tool wait "$url/metrics" 10 "'$w1' in pids"; then
        fail hostile-fake-target-setup "pid $w1 not in /metrics within 10 s"
        cat "$work/jemctld.log"
        exit 1
fi

# A socket served by another pid than its name says is not trusted.
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

# jemctl never prints a process's escape sequences (a comm set with PR_SET_NAME):
# through the daemon, scanning by itself, the comm of /proc in stats, and a heap profile
# written to a terminal.
JC=$J
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

# A target's error message cannot forge log lines: its newlines, CR, ESC, DEL and C1
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

# jemctl by itself: a socket squatted under another live process's pid (this shell's) is
# not trusted (exit status 3).
python3 - "$rt/$$.sock" <<'PY' &
import socket, sys, time
s = socket.socket(socket.AF_UNIX)
s.bind(sys.argv[1])
s.listen(4)
time.sleep(10)
PY
sq=$!
pids+=($sq)
for _ in $(seq 50); do
        [ -S "$rt/$$.sock" ] && break
        sleep 0.1
done
err=$(JEMCTL_RUNTIME_DIR=$rt timeout 20 "$J" get $$ opt.narenas --timeout 2 2>&1 >/dev/null)
rc=$?
kill "$sq" 2>/dev/null
rm -f "$rt/$$.sock"
if [ $rc -eq 3 ] && echo "$err" | grep -q "not trusted"; then
        pass control/jemctl/squatted-socket
else
        fail control/jemctl/squatted-socket "rc=$rc: $err"
fi

stop_process "$dpid"
rc=$?
dpid=""
[ "$rc" = 0 ] || fail hostile-fake-target-sigterm "jemctld exit status $rc"
if [ $fails -ne 0 ]; then
        echo "--- jemctld log"
        cat "$work/jemctld.log"
fi
[ $fails -eq 0 ]
