#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-2-Clause
# The README's test command: installs what is missing, builds the release build and the
# sanitizer builds, runs every kind of test (tests/CONTRACT.md) and prints, per kind, its
# FAIL and SKIP lines in full and one line "== KIND: N passed, N failed, N skipped (T s)";
# each build says what it builds and how long it took; at the end the failures again and
# one summary line "N passed, N failed, N skipped".  Every line of every runner (the
# PASS lines too) is kept in build/tests.log.  Exit status non-zero if anything failed.
#   tests/run.sh [--quick] [--verbose]
#       --quick    skips the sanitizer builds, the fuzzer and the integration tests
#       --verbose  prints the PASS lines too
set -u
cd "$(dirname "$0")/.."
quick=0
verbose=0
for a in "$@"; do
        case "$a" in
        --quick) quick=1 ;;
        --verbose) verbose=1 ;;
        *) echo "usage: tests/run.sh [--quick] [--verbose]" >&2; exit 2 ;;
        esac
done
tools/deps.sh test || exit 1

log=$(mktemp)
trap 'rm -f "$log"' EXIT
t_start=$SECONDS

build() { # dir [meson options...]
        local dir=$1 t0=$SECONDS
        shift
        echo "== build $dir${*:+ ($*)} ..."
        if [ ! -f "$dir/build.ninja" ]; then
                meson setup "$dir" "$@" >"$dir-setup.log" 2>&1 || {
                        cat "$dir-setup.log"
                        return 1
                }
        fi
        ninja -C "$dir" >"$dir-ninja.log" 2>&1 || {
                tail -50 "$dir-ninja.log"
                return 1
        }
        echo "== build $dir: done ($((SECONDS - t0)) s)"
}

run_kind() { # name command...
        local name=$1 t0=$SECONDS out
        shift
        out=$(mktemp)
        echo "== $name ..."
        if [ $verbose = 1 ]; then
                "$@" 2>&1 | tee "$out" | grep -E '^(PASS|FAIL|SKIP)'
        else
                "$@" 2>&1 | tee "$out" | grep -E '^(FAIL|SKIP)'
        fi
        cat "$out" >>"$log"
        echo "== $name: $(grep -c '^PASS' "$out") passed, $(grep -c '^FAIL' "$out") failed," \
                "$(grep -c '^SKIP' "$out") skipped ($((SECONDS - t0)) s)"
        rm -f "$out"
}

export JEMALLOC=/usr/lib/x86_64-linux-gnu/libjemalloc.so.2
if ! build build; then
        echo "FAIL: build: release build failed" | tee -a "$log"
