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

/* Write a zero byte into every 4 KiB of zeroed memory (see zk_zkey_eval_ab). */
static void zk_touch_pages(void *p, size_t len) {
    volatile uint8_t *b = p;
    for (size_t i = 0; i < len; i += 4096) b[i] = 0;
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

typedef struct {
    const uint8_t *coefs;
    size_t ncoefs, n, nvars;
    const f256 *w;
    f256 *A, *B;
    const zk_field_params *F;
    size_t bad[2]; /* per matrix: the first bad record's index, or SIZE_MAX */
} evalrec_ctx;

/* Thread t (of one or two) adds the terms of matrix t (of both when alone) into A or B: the
 * two matrices' rows are apart, so no row is written by both. A record that is not valid
 * (matrix above 1, row, signal or value out of range) stops the thread that owns it; a record
 * of an unknown matrix is thread 0's. */
static void evalab_records(void *vctx, int t, int nt) {
    evalrec_ctx *e = vctx;
    const zk_field_params *F = e->F;
    const size_t rec = 12 + 32;
    e->bad[t] = SIZE_MAX;
    for (size_t k = 0; k < e->ncoefs; k++) {
        const uint8_t *r = e->coefs + k * rec;
        uint32_t m = rd32(r);
        if (nt == 2 && (m == 1 ? 1 : 0) != t) continue;
        uint32_t ci = rd32(r + 4), si = rd32(r + 8);
        f256 v;
        limbs_from_le(v.l, r + 12, N256);
        if (m > 1 || ci >= e->n || si >= e->nvars || limbs_geq(v.l, F->p, N256)) {
            e->bad[t] = k;
            return;
        }
        /* snarkjs stores v * R^2 mod r (see zkey section 4); times the standard witness value,
         * one Montgomery product gives v * w * R, the Montgomery form of the term. */
        fr_mul(&v, &v, &e->w[si], F);
        f256 *dst = m == 0 ? &e->A[ci] : &e->B[ci];
        fr_add(dst, dst, &v, F);
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
    /* The sums below read a row before writing it. A fresh calloc'd page read first maps the
     * shared zero page, so its first write is a second fault that flushes the TLB on every core
     * the process runs on (an IPI each, costly in a VM). Writing a zero into each page first
     * makes it one fault. (A memset would be folded back into the calloc by the compiler.) */
    zk_touch_pages(A, (n ? n : 1) * sizeof *A);
    zk_touch_pages(B, (n ? n : 1) * sizeof *B);
    /* The witness stays in standard form: see the product below. */
    for (size_t i = 0; i < nvars; i++) {
        limbs_from_le(w[i].l, witness + 32 * i, N256);
        if (limbs_geq(w[i].l, F->p, N256)) {
            if (bad_index) *bad_index = i;
            rc = ZK_ERANGE;
            goto done;
        }
    }
    {
        evalrec_ctx er = {coefs, ncoefs, n, nvars, w, A, B, F, {SIZE_MAX, SIZE_MAX}};
        int nt = ncoefs >= ZK_VEC_PAR_MIN ? zk_resolve_threads(threads, 2) : 1;
        zk_parallel(nt, evalab_records, &er);
        size_t bad = er.bad[0] < er.bad[1] ? er.bad[0] : er.bad[1];
        if (bad != SIZE_MAX) {
            if (bad_index) *bad_index = bad;
            rc = ZK_ERANGE;
            goto done;
        }
    }
    evalout_ctx e = {A, B, out_a, out_b, out_c, n, F};
    zk_parallel(n >= ZK_VEC_PAR_MIN ? zk_resolve_threads(threads, 0) : 1, evalab_out, &e);
done:
    free(w);
    free(A);
    free(B);
    return rc;
}
