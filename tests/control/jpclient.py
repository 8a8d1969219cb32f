#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-2-Clause
"""jpclient: a small client of the jemctl control protocol (docs/protocol.md) for tests.

As a module: framing (4-byte big-endian length + UTF-8 JSON), strict JSON decoding
(duplicate keys are an error, as in the protocol's own codec) and raw socket access for
hostile tests.

As a program (the tests run it as another user):
    jpclient.py SOCKET REQUEST_JSON...
prints one line per response ("RESP <json>"), or "ERR connect <ERRNO>" / "ERR eof" /
"ERR timeout" / "ERR <errno>" and exits 0 (answers) or 2 (connection errors).
"""

import errno
import json
import os
import socket
import struct
import sys
import time

HDR = struct.Struct(">I")
REQ_MAX = 65536
RESP_MAX = 16 * 1024 * 1024


class ProtocolError(Exception):
    pass


def _no_dups(pairs):
    seen = {}
    for k, v in pairs:
        if k in seen:
            raise ProtocolError("duplicate key %r in a response" % k)
        seen[k] = v
    return seen


def strict_loads(data):
    """JSON text (bytes) to Python, refusing duplicate keys, NaN/Infinity and bad UTF-8."""
    def bad_const(c):
        raise ProtocolError("non-JSON constant %s" % c)
    return json.loads(data.decode("utf-8"), object_pairs_hook=_no_dups, parse_constant=bad_const)


def frame(payload):
    if isinstance(payload, str):
        payload = payload.encode("utf-8")
    return HDR.pack(len(payload)) + payload


def request(op, id=1, **args):
    d = {"v": 1, "id": id, "op": op}
    d.update(args)
    return json.dumps(d, separators=(",", ":"))


class Conn:
    """One connection.  Errors of the OS propagate (ConnectionRefusedError, ...)."""

    def __init__(self, path, timeout=5.0):
        self.path = path
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.settimeout(timeout)
        try:
            self.sock.connect(path)
        except BaseException:
            self.sock.close()
            raise

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def settimeout(self, t):
        self.sock.settimeout(t)

    def send_raw(self, data):
        self.sock.sendall(data)

    def send(self, payload):
        self.sock.sendall(frame(payload))

    def _recv_exact(self, n):
        buf = bytearray()
        while len(buf) < n:
            chunk = self.sock.recv(min(n - len(buf), 1 << 20))
            if not chunk:
                if buf:
                    raise ProtocolError("EOF inside a frame (%d of %d bytes)" % (len(buf), n))
                return None
            buf += chunk
        return bytes(buf)

    def recv_frame(self):
        """The next payload (bytes), or None on a clean EOF before a frame."""
        h = self._recv_exact(4)
        if h is None:
            return None
        (n,) = HDR.unpack(h)
        if n == 0 or n > RESP_MAX:
            raise ProtocolError("response frame of length %d" % n)
        p = self._recv_exact(n)
        if p is None:
            raise ProtocolError("EOF after a frame header")
        return p

    def recv(self):
        """The next response, decoded; None on EOF."""
        p = self.recv_frame()
        return None if p is None else strict_loads(p)

    def call(self, payload):
        self.send(payload)
        r = self.recv()
        if r is None:
            raise ProtocolError("EOF instead of a response")
        return r

    def call_fds(self, payload, maxfds=4):
        """Like call, but receives with recvmsg and returns (response, [fds passed])."""
        self.send(payload)
        fds = []
        buf = bytearray()
        need = 4
        while len(buf) < need:
            data, anc, _flags, _addr = self.sock.recvmsg(
                1 << 20, socket.CMSG_SPACE(maxfds * 4), socket.MSG_CMSG_CLOEXEC)
            for level, kind, d in anc:
                if level == socket.SOL_SOCKET and kind == socket.SCM_RIGHTS:
                    fds += [int.from_bytes(d[i:i + 4], sys.byteorder, signed=True)
                            for i in range(0, len(d) - len(d) % 4, 4)]
            if not data:
                raise ProtocolError("EOF instead of a response")
            buf += data
            if len(buf) >= 4:
                need = 4 + HDR.unpack(bytes(buf[:4]))[0]
        return strict_loads(bytes(buf[4:need])), fds

    def wait_eof(self, timeout):
        """Reads until EOF; returns (how, seconds, data): how is 'eof', 'reset' or 'timeout'."""
        t0 = time.monotonic()
        data = bytearray()
        self.sock.settimeout(timeout)
        try:
            while True:
                left = timeout - (time.monotonic() - t0)
                if left <= 0:
                    return "timeout", time.monotonic() - t0, bytes(data)
                self.sock.settimeout(left)
                chunk = self.sock.recv(65536)
                if not chunk:
                    return "eof", time.monotonic() - t0, bytes(data)
                data += chunk
        except socket.timeout:
            return "timeout", time.monotonic() - t0, bytes(data)
        except ConnectionResetError:
            return "reset", time.monotonic() - t0, bytes(data)


def split_frames(data):
    """Complete frames at the start of data (bytes) -> list of decoded responses."""
    out = []
    while len(data) >= 4:
        (n,) = HDR.unpack(data[:4])
        if len(data) < 4 + n:
            break
        out.append(strict_loads(data[4:4 + n]))
        data = data[4 + n:]
    return out


def errno_name(e):
    return errno.errorcode.get(e.errno, str(e.errno)) if e.errno else type(e).__name__


def main(argv):
    if len(argv) < 2:
        print(__doc__.strip(), file=sys.stderr)
        return 2
    path = argv[0]
    try:
        c = Conn(path, timeout=5.0)
    except OSError as e:
        print("ERR connect %s" % errno_name(e))
        return 2
    rc = 0
    with c:
        for req in argv[1:]:
            try:
                try:
                    c.send(req)
                except OSError:
                    pass  # refused peers get their answer first, then the close: read it
                p = c.recv_frame()
            except socket.timeout:
                print("ERR timeout")
                return 2
            except OSError as e:
                print("ERR %s" % errno_name(e))
                return 2
            except ProtocolError as e:
                print("ERR protocol %s" % e)
                return 2
            if p is None:
                print("ERR eof")
                return 2
            print("RESP " + p.decode("utf-8", "replace"))
            sys.stdout.flush()
    return rc


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
