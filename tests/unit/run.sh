#!/usr/bin/env bash
# Runs the unit tests of one build directory (tests/CONTRACT.md).
set -u
build=${1:-build}
status=0
for t in sizeclass decay decay_live pagemap heap conf; do
        exe="$build/tests/unit/test_$t"
        if [ ! -x "$exe" ]; then
                echo "FAIL: unit/$t: $exe was not built"
                status=1
                continue
        fi
        timeout 120 "$exe"
        rc=$?
        if [ $rc -ne 0 ]; then
                status=1
                echo "FAIL: unit/$t: exit status $rc"
        fi
done
exit $status
