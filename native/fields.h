/* Field types and per-field operations (internal): BN254 Fp/Fr, BLS12-381 Fp/Fr, and Fp2 over
 * each base field as Fp[u]/(u^2 + 1). Elements are kept in Montgomery form. */
#ifndef ZK_FIELDS_H
#define ZK_FIELDS_H

#include "generated/consts.h"
#include "limb.h"

#if !defined(__BYTE_ORDER__) || __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "zkedge's native core assumes a little-endian target (x86-64, aarch64, armv6/v7)"
#endif

#define N256 NLIMBS(256)
#define N384 NLIMBS(384)

typedef struct {
    limb_t l[N256];
} f256;
typedef struct {
    limb_t l[N384];
} f384;
typedef struct {
    f256 c0, c1;
} f256x2;
typedef struct {
    f384 c0, c1;
} f384x2;

typedef struct {
    limb_t p[ZK_MAXL];
    limb_t one[ZK_MAXL];
    limb_t r2[ZK_MAXL];
    limb_t pm2[ZK_MAXL];
    limb_t r3[ZK_MAXL];
    limb_t n0;
} zk_field_params;

static const zk_field_params ZK_BN_FP = {BN_FP_P,   BN_FP_ONE, BN_FP_R2,
                                         BN_FP_PM2, BN_FP_R3,  (limb_t)BN_FP_N0_64};
static const zk_field_params ZK_BN_FR = {BN_FR_P,   BN_FR_ONE, BN_FR_R2,
                                         BN_FR_PM2, BN_FR_R3,  (limb_t)BN_FR_N0_64};
static const zk_field_params ZK_BLS_FP = {BLS_FP_P,   BLS_FP_ONE, BLS_FP_R2,
                                          BLS_FP_PM2, BLS_FP_R3,  (limb_t)BLS_FP_N0_64};
static const zk_field_params ZK_BLS_FR = {BLS_FR_P,   BLS_FR_ONE, BLS_FR_R2,
                                          BLS_FR_PM2, BLS_FR_R3,  (limb_t)BLS_FR_N0_64};

/* Generic operations over a field given by its parameters and limb count. */
ZK_INLINE void fld_to_mont(limb_t *r, const limb_t *a, const zk_field_params *F, const int n) {
    mont_mul(r, a, F->r2, F->p, F->n0, n);
}

ZK_INLINE void fld_from_mont(limb_t *r, const limb_t *a, const zk_field_params *F, const int n) {
    limb_t one[ZK_MAXL] = {1};
    mont_mul(r, a, one, F->p, F->n0, n);
}

/* r = a^e (Montgomery in and out), e given as n limbs; square-and-multiply. */
static inline void fld_pow(limb_t *r, const limb_t *a, const limb_t *e, const zk_field_params *F,
                           const int n) {
    limb_t acc[ZK_MAXL];
    memcpy(acc, F->one, (size_t)n * sizeof(limb_t));
    int started = 0;
    for (int i = n - 1; i >= 0; i--) {
        for (int k = ZK_LIMB_BITS - 1; k >= 0; k--) {
            if (started) mont_mul(acc, acc, acc, F->p, F->n0, n);
            if ((e[i] >> k) & 1) {
                mont_mul(acc, acc, a, F->p, F->n0, n);
                started = 1;
            }
        }
    }
    memcpy(r, acc, (size_t)n * sizeof(limb_t));
}

/* Inversion: Bernstein-Yang "safegcd" (https://eprint.iacr.org/2019/266), the variable-time
 * form (MSM inputs are not secret from the machine doing the work). It runs divsteps on
 * (f, g) = (p, aR) until g = 0, keeping d, e with f = d * aR and g = e * aR (mod p); then
 * f = +-1 and (aR)^-1 = +-d. The divsteps go in batches of B = 62 (64-bit limbs) or 30 (32-bit
 * limbs) on the low word of f and g alone, each batch giving a 2x2 matrix T with
 * 2^B [f'; g'] = T [f; g], which is then applied to the full f, g and (with an exact division
 * by 2^B mod p) to d, e. Those are kept as signed numbers in base 2^B (digits 0..2^B-1, the top
 * one signed) so that a digit times a matrix entry plus carries fits in a signed double word.
 * One Montgomery product with R^3 turns (aR)^-1 into a^-1 R. About five times faster than the
 * binary extended Euclid it replaced. The inverse of zero is zero (callers check). */
