#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-2-Clause
# Hostile case: a web page of another site reaching jemctld through DNS rebinding (a name
# of its own pointed at 127.0.0.1).  jemctld (--allow-host jemctld.test) watches one live
# workload; raw HTTP requests carry the Host headers such a page's browser would send:
# every path answers 421 bad_host for them, logging the first one with its control
# characters escaped; loopback addresses, localhost and the --allow-host name are served;
# no Host and two Host headers are 400; a client through [::ffff:127.0.0.1] is loopback
# and its write is made.  Moved from tests/daemon/run.sh (its checks 8b to 8d).  Bounded:
# about 5 s, killed at 40 s.
#   tests/hostile/case-rebinding.sh BUILD_DIR
set -u
B=$(cd "${1:?usage: tests/hostile/case-rebinding.sh BUILD_DIR}" && pwd)
# shellcheck source=tests/hostile/lib.sh
. "$(dirname "$0")/lib.sh"
WL=${LIVE_WORKLOAD:-$B/tools/live_workload}
tool="python3 $here/dtool.py"

need_files daemon "$D" "$WL" "$LIB"
make_work hostile rebinding
dpid=""
start_watchdog hostile-rebinding 40

preload w1 "$WL" 64 60
wait_sockets "$w1"
port=$(free_port)
url=http://127.0.0.1:$port
"$D" --runtime-dir "$rt" --http "127.0.0.1:$port" --interval 1 --timeout 2 \
        --allow-host jemctld.test 2>"$work/jemctld.log" &
dpid=$!
if ! $tool wait "$url/metrics" 10 "'$w1' in pids"; then
        fail hostile-rebinding-setup "pid $w1 not in /metrics within 10 s"
        cat "$work/jemctld.log"
        exit 1
fi

# DNS rebinding: a name that is not loopback, localhost or --allow-host gets 421
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

# Loopback addresses, localhost and --allow-host names are served, with and without a
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

# A client on an IPv6 socket through [::ffff:127.0.0.1] is loopback: its uid is found
# (in /proc/net/tcp6) and its write is made.
r=$(raw ::ffff:127.0.0.1 POST "/api/v1/processes/$w1/purge" "[::ffff:127.0.0.1]:$port" '{}')
if [ "$r" = "200 -" ]; then
        pass daemon-v4-mapped-client
else
        fail daemon-v4-mapped-client "POST purge from [::ffff:127.0.0.1]: $r"
fi

stop_process "$dpid"
rc=$?
dpid=""
[ "$rc" = 0 ] || fail hostile-rebinding-sigterm "jemctld exit status $rc"
if [ $fails -ne 0 ]; then
        echo "--- jemctld log"
        cat "$work/jemctld.log"
fi
[ $fails -eq 0 ]
