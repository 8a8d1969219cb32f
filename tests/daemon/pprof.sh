#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-2-Clause
# The `daemon-pprof` kind: jemctld as the profile endpoint of every process for scrapers
# (jemctld(8), /debug/pprof/heap, /api/v1/targets, /metrics?pid=N, --prof-auto).  Live
# workloads under LD_PRELOAD: prof_sites (three named sites, 48, 12 and 3 MiB), prof_stacks
# (1,024 distinct stacks), three live_workload processes (one not sampling, one sampling
# at lg_sample 14, one of uid 65534), and fake targets whose dumps break.  The real
# clients: `go tool pprof -top` against the endpoint names the sites in the right
# proportions; a real Prometheus with docs/prometheus/targets.yml discovers every process
# through http_sd_configs and scrapes each one's series; curl as root and as uid 65534
# for merges, authorization, the scrape limit and malformed requests.  Bounded: about 30 s,
# killed at 150 s.
#   tests/daemon/pprof.sh BUILD_DIR
set -u
B=$(cd "${1:?usage: tests/daemon/pprof.sh BUILD_DIR}" && pwd)
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=tests/daemon/lib.sh
. "$here/lib.sh" # LIB, D, pass/fail/skip and the set-up below
docs=$(cd "$here/../../docs" && pwd)
PS=$B/tests/prof/prof_sites
PK=$B/tests/prof/prof_stacks
WL=$B/tools/live_workload
JC=$B/jemctl/jemctl
PY=$(command -v /usr/bin/python3 || command -v python3)
st="$PY $here/storetool.py"
web="$PY $here/webtool.py"

need_files pprof "$D" "$PS" "$PK" "$WL" "$JC" "$LIB"
need_tools pprof go curl setpriv prometheus promtool
if [ "$(id -u)" != 0 ]; then
        skip pprof-all "needs root (a client of another uid)"
        exit 0
fi
make_work pprof run shared
chmod 755 "$work"
start_watchdog pprof 150
export HOME=$work # go tool pprof keeps its fetched profiles under $HOME/pprof

# ---- the targets ------------------------------------------------------------------------
# prof_sites and prof_stacks hold their blocks until their standard input closes.
mkfifo "$work/hold"
sleep 1000 >"$work/hold" &
pids+=($!)
held() { # NAME VAR=VALUE... PROGRAM ARG...: as preload, standard input the hold
        local name=$1
        shift
        # (a background command's standard input is /dev/null unless redirected itself)
        env JEMCTL_RUNTIME_DIR="$rt" LD_PRELOAD="$LIB" "$@" <"$work/hold" >"$work/$name.out" 2>&1 &
        pids+=($!)
        eval "$name=$!"
}
held sites MALLOC_CONF=prof:true,lg_prof_sample:12 "$PS" "$work/unused.heap" wait
held stacks MALLOC_CONF=prof:true,lg_prof_sample:0 "$PK" 10
preload lwoff "$WL" 8 140
preload lwkeep MALLOC_CONF=prof:true,lg_prof_sample:14 "$WL" 8 140
preload lwnobody nobody MALLOC_CONF=prof:true,lg_prof_sample:12 "$WL" 8 140
$st fake "$rt" garbage >"$work/fgarbage.out" 2>&1 &
fgarbage=$!
pids+=($fgarbage)
$st fake "$rt" die >"$work/fdie.out" 2>&1 &
fdie=$!
pids+=($fdie)
wait_sockets $sites $stacks $lwoff $lwkeep $lwnobody $fgarbage $fdie ||
        fail pprof-setup "not every target listens"

port=$(free_port)
base=http://127.0.0.1:$port
"$D" --runtime-dir "$rt" --http "127.0.0.1:$port" --interval 0.5 --timeout 2 --bus none \
        --prof-auto=12 2>"$work/jemctld.log" &
dpid=$!
for _ in $(seq 100); do
        n=$(curl -s "$base/api/v1/targets" | $PY -c 'import json,sys; print(len(json.load(sys.stdin)))' 2>/dev/null)
        [ "${n:-0}" -ge 7 ] && break
        sleep 0.1
