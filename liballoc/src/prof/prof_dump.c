/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * prof_dump: jemalloc's heap_v2 heap profile (the format: docs/profiling.md, section 2),
 * written without allocating: the live records are copied into a mapping of our own under
 * the table lock, then formatted into a fixed buffer with the lock dropped, so sampling
 * threads wait only for the copy.
 * Also the automatic dumps (prof.dump without a name, gdump, interval, exit) and the leak
 * report.
 */
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/conf.h"
#include "os/os.h"
#include "prof/prof.h"
#include "prof/prof_data.h"

/* ---- the snapshot ---------------------------------------------------------------------- */

typedef struct snap_rec {
        const la_prof_ctx_t *ctx; /* stable while la_prof_dump_mtx is held */
        uint32_t thr;             /* index into snap.thr */
        la_prof_cnt_t cur, accum;
} snap_rec_t;

typedef struct snap_thr {
        uint64_t uid;
        char name[LA_PROF_NAME_MAX];
        la_prof_cnt_t cur, accum; /* filled while writing */
} snap_thr_t;

typedef struct snap {
        snap_rec_t *rec;
        size_t nrec;
        snap_thr_t *thr;
        size_t nthr;
        void *map;
        size_t map_size;
        double rate;
} snap_t;

/* la_prof_dump_mtx held. */
static int snapshot(snap_t *sn)
{
        memset(sn, 0, sizeof(*sn));
        sn->rate = (double)((uint64_t)1 << la_prof_lg_sample());
        for (;;) {
                la_mutex_lock(&la_prof_lock);
                size_t nrec = 0, nthr = 0;
                for (la_prof_tdata_t *td = la_prof_threads; td != NULL; td = td->next)
                        nthr++;
                for (size_t b = 0; b < la_prof_ctx_nbuckets; b++)
                        for (la_prof_ctx_t *x = la_prof_ctx_table[b]; x != NULL; x = x->hnext)
                                for (la_prof_tctx_t *t = x->tctxs; t != NULL; t = t->next)
                                        nrec++;
                size_t need = la_align_up(nrec * sizeof(snap_rec_t) + nthr * sizeof(snap_thr_t) +
                                                  64,
                                          LA_PAGE);
                if (need > sn->map_size) {
                        la_mutex_unlock(&la_prof_lock);
                        if (sn->map != NULL)
                                la_os_unmap(sn->map, sn->map_size);
                        sn->map_size = need + need / 4; /* room for what arrives meanwhile */
                        sn->map_size = la_align_up(sn->map_size, LA_PAGE);
                        sn->map = la_os_map(sn->map_size, LA_PAGE);
                        if (sn->map == NULL) {
                                sn->map_size = 0;
                                return ENOMEM;
                        }
                        continue;
                }
                sn->thr = sn->map;
                sn->rec = (snap_rec_t *)la_align_up((uintptr_t)(sn->thr + nthr), 16);
                size_t i = 0;
                for (la_prof_tdata_t *td = la_prof_threads; td != NULL; td = td->next, i++) {
                        sn->thr[i].uid = td->uid;
                        memcpy(sn->thr[i].name, td->name, sizeof(td->name));
                        td->snap_idx = (uint32_t)i;
                }
                sn->nthr = nthr;
                i = 0;
                for (size_t b = 0; b < la_prof_ctx_nbuckets; b++)
                        for (la_prof_ctx_t *x = la_prof_ctx_table[b]; x != NULL; x = x->hnext)
                                for (la_prof_tctx_t *t = x->tctxs; t != NULL; t = t->next) {
                                        sn->rec[i].ctx = x;
                                        sn->rec[i].thr = t->td->snap_idx;
                                        sn->rec[i].cur = t->cur;
                                        sn->rec[i].accum = t->accum;
                                        i++;
                                }
                sn->nrec = nrec;
                la_mutex_unlock(&la_prof_lock);
                return 0;
        }
}

