#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-2-Clause
# Descriptor exhaustion: jemctld runs with 256 descriptors while uid 65534 makes 300 fake
# liballoc processes in the shared runtime directory (each serves its own <pid>.sock, so
# each is trusted) and holds 300 idle HTTP connections, reopening those the daemon
# closes.  A real workload must stay fresh (its last successful poll keeps moving), a new
# client must still get /metrics with it, and the daemon must not spin on a failing
# accept().  About 30 s.   tests/hostile/case-fd-exhaustion.sh BUILD_DIR
set -u
B=$(cd "${1:?usage: tests/hostile/case-fd-exhaustion.sh BUILD_DIR}" && pwd)
# shellcheck source=tests/hostile/lib.sh
. "$(dirname "$0")/lib.sh"
WL=$B/tools/live_workload
PY=$(command -v /usr/bin/python3 || command -v python3)
need_root fd-exhaustion
need_tools fd-exhaustion prlimit setsid
need_files fd-exhaustion "$D" "$WL" "$LIB"
make_work hostile fd-exhaustion shared
start_watchdog fd-exhaustion 60
attackers=()
cleanup_kill() {
        local g
        for g in "${attackers[@]}"; do
                kill -KILL -- "-$g"
        done
}

preload real "$WL" 8 55
wait_sockets "$real" || fail fd-exhaustion-setup "the workload's socket did not appear"
port=$(free_port)
url=http://127.0.0.1:$port
prlimit --nofile=256:256 "$D" --runtime-dir "$rt" --http "127.0.0.1:$port" --interval 1 \
        --timeout 2 2>"$work/jemctld.log" &
dpid=$!
if ! "$PY" "$here/dtool.py" wait "$url/metrics" 10 "'$real' in pids" >/dev/null; then
        fail fd-exhaustion-setup "the workload is not in /metrics"
        exit 1
fi

# 300 fake processes, each a fork serving its own <pid>.sock (tests/daemon/dtool.py), in a
# session of their own so that the cleanup ends them all (setpriv and setsid exec: $! is
# the python, the leader of that session).
setpriv --reuid 65534 --regid 65534 --clear-groups setsid "$PY" - "$here" "$rt" 300 <<'PY' >"$work/fakes.log" 2>&1 &
import os, sys, time
sys.path.insert(0, sys.argv[1])
import dtool
for _ in range(int(sys.argv[3])):
    if os.fork() == 0:
        sys.stdout = open(os.devnull, "w")
        dtool.fake(sys.argv[2], "plain")
        os._exit(0)
while True:
    time.sleep(60)
PY
attackers+=($!)
# 300 idle connections, held and reopened when closed.
setpriv --reuid 65534 --regid 65534 --clear-groups setsid "$PY" - "$port" 300 <<'PY' >"$work/conns.log" 2>&1 &
import socket, sys, time
port, n = int(sys.argv[1]), int(sys.argv[2])
held = []
while True:
    held = [c for c in held if c.fileno() >= 0]
    for c in list(held):
        try:
            c.setblocking(False)
            if c.recv(1, socket.MSG_PEEK) == b"":
                c.close()
                held.remove(c)
        except BlockingIOError:
            pass
        except OSError:
            c.close()
            held.remove(c)
    while len(held) < n:
        c = socket.socket()
        c.settimeout(0.2)
        try:
            c.connect(("127.0.0.1", port))
        except OSError:
            c.close()
            break
        held.append(c)
    time.sleep(0.3)
PY
attackers+=($!)
sleep 8

# last_ok of the workload, asked by a new client (empty if it got no answer in 5 s).
last_ok() {
        timeout 5 "$PY" -c 'import json, sys, urllib.request
d = json.load(urllib.request.urlopen(sys.argv[1] + "/api/v1/processes", timeout=4))
print(next(p["last_ok"] for p in d if p["pid"] == int(sys.argv[2])))' "$url" "$real" 2>/dev/null
}
cpu() { awk '{print $14 + $15}' "/proc/$dpid/stat"; }
c0=$(cpu)
t0=$(last_ok)
sleep 4
t1=$(last_ok)
c1=$(cpu)
ticks=$(getconf CLK_TCK)
if [ -n "$t0" ] && [ -n "$t1" ] && "$PY" -c "import sys; sys.exit(not $t1 > $t0)"; then
        pass fd-exhaustion-real-process-fresh
else
        fail fd-exhaustion-real-process-fresh "last_ok of pid $real: '$t0' then '$t1'"
fi
if timeout 6 "$PY" "$here/dtool.py" get "$url/metrics" >"$work/metrics.out" 2>/dev/null &&
        grep -q "^liballoc_allocated_bytes{pid=\"$real\"" "$work/metrics.out"; then
        pass fd-exhaustion-new-client-answered
else
        fail fd-exhaustion-new-client-answered "no /metrics with pid $real for a new client"
fi
# Less than half a core over those 4 s: no loop on accept() failing.
if [ -n "$c0" ] && [ -n "$c1" ] && [ $((c1 - c0)) -lt $((ticks * 2)) ]; then
        pass fd-exhaustion-no-spin
else
        fail fd-exhaustion-no-spin "jemctld used $((c1 - c0)) ticks of CPU in 4 s"
fi
if kill -0 "$dpid" 2>/dev/null; then
        pass fd-exhaustion-alive
else
        fail fd-exhaustion-alive "jemctld ended: $(tail -3 "$work/jemctld.log")"
fi
[ $fails -eq 0 ] || tail -5 "$work/jemctld.log"
[ $fails -eq 0 ]
