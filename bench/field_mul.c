/* Driver for bench/field_mul.py: BN254 Fp Montgomery products, the native core's scalar kernel
 * (4 x 64-bit limbs, MULX/ADX assembly where the CPU has it) against an 8-lane AVX-512 IFMA
 * product (5 x 52-bit limbs per lane, R' = 2^260) that the core does not have yet.
 *
 * The IFMA product and the value bounds it is checked at:
 *   vmul(a, b) = a b 2^-260 mod p, one lane per 64-bit element, operand-scanning Montgomery
 *   with 52-bit digits; any inputs a, b < 8p give an output below 2p, unnormalised limbs
 *   carried once at the end. 8p < 2^257 fits five 52-bit limbs; a b / 2^260 + p < 1.76 p.
 *   A core value A = a 2^256 mod p (< p) enters as vmul(A, 2^264 mod p) = a 2^260 (< 2p) and
 *   leaves as vmul(x, 2^256 mod p) = a 2^256 (< 2p, then one conditional subtraction of p).
 * The check: for random A, B < p and lifts A + i p, B + j p (i, j < 8), the IFMA path's
 * product, converted back, equals the scalar kernel's product of A and B.
 *
 * Usage: field_mul ROUNDS (prints "scalar NS", "ifma NS" per product, or "ifma none" where
 * the CPU lacks AVX-512 IFMA, and "checked N"). */
#include "unity.c"

#include <stdio.h>
#include <stdlib.h>
#include <time.h>

static uint64_t bench_rng = 0x9E3779B97F4A7C15ull;
static uint64_t bench_next(void) {
    bench_rng ^= bench_rng >> 12;
    bench_rng ^= bench_rng << 25;
    bench_rng ^= bench_rng >> 27;
    return bench_rng * 0x2545F4914F6CDD1Dull;
}

static double bench_now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

/* a >= p, for 4-limb a. */
static int bench_fp_ge_p(const uint64_t a[4]) {
    for (int j = 3; j >= 0; j--)
        if (a[j] != ZK_BN_FP.p[j]) return a[j] > ZK_BN_FP.p[j];
    return 1;
}

/* A random element below p (rejection sampling on 254 bits). */
static void bench_rand_fp(f256 *r) {
    for (;;) {
        for (int i = 0; i < 4; i++) r->l[i] = bench_next();
        r->l[3] &= ((uint64_t)1 << 62) - 1;
        if (!bench_fp_ge_p(r->l)) return;
    }
}

/* 5 x 64 -> 5 x 52 limbs (a < 2^260). */
static void bench_to52(uint64_t out[5], const uint64_t a[5]) {
    const uint64_t m = ((uint64_t)1 << 52) - 1;
    out[0] = a[0] & m;
    out[1] = ((a[0] >> 52) | (a[1] << 12)) & m;
    out[2] = ((a[1] >> 40) | (a[2] << 24)) & m;
    out[3] = ((a[2] >> 28) | (a[3] << 36)) & m;
    out[4] = (a[3] >> 16) | (a[4] << 48);
}

/* 5 x 52 (normalised, value < 2^256) -> 4 x 64 limbs. */
static void bench_from52(uint64_t a[4], const uint64_t l[5]) {
    a[0] = l[0] | (l[1] << 52);
    a[1] = (l[1] >> 12) | (l[2] << 40);
    a[2] = (l[2] >> 24) | (l[3] << 28);
    a[3] = (l[3] >> 36) | (l[4] << 16);
}

#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>
#define BENCH_IFMA __attribute__((target("avx512f,avx512ifma")))

typedef struct {
    __m512i l[5];
} bench_v5;

