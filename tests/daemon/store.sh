#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-2-Clause
# The `daemon-store` kind: jemctld's profile store and capture policies (jemctld(8),
# PROFILE STORE, CAPTURE POLICIES).  Live workloads under LD_PRELOAD sampling heap
# profiles (MALLOC_CONF=prof:true,lg_prof_sample:12), two of root, one of uid 65534, a
# small one, and fake targets that break a dump (die inside the answer; a descriptor
# shorter than announced).  jemctld on a private dbus-daemon with a store limited to 3
# profiles per process: captures over HTTP ({"store": true}) and D-Bus (CaptureProfile)
# land in the store and download as heap_v2 (read by jeprof), pprof, folded and SVG (parsed
# as XML); the limits evict the oldest; a stopped target times out, a dying one and a
# short dump fail, each with its error and no file (another uid:
# tests/hostile/case-other-users.sh); malformed requests; SIGKILL and
# restart keep the store (debris removed, a lower total limit applied); the resident and
# periodic policies (with capture-enable-sampling and capture-comm) capture by themselves;
# a full tmpfs and RLIMIT_FSIZE give no_space and no file.  Bounded: about 40 s, killed at
# 150 s.
#   tests/daemon/store.sh BUILD_DIR
set -u
B=$(cd "${1:?usage: tests/daemon/store.sh BUILD_DIR}" && pwd)
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=tests/daemon/lib.sh
. "$here/lib.sh" # LIB, D, pass/fail/skip and the set-up below
src=$(cd "$here/../.." && pwd)
# An instrumented jemctld may be checked with a plain workload (as bus.sh).
WL=${LIVE_WORKLOAD:-$B/tools/live_workload}
JC=${LIVE_JEMCTL:-$B/jemctl/jemctl}
PY=$(command -v /usr/bin/python3 || command -v python3)
st="$PY $here/storetool.py"
dtool="$PY $here/dtool.py"

need_files store "$D" "$WL" "$LIB" "$JC"
need_tools store dbus-daemon busctl dbus-send setpriv prlimit jeprof
if [ "$(id -u)" != 0 ]; then
        skip store-all "needs root (a caller of another uid, a tmpfs to fill)"
        exit 0
fi
make_work store run shared
mounted=""
cleanup_more() {
        if [ -n "$mounted" ]; then
                umount "$mounted" 2>/dev/null
        fi
}
start_watchdog store 150

# ---- the bus ----------------------------------------------------------------------------
bus_timeout=20
start_bus

# ---- the targets ------------------------------------------------------------------------
start_workload() { # name MiB [nobody] [noprof]
        # Dirty pages never decay: resident stays put for the resident policy.
        local conf=prof:true,lg_prof_sample:12,dirty_decay_ms:-1,muzzy_decay_ms:-1
        [ "${4:-}" = noprof ] && conf=dirty_decay_ms:-1
        if [ "${3:-}" = nobody ]; then
                preload "$1" nobody MALLOC_CONF=$conf "$WL" "$2" 140
        else
                preload "$1" MALLOC_CONF=$conf "$WL" "$2" 140
        fi
}
start_workload w1 16
start_workload w2 16
start_workload w3 16 nobody
start_workload wsmall 1
start_workload wns 4 root noprof
$st fake "$rt" die >"$work/fdie.out" 2>&1 &
fdie=$!
pids+=($fdie)
$st fake "$rt" short >"$work/fshort.out" 2>&1 &
fshort=$!
pids+=($fshort)
$st fake "$rt" grow >"$work/fgrow.out" 2>&1 &
fgrow=$!
pids+=($fgrow)
wait_sockets $w1 $w2 $w3 $wsmall $wns $fdie $fshort $fgrow

