#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-2-Clause
"""A fake liballoc process whose heap profile is a file the attacker wrote (standard
library only), for the symbolizer's and the conversion's hostile cases.

  dumptarget.py RUNTIME-DIR DUMP-FILE
        serves RUNTIME-DIR/<own pid>.sock like liballoc (info, stats, prof) and answers
        every prof dump with DUMP-FILE's bytes in a sealed memfd, read afresh each time
"""
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "daemon"))
from dcommon import memfd, send_frame, serve  # noqa: E402


def main():
    d, dump = sys.argv[1], sys.argv[2]
    pid = os.getpid()

    def answer(c, rq):
        ok = {"v": 1, "id": rq.get("id", 0), "ok": True}
        op = rq.get("op")
        if op == "info":
            ok["result"] = {"pid": pid, "ppid": os.getppid(), "uid": os.getuid(),
                            "gid": os.getgid(), "comm": "dumptarget", "exe": "",
                            "cgroup": "/", "allocator": "liballoc",
                            "start_time": 1000000000 + pid}
            send_frame(c, ok)
        elif op == "stats":
            ok["result"] = {"epoch": 1, "allocated": 4096, "active": 8192,
                            "resident": 1 << 20, "mapped": 1 << 20, "metadata": 1,
                            "retained": 0, "rss": 1 << 20, "narenas": 1,
                            "dirty_decay_ms": 10000, "muzzy_decay_ms": 0}
            send_frame(c, ok)
        elif op == "prof" and rq.get("action") == "dump":
            with open(dump, "rb") as f:
                blob = f.read()
            fd = memfd(blob)
            ok["result"] = {"format": "heap_v2", "bytes": len(blob), "fd": True}
            send_frame(c, ok, fd)
            os.close(fd)
        elif op == "prof":
            ok["result"] = {"active": True, "was_active": True, "lg_sample": 19,
                            "samples": 0, "sampled_bytes": 0}
            send_frame(c, ok)
        else:
            send_frame(c, {"v": 1, "id": rq.get("id", 0), "ok": False,
                           "error": {"code": "not_supported", "message": "fake"}})
        return True

    serve(d, answer)


if __name__ == "__main__":
    main()
