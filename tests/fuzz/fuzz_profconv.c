/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * fuzz_profconv: a libFuzzer target for profconv's untrusted inputs.  An input starting
 * with "\177ELF" is an ELF file: it is written to an anonymous memory file and read by the
 * ELF reader (pc_elf_read) with a budget taken from the input, then looked up at a few
 * addresses.  Any other input is a heap_v2 dump: parsed, resolved without reading files,
 * and written as folded stacks, SVG and pprof.  Checked: no out-of-bounds access, no
 * undefined behaviour (-fno-sanitize-recover), a consumed budget never above the one
 * given, symbol names NUL-terminated within their pool.
 *
 * Run by `FUZZ_TARGET=profconv tests/fuzz/run.sh SECONDS` (tests/run.sh: 10 s).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "elf_file.h"
#include "pc/profconv.h"

static void fuzz_elf(const uint8_t *data, size_t size)
{
        int fd = memfd_create("fuzz-elf", MFD_CLOEXEC);
        if (fd < 0)
                return;
        if (write(fd, data, size) != (ssize_t)size) {
                close(fd);
                return;
        }
        /* The budget: from bytes 20..23 of the header area (e_version, unused here). */
        uint64_t budget = size > 24 ? ((uint64_t)data[20] << 8 | data[21]) * 16 : 1u << 20;
        uint64_t given = budget;
        pc_elf_t e;
        /* The size claimed may be larger than the file: reads past its end are short. */
        uint64_t claimed = size + (size > 22 ? data[22] : 0);
        if (pc_elf_read(fd, claimed, &budget, &e) == 0) {
                if (budget > given)
                        abort();
                for (size_t i = 0; i < e.nsyms; i++) {
                        if (strlen(e.syms[i].name) == 0)
                                abort();
                        if (i > 0 && e.syms[i - 1].value >= e.syms[i].value)
                                abort();
                }
                uint64_t v;
                for (uint64_t off = 0; off < 0x3000; off += 0x101)
                        if (pc_elf_vaddr(&e, off, &v))
                                (void)pc_elf_lookup(&e, v);
                pc_elf_close(&e);
        } else if (budget > given) {
                abort();
        }
        close(fd);
}

static void fuzz_dump(const uint8_t *data, size_t size)
{
        char *text = malloc(size ? size : 1);
        if (text == NULL)
                return;
        memcpy(text, data, size);
        pc_profile_t p;
        pc_error_t err;
        if (pc_heap_parse(text, size, &p, &err) == 0) {
                pc_resolve_opts_t o = {.no_symbols = true, .no_trim = size % 2 == 0};
                pc_resolved_t r;
                if (pc_resolve(&p, &o, &r, &err) == 0) {
                        pc_buf_t b = {0};
                        if (pc_write_folded(&r, &b, &err) == 0)
                                pc_buf_free(&b);
                        if (pc_write_svg(&r, NULL, &b, &err) == 0)
                                pc_buf_free(&b);
                        if (pc_write_pprof_raw(&r, &b, &err) == 0)
                                pc_buf_free(&b);
                        pc_resolved_free(&r);
                }
                pc_profile_free(&p);
        }
        free(text);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        if (size >= 4 && memcmp(data, "\177ELF", 4) == 0)
                fuzz_elf(data, size);
        else
                fuzz_dump(data, size);
        return 0;
}
