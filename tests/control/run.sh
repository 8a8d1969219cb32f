#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-2-Clause
# Control-socket tests (docs/protocol.md, docs/security.md): a real process,
# BUILD_DIR/tests/control/ctl-target, runs with LD_PRELOAD=$LIBALLOC and a fresh
# JEMCTL_RUNTIME_DIR under BUILD_DIR/tests-tmp/control/, and tests/control/ctl_tests.py
# talks to its socket with tests/control/jpclient.py (framing + JSON):
#
#   basic-*            hello/info/get/set/list/stats/stats full/purge/decay-all/prof shapes
#   pipelined-requests five requests in one write, five answers in order
#   bad-json, bad-version, bad-request-members
#                      malformed JSON, limits (depth 8, 1,024 tokens, 256 names), wrong
#                      version, unknown or missing op, mistyped members: the right error,
#                      and the connection still answers the next frame
#   set-refused-over-socket
#                      thread.*, tcache.flush/destroy, arena.<i>.reset/destroy, prof.dump
#                      and prof.prefix are refused per name (permission_denied); the
#                      target lives and writes no file
#   get-repeated-name, set-long-names, get-name-with-nul
#                      answers are strict JSON (no duplicate keys), one entry per name
#   random-payloads    2,000 random / mutated payloads: one well-formed answer each
#   frame-*            zero length (bad_frame + close), oversized (too_large + close),
#                      64 KiB exactly, truncated / half-closed frames, one byte at a time
#   uid-*              (root only) nobody cannot connect to a 0600 socket in a 0700 dir;
#                      with JEMCTL_READ_GROUP=nogroup nobody reads but may not write; a
#                      peer let in by a supplementary group is refused (SO_PEERCRED); a
#                      read-only peer's get creates no arena (arenas.create, tcache.create)
#   dir-*              0777 dir (off + warning), 1777 dir (on), dir owned by another user
#                      or a symlink (off), missing dir (off, not created), ctl:true (dir
#                      made 0700), ctl:false (off)
#   idle-client-closed a silent client is closed after ~5 s, one that never reads its
#                      answers too; others are served meanwhile
#   busy-17th-client   16 connections, the 17th gets busy; service resumes
#   slots-reserved-trickle
#                      (root only) a read-group uid opens 16 connections and sends one byte
#                      every 4 s: it holds 4 slots (12 get busy), each closed ~5 s after its
#                      connect with timeout; root and the owner (the target runs as nobody)
#                      are answered at once meanwhile
#   many-clients-rss   1,000 clients in a row, VmRSS growth < 5 MiB
#   exit-*             SIGTERM: clients see EOF, socket removed; SIGKILL mid-request:
#                      clients see EOF, the stale socket refuses connections
#   fork-child-serves  a forked child serves <childpid>.sock; its exit keeps the parent's
#   exec-closes-socket after exec the old socket refuses connections (CLOEXEC); an
#                      exec'd image with the allocator serves the same pid's socket
#
# After each test the target must still answer hello and its pattern-filled blocks must be
# intact.  Then tests/control/jemctl_e2e.sh BUILD_DIR runs when it and BUILD_DIR/jemctl/jemctl
# exist.
#
#     tests/control/run.sh BUILD_DIR
#
# Environment: LIBALLOC (default BUILD_DIR/liballoc/liballoc.so), CONTROL_TESTS (names to
# run, default all), KEEP_TMP=1 keeps BUILD_DIR/tests-tmp/control.
# Output: PASS/FAIL/SKIP lines (others start with "# "); exit status 0 if nothing failed.
set -u
if [ $# -ne 1 ]; then
        echo "usage: $0 BUILD_DIR" >&2
        exit 2
fi
HERE=$(cd "$(dirname "$0")" && pwd)
BUILD_DIR=$(cd "$1" && pwd) || exit 2
TMP=$BUILD_DIR/tests-tmp/control
LIBALLOC=${LIBALLOC:-$BUILD_DIR/liballoc/liballoc.so}
case $LIBALLOC in /*) ;; *) LIBALLOC=$PWD/$LIBALLOC ;; esac
if [ -x /usr/bin/python3 ]; then PYTHON=/usr/bin/python3; else PYTHON=$(command -v python3); fi
unset LD_PRELOAD MALLOC_CONF JEMCTL_RUNTIME_DIR JEMCTL_READ_GROUP PYTHONPATH

status=0
py_pid=
cleanup() {
        # ctl_tests.py kills the processes it started when it ends or gets SIGTERM; any
        # left over (if it was killed) end by themselves: each target has a lifetime (-t).
        [ -n "$py_pid" ] && kill -TERM "$py_pid" 2>/dev/null && wait "$py_pid" 2>/dev/null
        [ "${KEEP_TMP:-0}" = 1 ] || rm -rf "$TMP"
}
trap cleanup EXIT
trap 'echo "# interrupted"; exit 130' INT TERM HUP

if [ ! -x "$BUILD_DIR/tests/control/ctl-target" ]; then
        echo "FAIL: control/build: $BUILD_DIR/tests/control/ctl-target was not built"
        exit 1
fi
if [ ! -f "$LIBALLOC" ]; then
        echo "FAIL: control/build: $LIBALLOC does not exist"
        exit 1
fi
if [ -z "$PYTHON" ]; then
        echo "SKIP: control/all: python3 is not installed (tools/deps.sh test installs it)"
        exit 0
fi
rm -rf "$TMP"
mkdir -p "$TMP" && chmod 755 "$TMP" || exit 1

# The whole runner is bounded: the tests take ~30 s on 2 cores; 150 s is the hard stop.
# shellcheck disable=SC2086
timeout -k 5 150 "$PYTHON" -B "$HERE/ctl_tests.py" --build "$BUILD_DIR" --tmp "$TMP" \
        --lib "$LIBALLOC" --budget 120 ${CONTROL_TESTS:+--only $CONTROL_TESTS} &
py_pid=$!
wait "$py_pid"
rc=$?
py_pid=
case $rc in
0) ;;
124 | 137) echo "FAIL: control/runner: killed after 150 s"; status=1 ;;
1) status=1 ;;
*) echo "FAIL: control/runner: ctl_tests.py exited with status $rc"; status=1 ;;
esac

# End-to-end tests of the jemctl command (another runner, when both exist).
if [ -z "${CONTROL_TESTS:-}" ]; then
        if [ ! -f "$HERE/jemctl_e2e.sh" ]; then
                echo "SKIP: control/jemctl-e2e: tests/control/jemctl_e2e.sh does not exist yet"
        elif [ ! -x "$BUILD_DIR/jemctl/jemctl" ]; then
                echo "SKIP: control/jemctl-e2e: $BUILD_DIR/jemctl/jemctl was not built"
        else
                timeout -k 5 300 bash "$HERE/jemctl_e2e.sh" "$BUILD_DIR" || status=1
        fi
fi
# The control plane under load: the stress programs (32 threads with cross-thread frees;
# forks while threads allocate, each child serving its own socket) still pass while a
# client hammers every live socket with full stats, gets and immediate purges.
under_load() {
        local dir=$TMP/load out=$TMP/load.out prog args h_pid rc
        mkdir -p "$dir" && chmod 700 "$dir"
        "$PYTHON" -B "$HERE/hammer.py" "$dir" 12 >"$out" 2>&1 &
        h_pid=$!
        for prog in "fork-while-allocating 100 3 2 3 400" "threads-random 16 16000 4"; do
                read -r -a args <<<"$prog"
                if ! JEMCTL_RUNTIME_DIR=$dir LD_PRELOAD=$LIBALLOC timeout -k 5 60 \
                        "$BUILD_DIR/tests/stress/${args[0]}" "${args[@]:1}" >"$TMP/load.${args[0]}" 2>&1
                then
                        echo "FAIL: control/under-load/${args[0]}: $(tail -1 "$TMP/load.${args[0]}")"
                        status=1
                else
                        echo "PASS: control/under-load/${args[0]}"
                fi
        done
        wait "$h_pid"
        rc=$?
        if [ $rc -eq 0 ]; then
                echo "PASS: control/under-load/answers ($(cat "$out"))"
        else
                echo "FAIL: control/under-load/answers: $(tail -1 "$out")"
                status=1
        fi
}
if [ -z "${CONTROL_TESTS:-}" ]; then
        if [ -x "$BUILD_DIR/tests/stress/threads-random" ]; then
                under_load
        else
                echo "SKIP: control/under-load: the stress programs were not built"
        fi
fi
exit $status
