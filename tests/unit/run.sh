#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-2-Clause
# Runs the unit tests of one build directory (tests/CONTRACT.md).
set -u
build=${1:-build}
status=0
for t in sizeclass harden util lockrank decay decay_live arena_share lcache hcache pagemap heap conf pressure proto profconv history authz policy jdreq jcl; do
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

# The layer rule of liballoc's sources (docs/architecture.md): no include of a higher layer.
python3 "$(dirname "$0")/layers.py" "$(dirname "$0")/../.." || status=1

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
# liballoc.pc names everything a static link needs: a program linked with liballoc.a and
# the flags of `pkg-config --static --libs liballoc` builds and runs on liballoc.
pc_static_check() {
        local build=$1 tmp libs out
        command -v pkg-config >/dev/null 2>&1 || { echo "pkg-config is not installed"; return 1; }
        [ -f "$build/meson-private/liballoc.pc" ] || { echo "$build/meson-private/liballoc.pc is missing"; return 1; }
        libs=$(PKG_CONFIG_PATH=$build/meson-private pkg-config --static --libs liballoc) ||
                { echo "pkg-config failed"; return 1; }
        tmp=$(mktemp -d)
        cat >"$tmp/p.c" <<'PROG'
#include <jemalloc/jemalloc.h>
#include <stdio.h>
int main(void)
{
        void *p = mallocx(100, 0);
        size_t sz = sizeof(const char *);
        const char *v = NULL;
        int rc = mallctl("version", &v, &sz, NULL, 0);
        printf("%zu %d %s\n", sallocx(p, 0), rc, v != NULL ? v : "-");
        dallocx(p, 0);
        return 0;
}
PROG
        # -lalloc from Libs is the shared library: link the archive instead, keep the rest.
        if ! out=$(cc -o "$tmp/p" "$tmp/p.c" -I "$(dirname "$0")/../../liballoc/include" \
                "$build/liballoc/liballoc.a" ${libs//-lalloc/} 2>&1); then
                rm -rf "$tmp"
                echo "static link with \"$libs\" failed: $(echo "$out" | tail -3)"
                return 1
        fi
        out=$("$tmp/p" 2>&1)
        rm -rf "$tmp"
        [ "${out%% *}" = 112 ] || { echo "unexpected output: $out"; return 1; }
        return 0
}
# sanitized BUILD: true when the build directory is a sanitizer build.
sanitized() {
        python3 -c 'import json,sys
try: o={x["name"]: x["value"] for x in json.load(open(sys.argv[1]))}
except Exception: sys.exit(0)
sys.exit(0 if o.get("b_sanitize") in ("none", [], None) else 1)' \
                "$1/meson-info/intro-buildoptions.json"
        [ $? -eq 1 ]
}
# (Its archive is instrumented in a sanitizer build: a plain cc link cannot use it.)
if sanitized "$build"; then
        echo "SKIP: unit/pkgconfig-static: a sanitizer build (the release build checks it)"
elif why=$(pc_static_check "$build"); then
        echo "PASS: unit/pkgconfig-static"
else
        echo "FAIL: unit/pkgconfig-static: $why"
        status=1
fi
# How much of liballoc's code a small program keeps resident (docs/architecture.md, "Code
# layout"): the allocation and start-up paths are linked first, the control plane last.
# (Release build: a sanitizer build's library is instrumented, its layout is another.)
if sanitized "$build"; then
        echo "SKIP: unit/resident-code: a sanitizer build (the release build checks it)"
elif [ ! -x "$build/tests/unit/resident-code" ]; then
        echo "FAIL: unit/resident-code: $build/tests/unit/resident-code was not built"
        status=1
else
        LD_PRELOAD="$build/liballoc/liballoc.so" "$build/tests/unit/resident-code" || status=1
fi
# The benchmark runner races a peer library given by path (--peer NAME=LIBRARY) as one
# more allocator row, and refuses a malformed --peer.  (Release build: the bench programs
# of a sanitizer build cannot take a preloaded malloc.)
peer_lib=/usr/lib/x86_64-linux-gnu/libjemalloc.so.2
top_dir=$(cd "$(dirname "$0")/../.." && pwd)
if sanitized "$build"; then
        echo "SKIP: unit/bench-runner-peer: a sanitizer build (the release build checks it)"
elif [ ! -e "$peer_lib" ]; then
        echo "SKIP: unit/bench-runner-peer: $peer_lib is not installed"
else
        out=$(python3 "$top_dir/tests/bench/run.py" --build "$build" --only small-churn \
                --runs 1 --warmup 0 --scale 2 --alloc liballoc \
                --peer "peer-je=$peer_lib" 2>&1)
        rc=$?
        python3 "$top_dir/tests/bench/run.py" --build "$build" --peer bad >/dev/null 2>&1
        bad_rc=$?
        if [ $rc -eq 0 ] && grep -Eq '^ +peer-je +[0-9.]+' <<<"$out" && [ $bad_rc -eq 2 ]; then
                echo "PASS: unit/bench-runner-peer"
        else
                echo "FAIL: unit/bench-runner-peer: exit $rc (malformed --peer: $bad_rc): $(tail -n 3 <<<"$out")"
                status=1
        fi
fi
# The runner's classic suite (run.py --suite classic): --list names every classic
# workload and only those, and one of them runs and passes under liballoc.
if sanitized "$build"; then
        echo "SKIP: unit/bench-runner-classic: a sanitizer build (the release build checks it)"
else
        list=$(python3 "$top_dir/tests/bench/run.py" --build "$build" --suite classic --list 2>&1)
        list_rc=$?
        out=$(python3 "$top_dir/tests/bench/run.py" --build "$build" --suite classic \
                --only classic-cfrac --runs 1 --warmup 0 --scale 2 --alloc liballoc 2>&1)
        rc=$?
        if [ $list_rc -eq 0 ] && [ "$(grep -c '^classic-' <<<"$list")" -ge 12 ] &&
           ! grep -qv '^classic-' <<<"$list" && [ $rc -eq 0 ] &&
           grep -Eq '^classic-cfrac +liballoc +[0-9.]+' <<<"$out"; then
                echo "PASS: unit/bench-runner-classic"
        else
                echo "FAIL: unit/bench-runner-classic: --list exit $list_rc, run exit $rc: $(tail -n 3 <<<"$out")"
                status=1
        fi
fi
# The Redis benchmark (tests/bench/redis.py) against a real redis-server: a liballoc row
# with request rates, from a server that had liballoc mapped (the runner looks at its maps).
if sanitized "$build"; then
        echo "SKIP: unit/bench-redis: a sanitizer build (the release build checks it)"
elif ! command -v redis-benchmark >/dev/null 2>&1; then
        echo "SKIP: unit/bench-redis: redis-benchmark is not installed (redis-tools)"
else
        out=$(timeout 120 python3 "$top_dir/tests/bench/redis.py" --rounds 1 --requests 2000 \
                --liballoc "$build/liballoc/liballoc.so" 2>&1)
        rc=$?
        if [ $rc -eq 0 ] && grep -Eq '^\| liballoc \| [0-9,]+ \| [0-9,]+ \|' <<<"$out" &&
                grep -q 'round 1/1 liballoc: set=.* loaded=yes' <<<"$out"; then
                echo "PASS: unit/bench-redis"
        else
                echo "FAIL: unit/bench-redis: exit $rc: $(tail -n 3 <<<"$out")"
                status=1
        fi
fi
# The demo installs the build set and what it runs, not the test toolchain (a newcomer
# waits for the demo): its set has none of the test-only packages, and demo.sh asks for it.
top=$(cd "$(dirname "$0")/../.." && pwd)
demo_set=" $("$top/tools/deps.sh" --list demo) "
heavy=""
for p in chromium golang-go clang prometheus redis-server libjemalloc-dev zsh; do
        case "$demo_set" in *" $p "*) heavy="$heavy $p" ;; esac
done
if [ -z "$heavy" ] && grep -q '^tools/deps.sh demo' "$top/tools/demo.sh" &&
        [ "$("$top/tools/deps.sh" --list build | wc -w)" -lt "$(echo $demo_set | wc -w)" ]; then
        echo "PASS: unit/demo-installs-only-what-it-needs"
else
        echo "FAIL: unit/demo-installs-only-what-it-needs: demo set:$demo_set; test-only in it:$heavy"
        status=1
fi
exit $status
