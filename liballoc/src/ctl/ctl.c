/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * ctl: the root of the mallctl tree, name and MIB lookup, and the lock every call holds.
 * The subtrees live in ctl_opt.c (opt.*, config.*), ctl_stats.c (stats.*) and
 * ctl_arena.c (thread.*, tcache.*, arena.<i>.*, arenas.*, prof.*, experimental.*).
 */
#include "ctl/ctl.h"

#include <string.h>

#include "ctl/ctl_tree.h"
#include "stats/stats.h"
#include "core/thread.h"

static la_mutex_t ctl_lock = LA_MUTEX_INITIALIZER("mallctl", LA_RANK_CTL);
static bool ctl_ready; /* the first call takes the first snapshot (epoch 1), as jemalloc */

static void lock_ctl(void)
{
        la_mutex_lock(&ctl_lock);
        if (LA_UNLIKELY(!ctl_ready)) {
                ctl_ready = true;
                la_stats_refresh();
        }
}

LA_BOOT la_mutex_t *la_ctl_mutex(void)
{
        return &ctl_lock;
}

void la_ctl_prefork(void)
{
        la_mutex_prefork(&ctl_lock);
}

void la_ctl_postfork_parent(void)
{
        la_mutex_postfork_parent(&ctl_lock);
}

void la_ctl_postfork_child(void)
{
        la_mutex_postfork_child(&ctl_lock);
}

/* ---- value plumbing ---------------------------------------------------------------- */

int la_ctl_read_out(void *oldp, size_t *oldlenp, const void *v, size_t size)
{
        if (oldp == NULL || oldlenp == NULL)
                return 0;
        if (*oldlenp != size) {
                size_t n = *oldlenp < size ? *oldlenp : size;
                memcpy(oldp, v, n);
                *oldlenp = n;
                return EINVAL;
        }
        memcpy(oldp, v, size);
        return 0;
}

int la_ctl_write_in(const void *newp, size_t newlen, void *v, size_t size)
{
        if (newlen != size)
                return EINVAL;
        memcpy(v, newp, size);
        return 0;
}

/* ---- root -------------------------------------------------------------------------- */

static const char *const version_str = "5.3.0-0-g54eaed1d8b56b1aa528be3bdd1877e59c56fa90c";
CTL_RO(version_ctl, const char *, version_str)

CTL_FN(epoch_ctl)
{
        CTL_UNUSED();
        if (newp != NULL) {
                uint64_t unused;
                int rc = la_ctl_write_in(newp, newlen, &unused, sizeof(unused));
                if (rc != 0)
                        return rc;
                /* The caller's slabs that other threads emptied go back first, so the
                 * figures show them as free (Redis reads active after a lazy free). */
                la_thread_trim();
                la_stats_refresh();
        }
        uint64_t e = la_stats_epoch();
        return la_ctl_read_out(oldp, oldlenp, &e, sizeof(e));
}

static const ctl_node_t root_nodes[] = {
        CTL_LEAF("version", version_ctl, "const char *", "r-"),
        CTL_LEAF("epoch", epoch_ctl, "uint64_t", "rw"),
        CTL_LEAF("background_thread", la_ctl_background_thread, "bool", "rw"),
        CTL_LEAF("max_background_threads", la_ctl_max_background_threads, "size_t", "rw"),
        CTL_NODE("thread", la_ctl_thread_nodes),
        CTL_NODE("config", la_ctl_config_nodes),
        CTL_NODE("opt", la_ctl_opt_nodes),
        CTL_NODE("tcache", la_ctl_tcache_nodes),
        CTL_INDEXED("arena", la_ctl_arena_i, la_ctl_arena_index_ok),
        CTL_NODE("arenas", la_ctl_arenas_nodes),
        CTL_NODE("prof", la_ctl_prof_nodes),
        CTL_NODE("stats", la_ctl_stats_nodes),
        CTL_NODE("experimental", la_ctl_experimental_nodes),
        CTL_NODE("pressure", la_ctl_pressure_nodes), /* liballoc's own (pressure.h) */
        CTL_END,
};
static const ctl_node_t root = CTL_NODE("", root_nodes);

/* ---- lookup ------------------------------------------------------------------------ */

/* Parses a decimal component; false if it is not a plain number. */
static bool parse_index(const char *s, size_t len, size_t *ret)
{
        if (len == 0 || len > 19)
                return false;
        size_t v = 0;
        for (size_t i = 0; i < len; i++) {
                if (s[i] < '0' || s[i] > '9')
                        return false;
                v = v * 10 + (size_t)(s[i] - '0');
        }
        *ret = v;
        return true;
}