#if ZK_LIMB_BITS == 64
typedef int64_t zk_sw;
typedef uint64_t zk_uw;
__extension__ typedef __int128 zk_sdw;
#define ZK_DS_B 62
#define ZK_DS_CTZ(x) __builtin_ctzll(x)
#else
typedef int32_t zk_sw;
typedef uint32_t zk_uw;
typedef int64_t zk_sdw;
#define ZK_DS_B 30
#define ZK_DS_CTZ(x) __builtin_ctz(x)
#endif
#define ZK_DS_W ((int)sizeof(zk_uw) * 8)
#define ZK_DS_MASK ((((zk_uw)1) << ZK_DS_B) - 1)
/* Digits for a signed number of n limbs (every modulus is below 2^(n * limb bits - 1)). */
#define ZK_DS_LEN(n) (((n)*ZK_LIMB_BITS + ZK_DS_B - 1) / ZK_DS_B)
#define ZK_DS_MAXLEN ZK_DS_LEN(ZK_MAXL)

typedef struct {
    zk_sw u, v, q, r;
} zk_ds_mat;

/* B divsteps (delta = -eta) on the low B bits of f (odd) and g; returns the new eta and T. A run
 * of zero bits of g is shifted out at once, and a run of up to eta + 1 steps that cannot swap
 * (after the swap that starts it, if any) is one addition g += w f with w = -g / f mod 2^k,
 * k <= 6: f^-1 = f mod 8, and one Newton step f (2 - f^2) makes it mod 2^6, so
 * w = g f (f^2 - 2), two products that do not wait on each other. */
ZK_INLINE int zk_divsteps(int eta, zk_uw f, zk_uw g, zk_ds_mat *t) {
    zk_uw u = 1, v = 0, q = 0, r = 1;
    int left = ZK_DS_B;
    for (;;) {
        /* g even: g /= 2, which scales the f row of T by 2; the sentinel stops at `left`. */
        int z = ZK_DS_CTZ(g | (~(zk_uw)0 << left));
        g >>= z;
        u <<= z;
        v <<= z;
        eta -= z;
        left -= z;
        if (left == 0) break;
        if (eta < 0) { /* delta > 0 and g odd: (f, g) = (g, -f), then as below */
            zk_uw tmp = f;
            eta = -eta;
            f = g;
            g = 0 - tmp;
            tmp = u;
            u = q;
            q = 0 - tmp;
            tmp = v;
            v = r;
            r = 0 - tmp;
        }
        int k = eta + 1 < left ? eta + 1 : left;
        if (k > 6) k = 6;
        zk_uw w = ((g * f) * (f * f - 2)) & (~(zk_uw)0 >> (ZK_DS_W - k));
        g += f * w;
        q += u * w;
        r += v * w;
    }
    t->u = (zk_sw)u;
    t->v = (zk_sw)v;
    t->q = (zk_sw)q;
    t->r = (zk_sw)r;
    return eta;
}

/* [f; g] = T [f; g] / 2^B, exact, over the first len digits. */
ZK_INLINE void zk_ds_update_fg(zk_sw *f, zk_sw *g, const zk_ds_mat *t, const int len) {
    zk_sdw cf = (zk_sdw)t->u * f[0] + (zk_sdw)t->v * g[0];
    zk_sdw cg = (zk_sdw)t->q * f[0] + (zk_sdw)t->r * g[0];
    cf >>= ZK_DS_B;
    cg >>= ZK_DS_B;
    for (int i = 1; i < len; i++) {
        cf += (zk_sdw)t->u * f[i] + (zk_sdw)t->v * g[i];
        cg += (zk_sdw)t->q * f[i] + (zk_sdw)t->r * g[i];
        f[i - 1] = (zk_sw)((zk_uw)cf & ZK_DS_MASK);
        g[i - 1] = (zk_sw)((zk_uw)cg & ZK_DS_MASK);
        cf >>= ZK_DS_B;
        cg >>= ZK_DS_B;
    }
    f[len - 1] = (zk_sw)cf;
    g[len - 1] = (zk_sw)cg;
}

