#!/bin/bash
# SPDX-License-Identifier: BSD-2-Clause
# git workload for the integration tests:
#     git_scenario.sh WORKDIR PYTHON
# Generates a tree of 5000 files in WORKDIR/repo with gen_tree.py (run without
# LD_PRELOAD: git is what is under test), then commits, edits,
# renames, gc's and checks it with git. Everything printed on stdout is
# deterministic (fixed identity, dates and config), so a run under LD_PRELOAD
# must print exactly what a run without it prints. If PRELOAD_MAPS_OUT is set,
# a git process writes its own /proc/PID/maps there (via a shell alias, whose
# parent is git).
set -u
set -o pipefail

work=$1 python=$2
here=$(cd "$(dirname "$0")" && pwd)

export LC_ALL=C TZ=UTC HOME=$work/home
export GIT_CONFIG_NOSYSTEM=1 GIT_CONFIG_GLOBAL=/dev/null
export GIT_AUTHOR_NAME="Integration Test" GIT_AUTHOR_EMAIL="it@example.invalid"
export GIT_COMMITTER_NAME="Integration Test" GIT_COMMITTER_EMAIL="it@example.invalid"
export GIT_AUTHOR_DATE="2024-01-01T00:00:00+0000" GIT_COMMITTER_DATE="2024-01-01T00:00:00+0000"
unset GIT_DIR GIT_WORK_TREE GIT_INDEX_FILE GIT_OBJECT_DIRECTORY

rm -rf "$work"
mkdir -p "$work/home"
env -u LD_PRELOAD "$python" "$here/gen_tree.py" create "$work/repo" 5000 || exit 1
cd "$work/repo" || exit 1

fail=0
out=$work/git.out
# g ARGS...: run git, keep stdout+stderr in $out, print "[rc=N] git SUBCOMMAND".
# Then show the output with `show`, or its hash with `hash`, or filter it.
g() {
    git -c gc.auto=0 -c gc.autoDetach=false -c maintenance.auto=false \
        -c pack.threads=2 "$@" >"$out" 2>&1
    local rc=$? sub=$1
    [ "$1" = -C ] && sub=$3
    echo "[rc=$rc] git $sub"
    if [ $rc -ne 0 ]; then
        fail=1
        sed 's/^/    | /' "$out" | head -n 20
    fi
    return 0
}
show() { cat "$out"; }
hash() { echo "  sha256 $(sha256sum <"$out" | cut -c1-64) ($(wc -l <"$out") lines)"; }
step() { echo "== $*"; }

step init
g init -q -b main .; show

if [ -n "${PRELOAD_MAPS_OUT:-}" ]; then
    git -c 'alias.mapsprobe=!cat /proc/$PPID/maps' mapsprobe >"$PRELOAD_MAPS_OUT"
fi

step "commit 1: everything"
g add -A; show
g status --porcelain; hash
g commit -q -m "initial: generated tree"; show
g rev-parse HEAD 'HEAD^{tree}'; show
g ls-files; hash
g ls-files -s; hash

step "commit 2: edits and new files"
"$python" "$here/gen_tree.py" modify . || { echo "gen_tree modify failed"; fail=1; }
export GIT_AUTHOR_DATE="2024-01-02T00:00:00+0000" GIT_COMMITTER_DATE="2024-01-02T00:00:00+0000"
g status --porcelain; hash
g diff --shortstat; show
g add -A; show
g commit -q -m "second: edits and additions"; show
g rev-parse HEAD 'HEAD^{tree}'; show

step "commit 3: renames and removals"
export GIT_AUTHOR_DATE="2024-01-03T00:00:00+0000" GIT_COMMITTER_DATE="2024-01-03T00:00:00+0000"
g mv d03 renamed-d03; show
g rm -q -r d07/s05; show
g ls-files 'd1*/s0[0-3]/*'; hash
mapfile -t victims < <(awk 'NR % 9 == 0' "$out")
g rm -q -- "${victims[@]}"; show
g commit -q -m "third: renames and removals"; show
g rev-parse HEAD 'HEAD^{tree}'; show

step history
g log --format='%H %T %P %an %ad %s' --date=iso; show
g log --stat -M; hash
g log -p -M HEAD~2..HEAD; hash
g diff -M --shortstat HEAD~2 HEAD; show
g diff -M --name-status HEAD~2 HEAD; hash
g ls-files; hash
g ls-files -s; hash
g grep -c omega HEAD -- 'd0*'; hash
g blame -s d00/s00/f00000.txt; hash
g archive --format=tar HEAD; hash

step "gc and fsck"
g gc -q --prune=now; show
g count-objects -v; grep -E '^(count|in-pack|packs|garbage):' "$out"
g fsck --full --strict --no-progress; show
g cat-file --batch-all-objects --batch-check; hash
g rev-list --objects --all; sort "$out" | sha256sum
g status --porcelain; hash
g log --format=%H; hash

step "repack and clone"
g repack -a -d -f -q; show
g fsck --full --no-progress; show
g clone -q --no-local --no-checkout . "$work/clone"; show
g -C "$work/clone" rev-parse HEAD; show
g -C "$work/clone" ls-tree -r HEAD; hash
g -C "$work/clone" fsck --no-progress; show

echo "== done fail=$fail"
exit $fail
