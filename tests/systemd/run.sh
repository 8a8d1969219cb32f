#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-2-Clause
# The systemd units under a real, booted systemd: a Debian 12 root (debootstrap, kept under
# BUILD/tests-tmp/systemd/rootfs for the next run) booted with `systemd-nspawn -b`, this
# build bound into it read-only, jemctld.service, jemctld.socket, the tmpfiles.d entry and
# the D-Bus policy installed as `meson install` would.  Checks:
#   systemd-jemctld-active       the service starts with all of its hardening (Type=notify,
#                                its system bus name owned) and answers /metrics on the
#                                socket; a workload in a unit is listed
#   systemd-governor-threshold   a workload in a unit with MemoryMax=256M is watched by the
#                                governor with a usage threshold (cgroup.event_control
#                                written from inside the hardened service)
#   systemd-governor-avoids-oom  B touching 150 MiB in that unit's cgroup while A holds its
#                                freed 200 MiB: no OOM kill, A's RSS falls
#                                (both SKIP where the container's systemd is given no
#                                memory controller: a cgroup-v1 host delegates only
#                                name=systemd to systemd-nspawn; tests/pressure plays the
#                                same scenario on the host)
#   systemd-exposure             `systemd-analyze security jemctld.service`, printed; at most
#                                the figure docs/security.md states
#   systemd-bus-activation       with jemctld stopped, a ListProcesses call starts it through
#                                bus activation (SystemdService=) and its answer lists the
#                                workload (it waits for the first poll)
#   systemd-preload-hardened-unit  the preload drop-in on Debian's stock
#                                redis-server.service (NoExecPaths=/): without its ExecPaths=
#                                line redis maps no liballoc, with it redis maps it, answers
#                                PING and is listed by jemctld
#   systemd-user-instance        a lingering user's manager runs the user unit: its
#                                RuntimeDirectory $XDG_RUNTIME_DIR/jemctl (0700), the user's
#                                workload listed on 127.0.0.1:9465, jemctld_dbus_up 1 with
#                                the user's bus (0 and still serving without one)
# SKIP (with the reason) where there is no debootstrap, systemd-nspawn, root, a cgroup-v1
# memory controller or a Debian mirror (a chroot, a container).  About 60 s the first
# time (debootstrap), 20 s after.   tests/systemd/run.sh BUILD_DIR
set -u
B=$(cd "${1:?usage: tests/systemd/run.sh BUILD_DIR}" && pwd)
src=$(cd "$(dirname "$0")/../.." && pwd)
work=$B/tests-tmp/systemd
root=$work/rootfs
fails=0
pass() { echo "PASS: $1"; }
fail() {
        echo "FAIL: $1: $2"
        fails=$((fails + 1))
}
skip_all() {
        for t in systemd-jemctld-active systemd-governor-threshold systemd-governor-avoids-oom \
                systemd-exposure systemd-bus-activation systemd-preload-hardened-unit \
                systemd-user-instance; do
                echo "SKIP: $t: $1"
        done
        exit 0
}
mkdir -p "$work"
[ "$(id -u)" = 0 ] || skip_all "needs root"
command -v systemd-nspawn >/dev/null || skip_all "systemd-nspawn not installed (systemd-container)"
command -v debootstrap >/dev/null || skip_all "debootstrap not installed"
[ -w /sys/fs/cgroup/memory ] || skip_all "no writable cgroup-v1 memory controller here"
for f in jemctld/jemctld liballoc/liballoc.so tools/live_workload tests/pressure/pressure-toucher; do
        [ -x "$B/$f" ] || [ -f "$B/$f" ] || skip_all "$B/$f was not built"
done

