#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-2-Clause
# The dashboard of jemctld, for real: three workloads under LD_PRELOAD, one of them with a
# hostile name (comm "<b id=pwn>x", argv[0] an <img onerror=...> tag); jemctld polls them
# every 0.5 s.  Checks the HTTP views (/, /static/, /api/v1/history, /api/v1/groups, bad
# queries), then loads the page in headless Chromium: the DOM lists every pid with charts
# that have data points, the hostile strings show as text and inject nothing, a screenshot
# is kept in BUILD/tests-artifacts/, and clicks on Purge and Set decay (over the DevTools
# pipe) show the endpoints' answers and change the process; the charts have dirty and
# muzzy series, a UTC time axis and a hover readout, the actions are marked on them
# (/api/v1/events), the table sorts and filters, the header sums the host; the flame
# graph viewer draws a captured profile, searches, zooms and inverts (its screenshot is
# kept too).  A second daemon polling every 20 ms shows the history stays at its bound.
# Bounded: about 35 s, killed at 150 s.
#   tests/daemon/web.sh BUILD_DIR
set -u
B=$(cd "${1:?usage: tests/daemon/web.sh BUILD_DIR}" && pwd)
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=tests/daemon/lib.sh
. "$here/lib.sh" # LIB, D, pass/fail/skip and the set-up below
WL=$B/tools/live_workload
tool="python3 $here/dtool.py"
web="python3 $here/webtool.py"
CHROME=${CHROMIUM:-$(command -v chromium || command -v chromium-browser || true)}

need_files web "$D" "$WL" "$LIB"
mkdir -p "$B/tests-artifacts"
make_work daemon web
dpid=""
cleanup_kill() {
        # Chromium's own children (renderer, zygote) of this run: by its profile directory.
        for p in $(pgrep -f -- "--user-data-dir=$work/" 2>/dev/null); do
                kill -KILL "$p" 2>/dev/null
        done
}
start_watchdog web 150

# Two plain workloads and a hostile one: its file name becomes its comm (15 bytes at most),
# its argv[0] its command line.
hostile_comm='<b id=pwn>x'
hostile_argv0='<img id=pwn2 src=x onerror="document.body.dataset.pwned=1">'
mkdir "$work/bin"
cp "$WL" "$work/bin/$hostile_comm"
preload w1 "$WL" 64 60
preload w3 "$WL" 64 60
JEMCTL_RUNTIME_DIR=$rt python3 -c 'import os, sys
os.execve(sys.argv[1], [sys.argv[2], "64", "60"], dict(os.environ, LD_PRELOAD=sys.argv[3]))' \
        "$work/bin/$hostile_comm" "$hostile_argv0" "$LIB" >"$work/w2.out" 2>&1 &
w2=$!
pids+=($w2)
wait_sockets "$w1" "$w2" "$w3"

port=$(free_port)
url=http://127.0.0.1:$port
"$D" --runtime-dir "$rt" --http "127.0.0.1:$port" --interval 0.5 --timeout 2 \
        --profile-dir "$work/profiles" 2>"$work/jemctld.log" &
dpid=$!

# A second daemon polling every 20 ms fills the history past its bound meanwhile.
port2=$(free_port)
"$D" --runtime-dir "$rt" --http "127.0.0.1:$port2" --interval 0.02 --timeout 2 \
        2>"$work/jemctld2.log" &
dpid2=$!
pids+=($dpid2)

# Both polled a few times (history has points).
hist_points() {
        $tool get "$url/api/v1/history?pid=$1" 2>/dev/null |
                python3 -c 'import json,sys; print(len(json.load(sys.stdin)["samples"]["t"]))' 2>/dev/null ||
                echo 0
}
ok=0
for _ in $(seq 60); do
        if [ "$(hist_points "$w1")" -ge 4 ] && [ "$(hist_points "$w2")" -ge 4 ] &&
                [ "$(hist_points "$w3")" -ge 4 ]; then
                ok=1
                break
        fi
        sleep 0.25
done
if [ $ok = 1 ]; then
        pass web-history-recorded
else
        fail web-history-recorded "pids $w1 $w2 $w3: fewer than 4 history samples after 15 s"
        cat "$work/jemctld.log"
fi

# 1. the HTTP views.
if out=$($web http "$url" "$w2" "$hostile_comm"); then
        pass web-http-views
else
        fail web-http-views "$(echo "$out" | head -8 | tr '\n' ';')"
