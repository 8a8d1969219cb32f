#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-2-Clause
# Hostile case: a real browser under DNS rebinding.  Headless Chromium with the host rule
# "MAP rebind.test 127.0.0.1" (what the attacker's DNS does) against jemctld on
# 127.0.0.1: (1) the daemon's /api/v1/processes and /metrics loaded directly as
# http://rebind.test:PORT/... show the 421 bad_host error and no data, the same URLs under
# 127.0.0.1 show the data; (2) the attacker's page (tests/hostile/rebind_page.py, whose
# server passes every request but the page to jemctld, as after a rebinding) loaded from
# http://rebind.test:PAGEPORT/ fetches /api/v1/processes and /metrics from its own origin
# and gets 421 and no data, the same page from 127.0.0.1 gets both.  SKIP without
# Chromium.  Bounded: about 15 s, killed at 120 s.
#   tests/hostile/case-browser-rebinding.sh BUILD_DIR
set -u
B=$(cd "${1:?usage: tests/hostile/case-browser-rebinding.sh BUILD_DIR}" && pwd)
# shellcheck source=tests/hostile/lib.sh
. "$(dirname "$0")/lib.sh"
WL=${LIVE_WORKLOAD:-$B/tools/live_workload}
tool="python3 $here/dtool.py"
CHROME=${CHROMIUM:-$(command -v chromium || command -v chromium-browser || true)}

if [ -z "$CHROME" ]; then
        for t in browser-rebinding-direct browser-rebinding-page; do
                skip "$t" "chromium not installed (tools/deps.sh test installs it)"
        done
        exit 0
fi
need_files daemon "$D" "$WL" "$LIB"
make_work hostile browser
dpid=""
start_watchdog hostile-browser-rebinding 120

preload w1 "$WL" 64 90
wait_sockets "$w1"
port=$(free_port)
"$D" --runtime-dir "$rt" --http "127.0.0.1:$port" --interval 1 --timeout 2 \
        2>"$work/jemctld.log" &
dpid=$!
if ! $tool wait "http://127.0.0.1:$port/metrics" 10 "'$w1' in pids"; then
        fail hostile-browser-setup "pid $w1 not in /metrics within 10 s"
        exit 1
fi
pport=$(free_port)
python3 "$hostile/rebind_page.py" "$pport" "$port" >"$work/page.log" 2>&1 &
pids+=($!)
for _ in $(seq 50); do
        $tool status "http://127.0.0.1:$pport/page.html" >/dev/null 2>&1 && break
        sleep 0.1
done

# The DOM Chromium ends with for URL, the attacker's name mapped to 127.0.0.1.
dom() { # name URL
        timeout -k 5 45 "$CHROME" --headless --no-sandbox --disable-gpu --no-first-run \
                --disable-extensions --disable-dev-shm-usage \
                --user-data-dir="$work/chrome-$1" \
                --host-resolver-rules="MAP rebind.test 127.0.0.1" \
                --virtual-time-budget=5000 --dump-dom "$2" >"$work/$1.html" \
                2>>"$work/chrome.log"
}
# has FILE TEXT...: every TEXT is in FILE; lacks FILE TEXT...: none is.
has() {
        local f=$1 t
        shift
        for t in "$@"; do grep -qF -- "$t" "$f" || return 1; done
}
lacks() {
        local f=$1 t
        shift
        for t in "$@"; do grep -qF -- "$t" "$f" && return 1; done
        return 0
}
data=("\"pid\": $w1" "liballoc_allocated_bytes{pid=\"$w1\"")

# 1. The daemon's URLs loaded directly under the rebound name, then under 127.0.0.1.
dom direct-procs "http://rebind.test:$port/api/v1/processes"
dom direct-metrics "http://rebind.test:$port/metrics"
dom direct-procs-ok "http://127.0.0.1:$port/api/v1/processes"
dom direct-metrics-ok "http://127.0.0.1:$port/metrics"
if has "$work/direct-procs.html" bad_host && has "$work/direct-metrics.html" bad_host &&
        lacks "$work/direct-procs.html" "${data[@]}" &&
        lacks "$work/direct-metrics.html" "${data[@]}" &&
        has "$work/direct-procs-ok.html" "${data[0]}" &&
        has "$work/direct-metrics-ok.html" "${data[1]}"; then
        pass browser-rebinding-direct
else
        fail browser-rebinding-direct "$(head -c 300 "$work/direct-procs.html" | tr '\n' ' ') / $(head -c 300 "$work/direct-metrics-ok.html" | tr '\n' ' ') / $(tail -3 "$work/chrome.log" | tr '\n' ' ')"
fi

# 2. The attacker's page: its same-origin fetches reach jemctld with its name as Host.
dom page "http://rebind.test:$pport/page.html"
dom page-ok "http://127.0.0.1:$pport/page.html"
if has "$work/page.html" "fetches done" "fetch /api/v1/processes status 421" \
        "fetch /metrics status 421" bad_host && lacks "$work/page.html" "${data[@]}" &&
        has "$work/page-ok.html" "fetches done" "fetch /api/v1/processes status 200" \
                "fetch /metrics status 200" "${data[@]}"; then
        pass browser-rebinding-page
else
        fail browser-rebinding-page "rebind.test: $(grep -o 'fetch [^ ]* [a-z]* [0-9A-Za-z]*' "$work/page.html" | tr '\n' ' '); 127.0.0.1: $(grep -o 'fetch [^ ]* [a-z]* [0-9A-Za-z]*' "$work/page-ok.html" | tr '\n' ' ')"
fi
if ! grep -q 'refused a request for Host "rebind.test:' "$work/jemctld.log"; then
        fail browser-rebinding-logged "jemctld did not log the refused Host"
fi

stop_process "$dpid"
rc=$?
dpid=""
[ "$rc" = 0 ] || fail hostile-browser-sigterm "jemctld exit status $rc"
[ $fails -eq 0 ]
