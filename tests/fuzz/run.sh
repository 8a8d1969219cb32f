#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-2-Clause
# Fuzzes with libFuzzer one of the parsers of outside input: the control protocol's codec
# (FUZZ_TARGET=proto, the default: tests/fuzz/fuzz_proto.c with proto/src/*.c), profconv's
# heap_v2 parser, ELF reader and writers (FUZZ_TARGET=profconv: tests/fuzz/fuzz_profconv.c
# with profconv/src/*.c), or jemctld's configuration file (FUZZ_TARGET=config:
# tests/fuzz/fuzz_config.c with jemctld/src/config.c, seeds in tests/fuzz/corpus-config/),
# or what an HTTP client sends jemctld: request bodies, the writes' arguments, Host, Origin
# and Content-Type, query strings (FUZZ_TARGET=http: tests/fuzz/fuzz_http.c with
# jemctld/src/http_parse.c, seeds in tests/fuzz/corpus-http/).  Builds with clang
# (-fsanitize=fuzzer,address,undefined; no Meson needed), first replays the seed corpus
# (tests/fuzz/corpus/ for proto), then fuzzes for SECONDS (default 20).
#
#     [FUZZ_TARGET=proto|profconv|config|http] tests/fuzz/run.sh [SECONDS] [WORK_DIR]
#
# WORK_DIR (default build/tests-tmp/fuzz) holds the binary, the corpus the run grows (the
# seeds in the source tree are only read) and any crash-* / leak-* / timeout-* input.
# tests/run.sh runs it for 10 s; a nightly-style run is `tests/fuzz/run.sh 600`.
# Environment: CLANG (default clang, else clang-14), FUZZ_JOBS (parallel workers, default 1).
# Output: PASS: fuzz/TARGET (after a "# " line with the counts), FAIL: fuzz/TARGET: reason,
# or SKIP: fuzz/TARGET: reason.
set -u
secs=${1:-20}
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
target=${FUZZ_TARGET:-proto}
case $target in
proto)
        srcs=("$here/fuzz_proto.c" "$root"/proto/src/*.c)
        flags=(-I "$root/proto/include")
        seeds=("$here/corpus")
        opts=(-dict="$here/json.dict" -max_len=4096)
        ;;
config)
        srcs=("$here/fuzz_config.c" "$root/jemctld/src/config.c")
        flags=(-I "$root/jemctld/src")
        seeds=("$here/corpus-config")
        opts=(-max_len=8192)
        ;;
http)
        srcs=("$here/fuzz_http.c" "$root/jemctld/src/http_parse.c" "$root/jemctld/src/req.c"
              "$root"/proto/src/*.c)
        flags=(-I "$root/jemctld/src" -I "$root/proto/include"
                $(pkg-config --cflags jansson libevent 2>/dev/null)
                -ljansson -levent)
        seeds=("$here/corpus-http")
        opts=(-dict="$here/http.dict" -max_len=4096)
        ;;
profconv)
        srcs=("$here/fuzz_profconv.c" "$root"/profconv/src/[a-z]*.c)
        flags=(-I "$root/profconv/include" -I "$root/profconv/src" -lz -lm -ldl)
        seeds=()
        opts=(-max_len=65536)
        ;;
*) echo "usage: FUZZ_TARGET=proto|profconv|config|http $0 [SECONDS] [WORK_DIR]" >&2; exit 2 ;;
esac
work=${2:-$root/build/tests-tmp/fuzz}
[ "$target" = proto ] || work=$work-$target
name=fuzz/$target

case $secs in '' | *[!0-9]*) echo "usage: $0 [SECONDS] [WORK_DIR]" >&2; exit 2 ;; esac

cc=
for c in ${CLANG:-clang clang-14}; do
        command -v "$c" >/dev/null 2>&1 && { cc=$c; break; }
done
if [ -z "$cc" ]; then
        echo "SKIP: $name: clang is not installed (tools/deps.sh test installs clang and libclang-rt-14-dev)"
        exit 0
fi

mkdir -p "$work/corpus" || { echo "FAIL: $name: cannot create $work"; exit 1; }
bin=$work/fuzz_$target
log=$work/build.log
# -fno-sanitize-recover: any undefined behaviour is a crash the fuzzer reports.
if ! "$cc" -g -O1 -fno-omit-frame-pointer -std=gnu11 -D_GNU_SOURCE \
        -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all \
        "${srcs[@]}" "${flags[@]}" -o "$bin" >"$log" 2>&1; then
        if grep -q 'libclang_rt.fuzzer' "$log"; then
                echo "SKIP: $name: $cc has no libFuzzer runtime (install libclang-rt-14-dev)"
                exit 0
        fi
        echo "FAIL: $name: build failed: $(head -c 600 "$log" | tr '\n' ' ')"
        exit 1
fi

export ASAN_OPTIONS=abort_on_error=1:detect_leaks=1:allocator_may_return_null=1
export UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1
runlog=$work/fuzz.log
# Replay the seeds (and whatever an earlier run found) once, then fuzz.  New inputs go to
# the first corpus directory, the work one.
start=$SECONDS
timeout $((secs + 120)) "$bin" "$work/corpus" "${seeds[@]}" \
        "${opts[@]}" -max_total_time="$secs" -timeout=10 \
        -rss_limit_mb=2048 -print_final_stats=1 -artifact_prefix="$work/" \
        ${FUZZ_JOBS:+-jobs=$FUZZ_JOBS -workers=$FUZZ_JOBS} >"$runlog" 2>&1
rc=$?
took=$((SECONDS - start))
runs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$runlog" | tail -1 | grep -o '[0-9]*$')
cov=$(grep -oE 'cov: [0-9]+' "$runlog" | tail -1)
if [ $rc -ne 0 ]; then
        art=$(grep -oE "(crash|leak|timeout|oom)-[0-9a-f]+" "$runlog" | head -1)
        why=$(grep -m1 -E 'ERROR: |invariant broken|runtime error' "$runlog" | head -c 300)
        echo "FAIL: $name: exit status $rc after ${took}s: ${why:-see $runlog}${art:+ (input: $work/$art)}"
        exit 1
fi
echo "# $name: ${runs:-?} inputs in ${took}s, ${cov:-cov ?}, corpus $(find "$work/corpus" -type f | wc -l) files"
echo "PASS: $name"
