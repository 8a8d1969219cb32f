#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-2-Clause
# jemctl's selectors (--comm, --unit, --all) against real workloads, with jemctld running
# and without: the same pids either way; a change reaches every matching process and only
# those, one line each; a selector that matches nothing is exit status 3; a process that
# fails is reported and makes the status non-zero while the others are still changed;
# jemctl uses what the daemon names (a stand-in daemon proves it) unless the daemon
# watches another runtime directory.  Units are real cgroups (cgroup v2, made under
# /sys/fs/cgroup when writable; those checks are skipped otherwise).  About 15 s, killed
# at 50 s.   tests/daemon/select.sh BUILD_DIR
set -u
B=$(cd "${1:?usage: tests/daemon/select.sh BUILD_DIR}" && pwd)
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=tests/daemon/lib.sh
. "$here/lib.sh" # LIB, D, pass/fail/skip and the set-up below
J=$B/jemctl/jemctl
WL=$B/tools/live_workload
tool="python3 $here/dtool.py"

need_files select "$D" "$J" "$WL" "$LIB"
make_work daemon select
export JEMCTL_RUNTIME_DIR=$rt
unset JEMCTLD_URL
cg=""
cleanup_more() {
        if [ -n "$cg" ]; then
                sleep 0.2
                rmdir "$cg"/alpha.service "$cg"/beta.service "$cg" 2>/dev/null
        fi
}
start_watchdog select 50

# Two units as real cgroups, if this machine lets us make them.
units=0
if [ -w /sys/fs/cgroup/unified/cgroup.procs ] || [ -w /sys/fs/cgroup/cgroup.procs ]; then
        root=/sys/fs/cgroup
        [ -e /sys/fs/cgroup/unified/cgroup.procs ] && root=/sys/fs/cgroup/unified
        cg=$root/jemctl-test-$$.slice
        if mkdir -p "$cg/alpha.service" "$cg/beta.service" 2>/dev/null; then
                units=1
        else
                cg=""
        fi
fi

# start NAME UNIT-or-"" PROGRAM: a workload under LD_PRELOAD, in that cgroup.
start() {
        local name=$1 unit=$2 prog=$3
        preload "$name" CG=${unit:+$cg/$unit/cgroup.procs} \
                sh -c '[ -z "$CG" ] || echo $$ >"$CG"; exec "$0" 16 40' "$prog"
}
cp "$WL" "$work/other_work"
start a1 "${cg:+alpha.service}" "$WL"
start a2 "${cg:+alpha.service}" "$WL"
start b1 "${cg:+beta.service}" "$WL"
start o1 "" "$work/other_work"
wait_sockets "$a1" "$a2" "$b1" "$o1"

# The pids a selector lists with "jemctl --json ps", sorted, one line.
sel() {
        "$J" --json ps "$@" 2>"$work/sel.err" |
                python3 -c 'import json,sys; t=sys.stdin.read(); print(" ".join(str(p) for p in sorted(r["pid"] for r in json.loads(t))) if t.strip() else "")'
}
sorted() { printf '%s\n' "$@" | sort -n | tr '\n' ' ' | sed 's/ $//'; }
deadport=$(free_port) # nothing listens there: "no daemon"
port=$(free_port)