else
        export LIBALLOC=$PWD/build/liballoc/liballoc.so
        run_kind unit tests/unit/run.sh build
        run_kind conformance tests/conformance/run.sh build
        run_kind stress tests/stress/run.sh build
        # Misuse: double frees, invalid pointers, wrong sizes, forged free-list links,
        # impossible sizes, each in a child process (about 2 s).
        run_kind misuse tests/misuse/run.sh build
        # Memory pressure: the watch's three forms, bad input, a real PSI event, and the
        # OOM scenario in a memory cgroup (about 40 s; cgroup parts SKIP without one).
        run_kind pressure tests/pressure/run.sh build
        [ $quick = 1 ] || run_kind integration tests/integration/run.sh build
        # The control socket of a live process (about 20 s, so --quick runs it too).
        run_kind control tests/control/run.sh build
        # jemctl -H through two real sshd servers on 127.0.0.1 (about 15 s).
        run_kind remote tests/control/remote.sh build
        # jemctld, the fleet daemon, against live processes (about 15 s).
        run_kind daemon tests/daemon/run.sh build
        # Its configuration file and inotify discovery (about 10 s), and jemctl's
        # selectors --comm/--unit/--all with the daemon and without (about 10 s).
        run_kind daemon-config tests/daemon/config.sh build
        run_kind daemon-select tests/daemon/select.sh build
        # Its D-Bus API on a private bus, the HTTP write endpoints, another uid refused,
        # and the systemd units, sd_notify and socket activation (about 10 s).
        run_kind daemon-bus tests/daemon/bus.sh build
        # The units under a booted systemd (systemd-nspawn -b of a Debian 12 root made by
        # debootstrap once): jemctld.service with all its hardening, its exposure level
        # (about 20 s; the first run also debootstraps; SKIP in a chroot).
        run_kind systemd tests/systemd/run.sh build
        # Its profile store and capture policies: captures over HTTP and D-Bus, downloads
        # read by jeprof and converted, limits, a full disk, a dying target, another uid,
        # a restart (about 15 s).
        run_kind daemon-store tests/daemon/store.sh build
        # Heap profiles: a workload's heap_v2 dumps, written by jemalloc and by liballoc,
        # read by jeprof, `jemctl prof convert` and go tool pprof; with liballoc also
        # through the control socket (about 5 s each).
        run_kind prof tests/prof/run.sh build "$JEMALLOC"
        run_kind prof-liballoc tests/prof/run.sh build "$LIBALLOC"
        # liballoc's own profiling: switched on live, exact counts, threads, fork, files,
        # gdump/interval/final dumps and the leak report.
        run_kind prof-core tests/prof/core.sh build
        # Its USDT probes for eBPF profilers: the notes, nops when unattached, and counted
        # by bpftrace where uprobes can be attached (about 5 s).
        run_kind usdt tests/prof/usdt.sh build
        # Its dashboard in headless Chromium, and a real Prometheus server scraping it
        # (about 15 s and 10 s).
        run_kind daemon-web tests/daemon/web.sh build
        run_kind daemon-prom tests/daemon/prom.sh build
        # The profile endpoint for scrapers: go tool pprof, a real Prometheus discovering
        # every process through /api/v1/targets, merges, another uid (about 20 s).
        run_kind daemon-pprof tests/daemon/pprof.sh build
        # The control plane against its attackers, one case each (tests/hostile): other
        # users, fake targets and daemons, links and squatters, a rebinding browser.
        run_kind hostile tests/hostile/run.sh build
fi

if [ $quick = 0 ]; then
        # Unit tests under AddressSanitizer + UndefinedBehaviorSanitizer.
        if build build-asan -Dbuildtype=debug -Db_sanitize=address,undefined \
                -Db_lundef=false; then
                UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
                        run_kind unit-asan tests/unit/run.sh build-asan
        else
                echo "FAIL: build: ASan/UBSan build failed" | tee -a "$log"
        fi
        # A short libFuzzer run over the protocol codec (clang; `tests/fuzz/run.sh 600` for
        # a long one).
        run_kind fuzz tests/fuzz/run.sh 10 build/tests-tmp/fuzz
        # The same for profconv's heap_v2 parser, ELF reader and writers (what jemctld,
        # as root, reads on a process's behalf).
        FUZZ_TARGET=profconv run_kind fuzz-profconv tests/fuzz/run.sh 10 build/tests-tmp/fuzz
        # And jemctld's configuration file, which root's daemon reads at start.
        FUZZ_TARGET=config run_kind fuzz-config tests/fuzz/run.sh 10 build/tests-tmp/fuzz
        # And what an HTTP client sends jemctld: request bodies, the writes' arguments,
        # Host, Origin, Content-Type and every endpoint's query string.
        FUZZ_TARGET=http run_kind fuzz-http tests/fuzz/run.sh 10 build/tests-tmp/fuzz
        # The threaded stress test linked with the allocator, under ThreadSanitizer.
        if build build-tsan -Dbuildtype=debugoptimized -Db_sanitize=thread -Db_lundef=false; then
                run_kind stress-tsan tests/stress/run-tsan.sh build-tsan
        else
                echo "FAIL: build: TSan build failed" | tee -a "$log"
        fi
fi

pass=$(grep -c '^PASS' "$log")
fail=$(grep -c '^FAIL' "$log")
skip=$(grep -c '^SKIP' "$log")
mkdir -p build && cp "$log" build/tests.log
if [ "$fail" -ne 0 ]; then
        echo "Failed tests:"
        grep '^FAIL' "$log"
fi
echo "every line: build/tests.log; $((SECONDS - t_start)) s in all"
echo "$pass passed, $fail failed, $skip skipped"
[ "$fail" -eq 0 ] && [ "$pass" -gt 0 ]
