#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-2-Clause
# Squatting, from the clients' side: uid 65534 listens on <P>.sock in the shared runtime
# directory before root's process P starts, so P serves <P>.<16 hex>.sock (case-squat.sh
# checks that side).  jemctld must still list and poll P through its other name, jemctl
# must reach it by pid at once (the squatter's full listen queue delays nothing) and list
# it once, and the squatter removing its own file must not
# make jemctld drop P (docs/security.md, "The client's side").
set -u
B=$(cd "${1:?usage: case-squat-clients.sh BUILD_DIR}" && pwd)
# shellcheck source=tests/hostile/lib.sh
. "$(dirname "$0")/lib.sh"
tool="python3 $here/dtool.py"
WL=$B/tools/live_workload
need_files hostile-squat-clients "$D" "$J" "$WL" "$LIB"
need_root hostile-squat-clients
make_work hostile squat-clients shared
dpid=""
start_watchdog hostile-squat-clients 60

# P: a root shell that stops itself, then execs the workload (its pid known first).
# shellcheck disable=SC2016 # expanded by the inner shell
bash -c 'kill -STOP $$; exec env JEMCTL_RUNTIME_DIR="$0" LD_PRELOAD="$1" "$2" 16 60' \
        "$rt" "$LIB" "$WL" >"$work/p.out" 2>"$work/p.err" &
P=$!
pids+=("$P")
for _ in $(seq 100); do
        [ "$(cut -d' ' -f3 "/proc/$P/stat" 2>/dev/null)" = T ] && break
        sleep 0.05
done
# The squatter: a listening socket of uid 65534 at <P>.sock that never accepts, its
# listen queue kept full (a connection to it would wait for ever).
setpriv --reuid 65534 --regid 65534 --clear-groups /usr/bin/python3 -c '
import socket, sys, time
s = socket.socket(socket.AF_UNIX); s.bind(sys.argv[1]); s.listen(1)
held = []
for _ in range(8):
    c = socket.socket(socket.AF_UNIX); c.setblocking(False)
    try:
        c.connect(sys.argv[1])
    except OSError:
        pass
    held.append(c)
time.sleep(60)' "$rt/$P.sock" &
pids+=($!)
for _ in $(seq 100); do
        [ -S "$rt/$P.sock" ] && break
        sleep 0.05
done
kill -CONT "$P"
alt=""
for _ in $(seq 100); do
        for f in "$rt/$P".*.sock; do
                [ -S "$f" ] && alt=$f
        done
        [ -n "$alt" ] && break
        sleep 0.05
done
if [ -z "$alt" ]; then
        fail squat-clients-setup "P=$P serves no other name: $(cat "$work/p.err")"
        exit 1
fi

port=$(free_port)
url=http://127.0.0.1:$port
"$D" --runtime-dir "$rt" --http "127.0.0.1:$port" --interval 1 --timeout 2 --bus none \
        2>"$work/jemctld.log" &
dpid=$!
if $tool wait "$url/metrics" 10 "'$P' in pids" >/dev/null &&
        $tool get "$url/api/v1/processes" | check "[p for p in d if p['pid'] == $P][0]['info']['socket'] == '$alt'"; then
        pass daemon-squatted-pid-found
else
        fail daemon-squatted-pid-found "pid $P not polled through $alt: $(tail -3 "$work/jemctld.log")"
fi
t0=$(date +%s%N)
out=$("$J" --runtime-dir "$rt" info "$P" 2>&1)
ms=$((($(date +%s%N) - t0) / 1000000))
if echo "$out" | grep -q "socket: *$alt" && [ $ms -lt 2000 ]; then
        pass jemctl-squatted-pid-reached
else
        fail jemctl-squatted-pid-reached "${ms} ms: $out"
fi
n=$("$J" --runtime-dir "$rt" --no-daemon ps 2>/dev/null | awk -v p="$P" '$1 == p' | wc -l)
if [ "$n" = 1 ]; then
        pass jemctl-squatted-pid-listed-once
else
        fail jemctl-squatted-pid-listed-once "pid $P listed $n times by jemctl ps"
fi
# The squatter removes its file: P stays.
as_nobody rm -f "$rt/$P.sock"
sleep 2.2
if $tool get "$url/api/v1/processes" | check "any(p['pid'] == $P and p['error'] is None for p in d)"; then
        pass daemon-squatter-leaving-keeps-pid
else
        fail daemon-squatter-leaving-keeps-pid "pid $P dropped: $(tail -3 "$work/jemctld.log")"
fi
exit $((fails > 0))
