# SPDX-License-Identifier: BSD-2-Clause
"""Shared by the helpers of the daemon tests (bustool.py, storetool.py; standard library
only): the control socket's framing (a 4-byte big-endian length, then JSON; a descriptor
rides on the first byte), a sealed memfd as liballoc passes a profile, and one HTTP
request whatever its status."""
import array
import fcntl
import json
import os
import socket
import struct
import urllib.error
import urllib.request


def recv_exact(c, n):
    """n bytes from c, or None if the peer closes first."""
    buf = b""
    while len(buf) < n:
        chunk = c.recv(n - len(buf))
        if not chunk:
            return None
        buf += chunk
    return buf


def read_request(c):
    """The next request on c, parsed, or None once the peer has closed."""
    hdr = recv_exact(c, 4)
    if hdr is None:
        return None
    return json.loads(recv_exact(c, struct.unpack(">I", hdr)[0]))


def serve(d, answer):
    """Serves d/<own pid>.sock as liballoc's control socket does, one connection at a
    time, after printing "ready PID": answer(c, request) for each request, until the peer
    closes or answer returns False.  Forever; the socket file goes on the way out."""
    pid = os.getpid()
    path = os.path.join(d, "%d.sock" % pid)
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.bind(path)
    s.listen(16)
    print("ready %d" % pid, flush=True)
    try:
        while True:
            c, _ = s.accept()
            with c:
                while True:
                    req = read_request(c)
                    if req is None or not answer(c, req):
                        break
    finally:
        os.unlink(path)


def send_frame(c, doc, fd=None):
    """doc as one frame, with the descriptor fd if given."""
    data = json.dumps(doc).encode()
    frame = struct.pack(">I", len(data)) + data
    if fd is None:
        c.sendall(frame)
    else:  # the descriptor rides on the first byte of the frame
        c.sendmsg([frame[:1]], [(socket.SOL_SOCKET, socket.SCM_RIGHTS, array.array("i", [fd]))])
        c.sendall(frame[1:])


def memfd(blob, seal=True):
    """A memfd holding blob, sealed against any change unless seal is False."""
    fd = os.memfd_create("profile", os.MFD_CLOEXEC | os.MFD_ALLOW_SEALING)
    os.write(fd, blob)
    if seal:
        fcntl.fcntl(fd, fcntl.F_ADD_SEALS, fcntl.F_SEAL_WRITE | fcntl.F_SEAL_SHRINK |
                    fcntl.F_SEAL_GROW | fcntl.F_SEAL_SEAL)
    return fd


def http(method, url, data=None, headers=None, timeout=10):
    """(status, body, headers) of one request, error statuses included."""
    r = urllib.request.Request(url, data=data, method=method)
    for k, v in (headers or {}).items():
        r.add_header(k, v)
    try:
        with urllib.request.urlopen(r, timeout=timeout) as resp:
            return resp.status, resp.read(), resp.headers
    except urllib.error.HTTPError as e:
        return e.code, e.read(), e.headers


def json_or_none(raw):
    """raw parsed as JSON, or None if it is not JSON."""
    try:
        return json.loads(raw)
    except ValueError:
        return None
