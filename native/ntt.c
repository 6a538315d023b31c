/* Number-theoretic transform and vector operations over the scalar field Fr (both curves have a
 * 256-bit Fr, so one body serves both, parameterised by the field constants). */
#include <stdlib.h>
#include <string.h>

#include "fields.h"
#include "parallel.h"
#include "zkedge.h"

static const zk_field_params *fr_params(int curve) {
    return curve == ZK_BN254 ? &ZK_BN_FR : curve == ZK_BLS12_381 ? &ZK_BLS_FR : NULL;
}

ZK_INLINE void fr_mul(f256 *r, const f256 *a, const f256 *b, const zk_field_params *F) {
    mont_mul(r->l, a->l, b->l, F->p, F->n0, N256);
}
ZK_INLINE void fr_add(f256 *r, const f256 *a, const f256 *b, const zk_field_params *F) {
    mod_add(r->l, a->l, b->l, F->p, N256);
}
ZK_INLINE void fr_sub(f256 *r, const f256 *a, const f256 *b, const zk_field_params *F) {
    mod_sub(r->l, a->l, b->l, F->p, N256);
}

/* LE standard bytes -> Montgomery limbs; 0 if not below r. */
static int fr_load(f256 *r, const uint8_t *in, const zk_field_params *F) {
    limbs_from_le(r->l, in, N256);
    if (limbs_geq(r->l, F->p, N256)) return 0;
    fld_to_mont(r->l, r->l, F, N256);
    return 1;
}

static void fr_store(uint8_t *out, const f256 *a, const zk_field_params *F) {
    f256 t;
    fld_from_mont(t.l, a->l, F, N256);
    limbs_to_le(out, t.l, N256);
}

/* Load a vector, reducing nothing: values >= r are an error (index in *bad). */
static int fr_load_vec(f256 *dst, const uint8_t *src, size_t n, const zk_field_params *F, size_t *bad) {
    for (size_t i = 0; i < n; i++) {
        if (!fr_load(&dst[i], src + 32 * i, F)) {
            if (bad) *bad = i;
            return ZK_ERANGE;
        }
    }
    return ZK_OK;
}

typedef struct {
    f256 *a;
    const f256 *tw; /* tw[j] = omega^j, j < n/2 */
    size_t n, half, stride;
    const zk_field_params *F;
} stage_ctx;

/* One radix-2 DIT stage over butterflies [lo, hi): butterfly b sits in block b / half, offset
 * j = b % half, pairs (i, i + half) and uses twiddle omega^(j * n / (2 * half)). */
static void stage_worker(void *vctx, int t, int nt) {
    stage_ctx *c = vctx;
    size_t nbf = c->n / 2;
    size_t lo = nbf * (size_t)t / (size_t)nt, hi = nbf * (size_t)(t + 1) / (size_t)nt;
    for (size_t b = lo; b < hi; b++) {
        size_t blk = b / c->half, j = b % c->half;
        size_t i = blk * 2 * c->half + j, k = i + c->half;
        f256 u = c->a[i], v;
        if (j == 0) v = c->a[k];
        else fr_mul(&v, &c->a[k], &c->tw[j * c->stride], c->F);
        fr_add(&c->a[i], &u, &v, c->F);
        fr_sub(&c->a[k], &u, &v, c->F);
    }
}

int zk_fr_ntt(int curve, uint8_t *data, size_t len, size_t n, const uint8_t *omega,
              const uint8_t *shift, const uint8_t *scale, int threads) {
    const zk_field_params *F = fr_params(curve);
    if (!F) return ZK_EINVAL;
    if (n == 0 || (n & (n - 1)) != 0) return ZK_EINVAL;
    if (!data || !omega || n > SIZE_MAX / 32 || len != n * 32) return ZK_ELEN;
    f256 w, g, s;
    if (!fr_load(&w, omega, F)) return ZK_ERANGE;
    if (shift && !fr_load(&g, shift, F)) return ZK_ERANGE;
    if (scale && !fr_load(&s, scale, F)) return ZK_ERANGE;
    f256 *a = malloc(n * sizeof *a);
    f256 *tw = malloc((n / 2 + 1) * sizeof *tw);
    if (!a || !tw) {
        free(a);
        free(tw);
        return ZK_ENOMEM;
    }
    int rc = fr_load_vec(a, data, n, F, NULL);
    if (rc) {
        free(a);
        free(tw);
        return rc;
    }
    if (shift) {
        f256 gp;
        memcpy(gp.l, F->one, sizeof gp.l);
        for (size_t i = 0; i < n; i++) {
            fr_mul(&a[i], &a[i], &gp, F);
            fr_mul(&gp, &gp, &g, F);
        }
    }
    memcpy(tw[0].l, F->one, sizeof tw[0].l);
    for (size_t j = 1; j < n / 2; j++) fr_mul(&tw[j], &tw[j - 1], &w, F);
    /* bit-reversal permutation */
    int logn = 0;
    while (((size_t)1 << logn) < n) logn++;
    for (size_t i = 0; i < n; i++) {
        size_t r = 0;
        for (int b = 0; b < logn; b++) r |= ((i >> b) & 1) << (logn - 1 - b);
        if (r > i) {
            f256 t = a[i];
            a[i] = a[r];
            a[r] = t;
        }
    }
    int nt = n >= 4096 ? zk_resolve_threads(threads, 0) : 1;
    for (size_t half = 1; half < n; half *= 2) {
        stage_ctx c = {.a = a, .tw = tw, .n = n, .half = half, .stride = n / (2 * half), .F = F};
        zk_parallel(nt, stage_worker, &c);
    }
    for (size_t i = 0; i < n; i++) {
        if (scale) fr_mul(&a[i], &a[i], &s, F);
        fr_store(data + 32 * i, &a[i], F);
    }
    free(a);
    free(tw);
    return ZK_OK;
}

