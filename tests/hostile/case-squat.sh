#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-2-Clause
# case-squat: another user squats the control socket's name of a pid to come.  In a shared
# runtime directory (1777, like /run/jemctl) uid 65534 makes <P>.sock (a regular file, a
# listening socket of its own, a symbolic link to a file of root's) before the root process
# that gets pid P starts: that process must serve <P>.<16 hex>.sock instead, say so in one
# warning line, never follow the link, and remove only its own name at exit.  After an exec
# with liballoc the new image serves a fresh name and the old one goes; when the longer
# name cannot be bound either (a directory too long for it), the socket stays off with a
# warning (docs/protocol.md, "Where the socket is"; docs/security.md, layer 2).
#   tests/hostile/case-squat.sh BUILD_DIR
B=$(cd "$1" && pwd)
# shellcheck source=tests/hostile/lib.sh
. "$(dirname "$0")/lib.sh"
need_root squat
T=$B/tests/control/ctl-target
CLIENT=$hostile/../control/jpclient.py
need_files squat "$T" "$LIB" "$CLIENT"
need_tools squat python3 setpriv
start_watchdog squat 120
make_work hostile squat shared
HELLO='{"v":1,"id":1,"op":"hello"}'
INFO='{"v":1,"id":2,"op":"info"}'
# The attacker's python (uid 65534 cannot use a python under root's home).
if [ -x /usr/bin/python3 ]; then SYSPY=/usr/bin/python3; else SYSPY=$(command -v python3); fi

# end_target PID: kills and reaps it, quietly.
end_target() { { kill -KILL "$1"; wait "$1"; } 2>/dev/null; }

# start_stopped ARG...: a root shell that stops itself, then (on SIGCONT) execs
# ctl-target ARG... with liballoc preloaded and $rt as its runtime directory: the pid is
# known before the allocator starts.  Its pid in $p, its output in $work/target.out/.err.
start_stopped() {
        # shellcheck disable=SC2016 # expanded by the inner shell
        bash -c 'kill -STOP $$; exec env JEMCTL_RUNTIME_DIR="$0" LD_PRELOAD="$1" "${@:2}"' \
                "$rt" "$LIB" "$T" -t 60 "$@" >"$work/target.out" 2>"$work/target.err" &
        p=$!
        pids+=("$p")
        for _ in $(seq 100); do
                [ "$(cut -d' ' -f3 "/proc/$p/stat" 2>/dev/null)" = T ] && break
                sleep 0.05
        done
}

# names DIR: the names in DIR, in C order, on one line.
names() { (LC_ALL=C && cd "$1" && for f in *; do [ -e "$f" ] || [ -L "$f" ] && printf '%s ' "$f"; done); }

# alt_name PID: the one <PID>.<16 hex>.sock in $rt (empty if none, or several).
alt_name() {
        local f=() x
        for x in "$rt/$1".*.sock; do
                [[ $(basename "$x") =~ ^$1\.[0-9a-f]{16}\.sock$ ]] && f+=("$x")
        done
        [ ${#f[@]} = 1 ] && echo "${f[0]}"
}

# wait_alt PID [OLD]: up to 5 s for an alternative name of PID other than OLD; echoes it.
wait_alt() {
        local a
        for _ in $(seq 100); do
                a=$(alt_name "$1")
                if [ -n "$a" ] && [ "$a" != "${2:-}" ] && [ -S "$a" ]; then
                        echo "$a"
                        return 0
                fi
                sleep 0.05
        done
        return 1
}

# answers SOCK PID: hello through SOCK is answered by PID.
answers() {
        python3 -B "$CLIENT" "$1" "$HELLO" | sed -n 's/^RESP //p' |
                check "d.get('ok') is True and d['result']['pid'] == $2"
}

# squat_case KIND: uid 65534 makes <P>.sock as KIND (file, socket, link); the process
# started on pid P must serve the other name.
squat_case() {
        local kind=$1 name=squat-$1 alt warn mode
        start_stopped
        case $kind in
        file) as_nobody touch "$rt/$p.sock" ;;
        link)
                echo "root's file" >"$work/victim"
                chmod 0644 "$work/victim"
                as_nobody ln -s "$work/victim" "$rt/$p.sock"
                ;;
        socket)
                as_nobody "$SYSPY" -c 'import socket, sys, time
s = socket.socket(socket.AF_UNIX)
s.bind(sys.argv[1])
s.listen()
time.sleep(60)' "$rt/$p.sock" &
                pids+=($!)
                for _ in $(seq 50); do [ -S "$rt/$p.sock" ] && break; sleep 0.05; done
                ;;
        esac
        if [ "$(stat -c %u "$rt/$p.sock" 2>/dev/null)" != 65534 ]; then
                fail "$name" "setup: uid 65534 could not make $rt/$p.sock"
                return
        fi
        kill -CONT "$p"
        if ! alt=$(wait_alt "$p"); then
                fail "$name" "pid $p serves no $p.<16 hex>.sock within 5 s (in $rt: $(names "$rt"); stderr: $(head -c 300 "$work/target.err"))"
                return
        fi
        warn="<jemalloc>: liballoc: control socket $rt/$p.sock is taken by another user (uid 65534); listening on $alt"
        mode=$(stat -c '%a %u' "$alt")
        if ! answers "$alt" "$p"; then
                fail "$name" "$alt does not answer hello with pid $p"
        elif ! python3 -B "$CLIENT" "$alt" "$INFO" | sed -n 's/^RESP //p' |
                check "d['result']['socket'] == '$alt'"; then
                fail "$name" "info's socket is not $alt"
        elif ! grep -qxF "$warn" "$work/target.err"; then
                fail "$name" "no warning line '$warn' on stderr: $(head -c 300 "$work/target.err")"
        elif [ "$(grep -c . "$work/target.err")" != 1 ]; then
                fail "$name" "more than the one warning on stderr: $(head -c 300 "$work/target.err")"
        elif [ "$mode" != "600 0" ]; then
                fail "$name" "$alt: mode and owner '$mode', expected '600 0'"
        elif [ "$kind" = link ] && [ "$(stat -c '%a %u %s' "$work/victim")" != "644 0 12" ]; then
                fail "$name" "the link's target changed: $(stat -c '%a %u %s' "$work/victim")"
        elif ! stop_process "$p"; then
                fail "$name" "pid $p did not exit normally"
        elif [ -e "$alt" ]; then
                fail "$name" "$alt left after a normal exit"
        elif [ "$(stat -c %u "$rt/$p.sock" 2>/dev/null)" != 65534 ]; then
                fail "$name" "the squatter's $rt/$p.sock was removed or replaced"
        else
                pass "$name"
        fi
        end_target "$p"
}