static void snapshot_free(snap_t *sn)
{
        if (sn->map != NULL)
                la_os_unmap(sn->map, sn->map_size);
        sn->map = NULL;
}

/* ---- output ---------------------------------------------------------------------------- */

typedef struct dw {
        int fd;
        int err;
        size_t len, total, max;
        char buf[16384];
} dw_t;

static dw_t dw_buf; /* la_prof_dump_mtx held */

static void dw_flush(dw_t *w)
{
        size_t off = 0;
        while (w->err == 0 && off < w->len) {
                ssize_t r = write(w->fd, w->buf + off, w->len - off);
                if (r < 0 && errno == EINTR)
                        continue;
                if (r <= 0) {
                        w->err = r < 0 ? errno : EIO;
                        break;
                }
                off += (size_t)r;
        }
        w->len = 0;
}

static void dw_put(dw_t *w, const char *s, size_t n)
{
        if (w->max != 0 && w->total + n > w->max) {
                w->err = EFBIG;
                return;
        }
        w->total += n;
        while (n > 0 && w->err == 0) {
                size_t k = sizeof(w->buf) - w->len;
                if (k > n)
                        k = n;
                memcpy(w->buf + w->len, s, k);
                w->len += k;
                s += k;
                n -= k;
                if (w->len == sizeof(w->buf))
                        dw_flush(w);
        }
}

static void dw_str(dw_t *w, const char *s)
{
        dw_put(w, s, strlen(s));
}

static void dw_u64(dw_t *w, uint64_t v)
{
        char b[24];
        dw_str(w, la_fmt_u64(b, v));
}

/* What jemalloc prints for counts: values that jeprof's per-record scaling
 * (1 / (1 - exp(-(bytes/objs)/R))) turns back into the unbiased estimate. */
static void printed(const la_prof_cnt_t *c, double rate, uint64_t *objs, uint64_t *bytes)
{
        if (c->objs == 0 || c->uobjs <= 0 || c->ubytes <= 0) {
                *objs = *bytes = 0;
                return;
        }
        double x = c->ubytes / c->uobjs;
        double y = c->ubytes * -la_expm1_neg(-x / rate);
        double o = floor(y / x + 0.5), b = floor(y + 0.5);
        *objs = o < 1 ? 1 : (uint64_t)o;
        *bytes = b < 1 ? 1 : (uint64_t)b;
}

static void cnt_add(la_prof_cnt_t *to, const la_prof_cnt_t *c)
{
        to->objs += c->objs;
        to->bytes += c->bytes;
        to->uobjs += c->uobjs;
        to->ubytes += c->ubytes;
}

/* "  t<who>: objs: bytes [objs: bytes]" */
static void dw_counts(dw_t *w, const char *who, const la_prof_cnt_t *cur,
                      const la_prof_cnt_t *accum, double rate)
{
        uint64_t o, b;
        dw_str(w, "  t");
        dw_str(w, who);
        dw_str(w, ": ");
        printed(cur, rate, &o, &b);
        dw_u64(w, o);
        dw_str(w, ": ");
        dw_u64(w, b);
        dw_str(w, " [");
        printed(accum, rate, &o, &b);
        dw_u64(w, o);
        dw_str(w, ": ");
        dw_u64(w, b);
        dw_str(w, "]");
}

static bool shown(const la_prof_cnt_t *cur, const la_prof_cnt_t *accum)
{
        return la_opt.prof_accum ? accum->objs != 0 : cur->objs != 0;
}

static void copy_maps(dw_t *w)
{
        int fd = open("/proc/self/maps", O_RDONLY | O_CLOEXEC);
        if (fd < 0)
                return; /* as jemalloc: no section at all */
        dw_str(w, "\nMAPPED_LIBRARIES:\n");
        char b[4096];
        for (;;) {
                ssize_t r = read(fd, b, sizeof(b));
                if (r < 0 && errno == EINTR)
                        continue;
                if (r <= 0)
                        break;
                dw_put(w, b, (size_t)r);
        }
        close(fd);
}

