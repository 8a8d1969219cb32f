#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-2-Clause
# Hostile case `convert-loop` (security review, issue 17, item 6): a stored profile that
# takes seconds to convert (60,000 stacks of 100 distinct frames, 66 MB of heap_v2) must
# not stop jemctld's loop.  While its folded download converts, /metrics is polled every
# 0.1 s with a 1 s limit and must answer every time; the conversion is stopped at
# --convert-timeout (2 s here) with 503 conversion_timeout and counted; five at once get
# at least one 503 busy (at most 4 run); a small profile still converts (200).
#   tests/hostile/case-convert-loop.sh BUILD_DIR
set -u
B=$(cd "${1:?usage: tests/hostile/case-convert-loop.sh BUILD_DIR}" && pwd)
# shellcheck source=tests/hostile/lib.sh
. "$(dirname "$0")/lib.sh"
PY=$(command -v /usr/bin/python3 || command -v python3)
need_files convert-loop "$D"
make_work hostile convert-loop
start_watchdog convert-loop 150

# A dump of n stacks of 100 random addresses in one mapping (a real file: symbolized).
make_dump() { # n out-file
        "$PY" - "$1" "$2" <<'PYEOF'
import random, sys
n, out = int(sys.argv[1]), sys.argv[2]
rnd = random.Random(17)
with open(out + ".tmp", "w") as f:
    f.write("heap_v2/524288\n  t*: %d: %d [0: 0]\n" % (n, n * 4096))
    for _ in range(n):
        f.write("@ " + " ".join("0x%x" % rnd.randrange(0x400000, 0x40000000)
                                for _ in range(100)) + "\n  t*: 1: 4096 [0: 0]\n")
    f.write("\nMAPPED_LIBRARIES:\n400000-40000000 r-xp 00000000 00:00 1 /usr/bin/true\n")
PYEOF
        mv "$2.tmp" "$2"
}
make_dump 60000 "$work/dump.heap"
"$PY" "$hostile/dumptarget.py" "$rt" "$work/dump.heap" >"$work/fake.out" 2>&1 &
fake=$!
pids+=($fake)
wait_sockets $fake || { fail convert-loop-setup "the fake target did not come up"; exit 1; }

port=$(free_port)
url=http://127.0.0.1:$port
"$D" --runtime-dir "$rt" --http "127.0.0.1:$port" --interval 0.5 --timeout 2 --bus none \
        --profile-dir "$work/store" --convert-timeout 2 2>"$work/jemctld.log" &
dpid=$!
tool="$PY $here/dtool.py"
st="$PY $here/storetool.py"
if ! $tool wait "$url/metrics" 10 "'$fake' in pids" >/dev/null 2>&1; then
        fail convert-loop-setup "jemctld did not list the fake: $(tail -3 "$work/jemctld.log")"
        exit 1
fi
capture() {
        $st req POST "$url/api/v1/processes/$fake/profile" '{"store": true}' |
                "$PY" -c 'import json,sys; print(json.load(sys.stdin)["json"]["result"]["id"])'
}
# poll SECONDS OUT: /metrics every 0.1 s, each within 1 s; OUT gets "ok N" or "failed N".
poll() {
        "$PY" - "$url/metrics" "$1" >"$2" <<'PYEOF'
import sys, time, urllib.request
url, secs = sys.argv[1], float(sys.argv[2])
ok = bad = 0
end = time.monotonic() + secs
while time.monotonic() < end:
    try:
        urllib.request.urlopen(url, timeout=1).read()
        ok += 1
    except Exception:
        bad += 1
    time.sleep(0.1)
print("ok %d failed %d" % (ok, bad))
PYEOF
}
big=$(capture)
if [ -z "$big" ]; then
        fail convert-loop-setup "the capture failed: $(tail -3 "$work/jemctld.log")"
        exit 1
fi

# 1. One slow conversion: the loop answers throughout; stopped at the deadline.
poll 4 "$work/poll1" &
poller=$!
t0=$(date +%s.%N)
$st req GET "$url/api/v1/profiles/$big?format=folded" >"$work/slow.json"
t1=$(date +%s.%N)
wait $poller
if grep -q '^ok [1-9][0-9]* failed 0$' "$work/poll1"; then
        pass convert-loop-metrics-answer-meanwhile
else
        fail convert-loop-metrics-answer-meanwhile "$(cat "$work/poll1")"
fi
took=$(python3 -c "print(round($t1 - $t0, 2))")
if check "d['status'] == 503 and d['json']['error']['code'] == 'conversion_timeout'" \
        <"$work/slow.json" && python3 -c "import sys; sys.exit(0 if $took < 6 else 1)"; then
        pass convert-loop-deadline
else
        fail convert-loop-deadline "after $took s: $(head -c 300 "$work/slow.json")"
fi
if $tool get "$url/metrics" | grep -q '^jemctld_profile_conversions_total{result="timeout"} 1$'; then
        pass convert-loop-timeout-counted
else
        fail convert-loop-timeout-counted "$($tool get "$url/metrics" | grep conversions)"
fi

# 2. Five at once: at most four children, the fifth is told to come back.
for i in 1 2 3 4 5; do
        $st req GET "$url/api/v1/profiles/$big?format=svg" >"$work/many$i.json" &
done
poll 4 "$work/poll2" &
poller=$!
wait $poller
for _ in $(seq 100); do
        [ "$(cat "$work"/many*.json 2>/dev/null | wc -l)" = 5 ] && break
        sleep 0.1
done
busy=$(cat "$work"/many*.json | grep -c '"busy"')
if [ "$busy" -ge 1 ] && grep -q '^ok [1-9][0-9]* failed 0$' "$work/poll2"; then
        pass convert-loop-busy-beyond-four
else
        fail convert-loop-busy-beyond-four "$busy busy; $(cat "$work/poll2")"
fi

# 3. A small profile still converts, and the daemon has no child left behind.
make_dump 200 "$work/dump.heap"
small=$(capture)
$st req GET "$url/api/v1/profiles/$small?format=folded" "" "$work/small.folded" >"$work/small.json"
if check "d['status'] == 200" <"$work/small.json" && [ "$(wc -l <"$work/small.folded")" -ge 1 ]; then
        pass convert-loop-small-converts
else
        fail convert-loop-small-converts "$(head -c 300 "$work/small.json")"
fi
if [ -z "$(pgrep -P "$dpid")" ] && kill -0 "$dpid" 2>/dev/null; then
        pass convert-loop-no-child-left
else
        fail convert-loop-no-child-left "children: $(pgrep -P "$dpid" | tr '\n' ' ')"
fi
[ "$fails" -gt 0 ] && exit 1
exit 0
