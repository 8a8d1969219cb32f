#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-2-Clause
"""Helpers of tests/daemon/run.sh (standard library only).

  dtool.py port                         a free TCP port on 127.0.0.1
  dtool.py get URL                      prints the body (exit 1 on failure)
  dtool.py status URL [METHOD]          prints the HTTP status code
  dtool.py metric URL NAME [PID]        prints the value of NAME (for PID), or nothing
  dtool.py wait URL SECONDS PYEXPR      waits until PYEXPR is true of `m` (samples) and
                                        `pids` (pids with liballoc_allocated_bytes)
  dtool.py check-values URL PID...      allocated > 0, resident >= active >= allocated
  dtool.py hang DIR [PID]               serves DIR/<own pid or PID>.sock, accepts, never
                                        answers
  dtool.py stale DIR PID                leaves a socket file DIR/PID.sock nobody serves
  dtool.py garbage HOST PORT            sends malformed HTTP in several ways
  dtool.py raw ADDR PORT METHOD PATH HOST [BODY [VERSION]]
                                        one request over a socket of ADDR's family
                                        (an IPv6 socket for ::ffff:127.0.0.1) with
                                        exactly this Host header ("-": none, "a|b": two
                                        of them), BODY as application/json ("-": none),
                                        HTTP/VERSION (1.1); prints "STATUS CODE", CODE
                                        the error code of a JSON error body, else "-"
  dtool.py raw-hosts ADDR PORT PATH HOST...
                                        a GET of PATH with each HOST in turn; prints
                                        "HOST STATUS CODE" for each
  dtool.py fake DIR comm|forge          serves DIR/<own pid>.sock like liballoc (hello,
                                        info, stats).  comm: names itself (PR_SET_NAME)
                                        and answers info with a comm of terminal escape
                                        sequences (OSC title, screen clear), and a heap
                                        profile naming a file of that name; forge:
                                        answers info with an error whose message holds
                                        newlines, a forged log line and escapes
"""
import json
import os
import re
import socket
import sys
import time
import urllib.error
import urllib.request

from dcommon import memfd, send_frame, serve

SAMPLE = re.compile(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})?\s+(\S+)$')
LABEL = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"')


def fetch(url, method="GET"):
    req = urllib.request.Request(url, method=method)
    try:
        with urllib.request.urlopen(req, timeout=5) as r:
            return r.status, r.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode()


def samples(url):
    code, body = fetch(url)
    if code != 200:
        raise RuntimeError("HTTP %d" % code)
    out = []
    for line in body.splitlines():
        if not line or line.startswith('#'):
            continue
        m = SAMPLE.match(line)
        if not m:
            raise RuntimeError("bad line: %r" % line)
        labels = dict(LABEL.findall(m.group(3) or ""))
        out.append((m.group(1), labels, float(m.group(4))))
    return out


def value(ms, name, pid=None):
    for n, labels, v in ms:
        if n == name and (pid is None or labels.get("pid") == str(pid)):
            return v
    return None


def main():
    cmd = sys.argv[1]
    a = sys.argv[2:]
    if cmd == "port":
        s = socket.socket()
        s.bind(("127.0.0.1", 0))
        print(s.getsockname()[1])
    elif cmd == "get":
        code, body = fetch(a[0])
        sys.stdout.write(body)
        return 0 if code == 200 else 1
    elif cmd == "status":
        print(fetch(a[0], a[1] if len(a) > 1 else "GET")[0])
    elif cmd == "metric":
        v = value(samples(a[0]), a[1], a[2] if len(a) > 2 else None)
        if v is not None:
            print(int(v) if v == int(v) else v)
    elif cmd == "wait":
        end = time.time() + float(a[1])
        while time.time() < end:
            try:
                m = samples(a[0])
                pids = {l.get("pid") for n, l, v in m if n == "liballoc_allocated_bytes"}
                if eval(a[2], {"m": m, "pids": pids, "value": value}):
                    return 0
            except (OSError, RuntimeError):
                pass
            time.sleep(0.2)
        return 1
    elif cmd == "check-values":
        ms = samples(a[0])
        for pid in a[1:]:
            al = value(ms, "liballoc_allocated_bytes", pid)
            ac = value(ms, "liballoc_active_bytes", pid)
            rs = value(ms, "liballoc_resident_bytes", pid)
            if al is None or ac is None or rs is None:
                print("pid %s: missing metrics" % pid)
                return 1
            if not (al > 0 and rs >= ac >= al):
                print("pid %s: allocated %d active %d resident %d" % (pid, al, ac, rs))
                return 1
    elif cmd == "hang":
        path = os.path.join(a[0], "%s.sock" % (a[1] if len(a) > 1 else os.getpid()))
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.bind(path)
        s.listen(64)
        print("ready %d" % os.getpid(), flush=True)
        held = []
        try:
            while True:
                c, _ = s.accept()
                held.append(c)  # reads nothing, answers nothing
        finally:
            os.unlink(path)
    elif cmd == "stale":
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.bind(os.path.join(a[0], "%s.sock" % a[1]))
        s.close()  # the file stays; nobody listens
    elif cmd == "garbage":
        host, port = a[0], int(a[1])
        payloads = [b"GARBAGE\r\n\r\n", b"GET\r\n\r\n", b"GET / HTTP/9.9\r\n\r\n",
                    b"GET /metrics HTTP/1.1\r\nHost: x\r\nContent-Length: -5\r\n\r\n",
                    b"GET /metrics HTTP/1.1\r\n" + b"X: " + b"a" * 100000 + b"\r\n\r\n",
                    b"\x00\xff\xfe" * 1000, b"GET /metrics HTTP/1.1\r\nHost"]
        for p in payloads:
            c = socket.create_connection((host, port), timeout=3)
            try:
                c.sendall(p)
                c.shutdown(socket.SHUT_WR)
                c.recv(4096)
            except OSError:
                pass
            c.close()
    elif cmd == "raw":
        print(*raw(*a))
    elif cmd == "raw-hosts":
        for h in a[3:]:
            print(h, *raw(a[0], a[1], "GET", a[2], h))
    elif cmd == "fake":
        fake(a[0], a[1])
    return 0


