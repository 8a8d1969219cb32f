#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-2-Clause
"""Helpers of tests/daemon/bus.sh (standard library only).

  bustool.py post URL [BODY [CONTENT-TYPE [ORIGIN]]]
                          POSTs BODY (default empty) and prints one JSON line:
                          {"status", "json" (the body parsed, or null), "len", "sha256",
                           "disposition", "ctype"}
  bustool.py fakeprof DIR PROFILE-FILE [bad]
                          serves DIR/<own pid>.sock like liballoc (hello, info, stats) and
                          answers prof/dump with a sealed memfd holding PROFILE-FILE
                          (passed with SCM_RIGHTS); with "bad" the memfd is not sealed.
                          Broken answers: purge gets bad JSON, decay-all a frame over
                          the limit, set half a frame and a closed connection
  bustool.py notify SOCKET OUT
                          binds a datagram socket like systemd's NOTIFY_SOCKET and appends
                          every message to OUT (newlines as "|"), until killed
  bustool.py same-interface XML-FILE
                          exit 0 if the introspection XML on stdin declares exactly the
                          methods, arguments and signals of the interface in XML-FILE
  bustool.py signals FILE KIND PID
                          exit 0 if busctl monitor's JSON output in FILE holds signal KIND
                          (ProcessAdded/ProcessRemoved) for PID
  bustool.py pressure-signal FILE PID
                          exit 0 if FILE holds PressureAction for PID with reason "host",
                          0 bytes and dry_run true
"""
import hashlib
import json
import os
import socket
import struct
import sys

from dcommon import http, json_or_none, memfd, send_frame, serve


def post(url, body=b"", ctype="application/json", origin=None):
    headers = {}
    if ctype:
        headers["Content-Type"] = ctype
    if origin:
        headers["Origin"] = origin
    status, data, h = http("POST", url, body, headers)
    return {"status": status, "json": json_or_none(data), "len": len(data),
            "sha256": hashlib.sha256(data).hexdigest(),
            "disposition": h.get("Content-Disposition"), "ctype": h.get("Content-Type")}


def fakeprof(d, profile, bad):
    pid = os.getpid()
    blob = open(profile, "rb").read()

    def answer(c, req):
        rid, op = req.get("id", 0), req.get("op")
        ok = {"v": 1, "id": rid, "ok": True}
        if op == "info":
            ok["result"] = {"pid": pid, "ppid": os.getppid(), "uid": os.getuid(),
                            "gid": os.getgid(), "comm": "fakeprof", "exe": "",
                            "cgroup": "/fake.service", "allocator": "liballoc"}
            send_frame(c, ok)
        elif op == "stats":
            ok["result"] = {"epoch": 1, "allocated": 4096, "active": 8192,
                            "resident": 8192, "mapped": 8192, "metadata": 1,
                            "retained": 0, "rss": 1 << 20, "narenas": 1,
                            "dirty_decay_ms": 10000, "muzzy_decay_ms": 0}
            send_frame(c, ok)
        elif op == "prof" and req.get("action") == "dump":
            fd = memfd(blob, seal=not bad)
            ok["result"] = {"format": "heap_v2", "bytes": len(blob), "fd": True}
            send_frame(c, ok, fd)
            os.close(fd)
        elif op == "purge":  # not JSON
            c.sendall(struct.pack(">I", 5) + b"hello")
        elif op == "decay-all":  # a frame over the 16 MiB limit
            c.sendall(struct.pack(">I", (16 << 20) + 1))
        elif op == "set":  # dies inside its answer
            c.sendall(struct.pack(">I", 100) + b'{"v":1')
            return False
        else:
            send_frame(c, {"v": 1, "id": rid, "ok": False,
                           "error": {"code": "not_supported", "message": "fake"}})
        return True

    serve(d, answer)


def signal_payloads(path, member):
    """The data of every signal MEMBER in busctl monitor's JSON output in FILE."""
    try:
        lines = open(path).read().splitlines()
    except OSError:
        return
    for line in lines:
        try:
            m = json.loads(line)
        except ValueError:
            continue
        if m.get("type") == "signal" and m.get("member") == member:
            yield m.get("payload", {}).get("data", [])


def pressure_signal(path, pid):
    for data in signal_payloads(path, "PressureAction"):
        if data[:1] == [int(pid)] and data[2:] == ["host", 0, True]:
            return 0
    return 1


def signals(path, kind, pid):
    for data in signal_payloads(path, kind):
        if data and str(data[0]) == str(pid):
            return 0
    return 1


def notify(path, out):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    s.bind(path)
    print("ready", flush=True)
    while True:
        data = s.recv(4096)
        with open(out, "a") as f:
            f.write(data.decode(errors="replace").replace("\n", "|") + "\n")


def members(xml_text, name):
    import xml.etree.ElementTree as ET
    root = ET.fromstring(xml_text)
    out = {}
    for iface in root.iter("interface"):
        if iface.get("name") != name:
            continue
        for m in iface:
            if m.tag in ("method", "signal", "property"):
                args = tuple((a.get("direction", "out"), a.get("type")) for a in m.iter("arg"))
                out[(m.tag, m.get("name"))] = args if m.tag != "property" else m.get("type")
    return out


def same_interface(path):
    want = members(open(path).read(), "io.github.liballoc.JemCtl1.Manager")
    live = members(sys.stdin.read(), "io.github.liballoc.JemCtl1.Manager")
    if not want or want != live:
        print("declared:", sorted(want.items()))
        print("live:    ", sorted(live.items()))
        return 1
    return 0


def main():
    cmd, a = sys.argv[1], sys.argv[2:]
    if cmd == "post":
        body = a[1].encode() if len(a) > 1 else b""
        ctype = a[2] if len(a) > 2 else "application/json"
        print(json.dumps(post(a[0], body, ctype, a[3] if len(a) > 3 else None)))
    elif cmd == "fakeprof":
        fakeprof(a[0], a[1], len(a) > 2 and a[2] == "bad")
    elif cmd == "notify":
        notify(a[0], a[1])
    elif cmd == "same-interface":
        return same_interface(a[0])
    elif cmd == "signals":
        return signals(a[0], a[1], a[2])
    elif cmd == "pressure-signal":
        return pressure_signal(a[0], a[1])
    return 0


if __name__ == "__main__":
    sys.exit(main() or 0)