store=$work/store
port=$(free_port)
base=http://127.0.0.1:$port
api=$base/api/v1
dpid=""
start_daemon() { # extra options...
        DBUS_SYSTEM_BUS_ADDRESS=$A "$D" --runtime-dir "$rt" --http "127.0.0.1:$port" \
                --interval 1 --timeout 2 --bus system --profile-dir "$store" \
                --profile-max-count 3 --capture-timeout 3 "$@" 2>>"$work/jemctld.log" &
        dpid=$!
        pids+=($dpid)
}
wait_procs() { # url pids...
        local u=$1
        shift
        for _ in $(seq 80); do
                if $st req GET "$u/api/v1/processes" 2>/dev/null |
                        check "{p['pid'] for p in d['json']} >= {$(echo "$@" | tr ' ' ,)}" \
                                2>/dev/null; then
                        return 0
                fi
                sleep 0.1
        done
        return 1
}
capture() { $st req POST "$api/processes/$1/profile" '{"store": true}'; }
# Files under the store (final names and temporaries) of one pid.
files_of() { find "$store" -path "*/$1.*" -type f 2>/dev/null | sort; }
metric() { $dtool metric "$1/metrics" "$2" | head -1; }
captures_metric() { # url result
        $dtool get "$1/metrics" | sed -n "s/^jemctld_profile_captures_total{result=\"$2\"} //p"
}

start_daemon
if ! wait_procs "$base" $w1 $w2 $w3 $wsmall $wns; then
        fail store-setup "the daemon did not list the workloads"
        tail -20 "$work/jemctld.log"
        exit 1
fi

# 1. POST .../profile {"store": true}: the metadata, and both files on disk.
r=$(capture "$w1")
id1=$(echo "$r" | $PY -c 'import json,sys; print(json.load(sys.stdin)["json"]["result"]["id"])' 2>/dev/null)
heap1=$(find "$store" -name "*-manual.heap" -path "*/$w1.*" | head -1)
if echo "$r" | check "m = d['json']['result'];
                m['pid'] == $w1 and m['reason'] == 'manual' and m['bytes'] > 0 and
                m['comm'] == 'live_workload' and m['uid'] == 0 and m['resident'] > 0 and
                m['format'] == 'heap_v2' and d['status'] == 200" &&
        [ -n "$heap1" ] && [ -f "${heap1%.heap}.json" ] &&
        [ "$(stat -c %s "$heap1")" = "$(echo "$r" | $PY -c 'import json,sys; print(json.load(sys.stdin)["json"]["result"]["bytes"])')" ] &&
        [ -z "$(find "$store" -name '.tmp-*')" ]; then
        pass store-http-capture
else
        fail store-http-capture "$r, files: $(find "$store" -type f | head)"
fi

# 2. the list, all and by pid.
if $st req GET "$api/profiles" | check "[p['id'] for p in d['json']['profiles']] == ['$id1']" &&
        $st req GET "$api/profiles?pid=$w2" | check "d['json']['profiles'] == []" &&
        $st req GET "$api/profiles?pid=$w1" | check "d['json']['profiles'][0]['id'] == '$id1'"; then
        pass store-list
else
        fail store-list "$($st req GET "$api/profiles" | head -c 600)"
fi

# 3. downloads: the dump as stored (jeprof reads it), pprof, folded, SVG.
$st req GET "$api/profiles/$id1?format=heap" "" "$work/p1.heap" >"$work/get1.json"
if check "d['status'] == 200 and d['head'].startswith('heap_v2/')" <"$work/get1.json" &&
        cmp -s "$work/p1.heap" "$heap1" &&
        timeout 60 jeprof --text "$WL" "$work/p1.heap" >"$work/jeprof.txt" 2>"$work/jeprof.err" &&
        grep -q "^Total: " "$work/jeprof.txt" && grep -q " main$" "$work/jeprof.txt"; then
        pass store-download-heap-jeprof
else
        fail store-download-heap-jeprof "$(cat "$work/get1.json"), jeprof: $(head -5 "$work/jeprof.txt" "$work/jeprof.err")"
