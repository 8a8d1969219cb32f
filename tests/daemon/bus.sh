#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-2-Clause
# The D-Bus, write and systemd side of jemctld (docs/dbus.md).  A private dbus-daemon
# shaped like the system bus (tests/daemon/bus-system.conf.in) with jemctld's own policy
# file; jemctld on it (--bus system) watching three live workloads under LD_PRELOAD (two
# of root, one of uid 65534) and two fake targets that pass a profile as a descriptor.
# busctl and dbus-send call every method; python3 (urllib) the HTTP write endpoints (a
# caller of another uid: tests/hostile/case-other-users.sh); malformed calls; the
# ProcessAdded/ProcessRemoved signals (busctl monitor) and PressureAction (the governor
# in dry-run with a host floor no host meets); systemd-analyze verify on the units;
# sd_notify (READY, WATCHDOG, STOPPING) and socket activation (systemd-socket-activate);
# the session bus.  Bounded: about 10 s, killed at 100 s.
#   tests/daemon/bus.sh BUILD_DIR
set -u
B=$(cd "${1:?usage: tests/daemon/bus.sh BUILD_DIR}" && pwd)
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=tests/daemon/lib.sh
. "$here/lib.sh" # LIB, D, pass/fail/skip and the set-up below
src=$(cd "$here/../.." && pwd)
# An instrumented build's jemctld may be checked with a plain workload (ASan's runtime
# and LD_PRELOAD=liballoc do not mix): LIVE_WORKLOAD=other/build/tools/live_workload.
WL=${LIVE_WORKLOAD:-$B/tools/live_workload}
JC=$B/jemctl/jemctl
# The system's python: the clients of uid 65534 cannot run a per-user shim.
PY=$(command -v /usr/bin/python3 || command -v python3)
tool="$PY $here/bustool.py"
dtool="$PY $here/dtool.py"

need_files bus "$D" "$WL" "$LIB" "$JC"
need_tools bus dbus-daemon busctl dbus-send setpriv systemd-analyze systemd-socket-activate
if [ "$(id -u)" != 0 ]; then
        skip bus-all "needs root (a caller of another uid, and root's view of every socket)"
        exit 0
fi
# uid 65534 reaches the bus socket and the runtime directory (as /run/jemctl).
make_work bus run shared
start_watchdog bus 100

# ---- the bus ----------------------------------------------------------------------------
bus_timeout=10
start_bus
jget() { JEMCTL_RUNTIME_DIR=$rt "$JC" get "$1" "$2" 2>&1 | sed 's/.* = //'; }
post() { $tool post "$@"; }

# Signals, from the start.
busctl --address="$A" monitor --json=short \
        --match="type='signal',interface='$I'" >"$work/signals.json" 2>&1 &
pids+=($!)

# ---- the targets ------------------------------------------------------------------------
preload w1 "$WL" 16 90
preload w2 "$WL" 16 90
preload w3 nobody "$WL" 16 90
head -c 150000 /dev/urandom >"$work/profile.bin"
$tool fakeprof "$rt" "$work/profile.bin" >"$work/fake.out" 2>&1 &
fake=$!
pids+=($fake)
$tool fakeprof "$rt" "$work/profile.bin" bad >"$work/fakebad.out" 2>&1 &
fakebad=$!
pids+=($fakebad)
wait_sockets "$w1" "$w2" "$w3" "$fake" "$fakebad"

port=$(free_port)
url=http://127.0.0.1:$port/api/v1/processes
DBUS_SYSTEM_BUS_ADDRESS=$A "$D" --runtime-dir "$rt" --http "127.0.0.1:$port" --interval 1 \
        --timeout 2 --bus system 2>"$work/jemctld.log" &
dpid=$!
pids+=($dpid)

# 1. the name is owned and ListProcesses lists every target.
ok=0
for _ in $(seq 50); do
        if bcall ListProcesses 2>/dev/null >"$work/list.json" &&
                check "{p[0] for p in d['data'][0]} >= {$w1,$w2,$w3,$fake,$fakebad}" \
                        <"$work/list.json" 2>/dev/null; then
                ok=1
                break
        fi
        sleep 0.2
