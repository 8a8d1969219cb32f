#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-2-Clause
"""Deterministic file trees for the git integration test.

    gen_tree.py create DIR [NFILES]   write NFILES (default 5000) files in nested dirs
    gen_tree.py modify DIR            change every 7th file, add 300 new ones

The content depends only on the arguments, so two runs see identical trees.
"""
import os
import random
import sys

WORDS = ("alpha beta gamma delta epsilon zeta eta theta iota kappa lambda mu nu xi "
         "omicron pi rho sigma tau upsilon phi chi psi omega malloc free arena slab "
         "extent bin tcache chunk page huge small large").split()


def path_for(root, i):
    return os.path.join(root, f"d{i % 20:02d}", f"s{(i // 20) % 10:02d}", f"f{i:05d}.txt")


def content(rng, i):
    r = rng.random()
    if r < 0.02:
        nlines = rng.randrange(1500, 3000)      # a few larger files (~100 KB)
    elif r < 0.2:
        nlines = rng.randrange(50, 200)
    else:
        nlines = rng.randrange(1, 40)
    lines = [f"file {i}"]
    for j in range(nlines):
        lines.append(" ".join(rng.choice(WORDS) for _ in range(rng.randrange(1, 12))) + f" {j}")
    return "\n".join(lines) + "\n"


def create(root, n):
    rng = random.Random(12345)
    for i in range(n):
        p = path_for(root, i)
        os.makedirs(os.path.dirname(p), exist_ok=True)
        with open(p, "w") as f:
            f.write(content(rng, i))


def modify(root):
    rng = random.Random(67890)
    names = []
    for d, subdirs, files in os.walk(root):
        subdirs[:] = [s for s in subdirs if s != ".git"]
        names.extend(os.path.join(d, f) for f in files)
    names.sort()
    for k, p in enumerate(names[::7]):
        with open(p, "a") as f:
            f.write(f"appended {k}\n" * (1 + k % 5))
    for k, p in enumerate(names[3::50]):
        with open(p) as f:
            lines = f.read().split("\n")
        lines[len(lines) // 2:len(lines) // 2] = [f"inserted {k} {w}" for w in WORDS[: k % 20]]
        with open(p, "w") as f:
            f.write("\n".join(lines))
    for i in range(300):
        p = os.path.join(root, "new", f"n{i % 10}", f"g{i:04d}.txt")
        os.makedirs(os.path.dirname(p), exist_ok=True)
        with open(p, "w") as f:
            f.write(content(rng, 100000 + i))


def main():
    if len(sys.argv) >= 3 and sys.argv[1] == "create":
        create(sys.argv[2], int(sys.argv[3]) if len(sys.argv) > 3 else 5000)
    elif len(sys.argv) == 3 and sys.argv[1] == "modify":
        modify(sys.argv[2])
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main()