fi
# Groups: two processes of one comm are summed (per poll cycle in the history).
if out=$(python3 - "$url" "$w1" "$w3" <<'PY'
import json, sys, urllib.request
url, p1, p3 = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
get = lambda path: json.load(urllib.request.urlopen(url + path))
g = {x["comm"]: x for x in get("/api/v1/groups?by=comm")}
assert sorted(g) == sorted(["live_workload", "<b id=pwn>x"]), sorted(g)
assert sorted(g["live_workload"]["pids"]) == [p1, p3] and g["live_workload"]["processes"] == 2
u = get("/api/v1/groups?by=unit")
assert sum(x["processes"] for x in u) == 3, u
# The per-comm history sums both processes, cycle by cycle.
h = get("/api/v1/history?comm=live_workload")
s = h["samples"]
assert sorted(h["pids"]) == [p1, p3], h["pids"]
assert len(s["t"]) >= 4 and sum(n == 2 for n in s["processes"]) >= len(s["t"]) - 2, s["processes"]
a = [get("/api/v1/history?pid=%d" % p)["samples"]["allocated"] for p in (p1, p3)]
both = [v for v, n in zip(s["allocated"], s["processes"]) if n == 2]
assert min(a[0]) + min(a[1]) <= min(both) and max(both) <= max(a[0]) + max(a[1]), (both, a)
PY
); then
        pass web-groups
else
        fail web-groups "$(echo "$out" | tail -3 | tr '\n' ';')"
fi

# 2. headless Chromium.
chrome() { # profile-name args...
        local prof=$work/chrome-$1
        shift
        timeout -k 5 45 "$CHROME" --headless --no-sandbox --disable-gpu --no-first-run \
                --disable-extensions --disable-dev-shm-usage --user-data-dir="$prof" "$@" \
                2>>"$work/chrome.log"
}
if [ -z "$CHROME" ]; then
        skip web-dom "chromium not installed (tools/deps.sh test)"
        skip web-hostile-escaped "chromium not installed"
        skip web-screenshot "chromium not installed"
        skip web-actions "chromium not installed"
