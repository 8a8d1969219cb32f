#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-2-Clause
# Hostile case `symbolizer` (security review, issue 17, item 5): a heap dump names the
# files its symbols come from, and whoever converts it is often root.  uid 65534 runs a
# fake liballoc process whose dump names a binary in a root-only 0700 directory (its
# function names are the secret), /etc/shadow, /proc/self/mem and a FIFO.  Converted by
# `jemctl prof PID dump --format folded` as root, by jemctld's store download and by
# /debug/pprof/heap, none of the secret names may come back and none of those files may
# be opened for reading (strace); the same dump from a root process does symbolize the
# binary (the check can see names at all), and a real liballoc process of uid 65534
# still symbolizes fully.
#   tests/hostile/case-symbolizer.sh BUILD_DIR
set -u
B=$(cd "${1:?usage: tests/hostile/case-symbolizer.sh BUILD_DIR}" && pwd)
# shellcheck source=tests/hostile/lib.sh
. "$(dirname "$0")/lib.sh"
PY=$(command -v /usr/bin/python3 || command -v python3)
WL=$B/tools/live_workload
need_root symbolizer
need_files symbolizer "$D" "$J" "$LIB" "$WL"
need_tools symbolizer strace gcc nm setpriv
make_work hostile symbolizer shared
start_watchdog symbolizer 120

# ---- the secret: a binary only root may reach --------------------------------------------
mkdir -m 0700 "$work/secret"
cat >"$work/secret.c" <<'C'
__attribute__((noinline)) int hostile_secret_alpha(int x) { return x * 3 + 1; }
__attribute__((noinline)) int hostile_secret_beta(int x) { return hostile_secret_alpha(x) + 2; }
C
gcc -O0 -shared -fPIC -o "$work/secret/secret.so" "$work/secret.c"
chmod 0755 "$work/secret/secret.so" # the file itself is readable: the directory is not
mkfifo -m 0666 "$work/fifo"
addr() { nm "$work/secret/secret.so" | awk -v f="$1" '$3 == f { print $1 }'; }
a=$(addr hostile_secret_alpha)
b=$(addr hostile_secret_beta)
base=$((0x7f0000000000))
size=$(stat -c %s "$work/secret/secret.so")
{
        echo "heap_v2/1"
        echo "  t*: 2: 8192 [0: 0]"
        printf '@ 0x%x 0x%x 0x%x 0x%x 0x%x\n' $((base + 0x$a)) $((base + 0x$b + 1)) \
                $((0x10000010)) $((0x20000010)) $((0x30000010))
        echo "  t*: 2: 8192 [0: 0]"
        echo
        echo "MAPPED_LIBRARIES:"
        printf '%x-%x r-xp 00000000 00:00 1 %s\n' $base $((base + size + 0x1000)) \
                "$work/secret/secret.so"
        echo "10000000-10001000 r-xp 00000000 00:00 2 /etc/shadow"
        echo "20000000-20001000 r-xp 00000000 00:00 3 /proc/self/mem"
        echo "30000000-30001000 r-xp 00000000 00:00 4 $work/fifo"
} >"$work/dump.heap"
chmod 0644 "$work/dump.heap"

# The attacker's process (uid 65534), the same dump from root's (the control), and a real
# workload of uid 65534.
setpriv --reuid 65534 --regid 65534 --clear-groups "$PY" "$hostile/dumptarget.py" "$rt" "$work/dump.heap" >"$work/evil.out" 2>&1 &
evil=$!
pids+=($evil)
"$PY" "$hostile/dumptarget.py" "$rt" "$work/dump.heap" >"$work/rootfake.out" 2>&1 &
rootfake=$!
pids+=($rootfake)
preload real nobody MALLOC_CONF=prof:true,lg_prof_sample:10 "$WL" 8 60
if ! wait_sockets $evil $rootfake $real; then
        fail symbolizer-setup "the fake targets and the workload did not come up"
        exit 1
fi
sleep 1 # the workload samples a few allocations

secret_in() { grep -c 'hostile_secret' "$1"; }
# Files opened for reading (not O_PATH) whose name has one of the hostile paths.
opened() { grep -E 'open(at)?\(' "$1" | grep -v O_PATH | grep -E 'shadow|/mem"|secret\.so|fifo"'; }

# ---- jemctl, as root ---------------------------------------------------------------------
jc() { JEMCTL_RUNTIME_DIR=$rt "$J" "$@"; }
jc prof "$rootfake" dump --format folded >"$work/root.folded" 2>"$work/root.err"
strace -f -e trace=open,openat -o "$work/jc.strace" env JEMCTL_RUNTIME_DIR="$rt" \
        "$J" prof "$evil" dump --format folded >"$work/evil.folded" 2>"$work/evil.err"
rc=$?
if [ "$(secret_in "$work/root.folded")" -gt 0 ]; then
        pass symbolizer-control-root-dump-symbolizes
else
        fail symbolizer-control-root-dump-symbolizes "$(head -c 300 "$work/root.folded" "$work/root.err")"
