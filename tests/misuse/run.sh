#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-2-Clause
#
# Misuse runner (see tests/CONTRACT.md).  Every case
# of BUILD_DIR/tests/misuse/misuse and misuse-cxx (double frees, invalid pointers, wrong
# sizes, forged free-list pointers, huge requests) runs in a child process of its own with
# an allocator preloaded; the case stops itself after 10 s (alarm) and timeout(1) backs
# that up.  Outcome of one run:
#   caught (SIG)         killed by a signal (SIGABRT from a check, SIGSEGV/SIGBUS from a
#                        crash); "caught later" when the misuse call itself returned and
#                        the crash came afterwards (the program went on allocating)
#   caught (exit N)      exited non-zero with a message
#   caught (not followed) forged-pointer cases: the forged address never came back
#   silent[: what]       exited 0; "what" is the harm the program saw afterwards (the
#                        same block handed out twice, live memory handed out, ...);
#                        "silent (NULL)": realloc of an invalid pointer gave NULL
#   hang                 no end within 10 s
#   correct / wrong      the huge-request cases: NULL and ENOMEM, or not
#   n/a                  the allocator lacks the interface (sdallocx)
#
#   tests/misuse/run.sh BUILD_DIR           liballoc only ($LIBALLOC, default
#       BUILD_DIR/liballoc/liballoc.so): each case's outcome against the EXPECT table
#       below, one PASS:/FAIL: line per case, exit 1 if any failed.
#   tests/misuse/run.sh BUILD_DIR --table   every case under glibc (no preload), Debian's
#       jemalloc ($JEMALLOC), mimalloc ($MIMALLOC), tcmalloc ($TCMALLOC) and liballoc,
#       printed as a Markdown table with totals; SKIP: for an allocator not installed.
# MISUSE_ONLY="case ..." runs a subset; the liballoc run stops at MISUSE_BUDGET seconds
# (120; about 2 s is normal).  Logs: BUILD_DIR/tests-tmp/misuse/<allocator>/<case>.out/.err.
set -u

