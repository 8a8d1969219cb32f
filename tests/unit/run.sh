#!/usr/bin/env bash
# Runs the unit tests of one build directory (tests/CONTRACT.md).
set -u
build=${1:-build}
status=0
for t in sizeclass decay decay_live pagemap heap conf proto profconv history authz policy; do
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

# The manual pages render with no warning from groff (-ww: every warning), and, where
# they are installed, from mandoc's linter and man-db's NAME-section parser (lexgrog).
man_check() {
        local man_page=$1 out
        command -v groff >/dev/null 2>&1 ||
                { echo "groff is not installed (tools/deps.sh installs groff-base)"; return 1; }
        out=$(groff -man -Tutf8 -ww -z "$man_page" 2>&1) || { echo "groff failed: $out"; return 1; }
        [ -z "$out" ] || { echo "groff: $out"; return 1; }
        if command -v mandoc >/dev/null 2>&1; then
                out=$(mandoc -T lint -W warning "$man_page" 2>&1)
                [ $? -eq 0 ] && [ -z "$out" ] || { echo "mandoc: $out"; return 1; }
        fi
        if command -v lexgrog >/dev/null 2>&1; then
                lexgrog "$man_page" >/dev/null 2>&1 || { echo "lexgrog cannot parse NAME"; return 1; }
        fi
        return 0
}
for page in liballoc.3 jemctl.1 jemctld.8; do
        man_page="$(dirname "$0")/../../docs/man/$page"
        if [ ! -f "$man_page" ]; then
                echo "FAIL: unit/man-$page: docs/man/$page is missing"
                status=1
        elif why=$(man_check "$man_page"); then
                echo "PASS: unit/man-$page"
        else
                echo "FAIL: unit/man-$page: $(echo "$why" | tr '
' ' ')"
                status=1
        fi
done
exit $status
