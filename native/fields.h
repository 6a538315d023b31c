/* Field types and per-field operations (internal): BN254 Fp/Fr, BLS12-381 Fp/Fr, and Fp2 over
 * each base field as Fp[u]/(u^2 + 1). Elements are kept in Montgomery form. */
#ifndef ZK_FIELDS_H
#define ZK_FIELDS_H

#include "consts.h"
#include "limb.h"

#if !defined(__BYTE_ORDER__) || __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "zkedge's native core assumes a little-endian target (x86-64, aarch64, armv6/v7)"
#endif

#define N256 NLIMBS(256)
#define N384 NLIMBS(384)

typedef struct { limb_t l[N256]; } f256;
typedef struct { limb_t l[N384]; } f384;
typedef struct { f256 c0, c1; } f256x2;
typedef struct { f384 c0, c1; } f384x2;

typedef struct {
    limb_t p[ZK_MAXL];
    limb_t one[ZK_MAXL];
    limb_t r2[ZK_MAXL];
    limb_t pm2[ZK_MAXL];
    limb_t r3[ZK_MAXL];
    limb_t n0;
} zk_field_params;

static const zk_field_params ZK_BN_FP = {BN_FP_P, BN_FP_ONE, BN_FP_R2, BN_FP_PM2, BN_FP_R3, (limb_t)BN_FP_N0_64};
static const zk_field_params ZK_BN_FR = {BN_FR_P, BN_FR_ONE, BN_FR_R2, BN_FR_PM2, BN_FR_R3, (limb_t)BN_FR_N0_64};
static const zk_field_params ZK_BLS_FP = {BLS_FP_P, BLS_FP_ONE, BLS_FP_R2, BLS_FP_PM2, BLS_FP_R3, (limb_t)BLS_FP_N0_64};
static const zk_field_params ZK_BLS_FR = {BLS_FR_P, BLS_FR_ONE, BLS_FR_R2, BLS_FR_PM2, BLS_FR_R3, (limb_t)BLS_FR_N0_64};

/* Generic operations over a field given by its parameters and limb count. */
ZK_INLINE void fld_to_mont(limb_t *r, const limb_t *a, const zk_field_params *F, const int n) {
    mont_mul(r, a, F->r2, F->p, F->n0, n);
}

ZK_INLINE void fld_from_mont(limb_t *r, const limb_t *a, const zk_field_params *F, const int n) {
    limb_t one[ZK_MAXL] = {1};
    mont_mul(r, a, one, F->p, F->n0, n);
}

