# SPDX-License-Identifier: BSD-2-Clause
# shellcheck shell=bash
# Shared by the daemon runners (tests/daemon/*.sh), sourced once they set B (the build
# directory) and here (this directory); the bus helpers also need src (the source tree).
# Sets LIB (liballoc.so, or $LIBALLOC) and D (jemctld), and gives the PASS/FAIL/SKIP
# lines, the checks of what a runner needs, its work and runtime directories, the
# watchdog and the cleanup, workloads under LD_PRELOAD, and a private system-like bus.
LIB=${LIBALLOC:-$B/liballoc/liballoc.so}
D=$B/jemctld/jemctld
fails=0
pids=()
pass() { echo "PASS: $1"; }
fail() { echo "FAIL: $1: $2"; fails=$((fails + 1)); }
skip() { echo "SKIP: $1: $2"; }

# need_files NAME FILE...: each FILE exists, or NAME-setup fails and the runner exits 1.
need_files() {
        local name=$1 f
        shift
        for f in "$@"; do
                if [ ! -e "$f" ]; then
                        echo "FAIL: $name-setup: $f is missing (build first)"
                        exit 1
                fi
        done
}

# need_tools NAME COMMAND...: each COMMAND is installed, or NAME-setup fails (exit 1).
need_tools() {
        local name=$1 t
        shift
        for t in "$@"; do
                if ! command -v "$t" >/dev/null; then
                        echo "FAIL: $name-setup: $t is not installed (tools/deps.sh test installs it)"
                        exit 1
                fi
        done
}

# make_work SUBDIR NAME [shared]: work, a fresh directory under $B/tests-tmp/SUBDIR, and
# rt, the runtime directory in it: private (0700), or "shared" like /run/jemctl (1777,
# systemd/jemctld.tmpfiles) under a work directory uid 65534 can reach.
make_work() {
        mkdir -p "$B/tests-tmp/$1"
        work=$(mktemp -d "$B/tests-tmp/$1/$2.XXXXXX")
        rt=$work/rt
        if [ "${3:-}" = shared ]; then
                chmod 755 "$work"
                mkdir "$rt"
                chmod 1777 "$rt"
        else
                mkdir -m 0700 "$rt"
        fi
}

# At exit: the watchdog stops, every process started (pids, and the runner's dpid and
# ppid_ if set; stopped ones too) is killed and waited for, the runner's cleanup_more runs
# if it defines one, and the work directory goes.  cleanup_kill, if defined, runs before
# the wait (processes the runner cannot name by pid).
daemon_cleanup() {
        [ -n "${watchdog:-}" ] && kill "$watchdog" 2>/dev/null
        {
                for p in "${pids[@]}" ${dpid:-} ${ppid_:-}; do
                        kill -CONT "$p"
                        kill -KILL "$p"
                done
                if declare -F cleanup_kill >/dev/null; then
                        cleanup_kill
                fi
                wait
        } 2>/dev/null
        if declare -F cleanup_more >/dev/null; then
                cleanup_more
        fi
        rm -rf "$work"
}

# start_watchdog NAME SECONDS: the cleanup at exit, and NAME-timeout fails the runner if
# it runs past SECONDS.
start_watchdog() {
        trap daemon_cleanup EXIT
        # shellcheck disable=SC2064 # the name and the limit, expanded now
        trap "echo \"FAIL: $1-timeout: the runner ran past $2 s\"; exit 1" USR1
        (
                trap 'kill $s 2>/dev/null; exit 0' TERM
                sleep "$2" &
                s=$!
                wait $s && kill -USR1 $$
        ) 2>/dev/null &
        watchdog=$!
}

# preload NAME [nobody] [VAR=VALUE...] PROGRAM ARG...: PROGRAM with liballoc preloaded
# and the runtime directory $rt (as uid 65534 with "nobody"), in the background, its
# output in $work/NAME.out; its pid in $NAME and in pids.
preload() {
        local name=$1 as=()
        shift
        if [ "${1:-}" = nobody ]; then
                # setpriv and env exec: $! is the program's pid.
                as=(setpriv --reuid 65534 --regid 65534 --clear-groups)
                shift
        fi
        "${as[@]}" env JEMCTL_RUNTIME_DIR="$rt" LD_PRELOAD="$LIB" "$@" >"$work/$name.out" 2>&1 &
        pids+=($!)
        eval "$name=$!"
}