done
if [ $ok = 1 ] && check "all(p[1] == 'live_workload' and p[2].endswith('/live_workload')
                for p in d['data'][0] if p[0] in ($w1, $w2, $w3)) and
                [p[4] for p in d['data'][0] if p[0] == $w3] == [65534] and
                [p[3] for p in d['data'][0] if p[0] == $fake] == ['fake.service']" \
        <"$work/list.json"; then
        pass bus-list-processes
else
        fail bus-list-processes "$(cat "$work/list.json" 2>/dev/null | head -c 600)"
        tail -5 "$work/jemctld.log" "$work/dbus.log"
fi

# 2. the live interface is the one installed (share/dbus-1/interfaces), Version 1.
if busctl --address="$A" call $O $P org.freedesktop.DBus.Introspectable Introspect \
        --json=short | $PY -c 'import json,sys; print(json.load(sys.stdin)["data"][0])' |
        $tool same-interface "$src/systemd/io.github.liballoc.JemCtl1.Manager.xml" \
                >"$work/introspect.out" &&
        [ "$(busctl --address="$A" get-property $O $P $I Version)" = "u 1" ]; then
        pass bus-introspection
else
        fail bus-introspection "$(head -c 800 "$work/introspect.out")"
fi

# 3. GetStats: live values, typed.
if bcall GetStats u "$w1" >"$work/stats.json" &&
        check "s = {k: v['data'] for k, v in d['data'][0].items()};
               t = {k: v['type'] for k, v in d['data'][0].items()};
               s['allocated'] > 0 and s['resident'] >= s['active'] >= s['allocated'] and
               t['allocated'] == 't' and t['dirty_decay_ms'] == 'x' and
               t['background_thread'] == 'b'" <"$work/stats.json" 2>/dev/null; then
        pass bus-get-stats
else
        fail bus-get-stats "$(head -c 600 "$work/stats.json")"
fi

# 4. Get: typed values, per-name errors.
if bcall Get uas "$w1" 3 opt.narenas arenas.dirty_decay_ms no.such.name >"$work/get.json" &&
        check "v, e = d['data'];
               v['opt.narenas']['type'] == 'u' and v['opt.narenas']['data'] > 0 and
               v['arenas.dirty_decay_ms']['type'] == 'x' and
               e == {'no.such.name': 'ENOENT'}" <"$work/get.json"; then
        pass bus-get
else
        fail bus-get "$(head -c 600 "$work/get.json")"
fi

# 5. Decay changes the workload's arenas.dirty_decay_ms (seen by jemctl).
if bcall Decay ux "$w1" 12345 >"$work/decay.json" &&
        check "d['type'] == 'utt' and d['data'][0] >= 1 and d['data'][1] > 0" \
                <"$work/decay.json" && [ "$(jget "$w1" arenas.dirty_decay_ms)" = 12345 ]; then
        pass bus-decay
else
        fail bus-decay "$(head -c 300 "$work/decay.json"), jemctl get: $(jget "$w1" arenas.dirty_decay_ms)"
fi

# 6. Set returns the old value and writes the new one.
if bcall Set usv "$w1" arenas.dirty_decay_ms x 4321 >"$work/set.json" &&
        check "d['data'][0]['old'] == {'type': 'x', 'data': 12345}" <"$work/set.json" &&
        [ "$(jget "$w1" arenas.dirty_decay_ms)" = 4321 ]; then
        pass bus-set
else
        fail bus-set "$(head -c 300 "$work/set.json"), jemctl get: $(jget "$w1" arenas.dirty_decay_ms)"
fi
e1=$(errname Set uint32:"$w1" string:no.such.name variant:int64:1)
e2=$(errname Set uint32:"$w1" string:stats.allocated variant:uint64:1)
if [ "$e1" = $O.Error.NoSuchName ] && [ "$e2" = $O.Error.ReadOnly ]; then
        pass bus-set-errors
else
        fail bus-set-errors "unknown name: $e1, read-only name: $e2"
fi

# 7. Purge.
if bcall Purge u "$w2" >"$work/purge.json" &&
        check "d['type'] == 'tt' and d['data'][0] > 0 and d['data'][1] > 0" \
                <"$work/purge.json"; then
        pass bus-purge
else
        fail bus-purge "$(head -c 300 "$work/purge.json")"
fi

# 8. DumpProfile: a sealed memfd passed through from the target to the caller.
if bcall DumpProfile us "$fake" heap >"$work/prof.json" &&
        check "d['type'] == 'hst' and d['data'][1] == 'heap_v2' and
               d['data'][2] == $(stat -c %s "$work/profile.bin")" <"$work/prof.json"; then
        pass bus-dump-profile-fd