/* r = a^e (Montgomery in and out), e given as n limbs; square-and-multiply. */
static inline void fld_pow(limb_t *r, const limb_t *a, const limb_t *e, const zk_field_params *F, const int n) {
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

/* Inversion: binary extended Euclid on the Montgomery representation aR (variable time: MSM
 * inputs are not secret from the machine doing the work), giving (aR)^-1, then one Montgomery
 * product with R^3 gives a^-1 R. About ten times fewer instructions than Fermat's a^(p-2),
 * which matters for batch-affine MSM. The inverse of zero is zero (callers check). */
static inline void fld_inv(limb_t *r, const limb_t *a, const zk_field_params *F, const int n) {
    if (limbs_is_zero(a, n)) {
        memset(r, 0, (size_t)n * sizeof(limb_t));
        return;
    }
    limb_t u[ZK_MAXL], v[ZK_MAXL], x1[ZK_MAXL] = {1}, x2[ZK_MAXL] = {0};
    memcpy(u, a, (size_t)n * sizeof(limb_t));
    memcpy(v, F->p, (size_t)n * sizeof(limb_t));
    limb_t one[ZK_MAXL] = {1};
    for (;;) {
        if (limbs_eq(u, one, n)) {
            mont_mul(r, x1, F->r3, F->p, F->n0, n);
            return;
        }
        if (limbs_eq(v, one, n)) {
            mont_mul(r, x2, F->r3, F->p, F->n0, n);
            return;
        }
        while (!(u[0] & 1)) {
            limbs_shr1(u, 0, n);
            limb_t c = (x1[0] & 1) ? limbs_add(x1, x1, F->p, n) : 0;
            limbs_shr1(x1, c, n);
        }
        while (!(v[0] & 1)) {
            limbs_shr1(v, 0, n);
            limb_t c = (x2[0] & 1) ? limbs_add(x2, x2, F->p, n) : 0;
            limbs_shr1(x2, c, n);
        }
        if (limbs_geq(u, v, n)) {
            limbs_sub(u, u, v, n);
            mod_sub(x1, x1, x2, F->p, n);
        } else {
            limbs_sub(v, v, u, n);
            mod_sub(x2, x2, x1, F->p, n);
        }
    }
}

/* Per-field wrappers: F##_add(T*, const T*, const T*), ... */
#define ZK_DEFINE_FIELD(F, T, N, PRM)                                                              \
    ZK_INLINE void F##_add(T *r, const T *a, const T *b) { mod_add(r->l, a->l, b->l, (PRM).p, N); } \
    ZK_INLINE void F##_sub(T *r, const T *a, const T *b) { mod_sub(r->l, a->l, b->l, (PRM).p, N); } \
    ZK_INLINE void F##_dbl(T *r, const T *a) { mod_add(r->l, a->l, a->l, (PRM).p, N); }             \
    ZK_INLINE void F##_neg(T *r, const T *a) { mod_neg(r->l, a->l, (PRM).p, N); }                   \
    ZK_NOINLINE void F##_mul_c(T *r, const T *a, const T *b) { mont_mul_c(r->l, a->l, b->l, (PRM).p, (PRM).n0, N); } \
    /* The assembly product is inlined at each use (no call); the C one stays out of line. */     \
    ZK_INLINE void F##_mul(T *r, const T *a, const T *b) {                                          \
        if (!mont_mul_asm(r->l, a->l, b->l, (PRM).p, (PRM).n0, N)) F##_mul_c(r, a, b);             \
    }                                                                                               \
    ZK_INLINE void F##_sqr(T *r, const T *a) { F##_mul(r, a, a); }                                  \
    ZK_NOINLINE void F##_inv(T *r, const T *a) { fld_inv(r->l, a->l, &(PRM), N); }                  \
    ZK_INLINE int F##_is_zero(const T *a) { return limbs_is_zero(a->l, N); }                        \
    ZK_INLINE int F##_eq(const T *a, const T *b) { return limbs_eq(a->l, b->l, N); }                \
    ZK_INLINE void F##_set_zero(T *r) { memset(r->l, 0, sizeof r->l); }                              \
    ZK_INLINE void F##_set_one(T *r) { memcpy(r->l, (PRM).one, sizeof r->l); }                       \
    ZK_INLINE int F##_is_one(const T *a) { return limbs_eq(a->l, (PRM).one, N); }                   \
    ZK_INLINE void F##_to_mont(T *r, const T *a) { fld_to_mont(r->l, a->l, &(PRM), N); }            \
    ZK_INLINE void F##_from_mont(T *r, const T *a) { fld_from_mont(r->l, a->l, &(PRM), N); }        \
    /* Decoders return 0 when the value is not below the modulus. */                               \
    ZK_INLINE int F##_from_le_std(T *r, const uint8_t *in) {                                        \
        limbs_from_le(r->l, in, N);                                                                 \
        if (limbs_geq(r->l, (PRM).p, N)) return 0;                                                  \
        F##_to_mont(r, r);                                                                          \
        return 1;                                                                                   \
    }                                                                                               \
    ZK_INLINE int F##_from_be_std(T *r, const uint8_t *in) {                                        \
        limbs_from_be(r->l, in, N);                                                                 \
        if (limbs_geq(r->l, (PRM).p, N)) return 0;                                                  \
        F##_to_mont(r, r);                                                                          \
        return 1;                                                                                   \
    }                                                                                               \
    ZK_INLINE int F##_from_le_mont(T *r, const uint8_t *in) {                                       \
        limbs_from_le(r->l, in, N);                                                                 \
        return !limbs_geq(r->l, (PRM).p, N);                                                        \
    }                                                                                               \
    ZK_INLINE void F##_to_le_std(uint8_t *out, const T *a) {                                        \
        T t;                                                                                        \
        F##_from_mont(&t, a);                                                                       \
        limbs_to_le(out, t.l, N);                                                                   \
    }                                                                                               \
    ZK_INLINE void F##_to_be_std(uint8_t *out, const T *a) {                                        \
        T t;                                                                                        \
        F##_from_mont(&t, a);                                                                       \
        limbs_to_be(out, t.l, N);                                                                   \
    }                                                                                               \
    ZK_INLINE void F##_to_le_mont(uint8_t *out, const T *a) { limbs_to_le(out, a->l, N); }

ZK_DEFINE_FIELD(bn_fp, f256, N256, ZK_BN_FP)
ZK_DEFINE_FIELD(bn_fr, f256, N256, ZK_BN_FR)
ZK_DEFINE_FIELD(bls_fp, f384, N384, ZK_BLS_FP)
ZK_DEFINE_FIELD(bls_fr, f256, N256, ZK_BLS_FR)

