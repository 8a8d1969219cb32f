#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-2-Clause
# jemctld's configuration file (jemctld(8)): the settings of a file take effect, a flag
# overrides the file, bad files stop the daemon with FILE:LINE and status 2, the example
# file names every option with its default and the man page documents every key; and
# inotify: a process is seen at once although the scan interval is long, its departure
# too, and a runtime directory removed and made again is watched again.  About 10 s,
# killed at 40 s.   tests/daemon/config.sh BUILD_DIR
set -u
B=$(cd "${1:?usage: tests/daemon/config.sh BUILD_DIR}" && pwd)
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=tests/daemon/lib.sh
. "$here/lib.sh" # LIB, D, pass/fail/skip and the set-up below
src=$(cd "$here/../.." && pwd)
WL=$B/tools/live_workload
tool="python3 $here/dtool.py"

need_files config "$D" "$WL" "$LIB"
make_work daemon config
start_watchdog config 40

# 1. bad files: exit status 2 and a message naming FILE:LINE.
bad() { # name expected-message-regex file-content
        local name=$1 re=$2
        printf '%b' "$3" >"$work/$name.conf"
        out=$("$D" --config "$work/$name.conf" --runtime-dir "$rt" 2>&1 >/dev/null)
        rc=$?
        if [ $rc = 2 ] && [[ "$out" =~ $re ]]; then
                pass "config-$name"
        else
                fail "config-$name" "exit $rc, message: $out"
        fi
}
bad unknown-key "$work/unknown-key.conf:3: unknown key \"intervall\"" \
        '# a comment\n\nintervall = 5\n'
bad bad-number "$work/bad-number.conf:2: bad --interval: soon" 'timeout = 1\ninterval = soon\n'
bad bad-inflight "$work/bad-inflight.conf:1: bad --max-inflight: 0" 'max-inflight = 0\n'
bad bad-bool "$work/bad-bool.conf:1: http-any: \"maybe\" is not a boolean" 'http-any = maybe\n'
bad no-equals "$work/no-equals.conf:2: expected \"key = value\"" 'interval = 1\ninterval 5\n'
bad no-value "$work/no-value.conf:1: timeout: missing value" 'timeout =   # none\n'
bad bad-http "$work/bad-http.conf:1: bad --http address" 'http = nowhere\n'
bad not-loopback "$work/not-loopback.conf:1: 192.0.2.1 is not a loopback" 'http = 192.0.2.1:9\n'
bad config-key "$work/config-key.conf:1: unknown key \"config\"" 'config = /etc/x\n'
bad bad-allow-host "$work/bad-allow-host.conf:2: bad --allow-host: evil/name" \
        'allow-host = ok.example\nallow-host = evil/name\n'
bad bad-governor "$work/bad-governor.conf:1: bad --governor: maybe \\(on, dry-run or off\\)" \
        'governor = maybe\n'
bad bad-governor-pct "$work/bad-governor-pct.conf:2: bad --governor-trigger: 120%" \
        'governor = dry-run\ngovernor-trigger = 120%\n'
bad governor-target-above "--governor-target \\(95%\\) must be below --governor-trigger" \
        'governor-target = 95%\n'
out=$("$D" --config "$work/missing.conf" 2>&1)
rc=$?
if [ $rc = 2 ] && [[ "$out" == *"cannot read the configuration file $work/missing.conf"* ]]; then
        pass config-missing-file
else
        fail config-missing-file "exit $rc: $out"
fi

# 2. the file's settings take effect; a flag overrides the file.
port=$(free_port)
port2=$(free_port)
cat >"$work/good.conf" <<EOF2
# every kind of line
runtime-dir = $rt
http = 127.0.0.1:$port2   # overridden below
  interval = 600
timeout=2
http-any = no
max-inflight = 4
allow-host = one.example
allow-host = Two.Example
EOF2
"$D" --config "$work/good.conf" --http "127.0.0.1:$port" 2>"$work/d1.log" &
d1=$!
pids+=($d1)
url=http://127.0.0.1:$port
if $tool wait "$url/metrics" 5 "value(m, 'jemctld_up') == 1" 2>/dev/null &&
        ! $tool status "http://127.0.0.1:$port2/metrics" >/dev/null 2>&1 &&
        grep -q "watching $rt every 600 s" "$work/d1.log" &&
        grep -q "settings from $work/good.conf" "$work/d1.log"; then
        pass config-file-and-flags