else
        fail bus-dump-profile-fd "$(head -c 300 "$work/prof.json")"
fi
e1=$(errname DumpProfile uint32:"$fakebad" string:heap)
e2=$(errname DumpProfile uint32:"$w1" string:heap)
# A real liballoc answers not_supported until heap profiling exists, then a descriptor.
if [ "$e1" = $O.Error.TargetFailed ] &&
        { [ "$e2" = $O.Error.NotSupported ] || [ "$e2" = ok ]; }; then
        pass bus-dump-profile-errors
else
        fail bus-dump-profile-errors "unsealed descriptor: $e1, liballoc: $e2"
fi

# 9. (another uid: tests/hostile/case-other-users.sh)  The value the bad requests of 14
# must leave.
after=$(jget "$w1" arenas.dirty_decay_ms)

# 10. Malformed calls.
m1=$(errname GetStats string:abc)
m2=$(errname Decay uint32:"$w1" int64:-5)
m3=$(errname Get uint32:"$w1" array:string:)
m4=$(errname Set uint32:"$w1" string:arenas.dirty_decay_ms variant:double:1.5)
m5=$(errname Set uint32:"$w1" string:"bad name" variant:int64:1)
m6=$(errname GetStats uint32:1)
m7=$(errname NoSuchMethod)
m8=$(errname DumpProfile uint32:"$w1" string:"../x")
if [ "$m1" = org.freedesktop.DBus.Error.InvalidArgs ] &&
        [ "$m2" = org.freedesktop.DBus.Error.InvalidArgs ] &&
        [ "$m3" = org.freedesktop.DBus.Error.InvalidArgs ] &&
        [ "$m4" = org.freedesktop.DBus.Error.InvalidArgs ] &&
        [ "$m5" = org.freedesktop.DBus.Error.InvalidArgs ] &&
        [ "$m6" = $O.Error.NoSuchProcess ] &&
        [ "$m7" = org.freedesktop.DBus.Error.UnknownMethod ] &&
        [ "$m8" = org.freedesktop.DBus.Error.InvalidArgs ] &&
        bcall GetStats u "$w1" >/dev/null; then
        pass bus-malformed-calls
else
        fail bus-malformed-calls "signature $m1, ms -5 $m2, no names $m3, double $m4, bad name $m5, unknown pid $m6, unknown method $m7, bad format $m8"
fi

# 10a. A target that answers garbage: bad JSON, an oversized frame, half a frame.
g1=$(errname Purge uint32:"$fake")
g2=$(errname Decay uint32:"$fake" int64:5)
g3=$(errname Set uint32:"$fake" string:opt.narenas variant:int64:1)
g4=$(post "$url/$fake/purge" '{}')
if [ "$g1$g2$g3" = "$(printf "$O.Error.TargetFailed%.0s" 1 2 3)" ] &&
        echo "$g4" | check "d['status'] == 502 and d['json']['error']['code'] == 'bad_answer'" &&
        bcall GetStats u "$w1" >/dev/null; then
        pass bus-target-garbage
else
        fail bus-target-garbage "bad JSON $g1, oversized frame $g2, half a frame $g3, http $g4"
fi

# 10b. A hung process: its call times out (Timeout, HTTP 504) while calls about the others
# are answered at once.
$dtool hang "$rt" >"$work/hang.out" 2>&1 &
hung=$!
pids+=($hung)
for _ in $(seq 50); do
        $dtool get "http://127.0.0.1:$port/api/v1/processes" 2>/dev/null |
                check "any(p['pid'] == $hung for p in d)" 2>/dev/null && break
        sleep 0.1
done
t0=$(date +%s.%N)
errname GetStats uint32:"$hung" >"$work/hung-bus.out" &
hb=$!
post "$url/$hung/purge" >"$work/hung-http.out" &
hh=$!
sleep 0.2
bcall GetStats u "$w1" >"$work/during.json"
t1=$(date +%s.%N)
wait "$hb" "$hh"
t2=$(date +%s.%N)
if [ "$(cat "$work/hung-bus.out")" = $O.Error.Timeout ] &&
        check "d['status'] == 504 and d['json']['error']['code'] == 'timeout'" \
                <"$work/hung-http.out" &&
        check "d['data'][0]['allocated']['data'] > 0" <"$work/during.json" &&
        $PY -c "import sys; sys.exit(0 if $t1 - $t0 < 1.0 and $t2 - $t0 >= 1.9 else 1)"; then
        pass bus-hung-target-timeout
