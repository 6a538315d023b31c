/* Number-theoretic transform and vector operations over the scalar field Fr (fr.h). */
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "fr.h"
#include "ifma.h"
#include "parallel.h"
#include "zkedge.h"

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

static size_t bitrev(size_t i, int logn) {
    size_t r = 0;
    for (int b = 0; b < logn; b++) r |= ((i >> b) & 1) << (logn - 1 - b);
    return r;
}

/* A machine-size integer as limbs (standard form). */
static void limbs_from_size(limb_t e[N256], size_t k) {
    memset(e, 0, N256 * sizeof *e);
    e[0] = (limb_t)k;
#if ZK_LIMB_BITS == 32
    e[1] = (limb_t)((uint64_t)k >> 32);
#endif
}

/* r = base^k for a machine-size k (one exponentiation: where a thread's power sequence starts). */
static void fr_pow_index(f256 *r, const f256 *base, size_t k, const zk_field_params *F) {
    limb_t e[N256];
    limbs_from_size(e, k);
    fld_pow(r->l, base->l, e, F, N256);
}

/* tw[j] = w^j for j in t's share of [0, half): one exponentiation, then products. */
static void fill_twiddles(f256 *tw, const f256 *w, size_t half, int t, int nt,
                          const zk_field_params *F) {
    size_t lo, hi;
    zk_share(half, t, nt, &lo, &hi);
    if (lo >= hi) return;
    fr_pow_index(&tw[lo], w, lo, F);
    for (size_t j = lo + 1; j < hi; j++) fr_mul(&tw[j], &tw[j - 1], w, F);
}

/* Load (range-checked) into bit-reversed positions times shift^i, and fill the twiddles. Each
 * thread starts its power sequences with one exponentiation. */
static void ntt_load(void *vctx, int t, int nt) {
    ntt_ctx *c = vctx;
    const zk_field_params *F = c->F;
    size_t lo, hi;
    zk_share(c->n, t, nt, &lo, &hi);
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
    fill_twiddles(c->tw, &c->w, c->n / 2, t, nt, F);
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
    zk_share(c->n / 2, t, nt, &lo, &hi);
    for (size_t b = lo; b < hi; b++) {
        size_t blk = b / c->half, j = b % c->half;
        butterfly(c, blk * 2 * c->half + j, j, c->half, c->stride);
    }
}

static void ntt_store(void *vctx, int t, int nt) {
    ntt_ctx *c = vctx;
    size_t lo, hi;
    zk_share(c->n, t, nt, &lo, &hi);
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
    while (i < cur && !atomic_compare_exchange_weak(bad, &cur, i)) {}
}

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
    zk_share(m->n, t, nt, &lo, &hi);
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
    zk_share(m->n, t, nt, &lo, &hi);
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
    mulsub_ctx m = {.a = a, .b = b, .c = c, .out = out, .n = n, .F = F};
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

/* ---- Domain evaluations -> coset evaluations in one call ----------------------------------
 * Values stay in standard form throughout (loaded and stored without Montgomery conversion):
 * every product is with a Montgomery-form constant (twiddle or scale), so mont(x, kR) = x k
 * keeps them standard. The inverse transform is decimation in frequency (natural order in,
 * bit-reversed out), the forward one decimation in time (bit-reversed in, natural out), so no
 * bit-reversal pass is needed; coefficient bitrev(j), at position j between the two, is
 * multiplied by shift^bitrev(j) / n. Only omega^j (j < n/2) is tabulated: the inverse twiddle
 * omega^-m = -omega^(n/2 - m) is folded into the butterfly as (v - u) * omega^(n/2 - m). */
typedef struct {
    f256 *a;
    f256 *tw; /* tw[j] = omega^j, j < n/2 */
    f256 *lo; /* lo[l] = h^bitrev(l) / n over log2(blk) bits, h = shift^nblk */
    uint8_t *data;
    size_t n, blk, half;
    int lgblk, lgnblk, nblk;
    const zk_field_params *F;
    f256 w, g;
    atomic_size_t bad;
} coset_ctx;

ZK_INLINE void bf_dit(f256 *x, f256 *y, const f256 *t, const zk_field_params *F) {
    f256 u = *x, v;
    fr_mul(&v, y, t, F);
    fr_add(x, &u, &v, F);
    fr_sub(y, &u, &v, F);
}

ZK_INLINE void bf_dit1(f256 *x, f256 *y, const zk_field_params *F) {
    f256 u = *x, v = *y;
    fr_add(x, &u, &v, F);
    fr_sub(y, &u, &v, F);
}

/* inverse DIF butterfly with twiddle omega^-m, t = omega^(n/2 - m) (m > 0) */
ZK_INLINE void bf_dif(f256 *x, f256 *y, const f256 *t, const zk_field_params *F) {
    f256 u = *x, v = *y, d;
    fr_add(x, &u, &v, F);
    fr_sub(&d, &v, &u, F);
    fr_mul(y, &d, t, F);
}

