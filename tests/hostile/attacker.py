#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-2-Clause
"""Attackers of the hostile cases (standard library only).

  attacker.py reuse DIR         binds DIR/<own pid>.sock, hands the listening socket to a
                                child that answers like liballoc as a root "sshd" of
                                ssh.service (claiming the parent's pid), prints the
                                parent's pid and exits: the name's pid is free for reuse
  attacker.py big DIR huge|wide serves DIR/<own pid>.sock like liballoc, but huge: every
                                info and stats answer is 16 MiB of text; wide: an info of
                                60 KB (long strings, many arguments, unknown members) and
                                a stats of 900 KB (a long string, deep nesting, 60,000
                                array elements) within the daemon's bounds
  attacker.py daemon PORT DIR PID
                                a stand-in jemctld on 127.0.0.1:PORT: every query is
                                answered with runtime directory DIR and the one process
                                PID; prints "asked PATH" for each
  attacker.py claim PID CMD...  runs CMD (exec, its standard streams on /dev/null) as a
                                process of pid PID, by setting /proc/sys/kernel/ns_last_pid
                                (root); prints "pid PID", or exits 1 if another process
                                took it first 50 times
"""
import json
import os
import socket
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "daemon"))
from dcommon import read_request, send_frame, serve  # noqa: E402


def serve_as(s, pid):
    """Answers every connection on the listening socket s as liballoc would for pid."""
    while True:
        c, _ = s.accept()
        with c:
            while True:
                try:
                    req = read_request(c)
                except (OSError, ValueError):
                    break
                if req is None:
                    break
                rid, op = req.get("id", 0), req.get("op")
                ok = {"v": 1, "id": rid, "ok": True}
                if op == "hello":
                    ok["result"] = {"protocol": [1], "server": "liballoc", "pid": pid}
                elif op == "info":
                    ok["result"] = {"pid": pid, "ppid": 1, "uid": 0, "gid": 0,
                                    "comm": "sshd", "exe": "/usr/sbin/sshd",
                                    "cmdline": ["sshd: attacker was here"],
                                    "cgroup": "/system.slice/ssh.service",
                                    "allocator": "liballoc"}
                elif op == "stats":
                    ok["result"] = {"epoch": 1, "allocated": 4096, "active": 8192,
                                    "resident": 8192, "mapped": 8192, "metadata": 1,
                                    "retained": 0, "rss": 1 << 20, "narenas": 1,
                                    "dirty_decay_ms": 10000, "muzzy_decay_ms": 0}
                else:
                    ok["result"] = {}
                try:
                    send_frame(c, ok)
                except OSError:
                    break


def reuse(d):
    pid = os.getpid()
    path = os.path.join(d, "%d.sock" % pid)
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.bind(path)
    s.listen(16)
    if os.fork() == 0:
        null = os.open(os.devnull, os.O_RDWR)
        for fd in (0, 1, 2):
            os.dup2(null, fd)
        os.setsid()
        try:
            serve_as(s, pid)
        finally:
            os._exit(0)
    print(pid, flush=True)
    os._exit(0)


def big(d, mode):
    pid = os.getpid()
    mib16 = "x" * (16 * 1024 * 1024 - 200)

    def answer(c, req):
        rid, op = req.get("id", 0), req.get("op")
        ok = {"v": 1, "id": rid, "ok": True}
        if op == "info" and mode == "huge":
            ok["result"] = {"pid": pid, "comm": mib16}
        elif op == "info":
            ok["result"] = {"pid": pid, "uid": 0, "comm": "w" * 20000, "exe": "/e" * 8000,
                            "cmdline": ["arg%05d" % i + "y" * 150 for i in range(100)],
                            "junk": ["z" * 1000] * 5, "cgroup": "/wide.service"}
        elif op == "stats" and mode == "huge":
            ok["result"] = {"allocated": 1, "blob": mib16}
        elif op == "stats":
            deep = {"a": {"b": {"c": {"d": {"e": 1}}}}}
            ok["result"] = {"allocated": 4096, "active": 8192, "resident": 8192,
                            "note": "n" * 400000, "deep": deep,
                            "arenas": [{"index": i, "pdirty": 1} for i in range(6000)],
                            "many": list(range(60000))}
        else:
            ok["result"] = {}
        send_frame(c, ok)
        return True

    serve(d, answer)


def daemon(port, d, pid):
    import http.server

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            print("asked", self.path, flush=True)
            body = json.dumps({"runtime_dir": d, "processes": [{"pid": pid}]}).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *a):
            pass

    http.server.HTTPServer(("127.0.0.1", port), Handler).serve_forever()


def claim(pid, argv):
    for _ in range(50):
        with open("/proc/sys/kernel/ns_last_pid", "w") as f:
            f.write(str(pid - 1))
        child = os.fork()
        if child == 0:
            if os.getpid() != pid:
                os._exit(0)
            null = os.open(os.devnull, os.O_RDWR)
            for fd in (0, 1, 2):  # the caller's pipe must not wait for CMD
                os.dup2(null, fd)
            os.execvp(argv[0], argv)
        if child == pid:
            print("pid %d" % pid, flush=True)
            return 0
        os.waitpid(child, 0)
    return 1


def main():
    if len(sys.argv) >= 3 and sys.argv[1] == "reuse":
        reuse(sys.argv[2])
    elif len(sys.argv) >= 4 and sys.argv[1] == "big":
        big(sys.argv[2], sys.argv[3])
    elif len(sys.argv) >= 5 and sys.argv[1] == "daemon":
        daemon(int(sys.argv[2]), sys.argv[3], int(sys.argv[4]))
    elif len(sys.argv) >= 4 and sys.argv[1] == "claim":
        return claim(int(sys.argv[2]), sys.argv[3:])
    else:
        sys.stderr.write(__doc__)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
