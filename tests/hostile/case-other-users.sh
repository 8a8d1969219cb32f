#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-2-Clause
# Hostile case: another user on the same machine (uid 65534, through setpriv) against
# root's jemctld.  A private system-like bus with jemctld's policy file; jemctld on it
# with a profile store, watching a live workload of root, one of uid 65534 (both
# profiling) and a fake target that passes a profile as a descriptor.  Over D-Bus the
# other user reads the public summary but cannot Decay, Set, Purge, Get or DumpProfile
# root's process, and can Decay its own; over HTTP it cannot write to root's process and
# can to its own; in the profile store it can neither capture, download nor delete root's
# profiles, and can all three for its own.  Moved from tests/daemon/bus.sh (its checks 9
# and 15) and tests/daemon/store.sh (its check 7).  Bounded: about 10 s, killed at 90 s.
#   tests/hostile/case-other-users.sh BUILD_DIR
set -u
B=$(cd "${1:?usage: tests/hostile/case-other-users.sh BUILD_DIR}" && pwd)
# shellcheck source=tests/hostile/lib.sh
. "$(dirname "$0")/lib.sh"
src=$(cd "$hostile/../.." && pwd)
WL=${LIVE_WORKLOAD:-$B/tools/live_workload}
# The system's python: the clients of uid 65534 cannot run a per-user shim.
PY=$(command -v /usr/bin/python3 || command -v python3)
tool="$PY $here/bustool.py"
st="$PY $here/storetool.py"

need_files other-users "$D" "$WL" "$LIB" "$J"
need_tools other-users dbus-daemon busctl dbus-send setpriv
need_root hostile-other-users
# uid 65534 reaches the bus socket and the runtime directory (as /run/jemctl).
make_work hostile other-users shared
dpid=""
start_watchdog hostile-other-users 90

bus_timeout=20
start_bus
ucall() {
        as_nobody busctl --address="$A" --timeout=$bus_timeout --json=short call $O $P $I "$@"
}
jget() { JEMCTL_RUNTIME_DIR=$rt "$J" get "$1" "$2" 2>&1 | sed 's/.* = //'; }

# Profiling workloads (as tests/daemon/store.sh), one of root and one of uid 65534, and a
# fake target whose profile is a descriptor (as tests/daemon/bus.sh).
conf=prof:true,lg_prof_sample:12,dirty_decay_ms:-1,muzzy_decay_ms:-1
preload w1 MALLOC_CONF=$conf "$WL" 16 80
preload w3 nobody MALLOC_CONF=$conf "$WL" 16 80
head -c 150000 /dev/urandom >"$work/profile.bin"
$tool fakeprof "$rt" "$work/profile.bin" >"$work/fake.out" 2>&1 &
fake=$!
pids+=($fake)
wait_sockets "$w1" "$w3" "$fake"

store=$work/store
port=$(free_port)
base=http://127.0.0.1:$port
api=$base/api/v1
url=$api/processes
DBUS_SYSTEM_BUS_ADDRESS=$A "$D" --runtime-dir "$rt" --http "127.0.0.1:$port" --interval 1 \
        --timeout 2 --bus system --profile-dir "$store" --profile-max-count 3 \
        --capture-timeout 3 2>"$work/jemctld.log" &
dpid=$!
ok=0
for _ in $(seq 100); do
        if bcall ListProcesses 2>/dev/null |
                check "{p[0] for p in d['data'][0]} >= {$w1,$w3,$fake}" 2>/dev/null &&
                $st req GET "$url" 2>/dev/null |
                check "{p['pid'] for p in d['json']} >= {$w1,$w3,$fake}" 2>/dev/null; then
                ok=1
                break
        fi
        sleep 0.1
done
if [ $ok = 0 ]; then
        fail hostile-other-users-setup "pids $w1 $w3 $fake not all listed within 10 s"
        cat "$work/jemctld.log"
        exit 1
fi

# ---- D-Bus ------------------------------------------------------------------------------
# Another uid: reads of the public summary yes, writes and Get no; its own process yes.
before=$(jget "$w1" arenas.dirty_decay_ms)
r1=$(uerrname Decay uint32:"$w1" int64:1)
r2=$(uerrname Set uint32:"$w1" string:arenas.dirty_decay_ms variant:int64:1)
r3=$(uerrname Purge uint32:"$w1")
r4=$(uerrname Get uint32:"$w1" array:string:opt.narenas)
r5=$(uerrname DumpProfile uint32:"$fake" string:heap)
r6=$(uerrname GetStats uint32:"$w1")
after=$(jget "$w1" arenas.dirty_decay_ms)
if [ "$r1$r2$r3$r4$r5" = "$(printf "$O.Error.PermissionDenied%.0s" 1 2 3 4 5)" ] &&
        [ "$r6" = ok ] && [ "$before" = "$after" ]; then
        pass bus-other-uid-refused
