#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-2-Clause
"""Write NLINES deterministic text lines for the sort integration test.

    gen_lines.py OUT NLINES

Each line is "KEY<TAB>NUMBER<TAB>FILLER": KEY is a random lower-case word
(many duplicates), NUMBER a signed decimal, FILLER 0-63 characters, so the
lines vary a lot in length.
"""
import random
import sys


def main():
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    n = int(sys.argv[2])
    rng = random.Random(777)
    letters = "abcdefghijklmnopqrstuvwxyz"
    keys = ["".join(rng.choice(letters) for _ in range(rng.randrange(1, 12))) for _ in range(50_000)]
    filler = "".join(rng.choice(letters + "0123456789 ,.;:-_ABCDEFGHIJ") for _ in range(4096))
    with open(sys.argv[1], "w") as f:
        chunk = []
        for i in range(n):
            key = keys[rng.getrandbits(16) % len(keys)]
            num = rng.getrandbits(40) - (1 << 39)
            off = rng.getrandbits(12)
            ln = rng.getrandbits(6)
            chunk.append(f"{key}\t{num}\t{filler[off:off + ln]}\n")
            if len(chunk) == 100_000:
                f.write("".join(chunk))
                chunk.clear()
        f.write("".join(chunk))


if __name__ == "__main__":
    main()
