#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-2-Clause
# The `remote` kind: jemctl -H [USER@]HOST[:PORT] (jemctl(1), REMOTE HOSTS) against two
# real sshd servers on 127.0.0.1 standing for two hosts: each with a throw-away host key,
# a user key, and its own runtime directory (sshd's SetEnv), a live workload under
# LD_PRELOAD in each.  Checks: ps, stats, get, decay by --comm and prof dump through the
# bridge (`jemctl bridge` on the far side, speaking over ssh's standard input and
# output); two hosts give one table with a HOST column and one JSON document; a user
# of another uid reaches its own process and is refused root's (the remote side's
# SO_PEERCRED); an unknown host, a missing jemctl there, a malformed -H, and a hostile
# bridge (oversized frames, garbage, impossible statuses) end with a clear error and the
# right exit status.  Root only (sshd); about 10 s, killed at 120 s.
#   tests/control/remote.sh BUILD_DIR
set -u
B=$(cd "${1:?usage: tests/control/remote.sh BUILD_DIR}" && pwd)
here=$(cd "$(dirname "$0")" && pwd)
LIB=${LIBALLOC:-$B/liballoc/liballoc.so}
JC=$B/jemctl/jemctl
WL=$B/tools/live_workload
fails=0
pass() { echo "PASS: $1"; }
fail() { echo "FAIL: $1: $2"; fails=$((fails + 1)); }
skip() { echo "SKIP: $1: $2"; }
for f in "$LIB" "$JC" "$WL"; do
        [ -e "$f" ] || { echo "FAIL: remote-setup: $f is missing (build first)"; exit 1; }
done
SSHD=$(command -v sshd || echo /usr/sbin/sshd)
if [ "$(id -u)" != 0 ]; then
        skip remote-all "needs root (sshd, a second user)"
        exit 0
fi
for t in "$SSHD" ssh ssh-keygen setpriv python3; do
        command -v "$t" >/dev/null || [ -x "$t" ] ||
                { echo "FAIL: remote-setup: $t is not installed (tools/deps.sh test installs it)"; exit 1; }
done
mkdir -p "$B/tests-tmp/remote"
work=$(mktemp -d "$B/tests-tmp/remote/run.XXXXXX")
chmod 755 "$work"
pids=()
cleanup() {
        for p in "${pids[@]}"; do kill -KILL "$p" 2>/dev/null; done
        for f in "$work"/sshd*.pid; do [ -f "$f" ] && kill "$(cat "$f")" 2>/dev/null; done
        [ -n "${watchdog:-}" ] && kill "$watchdog" 2>/dev/null
        wait 2>/dev/null
        rm -rf "$work"
}
trap cleanup EXIT
trap 'echo "FAIL: remote-timeout: the runner ran past 120 s"; exit 1' USR1
(
        trap 'kill $s 2>/dev/null; exit 0' TERM
        sleep 120 &
        s=$!
        wait $s && kill -USR1 $$
) 2>/dev/null &
watchdog=$!

# ---- two "hosts": sshd on two ports, each with its own runtime directory --------------
ssh-keygen -q -t ed25519 -N '' -f "$work/hostkey"
ssh-keygen -q -t ed25519 -N '' -f "$work/userkey"
cp "$work/userkey.pub" "$work/authorized_keys"
chmod 644 "$work/authorized_keys"
mkdir -p /run/sshd
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
# A user of another uid, for the remote side's own authorization.
user=jemctlremote
id "$user" >/dev/null 2>&1 || useradd -M -s /bin/sh -d /nonexistent "$user" 2>/dev/null
usermod -p '*' "$user" 2>/dev/null # no password, but not locked: sshd lets keys in
uid=$(id -u "$user" 2>/dev/null)
: >"$work/known_hosts"
for h in 1 2; do
        mkdir -m 1777 "$work/rt$h" # shared, as /run/jemctl
        port=$(free_port)
        eval "port$h=$port"
        cat >"$work/sshd$h.conf" <<EOF
