/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * fork-while-allocating: proves that fork() is safe while other threads are inside the
 * allocator.  Worker threads allocate, realloc and free (1 B to 1 MiB, with an 8 MiB block
 * now and then) and swap blocks through a lock-free exchange array, while the main thread
 * and a second forking thread fork repeatedly.  Each child must find the heap consistent
 * and usable: it verifies and frees blocks the parent's main thread made before forking
 * and blocks that were in flight between worker threads which do not exist in the child,
 * allocates one block of each size range, runs a few threads of its own that allocate and
 * free across threads, and exits 0 through exit().  The parent checks every child's
 * status.  A deadlock in the parent (e.g. in the allocator's fork handlers) or in a child
 * (a lock inherited in the locked state) fires an alarm() and fails the test.
 *
 * usage: fork-while-allocating [forks=200] [workers=3] [forking_threads=2]
 *                              [child_threads=3] [child_ops=400]
 */
#define _GNU_SOURCE
#include <pthread.h>
#include <stdatomic.h>
#include <sys/wait.h>

#include "stress_obj.h"

#define XFER_SLOTS 64
#define STABLE 32
#define WORKER_SLOTS 32
#define MAX_FORKERS 16
#define CHILD_TIMEOUT_S 15
#define WORKER_MAX_SIZE ((size_t)1 << 20)

static _Atomic(struct sobj *) xfer[XFER_SLOTS];
static struct sobj *stable[STABLE];     /* made by the main thread before any fork */
static atomic_int stop;
static unsigned nworkers, nforkers, child_threads;
static long nforks, child_ops;
static uint64_t seed;
static atomic_uint fork_counter;

static pthread_mutex_t totals_lock = PTHREAD_MUTEX_INITIALIZER;
static uint64_t total_alloc, total_free, total_alloc_sum, total_free_sum, total_worker_ops;

static void merge_totals(const struct sctx *c)
{
        pthread_mutex_lock(&totals_lock);
        total_alloc += c->nalloc;
        total_free += c->nfree;
        total_alloc_sum += c->alloc_sum;
        total_free_sum += c->free_sum;
        pthread_mutex_unlock(&totals_lock);
}

/* One random step on a thread's slots; shared by the parent's workers and child threads. */
static void random_op(struct sctx *c, struct sobj **live, size_t nslots, size_t max_size)
{
        size_t s = rng_below(&c->rng, nslots);
        struct sobj *o = live[s];
        size_t r;

        if (!o) {
                live[s] = sobj_new(c, sobj_pick_size(c, max_size), rng_below(&c->rng, 8) == 0);
                return;
        }
        r = rng_below(&c->rng, 100);
        if (r < 45) {
                sobj_free(c, o, "free");
                live[s] = NULL;
        } else if (r < 60) {
                sobj_realloc(c, o, sobj_pick_size(c, max_size));
        } else if (r < 85) {
                size_t x = rng_below(&c->rng, XFER_SLOTS);

                live[s] = atomic_exchange_explicit(&xfer[x], o, memory_order_acq_rel);
        } else {
                sobj_verify(o, c->id, "check of a live block");
        }
}

static void free_slots(struct sctx *c, struct sobj **live, size_t nslots)
{
        for (size_t s = 0; s < nslots; s++) {
                if (live[s])
                        sobj_free(c, live[s], "free at thread exit");
                live[s] = NULL;
        }
}

static void drain_xfer(struct sctx *c, const char *when)
{
        for (size_t x = 0; x < XFER_SLOTS; x++) {
                struct sobj *o = atomic_exchange(&xfer[x], NULL);

                if (o)
                        sobj_free(c, o, when);
        }
}

static void *worker_main(void *arg)
{
        struct sctx c;
        struct sobj *live[WORKER_SLOTS] = { 0 };
        uint64_t ops = 0;

        sctx_init(&c, (uint32_t)(uintptr_t)arg, seed);
        while (!atomic_load_explicit(&stop, memory_order_relaxed)) {
                random_op(&c, live, WORKER_SLOTS, WORKER_MAX_SIZE);
                if ((++ops & 16383) == 0) {
                        /* A huge block: the allocator's mapping path runs during forks too. */
                        struct sobj *big = sobj_new(&c, (size_t)8 << 20, 0);

                        sobj_free(&c, big, "free of an 8 MiB block");
                }
        }
        free_slots(&c, live, WORKER_SLOTS);
        merge_totals(&c);
        pthread_mutex_lock(&totals_lock);
        total_worker_ops += ops;
        pthread_mutex_unlock(&totals_lock);
        return NULL;
}

static void *child_thread_main(void *arg)
{
        struct sctx c;
        struct sobj *live[16] = { 0 };

        sctx_init(&c, (uint32_t)(uintptr_t)arg, seed ^ 0xC41D);
        for (long i = 0; i < child_ops; i++)
                random_op(&c, live, 16, (size_t)256 << 10);
        free_slots(&c, live, 16);
        return NULL;
}

static void __attribute__((noreturn)) child_main(unsigned fork_no)
{
        static const size_t sizes[] = { 1, 8, 16, 24, 48, 100, 256, 1000, 2048, 4096, 8192,
                                        20000, 65536, 200000, (size_t)1 << 20,
                                        (size_t)8 << 20 };
        static char name[96];
        pthread_t tids[64];
        struct sctx c;

        stress_in_child = 1;
        alarm(CHILD_TIMEOUT_S);
        snprintf(name, sizeof(name), "fork-while-allocating (child of fork #%u)", fork_no);
        check_prog = name;
        sctx_init(&c, 1000000 + fork_no, seed ^ fork_no);

        /* Blocks the parent's main thread made: reallocate half, then free all. */
        for (size_t i = 0; i < STABLE; i++) {
                sobj_verify(stable[i], c.id, "child check of a block made before fork");
                if (i & 1)
                        sobj_realloc(&c, stable[i], sobj_pick_size(&c, (size_t)2 << 20));
                sobj_free(&c, stable[i], "child free of a block made before fork");
        }
        /* Blocks in flight between parent workers, whose threads do not exist here. */
        drain_xfer(&c, "child free of a block made by a parent worker thread");
        /* The heap must serve every size range. */
        for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
                struct sobj *o = sobj_new(&c, sizes[i], (int)(i & 1));

                sobj_realloc(&c, o, sizes[i] < 65536 ? sizes[i] * 3 + 1 : sizes[i] / 2);
                sobj_free(&c, o, "child free of a fresh block");
        }
        /* Threads of the child's own, passing blocks among themselves. */
        for (unsigned t = 0; t < child_threads; t++) {
                int err = pthread_create(&tids[t], NULL, child_thread_main,
                                         (void *)(uintptr_t)(2000000 + t));

                if (err)
                        check_fatal("child of fork #%u: pthread_create: %s", fork_no,
                                    strerror(err));
        }
        for (unsigned t = 0; t < child_threads; t++)
                pthread_join(tids[t], NULL);
        drain_xfer(&c, "child free of a block from a child thread");
        exit(0);
}