else
        fail config-file-and-flags "$(tr '\n' ' ' <"$work/d1.log")"
fi
# allow-host, repeated in the file: each name is answered, another one is 421.
hosts=$($tool raw-hosts 127.0.0.1 "$port" /metrics "one.example:$port" two.example \
        "three.example:$port" | tr '\n' ' ')
if [ "$hosts" = "one.example:$port 200 - two.example 200 - three.example:$port 421 bad_host " ]; then
        pass config-allow-host
else
        fail config-allow-host "$hosts"
fi

# 3. inotify: with a 600 s scan interval, a new process shows up (polled) within 2 s,
# and disappears within 2 s of its end.  Forty HTTP requests first: the descriptors of the
# connections they closed are reused by the poll's, and an event left registered on one
# of them would never be delivered.
for _ in $(seq 40); do
        $tool get "$url/metrics" >/dev/null
done
preload w1 "$WL" 16 30
if $tool wait "$url/metrics" 3 "'$w1' in pids"; then
        pass daemon-inotify-arrival
else
        fail daemon-inotify-arrival "pid $w1 not polled within 3 s with --interval 600"
        cat "$work/d1.log"
fi
kill -TERM "$w1"
{ wait "$w1"; } 2>/dev/null
if $tool wait "$url/metrics" 3 "'$w1' not in pids and value(m, 'jemctld_processes') == 0"; then
        pass daemon-inotify-departure
else
        fail daemon-inotify-departure "pid $w1 still listed 3 s after it exited"
        cat "$work/d1.log"
fi

# 4. the directory removed and made again: watched again (a new process seen at once).
rm -rf "$rt"
sleep 0.3
mkdir -m 0700 "$rt"
sleep 1.5 # the watch is re-added within a second
preload w2 "$WL" 16 30
if $tool wait "$url/metrics" 3 "'$w2' in pids"; then
        pass daemon-inotify-dir-recreated
else
        fail daemon-inotify-dir-recreated "pid $w2 not seen within 3 s after the directory came back"
        cat "$work/d1.log"
fi
kill -TERM "$d1" "$w2"
{ wait "$d1" "$w2"; } 2>/dev/null

# 5. a restarted daemon finds the running processes again (the scan at start).
preload w3 "$WL" 16 30
wait_sockets "$w3"
"$D" --config "$work/good.conf" --http "127.0.0.1:$port" 2>"$work/d2.log" &
d2=$!
pids+=($d2)
if $tool wait "$url/metrics" 3 "'$w3' in pids"; then
        pass daemon-restart-rediscovers
else
        fail daemon-restart-rediscovers "pid $w3 not found by a fresh daemon"
fi
kill -TERM "$d2" "$w3"
{ wait "$d2" "$w3"; } 2>/dev/null

# 6. the example file: accepted, and names every option with its default; the man page
# documents every key.
example=$src/jemctld/jemctld.conf
man=$src/docs/man/jemctld.8
out=$("$D" --config "$example" --help 2>&1)
rc=$?
keys=$("$D" --help | grep -o '^  --[a-z-]*' | sed 's/^  --//' | grep -vx 'config\|help\|version')
missing=""
for k in $keys; do
        grep -Eq "^#? ?$k = " "$example" || missing="$missing example:$k"
        grep -q "^\\.BI\\? \\\\-\\\\-${k//-/\\\\-}" "$man" ||
                grep -q "^\\.BR\\? \\\\-\\\\-${k//-/\\\\-}" "$man" || missing="$missing man:$k"
done
defaults_ok=1
grep -q '^http = 127.0.0.1:9464$' "$example" && grep -q '^interval = 10$' "$example" &&
        grep -q '^timeout = 2$' "$example" && grep -q '^max-inflight = 32$' "$example" ||
        defaults_ok=0
if [ $rc = 0 ] && [ -z "$missing" ] && [ $defaults_ok = 1 ] && [ -n "$keys" ]; then
        pass config-example-and-man-complete
else
        fail config-example-and-man-complete "exit $rc ($out), missing:$missing, defaults $defaults_ok"
fi

[ $fails -eq 0 ]