# ---- the root: Debian 12 with systemd and what jemctld links --------------------------
if [ ! -x "$root/lib/systemd/systemd" ]; then
        mirror=$(sed -n 's/^URIs: *\(http[^ ]*\).*/\1/p' /etc/apt/sources.list.d/debian.sources \
                2>/dev/null | head -1)
        mirror=${mirror:-http://deb.debian.org/debian}
        rm -rf "$root" "$root.tmp"
        if ! timeout 600 debootstrap --variant=minbase \
                --include=systemd,systemd-sysv,dbus,libjansson4,libevent-2.1-7,libsystemd0,redis-server,libpam-systemd \
                bookworm "$root.tmp" "$mirror" >"$work/debootstrap.log" 2>&1; then
                rm -rf "$root.tmp"
                skip_all "debootstrap from $mirror failed ($(tail -1 "$work/debootstrap.log"))"
        fi
        mv "$root.tmp" "$root"
fi
# A root made before these were in the list: add them (redis-server's stock unit is what
# the preload drop-in is checked on; pam_systemd lets a user's manager start).
if [ ! -x "$root/usr/bin/redis-server" ] ||
        [ ! -e "$root/lib/x86_64-linux-gnu/security/pam_systemd.so" ]; then
        cp /etc/resolv.conf "$root/etc/resolv.conf" 2>/dev/null
        timeout 300 chroot "$root" apt-get install -y -qq redis-server libpam-systemd \
                >"$work/packages.log" 2>&1
fi

# ---- the units, as meson install would place them, pointing at this build ---------------
sed "s|@BINDIR@|$B/jemctld|" "$src/systemd/jemctld.service.in" >"$root/etc/systemd/system/jemctld.service"
cp "$src/systemd/jemctld.socket" "$root/etc/systemd/system/"
cp "$src/systemd/jemctld.tmpfiles" "$root/etc/tmpfiles.d/jemctl.conf"
mkdir -p "$root/etc/dbus-1/system.d" "$root/usr/share/dbus-1/system-services"
cp "$src/systemd/io.github.liballoc.JemCtl1.conf" "$root/etc/dbus-1/system.d/"
sed "s|@BINDIR@|$B/jemctld|" "$src/systemd/io.github.liballoc.JemCtl1.service.in" \
        >"$root/usr/share/dbus-1/system-services/io.github.liballoc.JemCtl1.service"

# ---- boot ----------------------------------------------------------------------------------
nsp=""
cleanup() {
        if [ -n "$nsp" ] && kill -0 "$nsp" 2>/dev/null; then
                kill -TERM "$nsp" 2>/dev/null
                for _ in $(seq 100); do kill -0 "$nsp" 2>/dev/null || break; sleep 0.1; done
                kill -KILL "$nsp" 2>/dev/null
        fi
}
trap cleanup EXIT
systemd-nspawn -b -D "$root" --register=no --keep-unit --console=pipe --bind-ro="$B" \
        --machine=liballoc-test >"$work/boot.log" 2>&1 </dev/null &
nsp=$!
leader=""
for _ in $(seq 100); do
        leader=$(pgrep -P "$nsp" -x systemd | head -1)
        [ -n "$leader" ] && break
        sleep 0.1
done
inside() { nsenter -t "$leader" -a "$@"; }
state=""
for _ in $(seq 120); do
        [ -n "$leader" ] && state=$(inside systemctl is-system-running 2>/dev/null)
        case "$state" in running | degraded) break ;; esac
        sleep 0.5
done
case "$state" in
running | degraded) ;;
*) skip_all "the container did not boot ($state): $(tail -3 "$work/boot.log" | tr '\n' ' ')" ;;
esac

# ---- 1. the service with its hardening, and a workload in a unit with a memory limit -----
inside systemctl daemon-reload
inside systemctl start jemctld.service
inside systemd-run --unit=wl -p MemoryMax=256M -E LD_PRELOAD="$B/liballoc/liballoc.so" \
        -E MALLOC_CONF=pressure:off "$B/tools/live_workload" 200 600 >/dev/null 2>&1