static void coset_twiddles(void *vctx, int t, int nt) {
    coset_ctx *c = vctx;
    fill_twiddles(c->tw, &c->w, c->n / 2, t, nt, c->F);
}

/* One global stage of `half` over t's share of the n/2 butterflies; dif selects the inverse
 * butterfly. src/dst (bytes, NULL: in a) fuse the load into the first inverse stage and the
 * store into the last forward one (half = n/2). */
static void coset_stage(coset_ctx *c, int t, int nt, int dif, const uint8_t *src, uint8_t *dst) {
    const zk_field_params *F = c->F;
    f256 *restrict a = c->a;
    const f256 *restrict tw = c->tw;
    size_t n = c->n, half = c->half, stride = n / (2 * half), lo, hi;
    zk_share(n / 2, t, nt, &lo, &hi);
    if (lo >= hi) return;
    size_t blk = lo / half, j = lo % half;
    for (size_t b = lo; b < hi; b++) {
        size_t i = blk * 2 * half + j, k = i + half;
        f256 x, y;
        if (src) {
            limbs_from_le(x.l, src + 32 * i, N256);
            limbs_from_le(y.l, src + 32 * k, N256);
            int bx = limbs_geq(x.l, F->p, N256), by = limbs_geq(y.l, F->p, N256);
            if (bx | by) {
                note_bad(&c->bad, bx ? i : k);
                x = y = (f256){{0}};
            }
        } else {
            x = a[i];
            y = a[k];
        }
        if (dif) {
            if (j == 0) bf_dit1(&x, &y, F);
            else bf_dif(&x, &y, &tw[n / 2 - j * stride], F);
        } else {
            if (j == 0) bf_dit1(&x, &y, F);
            else bf_dit(&x, &y, &tw[j * stride], F);
        }
        if (dst) {
            limbs_to_le(dst + 32 * i, x.l, N256);
            limbs_to_le(dst + 32 * k, y.l, N256);
        } else {
            a[i] = x;
            a[k] = y;
        }
        if (++j == half) {
            j = 0;
            blk++;
        }
    }
}

static void coset_first(void *vctx, int t, int nt) {
    coset_ctx *c = vctx;
    coset_stage(c, t, nt, 1, c->data, NULL);
}
static void coset_dif(void *vctx, int t, int nt) { coset_stage(vctx, t, nt, 1, NULL, NULL); }
static void coset_dit(void *vctx, int t, int nt) { coset_stage(vctx, t, nt, 0, NULL, NULL); }
static void coset_last(void *vctx, int t, int nt) {
    coset_ctx *c = vctx;
    coset_stage(c, t, nt, 0, NULL, c->data);
}

/* Plain load (n <= blk: no global stage to fuse it with). */
static void coset_load(void *vctx, int t, int nt) {
    coset_ctx *c = vctx;
    size_t lo, hi;
    zk_share(c->n, t, nt, &lo, &hi);
    for (size_t i = lo; i < hi; i++) {
        limbs_from_le(c->a[i].l, c->data + 32 * i, N256);
        if (limbs_geq(c->a[i].l, c->F->p, N256)) {
            note_bad(&c->bad, i);
            return;
        }
    }
}

static void coset_store(void *vctx, int t, int nt) {
    coset_ctx *c = vctx;
    size_t lo, hi;
    zk_share(c->n, t, nt, &lo, &hi);
    for (size_t i = lo; i < hi; i++) limbs_to_le(c->data + 32 * i, c->a[i].l, N256);
}

/* Per block of blk points, all in cache: the rest of the inverse transform, the scaling, and
 * the first stages of the forward one. */
static void coset_local(void *vctx, int t, int nt) {
    coset_ctx *c = vctx;
    const zk_field_params *F = c->F;
    f256 *restrict a0 = c->a;
    const f256 *restrict tw = c->tw;
    size_t n = c->n, blk = c->blk;
    for (int b = t; b < c->nblk; b += nt) {
        f256 *restrict a = a0 + (size_t)b * blk;
        for (size_t half = blk / 2; half >= 1; half /= 2) {
            size_t stride = n / (2 * half);
            for (size_t s = 0; s < blk; s += 2 * half) {
                bf_dit1(&a[s], &a[s + half], F);
                for (size_t j = 1; j < half; j++)
                    bf_dif(&a[s + j], &a[s + j + half], &tw[n / 2 - j * stride], F);
            }
        }
        /* position b*blk + l holds coefficient bitrev(l) * nblk + bitrev(b) */
        const f256 *restrict lo = c->lo;
        if (b == 0) {
            for (size_t l = 0; l < blk; l++) fr_mul(&a[l], &a[l], &lo[l], F);
        } else {
            f256 kb;
            fr_pow_index(&kb, &c->g, bitrev((size_t)b, c->lgnblk), F);
            for (size_t l = 0; l < blk; l++) {
                f256 s;
                fr_mul(&s, &lo[l], &kb, F);
                fr_mul(&a[l], &a[l], &s, F);
            }
        }
        for (size_t half = 1; half < blk; half *= 2) {
            size_t stride = n / (2 * half);
            for (size_t s = 0; s < blk; s += 2 * half) {
                bf_dit1(&a[s], &a[s + half], F);
                for (size_t j = 1; j < half; j++)
                    bf_dit(&a[s + j], &a[s + j + half], &tw[j * stride], F);
            }
        }
    }
}

