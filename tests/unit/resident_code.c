/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * resident_code: how much of the preloaded liballoc's code a small program keeps resident
 * (docs/architecture.md, "Code layout").  The kernel maps a file's pages in 64 KiB windows
 * around each fault (fault-around), so one function run in a window makes the whole window
 * resident; liballoc links its allocation and start-up paths first and its control plane
 * last, so that such a program's faults stay in the first windows of its code.
 *
 * The program allocates the way small programs do (small blocks of many classes, a large
 * and a huge block, realloc, calloc, a thread that allocates and exits), then counts the
 * resident pages of liballoc's code segment in /proc/self/pagemap (the present bit needs
 * no privilege), and checks:
 *   - at most LIMIT KiB of it are resident (the first two windows: 128 KiB), plus one more
 *     window when the library's load address is not 64 KiB-aligned (its windows then cut
 *     the code at other places);
 *   - the function the dynamic loader calls at exit (DT_FINI) is on a page resident
 *     already, so exiting maps no more code.
 * Prints PASS: or FAIL: lines (tests/CONTRACT.md); exit status 1 on a failure.  Its first
 * line gives the process's RSS at that point under whichever allocator is preloaded (the
 * idle floor of docs/performance.md).
 *
 *   LD_PRELOAD=build/liballoc/liballoc.so build/tests/unit/resident-code [LIMIT_KIB]
 */
#include <elf.h>
#include <fcntl.h>
#include <link.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define WINDOW (64u * 1024u)

struct found {
        uintptr_t base;            /* load address */
        uintptr_t code_lo, code_hi; /* the executable PT_LOAD, page-rounded */
        uintptr_t fini;            /* DT_FINI's address, 0 if none */
};

static int find_liballoc(struct dl_phdr_info *info, size_t size, void *arg)
{
        (void)size;
        struct found *f = arg;
        if (info->dlpi_name == NULL || strstr(info->dlpi_name, "liballoc") == NULL)
                return 0;
        long page = sysconf(_SC_PAGESIZE);
        f->base = info->dlpi_addr;
        for (int i = 0; i < info->dlpi_phnum; i++) {
                const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
                if (ph->p_type == PT_LOAD && (ph->p_flags & PF_X) != 0) {
                        f->code_lo = (info->dlpi_addr + ph->p_vaddr) & ~(uintptr_t)(page - 1);
                        f->code_hi = (info->dlpi_addr + ph->p_vaddr + ph->p_memsz + page - 1) &
                                     ~(uintptr_t)(page - 1);
                }
                if (ph->p_type == PT_DYNAMIC) {
                        const ElfW(Dyn) *d = (const ElfW(Dyn) *)(info->dlpi_addr + ph->p_vaddr);
                        for (; d->d_tag != DT_NULL; d++)
                                if (d->d_tag == DT_FINI)
                                        f->fini = info->dlpi_addr + d->d_un.d_ptr;
                }
        }
        return 1;
}

/* 1 if the page at addr is present in this process, 0 if not, -1 on an error. */
static int present(int pagemap, uintptr_t addr, long page)
{
        uint64_t e;
        if (pread(pagemap, &e, sizeof(e), (off_t)(addr / (uintptr_t)page) * 8) != sizeof(e))
                return -1;
        return (int)(e >> 63);
}

static long rss_kib(void)
{
        FILE *f = fopen("/proc/self/status", "r");
        char line[256];
        long kib = -1;
        while (f != NULL && fgets(line, sizeof(line), f) != NULL)
                if (sscanf(line, "VmRSS: %ld", &kib) == 1)
                        break;
        if (f != NULL)
                fclose(f);
        return kib;
}

static void *volatile sink[256];

static void *worker(void *arg)
{
        (void)arg;
        for (int i = 0; i < 64; i++)
                sink[128 + i] = malloc(24 + (size_t)i * 16);
        for (int i = 0; i < 64; i++)
                free(sink[128 + i]);
        return NULL;
}

static void allocate_like_a_small_program(void)
{
        for (int i = 0; i < 100; i++) {
                sink[i] = malloc(16 + (size_t)(i * 37) % 1000);
                memset(sink[i], 1, 16);
        }
        for (int i = 0; i < 100; i += 2)
                free(sink[i]);
        sink[100] = calloc(10, 100);
        sink[101] = realloc(sink[1], 3000);
        sink[102] = malloc(100 * 1024);
        sink[103] = malloc(4u << 20);
        memset(sink[103], 1, 4096);
        pthread_t t;
        if (pthread_create(&t, NULL, worker, NULL) == 0)
                pthread_join(t, NULL);
        for (int i = 100; i < 104; i++)
                free(sink[i]);
}

int main(int argc, char **argv)
{
        unsigned limit_kib = argc > 1 ? (unsigned)strtoul(argv[1], NULL, 10) : 128;
        allocate_like_a_small_program();
        printf("rss: %ld KiB\n", rss_kib());

        struct found f = {0};
        if (dl_iterate_phdr(find_liballoc, &f) == 0 || f.code_hi <= f.code_lo) {
                printf("FAIL: unit/resident-code: liballoc is not loaded (run it under "
                       "LD_PRELOAD)\n");
                return 1;
        }
        long page = sysconf(_SC_PAGESIZE);
        int pm = open("/proc/self/pagemap", O_RDONLY);
        if (pm < 0) {
                printf("SKIP: unit/resident-code: /proc/self/pagemap cannot be read\n");
                return 0;
        }
        size_t resident = 0, total = 0;
        for (uintptr_t a = f.code_lo; a < f.code_hi; a += (uintptr_t)page, total++) {
                int p = present(pm, a, page);
                if (p < 0) {
                        printf("SKIP: unit/resident-code: /proc/self/pagemap cannot be read\n");
                        return 0;
                }
                resident += (size_t)p;
        }
        int fini_present = f.fini != 0 ? present(pm, f.fini, page) : 1;
        close(pm);

        size_t resident_kib = resident * (size_t)page / 1024, total_kib = total * (size_t)page / 1024;
        bool aligned = f.base % WINDOW == 0;
        size_t bound = limit_kib + (aligned ? 0 : WINDOW / 1024);
        int status = 0;
        if (resident_kib > bound) {
                printf("FAIL: unit/resident-code: %zu KiB of liballoc's %zu KiB of code resident "
                       "(at most %zu; load address %s64 KiB-aligned)\n",
                       resident_kib, total_kib, bound, aligned ? "" : "not ");
                status = 1;
        } else {
                printf("PASS: unit/resident-code: %zu KiB of liballoc's %zu KiB of code resident "
                       "(at most %zu)\n",
                       resident_kib, total_kib, bound);
        }
        if (fini_present != 1) {
                printf("FAIL: unit/resident-code-exit: liballoc's DT_FINI at +0x%zx is on a page "
                       "not resident yet: exiting maps more code\n",
                       (size_t)(f.fini - f.base));
                status = 1;
        } else {
                printf("PASS: unit/resident-code-exit\n");
        }
        return status;
}