/* [d; e] = T [d; e] / 2^B mod m, for d, e in (-2m, m), giving d, e in (-2m, m) again: each
 * negative one first gets m added (into (-m, m)), then a multiple k m, 0 <= k < 2^B, is
 * subtracted to clear the low B bits (k from minv = m^-1 mod 2^B); since |u| + |v| <= 2^B,
 * the sum is in (-2^(B+1) m, 2^B m) before the division. */
ZK_INLINE void zk_ds_update_de(zk_sw *d, zk_sw *e, const zk_ds_mat *t, const zk_sw *m, zk_uw minv,
                               const int len) {
    const zk_sw u = t->u, v = t->v, q = t->q, r = t->r;
    const zk_sw sd = d[len - 1] >> (ZK_DS_W - 1), se = e[len - 1] >> (ZK_DS_W - 1);
    zk_sw md = (u & sd) + (v & se), me = (q & sd) + (r & se);
    zk_sdw cd = (zk_sdw)u * d[0] + (zk_sdw)v * e[0];
    zk_sdw ce = (zk_sdw)q * d[0] + (zk_sdw)r * e[0];
    md -= (zk_sw)((minv * (zk_uw)cd + (zk_uw)md) & ZK_DS_MASK);
    me -= (zk_sw)((minv * (zk_uw)ce + (zk_uw)me) & ZK_DS_MASK);
    cd += (zk_sdw)m[0] * md;
    ce += (zk_sdw)m[0] * me;
    cd >>= ZK_DS_B;
    ce >>= ZK_DS_B;
    for (int i = 1; i < len; i++) {
        cd += (zk_sdw)u * d[i] + (zk_sdw)v * e[i] + (zk_sdw)m[i] * md;
        ce += (zk_sdw)q * d[i] + (zk_sdw)r * e[i] + (zk_sdw)m[i] * me;
        d[i - 1] = (zk_sw)((zk_uw)cd & ZK_DS_MASK);
        e[i - 1] = (zk_sw)((zk_uw)ce & ZK_DS_MASK);
        cd >>= ZK_DS_B;
        ce >>= ZK_DS_B;
    }
    d[len - 1] = (zk_sw)cd;
    e[len - 1] = (zk_sw)ce;
}

/* n limbs (a non-negative number) -> len base-2^B digits. */
ZK_INLINE void zk_ds_from_limbs(zk_sw *r, const limb_t *a, const int n, const int len) {
    for (int j = 0; j < len; j++) {
        const int w = j * ZK_DS_B / ZK_LIMB_BITS, o = j * ZK_DS_B % ZK_LIMB_BITS;
        limb_t x = w < n ? a[w] >> o : 0;
        if (o + ZK_DS_B > ZK_LIMB_BITS && w + 1 < n) x |= a[w + 1] << (ZK_LIMB_BITS - o);
        r[j] = (zk_sw)((zk_uw)x & ZK_DS_MASK);
    }
}

/* len base-2^B digits (a number in [0, 2^(n * limb bits))) -> n limbs. */
ZK_INLINE void zk_ds_to_limbs(limb_t *r, const zk_sw *a, const int n, const int len) {
    memset(r, 0, (size_t)n * sizeof(limb_t));
    for (int j = 0; j < len; j++) {
        const int w = j * ZK_DS_B / ZK_LIMB_BITS, o = j * ZK_DS_B % ZK_LIMB_BITS;
        const limb_t x = (limb_t)(zk_uw)a[j];
        if (w < n) r[w] |= x << o;
        if (o + ZK_DS_B > ZK_LIMB_BITS && w + 1 < n) r[w + 1] |= x >> (ZK_LIMB_BITS - o);
    }
}

