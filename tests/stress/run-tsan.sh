#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-2-Clause
# Runs the threaded stress test linked with liballoc (renamed entry points) in a build
# made with -Db_sanitize=thread: ThreadSanitizer reports any data race inside the
# allocator's remote-free, notification and arena paths as a failure.
set -u
build=${1:-build-tsan}
exe="$build/tests/stress/threads-random-linked"
if [ ! -x "$exe" ]; then
        echo "FAIL: stress-tsan/threads-random: $exe was not built"
        exit 1
fi
log="$build/tsan-threads-random.log"
# Smaller than the release run: TSan costs 5-15x.
if TSAN_OPTIONS="halt_on_error=1 exitcode=66" timeout 170 "$exe" 8 3000 3 >"$log" 2>&1; then
        echo "PASS: stress-tsan/threads-random"
        exit 0
fi
echo "FAIL: stress-tsan/threads-random: see $log"
grep -m1 -A12 "WARNING: ThreadSanitizer" "$log" >&2
exit 1
