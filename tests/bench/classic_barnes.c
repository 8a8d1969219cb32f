/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * tests/bench/classic_barnes.c: "classic-barnes", a Barnes-Hut-like workload: an n-body
 * step builds a quadtree over the bodies (one malloc per internal node and per leaf),
 * computes the mass and centre of mass of every cell, approximates the force on each
 * body by walking the tree, moves the bodies, and frees the whole tree.  So each step
 * allocates thousands of same-sized nodes and frees them all at once, depth-first.  The
 * total mass found at the root and the node count are checked every step.
 */
#include "bench.h"

static const char usage[] =
        "classic-barnes: -n steps, each building a quadtree over 4000 bodies, computing\n"
        "forces by walking it and freeing it.\n"
        "  -n  steps (default 100)\n"
        "  -s  bodies (default 4000)\n";

struct body {
        double x, y, vx, vy, m;
};

struct node {
        double cx, cy, half;            /* the square this cell covers */
        double mass, mx, my;            /* total mass and centre of mass */
        struct body *body;              /* leaf: its one body; NULL for an inner cell */
        struct node *kid[4];
        uint64_t stamp;
};

static long nodes_live;

static struct node *node_new(double cx, double cy, double half, uint64_t stamp)
{
        struct node *n = bench_xcalloc(1, sizeof(*n));

        n->cx = cx;
        n->cy = cy;
        n->half = half;
        n->stamp = stamp;
        nodes_live++;
        return n;
}

static int quadrant(const struct node *n, const struct body *b)
{
        return (b->x >= n->cx) | ((b->y >= n->cy) << 1);
}

static struct node *child(struct node *n, int q, uint64_t stamp)
{
        double h = n->half / 2;

        if (n->kid[q] == NULL)
                n->kid[q] = node_new(n->cx + (q & 1 ? h : -h), n->cy + (q & 2 ? h : -h), h,
                                     stamp);
        return n->kid[q];
}

static void insert(struct node *n, struct body *b, uint64_t stamp, int depth)
{
        while (n->body != NULL || n->kid[0] || n->kid[1] || n->kid[2] || n->kid[3]) {
                if (n->body != NULL) {          /* split a leaf */
                        struct body *old = n->body;

                        n->body = NULL;
                        if (depth > 40) {       /* coincident bodies: keep the old one */
                                n->body = old;
                                return;
                        }
                        child(n, quadrant(n, old), stamp)->body = old;
                }
                n = child(n, quadrant(n, b), stamp);
                depth++;
                if (n->body == NULL && !n->kid[0] && !n->kid[1] && !n->kid[2] && !n->kid[3])
                        break;
        }
        n->body = b;
}

static void summarise(struct node *n)
{
        if (n->body != NULL) {
                n->mass = n->body->m;
                n->mx = n->body->x;
                n->my = n->body->y;
                return;
        }
        n->mass = n->mx = n->my = 0;
        for (int q = 0; q < 4; q++) {
                struct node *k = n->kid[q];

                if (k == NULL)
                        continue;
                summarise(k);
                n->mass += k->mass;
                n->mx += k->mass * k->mx;
                n->my += k->mass * k->my;
        }
        if (n->mass > 0) {
                n->mx /= n->mass;
                n->my /= n->mass;
        }
}

static void force(const struct node *n, const struct body *b, double *ax, double *ay)
{
        double dx = n->mx - b->x, dy = n->my - b->y, d2 = dx * dx + dy * dy + 1e-4;

        if (n->body == b || n->mass == 0)
                return;
        if (n->body != NULL || 4 * n->half * n->half < 0.25 * d2) {
                double inv = n->mass / (d2 * (d2 + 1.0));   /* softened, no libm */

                *ax += dx * inv;
                *ay += dy * inv;
                return;
        }
        for (int q = 0; q < 4; q++)
                if (n->kid[q] != NULL)
                        force(n->kid[q], b, ax, ay);
}

static void tree_free(struct node *n, uint64_t stamp)
{
        if (n->stamp != stamp)
                bench_fail("tree node corrupted (stamp %llx, want %llx)",
                           (unsigned long long)n->stamp, (unsigned long long)stamp);
        for (int q = 0; q < 4; q++)
                if (n->kid[q] != NULL)
                        tree_free(n->kid[q], stamp);
        free(n);
        nodes_live--;
}

int main(int argc, char **argv)
{
        struct bench_opt o = { .threads = 1, .iters = 100, .size = 4000, .seed = 22 };
        struct body *bodies;
        struct rng r;
        uint64_t nodes = 0;

        bench_parse(argc, argv, "classic-barnes", usage, &o);
        if (o.size < 2)
                o.size = 2;
        rng_seed(&r, o.seed);
        bodies = bench_xcalloc((size_t)o.size, sizeof(*bodies));
        for (long i = 0; i < o.size; i++) {
                bodies[i].x = (double)rng_below(&r, 1 << 20) / (1 << 20) - 0.5;
                bodies[i].y = (double)rng_below(&r, 1 << 20) / (1 << 20) - 0.5;
                bodies[i].m = 1.0;
        }
        for (long k = 0; k < o.iters; k++) {
                uint64_t stamp = bench_tag((uint64_t)k, 7);
                struct node *root = node_new(0, 0, 64, stamp);

                for (long i = 0; i < o.size; i++)
                        insert(root, &bodies[i], stamp, 0);
                summarise(root);
                if (root->mass < (double)o.size - 0.5 && root->mass > 0) {
                        /* only coincident bodies (kept once) may lower the mass */
                        if (root->mass < 0.9 * (double)o.size)
                                bench_fail("step %ld: root mass %g of %ld bodies", k,
                                           root->mass, o.size);
                }
                for (long i = 0; i < o.size; i++) {
                        double ax = 0, ay = 0;

                        force(root, &bodies[i], &ax, &ay);
                        bodies[i].vx += 1e-7 * ax;
                        bodies[i].vy += 1e-7 * ay;
                }
                for (long i = 0; i < o.size; i++) {
                        bodies[i].x += bodies[i].vx;
                        bodies[i].y += bodies[i].vy;
                        if (bodies[i].x < -63 || bodies[i].x > 63)
                                bodies[i].vx = -bodies[i].vx;
                        if (bodies[i].y < -63 || bodies[i].y > 63)
                                bodies[i].vy = -bodies[i].vy;
                }
                nodes += (uint64_t)nodes_live;
                tree_free(root, stamp);
                if (nodes_live != 0)
                        bench_fail("step %ld: %ld nodes left after freeing the tree", k,
                                   nodes_live);
        }
        free(bodies);
        bench_ok("steps=%ld nodes=%llu", o.iters, (unsigned long long)nodes);
        return 0;
}
