/* Eight field products at once with AVX-512 IFMA (internal): elements of a field below 2^254
 * (BN254's Fp and Fr) as five 52-bit limbs per 64-bit lane, in the core's own Montgomery form
 * (R = 2^256). The MSM's batches of affine additions (msm_ifma.inc) and BN254's coset NTT
 * (ntt_ifma.inc) run on it.
 *
 * The lane product's reduction shifts out four 52-bit digits and a last one of 48 bits
 * (4 * 52 + 48 = 256), so values move between the core's limbs and the lanes without
 * conversion. Its output is below 2p when its inputs' product is below p 2^256 (both below 2p
 * for a modulus below 2^254); differences add the multiple of p that keeps them positive, and
 * conditional subtractions bring sums back below p where that is needed. An IFMA product costs
 * about a quarter of a MULX one (bench/field_mul.py).
 *
 * Only x86-64 builds with 64-bit limbs and GCC or clang have it (ZK_HAVE_IFMA); the CPU is
 * asked at load time (AVX-512F and IFMA), and ZKEDGE_NO_IFMA (anything but "0") or
 * zk_ifma_set(0) turns it off. */
#ifndef ZK_IFMA_H
#define ZK_IFMA_H

#include "fields.h"

#if defined(__x86_64__) && ZK_LIMB_BITS == 64 && defined(__GNUC__) && !defined(ZK_NO_IFMA)
#define ZK_HAVE_IFMA 1
#include <immintrin.h>
#include <stdlib.h>
#include <string.h>

#define ZK_IFMA_FN __attribute__((target("avx512f,avx512ifma")))

/* Set at load time (zk_ifma_init), switched by zk_ifma_set (msm_ifma.inc). */
static int zk_ifma_on __attribute__((unused));

typedef struct {
    __m512i l[5];
} zk_v5; /* eight lanes of five 52-bit limbs */

/* 4 x 64 (and a fifth word) -> 5 x 52 limbs, for values below 2^260. */
ZK_INLINE void zk_to52(uint64_t out[5], const uint64_t a[5]) {
    const uint64_t m = ((uint64_t)1 << 52) - 1;
    out[0] = a[0] & m;
    out[1] = ((a[0] >> 52) | (a[1] << 12)) & m;
    out[2] = ((a[1] >> 40) | (a[2] << 24)) & m;
    out[3] = ((a[2] >> 28) | (a[3] << 36)) & m;
    out[4] = (a[3] >> 16) | (a[4] << 48);
}

ZK_INLINE int zk_cpu_has_ifma(void) {
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512ifma");
}

__attribute__((constructor)) static void zk_ifma_init(void) {
    const char *off = getenv("ZKEDGE_NO_IFMA");
    if (off && *off && strcmp(off, "0") != 0) return;
    zk_ifma_on = zk_cpu_has_ifma();
}

ZK_IFMA_FN static inline void zk_v5_set(zk_v5 *r, const uint64_t c[5]) {
    for (int j = 0; j < 5; j++) r->l[j] = _mm512_set1_epi64((long long)c[j]);
}

/* A field's constants broadcast to the lanes: p, 2p, 4p, R mod p (one), -1/p mod 2^52. */
typedef struct {
    zk_v5 p, p2, p4, one;
    __m512i n0, mask, mask48;
} zk_ifma_vk;

/* The lane constants of a 4-limb field F whose modulus is below 2^254, so that any two
 * inputs below 2p multiply to below p 2^256 (BN254's Fp and Fr; not BLS12-381's Fr). */
