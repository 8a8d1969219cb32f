#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-2-Clause
# liballoc's heap profiling seen from inside a process (prof_core.c: switched on live,
# exact counts at lg_sample 0, sampled objects, threads dumping while others allocate,
# fork, file naming and errors, gdump) and at exit (prof_final, prof_leak,
# prof_leak_error, lg_prof_interval).   tests/prof/core.sh BUILD_DIR
set -u
B=$(cd "${1:?usage: tests/prof/core.sh BUILD_DIR}" && pwd)
P=$B/tests/prof/prof_core
fails=0
pass() { echo "PASS: prof-core/$1"; }
fail() { echo "FAIL: prof-core/$1: $2"; fails=$((fails + 1)); }
[ -x "$P" ] || { echo "FAIL: prof-core/setup: $P is missing (build first)"; exit 1; }
T=$B/tests-tmp/prof-core
rm -rf "$T"
mkdir -p "$T"
unset LD_PRELOAD MALLOC_CONF JEMCTL_RUNTIME_DIR
export MALLOC_CONF=ctl:false

for mode in live objects threads fork files; do
        mkdir -p "$T/$mode"
        out=$(timeout 120 "$P" "$mode" "$T/$mode" 2>&1)
        rc=$?
        echo "$out" | grep -E '^(PASS|FAIL|SKIP)' | sed 's/^\(PASS\|FAIL\|SKIP\): /\1: prof-core\//'
        [ $rc -eq 0 ] || fail "$mode/exit" "status $rc: $(echo "$out" | grep -v '^PASS' | tail -3)"
done

# prof_final + prof_leak: the exit dump and jemalloc's report on stderr, exit status 0.
d=$T/leak
mkdir -p "$d"
MALLOC_CONF=ctl:false,prof:true,lg_prof_sample:0,prof_final:true,prof_leak:true,prof_prefix:$d/x \
        timeout 60 "$P" leak "$d" >"$d/out" 2>"$d/err"
rc=$?
pid_files=$(ls "$d" | grep -E '^x\.[0-9]+\.0\.f\.heap$' || true)
if [ $rc -eq 0 ] && [ -n "$pid_files" ] &&
        grep -qE '^<jemalloc>: Leak approximation summary: ~[0-9]+ bytes, ~[0-9]+ objects, >= [0-9]+ contexts?$' "$d/err" &&
        grep -q '^<jemalloc>: Run jeprof on dump output for leak detail$' "$d/err"; then
        bytes=$(sed -n 's/.*summary: ~\([0-9]*\) bytes.*/\1/p' "$d/err")
        if [ "$bytes" -ge 3145728 ] && [ "$bytes" -lt 4194304 ]; then
                pass "leak-report"
        else
                fail "leak-report" "reported $bytes bytes, want about 3 MiB"
        fi
else
        fail "leak-report" "status $rc, files '$pid_files', stderr: $(head -c 300 "$d/err")"
fi
# prof_leak_error: the same leak makes the exit status 1.
MALLOC_CONF=ctl:false,prof:true,lg_prof_sample:0,prof_leak:true,prof_leak_error:true,prof_prefix:$d/y \
        timeout 60 "$P" leak "$d" >/dev/null 2>"$d/err2"
rc=$?
if [ $rc -eq 1 ] && grep -q 'Exiting with error code because memory leaks were detected' "$d/err2"; then
        pass "leak-error-status"
else
        fail "leak-error-status" "status $rc, stderr: $(head -c 300 "$d/err2")"
fi
# lg_prof_interval: about one dump per 2^20 sampled bytes; the workload leaks 3 MiB.
MALLOC_CONF=ctl:false,prof:true,lg_prof_sample:12,lg_prof_interval:20,prof_prefix:$d/i \
        timeout 60 "$P" leak "$d" >/dev/null 2>&1
n=$(ls "$d" | grep -cE '^i\.[0-9]+\.[0-9]+\.i[0-9]+\.heap$')
if [ "$n" -ge 2 ]; then pass "interval-dumps"; else fail "interval-dumps" "$n interval dumps"; fi
# prof_sys_thread_name: the threads' system names (comm) label their lines.
d2=$T/sysname
mkdir -p "$d2"
MALLOC_CONF=ctl:false,prof:true,prof_sys_thread_name:true timeout 60 "$P" threads "$d2" >/dev/null 2>&1
if grep -qE '^  t[0-9]+: .* prof_core$' "$d2/threads.heap" 2>/dev/null; then
        pass "sys-thread-name"
else
        fail "sys-thread-name" "$(head -5 "$d2/threads.heap" 2>/dev/null)"
fi
# Garbage profiling options are refused with jemalloc's warning and change nothing.
MALLOC_CONF=ctl:false,prof:maybe,lg_prof_sample:99 timeout 60 "$P" leak "$d" >/dev/null 2>"$d/err3"
if grep -q 'Invalid conf value' "$d/err3"; then pass "bad-conf"; else fail "bad-conf" "$(head -c 300 "$d/err3")"; fi

[ "${KEEP_TMP:-0}" = 1 ] || rm -rf "$T"
exit $((fails > 0))
