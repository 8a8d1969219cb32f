#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-2-Clause
"""A hostile far side for tests/control/remote.sh: started by ssh in place of
`jemctl bridge`, it answers jemctl -H's frames (jemctl/src/remote.c) badly.

  fakebridge.py MODE [the bridge's own arguments, ignored]
    huge     the hello's answer announces a frame of 4 GiB
    garbage  the hello's answer is not JSON
    status   the hello's answer has a status no exit status has
    pids     a good hello; the socket list holds strings and negative pids, a relayed
             request's response is not JSON
    eof      a good hello, then the end of the stream
    fd       a good hello and connect; a relayed request says a descriptor follows, then
             announces one of 4 GiB
"""
import json
import struct
import sys


def read_frame(f):
    hdr = f.read(4)
    if len(hdr) < 4:
        sys.exit(0)
    (n,) = struct.unpack(">I", hdr)
    return f.read(n)


def send(obj, raw=None):
    data = raw if raw is not None else json.dumps(obj).encode()
    sys.stdout.buffer.write(struct.pack(">I", len(data)) + data)
    sys.stdout.buffer.flush()


def main():
    mode = sys.argv[1]
    inp = sys.stdin.buffer
    hello = {"v": 1, "version": "fake", "status": 0, "runtime_dir": "/nonexistent"}
    while True:
        req = read_frame(inp)
        t = req[:1]
        if t == b"H":
            if mode == "huge":
                sys.stdout.buffer.write(b"\xff\xff\xff\xff")
                sys.stdout.buffer.flush()
            elif mode == "garbage":
                send(None, b"\x00\x01 this is not json")
            elif mode == "status":
                send(dict(hello, status=99))
            else:
                send(hello)
        elif mode == "eof":
            return
        elif t == b"L":
            send({"status": 0, "pids": ["x", -5, 2**40]})
        elif t == b"C":
            send({"status": 0, "why": 0})
        elif t == b"R":
            if mode == "fd":
                send({"status": 0, "fd_bytes": 5})
                send(None, b'{"v":1,"id":1,"ok":true,"result":{}}')
                sys.stdout.buffer.write(b"\xff\xff\xff\xff")
                sys.stdout.buffer.flush()
            else:
                send({"status": 0, "fd_bytes": -1})
                send(None, b"{{{ not an answer")
        else:
            send({"status": 0})


if __name__ == "__main__":
    main()
