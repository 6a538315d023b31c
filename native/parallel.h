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

/* Vector jobs below this many elements run on the calling thread (a thread start costs more). */
#define ZK_VEC_PAR_MIN 4096

/* Items [lo, hi) of thread t's share of `count` items split among nt threads. */
static inline void zk_share(size_t count, int t, int nt, size_t *lo, size_t *hi) {
    *lo = count * (size_t)t / (size_t)nt;
    *hi = count * (size_t)(t + 1) / (size_t)nt;
}

#endif