fi
$st req GET "$api/profiles/$id1?format=svg" "" "$work/p1.svg" >"$work/svg.json"
$st req GET "$api/profiles/$id1?format=pprof" "" "$work/p1.pb.gz" >"$work/pprof.json"
$st req GET "$api/profiles/$id1?format=folded" "" "$work/p1.folded" >"$work/folded.json"
if check "d['status'] == 200 and d['ctype'] == 'image/svg+xml'" <"$work/svg.json" &&
        $st svg "$work/p1.svg" && grep -q "main" "$work/p1.svg" &&
        check "d['status'] == 200" <"$work/pprof.json" && gzip -t "$work/p1.pb.gz" &&
        check "d['status'] == 200" <"$work/folded.json" && $st folded "$work/p1.folded"; then
        pass store-download-converted
else
        fail store-download-converted "svg $(cat "$work/svg.json"), pprof $(cat "$work/pprof.json"), folded $(head -c 300 "$work/p1.folded")"
fi

# 4. D-Bus: CaptureProfile stores, ListProfiles lists, the download works.
if bcall CaptureProfile u "$w2" >"$work/cap.json" 2>&1 &&
        check "m = d['data'][0];
               m['pid']['data'] == $w2 and m['reason']['data'] == 'manual' and
               m['bytes']['data'] > 0 and m['id']['type'] == 's'" <"$work/cap.json"; then
        id2=$($PY -c 'import json,sys; print(json.load(sys.stdin)["data"][0]["id"]["data"])' <"$work/cap.json")
        if bcall ListProfiles u 0 >"$work/listp.json" &&
                check "sorted(p['id']['data'] for p in d['data'][0]) == sorted(['$id1', '$id2'])" \
                        <"$work/listp.json" &&
                $st req GET "$api/profiles/$id2" | check "d['head'].startswith('heap_v2/')"; then
                pass store-dbus-capture
        else
                fail store-dbus-capture "list: $(head -c 500 "$work/listp.json")"
        fi
else
        fail store-dbus-capture "$(head -c 500 "$work/cap.json")"
fi

# 5. the per-process count limit (3) evicts the oldest, files and all.
for _ in 1 2 3; do
        capture "$w1" >>"$work/more.json"
        sleep 0.01
done
if $st req GET "$api/profiles?pid=$w1" | check "ids = [p['id'] for p in d['json']['profiles']];
                len(ids) == 3 and '$id1' not in ids" &&
        [ ! -e "$heap1" ] && [ ! -e "${heap1%.heap}.json" ] && [ "$(files_of "$w1" | wc -l)" = 6 ] &&
        [ "$(metric "$base" jemctld_profile_evictions_total)" -ge 1 ] &&
        [ "$(metric "$base" jemctld_profile_store_profiles)" = 4 ]; then
        pass store-limit-count-evicts-oldest
else
        fail store-limit-count-evicts-oldest "$($st req GET "$api/profiles?pid=$w1" | head -c 400) files: $(files_of "$w1")"
fi

# 6. a target stopped mid-capture: timeout (capture-timeout 3 s), no file.
before=$(files_of "$w2")
kill -STOP "$w2"
r=$(capture "$w2")
kill -CONT "$w2"
if echo "$r" | check "d['status'] == 504 and d['json']['error']['code'] == 'timeout'" &&
        [ "$(files_of "$w2")" = "$before" ] && [ -z "$(find "$store" -name '.tmp-*')" ]; then
        pass store-stopped-target-timeout
else
        fail store-stopped-target-timeout "$r; files: $(files_of "$w2")"
fi
# A target that dies inside its answer (gone, or target_failed when the connection's end
# is seen before the exit); one whose dump is shorter than it says.
r1=$(capture "$fdie")
r2=$(capture "$fshort")
if echo "$r1" | check "(d['status'], d['json']['error']['code']) in
                ((404, 'gone'), (502, 'target_failed'))" &&
        echo "$r2" | check "d['status'] == 502 and d['json']['error']['code'] == 'bad_dump' and
                'size differs' in d['json']['error']['message']" &&
        [ -z "$(files_of "$fdie")$(files_of "$fshort")" ] &&
        [ "$(captures_metric "$base" timeout)" = 1 ] &&
        [ $(($(captures_metric "$base" gone) + $(captures_metric "$base" target_failed))) = 1 ] &&
        [ "$(captures_metric "$base" bad_dump)" = 1 ] &&
        grep -q "capture of pid $fdie (manual) failed" "$work/jemctld.log"; then
        pass store-dying-target-and-short-dump
