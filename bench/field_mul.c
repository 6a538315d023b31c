/* Driver for bench/field_mul.py: BN254 Fp Montgomery products, the core's one-at-a-time kernel
 * (4 x 64-bit limbs, MULX/ADX assembly where the CPU has it) against its 8-lane AVX-512 IFMA
 * product (native/ifma.h: zk_vmul, five 52-bit limbs per lane).
 *
 * The check: for random A, B < p and the lifts A + i p, B + j p (i, j < 2: inputs below 2p,
 * as the MSM's additions feed it), the IFMA product is below 2p and equal mod p to the
 * core's product of A and B.
 *
 * Usage: field_mul ROUNDS (prints "checked N", then "scalar NS" and "ifma NS" per product,
 * interleaved, five times each; "ifma none" where the build or the CPU has no IFMA). */
#include "unity.c"

#include "bench_rng.h"

#include <stdio.h>
#include <stdlib.h>
#include <time.h>

static double bench_now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

/* a >= p, for 4-limb a. */
static int bench_fp_ge_p(const limb_t *a) {
    for (int j = N256 - 1; j >= 0; j--)
        if (a[j] != ZK_BN_FP.p[j]) return a[j] > ZK_BN_FP.p[j];
    return 1;
}

/* A random element below p (rejection sampling). */
static void bench_rand_fp(f256 *r) {
    for (;;) {
        for (int i = 0; i < N256; i++) r->l[i] = (limb_t)bench_next();
        r->l[N256 - 1] &= ((limb_t)1 << (ZK_LIMB_BITS - 2)) - 1;
        if (!bench_fp_ge_p(r->l)) return;
    }
}

/* ns per product of the core's kernel: 4 independent chains. */
static double bench_scalar_time(long rounds, uint64_t *sink) {
    f256 s[4], y;
    for (int c = 0; c < 4; c++) bench_rand_fp(&s[c]);
    bench_rand_fp(&y);
    double t = bench_now();
    for (long i = 0; i < rounds; i++)
        for (int c = 0; c < 4; c++) bn_fp_mul(&s[c], &s[c], &y);
    double dt = bench_now() - t;
    for (int c = 0; c < 4; c++) *sink ^= (uint64_t)(s[c].l[0] ^ s[c].l[N256 - 1]);
    return dt * 1e9 / ((double)rounds * 4);
}

#if ZK_HAVE_IFMA
/* a + i p as five 52-bit limbs (a < p, i < 2). */
static void bench_lift(uint64_t out[5], const f256 *a, unsigned i) {
    uint64_t w[5];
    dlimb_t c = 0;
    for (int j = 0; j < 4; j++) {
        c += (dlimb_t)a->l[j] + (dlimb_t)ZK_BN_FP.p[j] * i;
        w[j] = (uint64_t)c;
        c >>= 64;
    }
    w[4] = (uint64_t)c;
    zk_to52(out, w);
}

ZK_IFMA_FN static void bench_v5_load(zk_v5 *v, uint64_t (*l)[5]) {
    uint64_t t[5][8] __attribute__((aligned(64)));
    for (int q = 0; q < 8; q++)
        for (int j = 0; j < 5; j++) t[j][q] = l[q][j];
    for (int j = 0; j < 5; j++) v->l[j] = _mm512_load_si512(t[j]);
}

/* Random products through zk_vmul against the core's; returns the mismatches. */
ZK_IFMA_FN static int bench_ifma_check(int rounds) {
    zk_ifma_vk k;
    zk_ifma_vk_init(&k, &ZK_BN_FP);
    int bad = 0;
    for (int r = 0; r < rounds; r++) {
        f256 A[8], B[8], got[8];
        uint64_t la[8][5], lb[8][5];
        for (int q = 0; q < 8; q++) {
            bench_rand_fp(&A[q]);
            bench_rand_fp(&B[q]);
            bench_lift(la[q], &A[q], (unsigned)((r + q) & 1));
            bench_lift(lb[q], &B[q], (unsigned)((r / 2 + q / 2) & 1));
        }
        zk_v5 va, vb, vr;
        bench_v5_load(&va, la);
        bench_v5_load(&vb, lb);
        zk_vmul(&vr, &va, &vb, &k);
        f256 *gp[8];
        for (int q = 0; q < 8; q++) gp[q] = &got[q];
        zk_v5_store(gp, 8, &vr); /* below 2p < 2^256: fits four limbs */
        for (int q = 0; q < 8; q++) {
            f256 want, g = got[q];
            if (bench_fp_ge_p(g.l)) {
                dlimb_t b = 0;
                for (int j = 0; j < 4; j++) { /* g -= p */
                    dlimb_t d = (dlimb_t)g.l[j] - ZK_BN_FP.p[j] - b;
                    g.l[j] = (limb_t)d;
                    b = (d >> 64) & 1;
                }
            }
            bn_fp_mul(&want, &A[q], &B[q]);
            if (bench_fp_ge_p(g.l) || !bn_fp_eq(&g, &want)) bad++;
        }
    }
    return bad;
}

/* ns per product: 4 independent chains of 8-lane products. */
ZK_IFMA_FN static double bench_ifma_time(long rounds, uint64_t *sink) {
    zk_ifma_vk k;
    zk_ifma_vk_init(&k, &ZK_BN_FP);
    uint64_t l[8][5];
    for (int q = 0; q < 8; q++) {
        f256 a;
        bench_rand_fp(&a);
        bench_lift(l[q], &a, 0);
    }
    zk_v5 s[4], y;
    for (int c = 0; c < 4; c++) bench_v5_load(&s[c], l);
    bench_v5_load(&y, l);
    double t = bench_now();
    for (long i = 0; i < rounds; i++)
        for (int c = 0; c < 4; c++) zk_vmul(&s[c], &s[c], &y, &k);
    double dt = bench_now() - t;
    for (int c = 0; c < 4; c++)
        for (int j = 0; j < 5; j++) *sink ^= (uint64_t)_mm512_reduce_add_epi64(s[c].l[j]);
    return dt * 1e9 / ((double)rounds * 4 * 8);
}
#endif

int main(int argc, char **argv) {
    long rounds = argc > 1 ? atol(argv[1]) : 2000000;
    if (rounds < 1) rounds = 1;
    uint64_t sink = 0;
    int have = zk_ifma_set(-1);
#if ZK_HAVE_IFMA
    if (have) {
        int bad = bench_ifma_check(4096);
        printf("checked %d\n", 4096 * 8);
        if (bad) {
            printf("mismatches %d\n", bad);
            return 1;
        }
    }
#endif
    for (int rep = 0; rep < 5; rep++) {
        printf("scalar %.3f\n", bench_scalar_time(rounds, &sink));
#if ZK_HAVE_IFMA
        if (have) printf("ifma %.3f\n", bench_ifma_time(rounds / 8 + 1, &sink));
#endif
    }
    if (!have) printf("ifma none\n");
    printf("asm %d sink %llx\n", zk_asm_set(-1), (unsigned long long)sink);
    return 0;
}
