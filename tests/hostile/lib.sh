# SPDX-License-Identifier: BSD-2-Clause
# shellcheck shell=bash
# Sourced by every tests/hostile/case-*.sh once it has set B (the build directory): the
# daemon runners' helpers (tests/daemon/lib.sh: pass/fail/skip, make_work, preload,
# start_watchdog, free_port, check, as_nobody, ...), with `here` naming tests/daemon (their
# Python tools live there) and `hostile` this directory.  need_root NAME: SKIP NAME and
# exit 0 when not root (a case that makes other users needs root).
hostile=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
here=$(cd "$hostile/../daemon" && pwd)
# shellcheck source=tests/daemon/lib.sh
. "$here/lib.sh"
J=$B/jemctl/jemctl
need_root() {
        if [ "$(id -u)" != 0 ]; then
                skip "$1" "needs root (it runs an attacker as another uid)"
                exit 0
        fi
}