/* r = a b 2^-260 mod p in each of 8 lanes (a, b < 8p; r < 2p, limbs normalised to 52 bits). */
BENCH_IFMA static inline void bench_vmul(bench_v5 *r, const bench_v5 *a, const bench_v5 *b,
                                         const __m512i *P, __m512i n0, __m512i mask) {
    __m512i t0 = _mm512_setzero_si512(), t1 = t0, t2 = t0, t3 = t0, t4 = t0, t5 = t0;
    for (int i = 0; i < 5; i++) {
        __m512i bi = b->l[i];
        t0 = _mm512_madd52lo_epu64(t0, a->l[0], bi);
        t1 = _mm512_madd52lo_epu64(t1, a->l[1], bi);
        t2 = _mm512_madd52lo_epu64(t2, a->l[2], bi);
        t3 = _mm512_madd52lo_epu64(t3, a->l[3], bi);
        t4 = _mm512_madd52lo_epu64(t4, a->l[4], bi);
        t1 = _mm512_madd52hi_epu64(t1, a->l[0], bi);
        t2 = _mm512_madd52hi_epu64(t2, a->l[1], bi);
        t3 = _mm512_madd52hi_epu64(t3, a->l[2], bi);
        t4 = _mm512_madd52hi_epu64(t4, a->l[3], bi);
        t5 = _mm512_madd52hi_epu64(t5, a->l[4], bi);
        /* m = t0 * (-1/p) mod 2^52 makes t0 + m p divisible by 2^52 */
        __m512i m = _mm512_madd52lo_epu64(_mm512_setzero_si512(), t0, n0);
        t0 = _mm512_madd52lo_epu64(t0, m, P[0]);
        t1 = _mm512_madd52lo_epu64(t1, m, P[1]);
        t2 = _mm512_madd52lo_epu64(t2, m, P[2]);
        t3 = _mm512_madd52lo_epu64(t3, m, P[3]);
        t4 = _mm512_madd52lo_epu64(t4, m, P[4]);
        t1 = _mm512_madd52hi_epu64(t1, m, P[0]);
        t2 = _mm512_madd52hi_epu64(t2, m, P[1]);
        t3 = _mm512_madd52hi_epu64(t3, m, P[2]);
        t4 = _mm512_madd52hi_epu64(t4, m, P[3]);
        t5 = _mm512_madd52hi_epu64(t5, m, P[4]);
        t0 = _mm512_add_epi64(t1, _mm512_srli_epi64(t0, 52)); /* the digit shifted out */
        t1 = t2;
        t2 = t3;
        t3 = t4;
        t4 = t5;
        t5 = _mm512_setzero_si512();
    }
    t1 = _mm512_add_epi64(t1, _mm512_srli_epi64(t0, 52));
    t2 = _mm512_add_epi64(t2, _mm512_srli_epi64(t1, 52));
    t3 = _mm512_add_epi64(t3, _mm512_srli_epi64(t2, 52));
    t4 = _mm512_add_epi64(t4, _mm512_srli_epi64(t3, 52));
    r->l[0] = _mm512_and_si512(t0, mask);
    r->l[1] = _mm512_and_si512(t1, mask);
    r->l[2] = _mm512_and_si512(t2, mask);
    r->l[3] = _mm512_and_si512(t3, mask);
    r->l[4] = t4;
}

typedef struct {
    __m512i P[5], n0, mask;
} bench_ifma_consts;

BENCH_IFMA static void bench_ifma_setup(bench_ifma_consts *k) {
    const uint64_t *p = ZK_BN_FP.p;
    uint64_t p5[5] = {p[0], p[1], p[2], p[3], 0}, p52[5], inv = 1;
    bench_to52(p52, p5);
    for (int j = 0; j < 5; j++) k->P[j] = _mm512_set1_epi64((long long)p52[j]);
    for (int i = 0; i < 6; i++) inv *= 2 - p[0] * inv; /* 1/p mod 2^64 by Newton */
    const uint64_t m52 = ((uint64_t)1 << 52) - 1;
    k->n0 = _mm512_set1_epi64((long long)((0 - inv) & m52));
    k->mask = _mm512_set1_epi64((long long)m52);
}

/* 5 x 52 limbs of 8 lanes from 8 limb vectors; lane values from 4 x 64-bit integers. */
BENCH_IFMA static void bench_load(bench_v5 *v, const uint64_t (*vals)[5]) {
    uint64_t l[5][8];
    for (int k = 0; k < 8; k++) {
        uint64_t t[5];
        bench_to52(t, vals[k]);
        for (int j = 0; j < 5; j++) l[j][k] = t[j];
    }
    for (int j = 0; j < 5; j++) v->l[j] = _mm512_loadu_si512(l[j]);
}

BENCH_IFMA static void bench_store(uint64_t (*vals)[4], const bench_v5 *v) {
    uint64_t l[5][8];
    for (int j = 0; j < 5; j++) _mm512_storeu_si512(l[j], v->l[j]);
    for (int k = 0; k < 8; k++) {
        uint64_t t[5];
        for (int j = 0; j < 5; j++) t[j] = l[j][k];
        bench_from52(vals[k], t);
    }
}

/* The lift a + i p of a < p (i < 8) in 5 words: below 8p < 2^257. */
static void bench_lift(uint64_t out[5], const f256 *a, unsigned i) {
    unsigned __int128 c = 0;
    for (int j = 0; j < 4; j++) {
        c += (unsigned __int128)a->l[j] + (unsigned __int128)ZK_BN_FP.p[j] * i;
        out[j] = (uint64_t)c;
        c >>= 64;
    }
    out[4] = (uint64_t)c;
}

/* The constant 2^e mod p in 5 words (e >= 256): R = 2^256 mod p doubled e - 256 times. */
static void bench_pow2(uint64_t out[5], int e) {
    f256 r;
    memcpy(r.l, ZK_BN_FP.one, sizeof r.l); /* R mod p in the integers */
    for (int i = 256; i < e; i++) bn_fp_add(&r, &r, &r);
    memcpy(out, r.l, 32);
    out[4] = 0;
}