/* Totals of the whole profile, for the leak report. */
typedef struct totals {
        uint64_t objs, bytes, contexts;
} totals_t;

/* la_prof_dump_mtx held. */
static int write_profile(dw_t *w, totals_t *tot)
{
        snap_t sn;
        int rc = snapshot(&sn);
        if (rc != 0)
                return rc;
        la_prof_cnt_t all_cur = {0}, all_accum = {0};
        for (size_t i = 0; i < sn.nrec; i++) {
                snap_rec_t *r = &sn.rec[i];
                cnt_add(&all_cur, &r->cur);
                cnt_add(&all_accum, &r->accum);
                cnt_add(&sn.thr[r->thr].cur, &r->cur);
                cnt_add(&sn.thr[r->thr].accum, &r->accum);
        }
        char num[24];
        dw_str(w, "heap_v2/");
        dw_u64(w, (uint64_t)sn.rate);
        dw_str(w, "\n");
        dw_counts(w, "*", &all_cur, &all_accum, sn.rate);
        dw_str(w, "\n");
        /* Threads in the order they were first seen (the list is newest first). */
        for (size_t k = sn.nthr; k-- > 0;) {
                snap_thr_t *t = &sn.thr[k];
                if (!shown(&t->cur, &t->accum))
                        continue;
                dw_counts(w, la_fmt_u64(num, t->uid), &t->cur, &t->accum, sn.rate);
                if (t->name[0] != '\0') {
                        dw_str(w, " ");
                        dw_str(w, t->name);
                }
                dw_str(w, "\n");
        }
        uint64_t contexts = 0;
        for (size_t i = 0; i < sn.nrec;) {
                const la_prof_ctx_t *x = sn.rec[i].ctx;
                size_t j = i;
                la_prof_cnt_t cur = {0}, accum = {0};
                while (j < sn.nrec && sn.rec[j].ctx == x) {
                        cnt_add(&cur, &sn.rec[j].cur);
                        cnt_add(&accum, &sn.rec[j].accum);
                        j++;
                }
                if (shown(&cur, &accum)) {
                        contexts++;
                        dw_str(w, "@");
                        for (uint32_t f = 0; f < x->nframes; f++) {
                                dw_str(w, " ");
                                dw_str(w, la_fmt_hex(num, x->frames[f]));
                        }
                        dw_str(w, "\n");
                        dw_counts(w, "*", &cur, &accum, sn.rate);
                        dw_str(w, "\n");
                        for (size_t k = i; k < j; k++) {
                                snap_rec_t *r = &sn.rec[k];
                                if (!shown(&r->cur, &r->accum))
                                        continue;
                                dw_counts(w, la_fmt_u64(num, sn.thr[r->thr].uid), &r->cur,
                                          &r->accum, sn.rate);
                                dw_str(w, "\n");
                        }
                }
                i = j;
        }
        copy_maps(w);
        dw_flush(w);
        if (tot != NULL) {
                printed(&all_cur, sn.rate, &tot->objs, &tot->bytes);
                tot->contexts = contexts;
        }
        snapshot_free(&sn);
        return w->err;
}

static int dump_to_fd_locked(int fd, size_t max, totals_t *tot)
{
        dw_t *w = &dw_buf;
        w->fd = fd;
        w->err = 0;
        w->len = w->total = 0;
        w->max = max;
        la_tls_prof_busy++;
        int rc = write_profile(w, tot);
        la_tls_prof_busy--;
        return rc;
}

int la_prof_dump_fd(int fd, size_t max)
{
        la_mutex_lock(&la_prof_dump_mtx);
        int rc = dump_to_fd_locked(fd, max, NULL);
        la_mutex_unlock(&la_prof_dump_mtx);
        return rc;
}

/* ---- files ----------------------------------------------------------------------------- */

static char prefix[LA_CONF_STR_MAX];
static uint64_t seq, seq_m, seq_i, seq_u;
static void (*dump_hook)(const char *);

