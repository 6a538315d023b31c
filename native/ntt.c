/* Number-theoretic transform and vector operations over the scalar field Fr (both curves have a
 * 256-bit Fr, so one body serves both, parameterised by the field constants). */
#include <stdatomic.h>
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

typedef struct {
    f256 *a;
    f256 *tw; /* tw[j] = omega^j, j < n/2 */
    uint8_t *data;
    size_t n, half, stride, blk; /* blk: points per thread-local block (early stages) */
    int logn, nblk;
    const zk_field_params *F;
    f256 w, g, s;
    int has_g, has_s;
    atomic_int err;
} ntt_ctx;

/* Rows [lo, hi) of t's share of `count` items split among nt threads. */
static void share(size_t count, int t, int nt, size_t *lo, size_t *hi) {
    *lo = count * (size_t)t / (size_t)nt;
    *hi = count * (size_t)(t + 1) / (size_t)nt;
}

static size_t bitrev(size_t i, int logn) {
    size_t r = 0;
    for (int b = 0; b < logn; b++) r |= ((i >> b) & 1) << (logn - 1 - b);
    return r;
}

/* r = base^k for a machine-size k (one exponentiation: where a thread's power sequence starts). */
static void fr_pow_index(f256 *r, const f256 *base, size_t k, const zk_field_params *F) {
    limb_t e[N256] = {(limb_t)k};
#if ZK_LIMB_BITS == 32
    e[1] = (limb_t)((uint64_t)k >> 32);
#endif
    fld_pow(r->l, base->l, e, F, N256);
}

/* Load (range-checked) into bit-reversed positions times shift^i, and fill the twiddles. Each
 * thread starts its power sequences with one exponentiation. */
static void ntt_load(void *vctx, int t, int nt) {
    ntt_ctx *c = vctx;
    const zk_field_params *F = c->F;
    size_t lo, hi;
    share(c->n, t, nt, &lo, &hi);
    f256 gp, x;
    if (c->has_g) fr_pow_index(&gp, &c->g, lo, F);
    for (size_t i = lo; i < hi; i++) {
        if (!fr_load(&x, c->data + 32 * i, F)) {
            atomic_store(&c->err, ZK_ERANGE);
            return;
        }
        if (c->has_g) {
            fr_mul(&x, &x, &gp, F);
            fr_mul(&gp, &gp, &c->g, F);
        }
        c->a[bitrev(i, c->logn)] = x;
    }
    share(c->n / 2, t, nt, &lo, &hi);
    if (lo >= hi) return;
    fr_pow_index(&c->tw[lo], &c->w, lo, F);
    for (size_t j = lo + 1; j < hi; j++) fr_mul(&c->tw[j], &c->tw[j - 1], &c->w, F);
}

ZK_INLINE void butterfly(ntt_ctx *c, size_t i, size_t j, size_t half, size_t stride) {
    size_t k = i + half;
    f256 u = c->a[i], v;
    if (j == 0) v = c->a[k];
    else fr_mul(&v, &c->a[k], &c->tw[j * stride], c->F);
    fr_add(&c->a[i], &u, &v, c->F);
    fr_sub(&c->a[k], &u, &v, c->F);
}

/* The early stages (2 * half <= blk) stay inside blocks of blk points: each thread runs all of
 * them on its blocks with no synchronisation, and a block is small enough to stay in cache. */
static void ntt_local(void *vctx, int t, int nt) {
    ntt_ctx *c = vctx;
    for (int b = t; b < c->nblk; b += nt) {
        size_t base = (size_t)b * c->blk;
        for (size_t half = 1; 2 * half <= c->blk; half *= 2) {
            size_t stride = c->n / (2 * half);
            for (size_t blk0 = base; blk0 < base + c->blk; blk0 += 2 * half)
                for (size_t j = 0; j < half; j++) butterfly(c, blk0 + j, j, half, stride);
        }
    }
}

/* One later stage (blocks wider than blk) over t's share of its n/2 butterflies. */
static void ntt_stage(void *vctx, int t, int nt) {
    ntt_ctx *c = vctx;
    size_t lo, hi;
    share(c->n / 2, t, nt, &lo, &hi);
    for (size_t b = lo; b < hi; b++) {
        size_t blk = b / c->half, j = b % c->half;
        butterfly(c, blk * 2 * c->half + j, j, c->half, c->stride);
    }
}

static void ntt_store(void *vctx, int t, int nt) {
    ntt_ctx *c = vctx;
    size_t lo, hi;
    share(c->n, t, nt, &lo, &hi);
    for (size_t i = lo; i < hi; i++) {
        if (c->has_s) fr_mul(&c->a[i], &c->a[i], &c->s, c->F);
        fr_store(c->data + 32 * i, &c->a[i], c->F);
    }
}

