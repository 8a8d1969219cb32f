#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-2-Clause
# The `hostile` kind: the control plane against the people it must not trust (docs/security.md).
# Each tests/hostile/case-*.sh is one scenario with its own attacker: another user made by
# the test (uid 65534 and the throw-away users a case creates), a fake liballoc process, a
# fake jemctld, a browser with a rebinding host rule.  Every case is a runner of its own
# (tests/CONTRACT.md): it prints PASS/FAIL/SKIP lines, cleans up what it started and
# exits non-zero if a check failed; this script runs them in name order, each with its
# own time limit, and exits non-zero if any of them did.
#   tests/hostile/run.sh BUILD_DIR [CASE...]     (CASE: the part after "case-", no ".sh")
set -u
B=$(cd "${1:?usage: tests/hostile/run.sh BUILD_DIR [CASE...]}" && pwd)
shift
here=$(cd "$(dirname "$0")" && pwd)
status=0
cases=()
if [ $# -gt 0 ]; then
        for c in "$@"; do
                cases+=("$here/case-$c.sh")
        done
else
        for f in "$here"/case-*.sh; do
                [ -e "$f" ] && cases+=("$f")
        done
fi
if [ ${#cases[@]} = 0 ]; then
        echo "FAIL: hostile-setup: no case in $here"
        exit 1
fi
for f in "${cases[@]}"; do
        name=$(basename "$f" .sh)
        name=${name#case-}
        if [ ! -f "$f" ]; then
                echo "FAIL: hostile/$name: no such case ($f)"
                status=1
                continue
        fi
        # A case bounds itself (start_watchdog); this limit only catches one that cannot.
        timeout -k 5 180 bash "$f" "$B"
        rc=$?
        if [ $rc -ge 124 ]; then
                echo "FAIL: hostile/$name: stopped after 180 s (status $rc)"
        fi
        [ $rc = 0 ] || status=1
done
exit $status
