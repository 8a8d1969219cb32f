#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-2-Clause
# Memory-pressure tests (liballoc(3), MEMORY_PRESSURE_WATCH): BUILD_DIR/tests/pressure/
# pressure-holder runs under LD_PRELOAD=$LIBALLOC and tests/pressure/pressure_tests.py
# drives it:
#
#   fifo-event-returns-memory      a FIFO event purges at once: RSS falls under 35 % of
#                                  what the holder held, within 2 s; counters say so
#   fifo-writer-leaves-and-returns three writers in turn, three events
#   fifo-read-only-reopened        (root, setpriv) a FIFO the process may only read: it is
#                                  reopened when each writer leaves
#   socket-trigger-events-end      an AF_UNIX socket gets the decoded MEMORY_PRESSURE_WRITE,
#                                  its messages are events, its end ends the watch (said
#                                  once) and the process goes on
#   psi-file-from-environment      /proc/pressure/memory armed through the environment
#   psi-own-cgroup                 no variables: the process's own cgroup2 memory.pressure
#                                  (SKIP where no cgroup2 child can be made); pressure:off
#   mallctl-event-without-watch    pressure.event works with no watch and no extra thread
#   storm-is-rate-limited          1,000 writes in a second: at most one purge per 250 ms
#   purges-follow-while-pressure-lasts
#                                  after an event, memory freed later comes back within
#                                  about a second (against a run without the event)
#   nothing-without-pressure       a watch with no events costs no purge and no CPU
#   bad-input                      relative, missing, directory, regular file (left
#                                  untouched), bad or long base64, a trigger the kernel
#                                  refuses, a dead socket: one message each, no watch, the
#                                  process works; /dev/null and empty: off, silently
#   malloc-conf-keys               bad pressure values get jemalloc's warnings
#   oom-baseline-is-killed         (cgroup-v1 memory controller) A holds 200 MiB, frees
#                                  90 %; B touches 150 MiB in the same 256 MiB cgroup:
#                                  with Debian's jemalloc and with pressure:off, an OOM kill
#   oom-avoided-by-the-watch       the same with liballoc's watch fed by a usage threshold
#                                  (cgroup.event_control, standing in for the service
#                                  manager): nobody is killed, A falls to its live set
#   governor-avoids-oom            the same with no watch in A (pressure:off) and jemctld
#                                  with its defaults as the governor: nobody is killed, A
#                                  falls to its live set, the purge is logged, counted and
#                                  marked on the dashboard's chart of A (headless Chromium)
#   governor-dry-run-only-says     --governor=dry-run: "would purge" logged, the kill happens
#   governor-bad-input             a stopped process (no answer): one line, one error
#                                  counted, the daemon goes on; the cgroup removed: one line,
#                                  no longer watched
#
# About 40 s.  Scratch files under BUILD_DIR/tests-tmp/pressure/.
#   usage: tests/pressure/run.sh BUILD_DIR [test ...]
set -u
BUILD_DIR=${1:?usage: $0 BUILD_DIR [test ...]}
shift
LIBALLOC=${LIBALLOC:-$BUILD_DIR/liballoc/liballoc.so}
JEMALLOC=${JEMALLOC:-/usr/lib/x86_64-linux-gnu/libjemalloc.so.2}
TMP=$(realpath -m "$BUILD_DIR/tests-tmp/pressure")
mkdir -p "$TMP"
exec timeout -k 5 240 python3 "$(dirname "$0")/pressure_tests.py" \
        --holder "$BUILD_DIR/tests/pressure/pressure-holder" \
        --toucher "$BUILD_DIR/tests/pressure/pressure-toucher" \
        --jemctld "$BUILD_DIR/jemctld/jemctld" \
        --lib "$(realpath "$LIBALLOC")" --jemalloc "$JEMALLOC" --tmp "$TMP" "$@"