int zk_fr_mul_powers(int curve, uint8_t *data, size_t len, size_t n, const uint8_t *g) {
    const zk_field_params *F = fr_params(curve);
    if (!F) return ZK_EINVAL;
    if (!data || !g || n > SIZE_MAX / 32 || len != n * 32) return ZK_ELEN;
    f256 gm, gp, x;
    if (!fr_load(&gm, g, F)) return ZK_ERANGE;
    for (size_t i = 0; i < n; i++) {
        if (!fr_load(&x, data + 32 * i, F)) return ZK_ERANGE;
    }
    memcpy(gp.l, F->one, sizeof gp.l);
    for (size_t i = 0; i < n; i++) {
        fr_load(&x, data + 32 * i, F);
        fr_mul(&x, &x, &gp, F);
        fr_store(data + 32 * i, &x, F);
        fr_mul(&gp, &gp, &gm, F);
    }
    return ZK_OK;
}

int zk_fr_mul_sub(int curve, const uint8_t *a, const uint8_t *b, const uint8_t *c, uint8_t *out,
                  size_t len, size_t n) {
    const zk_field_params *F = fr_params(curve);
    if (!F) return ZK_EINVAL;
    if (!a || !b || !c || !out || n > SIZE_MAX / 32 || len != n * 32) return ZK_ELEN;
    f256 x, y, z;
    for (size_t i = 0; i < n; i++) {
        if (!fr_load(&x, a + 32 * i, F) || !fr_load(&y, b + 32 * i, F) || !fr_load(&z, c + 32 * i, F))
            return ZK_ERANGE;
    }
    for (size_t i = 0; i < n; i++) {
        fr_load(&x, a + 32 * i, F);
        fr_load(&y, b + 32 * i, F);
        fr_load(&z, c + 32 * i, F);
        fr_mul(&x, &x, &y, F);
        fr_sub(&x, &x, &z, F);
        fr_store(out + 32 * i, &x, F);
    }
    return ZK_OK;
}

static uint32_t rd32(const uint8_t *p) {
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

int zk_zkey_eval_ab(int curve, const uint8_t *coefs, size_t coefs_len, size_t ncoefs,
                    const uint8_t *witness, size_t witness_len, size_t nvars, uint8_t *out_a,
                    uint8_t *out_b, uint8_t *out_c, size_t out_len, size_t n, size_t *bad_index) {
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
    rc = fr_load_vec(w, witness, nvars, F, bad_index);
    if (rc) goto done;
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
        /* snarkjs stores v * R^2 mod r (see zkey section 4): one Montgomery reduction gives v * R,
         * the Montgomery form of v; times the Montgomery witness value it stays Montgomery. */
        fld_from_mont(v.l, v.l, F, N256);
        fr_mul(&v, &v, &w[si], F);
        f256 *dst = m == 0 ? &A[ci] : &B[ci];
        fr_add(dst, dst, &v, F);
    }
    for (size_t i = 0; i < n; i++) {
        fr_store(out_a + 32 * i, &A[i], F);
        fr_store(out_b + 32 * i, &B[i], F);
        if (out_c) {
            f256 c;
            fr_mul(&c, &A[i], &B[i], F);
            fr_store(out_c + 32 * i, &c, F);
        }
    }
done:
    free(w);
    free(A);
    free(B);
    return rc;
}