ZK_IFMA_FN static inline void zk_ifma_vk_init(zk_ifma_vk *k, const zk_field_params *F) {
    for (unsigned m = 1; m <= 4; m *= 2) {
        uint64_t w[5], l[5];
        dlimb_t c = 0;
        for (int j = 0; j < 4; j++) {
            c += (dlimb_t)F->p[j] * m;
            w[j] = (uint64_t)c;
            c >>= 64;
        }
        w[4] = (uint64_t)c;
        zk_to52(l, w);
        zk_v5_set(m == 1 ? &k->p : m == 2 ? &k->p2 : &k->p4, l);
    }
    const uint64_t one[5] = {F->one[0], F->one[1], F->one[2], F->one[3], 0};
    uint64_t l[5];
    zk_to52(l, one);
    zk_v5_set(&k->one, l);
    k->n0 = _mm512_set1_epi64((long long)(F->n0 & (((uint64_t)1 << 52) - 1)));
    k->mask = _mm512_set1_epi64((long long)(((uint64_t)1 << 52) - 1));
    k->mask48 = _mm512_set1_epi64((long long)(((uint64_t)1 << 48) - 1));
}

/* One operand-scanning round of the product: t += a b_i, then m p with m making the low
 * digit (52 bits, or 48 in the last round) zero. The limbs stay unnormalised (below 2^58). */
#define ZK_VMUL_ROUND(bi, MASK)                                                                    \
    do {                                                                                           \
        t0 = _mm512_madd52lo_epu64(t0, a->l[0], bi);                                               \
        t1 = _mm512_madd52lo_epu64(t1, a->l[1], bi);                                               \
        t2 = _mm512_madd52lo_epu64(t2, a->l[2], bi);                                               \
        t3 = _mm512_madd52lo_epu64(t3, a->l[3], bi);                                               \
        t4 = _mm512_madd52lo_epu64(t4, a->l[4], bi);                                               \
        t1 = _mm512_madd52hi_epu64(t1, a->l[0], bi);                                               \
        t2 = _mm512_madd52hi_epu64(t2, a->l[1], bi);                                               \
        t3 = _mm512_madd52hi_epu64(t3, a->l[2], bi);                                               \
        t4 = _mm512_madd52hi_epu64(t4, a->l[3], bi);                                               \
        t5 = _mm512_madd52hi_epu64(t5, a->l[4], bi);                                               \
        const __m512i m = _mm512_and_si512(                                                        \
            _mm512_madd52lo_epu64(_mm512_setzero_si512(), t0, k->n0), MASK);                       \
        t0 = _mm512_madd52lo_epu64(t0, m, P[0]);                                                   \
        t1 = _mm512_madd52lo_epu64(t1, m, P[1]);                                                   \
        t2 = _mm512_madd52lo_epu64(t2, m, P[2]);                                                   \
        t3 = _mm512_madd52lo_epu64(t3, m, P[3]);                                                   \
        t4 = _mm512_madd52lo_epu64(t4, m, P[4]);                                                   \
        t1 = _mm512_madd52hi_epu64(t1, m, P[0]);                                                   \
        t2 = _mm512_madd52hi_epu64(t2, m, P[1]);                                                   \
        t3 = _mm512_madd52hi_epu64(t3, m, P[2]);                                                   \
        t4 = _mm512_madd52hi_epu64(t4, m, P[3]);                                                   \
        t5 = _mm512_madd52hi_epu64(t5, m, P[4]);                                                   \
    } while (0)

/* r = a b / 2^256 mod p per lane (the core's Montgomery product), for limbs below 2^52 and
 * a b < p 2^256; r below 2p, limbs below 2^52. Four rounds shift a 52-bit digit out; the last
 * shifts 48 bits out, which moves every limb up by 4 bits (4 * 52 + 48 = 256). */
