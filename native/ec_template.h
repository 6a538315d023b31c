/* Short Weierstrass curve y^2 = x^3 + b (a = 0) over a field, instantiated per group by
 * including this file with:
 *   EC        prefix of the generated names (e.g. bn_g1)
 *   FE, FE_T  field prefix and element type (e.g. bn_fp, f256)
 *   EC_B      expression: a const FE_T * to b in Montgomery form
 *   FE_BYTES  bytes of one coordinate in the encodings
 *   EC_FR     the scalar field's zk_field_params (its p is the group order r)
 *   EC_COFACTOR_ONE  1 if every point on the curve is in the prime-order subgroup
 * (all of which it #undefs at the end, ready for the next instantiation).
 * Formulas from the Explicit-Formulas Database (hyperelliptic.org/EFD, "g1p/shortw"): Jacobian
 * dbl-2009-l (2M+5S), add-2007-bl (11M+5S), madd-2007-bl (7M+4S); XYZZ madd-2008-s (8M+2S),
 * mdbl-2008-s, add-2008-s (12M+2S), dbl-2008-s. */

#define ZK_CAT3_(a, b, c) a##b##c
#define ZK_CAT3(a, b, c) ZK_CAT3_(a, b, c)
#define ECF(name) ZK_CAT3(EC, _, name)
#define FEF(name) ZK_CAT3(FE, _, name)

typedef struct { FE_T x, y; } ECF(aff);            /* infinity: x = y = 0 */
typedef struct { FE_T X, Y, Z; } ECF(jac);         /* infinity: Z = 0 */
typedef struct { FE_T X, Y, ZZ, ZZZ; } ECF(xyzz);  /* infinity: ZZ = 0 */

ZK_INLINE int ECF(aff_is_inf)(const ECF(aff) *a) { return FEF(is_zero)(&a->x) && FEF(is_zero)(&a->y); }

ZK_FN int ECF(aff_on_curve)(const ECF(aff) *a) {
    if (ECF(aff_is_inf)(a)) return 1;
    FE_T l, r;
    FEF(sqr)(&l, &a->y);
    FEF(sqr)(&r, &a->x);
    FEF(mul)(&r, &r, &a->x);
    FEF(add)(&r, &r, EC_B);
    return FEF(eq)(&l, &r);
}

ZK_INLINE void ECF(jac_set_inf)(ECF(jac) *r) { memset(r, 0, sizeof *r); }
ZK_INLINE int ECF(jac_is_inf)(const ECF(jac) *a) { return FEF(is_zero)(&a->Z); }

ZK_INLINE void ECF(jac_from_aff)(ECF(jac) *r, const ECF(aff) *a) {
    if (ECF(aff_is_inf)(a)) {
        ECF(jac_set_inf)(r);
        return;
    }
    r->X = a->x;
    r->Y = a->y;
    FEF(set_one)(&r->Z);
}

ZK_FN void ECF(jac_to_aff)(ECF(aff) *r, const ECF(jac) *a) {
    if (ECF(jac_is_inf)(a)) {
        memset(r, 0, sizeof *r);
        return;
    }
    FE_T zi, zi2, zi3;
    FEF(inv)(&zi, &a->Z);
    FEF(sqr)(&zi2, &zi);
    FEF(mul)(&zi3, &zi2, &zi);
    FEF(mul)(&r->x, &a->X, &zi2);
    FEF(mul)(&r->y, &a->Y, &zi3);
}