done
[ "${n:-0}" -ge 7 ] || fail pprof-setup "jemctld lists ${n:-0} of 7 processes"

# code URL [curl options...]: the HTTP status of a GET (the body in $work/body).
code() {
        local u=$1
        shift
        curl -s -o "$work/body" -w '%{http_code}' "$@" "$u"
}
mkdir -m 1777 "$work/u" # what uid 65534's curl writes
ucode() { # the same as uid 65534 (the body in $work/u/body)
        local u=$1
        shift
        as_nobody curl -s -o "$work/u/body" -w '%{http_code}' "$@" "$u"
}
# top URL-OR-FILE: go tool pprof -top, leaf functions and their flat bytes.
top() { go tool pprof -top -nodecount=50 "$@" 2>&1; }

# ---- 1. go tool pprof against the endpoint ------------------------------------------------
out=$(top "$base/debug/pprof/heap?pid=$sites")
if printf '%s\n' "$out" | $PY -c '
import re, sys
units = {"B": 1, "kB": 1e3, "MB": 1e6, "GB": 1e9}
flat = {}
for ln in sys.stdin:
    m = re.match(r"\s*([\d.]+)(B|kB|MB|GB)\s+[\d.]+%\s+[\d.]+%\s+[\d.]+\S*\s+[\d.]+%\s+(\S+)", ln)
    if m:
        flat[m.group(3)] = float(m.group(1)) * units[m.group(2)]
big, mid, small = (flat.get(k, 0) for k in ("site_big", "site_mid", "site_small"))
total = big + mid + small
assert total > 0, flat
# 48, 12 and 3 MiB: shares 0.76, 0.19, 0.05 (sampled: within a few points)
assert 0.66 < big / total < 0.86 and 0.12 < mid / total < 0.26 and 0 < small / total < 0.1, flat
assert 55e6 < total < 80e6, total
'; then
        pass pprof-go-tool-sites
else
        fail pprof-go-tool-sites "$(printf '%s\n' "$out" | head -15 | tr '\n' '|')"
fi
# The answer is what Go's net/http/pprof sends: gzip profile.proto, its four sample types.
if [ "$(code "$base/debug/pprof/heap?pid=$stacks" -D "$work/headers")" = 200 ] &&
        grep -qi '^Content-Type: application/octet-stream' "$work/headers" &&
        [ "$(head -c 2 "$work/body" | od -An -tx1 | tr -d ' ')" = 1f8b ] &&
        out=$(go tool pprof -raw "$work/body" 2>&1) &&
        printf '%s\n' "$out" | grep -q 'alloc_objects/count alloc_space/bytes inuse_objects/count inuse_space/bytes' &&
        n=$(printf '%s\n' "$out" | awk '/^Samples/{s=1;next} /^Locations/{s=0} s && /^ +[0-9]+ +[0-9]+ +[0-9]+ +[0-9]+:/{n++} END{print n+0}') &&
        [ "$n" -ge 1024 ] && top "$work/body" | grep -q 'fork_a' &&
        top "$work/body" | grep -q 'chain'; then
        pass pprof-stacks
else
        fail pprof-stacks "samples ${n:-?}: $(head -c 300 "$work/body" | tr -c '[:print:]' '.')"
fi

# ---- 2. --prof-auto -----------------------------------------------------------------------
# The process started without sampling samples now: its steady site shows up.
ok=0
for _ in $(seq 40); do
        if top "$base/debug/pprof/heap?pid=$lwoff" | grep -q session_open; then
                ok=1
                break
        fi
        sleep 0.5
done
if [ $ok = 1 ] && grep -q "pid $lwoff: heap profile sampling switched on (prof-auto, one sample per 2^12 bytes)" "$work/jemctld.log"; then
        pass pprof-prof-auto
else
        fail pprof-prof-auto "no session_open in pid $lwoff's profile: $(grep "pid $lwoff" "$work/jemctld.log" | tail -2 | tr '\n' '|')"
