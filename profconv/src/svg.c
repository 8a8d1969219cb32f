/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * svg: a flame graph of in-use bytes as one static SVG document.  The merged stacks become
 * a tree (root "all" at the bottom, callees stacked above their callers, siblings in
 * name order); each box's width is its share of the bytes.  Every box carries a <title>,
 * which viewers show as a tooltip, with the full name, the bytes and the share; the label
 * inside is cut to what fits.  No script, no external font or style sheet.  Byte counts are
 * summed with saturation: a hostile dump's absurd counts give a total of UINT64_MAX (and
 * shares of at most 100%), never a wrapped one.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "folded.h"

#define SVG_WIDTH 1200.0
#define SVG_PAD 10.0
#define SVG_ROW 17.0
#define SVG_FONT 12.0
#define SVG_CHAR 7.3    /* width of one monospace character at SVG_FONT */
#define SVG_MIN_BOX 0.3 /* narrower boxes (and what is above them) are left out */

typedef struct node {
        char *name;
        uint64_t bytes;
        struct node *child, *last, *next;
} node_t;

static node_t *new_node(const char *name, size_t len)
{
        node_t *n = calloc(1, sizeof(*n));
        if (n == NULL)
                return NULL;
        n->name = malloc(len + 1);
        if (n->name == NULL) {
                free(n);
                return NULL;
        }
        memcpy(n->name, name, len);
        n->name[len] = '\0';
        return n;
}

static void free_tree(node_t *n)
{
        while (n != NULL) {
                node_t *next = n->next;
                free_tree(n->child);
                free(n->name);
                free(n);
                n = next;
        }
}

static node_t *child_named(node_t *parent, const char *name, size_t len)
{
        /* Input is sorted, so a repeated child is nearly always the last one. */
        if (parent->last != NULL && strlen(parent->last->name) == len &&
            memcmp(parent->last->name, name, len) == 0)
                return parent->last;
        for (node_t *c = parent->child; c != NULL; c = c->next)
                if (strlen(c->name) == len && memcmp(c->name, name, len) == 0)
                        return c;
        node_t *c = new_node(name, len);
        if (c == NULL)
                return NULL;
        if (parent->last != NULL)
                parent->last->next = c;
        else
                parent->child = c;
        parent->last = c;
        return c;
}

static int add_stack(node_t *root, const pc_stack_line_t *l, unsigned *depth)
{
        node_t *n = root;
        unsigned d = 0;
        root->bytes = pc_sat_add(root->bytes, l->bytes);
        for (const char *s = l->stack; *s != '\0';) {
                size_t len = strcspn(s, ";");
                if ((n = child_named(n, s, len)) == NULL)
                        return -ENOMEM;
                n->bytes = pc_sat_add(n->bytes, l->bytes);
                d++;
                s += len + (s[len] == ';');
        }
        if (d > *depth)
                *depth = d;
        return 0;
}

static void color(const char *name, unsigned *r, unsigned *g, unsigned *b)
{
        uint32_t h = 2166136261u;
        for (const char *p = name; *p; p++)
                h = (h ^ (unsigned char)*p) * 16777619u;
        *r = 200 + h % 56;
        *g = 60 + (h >> 8) % 150;
        *b = 30 + (h >> 16) % 40;
}

static void box(pc_buf_t *b, const node_t *n, double x, double w, double y, uint64_t total)
{
        unsigned cr, cg, cb;
        color(n->name, &cr, &cg, &cb);
        pc_buf_str(b, "<g><title>");
        pc_buf_xml(b, n->name);
        pc_buf_printf(b, " (%llu bytes, %.2f%%)</title>", (unsigned long long)n->bytes,
                      total ? 100.0 * (double)n->bytes / (double)total : 0.0);
        pc_buf_printf(b,
                      "<rect x=\"%.2f\" y=\"%.1f\" width=\"%.2f\" height=\"%.1f\" "
                      "fill=\"rgb(%u,%u,%u)\" rx=\"2\" ry=\"2\"/>",
                      x, y, w, SVG_ROW - 1, cr, cg, cb);
        size_t fit = w > 6 ? (size_t)((w - 6) / SVG_CHAR) : 0;
        size_t len = strlen(n->name);
        if (fit >= 3) {
                pc_buf_printf(b, "<text x=\"%.2f\" y=\"%.1f\">", x + 3, y + SVG_ROW - 5);
                if (len <= fit) {
                        pc_buf_xml(b, n->name);
                } else {
                        char *cut = strndup(n->name, fit - 2);
                        if (cut == NULL) {
                                b->failed = true;
                        } else {
                                pc_buf_xml(b, cut);
                                pc_buf_str(b, "..");
                                free(cut);
                        }
                }
                pc_buf_str(b, "</text>");
        }
        pc_buf_str(b, "</g>\n");
}

