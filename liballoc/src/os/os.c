/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * os: kernel memory calls.  Mappings are private, anonymous and MAP_NORESERVE so that
 * reserved-but-untouched address space costs nothing; purges use madvise.
 */
#include "os/os.h"

#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <sys/auxv.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "os/util.h"

static _Atomic size_t mapped; /* bytes mapped through this module */
void (*la_os_map_hook)(size_t mapped_bytes);

size_t la_os_mapped_bytes(void)
{
        return atomic_load_explicit(&mapped, memory_order_relaxed);
}

static void grew(size_t n)
{
        size_t now = atomic_fetch_add_explicit(&mapped, n, memory_order_relaxed) + n;
        void (*hook)(size_t) = la_os_map_hook;
        if (hook != NULL)
                hook(now);
}

static void *map_raw(size_t size, size_t align);

void *la_os_map(size_t size, size_t align)
{
        void *p = map_raw(size, align);
        if (p != NULL)
                grew(size);
        return p;
}

static void *map_raw(size_t size, size_t align)
{
        int flags = MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE;
        if (align <= LA_PAGE) {
                void *p = mmap(NULL, size, PROT_READ | PROT_WRITE, flags, -1, 0);
                return p == MAP_FAILED ? NULL : p;
        }
        size_t total = size + align - LA_PAGE;
        if (total < size)
                return NULL;
        char *p = mmap(NULL, total, PROT_READ | PROT_WRITE, flags, -1, 0);
        if (p == MAP_FAILED)
                return NULL;
        uintptr_t start = la_align_up((uintptr_t)p, align);
        size_t lead = start - (uintptr_t)p;
        size_t trail = total - lead - size;
        if (lead != 0)
                munmap(p, lead);
        if (trail != 0)
                munmap((char *)start + size, trail);
        return (void *)start;
}

void la_os_unmap(void *addr, size_t size)
{
        int saved = errno;
        if (munmap(addr, size) == 0)
                atomic_fetch_sub_explicit(&mapped, size, memory_order_relaxed);
        errno = saved;
}

int la_os_purge_forced(void *addr, size_t size)
{
        int saved = errno;
        int rc = madvise(addr, size, MADV_DONTNEED) == 0 ? 0 : -errno;
        errno = saved;
        return rc;
}

int la_os_purge_lazy(void *addr, size_t size)
{
        int saved = errno;
        int rc = madvise(addr, size, MADV_FREE) == 0 ? 0 : -errno;
        if (rc == -EINVAL)
                rc = madvise(addr, size, MADV_DONTNEED) == 0 ? 0 : -errno;
        errno = saved;
        return rc;
}

void *la_os_remap(void *addr, size_t old_size, size_t new_size)
{
        int saved = errno;
        void *p = mremap(addr, old_size, new_size, MREMAP_MAYMOVE);
        errno = saved;
        if (p == MAP_FAILED)
                return NULL;
        if (new_size > old_size)
                grew(new_size - old_size);
        else
                atomic_fetch_sub_explicit(&mapped, old_size - new_size, memory_order_relaxed);
        return p;
}

bool la_os_extend(void *addr, size_t old_size, size_t new_size)
{
        int saved = errno;
        void *p = mremap(addr, old_size, new_size, 0);
        errno = saved;
        if (p == MAP_FAILED)
                return false;
        grew(new_size - old_size);
        return true;
}

void la_os_trim(void *addr, size_t old_size, size_t new_size)
{
        if (new_size < old_size)
                la_os_unmap((char *)addr + new_size, old_size - new_size);
}

bool la_os_guard(void *addr, size_t size, bool on)
{
        return mprotect(addr, size, on ? PROT_NONE : PROT_READ | PROT_WRITE) == 0;
}

/* The raw system call and our own count: glibc's sched_getaffinity and CPU_COUNT are
 * in pages of libc that a small program never runs otherwise, and each first call
 * maps 64 KiB of them (docs/architecture.md, "Code layout"). */
unsigned la_os_ncpus(void)
{
        uint64_t mask[16]; /* 1024 CPUs; a kernel built for more refuses it: sysconf */
        long got = syscall(SYS_sched_getaffinity, 0, sizeof(mask), mask);
        if (got > 0) {
                unsigned n = 0;
                for (size_t i = 0; i < (size_t)got / sizeof(mask[0]); i++)
                        for (uint64_t m = mask[i]; m != 0; m &= m - 1) /* no libgcc call */
                                n++;
                if (n > 0)
                        return n;
        }
        long n = sysconf(_SC_NPROCESSORS_ONLN);
        return n > 0 ? (unsigned)n : 1;
}

/* pthread_atfork is not in libc.so but a one-line wrapper in libc_nonshared.a, statically
 * linked after all of liballoc's code, so calling it would map the library's last pages.
 * The wrapper passes the caller's __dso_handle to glibc's exported __register_atfork;
 * so does this. */
extern int __register_atfork(void (*prepare)(void), void (*parent)(void), void (*child)(void),
                             void *dso);
extern void *__dso_handle;

int la_os_atfork(void (*prepare)(void), void (*parent)(void), void (*child)(void))
{
        return __register_atfork(prepare, parent, child, &__dso_handle);
}

uint64_t la_os_coarse_ns(void)
{
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
        return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

uint64_t la_os_now_ns(void)
{
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

size_t la_os_rss_bytes(void)
{
        int saved = errno;
        int fd = open("/proc/self/statm", O_RDONLY | O_CLOEXEC);
        if (fd < 0) {
                errno = saved;
                return 0;
        }
        char buf[128];
        ssize_t n = read(fd, buf, sizeof(buf) - 1);
        close(fd);
        errno = saved;
        if (n <= 0)
                return 0;
        buf[n] = '\0';
        const char *p = buf;
        while (*p != ' ' && *p != '\0')
                p++;
        size_t pages = 0;
        while (*p == ' ')
                p++;
        while (*p >= '0' && *p <= '9')
                pages = pages * 10 + (size_t)(*p++ - '0');
        return pages * (size_t)sysconf(_SC_PAGESIZE);
}

/* splitmix64's finaliser: every input bit reaches every output bit. */
static uint64_t mix64(uint64_t x)
{
        x ^= x >> 30;
        x *= 0xbf58476d1ce4e5b9ull;
        x ^= x >> 27;
        x *= 0x94d049bb133111ebull;
        return x ^ (x >> 31);
}

uint64_t la_os_random64(void)
{
        uint64_t v = 0;
        long n = syscall(SYS_getrandom, &v, sizeof(v), 1 /* GRND_NONBLOCK */);
        const unsigned char *at = (const unsigned char *)getauxval(AT_RANDOM);
        uint64_t a = 0;
        if (at != NULL)
                for (int i = 8; i < 16; i++) /* glibc's stack guard takes the first 8 */
                        a = a << 8 | at[i];
        uint64_t t = la_os_now_ns() ^ ((uint64_t)(uintptr_t)&v << 17);
        return n == (long)sizeof(v) ? mix64(v ^ mix64(a)) : mix64(a ^ mix64(t));
}
