#!/usr/bin/env python3
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
"""
import json
import os
import re
import socket
import sys
import time
import urllib.error
import urllib.request

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
    return 0


if __name__ == "__main__":
    sys.exit(main() or 0)
