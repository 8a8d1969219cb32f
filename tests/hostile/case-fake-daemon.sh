#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-2-Clause
# A fake jemctld: while the real one is down, uid 65534 listens on jemctl's daemon address
# and answers every selector query with the pid of an unrelated root process.  Root's
# `jemctl set --comm NAME ...` must not believe it: the victim keeps its value, the real
# process named NAME is changed (jemctl scans by itself), and jemctl says on stderr which
# uid served the address.  Both ways of naming the daemon ($JEMCTLD_URL and --daemon).
# About 5 s.   tests/hostile/case-fake-daemon.sh BUILD_DIR
set -u
B=$(cd "${1:?usage: tests/hostile/case-fake-daemon.sh BUILD_DIR}" && pwd)
# shellcheck source=tests/hostile/lib.sh
. "$(dirname "$0")/lib.sh"
WL=$B/tools/live_workload
PY=$(command -v /usr/bin/python3 || command -v python3)
need_root fake-daemon
need_files fake-daemon "$J" "$WL" "$LIB"
make_work hostile fake-daemon shared
export JEMCTL_RUNTIME_DIR=$rt
unset JEMCTLD_URL
start_watchdog fake-daemon 40

# The process the user names, and an unrelated one of root's: both plain workloads.
cp "$WL" "$work/my-worker"
cp "$WL" "$work/root-other"
chmod 755 "$work/my-worker" "$work/root-other"
preload mine "$work/my-worker" 8 35
preload victim "$work/root-other" 8 35
if ! wait_sockets "$mine" "$victim"; then
        fail fake-daemon-setup "the workloads' sockets did not appear"
        exit 1
fi

# The fake daemon, as uid 65534: every query gets the victim's pid, for root's directory.
# (setpriv execs: $! is the python, which the cleanup kills.)
fport=$(free_port)
setpriv --reuid 65534 --regid 65534 --clear-groups "$PY" "$hostile/attacker.py" daemon \
        "$fport" "$rt" "$victim" >"$work/fake.log" 2>&1 &
pids+=($!)
# wait_port PORT: up to 5 s for something to accept on 127.0.0.1:PORT.
wait_port() {
        for _ in $(seq 50); do
                (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0
                sleep 0.1
        done
        return 1
}
wait_port "$fport" || fail fake-daemon-setup "the fake daemon does not listen"

get_decay() { "$J" get "$1" arenas.dirty_decay_ms 2>/dev/null | awk '{print $3}'; }

# try NAME VALUE ARGS...: root's jemctl ARGS set --comm my-worker arenas.dirty_decay_ms=VALUE
try() {
        local name=$1 value=$2 before after got out
        shift 2
        before=$(get_decay "$victim")
        out=$("$@" set --comm my-worker arenas.dirty_decay_ms="$value" 2>&1)
        after=$(get_decay "$victim")
        got=$(get_decay "$mine")
        if [ -n "$before" ] && [ "$before" = "$after" ] && [ "$got" = "$value" ] &&
                [[ "$out" == *"served by uid 65534"* ]] && [[ "$out" == *"pid $mine:"* ]]; then
                pass "$name"
        else
                fail "$name" "victim $before -> $after, my-worker $got (want $value): $out"
        fi
}
try fake-daemon-env -1 env JEMCTLD_URL="http://127.0.0.1:$fport" "$J"
try fake-daemon-option 4321 "$J" --daemon "http://127.0.0.1:$fport"

# A root-owned daemon at the same kind of address is still asked (the rule is the owner).
rport=$(free_port)
python3 "$hostile/attacker.py" daemon "$rport" "$rt" "$mine" >"$work/root.log" 2>&1 &
pids+=($!)
wait_port "$rport" || fail fake-daemon-setup "root's stand-in does not listen"
out=$("$J" --daemon "http://127.0.0.1:$rport" set --comm my-worker arenas.dirty_decay_ms=777 2>&1)
if grep -q "^asked /api/v1/select" "$work/root.log" && [ "$(get_decay "$mine")" = 777 ] &&
        [[ "$out" != *"not trusted"* ]]; then
        pass fake-daemon-root-daemon-trusted
else
        fail fake-daemon-root-daemon-trusted "root's stand-in was not asked: $out"
fi

[ $fails -eq 0 ]
