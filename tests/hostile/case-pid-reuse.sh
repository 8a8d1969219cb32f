#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-2-Clause
# Trust by pid reuse (docs/security.md, "The client's side"): uid 65534 listens on
# <A>.sock in the shared runtime directory, hands the listening socket to a child and
# exits; a root process then gets pid A.  SO_PEERCRED still names A, so a client that
# trusts the pid alone would present the attacker's answers (comm "sshd", uid 0,
# ssh.service) as that root process.  jemctld must not list it and root's jemctl must
# refuse it.
set -u
B=$(cd "${1:?usage: case-pid-reuse.sh BUILD_DIR}" && pwd)
# shellcheck source=tests/hostile/lib.sh
. "$(dirname "$0")/lib.sh"
tool="python3 $here/dtool.py"
need_files hostile-pid-reuse "$D" "$J"
need_root hostile-pid-reuse
make_work hostile pid-reuse shared
dpid=""
start_watchdog hostile-pid-reuse 60

port=$(free_port)
url=http://127.0.0.1:$port
"$D" --runtime-dir "$rt" --http "127.0.0.1:$port" --interval 1 --timeout 2 --bus none \
        2>"$work/jemctld.log" &
dpid=$!

A=$(as_nobody /usr/bin/python3 "$hostile/attacker.py" reuse "$rt")
if ! [[ "$A" =~ ^[0-9]+$ ]] || [ ! -S "$rt/$A.sock" ]; then
        fail pid-reuse-setup "the attacker did not leave $rt/<pid>.sock: '$A'"
        exit 1
fi
# The attacker's listener lives on in its child (reparented, so not in pids).
cleanup_kill() { pkill -KILL -u 65534 -f "attacker.py reuse $rt" 2>/dev/null; }
if ! got=$(python3 "$hostile/attacker.py" claim "$A" sleep 60 2>&1) || [ "$got" != "pid $A" ]; then
        skip pid-reuse "could not make a root process of pid $A (/proc/sys/kernel/ns_last_pid): $got"
        exit 0
fi
pids+=("$A")
[ "$(stat -c %u "/proc/$A")" = 0 ] || fail pid-reuse-setup "pid $A is not root's"

sleep 3 # three polls
api=$($tool get "$url/api/v1/processes")
if echo "$api" | check "not any(p['pid'] == $A for p in d)"; then
        pass daemon-pid-reuse-not-listed
else
        fail daemon-pid-reuse-not-listed "the attacker's answers shown as root's pid $A: $api"
fi
if ! $tool get "$url/metrics" | grep -q "pid=\"$A\""; then
        pass daemon-pid-reuse-no-metrics
else
        fail daemon-pid-reuse-no-metrics "/metrics has series of pid $A"
fi
if grep -q "pid $A: .*not trusted.*uid 65534" "$work/jemctld.log"; then
        pass daemon-pid-reuse-logged
else
        fail daemon-pid-reuse-logged "no 'not trusted' line naming uid 65534: $(tail -3 "$work/jemctld.log")"
fi
out=$("$J" --runtime-dir "$rt" info "$A" 2>&1)
rc=$?
if [ $rc = 3 ] && echo "$out" | grep -q "not trusted" && ! echo "$out" | grep -q sshd; then
        pass jemctl-pid-reuse-refused
else
        fail jemctl-pid-reuse-refused "rc=$rc: $out"
fi
exit $((fails > 0))
