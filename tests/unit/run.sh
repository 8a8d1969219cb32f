#!/usr/bin/env bash
# Runs the unit tests of one build directory (tests/CONTRACT.md).
set -u
build=${1:-build}
status=0
for t in sizeclass decay decay_live pagemap heap conf proto; do
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

# The manual page renders with no warning from groff (-ww: every warning), and, where they
# are installed, from mandoc's linter and man-db's NAME-section parser (lexgrog).
man_page="$(dirname "$0")/../../docs/man/liballoc.3"
man_check() {
        local out
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
if [ ! -f "$man_page" ]; then
        echo "FAIL: unit/man-liballoc.3: docs/man/liballoc.3 is missing"
        status=1
elif why=$(man_check); then
        echo "PASS: unit/man-liballoc.3"
else
        echo "FAIL: unit/man-liballoc.3: $(echo "$why" | tr '\n' ' ')"
        status=1
fi
exit $status
