#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-2-Clause
# Conformance runner: tests/conformance/run.sh BUILD_DIR
#
# Runs every conformance program twice -- once against liballoc ($LIBALLOC, default
# BUILD_DIR/liballoc/liballoc.so) and once with Debian's jemalloc preloaded ($JEMALLOC,
# default /usr/lib/x86_64-linux-gnu/libjemalloc.so.2), which then serves every call -- and
# prints the programs' PASS/FAIL/SKIP lines with the test names prefixed by liballoc/ or
# jemalloc/ and the program name.  Programs learn which library they face from CONF_IMPL
# (and check it through CONF_LIB), for the few checks where liballoc deliberately differs
# from jemalloc 5.3.0.  conf_env and conf_global are also run under assorted MALLOC_CONF
# strings; for those the runner checks stderr for jemalloc's one-line warnings.
# mallctl_names gets the name list through MALLCTL_NAMES (default: the repository's
# liballoc/mallctl-names.tsv) and runs twice, the second time (tag mallctl_names/prof) under
# MALLOC_CONF=prof:true,prof_stats:true.
# The liballoc run preloads $LIBALLOC as well (by default the very file the programs are
# linked against), so LIBALLOC can point the suite at another build.
# Scratch files: BUILD_DIR/tests-tmp/conformance/.  Exits non-zero if anything failed.
set -u

