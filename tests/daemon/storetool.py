#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-2-Clause
"""Helpers of tests/daemon/store.sh (standard library only).

  storetool.py req METHOD URL [BODY [OUT-FILE]]
                          one HTTP request (JSON body, Content-Type application/json when
                          BODY is given); prints one JSON line {"status", "json" (the body
                          parsed, or null), "len", "head" (the first 16 bytes, latin-1),
                          "ctype"}; with OUT-FILE the body is also written there
  storetool.py fake DIR MODE
                          serves DIR/<own pid>.sock like liballoc (info, stats) and answers
                          prof/dump badly: MODE "die" sends half of its answer and exits,
                          "short" passes a sealed memfd shorter than the bytes it announces;
                          MODE "grow" answers a good dump, and its resident grows by a
                          quarter at each stats poll (the growth policy); "garbage" passes
                          a sealed memfd that is not a heap profile
  storetool.py svg FILE   exit 0 if FILE parses as XML with an <svg> root holding boxes
  storetool.py folded FILE
                          exit 0 if every line of FILE is "frame;...;frame COUNT"
"""
import json
import os
import re
import struct
import sys
import xml.etree.ElementTree as ET

from dcommon import http, json_or_none, memfd, send_frame, serve


def req(method, url, body=None, out=None):
    data = body.encode() if body is not None else None
    headers = {"Content-Type": "application/json"} if body is not None else {}
    status, raw, h = http(method, url, data, headers, timeout=20)
    if out:
        with open(out, "wb") as f:
            f.write(raw)
    print(json.dumps({"status": status, "json": json_or_none(raw), "len": len(raw),
                      "head": raw[:16].decode("latin-1"), "ctype": h.get("Content-Type")}))


def fake(d, mode):
    pid = os.getpid()
    resident = 1 << 20

    def answer(c, rq):
        nonlocal resident
        ok = {"v": 1, "id": rq.get("id", 0), "ok": True}
        op = rq.get("op")
        if op == "info":
            ok["result"] = {"pid": pid, "ppid": os.getppid(), "uid": os.getuid(),
                            "gid": os.getgid(), "comm": "fake" + mode, "exe": "",
                            "cgroup": "/", "allocator": "liballoc",
                            "start_time": 1000000000 + pid}
            send_frame(c, ok)
        elif op == "stats":
            if mode == "grow":
                resident = min(resident * 5 // 4, 1 << 40)
            ok["result"] = {"epoch": 1, "allocated": 4096, "active": 8192,
                            "resident": resident, "mapped": resident, "metadata": 1,
                            "retained": 0, "rss": 1 << 20, "narenas": 1,
                            "dirty_decay_ms": 10000, "muzzy_decay_ms": 0}
            send_frame(c, ok)
        elif op == "prof" and rq.get("action") != "dump":
            ok["result"] = {"active": True, "was_active": True, "lg_sample": 19,
                            "samples": 0, "sampled_bytes": 0}
            send_frame(c, ok)
        elif op == "prof" and mode == "die":
            ok["result"] = {"format": "heap_v2", "bytes": 100, "fd": True}
            data = json.dumps(ok).encode()
            c.sendall(struct.pack(">I", len(data)) + data[: len(data) // 2])
            os._exit(3)  # dies inside its answer
        elif op == "prof":
            blob = b"heap_v2/4096\n  t*: 0: 0 [0: 0]\n  t0: 0: 0 [0: 0]\n"
            if mode == "garbage":
                blob = b"this is not a heap profile\n"
            fd = memfd(blob)
            short = 1000 if mode == "short" else 0
            ok["result"] = {"format": "heap_v2", "bytes": len(blob) + short, "fd": True}
            send_frame(c, ok, fd)
            os.close(fd)
        else:
            send_frame(c, {"v": 1, "id": rq.get("id", 0), "ok": False,
                           "error": {"code": "not_supported", "message": "fake"}})
        return True

    serve(d, answer)


def svg(path):
    root = ET.parse(path).getroot()
    ns = "{http://www.w3.org/2000/svg}"
    rects = root.iter(ns + "rect")
    return root.tag == ns + "svg" and sum(1 for _ in rects) >= 2


def folded(path):
    lines = open(path).read().splitlines()
    return len(lines) > 0 and all(re.fullmatch(r"\S.* \d+", ln) for ln in lines)


def main():
    a = sys.argv[1:]
    if a[0] == "req":
        req(a[1], a[2], a[3] if len(a) > 3 else None, a[4] if len(a) > 4 else None)
    elif a[0] == "fake":
        fake(a[1], a[2])
    elif a[0] == "svg":
        sys.exit(0 if svg(a[1]) else 1)
    elif a[0] == "folded":
        sys.exit(0 if folded(a[1]) else 1)
    else:
        sys.exit("unknown command " + a[0])


if __name__ == "__main__":
    main()
