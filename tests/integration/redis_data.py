#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-2-Clause
"""Deterministic data set for the redis integration test.

    redis_data.py load N PHASE      write RESP commands for phase 1 or 2 on stdout
                                    (feed them to `redis-cli --pipe`)
    redis_data.py verify N HOST PORT
                                    read everything back over a socket, compare it
                                    with the expected state after both phases, and
                                    print a deterministic summary (exit 1 on mismatch)

Phase 1 creates N strings (1 byte to 64 KiB), N/10 lists, hashes, sets and
sorted sets. Phase 2 deletes a third of the strings, overwrites others with
different sizes, appends to some (growing them), trims lists and deletes hash
fields, so the server frees, reallocates and reuses memory.
"""
import hashlib
import random
import socket
import sys


def value(rng, i):
    r = rng.random()
    if r < 0.6:
        n = rng.randrange(1, 64)
    elif r < 0.9:
        n = rng.randrange(64, 2048)
    elif r < 0.99:
        n = rng.randrange(2048, 16384)
    else:
        n = rng.randrange(16384, 65536)
    base = f"v{i}:".encode()
    return (base * (n // len(base) + 1))[:n]


def small(rng, i):
    n = rng.randrange(1, 300)
    base = f"s{i}.".encode()
    return (base * (n // len(base) + 1))[:n]


def model(n):
    """Return (phase1 commands, phase2 commands, expected final state)."""
    rng = random.Random(99)
    strings, lists, hashes, sets, zsets = {}, {}, {}, {}, {}
    p1, p2 = [], []
    for i in range(n):
        k = f"str:{i}".encode()
        v = value(rng, i)
        strings[k] = v
        p1.append([b"SET", k, v])
    for i in range(n // 10):
        k = f"list:{i}".encode()
        items = [small(rng, j) for j in range(rng.randrange(1, 40))]
        lists[k] = list(items)
        p1.append([b"RPUSH", k] + items)
        hk = f"hash:{i}".encode()
        fields = {f"f{j}".encode(): small(rng, j) for j in range(rng.randrange(1, 30))}
        hashes[hk] = dict(fields)
        cmd = [b"HSET", hk]
        for f, v in fields.items():
            cmd += [f, v]
        p1.append(cmd)
        sk = f"set:{i}".encode()
        members = {str(rng.randrange(100000)).encode() for _ in range(rng.randrange(1, 50))}
        sets[sk] = set(members)
        p1.append([b"SADD", sk] + sorted(members))
        zk = f"zset:{i}".encode()
        zm = {f"m{j}".encode(): rng.randrange(-1000, 1000) for j in range(rng.randrange(1, 50))}
        zsets[zk] = dict(zm)
        cmd = [b"ZADD", zk]
        for m, s in zm.items():
            cmd += [str(s).encode(), m]
        p1.append(cmd)
    for i in range(n):
        k = f"str:{i}".encode()
        r = rng.random()
        if r < 0.33:
            del strings[k]
            p2.append([b"DEL", k])
        elif r < 0.55:
            v = value(rng, i + n)
            strings[k] = v
            p2.append([b"SET", k, v])
        elif r < 0.75:
            extra = value(rng, i) * rng.randrange(1, 4)
            strings[k] += extra
            p2.append([b"APPEND", k, extra])
    for i in range(n // 10):
        k = f"list:{i}".encode()
        keep = rng.randrange(0, len(lists[k]) + 1)
        if keep:
            p2.append([b"LTRIM", k, b"0", str(keep - 1).encode()])
        else:
            p2.append([b"DEL", k])
        lists[k] = lists[k][:keep]
        if not lists[k]:
            del lists[k]
        hk = f"hash:{i}".encode()
        for f in sorted(hashes[hk])[::2]:
            p2.append([b"HDEL", hk, f])
            del hashes[hk][f]
        if not hashes[hk]:
            del hashes[hk]
    return p1, p2, (strings, lists, hashes, sets, zsets)


def resp(cmd):
    out = [b"*%d\r\n" % len(cmd)]
    for a in cmd:
        out.append(b"$%d\r\n%s\r\n" % (len(a), a))
    return b"".join(out)


class Conn:
    def __init__(self, host, port):
        self.s = socket.create_connection((host, port), timeout=30)
        self.buf = b""

    def _fill(self):
        d = self.s.recv(1 << 20)
        if not d:
            raise EOFError("server closed the connection")
        self.buf += d

    def _line(self):
        while b"\r\n" not in self.buf:
            self._fill()
        line, self.buf = self.buf.split(b"\r\n", 1)
        return line

    def reply(self):
        line = self._line()
        t, rest = line[:1], line[1:]
        if t in (b"+", b":"):
            return int(rest) if t == b":" else rest
        if t == b"-":
            raise RuntimeError("redis error: " + rest.decode(errors="replace"))
        if t == b"$":
            n = int(rest)
            if n < 0:
                return None
            while len(self.buf) < n + 2:
                self._fill()
            data, self.buf = self.buf[:n], self.buf[n + 2:]
            return data
        if t == b"*":
            n = int(rest)
            return None if n < 0 else [self.reply() for _ in range(n)]
        raise RuntimeError(f"bad reply type {line[:20]!r}")

    def pipeline(self, cmds, batch=500):
        out = []
        for i in range(0, len(cmds), batch):
            part = cmds[i:i + batch]
            self.s.sendall(b"".join(resp(c) for c in part))
            out.extend(self.reply() for _ in part)
        return out


def verify(n, host, port):
    _, _, (strings, lists, hashes, sets, zsets) = model(n)
    c = Conn(host, port)
    bad = []
    h = hashlib.sha256()

    str_keys = [f"str:{i}".encode() for i in range(n)]
    got = c.pipeline([[b"GET", k] for k in str_keys])
    for k, v in zip(str_keys, got):
        if v != strings.get(k):
            bad.append(k)
        h.update(k + b"=" + (v if v is not None else b"<nil>"))
    print(f"strings: {len(strings)} present, {n - len(strings)} deleted, "
          f"{sum(map(len, strings.values()))} bytes")

    m = n // 10
    lk = [f"list:{i}".encode() for i in range(m)]
    for k, v in zip(lk, c.pipeline([[b"LRANGE", k, b"0", b"-1"] for k in lk])):
        if v != lists.get(k, []):
            bad.append(k)
        h.update(k + b"".join(v))
    hk = [f"hash:{i}".encode() for i in range(m)]
    for k, v in zip(hk, c.pipeline([[b"HGETALL", k] for k in hk])):
        got_h = dict(zip(v[0::2], v[1::2]))
        if got_h != hashes.get(k, {}):
            bad.append(k)
        for f in sorted(got_h):
            h.update(k + f + got_h[f])
    sk = [f"set:{i}".encode() for i in range(m)]
    for k, v in zip(sk, c.pipeline([[b"SMEMBERS", k] for k in sk])):
        if set(v) != sets[k]:
            bad.append(k)
        h.update(k + b",".join(sorted(v)))
    zk = [f"zset:{i}".encode() for i in range(m)]
    for k, v in zip(zk, c.pipeline([[b"ZRANGE", k, b"0", b"-1", b"WITHSCORES"] for k in zk])):
        got_z = {mem: int(float(s)) for mem, s in zip(v[0::2], v[1::2])}
        if got_z != zsets[k]:
            bad.append(k)
        h.update(k + b"".join(v))
    print(f"lists: {len(lists)}, hashes: {len(hashes)}, sets: {len(sets)}, zsets: {len(zsets)}")

    expected_keys = len(strings) + len(lists) + len(hashes) + len(sets) + len(zsets)
    dbsize = c.pipeline([[b"DBSIZE"]])[0]
    print(f"dbsize: {dbsize} (expected {expected_keys})")
    if dbsize != expected_keys:
        bad.append(b"<dbsize>")
    print(f"read-back sha256: {h.hexdigest()}")
    if bad:
        print(f"MISMATCH in {len(bad)} keys, first: {[b.decode() for b in bad[:5]]}")
        return 1
    print("all values match")
    return 0


def main():
    a = sys.argv[1:]
    if len(a) == 3 and a[0] == "load":
        p1, p2, _ = model(int(a[1]))
        cmds = p1 if a[2] == "1" else p2
        w = sys.stdout.buffer
        for cmd in cmds:
            w.write(resp(cmd))
        w.flush()
        return 0
    if len(a) == 4 and a[0] == "verify":
        return verify(int(a[1]), a[2], int(a[3]))
    sys.exit(__doc__)


if __name__ == "__main__":
    sys.exit(main())