/* Writes the profile to path through a temporary file renamed into place, so that nobody
 * ever sees a partial profile under that name.  la_prof_dump_mtx held. */
static int dump_file_locked(const char *path, totals_t *tot)
{
        char tmp[4096 + 64], num[24];
        if (la_strlcpy(tmp, path, sizeof(tmp)) >= 4096)
                return EFAULT;
        la_strlcat(tmp, ".tmp.", sizeof(tmp));
        la_strlcat(tmp, la_fmt_u64(num, (uint64_t)getpid()), sizeof(tmp));
        int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0644);
        if (fd < 0)
                return EFAULT;
        int rc = dump_to_fd_locked(fd, 0, tot);
        if (close(fd) != 0 && rc == 0)
                rc = EIO;
        if (rc == 0 && rename(tmp, path) != 0)
                rc = errno;
        if (rc != 0) {
                unlink(tmp);
                return EFAULT;
        }
        void (*hook)(const char *) = __atomic_load_n(&dump_hook, __ATOMIC_ACQUIRE);
        if (hook != NULL)
                hook(path);
        return 0;
}

/* <prefix>.<pid>.<seq>.<tag><n>.heap (no <n> for the exit dump); false if no prefix. */
static bool auto_name(char *out, size_t cap, char tag, uint64_t *tag_seq)
{
        char num[24];
        if (prefix[0] == '\0')
                return false;
        la_strlcpy(out, prefix, cap);
        la_strlcat(out, ".", cap);
        la_strlcat(out, la_fmt_u64(num, (uint64_t)getpid()), cap);
        la_strlcat(out, ".", cap);
        la_strlcat(out, la_fmt_u64(num, seq++), cap);
        la_strlcat(out, ".", cap);
        char t[2] = {tag, '\0'};
        la_strlcat(out, t, cap);
        if (tag_seq != NULL)
                la_strlcat(out, la_fmt_u64(num, (*tag_seq)++), cap);
        la_strlcat(out, ".heap", cap);
        return true;
}

int la_prof_dump_file(const char *path)
{
        char name[LA_CONF_STR_MAX + 96];
        la_mutex_lock(&la_prof_dump_mtx);
        int rc;
        if (path == NULL)
                rc = auto_name(name, sizeof(name), 'm', &seq_m) ? dump_file_locked(name, NULL)
                                                                 : EFAULT;
        else
                rc = dump_file_locked(path, NULL);
        la_mutex_unlock(&la_prof_dump_mtx);
        return rc;
}

int la_prof_set_prefix(const char *p)
{
        if (p == NULL)
                return EINVAL;
        if (strlen(p) >= sizeof(prefix))
                return EINVAL;
        la_mutex_lock(&la_prof_dump_mtx);
        la_strlcpy(prefix, p, sizeof(prefix));
        la_mutex_unlock(&la_prof_dump_mtx);
        return 0;
}

void (*la_prof_dump_hook_get(void))(const char *)
{
        return __atomic_load_n(&dump_hook, __ATOMIC_ACQUIRE);
}

void la_prof_dump_hook_set(void (*hook)(const char *))
{
        __atomic_store_n(&dump_hook, hook, __ATOMIC_RELEASE);
}

/* ---- automatic dumps --------------------------------------------------------------------- */

static _Atomic bool gdump_on, pending_u, pending_i;
static _Atomic size_t gdump_high; /* mapped bytes at the last gdump */
static _Atomic uint64_t interval_acc;  /* sampled bytes, scaled, since start */
static _Atomic uint64_t interval_next; /* the next multiple of the interval */

static LA_WARM void gdump_watch(size_t mapped)
{
        if (!atomic_load_explicit(&gdump_on, memory_order_relaxed) ||
            !atomic_load_explicit(&la_prof_active, memory_order_relaxed))
                return;
        size_t hw = atomic_load_explicit(&gdump_high, memory_order_relaxed);
        while (mapped > hw) {
                if (atomic_compare_exchange_weak(&gdump_high, &hw, mapped)) {
                        atomic_store(&pending_u, true);
                        atomic_store(&la_prof_dump_pending, true);
                        return;
                }
        }
}

