/* Multi-scalar multiplication: signed-digit recoding and per-group Pippenger (msm_template.inc). */
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "ec.h"
#include "parallel.h"
#include "zkedge.h"

#define ZK_MAX_WINDOW 15 /* signed digits must fit int16_t: |d| <= 2^(c-1) */
#define ZK_DIGIT_BLOCK 256
/* Batch-affine bucket reduction (msm_template.inc: ba_reduce) in segments of ZK_SEG_LEN buckets,
 * used from 2048 buckets (c >= 12) where it beats the XYZZ running sum. */
#define ZK_SEG_LEN 16

/* A fixed-base MSM's work items are stretches of this many points of one window (a multiple of
 * ZK_DIGIT_BLOCK). With release, each stretch's pages are given back when it is done: about
 * one stretch per thread stays resident (512 KiB of BN254 G1 points), not every block read. */
#define ZK_FIXED_CHUNK 8192

#if defined(__unix__) || defined(__APPLE__)
#include <sys/mman.h>
#include <unistd.h>
#endif

/* madvise(MADV_DONTNEED) over the whole pages in [from, to) of a file mapping: they leave the
 * process's resident memory; a later read maps them again from the page cache. */
static void zk_drop_pages(const uint8_t *from, const uint8_t *to) {
#if defined(MADV_DONTNEED)
    static size_t page;
    if (!page) {
        long ps = sysconf(_SC_PAGESIZE);
        page = ps > 0 ? (size_t)ps : 4096;
    }
    uintptr_t a = ((uintptr_t)from + page - 1) & ~(uintptr_t)(page - 1);
    uintptr_t b = (uintptr_t)to & ~(uintptr_t)(page - 1);
    if (b > a) (void)madvise((void *)a, b - a, MADV_DONTNEED);
#else
    (void)from;
    (void)to;
#endif
}

/* The caller's stop flag (zk_msm_stoppable), written by another thread: an atomic read, so
 * the compiler neither caches it nor reorders it away. NULL: never stops. */
static inline int zk_stopped(const int *stop) {
    return stop && __atomic_load_n(stop, __ATOMIC_RELAXED) != 0;
}
#define ZK_SEG_MIN_BUCKETS 2048
/* With the IFMA lanes (msm_ifma.inc) the segmented reduction is cheaper and wins from 1024
 * buckets (64 segments): a 2^14 proof's B2 MSM 20% shorter, as its 11-bit windows left the
 * XYZZ running sum, whose Fp2 products were a third of its time. */
#define ZK_SEG_MIN_LANES 1024
/* Additions sharing one inversion in the batch-affine accumulation (at most a quarter of the
 * buckets, so few points collide with a bucket already in the batch). */
#ifndef ZK_BA_CAP
#define ZK_BA_CAP 1024
#endif

/* Signed digits of the window of c bits at bit off for scalars [i0, i0 + cnt) (stride bytes
 * each, 32 for whole scalars), computed on the
 * fly (no n x W array): with b_w the raw window and t_w its top bit, d_w = b_w - t_w 2^c +
 * t_(w-1). The sum telescopes back to the scalar and |d_w| <= 2^(c-1); the windows cover bits
 * [0, bits + 1) exactly (zk_window_plan), so the top window's t is bit `bits`, zero for scalars
 * below r. Scalars are 32-byte LE, already below r. */
static inline void zk_window_digits(const uint8_t *scalars, size_t stride, size_t i0, size_t cnt,
                                    int off, int c, int16_t *out) {
    const uint64_t mask = ((uint64_t)1 << c) - 1;
    for (size_t k = 0; k < cnt; k++) {
        uint64_t s[4] = {0, 0, 0, 0};
        /* little-endian target (fields.h checks); a value of fewer than 32 bytes (stride: see
         * zk_msm_windows) reads as its zero-extension, through fixed-size copies (no call) */
        const uint8_t *p = scalars + stride * (i0 + k);
        switch (stride) {
        case 32: memcpy(s, p, 32); break;
        case 2: memcpy(s, p, 2); break;
        case 3: memcpy(s, p, 3); break;
        case 4: memcpy(s, p, 4); break;
        case 5: memcpy(s, p, 5); break;
        case 6: memcpy(s, p, 6); break;
        case 7: memcpy(s, p, 7); break;
        case 8: memcpy(s, p, 8); break;
        default: memcpy(s, p, stride); break;
        }
        int word = off >> 6, sh = off & 63;
        uint64_t v = word < 4 ? s[word] >> sh : 0;
        if (sh + c > 64 && word + 1 < 4) v |= s[word + 1] << (64 - sh);
        v &= mask;
        int64_t d = (int64_t)v - (int64_t)((v >> (c - 1)) << c);
        if (off > 0) d += (int64_t)((s[(off - 1) >> 6] >> ((off - 1) & 63)) & 1);
        out[k] = (int16_t)d;
    }
}