if [ $# -lt 1 ] || { [ $# -eq 2 ] && [ "$2" != --table ]; } || [ $# -gt 2 ]; then
        echo "usage: $0 BUILD_DIR [--table]" >&2
        exit 2
fi
BUILD_DIR=$1
TABLE=0
[ "${2:-}" = --table ] && TABLE=1
LIBALLOC=${LIBALLOC:-$BUILD_DIR/liballoc/liballoc.so}
JEMALLOC=${JEMALLOC:-/usr/lib/x86_64-linux-gnu/libjemalloc.so.2}
MIMALLOC=${MIMALLOC:-/usr/lib/x86_64-linux-gnu/libmimalloc.so.2}
TCMALLOC=${TCMALLOC:-/usr/lib/x86_64-linux-gnu/libtcmalloc_minimal.so.4}
BIN=$BUILD_DIR/tests/misuse
TMP=$BUILD_DIR/tests-tmp/misuse
BUDGET=${MISUSE_BUDGET:-120} # seconds for the liballoc run (each case stops at 10 s)

# What liballoc does with each case.  Values:
#   caught:TEXT   killed by a signal or exit non-zero, stderr containing TEXT
#   caught        the same with any message, or (forged pointers) never returned
#   crash         killed by a signal (no check of its own: a crash in its metadata)
#   silent        ran on (whatever the harm)        clean   ran on, no harm seen
#   correct       NULL with ENOMEM                  wrong   anything else
#   n/a           the interface is missing
# The owner's own free of a pointer 8 bytes into a small block is not checked on its fast
# path (liballoc(3), DIAGNOSTICS).
declare -A EXPECT
EXPECT[control]=clean
EXPECT[df-16]="caught:double free"                      #
EXPECT[df-32]="caught:double free"                      #
EXPECT[df-48]="caught:double free"                      #
EXPECT[df-20k]="caught:double free"
EXPECT[df-100k]="caught:double free"
EXPECT[df-4m]="caught:double free"
EXPECT[df-between-32]="caught:double free"              #
EXPECT[df-between-100k]="caught:double free"
EXPECT[df-interleaved-32]="caught:double free"          #
EXPECT[df-interleaved-20k]="caught:double free"
EXPECT[df-thread-owner-32]="caught:double free"         #
EXPECT[df-thread-other-32]="caught:double free"         #
EXPECT[df-thread-owner-20k]="caught:double free"
EXPECT[df-thread-other-20k]="caught:double free"
EXPECT[df-refilled-32]="caught:double free"
EXPECT[df-refilled-4k]="caught:double free"
EXPECT[free-stack]="caught:invalid pointer"                 #
EXPECT[free-alloca]="caught:invalid pointer"                #
EXPECT[free-static]="caught:invalid pointer"                #
EXPECT[free-far]="caught:invalid pointer"                   #
EXPECT[free-interior-small]=silent
EXPECT[free-interior-large]="caught:invalid pointer"        #
# p+usable is the next block's address: without headers no allocator can tell it from a
# free of that block
EXPECT[free-past-end]=silent
EXPECT[free-unaligned]="caught:invalid pointer"             #
EXPECT[realloc-stack]="caught:invalid pointer"              #
EXPECT[realloc-alloca]="caught:invalid pointer"             #
EXPECT[realloc-static]="caught:invalid pointer"             #
EXPECT[realloc-far]="caught:invalid pointer"                #
EXPECT[realloc-interior-small]="caught:invalid pointer"
EXPECT[realloc-interior-large]="caught:invalid pointer"     #
EXPECT[realloc-past-end]=silent
EXPECT[realloc-unaligned]="caught:invalid pointer"          #
EXPECT[sdallocx-small]="caught:size mismatch"             #
EXPECT[sdallocx-small-as-large]="caught:size mismatch"    #
EXPECT[sdallocx-large]="caught:size mismatch"             #
EXPECT[sdallocx-large-as-small]="caught:size mismatch"    #
EXPECT[uaf-forged-32]="caught:corrupted free list"
EXPECT[uaf-forged-1k]="caught:corrupted free list"
EXPECT[overflow-forged-32]="caught:corrupted free list"
EXPECT[overflow-forged-1k]="caught:corrupted free list"
EXPECT[enomem-malloc]=correct
EXPECT[enomem-malloc-half]=correct
EXPECT[enomem-calloc]=correct
EXPECT[enomem-memalign]="correct"
EXPECT[enomem-valloc]="correct"
EXPECT[enomem-pvalloc]=correct
EXPECT[enomem-pvalloc-round]=correct
EXPECT[enomem-aligned-alloc]=correct
EXPECT[enomem-posix-memalign]=correct
EXPECT[enomem-realloc]=correct
# the address freed is 8 bytes into a block (delete on new[]) or 8 bytes before one
# (delete[] on new: which block that is depends on the layout), so any message will do
EXPECT[cxx-delete-on-new-array]="caught"
EXPECT[cxx-delete-array-on-new]=caught
EXPECT[cxx-sized-delete-small]="caught:size mismatch"     #
EXPECT[cxx-sized-delete-large]="caught:size mismatch"     #
EXPECT[cxx-double-delete]="caught:double free"          #

# run_case LABEL LIB CASE: runs one case; sets KIND (caught, silent, clean, hang, correct,
# wrong, na, error), CELL (the table's text) and ERR (the stderr file)
run_case() {
        local label=$1 lib=$2 name=$3 bin=$BIN/misuse rc sig out
        [[ $name == cxx-* ]] && bin=$BIN/misuse-cxx
        mkdir -p "$TMP/$label"
        out=$TMP/$label/$name.out
        ERR=$TMP/$label/$name.err
        # no core files; the allocator goes into the test program only (env after
        # timeout), and the outer 2>/dev/null takes the shell's own "Aborted" notices
        {
                (
                        ulimit -c 0
                        exec timeout -k 2 20 env ${lib:+LD_PRELOAD="$lib"} "$bin" "$name"
                ) >"$out" 2>"$ERR" </dev/null
        } 2>/dev/null
        rc=$?
        if [ $rc -eq 124 ] || [ $rc -eq 137 ] || [ $rc -eq $((128 + 14)) ]; then
                KIND=hang CELL=hang
        elif [ $rc -gt 128 ]; then
                sig=SIG$(kill -l $((rc - 128)) 2>/dev/null || echo $((rc - 128)))
                if grep -q '^result: ' "$out"; then
                        KIND=wrong CELL="wrong ($sig)"
                elif [[ $name != enomem-* ]] && grep -q '^done$' "$out"; then
                        KIND=caught CELL="caught later ($sig)"
                else
                        KIND=caught CELL="caught ($sig)"
                fi
        elif [ $rc -eq 77 ]; then
                KIND=na CELL=n/a
        elif [ $rc -eq 3 ]; then
                KIND=error CELL="error: $(sed -n 's/^setup failed: //p' "$out" | head -n 1)"
        elif [ $rc -ne 0 ]; then
                if [ -s "$ERR" ]; then
                        KIND=caught CELL="caught (exit $rc)"
                else
                        KIND=silent CELL="silent (exit $rc, no message)"
                fi
        elif grep -q '^result: correct' "$out"; then
                KIND=correct CELL=correct
        elif grep -q '^result: wrong' "$out"; then
                KIND=wrong CELL="wrong ($(sed -n 's/^result: wrong: \([^(]*[^ (]\).*/\1/p' "$out" | head -n 1))"
        elif grep -q '^not followed' "$out"; then
                KIND=caught CELL="caught (not followed)"
        elif grep -q '^consequence: ' "$out"; then
                KIND=silent
                CELL="silent: $(sed -n '/^consequence: /{s/^consequence: //; s/ (.*//; p}' "$out" | head -n 1)"
        elif grep -q '^done$' "$out"; then
                KIND=clean CELL=silent
                if grep -q '^note: ' "$out"; then
                        CELL="silent ($(sed -n 's/^note: //p' "$out" | head -n 1))"
                fi
        else
                KIND=error CELL="error: no output"
        fi
}

# matches EXPECTED: 0 when the outcome of the last run_case meets it
matches() {
        local want=$1
        case $want in
        caught:*) [ "$KIND" = caught ] && grep -qF -- "${want#caught:}" "$ERR" ;;
        caught) [ "$KIND" = caught ] ;;
        crash) [ "$KIND" = caught ] && [[ $CELL == *"(SIG"* ]] ;;
        silent) [ "$KIND" = silent ] || [ "$KIND" = clean ] ;;
        clean | correct | wrong | hang) [ "$KIND" = "$want" ] ;;
        n/a) [ "$KIND" = na ] ;;
        *) return 1 ;;
        esac
}