else
        fail store-dying-target-and-short-dump "die: $r1; short: $r2"
fi

# 7. (another uid: tests/hostile/case-other-users.sh)  The id of w1's last profile.
id_w1=$($st req GET "$api/profiles?pid=$w1" | $PY -c 'import json,sys; print(json.load(sys.stdin)["json"]["profiles"][-1]["id"])')

# 8. malformed requests.
m1=$($st req POST "$api/processes/$w1/profile" '{"store": "yes"}')
m2=$($st req POST "$api/processes/$w1/profile" '{"store": true, "format": "pprof"}')
m3=$($st req GET "$api/profiles/no-such-id")
m4=$($st req GET "$api/profiles/$id_w1?format=png")
m5=$($st req GET "$api/profiles?pid=abc")
m6=$($st req PUT "$api/profiles" '{}')
m7=$($st req DELETE "$api/profiles/$id_w1/../x")
if echo "$m1" | check "d['status'] == 400" && echo "$m2" | check "d['status'] == 400" &&
        echo "$m3" | check "d['status'] == 404" && echo "$m4" | check "d['status'] == 400" &&
        echo "$m5" | check "d['status'] == 400" && echo "$m6" | check "d['status'] == 405" &&
        echo "$m7" | check "d['status'] in (400, 404)" && kill -0 "$dpid"; then
        pass store-malformed-requests
else
        fail store-malformed-requests "$m1 | $m2 | $m3 | $m4 | $m5 | $m6 | $m7"
fi

# 9. SIGKILL and restart: the same profiles; debris of an interrupted capture removed.
ids_before=$($st req GET "$api/profiles" | $PY -c 'import json,sys; print(" ".join(p["id"] for p in json.load(sys.stdin)["json"]["profiles"]))')
kill -KILL "$dpid"
wait "$dpid" 2>/dev/null
pdir=$(dirname "$(files_of "$w1" | head -1)")
echo partial >"$pdir/.tmp-20260101T000000000Z-manual.heap"
echo '{}' >"$pdir/20260101T000000000Z-manual.json" # metadata without its dump
start_daemon
wait_procs "$base" $w1 >/dev/null
ids_after=$($st req GET "$api/profiles" | $PY -c 'import json,sys; print(" ".join(p["id"] for p in json.load(sys.stdin)["json"]["profiles"]))')
if [ -n "$ids_before" ] && [ "$ids_before" = "$ids_after" ] &&
        [ ! -e "$pdir/.tmp-20260101T000000000Z-manual.heap" ] &&
        [ ! -e "$pdir/20260101T000000000Z-manual.json" ] &&
        $st req GET "$api/profiles/$id_w1" | check "d['head'].startswith('heap_v2/')"; then
        pass store-restart-keeps-store
else
        fail store-restart-keeps-store "before: $ids_before; after: $ids_after"