if [ $# -lt 1 ]; then
        echo "usage: $0 BUILD_DIR" >&2
        exit 2
fi
abspath() {
        case $1 in
        /*) echo "$1" ;;
        *) echo "$PWD/$1" ;;
        esac
}
BUILD_DIR=$(abspath "$1")
BIN=$BUILD_DIR/tests/conformance
LIBALLOC=$(abspath "${LIBALLOC:-$BUILD_DIR/liballoc/liballoc.so}")
JEMALLOC=$(abspath "${JEMALLOC:-/usr/lib/x86_64-linux-gnu/libjemalloc.so.2}")
TMP=$BUILD_DIR/tests-tmp/conformance
TIMEOUT=${CONFORMANCE_TIMEOUT:-120}
SRC_DIR=$(cd "$(dirname "$0")/../.." && pwd)
NAMES_TSV=$(abspath "${MALLCTL_NAMES:-$SRC_DIR/liballoc/mallctl-names.tsv}")

PROGRAMS="std_alloc size_classes allocx mallctl mallctl_names mallctl_effects stats_exact stats_print stats_json conf_global conf_env cxx_ops"

mkdir -p "$TMP" || exit 2
failures=0
passes=0
skips=0

say() {
        # say STATUS NAME [REASON]
        case $1 in
        PASS) passes=$((passes + 1)); echo "PASS: $2" ;;
        FAIL) failures=$((failures + 1)); echo "FAIL: $2: $3" ;;
        SKIP) skips=$((skips + 1)); echo "SKIP: $2: $3" ;;
        esac
}

lib_for() {
        case $1 in
        liballoc) echo "$LIBALLOC" ;;
        jemalloc) echo "$JEMALLOC" ;;
        esac
}

# run_prog IMPL PROG TAG [VAR=VALUE...]: runs one program, relays its check lines with the
# prefix IMPL/TAG/, and leaves its stderr in $TMP/IMPL.TAG.err (TAG may contain '/').
# MALLOC_CONF is removed from the environment unless given among the VAR=VALUE arguments.
run_prog() {
        local impl=$1 prog=$2 tag=$3
        shift 3
        local lib exe out err rc nfail
        lib=$(lib_for "$impl")
        exe=$BIN/$prog
        out=$TMP/$impl.${tag//\//.}.out
        err=$TMP/$impl.${tag//\//.}.err
        : >"$out"
        : >"$err"
        if [ ! -x "$exe" ]; then
                say FAIL "$impl/$tag" "program $exe not built"
                return 1
        fi
        if [ ! -e "$lib" ]; then
                if [ "$impl" = jemalloc ]; then
                        say SKIP "$impl/$tag" \
                                "Debian jemalloc not found at $lib (apt-get install libjemalloc2)"
                else
                        say FAIL "$impl/$tag" "liballoc not found at $lib"
                fi
                return 1
        fi
        # Only the test program gets the preload and the configuration, not timeout(1).
        (
                cd "$TMP" || exit 2
                exec timeout -k 5 "$TIMEOUT" env -u MALLOC_CONF CONF_IMPL="$impl" \
                        CONF_LIB="$lib" CONF_TMPDIR="$TMP" "$@" LD_PRELOAD="$lib" "$exe"
        ) >"$out" 2>"$err"
        rc=$?
        nfail=0
        while IFS= read -r line; do
                case $line in
                PASS:\ *) say PASS "$impl/$tag/${line#PASS: }" ;;
                FAIL:\ *)
                        nfail=$((nfail + 1))
                        failures=$((failures + 1))
                        echo "FAIL: $impl/$tag/${line#FAIL: }"
                        ;;
                SKIP:\ *)
                        skips=$((skips + 1))
                        echo "SKIP: $impl/$tag/${line#SKIP: }"
                        ;;
                esac
        done <"$out"
        local last
        last=$(tail -n 3 "$err" | tr '\n' ' ')
        if [ $rc -eq 124 ] || [ $rc -eq 137 ]; then
                say FAIL "$impl/$tag/exit" "timed out after ${TIMEOUT}s"
        elif [ $rc -gt 128 ]; then
                say FAIL "$impl/$tag/exit" "killed by signal $((rc - 128)); stderr: $last"
        elif [ $rc -ne 0 ] && [ $nfail -eq 0 ]; then
                say FAIL "$impl/$tag/exit" "exit status $rc without a FAIL line; stderr: $last"
        elif [ $rc -eq 0 ] && [ $nfail -ne 0 ]; then
                say FAIL "$impl/$tag/exit" "exit status 0 despite $nfail failed checks"
        elif ! grep -q '^PASS: ' "$out"; then
                say FAIL "$impl/$tag/exit" "no checks reported"
        fi
        return 0
}

# check_quiet NAME ERRFILE: no "<jemalloc>:" diagnostic at all on stderr.
check_quiet() {
        local first
        first=$(grep -m1 '^<jemalloc>: ' "$2")
        if [ -n "$first" ]; then
                say FAIL "$1" "unexpected warning: $first"
        else
                say PASS "$1"
        fi
}

# conf_case IMPL PROG CASE 'MALLOC_CONF' 'NARENAS DIRTY MUZZY TCACHE' [LABEL|MESSAGE...]
# Runs PROG under MALLOC_CONF and has it check the opt.* values given ("-": not checked;
# NARENAS may be "default"); each LABEL|MESSAGE requires MESSAGE as a whole stderr line, and
# the label "quiet" (no message) requires no "<jemalloc>:" line at all.
conf_case() {
        local impl=$1 prog=$2 case_name=$3 conf=$4
        local -a want
        read -r -a want <<<"$5"
        shift 5
        local tag=$prog/$case_name
        local -a vars=("MALLOC_CONF=$conf")
        local -a keys=(EXPECT_NARENAS EXPECT_DIRTY_DECAY_MS EXPECT_MUZZY_DECAY_MS EXPECT_TCACHE)
        local i
        for i in 0 1 2 3; do
                if [ -n "${want[$i]:-}" ] && [ "${want[$i]}" != - ]; then
                        vars+=("${keys[$i]}=${want[$i]}")
                fi
        done
        run_prog "$impl" "$prog" "$tag" "${vars[@]}" || return 0
        local err=$TMP/$impl.${tag//\//.}.err spec label msg
        for spec in "$@"; do
                label=${spec%%|*}
                msg=${spec#*|}
                if [ "$label" = quiet ]; then
                        check_quiet "$impl/$tag/stderr_quiet" "$err"
                elif grep -qxF -- "$msg" "$err"; then
                        say PASS "$impl/$tag/stderr_$label"
                else
                        say FAIL "$impl/$tag/stderr_$label" "stderr lacks the line '$msg'"
                fi
        done
}

DEFAULTS="default 10000 0 true"

conf_cases() {
        local impl=$1
        conf_case "$impl" conf_env garbage 'foo:bar,narenas:abc,dirty_decay_ms:' "$DEFAULTS" \
                'invalid_pair|<jemalloc>: Invalid conf pair: foo:bar' \
                'invalid_value_narenas|<jemalloc>: Invalid conf value: narenas:abc' \
                'invalid_value_empty|<jemalloc>: Invalid conf value: dirty_decay_ms:'
        conf_case "$impl" conf_env malformed_key 'nar-enas:3' "$DEFAULTS" \
                'malformed|<jemalloc>: Malformed conf string'
        conf_case "$impl" conf_env malformed_stops_source 'narenas:3,nar-enas:2,narenas:4' \
                "3 10000 - -" \
                'malformed|<jemalloc>: Malformed conf string'
        conf_case "$impl" conf_env trailing_comma 'narenas:2,' \
                "2 10000 - -" \
                'ends_with_comma|<jemalloc>: Conf string ends with comma'
        conf_case "$impl" conf_env ends_with_key 'muzzy_decay_ms' "$DEFAULTS" \
                'ends_with_key|<jemalloc>: Conf string ends with key'
        conf_case "$impl" conf_env out_of_range 'narenas:0,dirty_decay_ms:-2' "$DEFAULTS" \
                'out_of_range_narenas|<jemalloc>: Out-of-range conf value: narenas:0' \
                'out_of_range_dirty|<jemalloc>: Out-of-range conf value: dirty_decay_ms:-2'
        conf_case "$impl" conf_env mixed 'tcache:maybe,narenas:2,muzzy_decay_ms:1000,foo:bar' \
                "2 10000 1000 true" \
                'invalid_value_tcache|<jemalloc>: Invalid conf value: tcache:maybe' \
                'invalid_pair|<jemalloc>: Invalid conf pair: foo:bar'
        conf_case "$impl" conf_env valid 'narenas:2,dirty_decay_ms:5000' \
                "2 5000 0 true" \
                'quiet|'
        conf_case "$impl" conf_env valid_number_forms \
                'dirty_decay_ms:-1,muzzy_decay_ms:0x10,tcache:false,narenas:012' \
                "10 -1 16 false" \
                'quiet|'
        conf_case "$impl" conf_env later_key_wins 'dirty_decay_ms:5000,dirty_decay_ms:6000' \
                "- 6000 - -" 'quiet|'
        conf_case "$impl" conf_env empty '' "$DEFAULTS" 'quiet|'
        conf_case "$impl" conf_env confirm_conf 'narenas:3,confirm_conf:true,foo:1' \
                "3 10000 - -" \
                'source_env|<jemalloc>: malloc_conf #4 (value of the environment variable MALLOC_CONF): "narenas:3,confirm_conf:true,foo:1"' \
                'source_global|<jemalloc>: malloc_conf #2 (string pointed to by the global variable malloc_conf): ""' \
                'set_before|<jemalloc>: -- Set conf value: narenas:3' \
                'set_itself|<jemalloc>: -- Set conf value: confirm_conf:true' \
                'invalid_pair|<jemalloc>: Invalid conf pair: foo:1'
        # Options beyond the four above, read back through opt.* (both libraries agree).
        run_prog "$impl" conf_opts conf_opts/defaults "MALLOC_CONF=" \
                "EXPECT_OPTS=opt.hpa_dirty_mult:u32=16384;opt.hpa_hugification_threshold:size=1992294;opt.hpa_hugify_delay_ms:u64=10000;opt.max_background_threads:size=4;opt.zero_realloc:str=free;opt.junk:str=false;opt.stats_interval:i64=-1;opt.tcache_max:size=32768" \
                "EXPECT_FILL=none"
        run_prog "$impl" conf_opts conf_opts/hpa_and_more \
                "MALLOC_CONF=hpa_dirty_mult:0.5,hpa_hugify_delay_ms:5,hpa_hugification_threshold_ratio:0.5,hpa_sec_batch_fill_extra:9999,hpa_min_purge_interval_ms:7,oversize_threshold:1048576,zero_realloc:alloc,lg_tcache_max:12,max_background_threads:2,stats_interval:4096,stats_interval_opts:Jg,abort:false,retain:false,percpu_arena:disabled,thp:never,metadata_thp:auto,dss:primary" \
                "EXPECT_OPTS=opt.hpa_dirty_mult:u32=32768;opt.hpa_hugify_delay_ms:u64=5;opt.hpa_hugification_threshold:size=1048576;opt.hpa_sec_batch_fill_extra:size=512;opt.hpa_min_purge_interval_ms:u64=7;opt.oversize_threshold:size=1048576;opt.zero_realloc:str=alloc;opt.tcache_max:size=4096;opt.max_background_threads:size=2;opt.stats_interval:i64=4096;opt.stats_interval_opts:str=Jg;opt.retain:bool=false;opt.thp:str=never;opt.metadata_thp:str=auto;opt.dss:str=primary"
        run_prog "$impl" conf_opts conf_opts/dirty_mult_off "MALLOC_CONF=hpa_dirty_mult:-1" \
                "EXPECT_OPTS=opt.hpa_dirty_mult:u32=4294967295"
        run_prog "$impl" conf_opts conf_opts/junk "MALLOC_CONF=junk:true" \
                "EXPECT_OPTS=opt.junk:str=true" "EXPECT_FILL=junk"
        run_prog "$impl" conf_opts conf_opts/zero "MALLOC_CONF=zero:true" \
                "EXPECT_OPTS=opt.zero:bool=true" "EXPECT_FILL=zero"
        # The environment is applied after the program's malloc_conf, key by key.
        conf_case "$impl" conf_global env_overrides_global 'narenas:5' \
                "5 7000 - -" 'quiet|'
        conf_case "$impl" conf_global env_garbage_keeps_global 'foo:bar' \
                "3 7000 - -" \
                'invalid_pair|<jemalloc>: Invalid conf pair: foo:bar'
}

for impl in liballoc jemalloc; do
        for prog in $PROGRAMS; do
                if [ "$prog" = mallctl_names ]; then
                        run_prog "$impl" "$prog" "$prog" "MALLCTL_NAMES=$NAMES_TSV"
                        run_prog "$impl" "$prog" "$prog/prof" "MALLCTL_NAMES=$NAMES_TSV" \
                                "MALLOC_CONF=prof:true,prof_stats:true"
                        continue
                fi
                run_prog "$impl" "$prog" "$prog"
                if [ "$prog" = conf_global ] && [ -s "$TMP/$impl.$prog.out" ]; then
                        check_quiet "$impl/$prog/stderr_quiet" "$TMP/$impl.$prog.err"
                fi
        done
        conf_cases "$impl"
done

echo "conformance: $passes passed, $failures failed, $skips skipped" >&2
[ $failures -eq 0 ]
