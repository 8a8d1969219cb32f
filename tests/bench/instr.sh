#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-2-Clause
# tests/bench/instr.sh: instructions per malloc+free pair, counted by callgrind, for each
# allocator (LD_PRELOAD) and each pattern of pair.c ("pair" and "batch", 16 B .. 64 KiB).
#
# Each cell runs pair.c twice, with N1 and N2 pairs after the same warm-up, and prints
# (Ir(N2) - Ir(N1)) / (N2 - N1): start-up and warm-up cancel, what is left is the steady
# state of malloc + free plus the loop itself (about 10 instructions: the call, return
# and PLT jump of each function, the store to the sink and the loop counter).
#
# usage: tests/bench/instr.sh [-q] [-a alloc,alloc] [-s size,size] [BUILD_DIR]
#   BUILD_DIR defaults to build/ at the repository root
#   -q  quick: fewer iterations (less exact for allocators with periodic work)
#   -a  allocators to run (default: liballoc,glibc,jemalloc,mimalloc,tcmalloc)
#   -s  sizes (default: 16,256,4096,65536)
# Environment: LIBALLOC, JEMALLOC, MIMALLOC, TCMALLOC override library paths;
# PAIR overrides the pair binary (default BUILD_DIR/tests/bench/bench-pair).
set -euo pipefail

n1=16384
n2=$((16384 + 131072))
allocs="liballoc,glibc,jemalloc,mimalloc,tcmalloc"
sizes="16,256,4096,65536"

while getopts "qa:s:h" opt; do
        case "$opt" in
        q) n1=4096; n2=$((4096 + 32768)) ;;
        a) allocs="$OPTARG" ;;
        s) sizes="$OPTARG" ;;
        h) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
        *) exit 2 ;;
        esac
done
shift $((OPTIND - 1))
root="$(cd "$(dirname "$0")/../.." && pwd)"
build="${1:-$root/build}"
pair="${PAIR:-$build/tests/bench/bench-pair}"
libdir=/usr/lib/x86_64-linux-gnu

if ! command -v valgrind >/dev/null 2>&1; then
        echo "instr.sh: valgrind is not installed (apt-get install valgrind)" >&2
        exit 2
fi
if [ ! -x "$pair" ]; then
        echo "instr.sh: $pair not found; build first: meson setup build && ninja -C build" >&2
        exit 2
fi

lib_of() {
        case "$1" in
        liballoc) echo "${LIBALLOC:-$build/liballoc/liballoc.so}" ;;
        glibc) echo "" ;;
        jemalloc) echo "${JEMALLOC:-$libdir/libjemalloc.so.2}" ;;
        mimalloc) echo "${MIMALLOC:-$libdir/libmimalloc.so.2}" ;;
        tcmalloc) echo "${TCMALLOC:-$libdir/libtcmalloc_minimal.so.4}" ;;
        *) return 1 ;;
        esac
}

tmp="$(mktemp -d "${TMPDIR:-/tmp}/instr.XXXXXX")"
trap 'rm -rf "$tmp"' EXIT

# ir LIB MODE SIZE ITERS: print the instruction count of one run, or FAIL.
ir() {
        local out="$tmp/cg.out" err="$tmp/err"
        rm -f "$out"
        if ! LD_PRELOAD="$1" valgrind --tool=callgrind --callgrind-out-file="$out" \
                "$pair" "$2" "$3" "$4" >/dev/null 2>"$err"; then
                echo FAIL
                return
        fi
        if grep -q "cannot be preloaded" "$err"; then
                echo FAIL
                return
        fi
        sed -n 's/^summary: *//p' "$out"
}

IFS=, read -r -a size_list <<<"$sizes"
IFS=, read -r -a alloc_list <<<"$allocs"

for a in "${alloc_list[@]}"; do
        if ! lib_of "$a" >/dev/null; then
                echo "instr.sh: unknown allocator '$a'" >&2
                exit 2
        fi
done

printf "instructions per malloc+free pair (callgrind, (Ir(%d)-Ir(%d))/%d, loop included)\n" \
        "$n2" "$n1" "$((n2 - n1))"
header=$(printf "%-10s" allocator)
for s in "${size_list[@]}"; do
        header+=$(printf " %9s %9s" "${s}:pair" "${s}:batch")
done
echo "$header"

status=0
for a in "${alloc_list[@]}"; do
        lib="$(lib_of "$a")"
        if [ -n "$lib" ] && [ ! -e "$lib" ]; then
                printf "%-10s skipped: %s not found\n" "$a" "$lib"
                continue
        fi
        line=$(printf "%-10s" "$a")
        for s in "${size_list[@]}"; do
                for mode in pair batch; do
                        r1=$(ir "$lib" "$mode" "$s" "$n1")
                        r2=$(ir "$lib" "$mode" "$s" "$n2")
                        if [ "$r1" = FAIL ] || [ "$r2" = FAIL ] ||
                                [ -z "$r1" ] || [ -z "$r2" ]; then
                                line+=$(printf " %9s" FAIL)
                                status=1
                        else
                                line+=$(awk -v a="$r1" -v b="$r2" -v d="$((n2 - n1))" \
                                        'BEGIN { printf " %9.1f", (b - a) / d }')
                        fi
                done
        done
        echo "$line"
done
exit "$status"