static inline void fld_inv(limb_t *r, const limb_t *a, const zk_field_params *F, const int n) {
    if (limbs_is_zero(a, n)) {
        memset(r, 0, (size_t)n * sizeof(limb_t));
        return;
    }
    const int len = ZK_DS_LEN(n);
    zk_sw f[ZK_DS_MAXLEN], g[ZK_DS_MAXLEN], d[ZK_DS_MAXLEN] = {0}, e[ZK_DS_MAXLEN] = {1};
    zk_sw m[ZK_DS_MAXLEN];
    zk_ds_from_limbs(m, F->p, n, len);
    zk_ds_from_limbs(g, a, n, len);
    memcpy(f, m, (size_t)len * sizeof(zk_sw));
    const zk_uw minv = (0 - (zk_uw)F->n0) & ZK_DS_MASK; /* n0 = -p^-1 mod 2^limb bits */
    int eta = -1, flen = len;
    for (;;) {
        zk_ds_mat t;
        eta = zk_divsteps(eta, (zk_uw)f[0], (zk_uw)g[0], &t);
        zk_ds_update_de(d, e, &t, m, minv, len);
        zk_ds_update_fg(f, g, &t, flen);
        zk_sw any = 0;
        for (int i = 0; i < flen; i++) any |= g[i];
        if (!any) break;
        /* f and g shrink as the gcd runs: drop a top digit that is only a sign (0 or -1) in both,
         * folding it into the digit below, which becomes the signed top. */
        const zk_sw ft = f[flen - 1], gt = g[flen - 1];
        if (flen > 1 && !((ft ^ (ft >> (ZK_DS_W - 1))) | (gt ^ (gt >> (ZK_DS_W - 1))))) {
            f[flen - 2] = (zk_sw)((zk_uw)f[flen - 2] | ((zk_uw)ft << ZK_DS_B));
            g[flen - 2] = (zk_sw)((zk_uw)g[flen - 2] | ((zk_uw)gt << ZK_DS_B));
            flen--;
        }
    }
    /* f = +-1, so (aR)^-1 = sign(f) d with d in (-2p, p): flip it by the sign of f, add 2p if it
     * is negative (d is not 0 mod p), which leaves it in [0, 2p), and one conditional subtraction
     * ends it below p. */
    const zk_sw s = (f[flen - 1] >> (ZK_DS_W - 1)) | 1;
    const zk_sw add = ((d[len - 1] >> (ZK_DS_W - 1)) ^ (s >> (ZK_DS_W - 1))) & 2;
    zk_sdw c = 0;
    for (int i = 0; i < len; i++) {
        c += (zk_sdw)d[i] * s + (zk_sdw)m[i] * add;
        d[i] = (zk_sw)((zk_uw)c & ZK_DS_MASK);
        c >>= ZK_DS_B;
    }
    limb_t x[ZK_MAXL], y[ZK_MAXL];
    zk_ds_to_limbs(x, d, n, len);
    limb_t borrow = limbs_sub(y, x, F->p, n);
    limbs_select(x, (limb_t)0 - borrow, x, y, n);
    mont_mul(r, x, F->r3, F->p, F->n0, n);
}

