#!/bin/bash
# SPDX-License-Identifier: BSD-2-Clause
# Integration tests: real programs run once without and once with
# LD_PRELOAD=$LIBALLOC; their outputs and exit codes must match, and every
# preloaded program is checked to really have the library loaded.
#
#     tests/integration/run.sh BUILD_DIR
#
#   preload  python3 probe: LIBALLOC in /proc/self/maps, and the dynamic
#            linker's binding log shows malloc/free/... bound to it
#   python   allocation-heavy script (dicts, lists, strings, big ints, json,
#            gc, threads), with PYTHONMALLOC=malloc and with pymalloc
#   git      5000-file repo: add, commit x3, log, diff, archive, gc, fsck,
#            repack, clone; commit ids and listings must match
#   gcc      -O2 -Wall of a generated 1500-function C file; object file,
#            objdump -d of .text, size, diagnostics, linked program output
#   sort     2.5 million generated lines, LC_ALL=C: default sort, numeric
#            key sort, and a small-buffer external merge sort
#   redis    redis-server (which links libjemalloc itself; the preload must
#            win): redis-benchmark, a 20000-key data set loaded with
#            redis-cli --pipe and read back, DEBUG DIGEST, FLUSHALL ASYNC
#   redis_stats  redis_stats.sh, once with JEMALLOC preloaded (the baseline)
#            and once with LIBALLOC: the allocator's figures as Redis reports
#            them (INFO memory, MEMORY STATS, MEMORY MALLOC-STATS, MEMORY PURGE);
#            one line per check, integration/redis-stats/<impl>/<check>
#
# Environment: LIBALLOC (default BUILD_DIR/liballoc/liballoc.so),
# JEMALLOC (default /usr/lib/x86_64-linux-gnu/libjemalloc.so.2),
# INTEGRATION_TESTS (space-separated subset of the names above),
# INTEGRATION_BUDGET (seconds for the whole runner, default 330: every command
# is run under `timeout` capped by what is left of it; tests that would start
# after it is used up fail), KEEP_TMP=1 (keep the scratch directory
# BUILD_DIR/tests-tmp/integration).
# Output: one PASS/FAIL/SKIP line per test; other lines start with "# ".
# Exit status: 0 if no test failed.
set -u