else
        fail bus-hung-target-timeout "bus: $(cat "$work/hung-bus.out"), http: $(head -c 200 "$work/hung-http.out"), other call after $($PY -c "print($t1 - $t0)") s, hung calls ended after $($PY -c "print($t2 - $t0)") s"
fi
kill "$hung" 2>/dev/null

# 11. Signals on arrival and departure.
preload w4 "$WL" 16 90
ok=0
for _ in $(seq 50); do
        $tool signals "$work/signals.json" ProcessAdded "$w4" && ok=1 && break
        sleep 0.1
done
{
        kill -KILL "$w4"
        wait "$w4"
} 2>/dev/null
ok2=0
for _ in $(seq 50); do
        $tool signals "$work/signals.json" ProcessRemoved "$w4" && ok2=1 && break
        sleep 0.1
done
if [ $ok = 1 ] && [ $ok2 = 1 ] && $tool signals "$work/signals.json" ProcessAdded "$w1"; then
        pass bus-signals
else
        fail bus-signals "ProcessAdded $w4: $ok, ProcessRemoved $w4: $ok2; $(head -c 600 "$work/signals.json")"
fi

# ---- HTTP write endpoints ---------------------------------------------------------------
# 12. decay, set, purge as root.
if post "$url/$w2/decay" '{"ms":2222}' | check "d['status'] == 200 and d['json']['ok'] and
        d['json']['result']['arenas'] >= 1" && [ "$(jget "$w2" arenas.dirty_decay_ms)" = 2222 ]; then
        pass http-decay
else
        fail http-decay "$(post "$url/$w2/decay" '{"ms":2222}'), jemctl get: $(jget "$w2" arenas.dirty_decay_ms)"
fi
# A browser's same-origin request (Origin = this server) is accepted.
if post "$url/$w2/set" '{"name":"arenas.dirty_decay_ms","value":3333}' application/json \
        "http://127.0.0.1:$port" |
        check "d['status'] == 200 and
               d['json']['result']['values']['arenas.dirty_decay_ms']['old'] == 2222" &&
        [ "$(jget "$w2" arenas.dirty_decay_ms)" = 3333 ] &&
        post "$url/$w2/purge" | check "d['status'] == 200 and d['json']['result']['rss_after'] > 0"
then
        pass http-set-purge
else
        fail http-set-purge "set/purge did not answer 200 with results"
fi

# 13. profile: the bytes of the descriptor, as an attachment.
sum=$(sha256sum "$work/profile.bin" | cut -d' ' -f1)
if post "$url/$fake/profile" '{"format":"heap"}' | check "d['status'] == 200 and
        d['sha256'] == '$sum' and d['disposition'].startswith('attachment;')" &&
        post "$url/$fakebad/profile" '{}' | check "d['status'] == 502" &&
        post "$url/$w1/profile" '{"format":"heap"}' | check "d['status'] == 200 or
        (d['status'] == 501 and d['json']['error']['code'] == 'not_supported')"; then
        pass http-profile
else
        fail http-profile "$(post "$url/$fake/profile" '{}' | head -c 300) / $(post "$url/$w1/profile" '{}' | head -c 300)"
fi

# 14. bad requests.
big=$($PY -c 'print("{\"ms\":1,\"x\":\"" + "a" * 70000 + "\"}")')
codes=""
for c in "$url/$w1/decay|{\"ms\":|application/json" \
        "$url/$w1/decay|[1]|application/json" \
        "$url/$w1/decay|{\"ms\":-7}|application/json" \
        "$url/$w1/decay|{\"ms\":1,\"typo\":2}|application/json" \
        "$url/$w1/decay|{\"ms\":\"1\"}|application/json" \
        "$url/$w1/set|{\"name\":\"a b\",\"value\":1}|application/json" \
        "$url/$w1/set|{\"name\":\"arenas.dirty_decay_ms\",\"value\":1.5}|application/json" \
        "$url/$w1/decay|{\"ms\":1}|text/plain" \
        "$url/1/decay|{\"ms\":1}|application/json" \
        "$url/$w1/decay|$big|application/json"; do
        IFS='|' read -r u b ct <<<"$c"
        codes="$codes $(post "$u" "$b" "$ct" | $PY -c 'import json,sys; print(json.load(sys.stdin)["status"])')"