#include "msm_ifma.inc"

#define EC bn_g1
#define FE bn_fp
#define FE_T f256
#if ZK_HAVE_IFMA
#define ZK_IFMA_ADD zk_bn_g1_ifma_add
#endif
#include "msm_template.inc"
#define EC bn_g2
#define FE bn_fp2
#define FE_T f256x2
#if ZK_HAVE_IFMA
#define ZK_IFMA_ADD zk_bn_g2_ifma_add
#endif
#define FB bn_fp /* base field: batch inversions over norms (msm_template.inc) */
#define FB_T f256
#include "msm_template.inc"
#define EC bls_g1
#define FE bls_fp
#define FE_T f384
#include "msm_template.inc"
#define EC bls_g2
#define FE bls_fp2
#define FE_T f384x2
#define FB bls_fp
#define FB_T f384
#include "msm_template.inc"

static int r_bits(int curve) { return curve == ZK_BN254 ? BN_R_BITS : BLS_R_BITS; }

/* W windows of c or c - 1 bits covering bits [0, total) exactly: width[w], offset off[w]; returns
 * the widest. With equal widths of c the top window held what was left, as few as 7 bits for
 * BN254 at c = 13: 64 buckets for all n points, so that window's batches never filled and nearly
 * every point took the XYZZ fallback (69k of 1.3M additions at 2^16). Balanced, every window has
 * at least c - 1 bits and the same number of additions. */
static int zk_window_plan(int total, int W, int *width, int *off) {
    int base = total / W, extra = total % W, at = 0;
    for (int w = 0; w < W; w++) {
        width[w] = base + (w < extra);
        off[w] = at;
        at += width[w];
    }
    return base + (extra > 0); /* the widest */
}

/* Window size minimising the wall time ceil(W / nt) * (n * add + 2^(c-1) * reduce) on nt
 * threads: each thread takes whole windows, so with two threads 17 windows take as long as 18.
 * For the XYZZ path (small n) a mixed addition is ~10 multiplications and a bucket ~28
 * (callgrind counts). For batch-affine (n >= 1024) the weights are fitted to single-thread
 * times over c = 9..15 at n = 2^11..2^18, G1 and G2 (bench/msm.py --windows prints the grid):
 * a bucket costs about 0.8 additions in the reduction, less than its instructions say, as
 * more buckets also make fewer collisions in the affine batches. */
int zk_msm_window(int curve, size_t count, int threads) {
    if (curve != ZK_BN254 && curve != ZK_BLS12_381) return 0;
    int bits = r_bits(curve), best = 1;
    int nt = count < 256 ? 1 : zk_resolve_threads(threads, 0);
    double best_cost = 0, add = count >= 1024 ? 7.0 : 10.0, red = count >= 1024 ? 5.5 : 28.0;
    for (int c = 1; c <= ZK_MAX_WINDOW; c++) {
        int W = (bits + 1 + c - 1) / c;
        int rounds = (W + nt - 1) / nt;
        double cost = (double)rounds * ((double)count * add + (double)((size_t)1 << (c - 1)) * red);
        if (c == 1 || cost < best_cost) {
            best = c;
            best_cost = cost;
        }
    }
    return best;
}

/* Scalars >= r are reduced mod r. Python hands in reduced values, so a reduced copy (32 bytes
 * per scalar) is made only when some input needs it. Returns NULL and sets *copy = NULL when
 * none does, or a malloc'ed reduced copy. *nonzero: how many scalars are not 0 (a zero costs
 * no addition in any window: circom witnesses are often half zeros, and the window is chosen
 * for the points that cost). *bits: the bit length of the largest (reduced) scalar, at least
 * 1: the windows cover only the bits some scalar has (a vector of bits or small counters costs
 * a pass per window it fills, not one per window of r). */
