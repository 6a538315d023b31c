/* Minimal fork/join over pthreads. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include "parallel.h"

#include <pthread.h>
#include <sched.h>
#include <stdlib.h>
#include <unistd.h>

#include "zkedge.h"

typedef struct {
    void (*fn)(void *, int, int);
    void *ctx;
    int t, n;
} zk_job;

static void *zk_trampoline(void *arg) {
    zk_job *j = arg;
    j->fn(j->ctx, j->t, j->n);
    return NULL;
}

int zk_parallel(int nthreads, void (*fn)(void *ctx, int t, int nthreads), void *ctx) {
    if (nthreads <= 1) {
        fn(ctx, 0, 1);
        return ZK_OK;
    }
    pthread_t *tids = calloc((size_t)nthreads, sizeof *tids);
    zk_job *jobs = calloc((size_t)nthreads, sizeof *jobs);
    char *started = calloc((size_t)nthreads, 1);
    if (!tids || !jobs || !started) {
        free(tids);
        free(jobs);
        free(started);
        for (int t = 0; t < nthreads; t++) fn(ctx, t, nthreads);
        return ZK_OK;
    }
    int rc = ZK_OK;
    for (int t = 1; t < nthreads; t++) {
        jobs[t] = (zk_job){fn, ctx, t, nthreads};
        started[t] = pthread_create(&tids[t], NULL, zk_trampoline, &jobs[t]) == 0;
    }
    fn(ctx, 0, nthreads);
    for (int t = 1; t < nthreads; t++) {
        if (started[t]) {
            pthread_join(tids[t], NULL);
        } else {
            fn(ctx, t, nthreads);
            rc = ZK_ETHREAD;
        }
    }
    free(tids);
    free(jobs);
    free(started);
    (void)rc; /* work is complete either way */
    return ZK_OK;
}

int zk_cpu_count(void) {
#ifdef CPU_COUNT
    cpu_set_t set;
    if (sched_getaffinity(0, sizeof set, &set) == 0) {
        int n = CPU_COUNT(&set);
        if (n > 0) return n;
    }
#endif
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    return n > 0 ? (int)n : 1;
}

int zk_resolve_threads(int threads, int max_useful) {
    int n = threads > 0 ? threads : zk_cpu_count();
    if (n > 256) n = 256;
    if (max_useful > 0 && n > max_useful) n = max_useful;
    return n < 1 ? 1 : n;
}