fi
# A lower total limit at the next start: the oldest go until the rest fits.
limit=$($st req GET "$api/profiles" | $PY -c 'import json,sys; p = json.load(sys.stdin)["json"]["profiles"]; print(p[-1]["bytes"] + p[-2]["bytes"])')
newest=${ids_after##* }
kill -TERM "$dpid"
wait "$dpid" 2>/dev/null
start_daemon --profile-max-total "$limit"
wait_procs "$base" $w1 >/dev/null
if $st req GET "$api/profiles" | check "p = d['json']['profiles'];
                len(p) == 2 and sum(x['bytes'] for x in p) <= $limit and p[-1]['id'] == '$newest'" &&
        [ "$(find "$store" -name '*.heap' | wc -l)" = 2 ]; then
        pass store-limit-total-at-start
else
        fail store-limit-total-at-start "limit $limit: $($st req GET "$api/profiles" | head -c 500)"
fi

# 10. the policies, in daemons of their own.
policy_daemon() { # name options...
        local name=$1
        shift
        local pport
        pport=$(free_port)
        "$D" --runtime-dir "$rt" --http "127.0.0.1:$pport" --interval 0.5 --timeout 2 \
                --profile-dir "$work/$name" "$@" 2>"$work/$name.log" &
        pids+=($!)
        eval "${name}_pid=$!"
        eval "${name}_url=http://127.0.0.1:$pport"
}
# Resident above 12 MiB: the 16 MiB workloads, not the 1 MiB one; once (cooldown).
policy_daemon pres --capture-resident-above 12M --capture-cooldown 1h
# Periodic, only live_workload, sampling switched on at discovery, 2 per process kept.
policy_daemon pper --capture-every 1 --capture-cooldown 1 --capture-comm live_workload \
        --capture-enable-sampling --profile-max-count 2
ok=0
for _ in $(seq 100); do
        if $st req GET "$pres_url/api/v1/profiles" | check "
                        n = {}; [n.__setitem__(p['pid'], n.get(p['pid'], 0) + 1) for p in d['json']['profiles']];
                        n.get($w1) == 1 and n.get($w2) == 1" 2>/dev/null; then
                ok=1
                break
        fi
        sleep 0.1
done
sleep 2 # four more polls: the cooldown holds
if [ $ok = 1 ] && $st req GET "$pres_url/api/v1/profiles" | check "
                p = d['json']['profiles']; n = {};
                [n.__setitem__(x['pid'], n.get(x['pid'], 0) + 1) for x in p];
                n.get($w1) == 1 and n.get($w2) == 1 and $wsmall not in n and
                all(x['reason'] == 'resident' and x['resident'] > 12 << 20 for x in p)"; then
        pass store-policy-resident-above
else
        fail store-policy-resident-above "$($st req GET "$pres_url/api/v1/profiles" | head -c 600); $(tail -5 "$work/pres.log")"
fi
ok=0
for _ in $(seq 100); do
        # Two kept, a third evicted the oldest.
        if $st req GET "$pper_url/api/v1/profiles?pid=$wns" |
                check "len(d['json']['profiles']) == 2" 2>/dev/null &&
                [ "$(metric "$pper_url" jemctld_profile_evictions_total)" -ge 1 ]; then
                ok=1
                break
        fi
        sleep 0.1
done
last=$($st req GET "$pper_url/api/v1/profiles?pid=$wns" | $PY -c 'import json,sys; print(json.load(sys.stdin)["json"]["profiles"][-1]["id"])' 2>/dev/null)
$st req GET "$pper_url/api/v1/profiles/$last" "" "$work/wns.heap" >/dev/null
if [ $ok = 1 ] && $st req GET "$pper_url/api/v1/profiles" | check "
                p = d['json']['profiles'];
                all(x['reason'] == 'periodic' and x['comm'] == 'live_workload' for x in p) and
                $fshort not in [x['pid'] for x in p]" &&
        grep -q "pid $wns: heap profile sampling switched on" "$work/pper.log" &&
        JEMCTL_RUNTIME_DIR=$rt "$JC" --json prof "$wns" status | check "d['active'] is True" &&
        grep -q "^heap_v2/" "$work/wns.heap" &&
        [ "$(metric "$pper_url" jemctld_profile_evictions_total)" -ge 1 ]; then
        pass store-policy-periodic-sampling-on
else
        fail store-policy-periodic-sampling-on "$($st req GET "$pper_url/api/v1/profiles?pid=$wns" | head -c 500); status: $(JEMCTL_RUNTIME_DIR=$rt "$JC" --json prof "$wns" status 2>&1); $(tail -5 "$work/pper.log")"
fi
# Growth of resident by 50 % within 2 s: the growing fake only, once (cooldown).
policy_daemon pgro --capture-growth 50%/2s --capture-cooldown 1h
ok=0
for _ in $(seq 100); do
        if $st req GET "$pgro_url/api/v1/profiles" | check "len(d['json']['profiles']) >= 1" \
                2>/dev/null; then
                ok=1
                break
        fi
        sleep 0.1
done
sleep 1.5
if [ $ok = 1 ] && $st req GET "$pgro_url/api/v1/profiles" | check "p = d['json']['profiles'];
                len(p) == 1 and p[0]['pid'] == $fgrow and p[0]['reason'] == 'growth'"; then
        pass store-policy-growth
else
        fail store-policy-growth "$($st req GET "$pgro_url/api/v1/profiles" | head -c 600); $(tail -5 "$work/pgro.log")"
fi
kill -TERM "$pres_pid" "$pper_pid" "$pgro_pid" 2>/dev/null

# 11. a full file system: a 64 KiB tmpfs filled up, then a file size limit.
no_file() { [ -z "$(find "$1" -type f \( -name '*.heap' -o -name '*.json' -o -name '.tmp-*' \) 2>/dev/null)" ]; }
mkdir "$work/full"
if mount -t tmpfs -o size=64k tmpfs "$work/full" 2>"$work/mount.err"; then
        mounted=$work/full
        dd if=/dev/zero of="$work/full/filler" bs=1k count=64 2>/dev/null
        policy_daemon full --profile-dir "$work/full/store"
        wait_procs "$full_url" $w1 >/dev/null
        r=$($st req POST "$full_url/api/v1/processes/$w1/profile" '{"store": true}')
        if echo "$r" | check "d['status'] == 507 and d['json']['error']['code'] == 'no_space'" &&
                no_file "$work/full/store" && [ "$(captures_metric "$full_url" no_space)" = 1 ] &&
                grep -q "No space left on device" "$work/full.log"; then
                pass store-full-filesystem
        else
                fail store-full-filesystem "$r; $(find "$work/full" -type f)"
        fi
        kill -TERM "$full_pid" 2>/dev/null
else
        skip store-full-filesystem "cannot mount a tmpfs: $(cat "$work/mount.err")"
fi
fport=$(free_port)
prlimit --fsize=3000 "$D" --runtime-dir "$rt" --http "127.0.0.1:$fport" --interval 0.5 \
        --profile-dir "$work/fsize" 2>"$work/fsize.log" &
fpid=$!
pids+=($fpid)
wait_procs "http://127.0.0.1:$fport" $w1 >/dev/null
r=$($st req POST "http://127.0.0.1:$fport/api/v1/processes/$w1/profile" '{"store": true}')
if echo "$r" | check "d['status'] == 507 and d['json']['error']['code'] == 'no_space' and
                'File too large' in d['json']['error']['message']" && no_file "$work/fsize" &&
        kill -0 "$fpid"; then
        pass store-file-size-limit
else
        fail store-file-size-limit "$r; $(find "$work/fsize" -type f)"
fi
kill -TERM "$fpid" 2>/dev/null
wait "$fpid" 2>/dev/null

# 12. the bad options are clear errors.
b1=$("$D" --capture-growth 50 2>&1)
b2=$("$D" --profile-max-total 12Q 2>&1)
b3=$("$D" --profile-dir relative 2>&1)
if [[ "$b1" == *"bad --capture-growth: 50 (PERCENT%/DURATION"* ]] &&
        [[ "$b2" == *"bad --profile-max-total: 12Q"* ]] &&
        [[ "$b3" == *"bad --profile-dir: relative"* ]]; then
        pass store-bad-options
else
        fail store-bad-options "$b1 | $b2 | $b3"
fi

# 13. the metrics still pass promtool.
if command -v promtool >/dev/null; then
        if $dtool get "$base/metrics" | promtool check metrics >"$work/promtool.out" 2>&1; then
                pass store-metrics-promtool
        else
                fail store-metrics-promtool "$(head -5 "$work/promtool.out")"
        fi
fi

kill -TERM "$dpid" 2>/dev/null
wait "$dpid" 2>/dev/null
[ $fails -eq 0 ]