bool la_prof_gdump(const bool *set)
{
        bool old = atomic_load(&gdump_on);
        if (set != NULL) {
                if (*set)
                        atomic_store(&gdump_high, la_os_mapped_bytes());
                atomic_store(&gdump_on, *set);
        }
        return old;
}

uint64_t la_prof_interval(void)
{
        return la_opt.lg_prof_interval < 0 ? 0 : (uint64_t)1 << la_opt.lg_prof_interval;
}

void la_prof_interval_add(double bytes)
{
        uint64_t iv = la_prof_interval();
        if (iv == 0)
                return;
        uint64_t now = atomic_fetch_add(&interval_acc, (uint64_t)bytes) + (uint64_t)bytes;
        uint64_t next = atomic_load(&interval_next);
        if (now >= next && atomic_compare_exchange_strong(&interval_next, &next,
                                                          (now / iv + 1) * iv)) {
                atomic_store(&pending_i, true);
                atomic_store(&la_prof_dump_pending, true);
        }
}

void la_prof_dump_due(void)
{
        if (la_tls_prof_busy || !la_mutex_trylock(&la_prof_dump_mtx))
                return; /* a dump is running: it or the next slow path takes it */
        atomic_store(&la_prof_dump_pending, false);
        char name[LA_CONF_STR_MAX + 96];
        if (atomic_exchange(&pending_u, false) && auto_name(name, sizeof(name), 'u', &seq_u))
                dump_file_locked(name, NULL);
        if (atomic_exchange(&pending_i, false) && auto_name(name, sizeof(name), 'i', &seq_i))
                dump_file_locked(name, NULL);
        la_mutex_unlock(&la_prof_dump_mtx);
}

/* At exit: the final dump (prof_final) and the leak report (prof_leak). */
static void prof_exit(void)
{
        if (!la_prof_get_active() && !la_opt.prof)
                return;
        totals_t tot = {0, 0, 0};
        char name[LA_CONF_STR_MAX + 96];
        la_mutex_lock(&la_prof_dump_mtx);
        bool dumped = false;
        if (la_opt.prof_final && auto_name(name, sizeof(name), 'f', NULL))
                dumped = dump_file_locked(name, &tot) == 0;
        if (!dumped && la_opt.prof_leak) {
                int fd = open("/dev/null", O_WRONLY | O_CLOEXEC);
                if (fd >= 0) {
                        dump_to_fd_locked(fd, 0, &tot);
                        close(fd);
                }
        }
        la_mutex_unlock(&la_prof_dump_mtx);
        if (!la_opt.prof_leak || (tot.bytes == 0 && tot.objs == 0))
                return;
        char b[24], o[24], c[24];
        la_messagef("Leak approximation summary: ~", la_fmt_u64(b, tot.bytes),
                    tot.bytes == 1 ? " byte, ~" : " bytes, ~", la_fmt_u64(o, tot.objs),
                    tot.objs == 1 ? " object, >= " : " objects, >= ",
                    la_fmt_u64(c, tot.contexts), tot.contexts == 1 ? " context" : " contexts",
                    (char *)NULL);
        la_messagef("Run jeprof on dump output for leak detail", (char *)NULL);
        if (la_opt.prof_leak_error) {
                la_messagef("Exiting with error code because memory leaks were detected",
                            (char *)NULL);
                _exit(1);
        }
}

LA_BOOT void la_prof_dump_boot(void)
{
        la_strlcpy(prefix, la_opt.prof_prefix, sizeof(prefix));
        atomic_store(&interval_next, la_prof_interval());
        la_os_map_hook = gdump_watch;
        atomic_store(&gdump_on, la_opt.prof_gdump);
        if (la_opt.prof_gdump)
                atomic_store(&gdump_high, la_os_mapped_bytes());
        if (la_opt.prof_final || la_opt.prof_leak)
                atexit(prof_exit);
}