static int reduce_scalars(int curve, const uint8_t *scalars, size_t count, uint8_t **copy,
                          size_t *nonzero, int *bits) {
    const zk_field_params *fr = curve == ZK_BN254 ? &ZK_BN_FR : &ZK_BLS_FR;
    limb_t top[N256] = {0}; /* the OR of all scalars: its bit length is the largest's */
    *copy = NULL;
    *nonzero = 0;
    for (size_t i = 0; i < count; i++) {
        limb_t v[N256];
        limbs_from_le(v, scalars + 32 * i, N256);
        limb_t any = 0;
        for (int k = 0; k < N256; k++) any |= v[k];
        *nonzero += any != 0;
        if (limbs_geq(v, fr->p, N256)) {
            if (!*copy) {
                *copy = malloc(count * 32);
                if (!*copy) return ZK_ENOMEM;
                memcpy(*copy, scalars, count * 32);
            }
            while (limbs_geq(v, fr->p, N256)) limbs_sub(v, v, fr->p, N256); /* < 2^256 < 6r */
            limbs_to_le(*copy + 32 * i, v, N256);
        }
        for (int k = 0; k < N256; k++) top[k] |= v[k];
    }
    *bits = 1;
    for (int k = N256 - 1; k >= 0; k--) {
        if (!top[k]) continue;
        int b = 0;
        for (limb_t t = top[k]; t; t >>= 1) b++;
        *bits = k * (int)(8 * sizeof(limb_t)) + b;
        break;
    }
    return ZK_OK;
}

/* The checks every MSM entry point makes of its range, scalars and stop flag; for an empty
 * range *done = 1 and out is infinity (zeros). */
static int zk_msm_start(size_t npts, size_t start, size_t count, const uint8_t *scalars,
                        size_t scalars_len, const int *stop, uint8_t *out, size_t pb, int *done) {
    if (start > npts || count > npts - start) return ZK_ERANGE;
    if (count > SIZE_MAX / 32 || scalars_len != count * 32 || (count && !scalars)) return ZK_ELEN;
    if (zk_stopped(stop)) return ZK_ECANCELLED;
    if (count == 0) {
        memset(out, 0, pb);
        *done = 1;
    }
    return ZK_OK;
}

int zk_msm(int curve, int group, const uint8_t *table, size_t table_len, size_t start, size_t count,
           const uint8_t *scalars, size_t scalars_len, int threads, int window, uint8_t *out,
           size_t out_len) {
    return zk_msm_stoppable(curve, group, table, table_len, start, count, scalars, scalars_len,
                            threads, window, out, out_len, NULL);
}

int zk_msm_stoppable(int curve, int group, const uint8_t *table, size_t table_len, size_t start,
                     size_t count, const uint8_t *scalars, size_t scalars_len, int threads,
                     int window, uint8_t *out, size_t out_len, const int *stop) {
    int gi = zk_group_index(curve, group);
    if (gi < 0) return ZK_EINVAL;
    size_t pb = zk_point_bytes(curve, group);
    if (!table || !out || out_len != pb || table_len % pb != 0) return ZK_ELEN;
    if ((uintptr_t)table % sizeof(limb_t) != 0) return ZK_EINVAL;
    size_t npts = table_len / pb;
    if (window < 0 || window > ZK_MAX_WINDOW) return ZK_EINVAL;
    int done = 0, rc = zk_msm_start(npts, start, count, scalars, scalars_len, stop, out, pb, &done);
    if (rc || done) return rc;
    uint8_t *reduced = NULL;
    size_t nonzero = 0;
    int bits = 1;
    rc = reduce_scalars(curve, scalars, count, &reduced, &nonzero, &bits);
    if (rc) return rc;
    /* The window is the one for full-size scalars; the windows above the largest scalar's
     * bits, whose digits are all 0, are left out. (Choosing the window for the bits instead
     * picks few wide windows, which two threads share unevenly.) */
    int c = window ? window : zk_msm_window(curve, nonzero ? nonzero : 1, threads);
    int W = (bits + 1 + c - 1) / c;
    int width[BLS_R_BITS + 1 > BN_R_BITS + 1 ? BLS_R_BITS + 1 : BN_R_BITS + 1];
    int off[sizeof width / sizeof width[0]];
    c = zk_window_plan(bits + 1, W, width, off); /* at most c */
    const uint8_t *sc = reduced ? reduced : scalars;
    int nt = zk_resolve_threads(threads, 0);
    if (count < 256) nt = 1;
    const uint8_t *base = table + start * pb;
    /* Batch-affine buckets pay off once buckets are many and filled (see msm_template.inc);
     * ZKEDGE_MSM_XYZZ=1 forces the plain XYZZ path (for comparison in bench/). */
    const char *force = getenv("ZKEDGE_MSM_XYZZ");
    int ba = c >= 10 && nonzero >= 1024 && !(force && force[0] == '1');
    switch (gi) {
    case 0: rc = bn_g1_msm(base, count, sc, 32, c, W, width, off, 0, nt, ba, stop, out); break;
    case 1: rc = bn_g2_msm(base, count, sc, 32, c, W, width, off, 0, nt, ba, stop, out); break;
    case 2: rc = bls_g1_msm(base, count, sc, 32, c, W, width, off, 0, nt, ba, stop, out); break;
    default: rc = bls_g2_msm(base, count, sc, 32, c, W, width, off, 0, nt, ba, stop, out); break;
    }
    free(reduced);
    return rc;
}

