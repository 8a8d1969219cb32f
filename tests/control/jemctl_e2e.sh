#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-2-Clause
# End-to-end tests of jemctl against a live process: a workload (grow_free) runs under
# LD_PRELOAD=liballoc with its control socket in a fresh runtime directory, and jemctl
# lists it, reads and changes its settings, makes it hand memory back, and reports errors.
#   tests/control/jemctl_e2e.sh BUILD_DIR
# Prints PASS/FAIL/SKIP lines (tests/CONTRACT.md); exit status 1 if any test failed.
set -u
BUILD=${1:?usage: $0 BUILD_DIR}
BUILD=$(cd "$BUILD" && pwd)
LIB=${LIBALLOC:-$BUILD/liballoc/liballoc.so}
JEMCTL=$BUILD/jemctl/jemctl
failed=0
pass() { echo "PASS: control/jemctl/$1"; }
skip() { echo "SKIP: control/jemctl/$1: $2"; }
fail() {
        echo "FAIL: control/jemctl/$1: $2"
        failed=1
}

if [ ! -x "$JEMCTL" ] || [ ! -f "$LIB" ]; then
        fail build "$JEMCTL or $LIB is missing (build $BUILD first)"
        exit 1
fi

mkdir -p "$BUILD/tests-tmp/control"
TMP=$(mktemp -d "$BUILD/tests-tmp/control/jemctl.XXXXXX") || exit 1
RT=$TMP/run
mkdir -m 0700 "$RT"
WL_PID=""
FAKE_PID=""
# shellcheck disable=SC2317 # (called by the trap)
cleanup() {
        [ -n "$WL_PID" ] && kill -9 "$WL_PID" 2>/dev/null && wait "$WL_PID" 2>/dev/null
        [ -n "$FAKE_PID" ] && kill -9 "$FAKE_PID" 2>/dev/null && wait "$FAKE_PID" 2>/dev/null
        rm -rf "$TMP"
}
trap cleanup EXIT
trap 'exit 1' INT TERM HUP

export JEMCTL_RUNTIME_DIR=$RT
unset MALLOC_CONF

# The workload: built by tests/control/meson.build, else compiled here.
GF=$BUILD/tests/control/grow_free
if [ ! -x "$GF" ]; then
        GF=$TMP/grow_free
        if ! ${CC:-cc} -O2 -std=gnu11 -fno-builtin-malloc -fno-builtin-free -o "$GF" \
                "$(dirname "$0")/grow_free.c" 2>"$TMP/cc.log"; then
                fail workload "cannot build grow_free: $(head -3 "$TMP/cc.log")"
                exit 1
        fi
fi

# Runs jemctl; sets OUT (stdout), ERR (stderr) and RC.
jc() {
        OUT=$(timeout 20 "$JEMCTL" "$@" 2>"$TMP/err")
        RC=$?
        ERR=$(cat "$TMP/err")
}

rss_bytes() { # pid
        local rss
        read -r _ rss _ <"/proc/$1/statm" || return 1
        echo $((rss * $(getconf PAGESIZE)))
}

now_ms() { echo $(($(date +%s%N) / 1000000)); }

# ---- ps with no process: it says where it looked (stderr), stdout and status unchanged ----
jc ps
if [ $RC -eq 0 ] && [ "$(echo "$OUT" | awk 'NR == 1 {print $1}')" = PID ] &&
        [ "$(echo "$OUT" | wc -l)" -eq 1 ] && [[ "$ERR" == *"no process found in the runtime directory $RT"* ]] &&
        [[ "$ERR" == *JEMCTL_RUNTIME_DIR* ]]; then
        pass ps-empty-explains
else
        fail ps-empty-explains "rc=$RC, out '$OUT', err '$ERR'"
fi
JEMCTL_RUNTIME_DIR=$TMP/absent jc ps --json
if [ $RC -eq 0 ] && [ "$OUT" = "[]" ] && [[ "$ERR" == *"$TMP/absent does not exist"* ]] &&
        [[ "$ERR" == *"mkdir -m 700 -p '$TMP/absent'"* ]] && [ ! -e "$TMP/absent" ]; then
        pass ps-missing-dir-explains
else
        fail ps-missing-dir-explains "rc=$RC, out '$OUT', err '$ERR'"
fi