for kind in file socket link; do
        squat_case "$kind"
done

# exec: the image after exec (liballoc still preloaded) serves a fresh name; the old
# image's name is swept at its start.
name=squat-exec
start_stopped -X
as_nobody touch "$rt/$p.sock"
kill -CONT "$p"
if ! old=$(wait_alt "$p"); then
        fail "$name" "pid $p serves no $p.<16 hex>.sock within 5 s"
else
        kill -USR2 "$p"
        ok=0
        for _ in $(seq 100); do
                a=$(alt_name "$p")
                if [ -n "$a" ] && [ "$a" != "$old" ] && python3 -B "$CLIENT" "$a" "$INFO" |
                        sed -n 's/^RESP //p' | check "d['result']['comm'] == 'sleep'" 2>/dev/null; then
                        ok=1
                        break
                fi
                sleep 0.05
        done
        if [ $ok = 0 ]; then
                fail "$name" "after exec no single new name answers as sleep (in $rt: $(names "$rt"))"
        elif [ -e "$old" ]; then
                fail "$name" "the name of the image before exec ($old) is left"
        else
                pass "$name"
        fi
fi
end_target "$p"

# The sweep (a control thread's, at its start) removes this user's sockets of dead pids
# under both names, and nothing that is not exactly one of them.
name=squat-sweep
sleep 0 &
dead=$!
wait "$dead"
for f in "$dead.sock" "$dead.0123456789abcdef.sock" "$dead.0123456789ABCDEF.sock" \
        "$dead.0123456789abcde.sock"; do
        python3 -c 'import socket, sys
socket.socket(socket.AF_UNIX).bind(sys.argv[1])' "$rt/$f"
done
as_nobody "$SYSPY" -c 'import socket, sys
socket.socket(socket.AF_UNIX).bind(sys.argv[1])' "$rt/$dead.fedcba9876543210.sock"
preload sweeper "$T" -t 60
# shellcheck disable=SC2154 # set by preload
if ! wait_sockets "$sweeper"; then
        fail "$name" "pid $sweeper serves no socket within 10 s"
else
        left=
        for _ in $(seq 40); do
                left=$(names "$rt" | tr ' ' '\n' | grep "^$dead\." | tr '\n' ' ')
                [ "$left" = "$dead.0123456789ABCDEF.sock $dead.0123456789abcde.sock $dead.fedcba9876543210.sock " ] && break
                sleep 0.05
        done
        if [ "$left" != "$dead.0123456789ABCDEF.sock $dead.0123456789abcde.sock $dead.fedcba9876543210.sock " ]; then
                fail "$name" "names of dead pid $dead left: '$left' (expected the upper-case, the short and uid 65534's)"
        else
                pass "$name"
        fi
fi
end_target "$sweeper"

# The longer name does not fit (a directory of 83 bytes: <pid>.sock fits, the other not):
# the socket stays off, with a warning.
name=squat-no-room
long=$rt
while [ ${#long} -lt 83 ]; do
        pad=$((83 - ${#long} - 1))
        [ $pad -gt 60 ] && pad=60
        long=$long/$(printf '%*s' "$pad" '' | tr ' ' d)
        mkdir -m 1777 "$long"
done
if [ ${#long} != 83 ]; then
        fail "$name" "setup: made a directory of ${#long} bytes, not 83"
else
        rt_main=$rt
        rt=$long
        start_stopped
        as_nobody touch "$rt/$p.sock"
        kill -CONT "$p"
        warn="<jemalloc>: liballoc: control socket off: $rt/$p.sock is taken by another user (uid 65534), and $rt/$p."
        for _ in $(seq 60); do
                grep -qF "$warn" "$work/target.err" && break
                sleep 0.05
        done
        if ! grep -qF "$warn" "$work/target.err"; then
                fail "$name" "no warning '$warn...' on stderr: $(head -c 300 "$work/target.err")"
        elif ! grep -q 'cannot be bound$' "$work/target.err"; then
                fail "$name" "the warning does not say the other name cannot be bound: $(head -c 300 "$work/target.err")"
        elif [ "$(names "$rt")" != "$p.sock " ]; then
                fail "$name" "something was bound in $rt: $(names "$rt")"
        elif ! kill -0 "$p" 2>/dev/null; then
                fail "$name" "pid $p died"
        else
                pass "$name"
        fi
        end_target "$p"
        rt=$rt_main
fi

exit $((fails > 0))