/* dbl-2009-l */
ZK_FN void ECF(jac_dbl)(ECF(jac) *r, const ECF(jac) *p) {
    if (ECF(jac_is_inf)(p)) {
        *r = *p;
        return;
    }
    FE_T A, B, C, D, E, F, t;
    FEF(sqr)(&A, &p->X);
    FEF(sqr)(&B, &p->Y);
    FEF(sqr)(&C, &B);
    FEF(add)(&t, &p->X, &B);
    FEF(sqr)(&t, &t);
    FEF(sub)(&t, &t, &A);
    FEF(sub)(&t, &t, &C);
    FEF(dbl)(&D, &t);
    FEF(dbl)(&E, &A);
    FEF(add)(&E, &E, &A);
    FEF(sqr)(&F, &E);
    FE_T Z3;
    FEF(mul)(&Z3, &p->Y, &p->Z);
    FEF(dbl)(&Z3, &Z3);
    FE_T X3;
    FEF(dbl)(&t, &D);
    FEF(sub)(&X3, &F, &t);
    FEF(sub)(&t, &D, &X3);
    FEF(mul)(&t, &E, &t);
    FEF(dbl)(&C, &C);
    FEF(dbl)(&C, &C);
    FEF(dbl)(&C, &C);
    FEF(sub)(&r->Y, &t, &C);
    r->X = X3;
    r->Z = Z3;
}

/* add-2007-bl, with the doubling and inverse cases handled. */
ZK_FN void ECF(jac_add)(ECF(jac) *r, const ECF(jac) *p, const ECF(jac) *q) {
    if (ECF(jac_is_inf)(p)) {
        *r = *q;
        return;
    }
    if (ECF(jac_is_inf)(q)) {
        *r = *p;
        return;
    }
    FE_T Z1Z1, Z2Z2, U1, U2, S1, S2, H, I, J, rr, V, t;
    FEF(sqr)(&Z1Z1, &p->Z);
    FEF(sqr)(&Z2Z2, &q->Z);
    FEF(mul)(&U1, &p->X, &Z2Z2);
    FEF(mul)(&U2, &q->X, &Z1Z1);
    FEF(mul)(&S1, &p->Y, &q->Z);
    FEF(mul)(&S1, &S1, &Z2Z2);
    FEF(mul)(&S2, &q->Y, &p->Z);
    FEF(mul)(&S2, &S2, &Z1Z1);
    FEF(sub)(&H, &U2, &U1);
    FEF(sub)(&rr, &S2, &S1);
    if (FEF(is_zero)(&H)) {
        if (FEF(is_zero)(&rr)) {
            ECF(jac_dbl)(r, p);
        } else {
            ECF(jac_set_inf)(r);
        }
        return;
    }
    FEF(dbl)(&I, &H);
    FEF(sqr)(&I, &I);
    FEF(mul)(&J, &H, &I);
    FEF(dbl)(&rr, &rr);
    FEF(mul)(&V, &U1, &I);
    FE_T X3, Y3, Z3;
    FEF(sqr)(&X3, &rr);
    FEF(sub)(&X3, &X3, &J);
    FEF(dbl)(&t, &V);
    FEF(sub)(&X3, &X3, &t);
    FEF(sub)(&t, &V, &X3);
    FEF(mul)(&Y3, &rr, &t);
    FEF(mul)(&t, &S1, &J);
    FEF(dbl)(&t, &t);
    FEF(sub)(&Y3, &Y3, &t);
    FEF(add)(&Z3, &p->Z, &q->Z);
    FEF(sqr)(&Z3, &Z3);
    FEF(sub)(&Z3, &Z3, &Z1Z1);
    FEF(sub)(&Z3, &Z3, &Z2Z2);
    FEF(mul)(&Z3, &Z3, &H);
    r->X = X3;
    r->Y = Y3;
    r->Z = Z3;
}

