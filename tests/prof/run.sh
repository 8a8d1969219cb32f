#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-2-Clause
# Heap-profile tests: a real process dumps heap_v2 profiles under an allocator, and jeprof,
# `jemctl prof convert` (profconv) and `go tool pprof` read them; tests/prof/check.py holds
# the tests and their tolerances.
#
#     tests/prof/run.sh BUILD_DIR [ALLOCATOR_SO]
#
# ALLOCATOR_SO: the allocator given to the workload with LD_PRELOAD (default liballoc,
# BUILD_DIR/liballoc/liballoc.so; tests/run.sh also runs it with Debian's jemalloc; with
# liballoc the live test also profiles a process through its control socket).  PROF_TESTS="name ..." runs a subset,
# KEEP_TMP=1 keeps BUILD_DIR/tests-tmp/prof.  Output: PASS/FAIL/SKIP lines; exit status 0
# if nothing failed.  The runner stops itself after 240 s.
set -u
if [ $# -lt 1 ] || [ $# -gt 2 ]; then
        echo "usage: $0 BUILD_DIR [ALLOCATOR_SO]" >&2
        exit 2
fi
HERE=$(cd "$(dirname "$0")" && pwd)
BUILD_DIR=$(cd "$1" && pwd) || exit 2
ALLOC=${2:-$BUILD_DIR/liballoc/liballoc.so}
case $ALLOC in /*) ;; *) ALLOC=$PWD/$ALLOC ;; esac
if [ ! -f "$ALLOC" ]; then
        echo "FAIL: prof/setup: allocator $ALLOC not found"
        exit 1
fi
unset LD_PRELOAD MALLOC_CONF
TMP=$BUILD_DIR/tests-tmp/prof
rm -rf "$TMP"
mkdir -p "$TMP"
if [ -x /usr/bin/python3 ]; then PYTHON=/usr/bin/python3; else PYTHON=$(command -v python3); fi

# The watchdog: timeout(1) runs check.py in its own process group and signals the whole
# group (jemctl, go, jeprof, the fake servers) at 240 s.
timeout -k 5 240 "$PYTHON" "$HERE/check.py" "$BUILD_DIR" "$ALLOC" "$TMP"
status=$?
if [ $status -eq 124 ] || [ $status -eq 137 ]; then
        echo "FAIL: prof/watchdog: the tests did not finish within 240 s"
fi
[ "${KEEP_TMP:-0}" = 1 ] || rm -rf "$TMP"
exit $status