Port $port
ListenAddress 127.0.0.1
HostKey $work/hostkey
AuthorizedKeysFile $work/authorized_keys
PasswordAuthentication no
KbdInteractiveAuthentication no
PermitRootLogin prohibit-password
StrictModes no
UsePAM no
PidFile $work/sshd$h.pid
SetEnv JEMCTL_RUNTIME_DIR=$work/rt$h
EOF
        "$SSHD" -f "$work/sshd$h.conf" -E "$work/sshd$h.log" ||
                { echo "FAIL: remote-setup: sshd would not start: $(tail -2 "$work/sshd$h.log")"; exit 1; }
        echo "[127.0.0.1]:$port $(cut -d' ' -f1,2 "$work/hostkey.pub")" >>"$work/known_hosts"
done
cat >"$work/ssh_config" <<EOF
Host *
  IdentityFile $work/userkey
  IdentitiesOnly yes
  UserKnownHostsFile $work/known_hosts
  StrictHostKeyChecking yes
EOF
# The other user's own copy of the key and of the configuration (ssh wants a key only its
# owner can read).
cp "$work/userkey" "$work/userkey.other"
sed "s|$work/userkey|$work/userkey.other|" "$work/ssh_config" >"$work/ssh_config.other"
chown "$uid" "$work/userkey.other" "$work/ssh_config.other"
chmod 600 "$work/userkey.other"
export JEMCTL_SSH="ssh -F $work/ssh_config" JEMCTL_REMOTE_COMMAND=$JC
H1=127.0.0.1:$port1
H2=127.0.0.1:$port2
for _ in $(seq 50); do
        ssh -F "$work/ssh_config" -p "$port1" 127.0.0.1 true 2>/dev/null &&
                ssh -F "$work/ssh_config" -p "$port2" 127.0.0.1 true 2>/dev/null && break
        sleep 0.1
done

start() { # NAME RTDIR [nobody] ARGS...: a workload in RTDIR
        local name=$1 dir=$2 as=()
        shift 2
        if [ "${1:-}" = other ]; then
                as=(setpriv --reuid "$uid" --regid "$uid" --clear-groups)
                shift
        fi
        "${as[@]}" env JEMCTL_RUNTIME_DIR="$dir" LD_PRELOAD="$LIB" "$@" >"$work/$name.out" 2>&1 &
        pids+=($!)
        eval "$name=$!"
}
start wa "$work/rt1" "$WL" 16 100
start wb "$work/rt2" "$WL" 24 100
start wo "$work/rt1" other "$WL" 8 100
for _ in $(seq 100); do
        [ -S "$work/rt1/$wa.sock" ] && [ -S "$work/rt2/$wb.sock" ] && [ -S "$work/rt1/$wo.sock" ] && break
        sleep 0.1
done
jc() { "$JC" "$@" 2>"$work/err"; }

# ---- 1. one host: the verbs through the bridge ----------------------------------------------
out=$(jc -H "$H1" ps)
rc=$?
if [ $rc = 0 ] && printf '%s\n' "$out" | grep -q "^ *$wa  live_workload" &&
        ! printf '%s\n' "$out" | grep -q "^ *$wb " && ! printf '%s\n' "$out" | grep -q HOST; then
        pass remote-ps
else
        fail remote-ps "rc $rc: $out $(cat "$work/err")"
fi
if jc -H "root@$H1" --json stats "$wa" | python3 -c 'import json,sys
d = json.load(sys.stdin); sys.exit(0 if d["pid"] == '"$wa"' and d["resident"] > 0 else 1)' &&
        [ "$(jc -H "$H2" get "$wb" opt.narenas | awk '{print $1}')" = opt.narenas ]; then
        pass remote-stats-get
else
        fail remote-stats-get "$(cat "$work/err")"