/* madd-2007-bl: p (Jacobian) + q (affine). */
ZK_FN void ECF(jac_madd)(ECF(jac) *r, const ECF(jac) *p, const ECF(aff) *q) {
    if (ECF(aff_is_inf)(q)) {
        *r = *p;
        return;
    }
    if (ECF(jac_is_inf)(p)) {
        ECF(jac_from_aff)(r, q);
        return;
    }
    FE_T Z1Z1, U2, S2, H, HH, I, J, rr, V, t;
    FEF(sqr)(&Z1Z1, &p->Z);
    FEF(mul)(&U2, &q->x, &Z1Z1);
    FEF(mul)(&S2, &q->y, &p->Z);
    FEF(mul)(&S2, &S2, &Z1Z1);
    FEF(sub)(&H, &U2, &p->X);
    FEF(sub)(&rr, &S2, &p->Y);
    if (FEF(is_zero)(&H)) {
        if (FEF(is_zero)(&rr)) {
            ECF(jac_dbl)(r, p);
        } else {
            ECF(jac_set_inf)(r);
        }
        return;
    }
    FEF(sqr)(&HH, &H);
    FEF(dbl)(&I, &HH);
    FEF(dbl)(&I, &I);
    FEF(mul)(&J, &H, &I);
    FEF(dbl)(&rr, &rr);
    FEF(mul)(&V, &p->X, &I);
    FE_T X3, Y3, Z3;
    FEF(sqr)(&X3, &rr);
    FEF(sub)(&X3, &X3, &J);
    FEF(dbl)(&t, &V);
    FEF(sub)(&X3, &X3, &t);
    FEF(sub)(&t, &V, &X3);
    FEF(mul)(&Y3, &rr, &t);
    FEF(mul)(&t, &p->Y, &J);
    FEF(dbl)(&t, &t);
    FEF(sub)(&Y3, &Y3, &t);
    FEF(add)(&Z3, &p->Z, &H);
    FEF(sqr)(&Z3, &Z3);
    FEF(sub)(&Z3, &Z3, &Z1Z1);
    FEF(sub)(&Z3, &Z3, &HH);
    r->X = X3;
    r->Y = Y3;
    r->Z = Z3;
}

ZK_INLINE void ECF(aff_neg)(ECF(aff) *r, const ECF(aff) *a) {
    r->x = a->x;
    FEF(neg)(&r->y, &a->y);
}

/* p * k for a 256-bit scalar k given as 32 little-endian bytes (left-to-right double-and-add). */
ZK_FN void ECF(jac_mul)(ECF(jac) *r, const ECF(aff) *p, const uint8_t k[32]) {
    ECF(jac) acc;
    ECF(jac_set_inf)(&acc);
    for (int i = 255; i >= 0; i--) {
        ECF(jac_dbl)(&acc, &acc);
        if ((k[i >> 3] >> (i & 7)) & 1) ECF(jac_madd)(&acc, &acc, p);
    }
    *r = acc;
}

/* [r]P == O: the prime-order subgroup check. */
ZK_FN int ECF(aff_in_subgroup)(const ECF(aff) *p) {
#if EC_COFACTOR_ONE
    return ECF(aff_on_curve)(p);
#else
    if (!ECF(aff_on_curve)(p)) return 0;
    uint8_t rb[32];
    limbs_to_le(rb, (EC_FR).p, N256);
    ECF(jac) t;
    ECF(jac_mul)(&t, p, rb);
    return ECF(jac_is_inf)(&t);
#endif
}

/* --- XYZZ buckets --- */
ZK_INLINE int ECF(xyzz_is_inf)(const ECF(xyzz) *a) { return FEF(is_zero)(&a->ZZ); }

/* mdbl-2008-s: r = 2 * q (affine, not infinity), with y already negated by the caller if needed. */
ZK_INLINE void ECF(xyzz_mdbl)(ECF(xyzz) *r, const FE_T *x, const FE_T *y) {
    FE_T U, V, W, S, M, t;
    FEF(dbl)(&U, y);
    FEF(sqr)(&V, &U);
    FEF(mul)(&W, &U, &V);
    FEF(mul)(&S, x, &V);
    FEF(sqr)(&M, x);
    FEF(dbl)(&t, &M);
    FEF(add)(&M, &M, &t);
    FEF(sqr)(&r->X, &M);
    FEF(dbl)(&t, &S);
    FEF(sub)(&r->X, &r->X, &t);
    FEF(sub)(&t, &S, &r->X);
    FEF(mul)(&t, &M, &t);
    FEF(mul)(&r->Y, &W, y);
    FEF(sub)(&r->Y, &t, &r->Y);
    r->ZZ = V;
    r->ZZZ = W;
}