/* Points a values pass copies to the stack at a time (8 KiB: L1-resident while every task reads
 * its bits from them). */
#define ZK_VALUES_BLOCK 256

/* Values of task bits [lo, hi) for points blk[0..cnt) (nb = hi - lo + 1 <= 57 bits, stride bytes
 * each): one unaligned 64-bit load per value, from the scalar's bytes (t = 2s for lo = 0). A
 * separate loop per stride, so each store is of a fixed size. */
static void zk_values_narrow(const uint64_t (*blk)[4], size_t cnt, int lo, int nb, size_t stride,
                             uint8_t *o) {
    const uint64_t mask = ((uint64_t)1 << nb) - 1;
    int off = 0, sh = 0;
    if (lo > 0) { /* bits [lo - 1, hi) of s: at most 57 bits from a byte inside the 32 */
        off = (lo - 1) >> 3;
        if (off > 24) off = 24;
        sh = lo - 1 - 8 * off;
    }
#define ZK_VALUES_LOOP(W)                                                                          \
    for (size_t k = 0; k < cnt; k++) {                                                             \
        uint64_t x;                                                                                \
        if (lo > 0) {                                                                              \
            memcpy(&x, (const uint8_t *)blk[k] + off, 8);                                          \
            x = (x >> sh) & mask;                                                                  \
        } else {                                                                                   \
            x = (blk[k][0] << 1) & mask;                                                           \
        }                                                                                          \
        memcpy(o + (W)*k, &x, (W)); /* little-endian target (fields.h checks) */                   \
    }                                                                                              \
    break;
    switch (stride) {
    case 1: ZK_VALUES_LOOP(1)
    case 2: ZK_VALUES_LOOP(2)
    case 3: ZK_VALUES_LOOP(3)
    case 4: ZK_VALUES_LOOP(4)
    case 5: ZK_VALUES_LOOP(5)
    case 6: ZK_VALUES_LOOP(6)
    case 7: ZK_VALUES_LOOP(7)
    default: ZK_VALUES_LOOP(8)
    }
#undef ZK_VALUES_LOOP
}

/* Values of task bits [lo, hi) for points blk[0..cnt) wider than zk_values_narrow takes (stride
 * 8 to 33 bytes), in up to five words each, from unaligned loads of the scalar's bytes: the bytes
 * a load takes past the scalar's bits [lo - 1, hi) (from the next rows of blk: other scalars, or
 * zeros) are masked off. A value's words beyond its stride land on the next value's
 * bytes, which that value's own store overwrites; only the task's last value (last) is stored
 * exactly. */