done
codes="$codes $(post "$url/$w1/decay" '{"ms":1}' application/json http://evil.example |
        $PY -c 'import json,sys; print(json.load(sys.stdin)["status"])')"
codes="$codes $(post "$url/$w1/decay" '{"ms":1}' application/json http://127.0.0.1:1 |
        $PY -c 'import json,sys; print(json.load(sys.stdin)["status"])')"
codes="$codes $($dtool status "$url/$w1/decay")"
want=" 400 400 400 400 400 400 400 415 404 413 403 403 405"
if [ "$codes" = "$want" ] && [ "$(jget "$w1" arenas.dirty_decay_ms)" = "$after" ]; then
        pass http-bad-requests
else
        fail http-bad-requests "codes$codes, want$want"
fi

# 16. still alive; a clean exit.
stop_process "$dpid"
rc=$?
[ "$rc" = 0 ] && pass bus-sigterm || fail bus-sigterm "exit status $rc"

# 16b. The session bus (the user service's --bus session); a second daemon cannot take
# the name and exits 1, saying why.
dbus-daemon --session --address="unix:path=$work/sbus" --nofork --print-address \
        >/dev/null 2>"$work/sdbus.log" &
sbus=$!
pids+=($sbus)
for _ in $(seq 50); do
        [ -S "$work/sbus" ] && break
        sleep 0.1
done
SA=unix:path=$work/sbus
port4=$(free_port)
busctl --address="$SA" monitor --json=short \
        --match="type='signal',interface='$I'" >"$work/session-signals.json" 2>&1 &
pids+=($!)
# Its governor in dry-run with a host floor no host meets (100 % available): a round on
# the host every second, each one a PressureAction signal that only says.
DBUS_SESSION_BUS_ADDRESS=$SA "$D" --runtime-dir "$rt" --http "127.0.0.1:$port4" --interval 1 \
        --bus session --governor=dry-run --governor-host-available 100% \
        2>"$work/session-jemctld.log" &
spid=$!
pids+=($spid)
ok=0
for _ in $(seq 50); do
        busctl --address="$SA" --json=short call $O $P $I ListProcesses 2>/dev/null |
                check "$w1 in [p[0] for p in d['data'][0]]" 2>/dev/null && ok=1 && break
        sleep 0.1
done
port5=$(free_port)
DBUS_SESSION_BUS_ADDRESS=$SA timeout 10 "$D" --runtime-dir "$rt" --http "127.0.0.1:$port5" \
        --bus session 2>"$work/second.log"
rc2=$?
if [ $ok = 1 ] && [ $rc2 = 1 ] && grep -q "cannot own $O" "$work/second.log"; then
        pass bus-session-bus
else
        fail bus-session-bus "listed: $ok; a second daemon: exit $rc2, $(tail -1 "$work/second.log")"
fi
ok=0
for _ in $(seq 50); do
        $tool pressure-signal "$work/session-signals.json" "$w1" && ok=1 && break
        sleep 0.1
done
if [ $ok = 1 ] && ${PY:-python3} "$here/dtool.py" get "http://127.0.0.1:$port4/api/v1/governor" |
        check "any(a['pid'] == $w1 and a['reason'] == 'host' and a['dry_run'] and
                a['result'] == 'dry-run' for a in d['actions']) and d['mode'] == 'dry-run'" &&
        grep -q "governor: dry-run: host: would purge pid $w1 " "$work/session-jemctld.log"; then
        pass bus-pressure-action-signal
else
        fail bus-pressure-action-signal "signal for $w1: $ok; $(grep governor "$work/session-jemctld.log" | head -3 | tr '\n' ' ')"
fi
# Losing the bus ends the daemon with status 1 (systemd's Restart=on-failure restarts it).
kill -TERM "$sbus"
for _ in $(seq 30); do
        kill -0 "$spid" 2>/dev/null || break
        sleep 0.1
done
kill -TERM "$spid" 2>/dev/null
wait "$spid" 2>/dev/null
rc3=$?
if [ "$rc3" = 1 ] && grep -q "bus connection is lost" "$work/session-jemctld.log"; then
        pass bus-lost-exits-1
