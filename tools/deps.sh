#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-2-Clause
# Installs the Debian 12 packages liballoc needs, only those missing.  One list for the
# build, the demo, the tests and the benchmarks:  tools/deps.sh [build|demo|test|bench]
# tools/deps.sh --list SET prints the set's packages and installs nothing.
set -eu
list=0
if [ "${1:-}" = --list ]; then
        list=1
        shift
fi
what=${1:-test}
build_pkgs="gcc g++ meson ninja-build pkg-config libc6-dev libjansson-dev libevent-dev
            zlib1g-dev libsystemd-dev systemtap-sdt-dev"
# clang: tests/fuzz (libFuzzer); on Debian 12 its runtime (libclang_rt.fuzzer) is in
# libclang-rt-14-dev, only recommended by clang, so it is named here.  util-linux: setpriv
# for tests/control's other-user clients.  prometheus: promtool, which checks jemctld's
# /metrics in tests/daemon (and the server, tests/daemon/prom.sh).  libevent-dev: jemctld.
# chromium, fonts-dejavu-core: the dashboard loaded headless in tests/daemon/web.sh.
# zlib1g-dev: profconv (gzip of pprof profiles).  golang-go: `go tool pprof` reads the
# converted profiles in tests/prof and jemctld's /debug/pprof/heap in tests/daemon/pprof.sh
# (jeprof comes with libjemalloc-dev); curl is its other HTTP client there, python3-yaml
# reads the Parca example.
# libsystemd-dev: jemctld's sd-bus and sd_notify.  systemtap-sdt-dev: <sys/sdt.h>, the
# USDT probes of liballoc (without it they are left out); bpftrace counts them in
# tests/prof/usdt.sh.  openssh-server, openssh-client: jemctl -H through real sshd servers
# on 127.0.0.1 (tests/control/remote.sh).  dbus-daemon, dbus-bin (dbus-send),
# systemd (busctl, systemd-analyze, systemd-socket-activate): tests/daemon/bus.sh.
# libunwind8: the unwinder liballoc loads (dlopen) when heap profiling starts.  zsh: its
# completion of jemctl is tested in an interactive zsh (tests/control/jemctl_e2e.sh).
# debootstrap, systemd-container: the units under a booted systemd (tests/systemd).
# strace: tests/hostile/case-symbolizer.sh watches which files a conversion opens.
test_pkgs="$build_pkgs python3 git binutils coreutils procps util-linux redis-server
           redis-tools libjemalloc2 libjemalloc-dev groff-base clang libclang-rt-14-dev
           prometheus chromium fonts-dejavu-core golang-go curl python3-yaml
           dbus-daemon dbus-bin systemd libunwind8 zsh debootstrap systemd-container
           bpftrace openssh-server openssh-client strace"
bench_pkgs="$test_pkgs libmimalloc2.0 libtcmalloc-minimal4 time valgrind"
# tools/demo.sh: the build, python3 (its last step) and the unwinder heap profiling loads.
demo_pkgs="$build_pkgs python3 libunwind8"
case "$what" in
build) pkgs=$build_pkgs ;;
demo) pkgs=$demo_pkgs ;;
test) pkgs=$test_pkgs ;;
bench) pkgs=$bench_pkgs ;;
*) echo "usage: $0 [--list] [build|demo|test|bench]" >&2; exit 2 ;;
esac
if [ $list = 1 ]; then
        echo $pkgs
        exit 0
fi
missing=""
for p in $pkgs; do
        dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" ||
                missing="$missing $p"
done
[ -z "$missing" ] && exit 0
if [ "$(id -u)" != 0 ]; then
        echo "tools/deps.sh: missing packages:$missing (run as root to install them)" >&2
        exit 1
fi
n=$(echo $missing | wc -w)
echo "tools/deps.sh: installing $n packages for the $what set (and what they need):$missing" >&2
export DEBIAN_FRONTEND=noninteractive
echo "tools/deps.sh: apt-get update ..." >&2
apt-get update -qq >/dev/null
# redis-server's postinst tries to start the service; in a chroot or container that
# fails harmlessly, so keep going and check what got installed afterwards.  One line of
# progress every 20 packages set up, so a long install is not silent.
apt-get install -y -q --no-install-recommends $missing 2>&1 |
        awk '/^Setting up / { if (++k % 20 == 0) { printf "tools/deps.sh: %d packages set up\n", k > "/dev/stderr"; fflush("/dev/stderr") } }
             END { printf "tools/deps.sh: %d packages set up\n", k > "/dev/stderr" }' || true
for p in $missing; do
        dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || {
                echo "tools/deps.sh: could not install $p" >&2
                exit 1
        }
done