static void zk_values_wide(const uint64_t (*blk)[4], size_t cnt, int lo, int hi, size_t stride,
                           uint8_t *o, int last) {
    const int nb = hi - lo + 1, full = nb >> 6, rest = nb & 63;
    const int off = lo > 0 ? (lo - 1) >> 3 : 0, sh = lo > 0 ? (lo - 1) & 7 : 0;
    const uint64_t top = rest ? (((uint64_t)1 << rest) - 1) : 0;
    const int nw = (int)(stride + 7) / 8;
#define ZK_WIDE_LOOP(NW)                                                                           \
    for (size_t k = 0; k < cnt; k++) {                                                             \
        const uint8_t *b = (const uint8_t *)blk[k] + off;                                          \
        uint64_t w[NW];                                                                            \
        for (int j = 0; j < (NW); j++) {                                                           \
            uint64_t x, y = 0;                                                                     \
            memcpy(&x, b + 8 * j, 8);                                                              \
            if (lo == 0) { /* bit -1 is 0: the scalar shifted up by one */                         \
                if (j) memcpy(&y, b + 8 * j - 8, 8);                                               \
                w[j] = (x << 1) | (y >> 63);                                                       \
            } else {                                                                               \
                w[j] = sh ? (x >> sh) | ((uint64_t)b[8 * j + 8] << (64 - sh)) : x;                 \
            }                                                                                      \
            w[j] = j < full ? w[j] : j == full ? w[j] & top : 0;                                   \
        }                                                                                          \
        uint8_t *v = o + stride * k;                                                               \
        if (last && k + 1 == cnt) {                                                                \
            memcpy(v, w, stride);                                                                  \
            break;                                                                                 \
        }                                                                                          \
        for (int j = 0; j < (NW); j++) /* little-endian target (fields.h checks) */                \
            memcpy(v + 8 * j, &w[j], 8);                                                           \
    }                                                                                              \
    break;
    switch (nw) {
    case 1: ZK_WIDE_LOOP(1)
    case 2: ZK_WIDE_LOOP(2)
    case 3: ZK_WIDE_LOOP(3)
    case 4: ZK_WIDE_LOOP(4)
    default: ZK_WIDE_LOOP(5)
    }
#undef ZK_WIDE_LOOP
}

int zk_scalar_window_bits_many(int curve, const uint8_t *scalars, size_t scalars_len, size_t n,
                               int ntasks, const size_t *start, const size_t *count, const int *lo,
                               const int *hi, uint8_t *const *out, const size_t *out_len) {
    if (curve != ZK_BN254 && curve != ZK_BLS12_381) return ZK_EINVAL;
    if (n > SIZE_MAX / 32 || scalars_len != n * 32 || (n && !scalars)) return ZK_ELEN;
    if (ntasks < 0 || (ntasks && (!start || !count || !lo || !hi || !out || !out_len)))
        return ZK_EINVAL;
    size_t lo_pt = n, hi_pt = 0;
    for (int j = 0; j < ntasks; j++) {
        if (lo[j] < 0 || hi[j] <= lo[j] || hi[j] > 256) return ZK_EINVAL;
        if (start[j] > n || count[j] > n - start[j]) return ZK_ERANGE;
        size_t stride = (size_t)(hi[j] - lo[j] + 1 + 7) / 8;
        if (out_len[j] != count[j] * stride || (count[j] && !out[j])) return ZK_ELEN;
        if (count[j] && start[j] < lo_pt) lo_pt = start[j];
        if (count[j] && start[j] + count[j] > hi_pt) hi_pt = start[j] + count[j];
    }
    const zk_field_params *fr = curve == ZK_BN254 ? &ZK_BN_FR : &ZK_BLS_FR;
    uint64_t r[4]; /* r as 64-bit words (limb_t may be 32 bits) */
    {
        uint8_t rb[32];
        limbs_to_le(rb, fr->p, N256);
        memcpy(r, rb, 32);
    }
    /* The scalars go through in blocks copied to the stack (values >= r reduced there), and
     * each task takes its block's values in a loop of its own: one pass over the scalars for
     * every task, and stores of one fixed size in a row. Three rows after the block take the
     * loads zk_values_wide makes past its last value; rows past a short last block keep what
     * they held, which those loads' masks drop. */
    uint64_t blk[ZK_VALUES_BLOCK + 3][4];
    memset(blk, 0, sizeof blk);
    for (size_t b0 = lo_pt; b0 < hi_pt; b0 += ZK_VALUES_BLOCK) {
        size_t cnt = hi_pt - b0 < ZK_VALUES_BLOCK ? hi_pt - b0 : ZK_VALUES_BLOCK;
        memcpy(blk, scalars + 32 * b0, 32 * cnt);
        for (size_t k = 0; k < cnt; k++) {
            if (blk[k][3] < r[3]) continue; /* rare: maybe >= r */
            limb_t v[N256];
            limbs_from_le(v, (const uint8_t *)blk[k], N256);
            while (limbs_geq(v, fr->p, N256)) limbs_sub(v, v, fr->p, N256);
            limbs_to_le((uint8_t *)blk[k], v, N256);
        }
        for (int j = 0; j < ntasks; j++) {
            size_t s0 = start[j] > b0 ? start[j] : b0, e = start[j] + count[j];
            size_t s1 = e < b0 + cnt ? e : b0 + cnt;
            if (s0 >= s1) continue;
            const int nb = hi[j] - lo[j] + 1;
            const size_t stride = (size_t)(nb + 7) / 8;
            uint8_t *o = out[j] + stride * (s0 - start[j]);
            if (nb <= 57) {
                zk_values_narrow(blk + (s0 - b0), s1 - s0, lo[j], nb, stride, o);
                continue;
            }
            zk_values_wide(blk + (s0 - b0), s1 - s0, lo[j], hi[j], stride, o, s1 == e);
        }
    }
    return ZK_OK;
}