else
        fail bus-lost-exits-1 "exit status $rc3 after the bus went away"
fi

# ---- systemd ----------------------------------------------------------------------------
# 17. systemd-analyze verify: the units as installed (ExecStart pointing at this build).
mkdir -p "$work/units" "$work/user-units" "$work/xdg"
chmod 700 "$work/xdg"
sed "s|@BINDIR@|$B/jemctld|" "$src/systemd/jemctld.service.in" >"$work/units/jemctld.service"
cp "$src/systemd/jemctld.socket" "$work/units/"
sed "s|@BINDIR@|$B/jemctld|" "$src/systemd/jemctld-user.service.in" \
        >"$work/user-units/jemctld.service"
printf '[Service]\nExecStart=/bin/true\n' >"$work/units/x.service"
mkdir -p "$work/units/x.service.d"
sed "s|@LIBDIR@|$(dirname "$LIB")|" "$src/systemd/liballoc-preload.conf.example" \
        >"$work/units/x.service.d/liballoc.conf"
v1=$(systemd-analyze verify --man=no "$work/units/jemctld.service" \
        "$work/units/jemctld.socket" 2>&1)
r1=$?
v2=$(XDG_RUNTIME_DIR=$work/xdg systemd-analyze --user verify --man=no \
        "$work/user-units/jemctld.service" 2>&1)
r2=$?
v3=$(cd "$work/units" && SYSTEMD_UNIT_PATH="$work/units:" systemd-analyze verify --man=no \
        x.service 2>&1)
r3=$?
v4=$(printf '[Service]\nBogus=1\nExecStart=/nonexistent\n' >"$work/units/bad.service" &&
        systemd-analyze verify --man=no "$work/units/bad.service" 2>&1)
r4=$?
if [ $r1 = 0 ] && [ -z "$v1" ] && [ $r2 = 0 ] && [ -z "$v2" ] && [ $r3 = 0 ] && [ -z "$v3" ] &&
        [ $r4 != 0 ]; then
        pass systemd-analyze-verify
else
        fail systemd-analyze-verify "system: $r1 $v1; user: $r2 $v2; drop-in: $r3 $v3; a bad unit: $r4"
fi

# 18. sd_notify: READY=1, WATCHDOG=1 at half of WATCHDOG_USEC, STOPPING=1.
$tool notify "$work/notify" "$work/notify.out" >/dev/null 2>&1 &
npid=$!
pids+=($npid)
for _ in $(seq 30); do
        [ -S "$work/notify" ] && break
        sleep 0.1
done
port2=$(free_port)
NOTIFY_SOCKET=$work/notify WATCHDOG_USEC=400000 sh -c 'WATCHDOG_PID=$$ exec "$@"' sh \
        "$D" --runtime-dir "$rt" --http "127.0.0.1:$port2" --interval 5 \
        2>"$work/notify-jemctld.log" &
n2=$!
pids+=($n2)
sleep 1.3
kill -TERM "$n2"
wait "$n2" 2>/dev/null
sleep 0.2
nready=$(grep -c '^READY=1' "$work/notify.out" 2>/dev/null)
nwd=$(grep -c '^WATCHDOG=1' "$work/notify.out" 2>/dev/null)
nstop=$(grep -c '^STOPPING=1' "$work/notify.out" 2>/dev/null)
if [ "$nready" = 1 ] && [ "${nwd:-0}" -ge 3 ] && [ "$nstop" = 1 ]; then
        pass systemd-notify
else
        fail systemd-notify "READY $nready, WATCHDOG $nwd (want >= 3 in 1.3 s at 0.2 s), STOPPING $nstop"
fi

# 19. socket activation: systemd-socket-activate listens, jemctld takes the socket.
port3=$(free_port)
systemd-socket-activate -l "127.0.0.1:$port3" "$D" --runtime-dir "$rt" \
        --http 127.0.0.1:1 --interval 1 >"$work/activate.log" 2>&1 &
apid=$!
pids+=($apid)
sleep 0.5
if $dtool wait "http://127.0.0.1:$port3/metrics" 10 "'$w1' in pids" &&
        grep -q "Execing" "$work/activate.log"; then
        pass systemd-socket-activation
else
        fail systemd-socket-activation "$(tail -3 "$work/activate.log")"
fi
kill -TERM "$apid" 2>/dev/null
wait "$apid" 2>/dev/null