/* Draws n at depth d (0: the bottom row) from x, at most maxw wide, then its children
 * above it.  (Children's saturated counts may sum to more than their parent's: they are
 * kept within its box.) */
static void draw(pc_buf_t *b, const node_t *n, double x, double maxw, unsigned d, double height,
                 double scale, uint64_t total)
{
        double w = (double)n->bytes * scale;
        if (w > maxw)
                w = maxw;
        if (w < SVG_MIN_BOX)
                return;
        double y = height - SVG_PAD - (d + 1) * SVG_ROW;
        box(b, n, x, w, y, total);
        double cx = x;
        for (const node_t *c = n->child; c != NULL && cx < x + w; c = c->next) {
                draw(b, c, cx, x + w - cx, d + 1, height, scale, total);
                cx += (double)c->bytes * scale;
        }
}

int pc_write_svg(const pc_resolved_t *r, const char *title, pc_buf_t *out, pc_error_t *err)
{
        pc_stack_line_t *v;
        size_t n;
        if (pc_stack_lines(r, &v, &n) != 0) {
                pc_set_error(err, 0, "out of memory building the flame graph");
                return -ENOMEM;
        }
        node_t *root = new_node("all", 3);
        unsigned depth = 0;
        int rc = root == NULL ? -ENOMEM : 0;
        for (size_t i = 0; rc == 0 && i < n; i++)
                rc = add_stack(root, &v[i], &depth);
        pc_stack_lines_free(v, n);
        pc_buf_t b = {0};
        if (rc == 0) {
                double height = (depth + 1) * SVG_ROW + 2 * SVG_PAD + 48;
                pc_buf_printf(&b,
                              "<?xml version=\"1.0\" encoding=\"UTF-8\" standalone=\"yes\"?>\n"
                              "<svg xmlns=\"http://www.w3.org/2000/svg\" version=\"1.1\" "
                              "width=\"%.0f\" height=\"%.0f\" viewBox=\"0 0 %.0f %.0f\">\n",
                              SVG_WIDTH, height, SVG_WIDTH, height);
                pc_buf_printf(&b,
                              "<style>text{font-family:monospace;font-size:%.0fpx;"
                              "fill:#000}</style>\n"
                              "<rect width=\"100%%\" height=\"100%%\" fill=\"#fdfdf6\"/>\n",
                              SVG_FONT);
                pc_buf_printf(&b,
                              "<text x=\"%.0f\" y=\"24\" text-anchor=\"middle\" "
                              "style=\"font-size:16px\">",
                              SVG_WIDTH / 2);
                pc_buf_xml(&b, title != NULL ? title : "Heap profile: in-use bytes");
                pc_buf_str(&b, "</text>\n");
                /* What the widths mean: in-use bytes, estimated from samples taken every
                 * `period` bytes of allocation on average. */
                pc_buf_printf(&b,
                              "<text x=\"%.0f\" y=\"42\" text-anchor=\"middle\">"
                              "in-use bytes: %llu in all; one sample per %llu bytes allocated "
                              "on average (heap_v2/%llu), unbiased as jeprof does</text>\n",
                              SVG_WIDTH / 2, (unsigned long long)root->bytes,
                              (unsigned long long)r->period, (unsigned long long)r->period);
                double scale = root->bytes ? (SVG_WIDTH - 2 * SVG_PAD) / (double)root->bytes : 0;
                if (root->bytes > 0)
                        draw(&b, root, SVG_PAD, SVG_WIDTH - 2 * SVG_PAD, 0, height, scale,
                             root->bytes);
                pc_buf_str(&b, "</svg>\n");
                rc = pc_buf_status(&b);
        }
        free_tree(root);
        if (rc != 0) {
                pc_buf_free(&b);
                pc_set_error(err, 0, "out of memory building the flame graph");
                return rc;
        }
        *out = b;
        return 0;
}