int zk_scalar_window_bits(int curve, const uint8_t *scalars, size_t scalars_len, size_t count,
                          int lo, int hi, uint8_t *out, size_t out_len) {
    size_t start = 0;
    return zk_scalar_window_bits_many(curve, scalars, scalars_len, count, 1, &start, &count, &lo,
                                      &hi, &out, &out_len);
}

int zk_msm_windows(int curve, int group, const uint8_t *table, size_t table_len, size_t start,
                   size_t count, const uint8_t *values, size_t values_len, int lo,
                   const int *widths, int nwin, int threads, uint8_t *out, size_t out_len,
                   const int *stop) {
    int gi = zk_group_index(curve, group);
    if (gi < 0) return ZK_EINVAL;
    size_t pb = zk_point_bytes(curve, group);
    if (!table || !out || out_len != pb || table_len % pb != 0) return ZK_ELEN;
    if ((uintptr_t)table % sizeof(limb_t) != 0) return ZK_EINVAL;
    if (lo < 0 || nwin < 1 || nwin > 256 || !widths) return ZK_EINVAL;
    int off[256], c = 0, hi = lo;
    for (int k = 0; k < nwin; k++) {
        if (widths[k] < 1 || widths[k] > ZK_MAX_WINDOW) return ZK_EINVAL;
        off[k] = 1 + hi - lo; /* bit 0 of a value is the carry bit lo - 1 */
        hi += widths[k];
        if (hi > 256) return ZK_EINVAL;
        if (widths[k] > c) c = widths[k];
    }
    size_t stride = (size_t)(hi - lo + 1 + 7) / 8;
    if (count > SIZE_MAX / stride) return ZK_ELEN;
    size_t npts = table_len / pb;
    if (start > npts || count > npts - start) return ZK_ERANGE;
    if (values_len != count * stride || (count && !values)) return ZK_ELEN;
    if (zk_stopped(stop)) return ZK_ECANCELLED;
    if (count == 0) {
        memset(out, 0, pb);
        return ZK_OK;
    }
    int nt = count < 256 ? 1 : zk_resolve_threads(threads, 0);
    const uint8_t *base = table + start * pb;
    int ba = c >= 10 && count >= 1024;
    const int *wd = widths;
    switch (gi) {
    case 0: return bn_g1_msm(base, count, values, stride, c, nwin, wd, off, lo, nt, ba, stop, out);
    case 1: return bn_g2_msm(base, count, values, stride, c, nwin, wd, off, lo, nt, ba, stop, out);
    case 2: return bls_g1_msm(base, count, values, stride, c, nwin, wd, off, lo, nt, ba, stop, out);
    default:
        return bls_g2_msm(base, count, values, stride, c, nwin, wd, off, lo, nt, ba, stop, out);
    }
}

/* Windows of c bits from bit 0 over [0, total): width c, the top one what is left. */
static int zk_fixed_plan(int total, int c, int *width, int *off) {
    int W = (total + c - 1) / c;
    for (int w = 0; w < W; w++) {
        off[w] = w * c;
        width[w] = total - off[w] < c ? total - off[w] : c;
    }
    return W;
}

int zk_msm_fixed_windows(int curve, int window) {
    if (curve != ZK_BN254 && curve != ZK_BLS12_381) return 0;
    if (window < 2 || window > ZK_MAX_WINDOW) return 0;
    return (r_bits(curve) + 1 + window - 1) / window;
}