/* Fp2 = Fp[u]/(u^2 + 1). mul: Karatsuba, 3M; sqr: complex squaring, 2M. */
#define ZK_DEFINE_FP2(F2, T2, F, T, FB)                                                              \
    ZK_INLINE void F2##_add(T2 *r, const T2 *a, const T2 *b) { F##_add(&r->c0, &a->c0, &b->c0); F##_add(&r->c1, &a->c1, &b->c1); } \
    ZK_INLINE void F2##_sub(T2 *r, const T2 *a, const T2 *b) { F##_sub(&r->c0, &a->c0, &b->c0); F##_sub(&r->c1, &a->c1, &b->c1); } \
    ZK_INLINE void F2##_dbl(T2 *r, const T2 *a) { F##_dbl(&r->c0, &a->c0); F##_dbl(&r->c1, &a->c1); } \
    ZK_INLINE void F2##_neg(T2 *r, const T2 *a) { F##_neg(&r->c0, &a->c0); F##_neg(&r->c1, &a->c1); } \
    ZK_NOINLINE void F2##_mul(T2 *r, const T2 *a, const T2 *b) {                                      \
        T t0, t1, s0, s1;                                                                           \
        F##_mul(&t0, &a->c0, &b->c0);                                                               \
        F##_mul(&t1, &a->c1, &b->c1);                                                               \
        F##_add(&s0, &a->c0, &a->c1);                                                               \
        F##_add(&s1, &b->c0, &b->c1);                                                               \
        F##_mul(&s0, &s0, &s1);                                                                     \
        F##_sub(&s0, &s0, &t0);                                                                     \
        F##_sub(&r->c1, &s0, &t1);                                                                  \
        F##_sub(&r->c0, &t0, &t1);                                                                  \
    }                                                                                               \
    ZK_NOINLINE void F2##_sqr(T2 *r, const T2 *a) {                                                   \
        T s, d, m;                                                                                  \
        F##_add(&s, &a->c0, &a->c1);                                                                \
        F##_sub(&d, &a->c0, &a->c1);                                                                \
        F##_mul(&m, &a->c0, &a->c1);                                                                \
        F##_mul(&r->c0, &s, &d);                                                                    \
        F##_dbl(&r->c1, &m);                                                                        \
    }                                                                                               \
    ZK_NOINLINE void F2##_inv(T2 *r, const T2 *a) {                                                   \
        T n0, n1;                                                                                   \
        F##_sqr(&n0, &a->c0);                                                                       \
        F##_sqr(&n1, &a->c1);                                                                       \
        F##_add(&n0, &n0, &n1);                                                                     \
        F##_inv(&n0, &n0);                                                                          \
        F##_mul(&r->c0, &a->c0, &n0);                                                               \
        F##_neg(&n1, &a->c1);                                                                       \
        F##_mul(&r->c1, &n1, &n0);                                                                  \
    }                                                                                               \
    ZK_INLINE int F2##_is_zero(const T2 *a) { return F##_is_zero(&a->c0) && F##_is_zero(&a->c1); } \
    ZK_INLINE int F2##_eq(const T2 *a, const T2 *b) { return F##_eq(&a->c0, &b->c0) && F##_eq(&a->c1, &b->c1); } \
    ZK_INLINE void F2##_set_zero(T2 *r) { F##_set_zero(&r->c0); F##_set_zero(&r->c1); }          \
    ZK_INLINE void F2##_set_one(T2 *r) { F##_set_one(&r->c0); F##_set_zero(&r->c1); }            \
    ZK_INLINE int F2##_is_one(const T2 *a) { return F##_is_one(&a->c0) && F##_is_zero(&a->c1); }   \
    ZK_INLINE void F2##_to_mont(T2 *r, const T2 *a) { F##_to_mont(&r->c0, &a->c0); F##_to_mont(&r->c1, &a->c1); } \
    ZK_INLINE void F2##_from_mont(T2 *r, const T2 *a) { F##_from_mont(&r->c0, &a->c0); F##_from_mont(&r->c1, &a->c1); } \
    ZK_INLINE int F2##_from_le_std(T2 *r, const uint8_t *in) { return F##_from_le_std(&r->c0, in) & F##_from_le_std(&r->c1, in + (FB)); } \
    ZK_INLINE int F2##_from_be_std(T2 *r, const uint8_t *in) { return F##_from_be_std(&r->c0, in) & F##_from_be_std(&r->c1, in + (FB)); } \
    ZK_INLINE int F2##_from_le_mont(T2 *r, const uint8_t *in) { return F##_from_le_mont(&r->c0, in) & F##_from_le_mont(&r->c1, in + (FB)); } \
    ZK_INLINE void F2##_to_le_std(uint8_t *out, const T2 *a) { F##_to_le_std(out, &a->c0); F##_to_le_std(out + (FB), &a->c1); } \
    ZK_INLINE void F2##_to_be_std(uint8_t *out, const T2 *a) { F##_to_be_std(out, &a->c0); F##_to_be_std(out + (FB), &a->c1); } \
    ZK_INLINE void F2##_to_le_mont(uint8_t *out, const T2 *a) { F##_to_le_mont(out, &a->c0); F##_to_le_mont(out + (FB), &a->c1); }

ZK_DEFINE_FP2(bn_fp2, f256x2, bn_fp, f256, 32)
ZK_DEFINE_FP2(bls_fp2, f384x2, bls_fp, f384, 48)

#endif