# wait_sockets PID...: up to 10 s for the control socket of each PID in $rt.
wait_sockets() {
        local p ok
        for _ in $(seq 100); do
                ok=1
                for p in "$@"; do
                        [ -S "$rt/$p.sock" ] || ok=0
                done
                [ $ok = 1 ] && return 0
                sleep 0.1
        done
        return 1
}

# stop_process PID: SIGTERM, up to 5 s for PID to end; returns its exit status.
stop_process() {
        kill -TERM "$1"
        for _ in $(seq 50); do
                kill -0 "$1" 2>/dev/null || break
                sleep 0.1
        done
        wait "$1"
}

# A free TCP port of 127.0.0.1.
free_port() { ${PY:-python3} "$here/dtool.py" port; }

# Evaluates a Python expression over d, the JSON document on stdin.
# "STATEMENT;<newline> ... EXPRESSION" (each statement ends its line with ';').
check() {
        ${PY:-python3} -c 'import json,sys,re
d = json.load(sys.stdin)
*pre, last = re.split(r";[ \t]*\n", sys.argv[1])
for st in pre:
    exec(" ".join(st.split()))
sys.exit(0 if eval("(" + last + ")") else 1)' "$1"
}

# ---- a private bus ------------------------------------------------------------------------

as_nobody() { setpriv --reuid 65534 --regid 65534 --clear-groups "$@"; }

# start_bus: a dbus-daemon shaped like the system bus (bus-system.conf.in) with jemctld's
# own policy file, at $work/bus; A is its address, O, P and I jemctld's name, object and
# interface.  bus_timeout (seconds) bounds the calls below.
start_bus() {
        sed -e "s|@SOCKET@|$work/bus|" \
                -e "s|@POLICY@|$src/systemd/io.github.liballoc.JemCtl1.conf|" \
                "$here/bus-system.conf.in" >"$work/bus.conf"
        dbus-daemon --config-file="$work/bus.conf" --nofork --print-address >"$work/bus.addr" \
                2>"$work/dbus.log" &
        pids+=($!)
        for _ in $(seq 50); do
                [ -S "$work/bus" ] && break
                sleep 0.1
        done
        A=unix:path=$work/bus
        O=io.github.liballoc.JemCtl1
        P=/io/github/liballoc/JemCtl1
        I=$O.Manager
}
bus_timeout=10
# run_bus CONF SOCKET LOG: one more dbus-daemon with CONF in the background (in pids), up
# to 5 s for it to listen on SOCKET.
run_bus() {
        dbus-daemon --config-file="$1" --nofork >/dev/null 2>"$3" &
        pids+=($!)
        for _ in $(seq 50); do
                [ -S "$2" ] && break
                sleep 0.1
        done
}
# bcall METHOD SIGNATURE ARG...: busctl's JSON answer.
bcall() { busctl --address="$A" --timeout=$bus_timeout --json=short call $O $P $I "$@"; }
# The D-Bus error name of a call (dbus-send prints "Error NAME: message"), or "ok":
# errname METHOD ARG..., uerrname as uid 65534.
errname_of() {
        local out
        if out=$("$@" 2>&1); then
                echo ok
        else
                echo "$out" | sed -n 's/^Error \([^:]*\):.*/\1/p' | head -1
        fi
}
errname() {
        errname_of dbus-send --bus="$A" --print-reply --reply-timeout=$((bus_timeout * 1000)) \
                --dest=$O $P "$I.$1" "${@:2}"
}
uerrname() {
        errname_of as_nobody dbus-send --bus="$A" --print-reply \
                --reply-timeout=$((bus_timeout * 1000)) --dest=$O $P "$I.$1" "${@:2}"
}
