#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-2-Clause
# jemctld scraped by a real Prometheus server (Debian package prometheus): two workloads
# under LD_PRELOAD, jemctld polling them every 0.5 s, Prometheus on a free 127.0.0.1 port
# with a temporary TSDB scraping jemctld every second and evaluating the recording rules
# of docs/prometheus/.  PromQL over its HTTP API must return the workloads' series, a
# rate() of jemctld's counter and a recording rule's sum.  Also: promtool check config /
# rules / test rules on docs/prometheus/, and docs/grafana/liballoc-fleet.json is valid
# JSON naming only metrics jemctld exports.  Bounded: about 20 s, killed at 120 s.
#   tests/daemon/prom.sh BUILD_DIR
set -u
B=$(cd "${1:?usage: tests/daemon/prom.sh BUILD_DIR}" && pwd)
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=tests/daemon/lib.sh
. "$here/lib.sh" # LIB, D, pass/fail/skip and the set-up below
docs=$(cd "$here/../../docs" && pwd)
WL=$B/tools/live_workload
tool="python3 $here/dtool.py"
web="python3 $here/webtool.py"

need_files prom "$D" "$WL" "$LIB"
make_work daemon prom
dpid=""
ppid_=""
start_watchdog prom 120

# 1. the files of docs/, with promtool.
if ! command -v promtool >/dev/null || ! command -v prometheus >/dev/null; then
        echo "SKIP: prom-*: prometheus not installed (Debian package prometheus)"
        exit 0
fi
if out=$(promtool check config "$docs/prometheus/prometheus.yml" 2>&1); then
        pass prom-check-config
else
        fail prom-check-config "$(echo "$out" | grep -v WARNING | tail -3 | tr '\n' ' ')"
fi
if out=$(promtool check rules "$docs/prometheus/liballoc-rules.yml" 2>&1); then
        pass prom-check-rules
else
        fail prom-check-rules "$(echo "$out" | tail -3 | tr '\n' ' ')"
fi
if out=$(cd "$docs/prometheus" && promtool test rules liballoc-rules.test.yml 2>&1); then
        pass prom-test-rules
else
        fail prom-test-rules "$(echo "$out" | tail -8 | tr '\n' ' ')"
fi
# A broken rules file is refused (the check can fail).
printf 'groups:\n  - name: x\n    rules:\n      - record: a\n        expr: sum(\n' >"$work/bad.yml"
if promtool check rules "$work/bad.yml" >/dev/null 2>&1; then
        fail prom-check-rules-bad "promtool accepted a broken rule"
else
        pass prom-check-rules-bad
fi

# 2. workloads, jemctld, Prometheus.
preload w1 "$WL" 64 60
preload w2 "$WL" 64 60
wait_sockets "$w1" "$w2"
jport=$(free_port)
"$D" --runtime-dir "$rt" --http "127.0.0.1:$jport" --interval 0.5 --timeout 2 \
        2>"$work/jemctld.log" &
dpid=$!
$tool wait "http://127.0.0.1:$jport/metrics" 10 "{'$w1','$w2'} <= pids" ||
        fail prom-setup "jemctld does not list both workloads"

# The documents name only what jemctld exports.
if out=$($web rules "$docs/prometheus/liballoc-rules.yml" "http://127.0.0.1:$jport/metrics"); then
        pass prom-rules-metrics-exported
else
        fail prom-rules-metrics-exported "$(echo "$out" | head -3 | tr '\n' ' ')"
fi
if out=$($web grafana "$docs/grafana/liballoc-fleet.json" "http://127.0.0.1:$jport/metrics" \
        "$docs/prometheus/liballoc-rules.yml"); then
        pass prom-grafana-json
else
        fail prom-grafana-json "$(echo "$out" | head -3 | tr '\n' ' ')"
fi

pport=$(free_port)
cp "$docs/prometheus/liballoc-rules.yml" "$work/"
cat >"$work/prometheus.yml" <<EOF
global:
  scrape_interval: 1s
  evaluation_interval: 1s
rule_files: [liballoc-rules.yml]
scrape_configs:
  - job_name: jemctld
    scrape_timeout: 900ms
    static_configs:
      - targets: ["127.0.0.1:$jport"]
EOF
if ! promtool check config "$work/prometheus.yml" >/dev/null 2>&1; then
        fail prom-setup "the test's own Prometheus config is invalid"
fi
prometheus --config.file="$work/prometheus.yml" --storage.tsdb.path="$work/tsdb" \
        --web.listen-address="127.0.0.1:$pport" --storage.tsdb.retention.time=1h \
        --log.level=warn >"$work/prometheus.log" 2>&1 &
ppid_=$!
purl=http://127.0.0.1:$pport

# 3. the target is up.
if out=$($web prom-wait "$purl" 30); then
        pass prom-target-up
else
        fail prom-target-up "$out"
        tail -5 "$work/prometheus.log"
fi

# 4. PromQL: the workloads' series, by pid.
q='liballoc_resident_bytes{comm="live_workload",job="jemctld"}'
if res=$($web prom-query "$purl" "$q" 15) && python3 - "$res" "$w1" "$w2" <<'PY'; then
import json, sys
rows = [json.loads(l) for l in sys.argv[1].splitlines()]
pids = {r["labels"]["pid"] for r in rows}
assert pids == set(sys.argv[2:]), (pids, sys.argv[2:])
assert all(r["value"] > 0 and r["labels"]["comm"] == "live_workload" for r in rows), rows
PY
        pass prom-query-resident
else
        fail prom-query-resident "$q: $res"
fi
# A counter's rate: jemctld polls 2 processes every 0.5 s (about 4 polls/s).
q='rate(jemctld_polls_total{job="jemctld"}[5s])'
if res=$($web prom-query "$purl" "$q > 0" 15) && python3 - "$res" <<'PY'; then
import json, sys
rows = [json.loads(l) for l in sys.argv[1].splitlines()]
assert len(rows) == 1 and 1 <= rows[0]["value"] <= 20, rows
PY
        pass prom-query-rate
else
        fail prom-query-rate "$q: $res"
fi
# A recording rule of docs/prometheus evaluated by the server: the per-comm sum matches
# the sum of the two series (within 20%: a scrape may land between the two evaluations).
q='comm:liballoc_allocated_bytes:sum{comm="live_workload"} / on (instance, comm) sum by (instance, comm) (liballoc_allocated_bytes{comm="live_workload"})'
if res=$($web prom-query "$purl" "$q" 15) && python3 - "$res" <<'PY'; then
import json, sys
rows = [json.loads(l) for l in sys.argv[1].splitlines()]
assert len(rows) == 1 and 0.8 <= rows[0]["value"] <= 1.25, rows
PY
        pass prom-recording-rule
else
        fail prom-recording-rule "$q: $res"
fi
# A query for a pid that is not there is empty (the check can fail).
if $web prom-query "$purl" 'liballoc_resident_bytes{pid="0"}' 1 >/dev/null; then
        fail prom-query-empty "a series for pid 0"
else
        pass prom-query-empty
fi

if [ $fails -ne 0 ]; then
        echo "--- jemctld log"
        cat "$work/jemctld.log"
        echo "--- prometheus log"
        tail -20 "$work/prometheus.log"
fi
[ $fails -eq 0 ]