/* Per-field wrappers: F##_add(T*, const T*, const T*), ... */
#define ZK_DEFINE_FIELD(F, T, N, PRM)                                                              \
    ZK_INLINE void F##_add(T *r, const T *a, const T *b) {                                         \
        mod_add(r->l, a->l, b->l, (PRM).p, N);                                                     \
    }                                                                                              \
    ZK_INLINE void F##_sub(T *r, const T *a, const T *b) {                                         \
        mod_sub(r->l, a->l, b->l, (PRM).p, N);                                                     \
    }                                                                                              \
    ZK_INLINE void F##_dbl(T *r, const T *a) { mod_add(r->l, a->l, a->l, (PRM).p, N); }            \
    ZK_INLINE void F##_neg(T *r, const T *a) { mod_neg(r->l, a->l, (PRM).p, N); }                  \
    ZK_NOINLINE void F##_mul_c(T *r, const T *a, const T *b) {                                     \
        mont_mul_c(r->l, a->l, b->l, (PRM).p, (PRM).n0, N);                                        \
    }                                                                                              \
    /* The assembly product is inlined at each use (no call); the C one stays out of line. */      \
    ZK_INLINE void F##_mul(T *r, const T *a, const T *b) {                                         \
        if (!ZK_TRY_ASM(mont_mul, N, r->l, a->l, b->l, (PRM).p, (PRM).n0)) F##_mul_c(r, a, b);     \
    }                                                                                              \
    ZK_INLINE void F##_sqr(T *r, const T *a) { F##_mul(r, a, a); }                                 \
    ZK_NOINLINE void F##_inv(T *r, const T *a) { fld_inv(r->l, a->l, &(PRM), N); }                 \
    ZK_INLINE int F##_is_zero(const T *a) { return limbs_is_zero(a->l, N); }                       \
    ZK_INLINE int F##_eq(const T *a, const T *b) { return limbs_eq(a->l, b->l, N); }               \
    ZK_INLINE void F##_set_zero(T *r) { memset(r->l, 0, sizeof r->l); }                            \
    ZK_INLINE void F##_set_one(T *r) { memcpy(r->l, (PRM).one, sizeof r->l); }                     \
    ZK_INLINE int F##_is_one(const T *a) { return limbs_eq(a->l, (PRM).one, N); }                  \
    ZK_INLINE void F##_to_mont(T *r, const T *a) { fld_to_mont(r->l, a->l, &(PRM), N); }           \
    ZK_INLINE void F##_from_mont(T *r, const T *a) { fld_from_mont(r->l, a->l, &(PRM), N); }       \
    /* Decoders return 0 when the value is not below the modulus. */                               \
    ZK_INLINE int F##_from_le_std(T *r, const uint8_t *in) {                                       \
        limbs_from_le(r->l, in, N);                                                                \
        if (limbs_geq(r->l, (PRM).p, N)) return 0;                                                 \
        F##_to_mont(r, r);                                                                         \
        return 1;                                                                                  \
    }                                                                                              \
    ZK_INLINE int F##_from_be_std(T *r, const uint8_t *in) {                                       \
        limbs_from_be(r->l, in, N);                                                                \
        if (limbs_geq(r->l, (PRM).p, N)) return 0;                                                 \
        F##_to_mont(r, r);                                                                         \
        return 1;                                                                                  \
    }                                                                                              \
    ZK_INLINE int F##_from_le_mont(T *r, const uint8_t *in) {                                      \
        limbs_from_le(r->l, in, N);                                                                \
        return !limbs_geq(r->l, (PRM).p, N);                                                       \
    }                                                                                              \
    ZK_INLINE void F##_to_le_std(uint8_t *out, const T *a) {                                       \
        T t;                                                                                       \
        F##_from_mont(&t, a);                                                                      \
        limbs_to_le(out, t.l, N);                                                                  \
    }                                                                                              \
    ZK_INLINE void F##_to_be_std(uint8_t *out, const T *a) {                                       \
        T t;                                                                                       \
        F##_from_mont(&t, a);                                                                      \
        limbs_to_be(out, t.l, N);                                                                  \
    }                                                                                              \
    ZK_INLINE void F##_to_le_mont(uint8_t *out, const T *a) { limbs_to_le(out, a->l, N); }

ZK_DEFINE_FIELD(bn_fp, f256, N256, ZK_BN_FP)
ZK_DEFINE_FIELD(bn_fr, f256, N256, ZK_BN_FR)
ZK_DEFINE_FIELD(bls_fp, f384, N384, ZK_BLS_FP)
ZK_DEFINE_FIELD(bls_fr, f256, N256, ZK_BLS_FR)