ZK_IFMA_FN static inline void zk_vmul(zk_v5 *r, const zk_v5 *a, const zk_v5 *b,
                                      const zk_ifma_vk *k) {
    const __m512i *P = k->p.l;
    __m512i t0 = _mm512_setzero_si512(), t1 = t0, t2 = t0, t3 = t0, t4 = t0, t5 = t0;
    for (int i = 0; i < 4; i++) {
        ZK_VMUL_ROUND(b->l[i], k->mask);
        t0 = _mm512_add_epi64(t1, _mm512_srli_epi64(t0, 52));
        t1 = t2;
        t2 = t3;
        t3 = t4;
        t4 = t5;
        t5 = _mm512_setzero_si512();
    }
    ZK_VMUL_ROUND(b->l[4], k->mask48);
    /* divide by 2^48: limb j + 1 moves to limb j times 16, t0's bits from 48 up stay at 0 */
    t0 = _mm512_add_epi64(_mm512_slli_epi64(t1, 4), _mm512_srli_epi64(t0, 48));
    t1 = _mm512_slli_epi64(t2, 4);
    t2 = _mm512_slli_epi64(t3, 4);
    t3 = _mm512_slli_epi64(t4, 4);
    t4 = _mm512_slli_epi64(t5, 4);
    t1 = _mm512_add_epi64(t1, _mm512_srli_epi64(t0, 52));
    t2 = _mm512_add_epi64(t2, _mm512_srli_epi64(t1, 52));
    t3 = _mm512_add_epi64(t3, _mm512_srli_epi64(t2, 52));
    t4 = _mm512_add_epi64(t4, _mm512_srli_epi64(t3, 52));
    r->l[0] = _mm512_and_si512(t0, k->mask);
    r->l[1] = _mm512_and_si512(t1, k->mask);
    r->l[2] = _mm512_and_si512(t2, k->mask);
    r->l[3] = _mm512_and_si512(t3, k->mask);
    r->l[4] = t4;
}

/* Signed limbs (each within +-2^54) of a non-negative value carried into 52-bit limbs. */
ZK_IFMA_FN static inline void zk_v5_carry(zk_v5 *r, __m512i t0, __m512i t1, __m512i t2, __m512i t3,
                                          __m512i t4, __m512i mask) {
    t1 = _mm512_add_epi64(t1, _mm512_srai_epi64(t0, 52));
    t2 = _mm512_add_epi64(t2, _mm512_srai_epi64(t1, 52));
    t3 = _mm512_add_epi64(t3, _mm512_srai_epi64(t2, 52));
    t4 = _mm512_add_epi64(t4, _mm512_srai_epi64(t3, 52));
    r->l[0] = _mm512_and_si512(t0, mask);
    r->l[1] = _mm512_and_si512(t1, mask);
    r->l[2] = _mm512_and_si512(t2, mask);
    r->l[3] = _mm512_and_si512(t3, mask);
    r->l[4] = t4;
}

/* r = a - b + K, for K a multiple of p above b (so r is positive). */
ZK_IFMA_FN static inline void zk_vsub(zk_v5 *r, const zk_v5 *a, const zk_v5 *b, const zk_v5 *K,
                                      const zk_ifma_vk *k) {
    __m512i t[5];
    for (int j = 0; j < 5; j++)
        t[j] = _mm512_sub_epi64(_mm512_add_epi64(a->l[j], K->l[j]), b->l[j]);
    zk_v5_carry(r, t[0], t[1], t[2], t[3], t[4], k->mask);
}

/* r = a - b - c + K, for K a multiple of p above b + c. */
ZK_IFMA_FN static inline void zk_vsub2(zk_v5 *r, const zk_v5 *a, const zk_v5 *b, const zk_v5 *c,
                                       const zk_v5 *K, const zk_ifma_vk *k) {
    __m512i t[5];
    for (int j = 0; j < 5; j++)
        t[j] = _mm512_sub_epi64(_mm512_sub_epi64(_mm512_add_epi64(a->l[j], K->l[j]), b->l[j]),
                                c->l[j]);
    zk_v5_carry(r, t[0], t[1], t[2], t[3], t[4], k->mask);
}

/* a - K where that is not negative (K a multiple of p): below p for a below 2p and K = p;
 * a ladder of 4p, 2p, p takes anything below 8p below p. */
