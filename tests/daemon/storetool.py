#!/usr/bin/env python3
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
                          quarter at each stats poll (the growth policy)
  storetool.py svg FILE   exit 0 if FILE parses as XML with an <svg> root holding boxes
  storetool.py folded FILE
                          exit 0 if every line of FILE is "frame;...;frame COUNT"
"""
import array
import fcntl
import json
import os
import re
import socket
import struct
import sys
import urllib.error
import urllib.request
import xml.etree.ElementTree as ET


def req(method, url, body=None, out=None):
    data = body.encode() if body is not None else None
    r = urllib.request.Request(url, data=data, method=method)
    if body is not None:
        r.add_header("Content-Type", "application/json")
    try:
        with urllib.request.urlopen(r, timeout=20) as resp:
            status, raw, h = resp.status, resp.read(), resp.headers
    except urllib.error.HTTPError as e:
        status, raw, h = e.code, e.read(), e.headers
    if out:
        with open(out, "wb") as f:
            f.write(raw)
    try:
        doc = json.loads(raw)
    except ValueError:
        doc = None
    print(json.dumps({"status": status, "json": doc, "len": len(raw),
                      "head": raw[:16].decode("latin-1"), "ctype": h.get("Content-Type")}))


def recv_exact(c, n):
    buf = b""
    while len(buf) < n:
        chunk = c.recv(n - len(buf))
        if not chunk:
            return None
        buf += chunk
    return buf


def send(c, doc, fd=None):
    data = json.dumps(doc).encode()
    frame = struct.pack(">I", len(data)) + data
    if fd is None:
        c.sendall(frame)
    else:
        c.sendmsg([frame[:1]], [(socket.SOL_SOCKET, socket.SCM_RIGHTS, array.array("i", [fd]))])
        c.sendall(frame[1:])


def fake(d, mode):
    pid = os.getpid()
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.bind(os.path.join(d, "%d.sock" % pid))
    s.listen(16)
    print("ready %d" % pid, flush=True)
    resident = 1 << 20
    while True:
        c, _ = s.accept()
        with c:
            while True:
                hdr = recv_exact(c, 4)
                if hdr is None:
                    break
                rq = json.loads(recv_exact(c, struct.unpack(">I", hdr)[0]))
                ok = {"v": 1, "id": rq.get("id", 0), "ok": True}
                op = rq.get("op")
                if op == "info":
                    ok["result"] = {"pid": pid, "ppid": os.getppid(), "uid": os.getuid(),
                                    "gid": os.getgid(), "comm": "fake" + mode, "exe": "",
                                    "cgroup": "/", "allocator": "liballoc",
                                    "start_time": 1000000000 + pid}
                    send(c, ok)
                elif op == "stats":
                    if mode == "grow":
                        resident = min(resident * 5 // 4, 1 << 40)
                    ok["result"] = {"epoch": 1, "allocated": 4096, "active": 8192,
                                    "resident": resident, "mapped": resident, "metadata": 1,
                                    "retained": 0, "rss": 1 << 20, "narenas": 1,
                                    "dirty_decay_ms": 10000, "muzzy_decay_ms": 0}
                    send(c, ok)
                elif op == "prof" and mode == "die":
                    ok["result"] = {"format": "heap_v2", "bytes": 100, "fd": True}
                    data = json.dumps(ok).encode()
                    c.sendall(struct.pack(">I", len(data)) + data[: len(data) // 2])
                    os._exit(3)  # dies inside its answer
                elif op == "prof":
                    blob = b"heap_v2/4096\n  t*: 0: 0 [0: 0]\n  t0: 0: 0 [0: 0]\n"
                    fd = os.memfd_create("profile", os.MFD_CLOEXEC | os.MFD_ALLOW_SEALING)
                    os.write(fd, blob)
                    fcntl.fcntl(fd, fcntl.F_ADD_SEALS, fcntl.F_SEAL_WRITE | fcntl.F_SEAL_SHRINK |
                                fcntl.F_SEAL_GROW | fcntl.F_SEAL_SEAL)
                    short = 1000 if mode == "short" else 0
                    ok["result"] = {"format": "heap_v2", "bytes": len(blob) + short, "fd": True}
                    send(c, ok, fd)
                    os.close(fd)
                else:
                    send(c, {"v": 1, "id": rq.get("id", 0), "ok": False,
                             "error": {"code": "not_supported", "message": "fake"}})


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