check_selectors() { # mode
        local mode=$1 ok=1 got want
        for spec in "--comm live_workload|$(sorted "$a1" "$a2" "$b1")" \
                "--comm other_work|$o1" "--all|$(sorted "$a1" "$a2" "$b1" "$o1")"; do
                got=$(sel ${spec%%|*})
                want=${spec#*|}
                [ "$got" = "$want" ] || { ok=0; echo "  $mode ${spec%%|*}: got '$got', want '$want'"; }
        done
        if [ $units = 1 ]; then
                for spec in "--unit alpha.service|$(sorted "$a1" "$a2")" "--unit beta|$b1" \
                        "--unit jemctl-test-$$.slice|$(sorted "$a1" "$a2" "$b1")" \
                        "--comm live_workload --unit beta.service|$b1"; do
                        got=$(sel ${spec%%|*})
                        want=${spec#*|}
                        [ "$got" = "$want" ] || { ok=0; echo "  $mode ${spec%%|*}: got '$got', want '$want'"; }
                done
        fi
        [ $ok = 1 ]
}

# 1. without the daemon (nothing answers at JEMCTLD_URL): jemctl scans by itself.
export JEMCTLD_URL=http://127.0.0.1:$deadport
if out=$(check_selectors no-daemon); then
        pass select-no-daemon
else
        fail select-no-daemon "$out"
fi
[ $units = 1 ] || skip select-units "cannot make cgroups under /sys/fs/cgroup here"

# 2. the same answers through the daemon.
"$D" --runtime-dir "$rt" --http "127.0.0.1:$port" --interval 1 2>"$work/jemctld.log" &
dpid=$!
pids+=($dpid)
export JEMCTLD_URL=http://127.0.0.1:$port
$tool wait "$JEMCTLD_URL/metrics" 5 "{'$a1','$a2','$b1','$o1'} <= pids" >/dev/null
if out=$(check_selectors daemon); then
        pass select-daemon-same-answers
else
        fail select-daemon-same-answers "$out"
fi
body=$($tool get "$JEMCTLD_URL/api/v1/select?comm=other_work")
if [[ "$body" == *"\"pid\":$o1"* ]] && [[ "$body" == *"\"runtime_dir\":\"$rt\""* ]] &&
        [ "$($tool status "$JEMCTLD_URL/api/v1/select?bogus=1")" = 400 ] &&
        [ "$($tool status "$JEMCTLD_URL/api/v1/select" POST)" = 405 ]; then
        pass select-daemon-endpoint
else
        fail select-daemon-endpoint "$body"
fi

# 3. a change reaches every matching process, one line each, and no other process.
get_decay() { "$J" get "$1" arenas.dirty_decay_ms | awk '{print $3}'; }
if [ $units = 1 ]; then
        what="--unit alpha.service"
        targets="$a1 $a2"
        others="$b1 $o1"
else
        what="--comm other_work"
        targets="$o1"
        others="$a1 $b1"
fi
out=$("$J" decay $what 1234 2>&1)
rc=$?
ok=1
for p in $targets; do
        [ "$(get_decay "$p")" = 1234 ] || ok=0
        grep -q "^pid $p: dirty_decay_ms=1234 on .* arenas\?, rss .* -> " <<<"$out" || ok=0
done
for p in $others; do
        [ "$(get_decay "$p")" = 10000 ] || ok=0
done
nlines=$(grep -c '^pid ' <<<"$out")
if [ $rc = 0 ] && [ $ok = 1 ] && [ "$nlines" = "$(wc -w <<<"$targets")" ]; then
        pass select-decay-each-process
else
        fail select-decay-each-process "exit $rc, output: $out"
fi

# 4. JSON: one document per line per process.
out=$("$J" --json purge --comm live_workload)
if [ $? = 0 ] && [ "$(wc -l <<<"$out")" = 3 ] &&
        python3 -c 'import json,sys; [json.loads(l)["rss_after"] for l in sys.stdin]' <<<"$out"; then
        pass select-json-lines
else
        fail select-json-lines "$out"
fi

# 5. a selector that matches nothing: exit status 3 and a clear message, either way.
ok=1
for url in "http://127.0.0.1:$port" "http://127.0.0.1:$deadport"; do
        out=$(JEMCTLD_URL=$url "$J" decay --comm no_such_prog 5 2>&1)
        rc=$?
        [ $rc = 3 ] && [[ "$out" == *"no process matches --comm no_such_prog"* ]] || ok=0
done
out=$("$J" ps --comm no_such_prog 2>&1)
[ $? = 3 ] || ok=0
[ $ok = 1 ] && pass select-no-match || fail select-no-match "exit $rc: $out"

# 6. one process fails (it never answers): reported, non-zero status, the others done.
$tool hang "$rt" >"$work/hang.out" 2>&1 &
hpid=$!
pids+=($hpid)
$tool wait "$JEMCTLD_URL/metrics" 3 "value(m, 'jemctld_processes') == 5" >/dev/null
out=$("$J" --timeout 1 purge --all 2>&1)
rc=$?
ok=1
for p in $a1 $a2 $b1 $o1; do
        grep -q "^pid $p: purged all arenas, rss " <<<"$out" || ok=0
done
if [ $rc = 3 ] && [ $ok = 1 ] && grep -q "pid $hpid" <<<"$out" &&
        grep -q "1 of 5 processes failed" <<<"$out"; then
        pass select-partial-failure
else
        fail select-partial-failure "exit $rc: $out"
fi
kill "$hpid"
{ wait "$hpid"; } 2>/dev/null

# 7. jemctl acts on what the daemon names (a stand-in that names only $o1 for --all), and
# scans instead when the daemon watches another directory.
fport=$(free_port)
python3 - "$fport" "$rt" "$o1" "$work/fake.log" <<'PY' &
import http.server, json, sys
port, rt, pid, log = int(sys.argv[1]), sys.argv[2], int(sys.argv[3]), sys.argv[4]
class H(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        open(log, "a").write(self.path + "\n")
        body = json.dumps({"runtime_dir": self.server.rt, "processes": [{"pid": pid}]}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
    def log_message(self, *a):
        pass
s = http.server.HTTPServer(("127.0.0.1", port), H)
s.rt = rt
s.timeout = 30
for _ in range(2):
    s.handle_request()
    s.rt = "/somewhere/else"
PY
fpy=$!
pids+=($fpy)
sleep 0.5
n1=$("$J" --daemon "http://127.0.0.1:$fport" purge --all 2>&1 | grep -c '^pid ')
out2=$("$J" --daemon "http://127.0.0.1:$fport" purge --all 2>&1)
n2=$(grep -c '^pid ' <<<"$out2")
if [ "$n1" = 1 ] && [ "$n2" = 4 ] && grep -q "^/api/v1/select$" "$work/fake.log" &&
        [[ "$out2" == *"watches /somewhere/else, not $rt; scanning instead"* ]]; then
        pass select-uses-daemon
else
        fail select-uses-daemon "daemon naming one pid: $n1 lines; other directory: $n2 lines: $out2"
fi

# 8. usage errors.
ok=1
"$J" ls --all >/dev/null 2>&1; [ $? = 2 ] || ok=0
"$J" decay --all >/dev/null 2>&1; [ $? = 2 ] || ok=0
"$J" info --all 123 >/dev/null 2>&1; [ $? = 2 ] || ok=0
"$J" ps --all --comm x >/dev/null 2>&1; [ $? = 2 ] || ok=0
"$J" prof --all dump >/dev/null 2>&1; [ $? = 2 ] || ok=0
"$J" ps --comm >/dev/null 2>&1; [ $? = 2 ] || ok=0
[ $ok = 1 ] && pass select-usage-errors || fail select-usage-errors "a misuse was not exit status 2"

[ $fails -eq 0 ]