active=$(inside systemctl is-active jemctld.service)
metrics=""
for _ in $(seq 40); do # inotify finds the workload's socket, the first poll lists it
        metrics=$(python3 -c 'import urllib.request
print(urllib.request.urlopen("http://127.0.0.1:9464/metrics", timeout=5).read().decode())' 2>&1)
        echo "$metrics" | grep -q '^jemctld_processes 1$' && break
        sleep 0.25
done
if [ "$active" = active ] && echo "$metrics" | grep -q '^jemctld_up 1$' &&
        echo "$metrics" | grep -q '^jemctld_processes 1$' &&
        echo "$metrics" | grep -q '^jemctld_governor_mode 2$' &&
        inside busctl list 2>/dev/null | grep -q '^io.github.liballoc.JemCtl1 .*jemctld.service'; then
        pass systemd-jemctld-active
else
        fail systemd-jemctld-active "state $active; $(inside journalctl -u jemctld -n 5 --no-pager | tr '\n' ' '); metrics: $(echo "$metrics" | grep -E '^jemctld_(up|processes)' | tr '\n' ' ')"
fi

# ---- 2. the governor watches the unit's memory cgroup with a threshold --------------------
wpid=$(inside systemctl show -p MainPID --value wl.service)
if ! inside grep -q '^[0-9]*:memory:/system.slice/wl.service$' "/proc/$wpid/cgroup" 2>/dev/null; then
        why="the container's systemd has no memory controller (the workload is in $(inside grep ':memory:' "/proc/$wpid/cgroup" 2>/dev/null); a cgroup-v1 host delegates only name=systemd to systemd-nspawn)"
        echo "SKIP: systemd-governor-threshold: $why"
        echo "SKIP: systemd-governor-avoids-oom: $why"
        cg=none
fi
gov=""
for _ in $(seq 60); do
        [ "${cg:-}" = none ] && break
        gov=$(python3 -c 'import urllib.request
print(urllib.request.urlopen("http://127.0.0.1:9464/api/v1/governor", timeout=5).read().decode())' 2>/dev/null)
        echo "$gov" | python3 -c 'import json, sys
d = json.load(sys.stdin)
sys.exit(0 if any(c["cgroup"].endswith("/wl.service") and c["event"] and c["processes"] == 1
                  for c in d["cgroups"]) else 1)' 2>/dev/null && break
        sleep 0.5
done
if [ "${cg:-}" = none ]; then
        :
elif cg=$(echo "$gov" | python3 -c 'import json, sys
d = json.load(sys.stdin)
print(next((c["cgroup"] for c in d["cgroups"] if c["cgroup"].endswith("/wl.service")), ""))' 2>/dev/null) &&
        [ -n "$cg" ] && echo "$gov" | grep -q '"event":true'; then
        pass systemd-governor-threshold
else
        fail systemd-governor-threshold "governor: $(echo "$gov" | head -c 400); $(inside journalctl -u jemctld -n 5 --no-pager | grep governor | tr '\n' ' ')"
fi

# ---- 3. the OOM scenario in that unit -----------------------------------------------------
if [ "$cg" = none ]; then
        :
elif [ -z "$cg" ]; then
        fail systemd-governor-avoids-oom "no watched cgroup for wl.service"
else
        for _ in $(seq 100); do # the workload fills its cache, then evicts 90 %
                [ "$(inside awk '/VmRSS/ {print $2}' "/proc/$wpid/status" 2>/dev/null || echo 0)" -gt 150000 ] && break
                sleep 0.1
        done
        sleep 1
        rss0=$(inside awk '/VmRSS/ {print $2}' "/proc/$wpid/status")
        inside sh -c "echo \$\$ > '$cg/cgroup.procs' && exec '$B/tests/pressure/pressure-toucher' 150 20" \
                >"$work/toucher.out" 2>&1
        kills=$(inside awk '/^oom_kill / {print $2}' "$cg/memory.oom_control")
        alive=$(inside systemctl is-active wl.service)
        rss1=$(inside awk '/VmRSS/ {print $2}' "/proc/$wpid/status" 2>/dev/null || echo 0)
        acts=$(python3 -c 'import json, urllib.request
d = json.load(urllib.request.urlopen("http://127.0.0.1:9464/api/v1/governor", timeout=5))
print(" ".join("%s:%s:%d" % (a["reason"], a["result"], a["bytes"] >> 20) for a in d["actions"]))')
        echo "  A at ${rss0} KiB, B touched 150 MiB: $kills OOM kill(s), A $alive at ${rss1} KiB; governor: $acts"
        if [ "$kills" = 0 ] && [ "$alive" = active ] && grep -q done "$work/toucher.out" &&
                [ "$rss1" -lt $((rss0 / 2)) ] && [[ "$acts" == *limit:ok:* ]]; then
                pass systemd-governor-avoids-oom
        else
                fail systemd-governor-avoids-oom "kills $kills, A $alive (${rss0} -> ${rss1} KiB), B: $(tail -1 "$work/toucher.out"), actions: $acts"
        fi
fi

# ---- 4. the exposure systemd computes for the unit ---------------------------------------
exp=$(inside systemd-analyze security jemctld.service 2>/dev/null | sed -n 's/.*Overall exposure level for jemctld.service: \([0-9.]*\).*/\1/p')
limit=$(sed -n 's/.*exposure level of jemctld.service is at most \([0-9.]*\).*/\1/p' "$src/docs/security.md" | head -1)
if [ -n "$exp" ] && [ -n "$limit" ] && python3 -c "import sys; sys.exit(0 if $exp <= $limit else 1)"; then
        pass "systemd-exposure ($exp, at most $limit)"
else
        fail systemd-exposure "exposure '$exp', docs/security.md says at most '$limit'"
fi
# ---- 5. bus activation: the first ListProcesses starts jemctld and lists the workload ----
inside systemctl stop jemctld.service jemctld.socket >/dev/null 2>&1
out=$(inside busctl --timeout=30 --json=short call io.github.liballoc.JemCtl1 \
        /io/github/liballoc/JemCtl1 io.github.liballoc.JemCtl1.Manager ListProcesses 2>&1)
if printf '%s\n' "$out" | python3 -c 'import json, sys
d = json.load(sys.stdin)
sys.exit(0 if any(p[3] == "wl.service" for p in d["data"][0]) else 1)' 2>/dev/null &&
        [ "$(inside systemctl is-active jemctld.service)" = active ]; then
        pass systemd-bus-activation
else
        fail systemd-bus-activation "$(printf '%s\n' "$out" | head -c 300) $(inside journalctl -u jemctld -n 3 --no-pager | tr '\n' ' ')"
fi

# ---- 6. the preload drop-in on Debian's own hardened redis-server.service -------------
# Its NoExecPaths=/ with ExecPaths= for its binary and /usr/lib only: without the
# drop-in's ExecPaths= line ld.so skips the library and redis runs without it.
if ! inside test -x /usr/bin/redis-server; then
        echo "SKIP: systemd-preload-hardened-unit: redis-server could not be installed in the container"
else
        dropin=/etc/systemd/system/redis-server.service.d
        inside mkdir -p "$dropin"
        sed "s|@LIBDIR@|$B/liballoc|" "$src/systemd/liballoc-preload.conf.example" |
                grep -v '^ExecPaths=' | inside sh -c "cat > $dropin/liballoc.conf"
        inside systemctl daemon-reload
        inside systemctl restart redis-server.service
        rpid=$(inside systemctl show -p MainPID --value redis-server.service)
        without=$(inside grep liballoc "/proc/$rpid/maps" 2>/dev/null | grep -c ' r-xp ')
        sed "s|@LIBDIR@|$B/liballoc|" "$src/systemd/liballoc-preload.conf.example" |
                inside sh -c "cat > $dropin/liballoc.conf"
        inside systemctl daemon-reload
        inside systemctl restart redis-server.service
        rpid=$(inside systemctl show -p MainPID --value redis-server.service)
        with=$(inside grep liballoc "/proc/$rpid/maps" 2>/dev/null | grep -c ' r-xp ')
        listed=""
        for _ in $(seq 40); do
                listed=$(python3 -c 'import urllib.request
print(urllib.request.urlopen("http://127.0.0.1:9464/metrics", timeout=5).read().decode())' 2>/dev/null |
                        grep -c "^liballoc_resident_bytes{pid=\"$rpid\",comm=\"redis-server\"")
                [ "$listed" = 1 ] && break
                sleep 0.25
        done
        pong=$(inside redis-cli ping 2>&1)
        if [ "${without:-0}" = 0 ] && [ "${with:-0}" -gt 0 ] && [ "$listed" = 1 ] && [ "$pong" = PONG ]; then
                pass systemd-preload-hardened-unit
        else
                fail systemd-preload-hardened-unit "liballoc maps without ExecPaths: ${without:-?}, with: ${with:-?}; listed $listed; ping $pong; $(inside journalctl -u redis-server -n 3 --no-pager | tr '\n' ' ')"
        fi
        inside rm -rf "$dropin"
        inside systemctl daemon-reload
        inside systemctl stop redis-server.service >/dev/null 2>&1
fi

# ---- 7. the user instance: its runtime directory and its session bus --------------------
# A lingering user's manager runs jemctld.service from the user unit directory; jemctld
# owns its name on the user's bus where the container has one (dbus-user-session), and
# serves without its D-Bus API where it has none.
inside id tester >/dev/null 2>&1 || inside useradd -m tester
tuid=$(inside id -u tester)
inside loginctl enable-linger tester
for _ in $(seq 60); do
        [ "$(inside systemctl is-active "user@$tuid.service")" = active ] && break
        sleep 0.25
done
inside mkdir -p /etc/systemd/user
sed "s|@BINDIR@|$B/jemctld|" "$src/systemd/jemctld-user.service.in" |
        inside sh -c "cat > /etc/systemd/user/jemctld.service"
ucall() { inside runuser -u tester -- env XDG_RUNTIME_DIR="/run/user/$tuid" "$@"; }
ucall systemctl --user daemon-reload
ucall systemctl --user start jemctld.service
ucall systemd-run --user --unit=uwl -E LD_PRELOAD="$B/liballoc/liballoc.so" \
        "$B/tools/live_workload" 16 120 >/dev/null 2>&1
umetrics=""
for _ in $(seq 40); do
        umetrics=$(python3 -c 'import urllib.request
print(urllib.request.urlopen("http://127.0.0.1:9465/metrics", timeout=5).read().decode())' 2>/dev/null)
        printf '%s\n' "$umetrics" | grep -q '^jemctld_processes 1$' && break
        sleep 0.25
done
mode=$(inside stat -c '%a %U' "/run/user/$tuid/jemctl" 2>/dev/null)
want_bus=0
inside test -S "/run/user/$tuid/bus" && want_bus=1
if [ "$mode" = "700 tester" ] && printf '%s\n' "$umetrics" | grep -q '^jemctld_processes 1$' &&
        printf '%s\n' "$umetrics" | grep -q "^jemctld_dbus_up $want_bus\$" &&
        [ "$(ucall systemctl --user is-active jemctld.service)" = active ]; then
        pass systemd-user-instance
else
        fail systemd-user-instance "user@$tuid: $(inside systemctl is-active "user@$tuid.service") ($(inside journalctl -u "user@$tuid.service" -n 6 --no-pager 2>&1 | tr "\n" " ")), logind $(inside systemctl is-active systemd-logind), users: $(inside loginctl list-users --no-legend 2>&1 | tr '\n' ' '); runtime dir '$mode'; $(printf '%s\n' "$umetrics" | grep -E '^jemctld_(processes|dbus_up)' | tr '\n' ' '); $(ucall journalctl --user -u jemctld -n 3 --no-pager 2>&1 | tr '\n' ' ')"
fi
ucall systemctl --user stop uwl.service jemctld.service >/dev/null 2>&1
inside loginctl disable-linger tester
inside systemctl stop wl.service jemctld.service >/dev/null 2>&1
[ $fails -eq 0 ]
