/* Driver for bench/arm_insns.py: the whole native core in one translation unit plus marked
 * regions whose retired instructions the script counts from qemu's execution log. Each region
 * lies between two calls of zk_bench_mark(); the regions, in order:
 *   1-2  K1 and K2 rounds of 8 chained BN254 Fp products (4 limbs)
 *   3-4  K1 and K2 rounds of 8 chained BLS12-381 Fp products (6 limbs)
 *   5    one BN254 G1 MSM of N points (one thread, the window zk_msm chooses)
 * Usage: arm_insns K1 K2 N (prints a checksum so that nothing is left out). */
#include "unity.c"

#include "bench_rng.h"

#include <stdio.h>

__attribute__((noinline)) static void zk_bench_mark(void) { __asm__ volatile("" ::: "memory"); }

#define BENCH_MUL(NAME, F, T)                                                                      \
    __attribute__((noinline)) static uint8_t NAME(long rounds) {                                   \
        T x, y;                                                                                    \
        F##_set_one(&x);                                                                           \
        F##_add(&y, &x, &x);                                                                       \
        zk_bench_mark();                                                                           \
        for (long i = 0; i < rounds; i++) {                                                        \
            for (int k = 0; k < 8; k++) F##_mul(&x, &x, &y);                                       \
        }                                                                                          \
        zk_bench_mark();                                                                           \
        return (uint8_t)x.l[0];                                                                    \
    }
BENCH_MUL(bench_mul4, bn_fp, f256)
BENCH_MUL(bench_mul6, bls_fp, f384)

/* N points 1G, 2G, ..., NG (affine, through the API), random scalars below 2^253. */
static int bench_msm(size_t n, uint8_t *out) {
    const size_t pb = zk_point_bytes(ZK_BN254, ZK_G1);
    uint8_t *pts = malloc(n * pb), *table = malloc(n * pb), *ks = malloc(n * 32);
    if (!pts || !table || !ks) return 1;
    memset(pts, 0, pb);
    pts[31] = 1; /* G = (1, 2) */
    pts[63] = 2;
    for (size_t i = 1; i < n; i++) {
        if (zk_point_op(ZK_BN254, ZK_G1, ZK_PT_ADD, pts + (i - 1) * pb, pb, pts, pb, NULL, 0,
                        pts + i * pb, pb))
            return 1;
    }
    for (size_t i = 0; i < n * 32; i++) ks[i] = (uint8_t)bench_next();
    for (size_t i = 0; i < n; i++) ks[32 * i + 31] &= 0x1F;
    size_t bad = 0;
    if (zk_table_load(ZK_BN254, ZK_G1, pts, n * pb, ZK_ENC_BE, n, 0, table, n * pb, &bad)) return 1;
    zk_bench_mark();
    int rc = zk_msm(ZK_BN254, ZK_G1, table, n * pb, 0, n, ks, n * 32, 1, 0, out, pb);
    zk_bench_mark();
    free(pts);
    free(table);
    free(ks);
    return rc;
}

int main(int argc, char **argv) {
    if (argc != 4) {
        fprintf(stderr, "usage: %s K1 K2 N\n", argv[0]);
        return 2;
    }
    const long k1 = atol(argv[1]), k2 = atol(argv[2]);
    const size_t n = (size_t)atol(argv[3]);
    unsigned sum = (unsigned)bench_mul4(k1) + bench_mul4(k2) + bench_mul6(k1) + bench_mul6(k2);
    uint8_t out[64];
    if (bench_msm(n, out)) return 1;
    for (int i = 0; i < 64; i++) sum += out[i];
    printf("asm=%s checksum=%u\n", zk_asm_name(), sum);
    return 0;
}