for b in misuse misuse-cxx; do
        if [ ! -x "$BIN/$b" ]; then
                echo "FAIL: misuse: $BIN/$b was not built"
                exit 1
        fi
done
CASES=()
for c in $("$BIN/misuse" --list) $("$BIN/misuse-cxx" --list); do
        if [ -n "${MISUSE_ONLY:-}" ] && [[ " $MISUSE_ONLY " != *" $c "* ]]; then
                continue
        fi
        CASES+=("$c")
done
mkdir -p "$TMP" || exit 2

if [ $TABLE = 0 ]; then
        if [ ! -f "$LIBALLOC" ]; then
                echo "FAIL: misuse[liballoc]: $LIBALLOC does not exist"
                exit 1
        fi
        lib=$(readlink -f "$LIBALLOC")
        failed=0
        start=$(date +%s)
        for c in "${CASES[@]}"; do
                want=${EXPECT[$c]:-}
                if [ $(($(date +%s) - start)) -ge "$BUDGET" ]; then
                        echo "SKIP: misuse/${c}[liballoc]: the budget of $BUDGET s was used up by earlier cases (hangs?)"
                        continue
                fi
                run_case liballoc "$lib" "$c"
                if [ -z "$want" ]; then
                        echo "FAIL: misuse/${c}[liballoc]: no expectation in tests/misuse/run.sh (got: $CELL)"
                        failed=1
                elif matches "$want"; then
                        echo "PASS: misuse/${c}[liballoc]"
                else
                        msg=$(grep -v '^$' "$ERR" | head -n 1 | cut -c 1-160)
                        echo "FAIL: misuse/${c}[liballoc]: expected $want, got $CELL${msg:+ (stderr: $msg)}"
                        failed=1
                fi
        done
        exit $failed