#if ZK_HAVE_IFMA
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wsign-conversion"
#include "ntt_ifma.inc"
#pragma GCC diagnostic pop
#endif

int zk_fr_coset_evals(int curve, uint8_t *data, size_t len, size_t n, const uint8_t *omega,
                      const uint8_t *shift, int threads, size_t *bad_index) {
    const zk_field_params *F = fr_params(curve);
    if (!F) return ZK_EINVAL;
    if (n == 0 || (n & (n - 1)) != 0) return ZK_EINVAL;
    if (!data || !omega || !shift || n > SIZE_MAX / 64 || len != n * 32) return ZK_ELEN;
    coset_ctx c;
    memset(&c, 0, sizeof c);
    c.F = F;
    c.n = n;
    c.data = data;
    if (!fr_load(&c.w, omega, F) || !fr_load(&c.g, shift, F)) return ZK_ERANGE;
    atomic_init(&c.bad, SIZE_MAX);
    if (n == 1) { /* a constant: the same value everywhere */
        if (fr_below(data, F)) return ZK_OK;
        if (bad_index) *bad_index = 0;
        return ZK_ERANGE;
    }
    int nt = n >= 4096 ? zk_resolve_threads(threads, 0) : 1;
    /* blocks: at least one per thread (a power of two), of at most 2^14 points (512 KiB) */
    size_t nblk = 1;
    while (nblk < (size_t)nt && nblk < n / 2) nblk *= 2;
    while (n / nblk > ((size_t)1 << 14)) nblk *= 2;
    c.nblk = (int)nblk;
    c.blk = n / nblk;
    while (((size_t)1 << c.lgblk) < c.blk) c.lgblk++;
    while (((size_t)1 << c.lgnblk) < nblk) c.lgnblk++;
    /* lo[l] = h^bitrev(l) / n by doubling: bitrev(l + 2^k) = bitrev(l) + blk / 2^(k+1) */
    f256 h, steps[64], ninv;
    fr_pow_index(&h, &c.g, nblk, F);
    for (int k = c.lgblk - 1; k >= 0; k--) {
        steps[k] = h;
        fr_mul(&h, &h, &h, F);
    }
    {
        f256 nm;
        limbs_from_size(nm.l, n);
        fld_to_mont(nm.l, nm.l, F, N256);
        fld_inv(ninv.l, nm.l, F, N256);
    }
#if ZK_HAVE_IFMA
    /* BN254's Fr fits the lanes' bounds (below 2^254); blocks of at least one lane vector */
    if (zk_ifma_on && curve == ZK_BN254 && n >= 16 && c.blk >= 8 &&
        coset_lanes(&c, nt, steps, &ninv) == ZK_OK) {
        size_t bad = atomic_load(&c.bad);
        if (bad == SIZE_MAX) return ZK_OK;
        if (bad_index) *bad_index = bad;
        return ZK_ERANGE;
    }
#endif
    /* one allocation: the values, the twiddles, the per-block scale table */
    c.a = malloc((n + n / 2 + c.blk) * sizeof *c.a);
    if (!c.a) return ZK_ENOMEM;
    c.tw = c.a + n;
    c.lo = c.tw + n / 2;
    zk_parallel(nt, coset_twiddles, &c);
    c.lo[0] = ninv;
    for (int k = 0; k < c.lgblk; k++) {
        size_t m = (size_t)1 << k;
        for (size_t l = 0; l < m; l++) fr_mul(&c.lo[l + m], &c.lo[l], &steps[k], F);
    }
    if (nblk >= 2) {
        c.half = n / 2;
        zk_parallel(nt, coset_first, &c);
    } else {
        zk_parallel(nt, coset_load, &c);
    }
    size_t bad = atomic_load(&c.bad);
    if (bad != SIZE_MAX) {
        if (bad_index) *bad_index = bad;
        free(c.a);
        return ZK_ERANGE;
    }
    for (size_t half = n / 4; half >= c.blk; half /= 2) {
        c.half = half;
        zk_parallel(nt, coset_dif, &c);
    }
    zk_parallel(nt < c.nblk ? nt : c.nblk, coset_local, &c);
    for (size_t half = c.blk; half < n / 2; half *= 2) {
        c.half = half;
        zk_parallel(nt, coset_dit, &c);
    }
    if (nblk >= 2) {
        c.half = n / 2;
        zk_parallel(nt, coset_last, &c);
    } else {
        zk_parallel(nt, coset_store, &c);
    }
    free(c.a);
    return ZK_OK;
}