int zk_msm_fixed(int curve, int group, const uint8_t *const *blocks, const size_t *block_lens,
                 int nblocks, int window, size_t start, size_t count, const uint8_t *scalars,
                 size_t scalars_len, int threads, int release, uint8_t *out, size_t out_len,
                 const int *stop) {
    int gi = zk_group_index(curve, group);
    if (gi < 0) return ZK_EINVAL;
    int Wall = zk_msm_fixed_windows(curve, window);
    if (!Wall || nblocks != Wall || !blocks || !block_lens) return ZK_EINVAL;
    size_t pb = zk_point_bytes(curve, group);
    if (!out || out_len != pb) return ZK_ELEN;
    size_t npts = block_lens[0] / pb;
    for (int w = 0; w < nblocks; w++) {
        if (!blocks[w] || block_lens[w] != npts * pb || block_lens[w] % pb) return ZK_ELEN;
        if ((uintptr_t)blocks[w] % sizeof(limb_t) != 0) return ZK_EINVAL;
    }
    int done = 0, rc = zk_msm_start(npts, start, count, scalars, scalars_len, stop, out, pb, &done);
    if (rc || done) return rc;
    uint8_t *reduced = NULL;
    size_t nonzero = 0;
    int bits = 1;
    rc = reduce_scalars(curve, scalars, count, &reduced, &nonzero, &bits);
    if (rc) return rc;
    int width[BLS_R_BITS + 1 > BN_R_BITS + 1 ? BLS_R_BITS + 1 : BN_R_BITS + 1];
    int off[sizeof width / sizeof width[0]];
    (void)zk_fixed_plan(r_bits(curve) + 1, window, width, off);
    /* the windows above the largest scalar's bits have digits 0 (and their blocks are not read) */
    int W = (bits + 1 + window - 1) / window;
    if (W > Wall) W = Wall;
    const uint8_t *base[sizeof width / sizeof width[0]];
    for (int w = 0; w < W; w++) base[w] = blocks[w] + start * pb;
    const uint8_t *sc = reduced ? reduced : scalars;
    int nt = count < 256 ? 1 : threads;
    switch (gi) {
    case 0:
        rc = bn_g1_msm_fixed(base, count, sc, window, W, width, off, nt, release, stop, out);
        break;
    case 1:
        rc = bn_g2_msm_fixed(base, count, sc, window, W, width, off, nt, release, stop, out);
        break;
    case 2:
        rc = bls_g1_msm_fixed(base, count, sc, window, W, width, off, nt, release, stop, out);
        break;
    default:
        rc = bls_g2_msm_fixed(base, count, sc, window, W, width, off, nt, release, stop, out);
        break;
    }
    free(reduced);
    return rc;
}

int zk_msm_fixed_blocks(int curve, int group, const uint8_t *table, size_t table_len, int window,
                        uint8_t *const *blocks, const size_t *block_lens, int nblocks, int threads,
                        const int *stop) {
    int gi = zk_group_index(curve, group);
    if (gi < 0) return ZK_EINVAL;
    int Wall = zk_msm_fixed_windows(curve, window);
    if (!Wall || nblocks != Wall - 1 || !blocks || !block_lens) return ZK_EINVAL;
    size_t pb = zk_point_bytes(curve, group);
    if (!table || table_len % pb) return ZK_ELEN;
    if ((uintptr_t)table % sizeof(limb_t) != 0) return ZK_EINVAL;
    size_t n = table_len / pb;
    for (int w = 0; w < nblocks; w++) {
        if (!blocks[w] || block_lens[w] != table_len) return ZK_ELEN;
        if ((uintptr_t)blocks[w] % sizeof(limb_t) != 0) return ZK_EINVAL;
    }
    if (zk_stopped(stop)) return ZK_ECANCELLED;
    if (n == 0) return ZK_OK;
    int width[BLS_R_BITS + 1 > BN_R_BITS + 1 ? BLS_R_BITS + 1 : BN_R_BITS + 1];
    int off[sizeof width / sizeof width[0]];
    int W = zk_fixed_plan(r_bits(curve) + 1, window, width, off);
    switch (gi) {
    case 0: return bn_g1_fixed_tables(table, n, W, off, blocks, threads, stop);
    case 1: return bn_g2_fixed_tables(table, n, W, off, blocks, threads, stop);
    case 2: return bls_g1_fixed_tables(table, n, W, off, blocks, threads, stop);
    default: return bls_g2_fixed_tables(table, n, W, off, blocks, threads, stop);
    }
}
