#!/bin/bash
# SPDX-License-Identifier: BSD-2-Clause
# scale-ab.sh: A/B of two liballoc builds on one machine (the other host of a scaling
# run).  From the directory that holds the bundle (tests/bench/scale-bundle.sh):
#
#   BASE=liballoc-OLD.so REPS=5 build-scale/scale-ab.sh
#
# runs each configuration with the bundle's liballoc.so and with $BASE, alternating which
# goes first, REPS times, and prints the median wall times and new/base.  Put the base
# build into the bundle first (cp OLD/liballoc.so.2 build-scale/liballoc-OLD.so).
set -u
B=$(cd "$(dirname "$0")" && pwd)
BASE=${BASE:?set BASE to the file name of the base library inside the bundle}
REPS=${REPS:-5}
cfgs=("larson -t 16 -f 50" "larson -t 4 -f 50" "larson -t 1 -f 50" "short-threads -t 16"
      "prodcons -t 16 -f 50" "thread-churn -t 16 -f 50")
raw=$(mktemp)
trap 'rm -f "$raw"' EXIT
vers=(liballoc.so "$BASE")
for rep in $(seq "$REPS"); do
        for cfg in "${cfgs[@]}"; do
                read -r -a args <<<"$cfg"
                w=${args[0]}
                order=("${vers[@]}")
                [ $((rep % 2)) = 0 ] && order=("${vers[1]}" "${vers[0]}")
                for v in "${order[@]}"; do
                        s=$(date +%s%N)
                        LD_PRELOAD=$B/$v "$B/bench-$w" "${args[@]:1}" >/dev/null 2>&1
                        rc=$?
                        e=$(date +%s%N)
                        echo "$cfg | $v | $(((e - s) / 1000000)) | $rc"
                done
        done
done >"$raw"
python3 - "$raw" "$BASE" <<'PY'
import collections, statistics, sys
raw, base = sys.argv[1], sys.argv[2]
d = collections.defaultdict(list)
bad = []
for line in open(raw):
    cfg, v, ms, rc = [x.strip() for x in line.split("|")]
    d[(cfg, v)].append(int(ms))
    if rc != "0":
        bad.append(line.strip())
for c in sorted({k[0] for k in d}):
    new, old = d[(c, "liballoc.so")], d[(c, base)]
    print("%-28s new %6.0f ms  base %6.0f ms  new/base %.2f   (new %s, base %s)" % (
        c, statistics.median(new), statistics.median(old),
        statistics.median(new) / statistics.median(old), new, old))
for b in bad:
    print("FAILED RUN:", b)
sys.exit(1 if bad else 0)
PY
