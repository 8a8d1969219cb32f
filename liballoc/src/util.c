/*
 * util: diagnostics and formatting without allocation.  Every message liballoc prints goes
 * through la_message so the application's malloc_message hook sees it.
 */
#include "util.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

LA_EXPORT void (*malloc_message)(void *cbopaque, const char *s);
void (*la_safety_check_abort)(const char *msg);

static void default_abort(void)
{
        abort();
}
void (*la_abort_hook)(void) = default_abort;

static void write_all(int fd, const char *s, size_t n)
{
        while (n > 0) {
                ssize_t w = write(fd, s, n);
                if (w <= 0)
                        return;
                s += w;
                n -= (size_t)w;
        }
}

void la_message(const char *s)
{
        if (malloc_message != NULL)
                malloc_message(NULL, s);
        else
                write_all(STDERR_FILENO, s, strlen(s));
}

void la_messagef(const char *first, ...)
{
        char buf[512];
        va_list ap;
        la_strlcpy(buf, "<jemalloc>: ", sizeof(buf));
        va_start(ap, first);
        for (const char *p = first; p != NULL; p = va_arg(ap, const char *))
                la_strlcat(buf, p, sizeof(buf) - 1);
        va_end(ap);
        la_strlcat(buf, "\n", sizeof(buf));
        la_message(buf);
}

void la_fatal(const char *msg)
{
        char buf[256];
        la_strlcpy(buf, "<jemalloc>: liballoc: ", sizeof(buf));
        la_strlcat(buf, msg, sizeof(buf) - 1);
        la_strlcat(buf, "\n", sizeof(buf));
        write_all(STDERR_FILENO, buf, strlen(buf));
        if (la_safety_check_abort != NULL)
                la_safety_check_abort(buf);
        la_abort_hook();
        abort();
}

void la_fatal_assert(const char *file, int line, const char *cond)
{
        char buf[256], num[24];
        la_strlcpy(buf, "assertion failed: ", sizeof(buf));
        la_strlcat(buf, cond, sizeof(buf));
        la_strlcat(buf, " at ", sizeof(buf));
        la_strlcat(buf, file, sizeof(buf));
        la_strlcat(buf, ":", sizeof(buf));
        la_strlcat(buf, la_fmt_u64(num, (uint64_t)line), sizeof(buf));
        la_fatal(buf);
}

char *la_fmt_u64(char *buf, uint64_t v)
{
        char tmp[24];
        int n = 0;
        do {
                tmp[n++] = (char)('0' + v % 10);
                v /= 10;
        } while (v != 0);
        for (int i = 0; i < n; i++)
                buf[i] = tmp[n - 1 - i];
        buf[n] = '\0';
        return buf;
}

char *la_fmt_i64(char *buf, int64_t v)
{
        if (v < 0) {
                buf[0] = '-';
                la_fmt_u64(buf + 1, (uint64_t)0 - (uint64_t)v);
                return buf;
        }
        return la_fmt_u64(buf, (uint64_t)v);
}

char *la_fmt_hex(char *buf, uint64_t v)
{
        static const char digits[] = "0123456789abcdef";
        char tmp[20];
        int n = 0;
        do {
                tmp[n++] = digits[v & 15];
                v >>= 4;
        } while (v != 0);
        buf[0] = '0';
        buf[1] = 'x';
        for (int i = 0; i < n; i++)
                buf[2 + i] = tmp[n - 1 - i];
        buf[2 + n] = '\0';
        return buf;
}

size_t la_strlcpy(char *dst, const char *src, size_t cap)
{
        size_t n = strlen(src);
        if (cap == 0)
                return n;
        size_t c = n < cap - 1 ? n : cap - 1;
        memcpy(dst, src, c);
        dst[c] = '\0';
        return c;
}

size_t la_strlcat(char *dst, const char *src, size_t cap)
{
        size_t d = strnlen(dst, cap);
        if (d >= cap)
                return d;
        return d + la_strlcpy(dst + d, src, cap - d);
}

__thread char la_thread_tag __attribute__((tls_model("initial-exec")));

void la_mutex_init(la_mutex_t *mu)
{
        pthread_mutexattr_t attr;
        pthread_mutexattr_init(&attr);
        pthread_mutexattr_settype(&attr, PTHREAD_MUTEX_ADAPTIVE_NP);
        pthread_mutex_init(&mu->m, &attr);
        pthread_mutexattr_destroy(&attr);
        atomic_store_explicit(&mu->nwaiting, 0, memory_order_relaxed);
}

#define SPIN_MAX 64 /* read-only polls of the lock word before blocking */

static uint64_t now_ns(void)
{
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

void la_mutex_lock_slow(la_mutex_t *mu)
{
        /* Poll without writing (a failed trylock would pull the line away from the
         * holder), then try once more before blocking. */
        for (int i = 0; i < SPIN_MAX; i++) {
#if defined(__x86_64__) || defined(__i386__)
                __builtin_ia32_pause();
#endif
                if (__atomic_load_n(&mu->m.__data.__lock, __ATOMIC_RELAXED) == 0 &&
                    pthread_mutex_trylock(&mu->m) == 0) {
                        mu->prof.num_spin_acq++;
                        return;
                }
        }
        uint64_t start = now_ns();
        uint32_t n = atomic_fetch_add_explicit(&mu->nwaiting, 1, memory_order_relaxed) + 1;
        pthread_mutex_lock(&mu->m);
        atomic_fetch_sub_explicit(&mu->nwaiting, 1, memory_order_relaxed);
        uint64_t waited = now_ns() - start;
        mu->prof.num_wait++;
        mu->prof.total_wait_time += waited;
        if (waited > mu->prof.max_wait_time)
                mu->prof.max_wait_time = waited;
        if (n > mu->prof.max_num_thds)
                mu->prof.max_num_thds = n;
}

void la_mutex_prof_read(la_mutex_t *mu, la_mutex_prof_t *out, bool reset)
{
        la_mutex_lock(mu);
        *out = mu->prof;
        if (reset) {
                memset(&mu->prof, 0, sizeof(mu->prof));
                mu->last_owner = NULL;
        }
        la_mutex_unlock(mu);
}
