# SPDX-License-Identifier: BSD-2-Clause
"""Hammers every live control socket in a directory for SECONDS: full stats, a get and an
immediate purge (decay-all 0) per connection, as fast as it can.  Prints one line:
"answered N connections-lost M bad-answers K" and exits 1 if K > 0 (an answer that is not
one well-formed JSON frame) or if nothing was answered."""
import json
import os
import socket
import struct
import sys
import time

REQUESTS = ({"v": 1, "op": "stats", "full": True},
            {"v": 1, "op": "get", "names": ["stats.allocated", "stats.resident"]},
            {"v": 1, "op": "decay-all", "dirty_ms": 0})


def recv_exact(s, n):
    data = b""
    while len(data) < n:
        chunk = s.recv(n - len(data))
        if not chunk:
            raise EOFError
        data += chunk
    return data


def main():
    directory, seconds = sys.argv[1], float(sys.argv[2])
    end = time.time() + seconds
    answered = lost = bad = 0
    while time.time() < end:
        names = [f for f in os.listdir(directory) if f.endswith(".sock")]
        if not names:
            time.sleep(0.05)
        for name in names:
            try:
                s = socket.socket(socket.AF_UNIX)
                s.settimeout(3)
                s.connect(os.path.join(directory, name))
                for req in REQUESTS:
                    body = json.dumps(req).encode()
                    s.sendall(struct.pack(">I", len(body)) + body)
                    n = struct.unpack(">I", recv_exact(s, 4))[0]
                    try:
                        doc = json.loads(recv_exact(s, n))
                        if doc.get("ok") is not True:
                            bad += 1
                    except ValueError:
                        bad += 1
                    answered += 1
                s.close()
            except (OSError, EOFError):
                lost += 1  # the process ended (forked children come and go)
    print("answered %d connections-lost %d bad-answers %d" % (answered, lost, bad))
    return 1 if bad or not answered else 0


if __name__ == "__main__":
    sys.exit(main())