/* Random products through the IFMA path against the scalar kernel; returns mismatches. */
BENCH_IFMA static int bench_ifma_check(const bench_ifma_consts *k, int rounds) {
    uint64_t cv[8][5], ov[8][5];
    for (int q = 0; q < 8; q++) {
        bench_pow2(cv[q], 264);
        bench_pow2(ov[q], 256);
    }
    bench_v5 vin, vout;
    bench_load(&vin, (const uint64_t(*)[5])cv);
    bench_load(&vout, (const uint64_t(*)[5])ov);
    int bad = 0;
    for (int r = 0; r < rounds; r++) {
        f256 A[8], B[8];
        uint64_t la[8][5], lb[8][5], res[8][4];
        for (int q = 0; q < 8; q++) {
            bench_rand_fp(&A[q]);
            bench_rand_fp(&B[q]);
            bench_lift(la[q], &A[q], (unsigned)((r + q) & 7));
            bench_lift(lb[q], &B[q], (unsigned)((r / 8 + 3 * q) & 7));
        }
        bench_v5 va, vb, vr;
        bench_load(&va, (const uint64_t(*)[5])la);
        bench_load(&vb, (const uint64_t(*)[5])lb);
        /* A and B are core values (R = 2^256); their lifts are products' inputs < 8p too */
        bench_vmul(&va, &va, &vin, k->P, k->n0, k->mask); /* a 2^260 */
        bench_vmul(&vb, &vb, &vin, k->P, k->n0, k->mask);
        bench_vmul(&vr, &va, &vb, k->P, k->n0, k->mask);   /* a b 2^260 */
        bench_vmul(&vr, &vr, &vout, k->P, k->n0, k->mask); /* a b 2^256, below 2p */
        bench_store(res, &vr);
        for (int q = 0; q < 8; q++) {
            f256 got, want;
            memcpy(got.l, res[q], 32);
            if (bench_fp_ge_p(got.l)) {
                unsigned __int128 b = 0;
                for (int j = 0; j < 4; j++) { /* got -= p (got < 2p) */
                    unsigned __int128 d = (unsigned __int128)got.l[j] - ZK_BN_FP.p[j] - b;
                    got.l[j] = (uint64_t)d;
                    b = (d >> 64) & 1;
                }
            }
            bn_fp_mul(&want, &A[q], &B[q]);
            if (bench_fp_ge_p(got.l) || !bn_fp_eq(&got, &want)) bad++;
        }
    }
    return bad;
}

/* ns per product: 4 independent chains of 8-lane products. */
BENCH_IFMA static double bench_ifma_time(const bench_ifma_consts *k, long rounds, uint64_t *sink) {
    uint64_t v[8][5];
    for (int q = 0; q < 8; q++) {
        f256 a;
        bench_rand_fp(&a);
        bench_lift(v[q], &a, 0);
    }
    bench_v5 s[4], y;
    for (int c = 0; c < 4; c++) bench_load(&s[c], (const uint64_t(*)[5])v);
    bench_load(&y, (const uint64_t(*)[5])v);
    double t = bench_now();
    for (long i = 0; i < rounds; i++)
        for (int c = 0; c < 4; c++) bench_vmul(&s[c], &s[c], &y, k->P, k->n0, k->mask);
    double dt = bench_now() - t;
    for (int c = 0; c < 4; c++)
        for (int j = 0; j < 5; j++) *sink ^= (uint64_t)_mm512_reduce_add_epi64(s[c].l[j]);
    return dt * 1e9 / ((double)rounds * 4 * 8);
}
#endif

/* ns per product of the core's kernel: 4 independent chains. */
static double bench_scalar_time(long rounds, uint64_t *sink) {
    f256 s[4], y;
    for (int c = 0; c < 4; c++) bench_rand_fp(&s[c]);
    bench_rand_fp(&y);
    double t = bench_now();
    for (long i = 0; i < rounds; i++)
        for (int c = 0; c < 4; c++) bn_fp_mul(&s[c], &s[c], &y);
    double dt = bench_now() - t;
    for (int c = 0; c < 4; c++) *sink ^= s[c].l[0] ^ s[c].l[3];
    return dt * 1e9 / ((double)rounds * 4);
}

int main(int argc, char **argv) {
    long rounds = argc > 1 ? atol(argv[1]) : 2000000;
    if (rounds < 1) rounds = 1;
    zk_asm_on = zk_cpu_has_asm();
    uint64_t sink = 0;
    int have = 0;
#if defined(__x86_64__) && defined(__GNUC__)
    __builtin_cpu_init();
    have = __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512ifma");
    bench_ifma_consts k;
    if (have) {
        bench_ifma_setup(&k);
        int bad = bench_ifma_check(&k, 4096);
        printf("checked %d\n", 4096 * 8);
        if (bad) {
            printf("mismatches %d\n", bad);
            return 1;
        }
    }
#endif
    /* interleaved: scalar, ifma, scalar, ifma, ... (the caller takes medians) */
    for (int rep = 0; rep < 5; rep++) {
        printf("scalar %.3f\n", bench_scalar_time(rounds, &sink));
#if defined(__x86_64__) && defined(__GNUC__)
        if (have) printf("ifma %.3f\n", bench_ifma_time(&k, rounds / 8 + 1, &sink));
#endif
    }
    if (!have) printf("ifma none\n");
    printf("asm %d sink %llx\n", zk_asm_on, (unsigned long long)sink);
    return 0;
}