/* madd-2008-s: r += (x, y) affine (not infinity). */
ZK_INLINE void ECF(xyzz_madd)(ECF(xyzz) *r, const FE_T *x, const FE_T *y) {
    if (ECF(xyzz_is_inf)(r)) {
        r->X = *x;
        r->Y = *y;
        FEF(set_one)(&r->ZZ);
        FEF(set_one)(&r->ZZZ);
        return;
    }
    FE_T U2, S2, P, R, PP, PPP, Q, t;
    FEF(mul)(&U2, x, &r->ZZ);
    FEF(mul)(&S2, y, &r->ZZZ);
    FEF(sub)(&P, &U2, &r->X);
    FEF(sub)(&R, &S2, &r->Y);
    if (FEF(is_zero)(&P)) {
        if (FEF(is_zero)(&R)) {
            ECF(xyzz_mdbl)(r, x, y);
        } else {
            FEF(set_zero)(&r->ZZ);
            FEF(set_zero)(&r->ZZZ);
        }
        return;
    }
    FEF(sqr)(&PP, &P);
    FEF(mul)(&PPP, &P, &PP);
    FEF(mul)(&Q, &r->X, &PP);
    FEF(sqr)(&t, &R);
    FEF(sub)(&t, &t, &PPP);
    FEF(sub)(&t, &t, &Q);
    FEF(sub)(&r->X, &t, &Q);
    FEF(sub)(&t, &Q, &r->X);
    FEF(mul)(&t, &R, &t);
    FEF(mul)(&r->Y, &r->Y, &PPP);
    FEF(sub)(&r->Y, &t, &r->Y);
    FEF(mul)(&r->ZZ, &r->ZZ, &PP);
    FEF(mul)(&r->ZZZ, &r->ZZZ, &PPP);
}

/* dbl-2008-s */
ZK_FN void ECF(xyzz_dbl)(ECF(xyzz) *r, const ECF(xyzz) *p) {
    if (ECF(xyzz_is_inf)(p)) {
        *r = *p;
        return;
    }
    FE_T U, V, W, S, M, t, X3;
    FEF(dbl)(&U, &p->Y);
    FEF(sqr)(&V, &U);
    FEF(mul)(&W, &U, &V);
    FEF(mul)(&S, &p->X, &V);
    FEF(sqr)(&M, &p->X);
    FEF(dbl)(&t, &M);
    FEF(add)(&M, &M, &t);
    FEF(sqr)(&X3, &M);
    FEF(dbl)(&t, &S);
    FEF(sub)(&X3, &X3, &t);
    FEF(sub)(&t, &S, &X3);
    FEF(mul)(&t, &M, &t);
    FEF(mul)(&r->Y, &W, &p->Y);
    FEF(sub)(&r->Y, &t, &r->Y);
    FEF(mul)(&r->ZZ, &V, &p->ZZ);
    FEF(mul)(&r->ZZZ, &W, &p->ZZZ);
    r->X = X3;
}