if [ $# -ne 1 ]; then
    echo "usage: $0 BUILD_DIR" >&2
    exit 2
fi

HERE=$(cd "$(dirname "$0")" && pwd)
mkdir -p "$1" || exit 2
BUILD_DIR=$(cd "$1" && pwd)
TMP=$BUILD_DIR/tests-tmp/integration
LIBALLOC=${LIBALLOC:-$BUILD_DIR/liballoc/liballoc.so}
case $LIBALLOC in /*) ;; *) LIBALLOC=$PWD/$LIBALLOC ;; esac
LIBALLOC_REAL=$(readlink -f "$LIBALLOC" 2>/dev/null || echo "$LIBALLOC")
JEMALLOC=${JEMALLOC:-/usr/lib/x86_64-linux-gnu/libjemalloc.so.2}
TESTS=${INTEGRATION_TESTS:-preload python git gcc sort redis redis_stats}

# Debian's python3 (not a pyenv/venv shim) when it is there.
if [ -x /usr/bin/python3 ]; then PYTHON=/usr/bin/python3; else PYTHON=$(command -v python3 || echo python3); fi
export LC_ALL=C TZ=UTC
unset LD_PRELOAD PYTHONPATH PYTHONHOME PYTHONSTARTUP PYTHONUSERBASE LD_BIND_NOW LD_DEBUG LD_DEBUG_OUTPUT MALLOC_CONF
BUDGET=${INTEGRATION_BUDGET:-330}
DEADLINE=$((SECONDS + BUDGET))

# ---------------------------------------------------------------- plumbing

PIDS=()          # background processes started here (killed by cleanup)
FAILED=0

cleanup() {
    local p
    for p in "${PIDS[@]}"; do
        kill -TERM "$p" 2>/dev/null
    done
    for p in "${PIDS[@]}"; do
        for _ in 1 2 3 4 5 6 7 8 9 10; do kill -0 "$p" 2>/dev/null || break; sleep 0.2; done
        kill -KILL "$p" 2>/dev/null
        wait "$p" 2>/dev/null
    done
    PIDS=()
    if [ "${KEEP_TMP:-0}" != 1 ]; then rm -rf "$TMP"; fi
}
trap cleanup EXIT
trap 'echo "# interrupted"; exit 130' INT TERM HUP

note() { echo "# $*"; }

# lim N: N seconds, or what is left of the runner's budget if that is less
lim() {
    local left=$((DEADLINE - SECONDS))
    [ "$left" -lt 1 ] && left=1
    [ "$1" -lt "$left" ] && left=$1
    echo "$left"
}
# show the first lines of a file as notes
show() { sed -n "1,${2:-15}p" "$1" 2>/dev/null | sed 's/^/#   /'; }

# the two ways of running a command: "${P[@]}" CMD... runs it without the
# preload, "${M[@]}" CMD... the way `mode MODE` (plain or preloaded) chose
P=(env -u LD_PRELOAD)
mode() {
    if [ "$1" = preloaded ]; then M=(env LD_PRELOAD="$LIBALLOC"); else M=(env -u LD_PRELOAD); fi
}

# same A B WHAT: fail (set ERR) if files A and B differ
same() {
    if ! cmp -s "$1" "$2"; then
        ERR="$3 differs with LD_PRELOAD"
        note "diff (without preload <, with preload >) of $3:"
        diff "$1" "$2" | head -n 20 | sed 's/^/#   /'
        return 1
    fi
}

# ldso_ok FILE: the dynamic linker did not refuse the preload
ldso_ok() {
    if grep -q "ld.so: object .* cannot be preloaded" "$1" 2>/dev/null; then
        ERR="the dynamic linker could not preload LIBALLOC: $(grep -m1 'cannot be preloaded' "$1")"
        return 1
    fi
}

# maps_has_lib FILE: a copy of /proc/PID/maps shows LIBALLOC
maps_has_lib() { grep -qF "$LIBALLOC_REAL" "$1" 2>/dev/null; }

# descendants PID: PID and all its descendants, one per line
descendants() {
    local st line rest pid ppid
    local -A kids=()
    for st in /proc/[0-9]*/stat; do
        read -r line 2>/dev/null <"$st" || continue
        rest=${line##*) }
        pid=${st#/proc/}; pid=${pid%/stat}
        ppid=${rest#* }; ppid=${ppid%% *}
        kids[$ppid]+=" $pid"
    done
    local queue=("$1") p
    while [ ${#queue[@]} -gt 0 ]; do
        p=${queue[0]}; queue=("${queue[@]:1}")
        echo "$p"
        # shellcheck disable=SC2206
        [ -n "${kids[$p]:-}" ] && queue+=(${kids[$p]})
    done
}

# watch_preload ROOTPID EXE_PATH OUTFILE: while ROOTPID (e.g. `timeout`) runs,
# find the process (ROOTPID or a descendant) executing EXE_PATH, copy its
# /proc/PID/maps to OUTFILE once the dynamic linker is done loading (libc is
# mapped; preloads are mapped before libc). Returns 0 if LIBALLOC is in it,
# 1 if not, 2 if no such process was seen before ROOTPID ended (or 60 s).
watch_preload() {
    local root=$1 want end=$((SECONDS + 60)) p exe
    want=$(readlink -f "$2")
    : >"$3"
    while kill -0 "$root" 2>/dev/null && [ $SECONDS -lt $end ]; do
        for p in $(descendants "$root"); do
            exe=$(readlink "/proc/$p/exe" 2>/dev/null) || continue
            [ "$exe" = "$want" ] || continue
            cat "/proc/$p/maps" >"$3" 2>/dev/null || continue
            if maps_has_lib "$3"; then return 0; fi
            if grep -q '/libc\.so' "$3"; then return 1; fi
        done
        sleep 0.02
    done
    return 2
}

# check_watch RC WHAT: turn watch_preload's result into ERR
check_watch() {
    case $1 in
    0) return 0 ;;
    1) ERR="$2 ran without LIBALLOC in /proc/PID/maps" ;;
    *) ERR="could not observe $2 running (to read its /proc/PID/maps)" ;;
    esac
    return 1
}

need() {
    local c
    for c in "$@"; do
        if ! command -v "$c" >/dev/null 2>&1; then
            SKIPPED="$c not installed"
            return 1
        fi
    done
}

now() { date +%s.%N; }

# ------------------------------------------------------------------- tests

t_preload() {
    local d=$TMP/preload
    mkdir -p "$d"
    timeout -k 5 "$(lim 60)" env LD_PRELOAD="$LIBALLOC" LD_BIND_NOW=1 LD_DEBUG=bindings \
        LD_DEBUG_OUTPUT="$d/bind" "$PYTHON" "$HERE/preload_probe.py" self "$LIBALLOC" "$d/bind" \
        >"$d/out" 2>"$d/err"
    local rc=$?
    ldso_ok "$d/err" || return 1
    if [ $rc -ne 0 ]; then
        ERR="probe exited $rc: $(grep -m1 -E '^mapped: no|not to the library|none to the library|cannot read' "$d/out" || head -n1 "$d/out")"
        show "$d/out" 20; show "$d/err" 5
        return 1
    fi
}

t_python() {
    local d=$TMP/python m pm rc
    mkdir -p "$d"
    for pm in malloc pymalloc; do
        for m in plain preloaded; do
            mode $m
            timeout -k 5 "$(lim 120)" "${M[@]}" PYTHONHASHSEED=0 PYTHONMALLOC=$pm \
                PRELOAD_MAPS_OUT="$([ $m = preloaded ] && echo "$d/maps.$pm")" \
                "$PYTHON" -s "$HERE/py_workload.py" >"$d/out.$pm.$m" 2>"$d/err.$pm.$m"
            echo "exit $?" >>"$d/out.$pm.$m"
        done
        ldso_ok "$d/err.$pm.preloaded" || return 1
        same "$d/out.$pm.plain" "$d/out.$pm.preloaded" "stdout+exit code (PYTHONMALLOC=$pm)" || return 1
        same "$d/err.$pm.plain" "$d/err.$pm.preloaded" "stderr (PYTHONMALLOC=$pm)" || return 1
        if ! maps_has_lib "$d/maps.$pm"; then
            ERR="LIBALLOC not in /proc/self/maps of the preloaded python (PYTHONMALLOC=$pm)"
            return 1
        fi
        rc=$(tail -n1 "$d/out.$pm.plain")
        if [ "$rc" != "exit 0" ]; then
            ERR="python workload failed even without preload ($rc)"
            show "$d/err.$pm.plain"
            return 1
        fi
    done
}

t_git() {
    need git || return 1
    local d=$TMP/git m
    mkdir -p "$d"
    for m in plain preloaded; do
        mode $m
        timeout -k 5 "$(lim 240)" "${M[@]}" \
            PRELOAD_MAPS_OUT="$([ $m = preloaded ] && echo "$d/maps")" \
            bash "$HERE/git_scenario.sh" "$d/$m" "$PYTHON" >"$d/out.$m" 2>"$d/err.$m"
        echo "exit $?" >>"$d/out.$m"
        rm -rf "${d:?}/$m"
    done
    ldso_ok "$d/err.preloaded" || return 1
    same "$d/out.plain" "$d/out.preloaded" "git output (commit ids, hashes of listings, exit codes)" || return 1
    same "$d/err.plain" "$d/err.preloaded" "stderr" || return 1
    if ! maps_has_lib "$d/maps"; then
        ERR="LIBALLOC not in /proc/PID/maps of the preloaded git"
        return 1
    fi
    if [ "$(tail -n1 "$d/out.plain")" != "exit 0" ]; then
        ERR="git scenario failed even without preload"
        grep -B2 -A5 'rc=[1-9]' "$d/out.plain" | head -n 20 | sed 's/^/#   /'
        return 1
    fi
    note "git: HEAD $(grep -m1 -A1 'git log$' "$d/out.plain" | tail -n1 | cut -c1-40)"
}

t_gcc() {
    need gcc objdump size || return 1
    local d=$TMP/gcc m pid rc w cc1
    cc1=$(gcc -print-prog-name=cc1)
    mkdir -p "$d"
    "${P[@]}" "$PYTHON" "$HERE/gen_c.py" "$d/big.c" 1500 || { ERR="gen_c.py failed"; return 1; }
    for m in plain preloaded; do
        mode $m
        mkdir -p "$d/$m"
        cp "$d/big.c" "$d/$m/big.c"
        (
            cd "$d/$m" || exit 1
            timeout -k 5 "$(lim 300)" "${M[@]}" gcc -O2 -Wall -c big.c -o big.o >diag.txt 2>&1 &
            pid=$!
            if [ $m = preloaded ]; then
                watch_preload $pid "$cc1" cc1.maps
                echo $? >watch.rc
            fi
            wait $pid
            echo "gcc -c exit $?" >rc.txt
            timeout -k 5 "$(lim 120)" "${M[@]}" gcc big.o -o big >>diag.txt 2>&1
            echo "gcc link exit $?" >>rc.txt
            "${P[@]}" objdump -d --section=.text big.o >text.dis 2>&1
            "${P[@]}" size big.o >size.txt 2>&1
            timeout -k 5 "$(lim 30)" "${P[@]}" ./big >run.txt 2>&1
            echo "exit $?" >>run.txt
        )
    done
    ldso_ok "$d/preloaded/diag.txt" || return 1
    w=$(cat "$d/preloaded/watch.rc" 2>/dev/null || echo 2)
    check_watch "$w" "cc1" || return 1
    same "$d/plain/rc.txt" "$d/preloaded/rc.txt" "gcc exit codes" || return 1
    same "$d/plain/diag.txt" "$d/preloaded/diag.txt" "gcc diagnostics" || return 1
    same "$d/plain/text.dis" "$d/preloaded/text.dis" "objdump -d of .text" || return 1
    same "$d/plain/size.txt" "$d/preloaded/size.txt" "size output" || return 1
    same "$d/plain/big.o" "$d/preloaded/big.o" "object file" || return 1
    same "$d/plain/run.txt" "$d/preloaded/run.txt" "output of the compiled program" || return 1
    rc=$(cat "$d/plain/rc.txt" | tr '\n' ' ')
    if [ "$rc" != "gcc -c exit 0 gcc link exit 0 " ] || [ "$(tail -n1 "$d/plain/run.txt")" != "exit 0" ]; then
        ERR="compile/link/run failed even without preload: $rc"
        show "$d/plain/diag.txt" 5
        return 1
    fi
    note "gcc: $(grep -c 'warning:' "$d/plain/diag.txt") warnings, .text $(awk 'NR==2{print $1}' "$d/plain/size.txt") bytes, $(head -n1 "$d/plain/run.txt")"
}

t_sort() {
    need sort sha256sum || return 1
    local d=$TMP/sort m pid w=2
    mkdir -p "$d/tmp"
    "${P[@]}" "$PYTHON" "$HERE/gen_lines.py" "$d/lines.txt" 2500000 || { ERR="gen_lines.py failed"; return 1; }
    for m in plain preloaded; do
        mode $m
        : >"$d/res.$m"
        # 1: default settings (no -S: sort sizes its buffer from the input and RAM)
        timeout -k 5 "$(lim 120)" "${M[@]}" sort "$d/lines.txt" >"$d/sorted" 2>"$d/err.$m" &
        pid=$!
        if [ $m = preloaded ]; then
            watch_preload $pid "$(command -v sort)" "$d/maps"
            w=$?
        fi
        wait $pid
        echo "default: exit $? $(sha256sum <"$d/sorted")" >>"$d/res.$m"
        rm -f "$d/sorted"
        # 2: numeric key, then text key
        timeout -k 5 "$(lim 120)" "${M[@]}" sort -t "$(printf '\t')" -k2,2n -k1,1 "$d/lines.txt" 2>>"$d/err.$m" | sha256sum >"$d/h"
        echo "numeric: exit ${PIPESTATUS[0]} $(cat "$d/h")" >>"$d/res.$m"
        # 3: small buffer: temporary files and a multi-way merge, two threads
        timeout -k 5 "$(lim 120)" "${M[@]}" sort -S 8M -T "$d/tmp" --parallel=2 -k3,3 -k1,1r "$d/lines.txt" 2>>"$d/err.$m" | sha256sum >"$d/h"
        echo "external: exit ${PIPESTATUS[0]} $(cat "$d/h")" >>"$d/res.$m"
    done
    rm -f "$d/lines.txt"
    ldso_ok "$d/err.preloaded" || return 1
    check_watch $w "sort" || return 1
    same "$d/res.plain" "$d/res.preloaded" "sha256 of sorted output / exit code" || return 1
    same "$d/err.plain" "$d/err.preloaded" "stderr" || return 1
    if grep -qv ': exit 0 ' "$d/res.plain"; then
        ERR="sort failed even without preload"
        show "$d/res.plain"; show "$d/err.plain" 5
        return 1
    fi
}

# start_redis MODE DIR: start redis-server on a free port; sets PORT and SPID
start_redis() {
    local m=$1 dir=$2 attempt
    mode "$m"
    for attempt in 1 2 3; do
        PORT=$("${P[@]}" "$PYTHON" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
        timeout -k 5 "$(lim 300)" "${M[@]}" redis-server --bind 127.0.0.1 --port "$PORT" --save '' --appendonly no \
            --dir "$dir" --logfile "$dir/redis.log" --daemonize no --protected-mode yes \
            --enable-debug-command local >"$dir/stdout" 2>"$dir/stderr" &
        SPID=$!
        PIDS+=("$SPID")
        local until=$((SECONDS + 15))
        while [ $SECONDS -lt $until ]; do
            kill -0 "$SPID" 2>/dev/null || break
            [ "$(timeout 3 redis-cli -h 127.0.0.1 -p "$PORT" ping 2>/dev/null)" = PONG ] && return 0
            sleep 0.1
        done
        kill -TERM "$SPID" 2>/dev/null
        wait "$SPID" 2>/dev/null
        note "redis-server ($m) did not come up on port $PORT (attempt $attempt)"
        show "$dir/redis.log" 5
    done
    return 1
}

# redis_session MODE: one server lifetime; results in $TMP/redis/MODE/
redis_session() {
    local m=$1 dir=$TMP/redis/$1 t rc
    mkdir -p "$dir"
    local cli=(timeout -k 5 "$(lim 120)" redis-cli -h 127.0.0.1)
    start_redis "$m" "$dir" || { ERR="redis-server ($m) did not start"; return 1; }
    cli+=(-p "$PORT")
    if [ "$m" = preloaded ]; then
        watch_preload "$SPID" "$(command -v redis-server)" "$dir/maps"
        check_watch $? "redis-server" || return 1
    fi

    # benchmark: must complete every test without errors
    timeout -k 5 "$(lim 120)" redis-benchmark -h 127.0.0.1 -p "$PORT" -q -n 20000 -t set,get,lpush,lpop,incr \
        >"$dir/bench.raw" 2>&1
    rc=$?
    timeout -k 5 "$(lim 120)" redis-benchmark -h 127.0.0.1 -p "$PORT" -q -n 4000 -d 8000 -t set,get \
        >>"$dir/bench.raw" 2>&1 || rc=$?
    tr '\r' '\n' <"$dir/bench.raw" | grep -E 'requests per second|rror|ERR' >"$dir/bench.txt"
    if [ $rc -ne 0 ] || grep -qE 'rror|ERR' "$dir/bench.txt"; then
        ERR="redis-benchmark ($m) failed (exit $rc)"
        show "$dir/bench.txt" 10
        return 1
    fi
    for t in SET GET LPUSH LPOP INCR; do
        if [ "$(grep -cE "^$t: [0-9.]+ requests per second" "$dir/bench.txt")" -lt 1 ]; then
            ERR="redis-benchmark ($m): no result for $t"
            show "$dir/bench.txt" 10
            return 1
        fi
    done
    "${cli[@]}" flushall >/dev/null

    # deterministic data set: load, mutate, read back, digest
    {
        "${cli[@]}" --pipe <"$TMP/redis/load1.resp" | tail -n1
        "${cli[@]}" --pipe <"$TMP/redis/load2.resp" | tail -n1
        timeout -k 5 "$(lim 120)" "${P[@]}" "$PYTHON" "$HERE/redis_data.py" verify 20000 127.0.0.1 "$PORT"
        echo "verify exit $?"
        echo "digest $("${cli[@]}" debug digest)"
        # free everything in the background (lazyfree thread), reload, compare digests
        "${cli[@]}" flushall async
        "${cli[@]}" dbsize
        "${cli[@]}" --pipe <"$TMP/redis/load1.resp" | tail -n1
        "${cli[@]}" --pipe <"$TMP/redis/load2.resp" | tail -n1
        echo "digest $("${cli[@]}" debug digest)"
    } >"$dir/data.txt" 2>&1
    "${cli[@]}" info memory | tr -d '\r' >"$dir/info.txt" 2>&1

    "${cli[@]}" shutdown nosave >/dev/null 2>&1
    wait "$SPID"
    rc=$?
    echo "server exit $rc" >>"$dir/data.txt"
    if grep -qE 'BUG REPORT|crashed by signal|Guru Meditation|ASSERTION' "$dir/redis.log"; then
        ERR="redis-server ($m) crashed"
        grep -m3 -E 'BUG REPORT|crashed by signal|Guru Meditation|ASSERTION' "$dir/redis.log" | sed 's/^/#   /'
        return 1
    fi
}

t_redis() {
    need redis-server redis-cli redis-benchmark || return 1
    local d=$TMP/redis m rc
    mkdir -p "$d"
    "${P[@]}" "$PYTHON" "$HERE/redis_data.py" load 20000 1 >"$d/load1.resp" &&
        "${P[@]}" "$PYTHON" "$HERE/redis_data.py" load 20000 2 >"$d/load2.resp" ||
        { ERR="redis_data.py load failed"; return 1; }

    # which library the server's malloc family and jemalloc API bind to
    mkdir -p "$d/bind"
    timeout -k 5 "$(lim 30)" env LD_PRELOAD="$LIBALLOC" LD_BIND_NOW=1 LD_DEBUG=bindings \
        LD_DEBUG_OUTPUT="$d/bind/log" "$(command -v redis-server)" --version >"$d/version.txt" 2>&1
    ldso_ok "$d/version.txt" || return 1
    LIB_EXPORTS=$(nm -D --defined-only "$LIBALLOC" 2>/dev/null | awk '{print $NF}') \
        "${P[@]}" "$PYTHON" "$HERE/preload_probe.py" bindings "$LIBALLOC" "$(command -v redis-server)" \
        "$(ls "$d"/bind/log.* | head -n1)" mallctl mallctlnametomib mallctlbymib mallocx rallocx \
        xallocx sallocx dallocx sdallocx nallocx malloc_stats_print >"$d/bindings.txt" 2>&1
    rc=$?
    grep -E '^(malloc|mallctl|mallocx|sdallocx|dallocx|malloc_usable_size):' "$d/bindings.txt" | sed 's/^/# redis-server binding: /'
    if [ $rc -ne 0 ]; then
        ERR="redis-server's allocator symbols are not bound to LIBALLOC"
        show "$d/bindings.txt" 20
        return 1
    fi

    for m in plain preloaded; do
        redis_session $m || return 1
        PIDS=()
    done
    ldso_ok "$d/preloaded/stderr" || return 1
    note "redis (preloaded): $(grep -E '^(mem_allocator|used_memory_human|allocator_allocated|allocator_resident|mem_fragmentation_ratio):' "$d/preloaded/info.txt" | tr '\n' ' ')"
    note "redis (plain):     $(grep -E '^(mem_allocator|used_memory_human|allocator_allocated|allocator_resident|mem_fragmentation_ratio):' "$d/plain/info.txt" | tr '\n' ' ')"
    same "$d/plain/data.txt" "$d/preloaded/data.txt" "data check (load, read-back, digests, exit codes)" || return 1
    if ! grep -q '^mem_allocator:.' "$d/preloaded/info.txt"; then
        ERR="INFO memory of the preloaded server has no mem_allocator"
        show "$d/preloaded/info.txt" 10
        return 1
    fi
    if ! grep -q '^all values match' "$d/plain/data.txt" || grep -qv '^server exit 0$' <(tail -n1 "$d/plain/data.txt"); then
        ERR="redis data check failed even without preload"
        show "$d/plain/data.txt" 20
        return 1
    fi
    if [ "$(grep '^digest' "$d/plain/data.txt" | sort -u | wc -l)" -ne 1 ]; then
        ERR="DEBUG DIGEST changed after FLUSHALL ASYNC and reload"
        return 1
    fi
}

# redis_stats prints its own PASS/FAIL/SKIP lines (one per check and
# allocator), so it sets OWN_LINES and the main loop prints none for it
t_redis_stats() {
    local impl lib pid rc out saved=("${PIDS[@]}") failed=0
    OWN_LINES=1
    for impl in jemalloc liballoc; do
        if [ $impl = jemalloc ]; then lib=$JEMALLOC; else lib=$LIBALLOC; fi
        out=$TMP/redis-stats.$impl.out
        REDIS_STATS_BUDGET=$(lim 60) timeout -k 5 "$(lim 90)" \
            "$HERE/redis_stats.sh" "$BUILD_DIR" "$lib" "$impl" >"$out" 2>&1 &
        pid=$!
        PIDS+=("$pid")
        wait "$pid"
        rc=$?
        PIDS=("${saved[@]}")
        cat "$out"
        if [ $rc -ne 0 ]; then
            failed=1
            if [ $rc -eq 124 ] || [ $rc -eq 137 ]; then
                echo "FAIL: integration/redis-stats/$impl/time: still running after $(lim 90) s; killed"
            elif ! grep -q '^FAIL: ' "$out"; then
                echo "FAIL: integration/redis-stats/$impl/run: redis_stats.sh exited $rc"
            fi
        fi
    done
    return $failed
}

# -------------------------------------------------------------------- main

rm -rf "$TMP"
mkdir -p "$TMP" || exit 2
note "LIBALLOC=$LIBALLOC"
note "python: $PYTHON"

LIB_OK=1
if [ ! -f "$LIBALLOC" ]; then
    LIB_OK=0
fi

for name in $TESTS; do
    if ! declare -F "t_$name" >/dev/null; then
        echo "FAIL: $name: no such integration test (known: preload python git gcc sort redis redis_stats)"
        FAILED=1
        continue
    fi
    if [ $SECONDS -ge $DEADLINE ]; then
        echo "FAIL: $name: the runner's time budget (${BUDGET} s) was used up before it could start"
        FAILED=1
        continue
    fi
    if [ $LIB_OK = 0 ]; then
        if [ "$name" = preload ]; then
            echo "FAIL: preload: LIBALLOC not found: $LIBALLOC"
            FAILED=1
        else
            echo "SKIP: $name: LIBALLOC not found: $LIBALLOC"
        fi
        continue
    fi
    ERR="" SKIPPED="" OWN_LINES=0
    t0=$(now)
    t_$name
    rc=$?
    secs=$(awk -v a="$t0" -v b="$(now)" 'BEGIN { printf "%.1f", b - a }')
    if [ "$OWN_LINES" = 1 ]; then
        [ $rc -eq 0 ] || FAILED=1
    elif [ -n "$SKIPPED" ]; then
        echo "SKIP: $name: $SKIPPED"
    elif [ $rc -eq 0 ]; then
        echo "PASS: $name"
    else
        echo "FAIL: $name: ${ERR:-exit status $rc}"
        FAILED=1
    fi
    note "$name: ${secs} s"
    for p in "${PIDS[@]}"; do kill -TERM "$p" 2>/dev/null; done
done

exit $FAILED
