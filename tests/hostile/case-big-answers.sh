#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-2-Clause
# A target that answers too much (docs/security.md, "Through jemctld"): two fake
# processes of uid 65534 answer every info and stats poll with 16 MiB, a third with wide
# answers inside the bounds (60 KB of strings, 900 KB of figures and text).  jemctld must
# refuse the huge ones without growing (its RSS stays under 64 MiB; the issue's daemon
# reached 676 MB), keep only the figures of the wide one (/api/v1/processes stays under
# 400 KB: its 4,352 arenas at most, without the text)
# and keep serving a real process.
set -u
B=$(cd "${1:?usage: case-big-answers.sh BUILD_DIR}" && pwd)
# shellcheck source=tests/hostile/lib.sh
. "$(dirname "$0")/lib.sh"
tool="python3 $here/dtool.py"
WL=$B/tools/live_workload
need_files hostile-big-answers "$D" "$WL" "$LIB"
need_root hostile-big-answers
make_work hostile big-answers shared
dpid=""
start_watchdog hostile-big-answers 60

preload real "$WL" 16 60
for m in huge huge wide; do
        setpriv --reuid 65534 --regid 65534 --clear-groups /usr/bin/python3 \
                "$hostile/attacker.py" big "$rt" $m >"$work/fake-$m.$RANDOM" 2>&1 &
        pids+=($!)
done
fakes=("${pids[@]:1}")
wide=${pids[3]}
wait_sockets "$real" "${fakes[@]}" || fail big-answers-setup "not every socket of $real ${fakes[*]} appeared in $rt: $(ls "$rt")"

port=$(free_port)
url=http://127.0.0.1:$port
"$D" --runtime-dir "$rt" --http "127.0.0.1:$port" --interval 1 --timeout 3 --bus none \
        2>"$work/jemctld.log" &
dpid=$!
$tool wait "$url/metrics" 10 "'$real' in pids" >/dev/null || fail big-answers-real "the real process $real not in /metrics"
sleep 4 # four polls of each
rss_kib=$(awk '/^VmHWM:/ {print $2}' "/proc/$dpid/status")
if [ "${rss_kib:-999999}" -lt 65536 ]; then
        pass daemon-big-answers-bounded-rss
else
        fail daemon-big-answers-bounded-rss "jemctld's peak RSS ${rss_kib} KiB after 16 MiB answers"
fi
api=$($tool get "$url/api/v1/processes")
bytes=${#api}
if [ "$bytes" -lt 400000 ]; then
        pass daemon-big-answers-small-api
else
        fail daemon-big-answers-small-api "/api/v1/processes is $bytes bytes"
fi
if echo "$api" | check "
w = [p for p in d if p['pid'] == $wide][0];
i, s = w['info'], w['stats'];
'junk' not in i and 'comm' not in i and len(''.join(i['cmdline'])) <= 4096 and
i['uid'] == 65534 and 'note' not in s and 'e' not in str(s['deep']['a']) and
s['allocated'] == 4096 and len(s['arenas']) == 4352"; then
        pass daemon-big-answers-figures-kept
else
        fail daemon-big-answers-figures-kept "the wide fake's kept answers: $(echo "$api" | head -c 600)"
fi
if grep -q "answer of [0-9]* bytes refused" "$work/jemctld.log"; then
        pass daemon-big-answers-refused
else
        fail daemon-big-answers-refused "$(tail -3 "$work/jemctld.log")"
fi
if $tool check-values "$url/metrics" "$real" >/dev/null; then
        pass daemon-big-answers-real-served
else
        fail daemon-big-answers-real-served "the real process's values are wrong"
fi
exit $((fails > 0))