fi
# One that samples already keeps its owner's rate.
if JEMCTL_RUNTIME_DIR=$rt "$JC" --json prof "$lwkeep" status | check 'd["active"] and d["lg_sample"] == 14' &&
        ! grep -q "pid $lwkeep: heap profile sampling switched on" "$work/jemctld.log"; then
        pass pprof-prof-auto-keeps-rate
else
        fail pprof-prof-auto-keeps-rate "$(JEMCTL_RUNTIME_DIR=$rt "$JC" --json prof "$lwkeep" status | tr '\n' ' ')"
fi

# ---- 3. merges and authorization ----------------------------------------------------------
has_tags() { # TAGS PID...: each PID is a value of the pid tag in go tool pprof -tags
        local t=$1 p
        shift
        for p in "$@"; do
                printf '%s\n' "$t" | grep -q "): $p\$" || return 1
        done
}
wls="$lwoff $lwkeep $lwnobody"
if [ "$(code "$base/debug/pprof/heap?comm=live_workload" -D "$work/headers")" = 200 ] &&
        grep -qi '^X-Profile-Processes: 3 of 3' "$work/headers" &&
        tags=$(go tool pprof -tags "$work/body" 2>&1) && has_tags "$tags" $wls; then
        pass pprof-merge-comm
else
        fail pprof-merge-comm "$(tr -d '\r' <"$work/headers" | tr '\n' '|') ${tags:-}"
fi
# uid 65534: its own process, alone in a merge; root's are refused.
if [ "$(ucode "$base/debug/pprof/heap?pid=$lwnobody")" = 200 ] &&
        [ "$(ucode "$base/debug/pprof/heap?pid=$sites")" = 403 ] &&
        grep -q '"permission_denied"' "$work/u/body" &&
        [ "$(ucode "$base/debug/pprof/heap?comm=live_workload" -D "$work/u/headers")" = 200 ] &&
        grep -qi '^X-Profile-Processes: 1 of 3' "$work/u/headers" &&
        tags=$(go tool pprof -tags "$work/u/body" 2>&1) &&
        printf '%s\n' "$tags" | grep -q "): $lwnobody\$" &&
        ! printf '%s\n' "$tags" | grep -q "): $lwoff\$" &&
        [ "$(ucode "$base/debug/pprof/heap?comm=prof_sites")" = 403 ]; then
        pass pprof-other-uid
else
        fail pprof-other-uid "$(cat "$work/u/body" 2>/dev/null | head -c 300)"
fi

# ---- 4. bad requests and broken targets -------------------------------------------------
bad=""
expect() { # status URL [curl options]
        local want=$1 got
        shift
        got=$(code "$@")
        [ "$got" = "$want" ] && grep -q '"ok":false' "$work/body" || bad="$bad [$* -> $got, want $want]"
}
expect 404 "$base/debug/pprof/heap?pid=999999999"
expect 400 "$base/debug/pprof/heap?pid=abc"
expect 400 "$base/debug/pprof/heap?pid=-3"
expect 400 "$base/debug/pprof/heap?pid=$sites&comm=x"
expect 400 "$base/debug/pprof/heap?pid=$sites&seconds=30"
expect 400 "$base/debug/pprof/heap?pid=$sites&debug=1"
expect 400 "$base/debug/pprof/heap"
expect 400 "$base/debug/pprof/heap?comm="
expect 400 "$base/debug/pprof/heap?%zz"
expect 404 "$base/debug/pprof/heap?comm=no-such-comm"
expect 404 "$base/debug/pprof/goroutine"
expect 405 "$base/debug/pprof/heap?pid=$sites" -X POST
expect 400 "$base/api/v1/targets?bogus=1"
expect 405 "$base/api/v1/targets" -X DELETE
expect 400 "$base/metrics?pid=x"
expect 400 "$base/metrics?other=1"
expect 404 "$base/metrics?pid=999999999"
expect 502 "$base/debug/pprof/heap?pid=$fgarbage"
grep -q '"bad_profile"' "$work/body" || bad="$bad [garbage: $(cat "$work/body")]"
[ "$(code "$base/debug/pprof/heap?pid=$sites&gc=1&debug=0&seconds=0")" = 200 ] ||
        bad="$bad [Go's defaults refused]"