fi
# decay by selector on that host only; the other host's process keeps its setting.
if jc -H "$H2" decay --comm live_workload 0 >"$work/decay.out" &&
        grep -q "pid $wb: dirty_decay_ms=0" "$work/decay.out" &&
        [ "$(JEMCTL_RUNTIME_DIR=$work/rt2 "$JC" get "$wb" arena.0.dirty_decay_ms | awk '{print $3}')" = 0 ] &&
        [ "$(JEMCTL_RUNTIME_DIR=$work/rt1 "$JC" get "$wa" arena.0.dirty_decay_ms | awk '{print $3}')" != 0 ]; then
        pass remote-decay-selector
else
        fail remote-decay-selector "$(cat "$work/decay.out" "$work/err")"
fi
# A profile dump: the descriptor's content crosses the channel whole.
jc -H "$H1" prof "$wa" on --lg-sample 12 >/dev/null
sleep 1.2
if jc -H "$H1" prof "$wa" dump -o "$work/remote.heap" >/dev/null &&
        JEMCTL_RUNTIME_DIR=$work/rt1 "$JC" prof "$wa" dump -o "$work/local.heap" >/dev/null &&
        head -1 "$work/remote.heap" | grep -q '^heap_v2/4096' &&
        grep -q 'MAPPED_LIBRARIES' "$work/remote.heap" &&
        [ "$(jc -H "$H1" prof "$wa" dump --format svg -o "$work/x.svg"; echo $?)" = 2 ]; then
        pass remote-prof-dump
else
        fail remote-prof-dump "$(head -2 "$work/remote.heap" 2>&1) $(cat "$work/err")"
fi

# ---- 2. two hosts: one table with a HOST column, one JSON document ---------------------------
out=$(jc -H "$H1,$H2" ps)
if printf '%s\n' "$out" | head -1 | grep -q '^HOST  *PID  *COMMAND' &&
        printf '%s\n' "$out" | grep -q "^$H1  *$wa  live_workload" &&
        printf '%s\n' "$out" | grep -q "^$H2  *$wb  live_workload" &&
        [ "$(printf '%s\n' "$out" | grep -c HOST)" = 1 ]; then
        pass remote-two-hosts-table
else
        fail remote-two-hosts-table "$out"
fi
if jc --json -H "$H1,$H2" ps | python3 -c 'import json,sys
d = json.load(sys.stdin)
hosts = [x["host"] for x in d]
pids = {x["host"]: [p["pid"] for p in x["results"][0]] for x in d}
sys.exit(0 if hosts == ["'"$H1"'", "'"$H2"'"] and '"$wb"' in pids["'"$H2"'"] and
         '"$wa"' in pids["'"$H1"'"] and all(x["status"] == 0 for x in d) else 1)'; then
        pass remote-two-hosts-json
else
        fail remote-two-hosts-json "$(jc --json -H "$H1,$H2" ps | head -c 300)"
fi
# The order of the list, whatever order the hosts answer in; a host that cannot be
# reached is named and makes the status, the others' rows still come.
out=$(jc -H "$H2,127.0.0.1:1,$H1" ps)
rc=$?
if [ $rc = 3 ] && printf '%s\n' "$out" | sed -n 2p | grep -q "^$H2 " &&
        printf '%s\n' "$out" | sed -n 3p | grep -q "^$H1 " &&
        grep -q "127.0.0.1:1: cannot reach jemctl there" "$work/err"; then
        pass remote-hosts-order-and-failure
else
        fail remote-hosts-order-and-failure "rc $rc: $out $(cat "$work/err")"
fi
out=$(jc -H "$H1,$H2" decay --comm live_workload 10000)
if printf '%s\n' "$out" | grep -q "^$H1  pid $wa: dirty_decay_ms=10000" &&
        printf '%s\n' "$out" | grep -q "^$H2  pid $wb: dirty_decay_ms=10000"; then
        pass remote-two-hosts-decay
else
        fail remote-two-hosts-decay "$out $(cat "$work/err")"
fi

