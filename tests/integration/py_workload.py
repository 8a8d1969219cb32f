#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-2-Clause
"""Allocation-heavy, deterministic Python workload for the integration tests.

Prints one line per phase ("name digest") and a final "total digest" line.
The output depends only on the computation, never on addresses, timing or the
allocator, so a run with LD_PRELOAD must print exactly what a run without does.
Run it with PYTHONHASHSEED=0 (set iteration order) and, to route every object
through malloc instead of pymalloc's arenas, PYTHONMALLOC=malloc.

If PRELOAD_MAPS_OUT is set, /proc/self/maps is copied there at the end, so the
caller can check which libraries this very process had mapped.
"""
import gc
import hashlib
import json
import os
import queue
import random
import re
import sys
import threading
from collections import Counter, OrderedDict, defaultdict, deque

SCALE = int(os.environ.get("PY_WORKLOAD_SCALE", "1"))
total = hashlib.sha256()


def report(name, data):
    h = hashlib.sha256(data if isinstance(data, bytes) else repr(data).encode()).hexdigest()
    total.update(name.encode() + b"=" + h.encode())
    print(f"{name} {h}")


def phase_dicts(rng):
    # Many small dicts and strings, with churn: inserts, deletes, re-inserts.
    d = {}
    for i in range(150_000 * SCALE):
        k = f"key-{rng.randrange(1 << 30):x}-{i % 977}"
        d[k] = {"i": i, "s": k * (i % 5), "t": (i, str(i), [i] * (i % 7))}
    keys = list(d)
    for k in keys[::3]:
        del d[k]
    for i, k in enumerate(keys[::5]):
        d[k] = [k] * (i % 11)
    acc = hashlib.sha256()
    for k in sorted(d):
        acc.update(k.encode())
        acc.update(repr(d[k]).encode())
    report("dicts", acc.digest())