fi
if [ $rc = 0 ] && [ "$(secret_in "$work/evil.folded")" = 0 ] && grep -q 'secret.so+0x' "$work/evil.folded"; then
        pass symbolizer-jemctl-no-secret-names
else
        fail symbolizer-jemctl-no-secret-names "exit $rc: $(grep -o 'hostile_secret[a-z_]*' "$work/evil.folded" | sort -u | tr '\n' ' ')"
fi
if [ -z "$(opened "$work/jc.strace")" ]; then
        pass symbolizer-jemctl-opens-nothing-hostile
else
        fail symbolizer-jemctl-opens-nothing-hostile "$(opened "$work/jc.strace" | head -3)"
fi
if grep -q 'not read' "$work/evil.err"; then
        pass symbolizer-jemctl-says-refused
else
        fail symbolizer-jemctl-says-refused "stderr: $(head -c 300 "$work/evil.err")"
fi
jc prof "$real" dump --format folded >"$work/real.folded" 2>"$work/real.err"
# The program's own frames named (main, session_open), no bare address, no file refused.
# A shared library's local functions keep their file+offset where no debug file is
# installed (libc's __libc_start_call_main without libc6-dbg), refused or not: "not read"
# on jemctl's stderr is what tells a refusal.
if grep -q ';main;session_open' "$work/real.folded" && ! grep -q ';0x' "$work/real.folded" &&
        ! grep -q 'live_workload+0x' "$work/real.folded" &&
        ! grep -q 'not read' "$work/real.err"; then
        pass symbolizer-real-process-symbolizes
else
        fail symbolizer-real-process-symbolizes "frames left unnamed: $(grep -o '[^;]*+0x[^;]*\|;0x[^; ]*' "$work/real.folded" | sort -u | head -5 | tr '\n' ' ')stderr: $(head -c 300 "$work/real.err")"
fi

# ---- jemctld: the store and /debug/pprof/heap ---------------------------------------------
port=$(free_port)
url=http://127.0.0.1:$port
"$D" --runtime-dir "$rt" --http "127.0.0.1:$port" --interval 0.5 --timeout 2 --bus none \
        --profile-dir "$work/store" 2>"$work/jemctld.log" &
dpid=$!
# Its opens, and those of its conversion children.
strace -f -e trace=open,openat -o "$work/d.strace" -p "$dpid" 2>/dev/null &
pids+=($!)
tool="$PY $here/dtool.py"
st="$PY $here/storetool.py"
if ! $tool wait "$url/metrics" 10 "'$evil' in pids and '$rootfake' in pids" >/dev/null 2>&1; then
        fail symbolizer-daemon-setup "jemctld did not list the fakes: $(tail -3 "$work/jemctld.log")"
        exit 1
fi
stored_folded() { # pid out-file: captures into the store and downloads it folded
        local id
        id=$($st req POST "$url/api/v1/processes/$1/profile" '{"store": true}' |
                "$PY" -c 'import json,sys; print(json.load(sys.stdin)["json"]["result"]["id"])')
        $st req GET "$url/api/v1/profiles/$id?format=folded" "" "$2" >/dev/null
}
# The attacker's conversions first: what jemctld opened up to then is theirs alone.
stored_folded "$evil" "$work/devil.folded"
$st req GET "$url/debug/pprof/heap?pid=$evil" "" "$work/evil.pb.gz" >/dev/null
gunzip -c "$work/evil.pb.gz" >"$work/evil.pb" 2>/dev/null
sleep 0.5 # strace's output of the children
cp "$work/d.strace" "$work/d-evil.strace"
stored_folded "$rootfake" "$work/droot.folded"
$st req GET "$url/debug/pprof/heap?pid=$rootfake" "" "$work/root.pb.gz" >/dev/null
gunzip -c "$work/root.pb.gz" >"$work/root.pb" 2>/dev/null
if [ "$(secret_in "$work/droot.folded")" -gt 0 ] && [ "$(secret_in "$work/root.pb")" -gt 0 ]; then
        pass symbolizer-control-daemon-symbolizes
else
        fail symbolizer-control-daemon-symbolizes "$(head -c 200 "$work/droot.folded")"
fi
if [ "$(secret_in "$work/devil.folded")" = 0 ] && grep -q 'secret.so+0x' "$work/devil.folded"; then
        pass symbolizer-store-no-secret-names
else
        fail symbolizer-store-no-secret-names "$(head -c 300 "$work/devil.folded")"
fi
if [ -s "$work/evil.pb" ] && [ "$(secret_in "$work/evil.pb")" = 0 ]; then
        pass symbolizer-pprof-no-secret-names
else
        fail symbolizer-pprof-no-secret-names "$(wc -c <"$work/evil.pb") bytes, secret names $(secret_in "$work/evil.pb")"
fi
if grep -q O_PATH "$work/d-evil.strace" && [ -z "$(opened "$work/d-evil.strace")" ]; then
        pass symbolizer-daemon-opens-nothing-hostile
else
        fail symbolizer-daemon-opens-nothing-hostile "$(opened "$work/d-evil.strace" | head -3)"
fi
[ "$fails" -gt 0 ] && exit 1
exit 0