# ---- 3. authorization is the remote user's own -------------------------------------------
if as=$(setpriv --reuid "$uid" --regid "$uid" --clear-groups env HOME="$work" \
        JEMCTL_SSH="ssh -F $work/ssh_config.other" JEMCTL_REMOTE_COMMAND="$JC" "$JC" -H "$user@$H1" stats "$wo" 2>&1) &&
        printf '%s\n' "$as" | grep -q "pid $wo" &&
        ! setpriv --reuid "$uid" --regid "$uid" --clear-groups env HOME="$work" \
                JEMCTL_SSH="ssh -F $work/ssh_config.other" JEMCTL_REMOTE_COMMAND="$JC" "$JC" -H "$user@$H1" stats "$wa" \
                >/dev/null 2>"$work/err2"; then
        rc=$(setpriv --reuid "$uid" --regid "$uid" --clear-groups env HOME="$work" \
                JEMCTL_SSH="ssh -F $work/ssh_config.other" JEMCTL_REMOTE_COMMAND="$JC" "$JC" -H "$user@$H1" \
                stats "$wa" >/dev/null 2>&1; echo $?)
        if [ "$rc" = 4 ] && grep -q "permission denied" "$work/err2"; then
                pass remote-other-user
        else
                fail remote-other-user "exit $rc: $(cat "$work/err2")"
        fi
else
        fail remote-other-user "$as $(cat "$work/err2" 2>/dev/null)"
fi

# ---- 4. bad hosts and hostile bridges --------------------------------------------------------
bad=""
expect() { # STATUS WORDS-IN-STDERR -- ARGS...
        local want=$1 words=$2 got
        shift 3
        "$@" >/dev/null 2>"$work/err"
        got=$?
        [ "$got" = "$want" ] && grep -q -- "$words" "$work/err" || bad="$bad [$* -> $got: $(head -c 200 "$work/err")]"
}
expect 2 "is not \\[USER@\\]HOST" -- "$JC" -H '-oProxyCommand=touch /tmp/x' ps
expect 2 "is not \\[USER@\\]HOST" -- "$JC" -H '127.0.0.1:99999' ps
expect 2 "is not \\[USER@\\]HOST" -- "$JC" -H 'a b' ps
expect 3 "cannot reach jemctl there" -- "$JC" -H "127.0.0.1:1" ps
expect 3 "cannot reach jemctl there" -- env JEMCTL_REMOTE_COMMAND=/nonexistent/jemctl "$JC" -H "$H1" ps
expect 3 "no such process" -- "$JC" -H "$H1" stats 999999999
expect 2 "does not apply with -H" -- "$JC" -H "$H1" ps --clean
expect 2 "not with it" -- "$JC" -H "$H1" bridge
for mode in huge garbage status eof fd; do
        expect 3 "bridge" -- env JEMCTL_REMOTE_COMMAND="python3 $here/fakebridge.py $mode" \
                "$JC" -H "$H1" stats "$wa"
done
expect 1 "malformed answer from the control socket" -- \
        env JEMCTL_REMOTE_COMMAND="python3 $here/fakebridge.py pids" "$JC" -H "$H1" stats "$wa"
expect 1 "malformed answer from the bridge" -- \
        env JEMCTL_REMOTE_COMMAND="python3 $here/fakebridge.py pids" "$JC" -H "$H1" ps
if [ -z "$bad" ] && [ ! -e /tmp/x ]; then
        pass remote-bad-hosts-and-bridges
else
        fail remote-bad-hosts-and-bridges "$bad"
fi
# The bridge alone: a frame over 1 MiB or an unknown type ends it; nothing on stdout.
if printf '\377\377\377\377' | "$JC" bridge >"$work/b.out" 2>"$work/b.err" &&
        [ ! -s "$work/b.out" ] && grep -q "over 1 MiB" "$work/b.err" &&
        printf '\000\000\000\001Z' | "$JC" bridge >"$work/b.out" 2>"$work/b.err" &&
        [ ! -s "$work/b.out" ] && grep -q "unknown request type" "$work/b.err"; then
        pass remote-bridge-input
else
        fail remote-bridge-input "$(cat "$work/b.err")"
fi

[ $fails -eq 0 ]