if [ -z "$bad" ]; then
        pass pprof-bad-requests
else
        fail pprof-bad-requests "$bad"
fi

# ---- 5. at most 4 scrapes at a time -------------------------------------------------------
# A stopped target holds 4 scrapes; the 5th is told to come back, the 4 finish after.
kill -STOP "$sites"
busy=()
for i in 1 2 3 4; do
        curl -s -o /dev/null -w '%{http_code}' --max-time 60 "$base/debug/pprof/heap?pid=$sites" \
                >"$work/busy.$i" &
        busy+=($!)
done
sleep 1
c5=$(code "$base/debug/pprof/heap?pid=$stacks" -D "$work/headers")
other=$(code "$base/api/v1/targets") # the daemon answers other requests meanwhile
kill -CONT "$sites"
wait "${busy[@]}"
if [ "$c5" = 503 ] && grep -qi '^Retry-After: 1' "$work/headers" && [ "$other" = 200 ] &&
        [ "$(cat "$work/busy.1" "$work/busy.2" "$work/busy.3" "$work/busy.4")" = 200200200200 ] &&
        [ "$(code "$base/debug/pprof/heap?pid=$stacks")" = 200 ]; then
        pass pprof-scrape-limit
else
        fail pprof-scrape-limit "5th $c5, other $other, held $(cat "$work"/busy.* | tr '\n' ' ')"
fi

# ---- 6. /api/v1/targets and /metrics?pid ---------------------------------------------------
if curl -s "$base/api/v1/targets" | check "g = {x['labels']['pid']: x for x in d};
        s = g['$sites'];
        L = s['labels'];
        len(d) == 7 and s['targets'] == ['127.0.0.1:$port'] and
        L['comm'] == 'prof_sites' and L['exe'].endswith('/prof_sites') and
        L['service_name'] == 'prof_sites' and L['__metrics_path__'] == '/debug/pprof/heap' and
        L['__param_pid'] == '$sites' and 'unit' not in L and
        all(set(x) == {'targets', 'labels'} and isinstance(v, str)
            for x in d for v in x['labels'].values())" &&
        [ "$(curl -s "$base/api/v1/targets?comm=live_workload" | check 'len(d) == 3' && echo y)" = y ]; then
        pass pprof-targets
else
        fail pprof-targets "$(curl -s "$base/api/v1/targets" | head -c 400)"
fi
m=$(curl -s "$base/metrics?pid=$sites")
if printf '%s\n' "$m" | grep -q "^liballoc_resident_bytes{pid=\"$sites\"" &&
        ! printf '%s\n' "$m" | grep -v '^#' | grep -vq "{pid=\"$sites\"" &&
        ! printf '%s\n' "$m" | grep -q '^jemctld_' &&
        [ "$(printf '%s\n' "$m" | grep -c '^# TYPE liballoc_resident_bytes ')" = 1 ]; then
        pass pprof-metrics-pid
else
        fail pprof-metrics-pid "$(printf '%s\n' "$m" | head -5 | tr '\n' '|')"
fi

# ---- 7. a real Prometheus discovers every process -----------------------------------------
if out=$(promtool check config "$docs/prometheus/targets.yml" 2>&1); then
        pass pprof-targets-yml-valid
else
        fail pprof-targets-yml-valid "$(echo "$out" | tail -3 | tr '\n' ' ')"
fi
sed -e "s/127.0.0.1:9464/127.0.0.1:$port/" -e 's/scrape_interval: 15s/scrape_interval: 1s/' \
        -e 's/refresh_interval: 30s/refresh_interval: 1s/' -e 's/scrape_timeout: 5s/scrape_timeout: 900ms/' \
        "$docs/prometheus/targets.yml" >"$work/prometheus.yml"