static void wait_child(pid_t pid, unsigned fork_no, const char *who)
{
        int st;

        while (waitpid(pid, &st, 0) < 0) {
                if (errno != EINTR)
                        check_fatal("waitpid(%d): %s", (int)pid, strerror(errno));
        }
        if (WIFEXITED(st) && WEXITSTATUS(st) == 0)
                return;
        if (WIFEXITED(st) && WEXITSTATUS(st) == 3)
                check_fatal("child of fork #%u (forked by %s) deadlocked: its %d s watchdog "
                            "fired", fork_no, who, CHILD_TIMEOUT_S);
        if (WIFEXITED(st))
                check_fatal("child of fork #%u (forked by %s) exited with status %d", fork_no,
                            who, WEXITSTATUS(st));
        if (WIFSIGNALED(st))
                check_fatal("child of fork #%u (forked by %s) was killed by signal %d (%s)",
                            fork_no, who, WTERMSIG(st), strsignal(WTERMSIG(st)));
        check_fatal("child of fork #%u (forked by %s): unexpected wait status %#x", fork_no,
                    who, st);
}

static void do_forks(long count, const char *who)
{
        for (long k = 0; k < count; k++) {
                unsigned fork_no = atomic_fetch_add(&fork_counter, 1);
                pid_t pid;
                int tries = 0;

                while ((pid = fork()) < 0) {
                        if (errno != EAGAIN || ++tries > 100)
                                check_fatal("fork #%u: %s", fork_no, strerror(errno));
                        usleep(10000);
                }
                if (pid == 0)
                        child_main(fork_no);
                wait_child(pid, fork_no, who);
        }
}

static void *forker_main(void *arg)
{
        do_forks((long)(uintptr_t)arg, "a second thread");
        return NULL;
}

int main(int argc, char **argv)
{
        pthread_t workers[256], forkers[MAX_FORKERS];
        struct sctx c;
        long per_forker;
        double t0;

        stress_begin("fork-while-allocating", 90);
        nforks = stress_arg(argc, argv, 1, 200, 1, 1000000);
        nworkers = (unsigned)stress_arg(argc, argv, 2, 3, 0, 256);
        nforkers = (unsigned)stress_arg(argc, argv, 3, 2, 1, MAX_FORKERS);
        child_threads = (unsigned)stress_arg(argc, argv, 4, 3, 0, 64);
        child_ops = stress_arg(argc, argv, 5, 400, 0, 100000000);
        seed = (uint64_t)time(NULL);
        fflush(stdout);

        sctx_init(&c, 0, seed);
        for (size_t i = 0; i < STABLE; i++)
                stable[i] = sobj_new(&c, sobj_pick_size(&c, (size_t)2 << 20), (int)(i & 1));

        t0 = stress_now();
        for (unsigned i = 0; i < nworkers; i++) {
                int err = pthread_create(&workers[i], NULL, worker_main,
                                         (void *)(uintptr_t)(1 + i));

                if (err)
                        check_fatal("pthread_create: %s", strerror(err));
        }
        per_forker = nforks / nforkers;
        for (unsigned i = 1; i < nforkers; i++) {
                int err = pthread_create(&forkers[i], NULL, forker_main,
                                         (void *)(uintptr_t)per_forker);

                if (err)
                        check_fatal("pthread_create: %s", strerror(err));
        }
        do_forks(nforks - per_forker * (nforkers - 1), "the main thread");
        for (unsigned i = 1; i < nforkers; i++)
                pthread_join(forkers[i], NULL);
        atomic_store(&stop, 1);
        for (unsigned i = 0; i < nworkers; i++)
                pthread_join(workers[i], NULL);

        drain_xfer(&c, "final free of an exchanged block");
        for (size_t i = 0; i < STABLE; i++)
                sobj_free(&c, stable[i], "final free of a block made before the forks");
        merge_totals(&c);
        if (total_alloc != total_free || total_alloc_sum != total_free_sum)
                check_fatal("checksum mismatch in the parent: %llu blocks made, %llu freed",
                            (unsigned long long)total_alloc, (unsigned long long)total_free);
        printf("fork-while-allocating: ok: %u forks from %u threads while %u threads did %llu "
               "operations; each child ran %u threads; %.2f s\n",
               atomic_load(&fork_counter), nforkers, nworkers,
               (unsigned long long)total_worker_ops, child_threads, stress_now() - t0);
        return 0;
}
