/* snarkjs .zkey support: the section-4 coefficient records (the A and B matrices of the
 * constraint system) evaluated against a witness, the vectors a Groth16 prover starts from.
 * The file format stays here, out of the arithmetic core. */
#include "zkey.h"

#include <stdlib.h>

#include "fr.h"
#include "parallel.h"
#include "zkedge.h"

static uint32_t rd32(const uint8_t *p) {
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

typedef struct {
    const f256 *A, *B;
    uint8_t *out_a, *out_b, *out_c;
    size_t n;
    const zk_field_params *F;
} evalout_ctx;

/* A, B are Montgomery: from_mont gives their standard form, and mont(A, B_std) = AR * B / R = AB
 * standard (three products per point). */
static void evalab_out(void *vctx, int t, int nt) {
    evalout_ctx *e = vctx;
    const zk_field_params *F = e->F;
    size_t lo, hi;
    zk_share(e->n, t, nt, &lo, &hi);
    for (size_t i = lo; i < hi; i++) {
        f256 a, b;
        fld_from_mont(a.l, e->A[i].l, F, N256);
        fld_from_mont(b.l, e->B[i].l, F, N256);
        limbs_to_le(e->out_a + 32 * i, a.l, N256);
        limbs_to_le(e->out_b + 32 * i, b.l, N256);
        if (e->out_c) {
            fr_mul(&a, &e->A[i], &b, F);
            limbs_to_le(e->out_c + 32 * i, a.l, N256);
        }
    }
}

int zk_zkey_eval_ab(int curve, const uint8_t *coefs, size_t coefs_len, size_t ncoefs,
                    const uint8_t *witness, size_t witness_len, size_t nvars, uint8_t *out_a,
                    uint8_t *out_b, uint8_t *out_c, size_t out_len, size_t n, int threads,
                    size_t *bad_index) {
    const zk_field_params *F = fr_params(curve);
    if (!F) return ZK_EINVAL;
    const size_t rec = 12 + 32;
    if (ncoefs > SIZE_MAX / rec || coefs_len != ncoefs * rec || (ncoefs && !coefs)) return ZK_ELEN;
    if (nvars > SIZE_MAX / 32 || witness_len != nvars * 32 || (nvars && !witness)) return ZK_ELEN;
    if (!out_a || !out_b || n > SIZE_MAX / 32 || out_len != n * 32) return ZK_ELEN;
    f256 *w = malloc((nvars ? nvars : 1) * sizeof *w);
    f256 *A = calloc(n ? n : 1, sizeof *A), *B = calloc(n ? n : 1, sizeof *B);
    int rc = ZK_OK;
    if (!w || !A || !B) {
        rc = ZK_ENOMEM;
        goto done;
    }
    /* The witness stays in standard form: see the product below. */
    for (size_t i = 0; i < nvars; i++) {
        limbs_from_le(w[i].l, witness + 32 * i, N256);
        if (limbs_geq(w[i].l, F->p, N256)) {
            if (bad_index) *bad_index = i;
            rc = ZK_ERANGE;
            goto done;
        }
    }
    for (size_t k = 0; k < ncoefs; k++) {
        const uint8_t *r = coefs + k * rec;
        uint32_t m = rd32(r), ci = rd32(r + 4), si = rd32(r + 8);
        f256 v;
        limbs_from_le(v.l, r + 12, N256);
        if (m > 1 || ci >= n || si >= nvars || limbs_geq(v.l, F->p, N256)) {
            if (bad_index) *bad_index = k;
            rc = ZK_ERANGE;
            goto done;
        }
        /* snarkjs stores v * R^2 mod r (see zkey section 4); times the standard witness value,
         * one Montgomery product gives v * w * R, the Montgomery form of the term. */
        fr_mul(&v, &v, &w[si], F);
        f256 *dst = m == 0 ? &A[ci] : &B[ci];
        fr_add(dst, dst, &v, F);
    }
    evalout_ctx e = {A, B, out_a, out_b, out_c, n, F};
    zk_parallel(n >= ZK_VEC_PAR_MIN ? zk_resolve_threads(threads, 0) : 1, evalab_out, &e);
done:
    free(w);
    free(A);
    free(B);
    return rc;
}