else
        chrome dom --virtual-time-budget=8000 --dump-dom "$url/" >"$work/dom.html"
        cp "$work/dom.html" "$B/tests-artifacts/dashboard-dom.html"
        out=$($web dom "$work/dom.html" "$hostile_comm" "$w1" "$w2" "$w3")
        rows=$(echo "$out" | grep -v -e hostile -e injected)
        hostile=$(echo "$out" | grep -e hostile -e injected)
        if [ ! -s "$work/dom.html" ]; then
                fail web-dom "chromium printed no DOM: $(tail -3 "$work/chrome.log" | tr '\n' ';')"
        elif [ -z "$rows" ]; then
                pass web-dom
        else
                fail web-dom "$(echo "$rows" | head -5 | tr '\n' ';')"
        fi
        if [ -s "$work/dom.html" ] && [ -z "$hostile" ] &&
                grep -q '&lt;b id=pwn&gt;x' "$work/dom.html" &&
                grep -q '&lt;img id=pwn2' "$work/dom.html"; then
                pass web-hostile-escaped
        else
                fail web-hostile-escaped "${hostile:-the hostile comm or cmdline is not in the DOM as text}"
        fi

        shot=$B/tests-artifacts/dashboard.png
        rm -f "$shot"
        chrome shot --virtual-time-budget=8000 --window-size=1400,1100 \
                --hide-scrollbars --screenshot="$shot" "$url/" >/dev/null
        if out=$($web png "$shot"); then
                pass web-screenshot
        else
                fail web-screenshot "$out"
        fi

        # The actions: a click on Purge, the decay form set to 1234 ms, a heap profile
        # (into the profile store, or saved as a download by an older dashboard).  The endpoints' answers are shown; without the write
        # endpoints (404) the page says so and keeps working.
        mkdir "$work/downloads"
        if res=$(CDP_PROFILE=$work/chrome-cdp CDP_DOWNLOADS=$work/downloads \
                timeout -k 5 45 $web cdp "$CHROME" "$url/" "$w1" purge decay=1234 profile); then
                if out=$(python3 - "$res" "$url" "$w1" "$work/downloads" <<'PY'
import json, os, re, sys, time, urllib.request
res, url, pid, dl = json.loads(sys.argv[1]), sys.argv[2], int(sys.argv[3]), sys.argv[4]
for r in res:
    t = r["text"]
    if r["action"] == "profile" and t.startswith("HTTP 200\n{"):
        # Stored by the daemon (the profile store): listed, and a heap profile of that pid.
        m = json.loads(t.split("\n", 1)[1])["result"]
        assert m["pid"] == pid and not r["bad"], r
        ids = [p["id"] for p in json.load(urllib.request.urlopen(
            url + "/api/v1/profiles?pid=%d" % pid))["profiles"]]
        assert m["id"] in ids, (m, ids)
        with urllib.request.urlopen(url + "/api/v1/profiles/" + m["id"]) as f:
            assert f.read(8) == b"heap_v2/", m
    elif r["action"] == "profile" and t.startswith("HTTP 200"):
        # Saved through the browser's download: a heap profile of that pid.
        m = re.match(r"HTTP 200: profile of pid %d saved as (\S+) \(" % pid, t)
        assert m and not r["bad"], r
        f = os.path.join(dl, m.group(1))
        end = time.time() + 5
        while not os.path.exists(f) and time.time() < end:
            time.sleep(0.1)
        assert open(f, "rb").read(8) == b"heap_v2/", (f, os.listdir(dl))
    elif t.startswith("HTTP 200"):
        body = json.loads(t.split("\n", 1)[1])
        assert body["ok"] is True and not r["bad"], r
        if r["action"] == "purge":
            assert "rss_after" in json.dumps(body), r
    elif t.startswith("HTTP 404"):
        assert r["bad"], r  # read-only daemon: shown as an error, page still alive
    else:
        raise SystemExit("unexpected result: %r" % r)
if res[1]["text"].startswith("HTTP 200"):
    # The new decay time reaches the process (the next polls show it).
    end = time.time() + 5
    while time.time() < end:
        ps = json.load(urllib.request.urlopen(url + "/api/v1/processes"))
        st = next(p["stats"] for p in ps if p["pid"] == pid)
        if st["dirty_decay_ms"] == 1234:
            break
        time.sleep(0.2)
    else:
        raise SystemExit("dirty_decay_ms is %r, not 1234" % st["dirty_decay_ms"])
print(" ".join(r["text"].split("\n")[0] for r in res))
PY
                ); then
                        pass web-actions
                else
                        fail web-actions "$(echo "$out" | tail -2 | tr '\n' ' ') (shown: $res)"
                fi
        else
                fail web-actions "the DevTools session failed: $res"
        fi

        # What the actions did is marked on the chart (/api/v1/events); a hover reads the
        # values; a column click sorts (again: reversed); the filter keeps what matches.
        if res=$(CDP_PROFILE=$work/chrome-cdp2 timeout -k 5 45 $web cdp "$CHROME" "$url/" "$w1" \
                marks hover sort=pid sort=pid "filter=$w2" \
                "eval=document.getElementById('summary').textContent") &&
                out=$(python3 - "$res" "$url" "$w1" "$w2" <<'PY'
import json, re, sys, urllib.request
res, url, w1, w2 = json.loads(sys.argv[1]), sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
by = {r["action"]: r["text"] for r in res}
evs = json.load(urllib.request.urlopen(url + "/api/v1/events?pid=%d" % w1))["events"]
kinds = {(e["kind"], e["via"]) for e in evs}
assert {("purge", "http"), ("decay", "http")} <= kinds, evs
assert all(e["pid"] == w1 for e in evs), evs
marks = json.loads(by["marks"])
assert "purge" in marks and "decay" in marks, marks
assert re.match(r"\d\d:\d\d:\d\d  alloc .+ res .+ rss .+ dirty .+ muzzy .+", by["hover"]), by
orders = [json.loads(r["text"]) for r in res if r["action"] == "sort=pid"]
assert orders[0] == sorted(orders[0], reverse=True) and orders[1] == sorted(orders[1]), orders
assert len(orders[0]) >= 3 and orders[0] == orders[1][::-1], orders
assert json.loads(by["filter=%d" % w2]) == [w2], by
summary = json.loads(res[-1]["text"])  # the host's totals in the header
assert re.match(r"\d+ processes.*; in all: allocated .+, resident .+, rss .+", summary), summary
print("marks %s; hover %r" % (marks, by["hover"][:40]))
PY
                ); then
                pass web-marks-hover-sort
        else
                fail web-marks-hover-sort "$(echo "${out:-}" | tail -2 | tr '\n' ' ') (page: $res)"
        fi

        # The flame graph viewer on the profile the actions stored: drawn, titled with the
        # program and the sampling, search highlights, a click zooms, inverted flips,
        # reset comes back.
        # Sampling on in w1 first (the workloads run without it), then a capture.
        "$B/jemctl/jemctl" --runtime-dir "$rt" prof "$w1" on --lg-sample 10 >/dev/null 2>&1
        sleep 2
        pid_id=$(python3 -c 'import json, sys, urllib.request
req = urllib.request.Request(sys.argv[1] + "/api/v1/processes/" + sys.argv[2] + "/profile",
                             data=b"{\"store\": true}", method="POST",
                             headers={"Content-Type": "application/json"})
print(json.load(urllib.request.urlopen(req, timeout=30))["result"]["id"])' "$url" "$w1" 2>/dev/null)
        if [ -z "$pid_id" ]; then
                skip web-flame-viewer "no stored profile of pid $w1 (the store is off here)"
        elif res=$(CDP_PROFILE=$work/chrome-cdp3 timeout -k 5 45 $web cdp "$CHROME" \
                "$url/static/flame.html?id=$pid_id" "$w1" \
                "eval=[document.querySelectorAll('g.box').length, document.getElementById('fg-title').textContent, document.getElementById('fg-sub').textContent]" \
                "eval=(() => { const s = document.getElementById('fg-search'); s.value = 'main'; s.dispatchEvent(new Event('input')); return [document.querySelectorAll('g.box.match').length, document.getElementById('fg-match').textContent]; })()" \
                "eval=(() => { document.querySelector('g.box[data-name=\"main\"]').dispatchEvent(new MouseEvent('click')); return document.querySelector('svg.flame').dataset.zoom; })()" \
                "eval=(() => { const c = document.getElementById('fg-invert'); c.checked = true; c.dispatchEvent(new Event('change')); const r = document.querySelector('g.box[data-name=\"all\"] rect'); return [document.querySelector('svg.flame').dataset.inverted, r.getAttribute('y')]; })()" \
                "eval=(() => { document.getElementById('fg-reset').click(); return document.querySelector('svg.flame').dataset.zoom; })()") &&
                out=$(python3 - "$res" "$w1" <<'PY'
import json, re, sys
res, w1 = json.loads(sys.argv[1]), sys.argv[2]
v = [json.loads(r["text"]) for r in res]
n, title, sub = v[0]
assert n > 3 and "Heap profile of live_workload, pid " + w1 in title, v[0]
assert re.search(r"one sample per .+ allocated on average \(heap_v2/\d+\)", sub), v[0]
assert v[1][0] >= 1 and v[1][1].startswith("matched "), v[1]
assert v[2] == "main", v[2]
assert v[3] == ["1", "10"], v[3]  # inverted: the root on top (at PAD)
assert v[4] == "all", v[4]
print("%d boxes; %s" % (n, v[1][1]))
PY
                ); then
                pass web-flame-viewer
                # Its screenshot, kept with the dashboard's in the test output.
                chrome flameshot --virtual-time-budget=8000 --window-size=1400,900 \
                        --hide-scrollbars --screenshot="$B/tests-artifacts/flame-viewer.png" \
                        "$url/static/flame.html?id=$pid_id" >/dev/null
        else
                fail web-flame-viewer "$(echo "${out:-}" | tail -2 | tr '\n' ' ') (page: $res)"
        fi
fi

# 3. the history is bounded: each process's ring fills to 360 samples (history.h), then
# stays at 360 while the oldest go (the first time moves on), in time order (two polls
# may land in one millisecond under load: equal times are fine); the memory
# it reports matches.
if out=$(python3 - "http://127.0.0.1:$port2" "$w1" "$w2" "$w3" <<'PY'
import json, sys, time, urllib.request
url = sys.argv[1]
get = lambda path: json.load(urllib.request.urlopen(url + path, timeout=5))
def hist(pid):
    return get("/api/v1/history?pid=" + pid)
end = time.time() + 40
while time.time() < end:
    if all(len(hist(p)["samples"]["t"]) == 360 for p in sys.argv[2:]):
        break
    time.sleep(0.25)
first = {}
for pid in sys.argv[2:]:
    h = hist(pid)
    t = h["samples"]["t"]
    assert h["capacity"] == 360 and len(t) == 360, (pid, h["capacity"], len(t))
    first[pid] = t[0]
time.sleep(1.5)
for pid in sys.argv[2:]:
    t = hist(pid)["samples"]["t"]
    assert len(t) == 360, (pid, "grew past the bound", len(t))
    assert t[0] > first[pid], (pid, "the oldest sample did not go")
    bad = [(i, a, b) for i, (a, b) in enumerate(zip(t, t[1:])) if not a <= b]
    assert not bad, ("times out of order", pid, bad[:3])
    assert time.time() - t[-1] < 5, "the newest sample is old"
m = urllib.request.urlopen(url + "/metrics").read().decode()
v = {l.split()[0]: float(l.split()[1]) for l in m.splitlines()
     if l.startswith("jemctld_history_")}
assert v["jemctld_history_processes"] == 3, v
assert 3 * 360 * 96 <= v["jemctld_history_bytes"] <= 3 * (360 * 96 + 256), v
print("history bytes %d for 3 processes" % v["jemctld_history_bytes"])
PY
); then
        pass web-history-bounded
else
        fail web-history-bounded "$(echo "${out:-}" | tail -2 | tr '\n' ' ')"
fi

if [ $fails -ne 0 ]; then
        echo "--- jemctld log"
        cat "$work/jemctld.log"
        [ -f "$work/chrome.log" ] && tail -20 "$work/chrome.log"
fi
[ $fails -eq 0 ]