int zk_fr_ntt(int curve, uint8_t *data, size_t len, size_t n, const uint8_t *omega,
              const uint8_t *shift, const uint8_t *scale, int threads) {
    const zk_field_params *F = fr_params(curve);
    if (!F) return ZK_EINVAL;
    if (n == 0 || (n & (n - 1)) != 0) return ZK_EINVAL;
    if (!data || !omega || n > SIZE_MAX / 32 || len != n * 32) return ZK_ELEN;
    ntt_ctx c;
    memset(&c, 0, sizeof c);
    c.F = F;
    c.n = n;
    c.data = data;
    if (!fr_load(&c.w, omega, F)) return ZK_ERANGE;
    if (shift && !fr_load(&c.g, shift, F)) return ZK_ERANGE;
    if (scale && !fr_load(&c.s, scale, F)) return ZK_ERANGE;
    c.has_g = shift != NULL;
    c.has_s = scale != NULL;
    atomic_init(&c.err, ZK_OK);
    while (((size_t)1 << c.logn) < n) c.logn++;
    c.a = malloc(n * sizeof *c.a);
    c.tw = malloc((n / 2 + 1) * sizeof *c.tw);
    if (!c.a || !c.tw) {
        free(c.a);
        free(c.tw);
        return ZK_ENOMEM;
    }
    int nt = n >= 4096 ? zk_resolve_threads(threads, 0) : 1;
    /* Load everything before writing anything back: a value >= r leaves data untouched. */
    zk_parallel(nt, ntt_load, &c);
    int rc = atomic_load(&c.err);
    if (rc == ZK_OK) {
        /* blocks: at least one per thread (a power of two), of at most 2^14 points (512 KiB) */
        size_t nblk = 1;
        while (nblk < (size_t)nt && nblk < n) nblk *= 2;
        while (n / nblk > ((size_t)1 << 14)) nblk *= 2;
        c.nblk = (int)nblk;
        c.blk = n / nblk;
        zk_parallel(nt < c.nblk ? nt : c.nblk, ntt_local, &c);
        for (size_t half = c.blk; half < n; half *= 2) {
            c.half = half;
            c.stride = n / (2 * half);
            zk_parallel(nt, ntt_stage, &c);
        }
        zk_parallel(nt, ntt_store, &c);
    }
    free(c.a);
    free(c.tw);
    return rc;
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

/* Only the range check of a 32-byte LE value (no conversion). */
static int fr_below(const uint8_t *in, const zk_field_params *F) {
    limb_t t[N256];
    limbs_from_le(t, in, N256);
    return !limbs_geq(t, F->p, N256);
}

/* *bad = min(*bad, i): threads scanning ascending ranges each report their first bad index. */
static void note_bad(atomic_size_t *bad, size_t i) {
    size_t cur = atomic_load(bad);
    while (i < cur && !atomic_compare_exchange_weak(bad, &cur, i)) {
    }
}

/* Vector jobs below this many elements run on the calling thread (a thread start costs more). */
#define ZK_VEC_PAR_MIN 4096

typedef struct {
    const uint8_t *a, *b, *c;
    uint8_t *out;
    size_t n;
    const zk_field_params *F;
    atomic_size_t bad; /* first index of a value >= r; SIZE_MAX: none */
} mulsub_ctx;

static void mulsub_check(void *vctx, int t, int nt) {
    mulsub_ctx *m = vctx;
    size_t lo, hi;
    share(m->n, t, nt, &lo, &hi);
    for (size_t i = lo; i < hi; i++) {
        if (!fr_below(m->a + 32 * i, m->F) || !fr_below(m->b + 32 * i, m->F) ||
            !fr_below(m->c + 32 * i, m->F)) {
            note_bad(&m->bad, i);
            return;
        }
    }
}

/* On standard-form limbs: mont(a, b) = ab/R, times R^2 (Montgomery) gives ab; then minus c. Two
 * products per element, no conversions. */
static void mulsub_run(void *vctx, int t, int nt) {
    mulsub_ctx *m = vctx;
    const zk_field_params *F = m->F;
    size_t lo, hi;
    share(m->n, t, nt, &lo, &hi);
    f256 r2, x, y, z;
    memcpy(r2.l, F->r2, sizeof r2.l);
    for (size_t i = lo; i < hi; i++) {
        limbs_from_le(x.l, m->a + 32 * i, N256);
        limbs_from_le(y.l, m->b + 32 * i, N256);
        limbs_from_le(z.l, m->c + 32 * i, N256);
        fr_mul(&x, &x, &y, F);
        fr_mul(&x, &x, &r2, F);
        fr_sub(&x, &x, &z, F);
        limbs_to_le(m->out + 32 * i, x.l, N256);
    }
}

int zk_fr_mul_sub(int curve, const uint8_t *a, const uint8_t *b, const uint8_t *c, uint8_t *out,
                  size_t len, size_t n, int threads, size_t *bad_index) {
    const zk_field_params *F = fr_params(curve);
    if (!F) return ZK_EINVAL;
    if (!a || !b || !c || !out || n > SIZE_MAX / 32 || len != n * 32) return ZK_ELEN;
    mulsub_ctx m = {a, b, c, out, n, F};
    atomic_init(&m.bad, SIZE_MAX);
    int nt = n >= ZK_VEC_PAR_MIN ? zk_resolve_threads(threads, 0) : 1;
    /* check everything before writing anything: out may alias a */
    zk_parallel(nt, mulsub_check, &m);
    size_t bad = atomic_load(&m.bad);
    if (bad != SIZE_MAX) {
        if (bad_index) *bad_index = bad;
        return ZK_ERANGE;
    }
    zk_parallel(nt, mulsub_run, &m);
    return ZK_OK;
}

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
    share(e->n, t, nt, &lo, &hi);
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