/* Lazy values, below 2p rather than p, for values that only feed further products: every
 * product (F##_mul and F##_mul_lazy) takes inputs below 2p when 4p < R, which holds for the base
 * fields only (BLS12-381's r is above R/4).
 * F##_mul_lazy(r, a, b): r = a b for a, b < 2p with r below 2p (one p too many at most): the
 * assembly skips its final subtraction; the C path and 32-bit limbs return the reduced product,
 * a valid lazy one too.
 * F##_sub_lazy(r, a, b): r = a - b + p for a, b < p, in (0, 2p): no borrow test. */
#define ZK_DEFINE_MUL_LAZY(F, T, N, PRM)                                                           \
    ZK_INLINE void F##_mul_lazy(T *r, const T *a, const T *b) {                                    \
        if (!ZK_TRY_ASM(mont_mul_lazy, N, r->l, a->l, b->l, (PRM).p, (PRM).n0)) F##_mul(r, a, b);  \
    }                                                                                              \
    ZK_INLINE void F##_sub_lazy(T *r, const T *a, const T *b) {                                    \
        mod_sub_lazy(r->l, a->l, b->l, (PRM).p, N);                                                \
    }
ZK_DEFINE_MUL_LAZY(bn_fp, f256, N256, ZK_BN_FP)
ZK_DEFINE_MUL_LAZY(bls_fp, f384, N384, ZK_BLS_FP)