def phase_lists_strings(rng):
    # Growing and shrinking lists, string concatenation, joins, slicing.
    out = []
    lst = []
    for i in range(200_000 * SCALE):
        lst.append("x" * (i % 300) + str(i))
        if i % 1000 == 999:
            lst = lst[len(lst) // 2:]
            out.append(len(lst))
    s = ""
    for i in range(20_000):
        s += chr(65 + i % 26) * (i % 17)
        if len(s) > 100_000:
            s = s[len(s) // 3:]
    text = " ".join(str(rng.random()) for _ in range(100_000))
    words = re.findall(r"\d+", text)
    c = Counter(w[:3] for w in words)
    out.append(sorted(c.most_common(50)))
    out.append(hashlib.sha256(s.encode()).hexdigest())
    out.append(sum(len(w) for w in words))
    ba = bytearray()
    for i in range(50_000):
        ba += bytes([i & 255]) * (i % 64)
        if len(ba) > 1 << 20:
            del ba[: len(ba) // 2]
    out.append(hashlib.sha256(ba).hexdigest())
    report("lists_strings", out)


def phase_bigints():
    # Big integers: products, powers, divisions (large, varied buffer sizes).
    out = []
    f = 1
    for i in range(1, 3000):
        f *= i
    out.append(f % (10**40 + 7))
    out.append(len(hex(f)))
    out.append(hashlib.sha256(hex(f * f).encode()).hexdigest())
    a, b = 0, 1
    for _ in range(20_000):
        a, b = b, a + b
    out.append(a % (1 << 127))
    x = 3**20_000
    y = 7**15_000 + 12345
    q, r = divmod(x * x + 1, y)
    out.append((q % 999_999_937, r % 999_999_937))
    out.append(pow(12345678901234567890, 10**6 + 3, (1 << 4000) - 1) % (1 << 64))
    report("bigints", out)


def phase_json(rng):
    # Nested structures through json round trips.
    def make(depth):
        if depth == 0:
            r = rng.random()
            if r < 0.3:
                return rng.randrange(-10**12, 10**12)
            if r < 0.6:
                return "".join(chr(rng.randrange(32, 0x2FF)) for _ in range(rng.randrange(40)))
            if r < 0.8:
                return rng.random()
            return None
        if rng.random() < 0.5:
            return [make(depth - 1) for _ in range(rng.randrange(1, 8))]
        return {f"k{j}": make(depth - 1) for j in range(rng.randrange(1, 8))}

    acc = hashlib.sha256()
    for _ in range(8 * SCALE):
        obj = make(6)
        s1 = json.dumps(obj, sort_keys=True)
        obj2 = json.loads(s1)
        s2 = json.dumps(obj2, sort_keys=True, indent=1)
        obj3 = json.loads(s2)
        assert obj3 == obj2
        acc.update(s1.encode())
        acc.update(str(len(s2)).encode())
    report("json", acc.digest())


class Node:
    __slots__ = ("val", "next", "other", "__weakref__")

    def __init__(self, val):
        self.val = val
        self.next = None
        self.other = None


def phase_gc(rng):
    # Reference cycles that only the cyclic collector can free.
    gc.collect()
    collected = 0
    sums = 0
    for rnd in range(10 * SCALE):
        nodes = [Node(i) for i in range(20_000)]
        for i, n in enumerate(nodes):
            n.next = nodes[(i + 1) % len(nodes)]
            n.other = nodes[rng.randrange(len(nodes))]
        cyc = [[] for _ in range(5_000)]
        for i, c in enumerate(cyc):
            c.append(cyc[(i * 7 + 1) % len(cyc)])
            c.append({"self": c, "n": i})
        sums += sum(n.other.val for n in nodes[::100])
        del nodes, cyc
        collected += 1 if gc.collect() > 0 else 0
    od = OrderedDict()
    dq = deque(maxlen=5000)
    dd = defaultdict(list)
    for i in range(100_000):
        od[i % 7000] = str(i)
        od.move_to_end(i % 7000 // 2)
        dq.append((i, str(i)))
        dd[i % 313].append(i)
    report("gc", [collected, sums, list(od.items())[:50], list(dq)[-5:], sum(map(len, dd.values()))])


def phase_threads():
    # Objects allocated in worker threads and freed in the main thread, and
    # the other way round (cross-thread frees).
    results = {}
    inbox = queue.Queue()

    def worker(tid):
        r = random.Random(tid)
        h = hashlib.sha256()
        keep = []
        for i in range(40_000):
            obj = [str(r.random())] * (i % 13) + [bytes(i % 2000)]
            keep.append(obj)
            if len(keep) > 500:
                inbox.put(keep)  # freed by the main thread
                keep = []
            h.update(str(len(obj)).encode())
        mine = 0
        while True:
            try:
                item = inbox_back.get_nowait()
            except queue.Empty:
                break
            mine += len(item[0]) * len(item)
            del item
        with lock:
            back[0] += mine
        results[tid] = h.hexdigest()

    inbox_back = queue.Queue()
    lock = threading.Lock()
    back = [0]
    for i in range(2000):
        inbox_back.put(["m" * (i % 700)] * (i % 5 + 1))  # freed by workers
    threads = [threading.Thread(target=worker, args=(t,)) for t in range(4)]
    for t in threads:
        t.start()
    drained = 0
    while any(t.is_alive() for t in threads) or not inbox.empty():
        try:
            item = inbox.get(timeout=0.05)
        except queue.Empty:
            continue
        drained += len(item)
        del item
    for t in threads:
        t.join()
    report("threads", [sorted(results.items()), drained, back[0]])


def main():
    rng = random.Random(20240611)
    phase_dicts(rng)
    phase_lists_strings(rng)
    phase_bigints()
    phase_json(rng)
    phase_gc(rng)
    phase_threads()
    print("total", total.hexdigest())
    out = os.environ.get("PRELOAD_MAPS_OUT")
    if out:
        with open("/proc/self/maps") as src, open(out, "w") as dst:
            dst.write(src.read())
    sys.stdout.flush()


if __name__ == "__main__":
    main()
