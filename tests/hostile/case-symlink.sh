#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-2-Clause
# Symbolic links in the shared runtime directory (docs/security.md): uid 65534 links
# <V>.sock in the shared directory (1777, like /run/jemctl) to the private socket of
# another user's process V (its own 0700 runtime directory).  Root's jemctld and jemctl
# must never follow the link: V's command line (holding a password) must not be
# published, and jemctl must call the file untrusted.
set -u
B=$(cd "${1:?usage: case-symlink.sh BUILD_DIR}" && pwd)
# shellcheck source=tests/hostile/lib.sh
. "$(dirname "$0")/lib.sh"
tool="python3 $here/dtool.py"
WL=$B/tools/live_workload
need_files hostile-symlink "$D" "$J" "$WL" "$LIB"
need_root hostile-symlink
make_work hostile symlink shared
dpid=""
start_watchdog hostile-symlink 60

# The victim: root's process in a private runtime directory.
priv=$work/private
mkdir -m 0700 "$priv"
JEMCTL_RUNTIME_DIR=$priv LD_PRELOAD=$LIB "$WL" 16 60 --password=hunter2 >"$work/victim.out" 2>&1 &
V=$!
pids+=("$V")
for _ in $(seq 100); do
        [ -S "$priv/$V.sock" ] && break
        sleep 0.1
done
[ -S "$priv/$V.sock" ] || fail symlink-setup "the victim has no socket in $priv"
as_nobody ln -s "$priv/$V.sock" "$rt/$V.sock" || fail symlink-setup "uid 65534 could not link"

port=$(free_port)
url=http://127.0.0.1:$port
"$D" --runtime-dir "$rt" --http "127.0.0.1:$port" --interval 1 --timeout 2 --bus none \
        2>"$work/jemctld.log" &
dpid=$!
$tool wait "$url/metrics" 10 "True" >/dev/null || fail symlink-setup "jemctld did not answer"
sleep 2.5 # a scan and two polls
api=$($tool get "$url/api/v1/processes")
if echo "$api" | check "not any(p['pid'] == $V for p in d)" && ! echo "$api" | grep -q hunter2; then
        pass daemon-symlink-not-followed
else
        fail daemon-symlink-not-followed "the victim's process was published through the link: $api"
fi
if grep -q "pid $V: .*not trusted.*symbolic link" "$work/jemctld.log"; then
        pass daemon-symlink-logged
else
        fail daemon-symlink-logged "$(tail -3 "$work/jemctld.log")"
fi
out=$("$J" --runtime-dir "$rt" info "$V" 2>&1)
rc=$?
if [ $rc = 3 ] && echo "$out" | grep -q "symbolic link" && ! echo "$out" | grep -q hunter2; then
        pass jemctl-symlink-not-followed
else
        fail jemctl-symlink-not-followed "rc=$rc: $out"
fi
# The victim itself is fine, through its own directory.
if "$J" --runtime-dir "$priv" info "$V" 2>&1 | grep -q live_workload; then
        pass symlink-victim-reachable-directly
else
        fail symlink-victim-reachable-directly "jemctl info through $priv failed"
fi
exit $((fails > 0))
