/* Multi-scalar multiplication: signed-digit recoding and per-group Pippenger (msm_template.h). */
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "ec.h"
#include "parallel.h"
#include "zkedge.h"

#define EC bn_g1
#define FE bn_fp
#define FE_T f256
#include "msm_template.h"
#undef EC
#undef FE
#undef FE_T
#define EC bn_g2
#define FE bn_fp2
#define FE_T f256x2
#include "msm_template.h"
#undef EC
#undef FE
#undef FE_T
#define EC bls_g1
#define FE bls_fp
#define FE_T f384
#include "msm_template.h"
#undef EC
#undef FE
#undef FE_T
#define EC bls_g2
#define FE bls_fp2
#define FE_T f384x2
#include "msm_template.h"
#undef EC
#undef FE
#undef FE_T

#define ZK_MAX_WINDOW 15 /* signed digits must fit int16_t: |d| <= 2^(c-1) */

static int r_bits(int curve) { return curve == ZK_BN254 ? BN_R_BITS : BLS_R_BITS; }

/* Window size minimising W * (n * add + 2^(c-1) * reduce). Weights fitted to callgrind counts:
 * batch-affine (n >= 1024) a bucket costs about 1.6 additions in the reduction (the fit at
 * n = 2^15 over c = 11..14 gave 3450 instructions per addition, 5630 per bucket); for the XYZZ
 * path (small n) a mixed addition is ~10 multiplications and a bucket ~28. */
int zk_msm_window(int curve, size_t count) {
    if (curve != ZK_BN254 && curve != ZK_BLS12_381) return 0;
    int bits = r_bits(curve), best = 1;
    double best_cost = 0, add = count >= 1024 ? 7.0 : 10.0, red = count >= 1024 ? 11.5 : 28.0;
    for (int c = 1; c <= ZK_MAX_WINDOW; c++) {
        int W = (bits + 1 + c - 1) / c;
        double cost = (double)W * ((double)count * add + (double)((size_t)1 << (c - 1)) * red);
        if (c == 1 || cost < best_cost) {
            best = c;
            best_cost = cost;
        }
    }
    return best;
}

typedef struct {
    const uint8_t *scalars;
    size_t count;
    uint64_t r[4];
    int c, W;
    int16_t *digits;
} digit_ctx;

/* Signed-digit recoding: digit d_w = b_w + carry_w, and if d_w > 2^(c-1) it becomes
 * d_w - 2^c with a carry into the next window. With W = ceil((bits + 1) / c) windows, the top
 * window never carries, since scalars are reduced below r < 2^bits. */
static void digits_worker(void *vctx, int t, int nt) {
    digit_ctx *ctx = vctx;
    size_t lo = ctx->count * (size_t)t / (size_t)nt, hi = ctx->count * (size_t)(t + 1) / (size_t)nt;
    const int c = ctx->c;
    const uint64_t mask = ((uint64_t)1 << c) - 1, half = (uint64_t)1 << (c - 1);
    for (size_t i = lo; i < hi; i++) {
        const uint8_t *sb = ctx->scalars + 32 * i;
        uint64_t s[4];
        for (int k = 0; k < 4; k++) {
            uint64_t v = 0;
            for (int b = 0; b < 8; b++) v |= (uint64_t)sb[8 * k + b] << (8 * b);
            s[k] = v;
        }
        for (;;) { /* reduce mod r: s < 2^256 < 6r, so a few subtractions at most */
            int geq = 1;
            for (int k = 3; k >= 0; k--) {
                if (s[k] != ctx->r[k]) {
                    geq = s[k] > ctx->r[k];
                    break;
                }
            }
            if (!geq) break;
            uint64_t borrow = 0;
            for (int k = 0; k < 4; k++) {
                uint64_t a = s[k], b = ctx->r[k];
                uint64_t d = a - b - borrow;
                borrow = (a < b) || (a - b < borrow);
                s[k] = d;
            }
        }
        uint64_t carry = 0;
        for (int w = 0; w < ctx->W; w++) {
            int off = w * c, word = off >> 6, sh = off & 63;
            uint64_t v = word < 4 ? s[word] >> sh : 0;
            if (sh + c > 64 && word + 1 < 4) v |= s[word + 1] << (64 - sh);
            v = (v & mask) + carry;
            int64_t d;
            if (v > half) {
                d = (int64_t)v - (int64_t)((uint64_t)1 << c);
                carry = 1;
            } else {
                d = (int64_t)v;
                carry = 0;
            }
            ctx->digits[(size_t)w * ctx->count + i] = (int16_t)d;
        }
    }
}

int zk_msm(int curve, int group, const uint8_t *table, size_t table_len, size_t start,
           size_t count, const uint8_t *scalars, size_t scalars_len, int threads, int window,
           uint8_t *out, size_t out_len) {
    int gi = zk_group_index(curve, group);
    if (gi < 0) return ZK_EINVAL;
    size_t pb = zk_point_bytes(curve, group);
    if (!table || !out || out_len != pb || table_len % pb != 0) return ZK_ELEN;
    if ((uintptr_t)table % sizeof(limb_t) != 0) return ZK_EINVAL;
    size_t npts = table_len / pb;
    if (start > npts || count > npts - start) return ZK_ERANGE;
    if (count > SIZE_MAX / 32 || scalars_len != count * 32 || (count && !scalars)) return ZK_ELEN;
    if (window < 0 || window > ZK_MAX_WINDOW) return ZK_EINVAL;
    if (count == 0) {
        memset(out, 0, pb);
        return ZK_OK;
    }
    int c = window ? window : zk_msm_window(curve, count);
    int W = (r_bits(curve) + 1 + c - 1) / c;
    if (count > SIZE_MAX / ((size_t)W * sizeof(int16_t))) return ZK_ENOMEM;
    int16_t *digits = malloc(count * (size_t)W * sizeof(int16_t));
    if (!digits) return ZK_ENOMEM;
    digit_ctx dc = {.scalars = scalars, .count = count, .c = c, .W = W, .digits = digits};
    {
        const zk_field_params *fr = curve == ZK_BN254 ? &ZK_BN_FR : &ZK_BLS_FR;
        uint8_t rb[32];
        limbs_to_le(rb, fr->p, N256);
        for (int k = 0; k < 4; k++) {
            uint64_t v = 0;
            for (int b = 0; b < 8; b++) v |= (uint64_t)rb[8 * k + b] << (8 * b);
            dc.r[k] = v;
        }
    }
    int nt = zk_resolve_threads(threads, 0);
    if (count < 256) nt = 1;
    zk_parallel(zk_resolve_threads(nt, (int)(count < 4096 ? 1 : (count / 4096 < 256 ? count / 4096 : 256))),
                digits_worker, &dc);
    const uint8_t *base = table + start * pb;
    /* Batch-affine buckets pay off once buckets are many and filled (see msm_template.h);
     * ZKEDGE_MSM_XYZZ=1 forces the plain XYZZ path (for comparison in bench/). */
    const char *force = getenv("ZKEDGE_MSM_XYZZ");
    int ba = c >= 10 && count >= 1024 && !(force && force[0] == '1');
    int rc;
    switch (gi) {
    case 0: rc = bn_g1_msm(base, count, digits, c, W, nt, ba, out); break;
    case 1: rc = bn_g2_msm(base, count, digits, c, W, nt, ba, out); break;
    case 2: rc = bls_g1_msm(base, count, digits, c, W, nt, ba, out); break;
    default: rc = bls_g2_msm(base, count, digits, c, W, nt, ba, out); break;
    }
    free(digits);
    return rc;
}