# ---- start the workload -----------------------------------------------------------------
LD_PRELOAD=$LIB "$GF" 300 >"$TMP/wl.out" 2>"$TMP/wl.err" &
WL_PID=$!
for _ in $(seq 100); do
        grep -q READY "$TMP/wl.out" 2>/dev/null && [ -S "$RT/$WL_PID.sock" ] && break
        kill -0 "$WL_PID" 2>/dev/null || break
        sleep 0.1
done
if ! grep -q READY "$TMP/wl.out" || [ ! -S "$RT/$WL_PID.sock" ]; then
        fail workload "grow_free did not get ready with a socket in 10 s: $(head -3 "$TMP/wl.err")"
        exit 1
fi
FREED=$(awk '/READY/ {print $2}' "$TMP/wl.out")
P=$WL_PID

# ---- ps -----------------------------------------------------------------------------------
jc ps
if [ $RC -eq 0 ] && echo "$OUT" | awk -v p="$P" '$1 == p && $2 == "grow_free" {f=1} END {exit !f}'; then
        pass ps
else
        fail ps "rc=$RC, pid $P not listed: $OUT $ERR"
fi

jc ps --json
if [ $RC -eq 0 ] && echo "$OUT" | python3 -c "
import json, sys
rows = json.load(sys.stdin)
assert any(r['pid'] == $P and r['comm'] == 'grow_free' and r['rss'] > 0 for r in rows)
" 2>/dev/null; then
        pass ps-json
else
        fail ps-json "rc=$RC: $OUT $ERR"
fi

# ---- get: the default decay ---------------------------------------------------------------
jc get "$P" arenas.dirty_decay_ms
if [ $RC -eq 0 ] && [ "$OUT" = "arenas.dirty_decay_ms = 10000" ]; then
        pass get-default
else
        fail get-default "rc=$RC, got '$OUT' $ERR"
fi

# ---- decay 0: the freed memory goes back to the system within 1 s --------------------------
BEFORE=$(rss_bytes "$P")
T0=$(now_ms)
jc decay "$P" 0
AFTER=$BEFORE
while :; do
        AFTER=$(rss_bytes "$P")
        [ $((BEFORE - AFTER)) -ge $((FREED * 6 / 10)) ] && break
        [ $(($(now_ms) - T0)) -ge 1000 ] && break
        sleep 0.05
done
ELAPSED=$(($(now_ms) - T0))
DROP=$((BEFORE - AFTER))
if [ $RC -eq 0 ] && [ $DROP -ge $((FREED * 6 / 10)) ] && [ $ELAPSED -le 1000 ]; then
        pass decay-rss
else
        fail decay-rss "rc=$RC: RSS $BEFORE -> $AFTER (fell $DROP of $FREED freed bytes) after ${ELAPSED} ms: $OUT $ERR"
fi
if echo "$OUT" | grep -q "rss before" && echo "$OUT" | grep -q "rss after"; then
        pass decay-report
else
        fail decay-report "no RSS before/after in: $OUT"
fi

