/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * probes: USDT probes (systemtap's static markers, <sys/sdt.h>) for eBPF profilers and
 * tracers (docs/profiling.md, "Probes").  Each probe is one nop instruction in the code
 * and a note in the ELF section .note.stapsdt naming its provider, name and arguments;
 * nothing runs and nothing is read unless a tracer attaches, which turns the nop into a
 * breakpoint.  Provider "liballoc":
 *
 *   prof_alloc(ptr, size, weight)  a sampled allocation: its address, usable size, and the
 *                                  bytes it stands for (size / P(sampled))
 *   prof_free(ptr, size)           the free of a sampled object (address, usable size)
 *   purge(arena, bytes, lazy)      pages an arena handed back in one pass: its index, the
 *                                  bytes, 1 for MADV_FREE (dirty to muzzy), 0 for
 *                                  MADV_DONTNEED
 *
 * and, at the same two sampling sites, OpenTelemetry's memory-profiling contract (provider
 * "otel_memory"), which the OpenTelemetry eBPF profiler attaches to:
 *
 *   alloc(ptr, size, weight)       as prof_alloc: weight is the unbiased bytes
 *   free(ptr)                      as prof_free
 *
 * Only slow paths carry them (a sampled allocation already takes a backtrace).  Built
 * without the header (Debian's systemtap-sdt-dev), they are nothing.
 */
#ifndef LA_PROBES_H
#define LA_PROBES_H

#ifdef LA_HAVE_SDT
#include <sys/sdt.h>
#define LA_PROBE2(name, a, b) STAP_PROBE2(liballoc, name, a, b)
#define LA_PROBE3(name, a, b, c) STAP_PROBE3(liballoc, name, a, b, c)
#define LA_OTEL_ALLOC(p, size, weight) STAP_PROBE3(otel_memory, alloc, p, size, weight)
#define LA_OTEL_FREE(p) STAP_PROBE1(otel_memory, free, p)
#else
#define LA_PROBE2(name, a, b) ((void)0)
#define LA_PROBE3(name, a, b, c) ((void)0)
#define LA_OTEL_ALLOC(p, size, weight) ((void)0)
#define LA_OTEL_FREE(p) ((void)0)
#endif

#endif