pport=$(free_port)
prometheus --config.file="$work/prometheus.yml" --storage.tsdb.path="$work/tsdb" \
        --web.listen-address="127.0.0.1:$pport" --storage.tsdb.retention.time=1h \
        --log.level=warn >"$work/prometheus.log" 2>&1 &
ppid_=$!
purl=http://127.0.0.1:$pport
if out=$($web prom-wait "$purl" 30) &&
        curl -s "$purl/api/v1/targets" | check "t = d['data']['activeTargets'];
        pids = {x['labels'].get('pid') for x in t};
        {'$sites', '$stacks', '$lwoff', '$lwkeep', '$lwnobody'} <= pids and
        all(x['health'] == 'up' and x['labels']['job'] == 'liballoc-processes' and
            x['scrapeUrl'].endswith('/metrics?pid=' + x['labels']['pid']) and
            x['discoveredLabels']['__param_pid'] == x['labels']['pid'] and
            x['labels']['exe'].endswith('/' + x['labels']['comm'])
            for x in t if x['labels'].get('comm') in ('prof_sites', 'live_workload'))"; then
        pass pprof-prometheus-discovers
else
        fail pprof-prometheus-discovers "${out:-} $(curl -s "$purl/api/v1/targets" | $PY -c '
import json, sys
for x in json.load(sys.stdin)["data"]["activeTargets"]:
    print(x["labels"].get("pid"), x["labels"].get("comm"), x["health"], x["scrapeUrl"], x.get("lastError"))' | tr '\n' '|')"
fi
q="liballoc_resident_bytes{job=\"liballoc-processes\",pid=\"$sites\"}"
if res=$($web prom-query "$purl" "$q" 15) && [ "$(printf '%s\n' "$res" | wc -l)" = 1 ] &&
        printf '%s\n' "$res" | check "d['labels']['comm'] == 'prof_sites' and d['value'] > 50e6"; then
        pass pprof-prometheus-per-process
else
        fail pprof-prometheus-per-process "$q: ${res:-}"
fi

# ---- 8. the scrapers' example configurations ------------------------------------------------
if $PY - "$docs/profilers/parca.yaml" <<'PY'; then
import sys, yaml
c = yaml.safe_load(open(sys.argv[1]))
job = c["scrape_configs"][0]
assert job["http_sd_configs"][0]["url"].endswith("/api/v1/targets"), job
mem = job["profiling_config"]["pprof_config"]["memory"]
assert mem["enabled"] and mem["path"] == "/debug/pprof/heap", mem
PY
        pass pprof-parca-example
else
        fail pprof-parca-example "docs/profilers/parca.yaml"
fi

# ---- 9. a target that dies inside its answer ------------------------------------------------
c=$(code "$base/debug/pprof/heap?pid=$fdie")
if { [ "$c" = 502 ] || [ "$c" = 404 ]; } && grep -q '"ok":false' "$work/body" &&
        [ "$(code "$base/debug/pprof/heap?pid=$sites")" = 200 ]; then
        pass pprof-target-dies
else
        fail pprof-target-dies "$c $(cat "$work/body")"
fi
if curl -s "$base/metrics" | grep -q '^jemctld_pprof_scrapes_total{result="ok"} [1-9]' &&
        curl -s "$base/metrics" | grep -q '^jemctld_pprof_scrapes_total{result="error"} [1-9]'; then
        pass pprof-metrics-counted
else
        fail pprof-metrics-counted "$(curl -s "$base/metrics" | grep pprof)"
fi
if kill -0 "$dpid" 2>/dev/null; then
        pass pprof-daemon-alive
else
        fail pprof-daemon-alive "jemctld exited"
fi

if [ $fails -ne 0 ]; then
        echo "--- jemctld log"
        tail -30 "$work/jemctld.log"
        echo "--- prometheus log"
        tail -10 "$work/prometheus.log" 2>/dev/null
fi
[ $fails -eq 0 ]