jc get "$P" arenas.dirty_decay_ms arena.0.dirty_decay_ms
if [ $RC -eq 0 ] && [ "$OUT" = "arenas.dirty_decay_ms = 0
arena.0.dirty_decay_ms = 0" ]; then
        pass get-after-decay
else
        fail get-after-decay "rc=$RC, got '$OUT' $ERR"
fi

# ---- set ------------------------------------------------------------------------------------
jc set "$P" arenas.muzzy_decay_ms=5
if [ $RC -eq 0 ] && [ "$OUT" = "arenas.muzzy_decay_ms: 0 -> 5" ] &&
        [[ "$ERR" == *"note: arenas.muzzy_decay_ms is the default of arenas created from now on"*"jemctl decay $P DIRTY_MS MUZZY_MS"* ]]; then
        jc get "$P" arenas.muzzy_decay_ms
        if [ $RC -eq 0 ] && [ "$OUT" = "arenas.muzzy_decay_ms = 5" ]; then
                pass set
        else
                fail set "read back rc=$RC '$OUT' $ERR"
        fi
else
        fail set "rc=$RC, got '$OUT' $ERR"
fi

# (thread.* names are refused over the socket: they would act on the control thread.)
jc set "$P" arena.4096.purge= prof.thread_active_init=false
if [ $RC -eq 0 ] && echo "$OUT" | grep -q "^arena.4096.purge: done$" &&
        echo "$OUT" | grep -q "^prof.thread_active_init: true -> false$"; then
        pass set-action-and-bool
else
        fail set-action-and-bool "rc=$RC, got '$OUT' $ERR"
fi

# ---- stats ----------------------------------------------------------------------------------
jc stats "$P" --json
if [ $RC -eq 0 ] && echo "$OUT" | python3 -m json.tool >/dev/null 2>&1 &&
        echo "$OUT" | python3 -c "
import json, sys
d = json.load(sys.stdin)
assert d['pid'] == $P and d['allocated'] > 0 and d['rss'] > 0 and len(d['arenas']) > 0
f = d['fragmentation']  # the names and definitions of jemctld's JSON and dashboard
assert sorted(f) == ['frag_ratio', 'resident_ratio', 'rss_ratio', 'unused_bytes'], f
assert abs(f['frag_ratio'] - d['active'] / d['allocated']) < 1e-9
assert abs(f['resident_ratio'] - d['resident'] / d['active']) < 1e-9
assert f['unused_bytes'] == d['resident'] - d['allocated']
" 2>/dev/null; then
        pass stats-json
else
        fail stats-json "rc=$RC: $(echo "$OUT" | head -5) $ERR"
fi

jc stats "$P"
if [ $RC -eq 0 ] && echo "$OUT" | grep -q "allocated" && echo "$OUT" | grep -q "fragmentation" &&
        echo "$OUT" | grep -q "ARENA"; then
        pass stats
else
        fail stats "rc=$RC: $OUT $ERR"
fi

jc stats "$P" --full --json
if [ $RC -eq 0 ] && echo "$OUT" | python3 -c "
import json, sys
d = json.load(sys.stdin)
assert 'stats' in d['jemalloc']
" 2>/dev/null; then
        pass stats-full
else
        fail stats-full "rc=$RC: $(echo "$OUT" | head -3) $ERR"
fi

# ---- ls, info, watch, purge, prof -------------------------------------------------------------
jc ls "$P" stats.arenas
if [ $RC -eq 0 ] && echo "$OUT" | grep -q "^stats.arenas.<i>.pdirty  *size_t  *r-$" &&
        ! echo "$OUT" | sed 1d | grep -qv "^stats.arenas"; then
        pass ls
else
        fail ls "rc=$RC: $(echo "$OUT" | head -5) $ERR"
fi

# A prefix that ends inside a component: the names that start with the text.
jc ls "$P" arenas.dirty
l1="$RC $OUT"
jc ls "$P" arenas.dirtx
if [ "$l1" = "0 NAME                   TYPE     RW
arenas.dirty_decay_ms  ssize_t  rw" ] && [ $RC -eq 1 ] &&
        [[ "$ERR" == *"no names under 'arenas.dirtx'"* ]]; then
        pass ls-text-prefix
else
        fail ls-text-prefix "'$l1'; rc=$RC $ERR"
fi

jc info "$P"
if [ $RC -eq 0 ] && echo "$OUT" | grep -q "^pid: *$P$" && echo "$OUT" | grep -q "grow_free"; then
        pass info
else
        fail info "rc=$RC: $OUT $ERR"
fi

jc watch "$P" --interval 0.2 --count 2
if [ $RC -eq 0 ] && [ "$(echo "$OUT" | grep -c "^jemctl watch")" -eq 2 ] &&
        ! echo "$OUT" | grep -q $'\033'; then
        pass watch
else
        fail watch "rc=$RC: $(echo "$OUT" | head -3) $ERR"
fi

jc purge "$P" --arena 0
if [ $RC -eq 0 ] && echo "$OUT" | grep -q "purged arena 0"; then
        pass purge
else
        fail purge "rc=$RC: $OUT $ERR"
fi

jc prof "$P" dump
if [ $RC -eq 0 ] && echo "$OUT" | head -1 | grep -q "^heap_v2/" &&
        echo "$OUT" | grep -q "^MAPPED_LIBRARIES:"; then
        pass prof-dump-stdout
else
        fail prof-dump-stdout "rc=$RC: $(echo "$OUT" | head -3) $ERR"
fi
jc prof "$P" frob
if [ $RC -eq 2 ]; then pass prof-bad-action; else fail prof-bad-action "rc=$RC: $ERR"; fi

# ---- errors ---------------------------------------------------------------------------------
jc get 999999 x
if [ $RC -eq 3 ] && echo "$ERR" | grep -q "pid 999999: no such process"; then
        pass no-such-pid
else
        fail no-such-pid "rc=$RC: $ERR"
fi

jc get $$ x # a live process without a control socket
if [ $RC -eq 3 ] && echo "$ERR" | grep -q "no control socket in $RT"; then
        pass no-socket
else
        fail no-socket "rc=$RC: $ERR"
fi

jc get "$P" no.such.name
if [ $RC -eq 1 ] && echo "$ERR" | grep -q "no.such.name: ENOENT"; then
        pass enoent
else
        fail enoent "rc=$RC: $OUT $ERR"
fi

# A typo gets the closest name the process knows, its index kept; a name nothing is
# close to gets no guess.
jc get "$P" arena.0.muzy_decay_ms
g1=$ERR
jc get "$P" no.such.name
if [ $RC -eq 1 ] && [[ "$g1" == *"arena.0.muzy_decay_ms: ENOENT"*"(did you mean 'arena.0.muzzy_decay_ms'?)"* ]] &&
        [[ "$ERR" != *"did you mean"* ]]; then
        pass did-you-mean-name
else
        fail did-you-mean-name "rc=$RC: $g1 / $ERR"
fi
jc statz "$P"
if [ $RC -eq 2 ] && [[ "$ERR" == *"unknown verb 'statz' (did you mean 'stats'?)"* ]]; then
        pass did-you-mean-verb
else
        fail did-you-mean-verb "rc=$RC: $ERR"
fi
# A value the name refuses (jemalloc's EFAULT) is said as such, not "the action failed".
jc set "$P" arena.0.dirty_decay_ms=-5
if [ $RC -eq 1 ] && [[ "$ERR" == *"arena.0.dirty_decay_ms: EFAULT: the process refused this value (out of range for the name): -5"* ]]; then
        pass refused-value
else
        fail refused-value "rc=$RC: $ERR"
fi

jc set "$P" stats.allocated=1
if [ $RC -eq 1 ] && echo "$ERR" | grep -q "stats.allocated: EPERM"; then
        pass eperm
else
        fail eperm "rc=$RC: $OUT $ERR"
fi

jc set "$P" arenas.dirty_decay_ms=abc
if [ $RC -eq 2 ] && echo "$ERR" | grep -q "ssize_t"; then
        jc get "$P" arenas.dirty_decay_ms
        if [ "$OUT" = "arenas.dirty_decay_ms = 0" ]; then
                pass bad-value
        else
                fail bad-value "the value changed: $OUT"
        fi
else
        fail bad-value "rc=$RC: $OUT $ERR"
fi

# Shell completion (jemctl/completion/jemctl.bash): verbs, the live pid from the runtime
# directory, prof's actions, and mallctl names asked from the process (writable ones as
# NAME= for set).
comp() { # words... (the last one is being completed)
        (
                PATH=$(dirname "$JEMCTL"):$PATH
                # shellcheck disable=SC1091
                . "$(dirname "$0")/../../jemctl/completion/jemctl.bash"
                COMP_WORDS=(jemctl "$@")
                COMP_CWORD=$#
                _jemctl_bash
                printf '%s\n' "${COMPREPLY[@]}" | sort | tr '\n' ' '
        )
}
c1=$(comp p)
c2=$(comp stats "")
c3=$(comp prof "$P" "")
c4=$(comp get "$P" arenas.dirty_d)
c5=$(comp set "$P" arena.0.dirty_d)
c6=$(comp set "$P" stats.alloc)
if [ "$c1" = "prof ps purge " ] && [[ " $c2 " == *" $P "* ]] &&
        [ "$c3" = "dump off on reset status " ] && [ "$c4" = "arenas.dirty_decay_ms " ] &&
        [ "$c5" = "arena.0.dirty_decay_ms= " ] && [ "$c6" = " " ]; then
        pass bash-completion
else
        fail bash-completion "pr: '$c1'; stats: '$c2'; prof: '$c3'; get: '$c4'; set: '$c5'; set stats: '$c6'"
fi

# zsh, with the completion files where `meson install` puts them: a verb and the live
# pid completed in an interactive zsh (zsh/zpty).
if ! command -v zsh >/dev/null; then
        skip zsh-completion "zsh not installed (tools/deps.sh test)"
elif ! DESTDIR=$TMP/inst meson install -C "$BUILD" --no-rebuild >"$TMP/install.log" 2>&1; then
        fail zsh-completion "meson install failed: $(tail -2 "$TMP/install.log" | tr '\n' ' ')"
else
        vc=$(find "$TMP/inst" -path '*/zsh/vendor-completions' -type d | head -1)
        bc=$(find "$TMP/inst" -path '*/bash-completion/completions/jemctl' | head -1)
        z1=$(timeout 30 zsh -f "$(dirname "$0")/zsh_complete.zsh" "$vc" "$(dirname "$JEMCTL")" "jemctl pu")
        z2=$(timeout 30 zsh -f "$(dirname "$0")/zsh_complete.zsh" "$vc" "$(dirname "$JEMCTL")" "jemctl stats ")
        if [ -n "$bc" ] && [ "$z1" = "jemctl purge" ] && [ "$z2" = "jemctl stats $P" ]; then
                pass zsh-completion
        else
                fail zsh-completion "installed: '$vc' '$bc'; 'jemctl pu' -> '$z1'; 'jemctl stats ' -> '$z2'"
        fi
fi

# Per-verb help: the verb's synopses and what it does, not the global page.
jc prof --help
h1="$RC $OUT"
jc help decay
if [[ "$h1" == "0 Usage:"*"jemctl prof convert FILE.heap"*"--lg-sample N: one sample per"* ]] &&
        [[ "$h1" != *"Verbs:"* ]] && [ $RC -eq 0 ] &&
        [[ "$OUT" == *"jemctl decay PID DIRTY_MS [MUZZY_MS]"*"every arena"* ]]; then
        pass verb-help
else
        fail verb-help "prof --help: $h1; help decay: $RC $OUT"
fi

jc frobnicate
if [ $RC -eq 2 ]; then
        pass usage-error
else
        fail usage-error "rc=$RC: $ERR"
fi

# ---- stale sockets: skipped by ps, removed by ps --clean ------------------------------------
sleep 0 &
DEAD=$!
wait $DEAD
python3 -c 'import socket, sys; socket.socket(socket.AF_UNIX).bind(sys.argv[1])' "$RT/$DEAD.sock"
jc ps
if [ $RC -eq 0 ] && ! echo "$OUT" | awk -v p="$DEAD" '$1 == p {f=1} END {exit !f}' &&
        [ -S "$RT/$DEAD.sock" ]; then
        jc ps --clean
        if [ $RC -eq 0 ] && [ ! -e "$RT/$DEAD.sock" ] && [ -S "$RT/$P.sock" ]; then
                pass ps-clean
        else
                fail ps-clean "rc=$RC, stale socket still there or live one removed: $ERR"
        fi
else
        fail ps-clean "rc=$RC, ps listed the stale socket: $OUT $ERR"
fi

# ---- a malformed answer is an error, not a crash ---------------------------------------------
# A fake server named by its own pid (jemctl checks who listens on a socket).
python3 - "$RT" <<'EOF' &
import os, socket, struct, sys
s = socket.socket(socket.AF_UNIX)
s.bind("%s/%d.sock" % (sys.argv[1], os.getpid()))
s.listen(4)
s.settimeout(15)
for answer in (b"not json", b'{"v":1,"id":1,"ok":true,"result":{"values":[]}}'):
    c, _ = s.accept()
    c.recv(65536)
    c.sendall(struct.pack(">I", len(answer)) + answer)
    c.close()
EOF
FAKE_PID=$!
for _ in $(seq 50); do
        [ -S "$RT/$FAKE_PID.sock" ] && break
        sleep 0.1
done
jc get "$FAKE_PID" opt.narenas --timeout 2
RC1=$RC
ERR1=$ERR
jc get "$FAKE_PID" opt.narenas --timeout 2
if [ $RC1 -eq 1 ] && [ $RC -eq 1 ] && echo "$ERR1" | grep -q "malformed" &&
        echo "$ERR" | grep -q "malformed"; then
        pass malformed-answer
else
        fail malformed-answer "rc=$RC1/$RC: $ERR1 / $ERR"
fi

exit $failed
