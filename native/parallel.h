/* Minimal fork/join over pthreads (internal). */
#ifndef ZK_PARALLEL_H
#define ZK_PARALLEL_H

#include <stddef.h>

/* Run fn(ctx, t, nthreads) for t in [0, nthreads): t = 0 on the calling thread, the others on
 * new pthreads; returns ZK_OK, or ZK_ETHREAD if a thread could not be started (the work of any
 * thread that failed to start is then run on the calling thread, so the result is complete). */
int zk_parallel(int nthreads, void (*fn)(void *ctx, int t, int nthreads), void *ctx);

/* Usable cores (respects the affinity mask, so taskset limits it). */
int zk_cpu_count(void);

/* threads <= 0 means all cores; never more than max_useful (when > 0). */
int zk_resolve_threads(int threads, int max_useful);

#endif