/* Walks name; fills mib (up to LA_CTL_MAX_DEPTH) and returns the node reached. */
static int lookup(const char *name, size_t *mib, size_t *ret_depth, const ctl_node_t **ret)
{
        const ctl_node_t *node = &root;
        size_t depth = 0;
        const char *p = name;
        if (name == NULL || *name == '\0')
                return ENOENT;
        for (;;) {
                const char *dot = strchr(p, '.');
                size_t len = dot != NULL ? (size_t)(dot - p) : strlen(p);
                if (node->handler != NULL || depth >= LA_CTL_MAX_DEPTH)
                        return ENOENT; /* components past a leaf */
                const ctl_node_t *next = NULL;
                if (node->indexed) {
                        size_t idx;
                        if (!parse_index(p, len, &idx) || node->index_ok(idx) != 0)
                                return ENOENT;
                        mib[depth] = idx;
                        next = &node->children[0];
                } else {
                        for (size_t i = 0; node->children[i].name != NULL; i++) {
                                const char *cn = node->children[i].name;
                                if (strlen(cn) == len && memcmp(cn, p, len) == 0) {
                                        mib[depth] = i;
                                        next = &node->children[i];
                                        break;
                                }
                        }
                        if (next == NULL)
                                return ENOENT;
                }
                depth++;
                node = next;
                if (dot == NULL)
                        break;
                p = dot + 1;
        }
        *ret_depth = depth;
        *ret = node;
        return 0;
}

static size_t nchildren(const ctl_node_t *node)
{
        size_t n = 0;
        while (node->children[n].name != NULL)
                n++;
        return n;
}

static int walk_mib(const size_t *mib, size_t miblen, const ctl_node_t **ret)
{
        const ctl_node_t *node = &root;
        if (miblen == 0 || miblen > LA_CTL_MAX_DEPTH)
                return ENOENT;
        for (size_t d = 0; d < miblen; d++) {
                if (node->handler != NULL)
                        return ENOENT;
                if (node->indexed) {
                        if (node->index_ok(mib[d]) != 0)
                                return ENOENT;
                        node = &node->children[0];
                } else {
                        if (mib[d] >= nchildren(node))
                                return ENOENT;
                        node = &node->children[mib[d]];
                }
        }
        *ret = node;
        return 0;
}

int la_ctl_byname(const char *name, void *oldp, size_t *oldlenp, void *newp, size_t newlen)
{
        size_t mib[LA_CTL_MAX_DEPTH], depth;
        const ctl_node_t *node;
        lock_ctl();
        int rc = lookup(name, mib, &depth, &node);
        if (rc == 0)
                rc = node->handler != NULL
                             ? node->handler(mib, depth, oldp, oldlenp, newp, newlen)
                             : ENOENT; /* stops at an interior node */
        la_mutex_unlock(&ctl_lock);
        return rc;
}

int la_ctl_leaf_info(const char *name, const char **type, const char **rw)
{
        size_t mib[LA_CTL_MAX_DEPTH], depth;
        const ctl_node_t *node;
        lock_ctl();
        int rc = lookup(name, mib, &depth, &node);
        la_mutex_unlock(&ctl_lock);
        if (rc != 0)
                return rc;
        if (node->handler == NULL)
                return ENOENT;
        *type = node->type;
        *rw = node->rw;
        return 0;
}

int la_ctl_nametomib(const char *name, size_t *mibp, size_t *miblenp)
{
        size_t mib[LA_CTL_MAX_DEPTH], depth;
        const ctl_node_t *node;
        if (mibp == NULL || miblenp == NULL)
                return EINVAL;
        lock_ctl();
        int rc = lookup(name, mib, &depth, &node);
        la_mutex_unlock(&ctl_lock);
        if (rc != 0)
                return rc;
        size_t n = depth < *miblenp ? depth : *miblenp;
        memcpy(mibp, mib, n * sizeof(size_t));
        *miblenp = n;
        return 0;
}

int la_ctl_bymib(const size_t *mib, size_t miblen, void *oldp, size_t *oldlenp, void *newp,
                 size_t newlen)
{
        const ctl_node_t *node;
        if (mib == NULL)
                return ENOENT;
        lock_ctl();
        int rc = walk_mib(mib, miblen, &node);
        if (rc == 0)
                rc = node->handler != NULL
                             ? node->handler(mib, miblen, oldp, oldlenp, newp, newlen)
                             : ENOENT;
        la_mutex_unlock(&ctl_lock);
        return rc;
}

/* ---- listing ----------------------------------------------------------------------- */

static int walk_node(const ctl_node_t *node, char *buf, size_t len, unsigned nidx,
                     int (*fn)(const char *, const char *, const char *, void *), void *arg)
{
        if (node->handler != NULL)
                return fn(buf, node->type, node->rw, arg);
        if (node->indexed) {
                const char *ph = nidx == 0 ? "<i>" : "<j>";
                size_t l = len;
                if (l != 0)
                        buf[l++] = '.';
                memcpy(buf + l, ph, 4);
                return walk_node(&node->children[0], buf, l + 3, nidx + 1, fn, arg);
        }
        for (const ctl_node_t *c = node->children; c->name != NULL; c++) {
                size_t l = len, nl = strlen(c->name);
                if (l != 0)
                        buf[l++] = '.';
                memcpy(buf + l, c->name, nl + 1);
                int rc = walk_node(c, buf, l + nl, nidx, fn, arg);
                if (rc != 0)
                        return rc;
        }
        return 0;
}

int la_ctl_walk(int (*fn)(const char *name, const char *type, const char *rw, void *arg),
                void *arg)
{
        char buf[256];
        buf[0] = '\0';
        return walk_node(&root, buf, 0, 0, fn, arg);
}