def raw(addr, port, method, path, host, body="-", version="1.1"):
    fam = socket.AF_INET6 if ":" in addr else socket.AF_INET
    c = socket.socket(fam, socket.SOCK_STREAM)
    c.settimeout(5)
    c.connect((addr, int(port)))
    req = "%s %s HTTP/%s\r\n" % (method, path, version)
    for h in ([] if host == "-" else host.split("|")):
        req += "Host: %s\r\n" % h
    data = b"" if body == "-" else body.encode()
    if data:
        req += "Content-Type: application/json\r\nContent-Length: %d\r\n" % len(data)
    req += "Connection: close\r\n\r\n"
    c.sendall(req.encode("latin-1") + data)
    got = b""
    while True:
        chunk = c.recv(65536)
        if not chunk:
            break
        got += chunk
    c.close()
    head, _, rest = got.partition(b"\r\n\r\n")
    status = head.split(b" ")[1].decode() if head.startswith(b"HTTP/") else "none"
    try:
        code = json.loads(rest)["error"]["code"]
    except (ValueError, KeyError, TypeError):
        code = "-"
    return status, code


# A comm of 15 bytes at most: an OSC title change, then "clear the screen".
EVIL_COMM = "\x1b]0;pwn\x07\x1b[2J"
FORGED = ("boom\njemctld: 2099-01-01T00:00:00 pid 1: FORGED line\r\x1b[2J"
          "\x7f\u0085after")


def fake(d, mode):
    pid = os.getpid()
    if mode == "comm":
        import ctypes
        ctypes.CDLL(None).prctl(15, EVIL_COMM.encode(), 0, 0, 0)  # PR_SET_NAME

    def answer(c, req):
        rid, op = req.get("id", 0), req.get("op")
        ok = {"v": 1, "id": rid, "ok": True}
        if op == "hello":
            ok["result"] = {"protocol": [1], "server": "liballoc", "version": "fake",
                            "pid": pid}
        elif op == "info" and mode == "forge":
            send_frame(c, {"v": 1, "id": rid, "ok": False,
                           "error": {"code": "internal", "message": FORGED}})
            return True
        elif op == "info":
            ok["result"] = {"pid": pid, "ppid": os.getppid(), "uid": os.getuid(),
                            "gid": os.getgid(), "comm": EVIL_COMM, "exe": "",
                            "cgroup": "/fake.service", "allocator": "liballoc"}
        elif op == "prof" and req.get("action") == "dump" and mode == "comm":
            blob = ("heap_v2/524288\n  t*: 1: 4096 [0: 0]\n\nMAPPED_LIBRARIES:\n"
                    "00400000-00401000 r-xp 00000000 00:00 0 /tmp/" + EVIL_COMM +
                    "\n").encode()
            fd = memfd(blob)
            ok["result"] = {"format": "heap_v2", "bytes": len(blob), "fd": True}
            send_frame(c, ok, fd)
            os.close(fd)
            return True
        elif op == "stats":
            ok["result"] = {"epoch": 1, "allocated": 4096, "active": 8192,
                            "resident": 8192, "mapped": 8192, "metadata": 1,
                            "retained": 0, "rss": 1 << 20, "narenas": 1,
                            "dirty_decay_ms": 10000, "muzzy_decay_ms": 0}
        else:
            ok = {"v": 1, "id": rid, "ok": False,
                  "error": {"code": "not_supported", "message": "fake"}}
        send_frame(c, ok)
        return True

    serve(d, answer)


if __name__ == "__main__":
    sys.exit(main() or 0)