/* Fp2 = Fp[u]/(u^2 + 1). mul: Karatsuba, 3M; sqr: complex squaring, 2M. */
#define ZK_DEFINE_FP2(F2, T2, F, T, FB)                                                            \
    ZK_INLINE void F2##_add(T2 *r, const T2 *a, const T2 *b) {                                     \
        F##_add(&r->c0, &a->c0, &b->c0);                                                           \
        F##_add(&r->c1, &a->c1, &b->c1);                                                           \
    }                                                                                              \
    ZK_INLINE void F2##_sub(T2 *r, const T2 *a, const T2 *b) {                                     \
        F##_sub(&r->c0, &a->c0, &b->c0);                                                           \
        F##_sub(&r->c1, &a->c1, &b->c1);                                                           \
    }                                                                                              \
    ZK_INLINE void F2##_dbl(T2 *r, const T2 *a) {                                                  \
        F##_dbl(&r->c0, &a->c0);                                                                   \
        F##_dbl(&r->c1, &a->c1);                                                                   \
    }                                                                                              \
    ZK_INLINE void F2##_neg(T2 *r, const T2 *a) {                                                  \
        F##_neg(&r->c0, &a->c0);                                                                   \
        F##_neg(&r->c1, &a->c1);                                                                   \
    }                                                                                              \
    ZK_NOINLINE void F2##_mul(T2 *r, const T2 *a, const T2 *b) {                                   \
        T t0, t1, s0, s1;                                                                          \
        F##_mul(&t0, &a->c0, &b->c0);                                                              \
        F##_mul(&t1, &a->c1, &b->c1);                                                              \
        F##_add(&s0, &a->c0, &a->c1);                                                              \
        F##_add(&s1, &b->c0, &b->c1);                                                              \
        F##_mul(&s0, &s0, &s1);                                                                    \
        F##_sub(&s0, &s0, &t0);                                                                    \
        F##_sub(&r->c1, &s0, &t1);                                                                 \
        F##_sub(&r->c0, &t0, &t1);                                                                 \
    }                                                                                              \
    ZK_NOINLINE void F2##_sqr(T2 *r, const T2 *a) {                                                \
        T s, d, m;                                                                                 \
        F##_add(&s, &a->c0, &a->c1);                                                               \
        F##_sub(&d, &a->c0, &a->c1);                                                               \
        F##_mul(&m, &a->c0, &a->c1);                                                               \
        F##_mul(&r->c0, &s, &d);                                                                   \
        F##_dbl(&r->c1, &m);                                                                       \
    }                                                                                              \
    ZK_NOINLINE void F2##_inv(T2 *r, const T2 *a) {                                                \
        T n0, n1;                                                                                  \
        F##_sqr(&n0, &a->c0);                                                                      \
        F##_sqr(&n1, &a->c1);                                                                      \
        F##_add(&n0, &n0, &n1);                                                                    \
        F##_inv(&n0, &n0);                                                                         \
        F##_mul(&r->c0, &a->c0, &n0);                                                              \
        F##_neg(&n1, &a->c1);                                                                      \
        F##_mul(&r->c1, &n1, &n0);                                                                 \
    }                                                                                              \
    ZK_INLINE int F2##_is_zero(const T2 *a) { return F##_is_zero(&a->c0) && F##_is_zero(&a->c1); } \
    ZK_INLINE int F2##_eq(const T2 *a, const T2 *b) {                                              \
        return F##_eq(&a->c0, &b->c0) && F##_eq(&a->c1, &b->c1);                                   \
    }                                                                                              \
    ZK_INLINE void F2##_set_zero(T2 *r) {                                                          \
        F##_set_zero(&r->c0);                                                                      \
        F##_set_zero(&r->c1);                                                                      \
    }                                                                                              \
    ZK_INLINE void F2##_set_one(T2 *r) {                                                           \
        F##_set_one(&r->c0);                                                                       \
        F##_set_zero(&r->c1);                                                                      \
    }                                                                                              \
    ZK_INLINE int F2##_is_one(const T2 *a) { return F##_is_one(&a->c0) && F##_is_zero(&a->c1); }   \
    ZK_INLINE void F2##_to_mont(T2 *r, const T2 *a) {                                              \
        F##_to_mont(&r->c0, &a->c0);                                                               \
        F##_to_mont(&r->c1, &a->c1);                                                               \
    }                                                                                              \
    ZK_INLINE void F2##_from_mont(T2 *r, const T2 *a) {                                            \
        F##_from_mont(&r->c0, &a->c0);                                                             \
        F##_from_mont(&r->c1, &a->c1);                                                             \
    }                                                                                              \
    ZK_INLINE int F2##_from_le_std(T2 *r, const uint8_t *in) {                                     \
        return F##_from_le_std(&r->c0, in) & F##_from_le_std(&r->c1, in + (FB));                   \
    }                                                                                              \
    ZK_INLINE int F2##_from_be_std(T2 *r, const uint8_t *in) {                                     \
        return F##_from_be_std(&r->c0, in) & F##_from_be_std(&r->c1, in + (FB));                   \
    }                                                                                              \
    ZK_INLINE int F2##_from_le_mont(T2 *r, const uint8_t *in) {                                    \
        return F##_from_le_mont(&r->c0, in) & F##_from_le_mont(&r->c1, in + (FB));                 \
    }                                                                                              \
    ZK_INLINE void F2##_to_le_std(uint8_t *out, const T2 *a) {                                     \
        F##_to_le_std(out, &a->c0);                                                                \
        F##_to_le_std(out + (FB), &a->c1);                                                         \
    }                                                                                              \
    ZK_INLINE void F2##_to_be_std(uint8_t *out, const T2 *a) {                                     \
        F##_to_be_std(out, &a->c0);                                                                \
        F##_to_be_std(out + (FB), &a->c1);                                                         \
    }                                                                                              \
    ZK_INLINE void F2##_to_le_mont(uint8_t *out, const T2 *a) {                                    \
        F##_to_le_mont(out, &a->c0);                                                               \
        F##_to_le_mont(out + (FB), &a->c1);                                                        \
    }

ZK_DEFINE_FP2(bn_fp2, f256x2, bn_fp, f256, 32)
ZK_DEFINE_FP2(bls_fp2, f384x2, bls_fp, f384, 48)

#endif
