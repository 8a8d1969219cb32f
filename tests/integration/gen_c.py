#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-2-Clause
"""Write a large, deterministic C file for the gcc integration test.

    gen_c.py OUT.c [NFUNCS]

NFUNCS (default 3000) functions with loops, switches, structs, arrays,
string literals and calls to earlier functions (to give the inliner and the
optimisers of gcc -O2 plenty to allocate for), and a main() that calls them
all and prints a checksum. A few deliberate -Wall warnings keep gcc's
diagnostics path busy too.
"""
import random
import sys


def func(rng, i, out):
    kind = i % 6
    callee = rng.randrange(i) if i > 10 else None
    w = out.append
    w(f"/* function {i} kind {kind} */")
    if kind == 0:
        w(f"static unsigned f{i}(unsigned x) {{")
        w(f"    unsigned acc = {rng.randrange(1000)};")
        w(f"    for (unsigned k = 0; k < (x & 31) + {rng.randrange(1, 9)}; k++) {{")
        w(f"        acc = acc * {rng.randrange(3, 97)} + (k ^ x);")
        w(f"        if (acc & {1 << rng.randrange(2, 12)}) acc -= {rng.randrange(1, 500)}u;")
        w("    }")
        if callee is not None:
            w(f"    acc += f{callee}(acc & 0xff);")
        w("    return acc;")
        w("}")
    elif kind == 1:
        cases = rng.randrange(4, 14)
        w(f"static unsigned f{i}(unsigned x) {{")
        w("    unsigned r = 0;")
        w(f"    switch ((unsigned)x % {cases}u) {{")
        for c in range(cases):
            w(f"    case {c}: r = x * {rng.randrange(2, 50)}u - {rng.randrange(100)}u; break;")
        w("    default: r = 1;")
        w("    }")
        if callee is not None:
            w(f"    if (r > {rng.randrange(100, 5000)}u) r ^= f{callee}(x + 1);")
        w("    return r;")
        w("}")
    elif kind == 2:
        n = rng.randrange(8, 40)
        vals = ", ".join(str(rng.randrange(-1000, 1000)) for _ in range(n))
        w(f"static const int tab{i}[{n}] = {{ {vals} }};")
        w(f"static unsigned f{i}(unsigned x) {{")
        w("    unsigned s = 0;")
        w(f"    for (int k = 0; k < {n}; k++) s += (unsigned)tab{i}[k] * ((x >> (k & 7)) & 3);")
        if callee is not None:
            w(f"    s += f{callee}(s);")
        w("    return s;")
        w("}")
    elif kind == 3:
        w(f"struct s{i} {{ unsigned a; long b; double c; char name[{rng.randrange(4, 32)}]; }};")
        w(f"static unsigned f{i}(unsigned x) {{")
        w(f"    struct s{i} v[{rng.randrange(2, 9)}];")
        w("    int n = (int)(sizeof v / sizeof v[0]);")
        w("    for (int k = 0; k < n; k++) {")
        w(f"        v[k].a = (x & 0xffff) + (unsigned)k * {rng.randrange(1, 20)}u;")
        w(f"        v[k].b = (long)v[k].a * {rng.randrange(1000, 100000)}L;")
        w(f"        v[k].c = v[k].a * {rng.random():.6f};")
        w(f'        snprintf(v[k].name, sizeof v[k].name, "n{i}_%d", k);')
        w("    }")
        w("    long t = 0;")
        w("    for (int k = 0; k < n; k++) t += v[k].b + (long)v[k].c + (long)strlen(v[k].name);")
        w("    return (unsigned)(t & 0x7fffffff);")
        w("}")
    elif kind == 4:
        w(f"static unsigned f{i}(unsigned x) {{")
        w("    unsigned h = 2166136261u;")
        w(f'    const char *s = "{"".join(rng.choice("abcdefghijklmnopqrstuvwxyz") for _ in range(rng.randrange(10, 60)))}";')
        w("    for (const char *p = s; *p; p++) { h ^= (unsigned char)*p + (unsigned)x; h *= 16777619u; }")
        if callee is not None:
            w(f"    h += f{callee}(h & 0xfff);")
        w("    return h >> 1;")
        w("}")
    else:
        w(f"static unsigned f{i}(unsigned x) {{")
        w(f"    int unused{i};")  # deliberate -Wunused-variable
        w("    double d = (double)(x & 1023);")
        for k in range(rng.randrange(3, 10)):
            op = "*" if k == 1 else rng.choice("+-")
            w(f"    d = d {op} {rng.randrange(1, 100)}.{rng.randrange(10)};")
        w("    if (d != d || d < 0) return 0;")
        w("    return (unsigned)d % 100000u;")
        w("}")


def main():
    if len(sys.argv) not in (2, 3):
        sys.exit(__doc__)
    n = int(sys.argv[2]) if len(sys.argv) == 3 else 3000
    rng = random.Random(4242)
    out = ["#include <stdio.h>", "#include <string.h>", ""]
    for i in range(n):
        func(rng, i, out)
        out.append("")
    out.append("int main(void) {")
    out.append("    unsigned long sum = 0;")
    for i in range(n):
        out.append(f"    sum = sum * 31u + f{i}({i}u);")
    out.append('    printf("checksum %lu\\n", sum);')
    out.append("    return 0;")
    out.append("}")
    with open(sys.argv[1], "w") as f:
        f.write("\n".join(out) + "\n")


if __name__ == "__main__":
    main()