ZK_IFMA_FN static inline void zk_vcsub(zk_v5 *r, const zk_v5 *a, const zk_v5 *K,
                                       const zk_ifma_vk *k) {
    zk_v5 d;
    __m512i t[5];
    for (int j = 0; j < 5; j++) t[j] = _mm512_sub_epi64(a->l[j], K->l[j]);
    zk_v5_carry(&d, t[0], t[1], t[2], t[3], t[4], k->mask); /* the top limb keeps the sign */
    const __mmask8 neg = _mm512_cmplt_epi64_mask(d.l[4], _mm512_setzero_si512());
    for (int j = 0; j < 5; j++) r->l[j] = _mm512_mask_blend_epi64(neg, d.l[j], a->l[j]);
}

/* a - p where that is not negative: below p for a below 2p, below 2p for a below 3p. */
ZK_IFMA_FN static inline void zk_vcanon(zk_v5 *r, const zk_v5 *a, const zk_ifma_vk *k) {
    zk_vcsub(r, a, &k->p, k);
}

/* Lanes from up to eight field elements in the core's form (absent lanes: fill, or zero). */
ZK_IFMA_FN static inline void zk_v5_load(zk_v5 *r, const f256 *const *src, int cnt,
                                         const f256 *fill) {
    uint64_t l[5][8] __attribute__((aligned(64)));
    for (int q = 0; q < 8; q++) {
        const f256 *s = q < cnt ? src[q] : fill;
        uint64_t t[5];
        if (s) {
            const uint64_t w[5] = {s->l[0], s->l[1], s->l[2], s->l[3], 0};
            zk_to52(t, w);
        } else {
            memset(t, 0, sizeof t);
        }
        for (int j = 0; j < 5; j++) l[j][q] = t[j];
    }
    for (int j = 0; j < 5; j++) r->l[j] = _mm512_load_si512(l[j]);
}

/* The first cnt lanes (canonical, below p) into field elements in the core's form. */
ZK_IFMA_FN static inline void zk_v5_store(f256 *const *dst, int cnt, const zk_v5 *a) {
    uint64_t l[5][8] __attribute__((aligned(64)));
    for (int j = 0; j < 5; j++) _mm512_store_si512(l[j], a->l[j]);
    for (int q = 0; q < cnt; q++) {
        uint64_t *d = dst[q]->l;
        d[0] = l[0][q] | (l[1][q] << 52);
        d[1] = (l[1][q] >> 12) | (l[2][q] << 40);
        d[2] = (l[2][q] >> 24) | (l[3][q] << 28);
        d[3] = (l[3][q] >> 36) | (l[4][q] << 16);
    }
}

/* GCC's gather intrinsics, as macros when not optimising, pass the mask on as a plain char. */
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wsign-conversion"
/* Lanes from the field elements at the addresses in lanes of `at` plus off bytes (absent
 * lanes, not in `mk`: the words of `fill`), gathered a 64-bit word at a time: writing the limbs
 * out one at a time and reading them back as a vector stalls on every read (the store cannot
 * be forwarded). */
ZK_IFMA_FN static inline void zk_v5_gather(zk_v5 *r, __m512i at, size_t off, __mmask8 mk,
                                           const limb_t *fill, const zk_ifma_vk *k) {
    __m512i w[4];
    for (int j = 0; j < 4; j++)
        w[j] = _mm512_mask_i64gather_epi64(_mm512_set1_epi64((long long)fill[j]), mk, at,
                                           (const void *)(uintptr_t)(off + 8 * (size_t)j), 1);
    r->l[0] = _mm512_and_si512(w[0], k->mask);
    r->l[1] = _mm512_and_si512(
        _mm512_or_si512(_mm512_srli_epi64(w[0], 52), _mm512_slli_epi64(w[1], 12)), k->mask);
    r->l[2] = _mm512_and_si512(
        _mm512_or_si512(_mm512_srli_epi64(w[1], 40), _mm512_slli_epi64(w[2], 24)), k->mask);
    r->l[3] = _mm512_and_si512(
        _mm512_or_si512(_mm512_srli_epi64(w[2], 28), _mm512_slli_epi64(w[3], 36)), k->mask);
    r->l[4] = _mm512_srli_epi64(w[3], 16);
}
#pragma GCC diagnostic pop

#else
#define ZK_HAVE_IFMA 0
#endif

#endif