else
        fail bus-other-uid-refused "Decay $r1 Set $r2 Purge $r3 Get $r4 DumpProfile $r5 GetStats $r6, dirty_decay_ms $before -> $after"
fi
if ucall Decay ux "$w3" 777 >"$work/own.json" 2>&1 &&
        [ "$(jget "$w3" arenas.dirty_decay_ms)" = 777 ]; then
        pass bus-other-uid-own-process
else
        fail bus-other-uid-own-process "$(head -c 300 "$work/own.json"), jemctl get: $(jget "$w3" arenas.dirty_decay_ms)"
fi

# ---- HTTP writes ------------------------------------------------------------------------
# Another uid over TCP: refused on root's process, allowed on its own.
before=$(jget "$w1" arenas.dirty_decay_ms)
r=$(as_nobody $tool post "$url/$w1/decay" '{"ms":1}')
r2=$(as_nobody $tool post "$url/$w1/profile" '{}')
r3=$(as_nobody $tool post "$url/$w3/decay" '{"ms":888}')
if echo "$r" | check "d['status'] == 403 and d['json']['error']['code'] == 'permission_denied'" &&
        echo "$r2" | check "d['status'] == 403" &&
        [ "$(jget "$w1" arenas.dirty_decay_ms)" = "$before" ] &&
        echo "$r3" | check "d['status'] == 200" && [ "$(jget "$w3" arenas.dirty_decay_ms)" = 888 ]; then
        pass http-other-uid
else
        fail http-other-uid "root's: $r; own: $r3"
fi

# ---- the profile store ------------------------------------------------------------------
# A profile of root's process, captured by root.
files_of() { find "$store" -path "*/$1.*" -type f 2>/dev/null | sort; }
c=$($st req POST "$url/$w1/profile" '{"store": true}')
if ! echo "$c" | check "d['status'] == 200"; then
        fail hostile-other-users-setup "root's capture of pid $w1: $c"
fi
# Another uid: no capture, download or delete of root's; its own, yes.
id_w1=$($st req GET "$api/profiles?pid=$w1" | $PY -c 'import json,sys; print(json.load(sys.stdin)["json"]["profiles"][-1]["id"])')
n_before=$(find "$store" -type f | wc -l)
u1=$(as_nobody $st req POST "$api/processes/$w1/profile" '{"store": true}')
u2=$(as_nobody $st req DELETE "$api/profiles/$id_w1")
u3=$(as_nobody $st req GET "$api/profiles/$id_w1?format=svg")
u4=$(uerrname CaptureProfile uint32:"$w1")
if echo "$u1" | check "d['status'] == 403 and d['json']['error']['code'] == 'denied'" &&
        echo "$u2" | check "d['status'] == 403" && echo "$u3" | check "d['status'] == 403" &&
        [ "$u4" = $O.Error.PermissionDenied ] &&
        [ "$(find "$store" -type f | wc -l)" = "$n_before" ]; then
        pass store-other-uid-refused
else
        fail store-other-uid-refused "capture $u1; delete $u2; get $u3; dbus $u4"
fi
o1=$(as_nobody $st req POST "$api/processes/$w3/profile" '{"store": true}')
id3=$(echo "$o1" | $PY -c 'import json,sys; print(json.load(sys.stdin)["json"]["result"]["id"])' 2>/dev/null)
o2=$(as_nobody $st req GET "$api/profiles/$id3")
o3=$(as_nobody $st req DELETE "$api/profiles/$id3")
if echo "$o1" | check "d['status'] == 200 and d['json']['result']['uid'] == 65534" &&
        echo "$o2" | check "d['status'] == 200 and d['head'].startswith('heap_v2/')" &&
        echo "$o3" | check "d['status'] == 200" && [ -z "$(files_of "$w3")" ] &&
        $st req GET "$api/profiles?pid=$w3" | check "d['json']['profiles'] == []"; then
        pass store-other-uid-own-process
else
        fail store-other-uid-own-process "capture $o1; get $o2; delete $o3"
fi

stop_process "$dpid"
rc=$?
dpid=""
[ "$rc" = 0 ] || fail hostile-other-users-sigterm "jemctld exit status $rc"
if [ $fails -ne 0 ]; then
        echo "--- jemctld log"
        cat "$work/jemctld.log"
fi
[ $fails -eq 0 ]
