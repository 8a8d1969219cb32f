#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-2-Clause
"""liballoc's layer rule, checked on the sources: every liballoc header is included by
its layer folder ("core/heap.h"), and no file includes a header of a higher layer.  The
order is read from the rule at the top of docs/architecture.md (the line starting
"Layer order"), so the document and the check cannot drift apart.

  tests/unit/layers.py [TOP]     prints PASS/FAIL lines; exit status 1 on a violation
"""
import os
import re
import sys

top = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(__file__), "..", "..")
src = os.path.join(top, "liballoc", "src")
doc = os.path.join(top, "docs", "architecture.md")

# Upward includes not yet removed, as "file -> header".  Empty when the rule holds.
KNOWN = set()


def layer_order():
    with open(doc, encoding="utf-8") as f:
        for line in f:
            m = re.match(r"^Layer order, lowest first: *(.*)$", line.strip().strip("`"))
            if m:
                return [x.strip() for x in m.group(1).split("<")]
    return None


def main():
    order = layer_order()
    if not order:
        print("FAIL: unit/layers: no 'Layer order, lowest first:' line in docs/architecture.md")
        return 1
    rank = {name: i for i, name in enumerate(order)}
    headers = {}  # bare header name -> its layer folder
    problems = []
    for d in sorted(os.listdir(src)):
        if not os.path.isdir(os.path.join(src, d)):
            problems.append("liballoc/src/%s: a source outside every layer folder" % d)
            continue
        if d not in rank:
            problems.append("liballoc/src/%s/: a folder the layer order does not name" % d)
            continue
        for f in os.listdir(os.path.join(src, d)):
            if f.endswith(".h"):
                headers[f] = d
    used = set()
    for d in sorted(rank):
        folder = os.path.join(src, d)
        if not os.path.isdir(folder):
            continue
        for f in sorted(os.listdir(folder)):
            if not f.endswith((".c", ".h")):
                continue
            name = "%s/%s" % (d, f)
            with open(os.path.join(folder, f), encoding="utf-8") as fh:
                for n, line in enumerate(fh, 1):
                    m = re.match(r'\s*#\s*include\s*"([^"]+)"', line)
                    if not m:
                        continue
                    inc = m.group(1)
                    parts = inc.split("/")
                    if len(parts) == 1 and inc in headers:
                        problems.append('%s:%d: "%s" without its layer ("%s/%s")'
                                        % (name, n, inc, headers[inc], inc))
                        continue
                    if len(parts) != 2 or parts[0] not in rank:
                        continue  # not liballoc's (jp/proto.h, a system header)
                    if rank[parts[0]] <= rank[d]:
                        continue
                    edge = "%s -> %s" % (name, inc)
                    if edge in KNOWN:
                        used.add(edge)
                        continue
                    problems.append("%s:%d: includes %s, a higher layer (%s above %s)"
                                    % (name, n, inc, parts[0], d))
    for edge in sorted(KNOWN - used):
        problems.append("known upward include %s is gone: remove it from KNOWN" % edge)
    for p in problems:
        print("FAIL: unit/layers: " + p)
    if problems:
        return 1
    print("PASS: unit/layers (%s%s)" % (" < ".join(order),
                                        ", %d known upward includes" % len(KNOWN) if KNOWN else ""))
    return 0


sys.exit(main())