# 20. A bus whose policy does not let jemctld own its name (installed where the bus does
# not read it): no D-Bus API, but HTTP and the metrics go on, and /metrics says so.
sed -e "s|@SOCKET@|$work/nopolicy-bus|" -e "/@POLICY@/d" "$here/bus-system.conf.in" \
        >"$work/nopolicy-bus.conf"
run_bus "$work/nopolicy-bus.conf" "$work/nopolicy-bus" "$work/nopolicy-dbus.log"
port6=$(free_port)
DBUS_SYSTEM_BUS_ADDRESS=unix:path=$work/nopolicy-bus "$D" --runtime-dir "$rt" \
        --http "127.0.0.1:$port6" --interval 1 --bus system 2>"$work/nopolicy-jemctld.log" &
npid=$!
pids+=($npid)
if $dtool wait "http://127.0.0.1:$port6/metrics" 10 "'$w1' in pids" &&
        curl_metrics=$($dtool get "http://127.0.0.1:$port6/metrics") &&
        printf '%s\n' "$curl_metrics" | grep -q '^jemctld_dbus_up 0$' &&
        grep -q 'the bus policy does not allow it' "$work/nopolicy-jemctld.log" &&
        grep -q 'the API is off' "$work/nopolicy-jemctld.log" && kill -0 "$npid" 2>/dev/null; then
        pass bus-no-policy-serves-http
else
        fail bus-no-policy-serves-http "$(tail -3 "$work/nopolicy-jemctld.log" | tr '\n' ' ')"
fi
kill -TERM "$npid" 2>/dev/null
# No bus at all (a user without dbus-user-session): the same.
port8=$(free_port)
DBUS_SESSION_BUS_ADDRESS=unix:path=$work/no-such-bus "$D" --runtime-dir "$rt" \
        --http "127.0.0.1:$port8" --interval 1 --bus session 2>"$work/nobus-jemctld.log" &
nbpid=$!
pids+=($nbpid)
if $dtool wait "http://127.0.0.1:$port8/metrics" 10 "'$w1' in pids" &&
        $dtool get "http://127.0.0.1:$port8/metrics" | grep -q '^jemctld_dbus_up 0$' &&
        grep -q 'cannot connect to the session bus' "$work/nobus-jemctld.log" &&
        kill -0 "$nbpid" 2>/dev/null; then
        pass bus-no-bus-serves-http
else
        fail bus-no-bus-serves-http "$(tail -3 "$work/nobus-jemctld.log" | tr '\n' ' ')"
fi
kill -TERM "$nbpid" 2>/dev/null

# 21. Bus activation: the first ListProcesses starts the daemon, and its answer waits for
# the first poll instead of being the empty table of a daemon just started.
mkdir -p "$work/act-services"
abus=unix:path=$work/act-bus
port7=$(free_port)
cat >"$work/act-services/$O.service" <<SVC
[D-BUS Service]
Name=$O
Exec=/usr/bin/env DBUS_SESSION_BUS_ADDRESS=$abus $D --runtime-dir $rt --http 127.0.0.1:$port7 --interval 5 --bus session
SVC
cat >"$work/act-bus.conf" <<CONF
<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-BUS Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <type>session</type>
  <listen>$abus</listen>
  <auth>EXTERNAL</auth>
  <servicedir>$work/act-services</servicedir>
  <policy context="default">
    <allow send_destination="*" eavesdrop="true"/>
    <allow eavesdrop="true"/>
    <allow own="*"/>
  </policy>
</busconfig>
CONF
run_bus "$work/act-bus.conf" "$work/act-bus" "$work/act-dbus.log"
if out=$(busctl --address="$abus" --timeout=20 --json=short call $O $P $I ListProcesses 2>&1) &&
        printf '%s\n' "$out" | check "pids = [p[0] for p in d['data'][0]];
        $w1 in pids and $w2 in pids" &&
        $dtool get "http://127.0.0.1:$port7/metrics" | grep -q '^jemctld_dbus_up 1$'; then
        pass bus-activation-first-list
else
        fail bus-activation-first-list "$(printf '%s\n' "$out" | head -c 300)"
fi
pkill -TERM -f -- "--http 127.0.0.1:$port7" 2>/dev/null

if [ $fails -ne 0 ]; then
        echo "--- jemctld log"
        cat "$work/jemctld.log"
fi
[ $fails -eq 0 ]