/* add-2008-s: r = p + q, all XYZZ; r may alias p. */
ZK_FN void ECF(xyzz_add)(ECF(xyzz) *r, const ECF(xyzz) *p, const ECF(xyzz) *q) {
    if (ECF(xyzz_is_inf)(q)) {
        *r = *p;
        return;
    }
    if (ECF(xyzz_is_inf)(p)) {
        *r = *q;
        return;
    }
    FE_T U1, U2, S1, S2, P, R, PP, PPP, Q, t, X3, Y3;
    FEF(mul)(&U1, &p->X, &q->ZZ);
    FEF(mul)(&U2, &q->X, &p->ZZ);
    FEF(mul)(&S1, &p->Y, &q->ZZZ);
    FEF(mul)(&S2, &q->Y, &p->ZZZ);
    FEF(sub)(&P, &U2, &U1);
    FEF(sub)(&R, &S2, &S1);
    if (FEF(is_zero)(&P)) {
        if (FEF(is_zero)(&R)) {
            ECF(xyzz_dbl)(r, p);
        } else {
            memset(r, 0, sizeof *r);
        }
        return;
    }
    FEF(sqr)(&PP, &P);
    FEF(mul)(&PPP, &P, &PP);
    FEF(mul)(&Q, &U1, &PP);
    FEF(sqr)(&X3, &R);
    FEF(sub)(&X3, &X3, &PPP);
    FEF(dbl)(&t, &Q);
    FEF(sub)(&X3, &X3, &t);
    FEF(sub)(&t, &Q, &X3);
    FEF(mul)(&Y3, &R, &t);
    FEF(mul)(&t, &S1, &PPP);
    FEF(sub)(&Y3, &Y3, &t);
    FEF(mul)(&r->ZZ, &p->ZZ, &q->ZZ);
    FEF(mul)(&r->ZZ, &r->ZZ, &PP);
    FEF(mul)(&r->ZZZ, &p->ZZZ, &q->ZZZ);
    FEF(mul)(&r->ZZZ, &r->ZZZ, &PPP);
    r->X = X3;
    r->Y = Y3;
}

ZK_FN void ECF(xyzz_to_aff)(ECF(aff) *r, const ECF(xyzz) *a) {
    if (ECF(xyzz_is_inf)(a)) {
        memset(r, 0, sizeof *r);
        return;
    }
    FE_T i;
    FEF(inv)(&i, &a->ZZZ);        /* 1/ZZZ = 1/Z^3 */
    FEF(mul)(&r->y, &a->Y, &i);
    FEF(mul)(&i, &i, &a->ZZ);     /* ZZ/ZZZ = 1/Z; squared: 1/ZZ */
    FEF(sqr)(&i, &i);
    FEF(mul)(&r->x, &a->X, &i);
}

/* --- encodings --- */
ZK_FN int ECF(aff_decode)(ECF(aff) *r, const uint8_t *in, int enc) {
    int ok;
    if (enc == ZK_ENC_BE) {
        ok = FEF(from_be_std)(&r->x, in) & FEF(from_be_std)(&r->y, in + FE_BYTES);
    } else {
        ok = FEF(from_le_mont)(&r->x, in) & FEF(from_le_mont)(&r->y, in + FE_BYTES);
    }
    return ok;
}

ZK_FN void ECF(aff_encode)(uint8_t *out, const ECF(aff) *a, int enc) {
    if (ECF(aff_is_inf)(a)) {
        memset(out, 0, 2 * FE_BYTES);
        return;
    }
    if (enc == ZK_ENC_BE) {
        FEF(to_be_std)(out, &a->x);
        FEF(to_be_std)(out + FE_BYTES, &a->y);
    } else {
        FEF(to_le_mont)(out, &a->x);
        FEF(to_le_mont)(out + FE_BYTES, &a->y);
    }
}

/* Decode and check one point: ZK_OK, ZK_ERANGE (coordinate >= p), ZK_ENOTONCURVE,
 * ZK_ENOTINSUBGROUP. */
ZK_FN int ECF(aff_decode_checked)(ECF(aff) *r, const uint8_t *in, int enc, int level) {
    if (!ECF(aff_decode)(r, in, enc)) return ZK_ERANGE;
    if (level >= ZK_CHECK_CURVE && !ECF(aff_on_curve)(r)) return ZK_ENOTONCURVE;
    if (level >= ZK_CHECK_SUBGROUP && !ECF(aff_in_subgroup)(r)) return ZK_ENOTINSUBGROUP;
    return ZK_OK;
}

#undef ECF
#undef FEF
#undef EC
#undef FE
#undef FE_T
#undef EC_B
#undef FE_BYTES
#undef EC_FR
#undef EC_COFACTOR_ONE