fi

# --table: one column per allocator, rows in case order
LABELS=(glibc jemalloc mimalloc tcmalloc liballoc)
declare -A LIB=([glibc]="" [jemalloc]=$JEMALLOC [mimalloc]=$MIMALLOC [tcmalloc]=$TCMALLOC
        [liballoc]=$LIBALLOC)
declare -A PKG=([jemalloc]=libjemalloc2 [mimalloc]=libmimalloc2.0
        [tcmalloc]=libtcmalloc-minimal4 [liballoc]="ninja -C $BUILD_DIR")
declare -A RESULT HAVE
for l in "${LABELS[@]}"; do
        HAVE[$l]=1
        if [ -n "${LIB[$l]}" ] && [ ! -f "${LIB[$l]}" ]; then
                echo "SKIP: misuse[$l]: ${LIB[$l]} is not installed (${PKG[$l]})"
                HAVE[$l]=0
        fi
done
# the allocators run side by side (one process each at a time); results through files
for l in "${LABELS[@]}"; do
        [ "${HAVE[$l]}" = 1 ] || continue
        lib=${LIB[$l]}
        [ -n "$lib" ] && lib=$(readlink -f "$lib")
        (
                for c in "${CASES[@]}"; do
                        run_case "$l" "$lib" "$c"
                        printf '%s\t%s\t%s\n' "$c" "$KIND" "$CELL"
                done >"$TMP/$l.results"
        ) &
done
wait
for l in "${LABELS[@]}"; do
        [ "${HAVE[$l]}" = 1 ] || continue
        while IFS=$'\t' read -r c kind cell; do
                RESULT[$l,$c]=$kind$'\t'$cell
        done <"$TMP/$l.results"
done

header="| case |"
rule="|---|"
for l in "${LABELS[@]}"; do
        header+=" $l |"
        rule+="---|"
done
echo "$header"
echo "$rule"
declare -A NCAUGHT NMISUSE NCORRECT NHUGE
for c in "${CASES[@]}"; do
        [ "$c" = control ] && continue
        row="| $c |"
        for l in "${LABELS[@]}"; do
                if [ "${HAVE[$l]}" != 1 ]; then
                        row+=" not installed |"
                        continue
                fi
                r=${RESULT[$l,$c]:-error$'\t'missing}
                kind=${r%%$'\t'*}
                row+=" ${r#*$'\t'} |"
                if [[ $c == enomem-* ]]; then
                        NHUGE[$l]=$((${NHUGE[$l]:-0} + 1))
                        [ "$kind" = correct ] && NCORRECT[$l]=$((${NCORRECT[$l]:-0} + 1))
                elif [ "$kind" != na ]; then
                        NMISUSE[$l]=$((${NMISUSE[$l]:-0} + 1))
                        [ "$kind" = caught ] && NCAUGHT[$l]=$((${NCAUGHT[$l]:-0} + 1))
                fi
        done
        echo "$row"
done
row="| **total** |"
row2="| **huge requests** |"
for l in "${LABELS[@]}"; do
        row+=" caught ${NCAUGHT[$l]:-0} of ${NMISUSE[$l]:-0} |"
        row2+=" correct ${NCORRECT[$l]:-0} of ${NHUGE[$l]:-0} |"
done
echo "$row"
echo "$row2"
# the control case (no misuse) must run clean everywhere, or the table means nothing
for l in "${LABELS[@]}"; do
        r=${RESULT[$l,control]:-}
        if [ -n "$r" ] && [ "${r%%$'\t'*}" != clean ]; then
                echo "FAIL: misuse/control[$l]: the case without misuse gave: ${r#*$'\t'}"
                exit 1
        fi
done
exit 0
