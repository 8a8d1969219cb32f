#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-2-Clause
# tests/bench/scale-bundle.sh: pack the thread-scaling benchmark into one directory that
# can be carried to another x86-64 Linux machine: the built bench-* programs,
# liballoc.so, the peer allocators (jemalloc, mimalloc, tcmalloc) with the shared
# libraries they need that another host might lack (libstdc++, libgcc_s, ...; never
# libc, libm, libpthread, libdl, librt or ld-linux, which must come from the host),
# tests/bench/scale.py and a BUNDLE-INFO.txt (git revision, package versions).
#
# usage: tests/bench/scale-bundle.sh [-b BUILD_DIR] OUTDIR
#   BUILD_DIR defaults to build/ at the repository root (build it first:
#   meson setup build --buildtype=release && ninja -C build).
# Environment: LIBDIR (default /usr/lib/x86_64-linux-gnu) is where the peers are taken
# from; LIBALLOC, JEMALLOC, MIMALLOC, TCMALLOC override single libraries.
# Then, on the other host, from the directory that holds OUTDIR:
#   python3 OUTDIR/scale.py --bindir OUTDIR --libdir OUTDIR --json scale.json
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/../.." && pwd)
build="$repo/build"

while getopts "b:h" opt; do
        case "$opt" in
        b) build="$OPTARG" ;;
        h) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
        *) exit 2 ;;
        esac
done
shift $((OPTIND - 1))
if [ $# -ne 1 ]; then
        echo "usage: $0 [-b BUILD_DIR] OUTDIR" >&2
        exit 2
fi
out="$1"
libdir="${LIBDIR:-/usr/lib/x86_64-linux-gnu}"
liballoc="${LIBALLOC:-$build/liballoc/liballoc.so}"
bindir="$build/tests/bench"
max_kib=$((60 * 1024))

die() { echo "scale-bundle.sh: $*" >&2; exit 1; }

[ -f "$liballoc" ] || die "$liballoc not found; build first (ninja -C $build)"
workloads=$(sed -n 's/^ *Workload("\([a-z-]*\)".*/\1/p' "$here/scale.py")
[ -n "$workloads" ] || die "cannot read the workload list from $here/scale.py"
for w in $workloads; do
        [ -x "$bindir/bench-$w" ] || die "$bindir/bench-$w not built; run ninja -C $build"
done

mkdir -p "$out"
# Start from a clean bundle, but only remove what this script puts there.
rm -f "$out"/bench-* "$out"/*.so "$out"/*.so.* "$out/scale.py" "$out/scale-ab.sh" \
        "$out/BUNDLE-INFO.txt"

# The programs: every bench-* (scale.py uses some; the rest are small and handy).
for f in "$bindir"/bench-*; do
        [ -f "$f" ] && [ -x "$f" ] && cp "$f" "$out/"
done
cp -L "$liballoc" "$out/liballoc.so"
cp "$here/scale.py" "$out/scale.py"
cp "$here/scale-ab.sh" "$out/scale-ab.sh"
chmod +x "$out/scale.py" "$out/scale-ab.sh"

# Copy a library under its own name (the SONAME the dependents look for).
copy_lib() {
        local src="$1" name="$2"
        [ -e "$out/$name" ] && return 0
        cp -L "$src" "$out/$name"
        chmod 644 "$out/$name"
        echo "  $name <- $(readlink -f "$src")"
}

# The dependencies of each library that the host might lack or have in another version.
# The C library and its satellites, and ld-linux, always come from the host.
copy_deps() {
        local lib="$1" name path
        if ldd "$lib" | grep -q "not found"; then
                die "$lib: ldd cannot find some of its libraries:" \
                    "$(ldd "$lib" | grep "not found" | tr -s ' \t\n' ' ')"
        fi
        while read -r name path; do
                case "$name" in
                linux-vdso.so.*|ld-linux*|libc.so.*|libm.so.*|libpthread.so.*|libdl.so.*|\
                librt.so.*|libresolv.so.*|libutil.so.*) continue ;;
                esac
                if [ -z "$path" ] || [ ! -f "$path" ]; then
                        die "$lib needs $name, which ldd cannot find"
                fi
                copy_lib "$path" "$name"
        done < <(ldd "$lib" | sed -n 's/^[[:space:]]*\([^ ]*\) => \(\/[^ ]*\) (.*/\1 \2/p')
}

echo "scale-bundle.sh: bundling into $out"
echo "  liballoc.so <- $(readlink -f "$liballoc")"
copy_deps "$liballoc"
declare -A peer=(
        [libjemalloc.so.2]="${JEMALLOC:-$libdir/libjemalloc.so.2}"
        [libmimalloc.so.2]="${MIMALLOC:-$libdir/libmimalloc.so.2}"
        [libtcmalloc_minimal.so.4]="${TCMALLOC:-$libdir/libtcmalloc_minimal.so.4}"
)
for name in libjemalloc.so.2 libmimalloc.so.2 libtcmalloc_minimal.so.4; do
        src="${peer[$name]}"
        if [ ! -f "$src" ]; then
                echo "scale-bundle.sh: warning: $src not found; that allocator will be" \
                     "skipped on the other host" >&2
                continue
        fi
        copy_lib "$src" "$name"
        copy_deps "$src"
done

# Where the bundle came from, shown in scale.py's report and JSON.
os_name=$(. /etc/os-release 2>/dev/null && echo "$PRETTY_NAME")
glibc=$(ldd --version 2>/dev/null | sed -n 1p)
{
        echo "bundled $(date -u '+%Y-%m-%d %H:%M UTC') on $(uname -n) ($os_name, $glibc)"
        if git -C "$repo" rev-parse --git-dir >/dev/null 2>&1; then
                rev=$(git -C "$repo" rev-parse --short HEAD)
                if [ -n "$(git -C "$repo" status --porcelain -- liballoc 2>/dev/null)" ]; then
                        rev="$rev + uncommitted changes in liballoc/"
                fi
                echo "liballoc: git $rev, sha256 $(sha256sum "$out/liballoc.so" | cut -c1-12)"
        fi
        if command -v dpkg-query >/dev/null 2>&1; then
                pkgs=$(dpkg-query -W -f '${Package} ${Version}, ' libjemalloc2 libmimalloc2.0 \
                       libtcmalloc-minimal4 libstdc++6 libgcc-s1 2>/dev/null || true)
                echo "packages: ${pkgs%, }"
        fi
} > "$out/BUNDLE-INFO.txt"

total_kib=$(du -sk "$out" | cut -f1)
echo "scale-bundle.sh: $(find "$out" -maxdepth 1 -type f | wc -l) files, $((total_kib / 1024)) MiB in $out"
[ "$total_kib" -le "$max_kib" ] || die "bundle is $total_kib KiB, over the 60 MiB limit"
echo "run on the other host (from the directory that holds $out):"
echo "  python3 $out/scale.py --bindir $out --libdir $out --json scale.json"
