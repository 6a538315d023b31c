/* zkedge native core: public C API.
 *
 * Everything crosses this boundary as contiguous byte arrays with explicit lengths; every
 * function checks the lengths it is given and returns a zk_err code, never aborts.
 *
 * Encodings (per coordinate, per field element):
 *   ZK_ENC_BE   big-endian, standard form (the Ethereum / py_ecc convention); G2 coordinates
 *               as c0 || c1 (real part first).
 *   ZK_ENC_MONT little-endian Montgomery form, R = 2^(limb bits * limbs) = 2^256 (BN254,
 *               BLS12-381 Fr) or 2^384 (BLS12-381 Fp): the layout snarkjs uses inside .zkey
 *               files and the in-memory layout of a base table on little-endian machines.
 *   Affine points are x || y; the point at infinity is all zero bytes in both encodings.
 * Scalars: 32 bytes little-endian, standard form. Values >= r are reduced mod r.
 *
 * Beside the core: zkey.h (snarkjs .zkey evaluation) and fleet.h (fleet scheduling helpers),
 * with the same conventions and error codes.
 */
#ifndef ZKEDGE_H
#define ZKEDGE_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

enum {
    ZK_OK = 0,
    ZK_EINVAL = 1,         /* unknown curve / group / field / op / encoding */
    ZK_ELEN = 2,           /* a buffer length does not match what the call needs */
    ZK_ENOTONCURVE = 3,    /* a point is not on the curve */
    ZK_ENOTINSUBGROUP = 4, /* a point is on the curve but not in the prime-order subgroup */
    ZK_ENOMEM = 5,         /* allocation failed */
    ZK_ERANGE = 6,         /* a field element is not below the modulus / index out of range */
    ZK_ENOINV = 7,         /* inverse of zero */
    ZK_ETHREAD = 8,        /* a thread could not be started */
    ZK_ECANCELLED = 9      /* stopped through the caller's flag (zk_msm_stoppable) */
};

enum { ZK_BN254 = 0, ZK_BLS12_381 = 1 };
enum { ZK_G1 = 1, ZK_G2 = 2 };
enum { ZK_FP = 0, ZK_FR = 1, ZK_FP2 = 2 };
enum { ZK_ENC_BE = 0, ZK_ENC_MONT = 1 };
enum { ZK_CHECK_NONE = 0, ZK_CHECK_CURVE = 1, ZK_CHECK_SUBGROUP = 2 };

enum {
    ZK_OP_ADD = 0,
    ZK_OP_SUB = 1,
    ZK_OP_NEG = 2,
    ZK_OP_MUL = 3,
    ZK_OP_SQR = 4,
    ZK_OP_INV = 5,
    ZK_OP_TO_MONT = 6,
    ZK_OP_FROM_MONT = 7
};
enum { ZK_PT_ADD = 0, ZK_PT_DBL = 1, ZK_PT_NEG = 2, ZK_PT_MUL = 3, ZK_PT_ADD_MIXED = 4 };

/* Build facts. */
int zk_limb_bits(void);
const char *zk_compiler(void);
int zk_cpu_count(void);
/* Assembly field multiplication: on >= 0 turns it on (only if the CPU supports it) or off
 * (the portable C path), -1 just asks; returns 1 when it is in use. Not to be toggled while
 * another thread is inside a native call. zk_asm_name() names the code in use ("none" for C). */
int zk_asm_set(int on);
const char *zk_asm_name(void);
/* 8-lane AVX-512 IFMA code: the additions of BN254 G1 and G2 MSMs (native/msm_ifma.inc) and BN254's
 * coset NTT (native/ntt_ifma.inc). on >= 0 turns them on
 * (only on x86-64 builds and CPUs with AVX-512F and IFMA) or off, -1 just asks; returns 1 when
 * they are in use. Not to be toggled while another thread is inside a native call. */
int zk_ifma_set(int on);

/* Sizes in bytes: field element (ZK_FP: 32/48, ZK_FR: 32, ZK_FP2: 2x Fp), affine point. */
size_t zk_field_bytes(int curve, int field);
size_t zk_point_bytes(int curve, int group);

/* One field operation on little-endian standard-form operands of zk_field_bytes() each.
 * Inputs must be below the modulus (ZK_ERANGE otherwise), except for ZK_OP_FROM_MONT whose
 * input is a Montgomery-form value (also below the modulus). b is ignored for unary ops. */
int zk_field_op(int curve, int field, int op, const uint8_t *a, size_t a_len, const uint8_t *b,
                size_t b_len, uint8_t *out, size_t out_len);

/* One group operation on affine points (ZK_ENC_BE). ZK_PT_ADD: general projective add;
 * ZK_PT_ADD_MIXED: a lifted to a projective point with a non-trivial Z, plus affine b;
 * ZK_PT_MUL: a * scalar (32-byte LE). Points are checked to lie on the curve. */
int zk_point_op(int curve, int group, int op, const uint8_t *a, size_t a_len, const uint8_t *b,
                size_t b_len, const uint8_t *scalar, size_t scalar_len, uint8_t *out,
                size_t out_len);

/* Check n points in encoding enc at the given level; on failure *bad_index is the first bad
 * point's index. */
int zk_points_check(int curve, int group, const uint8_t *pts, size_t len, size_t n, int enc,
                    int level, size_t *bad_index);

/* Convert n points between encodings (in and out may not overlap). */
int zk_points_convert(int curve, int group, const uint8_t *in, size_t in_len, int in_enc,
                      uint8_t *out, size_t out_len, int out_enc, size_t n);

/* Fill a base table (n points, zk_point_bytes each, ZK_ENC_MONT layout) from points in
 * encoding enc, checking them at `level`. The caller owns the table memory. */
int zk_table_load(int curve, int group, const uint8_t *in, size_t in_len, int enc, size_t n,
                  int level, uint8_t *table, size_t table_len, size_t *bad_index);

/* Pippenger MSM over table points [start, start + count): sum scalars[i] * table[start + i].
 * scalars: count * 32 bytes LE. threads <= 0: all cores. window 0: chosen from count.
 * out: affine point, ZK_ENC_BE. The GIL is released by the caller (cffi) around this call. */
int zk_msm(int curve, int group, const uint8_t *table, size_t table_len, size_t start, size_t count,
           const uint8_t *scalars, size_t scalars_len, int threads, int window, uint8_t *out,
           size_t out_len);

/* zk_msm that gives up when *stop becomes non-zero (set from another thread; read every 256
 * points and every window): returns ZK_ECANCELLED, out untouched. stop may be NULL. */
int zk_msm_stoppable(int curve, int group, const uint8_t *table, size_t table_len, size_t start,
                     size_t count, const uint8_t *scalars, size_t scalars_len, int threads,
                     int window, uint8_t *out, size_t out_len, const int *stop);

/* One task of an MSM split by windows: the windows of widths[0..nwin) (1..15 bits each) from
 * bit lo of the scalars, over table points [start, start + count). values holds each point's
 * scalar bits [lo - 1, hi), hi = lo + sum(widths), as zk_scalar_window_bits writes them (count *
 * ceil((hi - lo + 1) / 8) bytes). out (ZK_ENC_BE) is sum_i sum_k 2^(lo + o_k) d_ik P_i, o_k the
 * window's offset from lo and d_ik the signed digit zk_msm uses for that window, so the tasks of
 * a plan of windows covering bits [0, r_bits + 1) sum to the whole MSM. stop as zk_msm_stoppable. */
int zk_msm_windows(int curve, int group, const uint8_t *table, size_t table_len, size_t start,
                   size_t count, const uint8_t *values, size_t values_len, int lo,
                   const int *widths, int nwin, int threads, uint8_t *out, size_t out_len,
                   const int *stop);

/* The values of a window-split task (zk_msm_windows) for scalars bits [lo, hi), 0 <= lo < hi <=
 * 256: for each of count scalars (32-byte LE, values >= r reduced) its bits [lo - 1, hi) (bit -1
 * is 0) as ceil((hi - lo + 1) / 8) bytes LE. out_len must be count times that. */
int zk_scalar_window_bits(int curve, const uint8_t *scalars, size_t scalars_len, size_t count,
                          int lo, int hi, uint8_t *out, size_t out_len);

/* zk_scalar_window_bits for ntasks tasks in one pass over n scalars: task j's values (bits
 * [lo[j], hi[j]) of scalars [start[j], start[j] + count[j])) go to out[j], out_len[j] bytes. */
int zk_scalar_window_bits_many(int curve, const uint8_t *scalars, size_t scalars_len, size_t n,
                               int ntasks, const size_t *start, const size_t *count, const int *lo,
                               const int *hi, uint8_t *const *out, const size_t *out_len);

/* The window size zk_msm chooses for count points on threads threads (0: every core); zk_msm
 * counts only the points whose scalar is not 0. */
int zk_msm_window(int curve, size_t count, int threads);

/* Fixed-base MSM (precomputed windows): blocks[w], w < nblocks = zk_msm_fixed_windows(curve,
 * window), each hold the same npts points times 2^(w * window) in the table layout (block 0 is
 * the base table itself); sums scalars[i] * P[start + i] over [start, start + count), as zk_msm.
 * release != 0 gives back the pages of blocks 1.. as the MSM passes them (madvise DONTNEED):
 * only for blocks in a read-only file mapping, whose pages come back from the file; block 0,
 * the base table, is left alone. */
int zk_msm_fixed(int curve, int group, const uint8_t *const *blocks, const size_t *block_lens,
                 int nblocks, int window, size_t start, size_t count, const uint8_t *scalars,
                 size_t scalars_len, int threads, int release, uint8_t *out, size_t out_len,
                 const int *stop);

/* Blocks 1.. of a fixed-base table for a base table (table layout, already checked): blocks[w - 1]
 * (table_len bytes each, nblocks = zk_msm_fixed_windows - 1) gets 2^(w * window) times each point. */
int zk_msm_fixed_blocks(int curve, int group, const uint8_t *table, size_t table_len, int window,
                        uint8_t *const *blocks, const size_t *block_lens, int nblocks, int threads,
                        const int *stop);

/* The number of windows of zk_msm_fixed for a window width (2..15); 0 if out of range. */
int zk_msm_fixed_windows(int curve, int window);

/* NTT over Fr, in place, natural order in and out, values 32-byte LE standard form.
 * Computes out[k] = sum_i (shift^i * in[i]) * omega^(i*k), then multiplies every output by
 * scale. shift/scale may be NULL (meaning 1). n must be a power of two, omega a primitive n-th
 * root of unity (not checked: the caller derives it). */
int zk_fr_ntt(int curve, uint8_t *data, size_t len, size_t n, const uint8_t *omega,
              const uint8_t *shift, const uint8_t *scale, int threads);

/* Evaluations of a polynomial of degree < n at omega^i (natural order) -> its evaluations at
 * shift * omega^i (same order), in place: the inverse NTT scaled by 1/n, coefficient i times
 * shift^i, the forward NTT, in one pass over limbs (no bit-reversal pass, no conversion between
 * the transforms). n a power of two, omega a primitive n-th root of unity (not checked). A value
 * >= r: ZK_ERANGE with *bad_index (may be NULL) the first such index, data untouched. threads
 * <= 0: all cores. */
int zk_fr_coset_evals(int curve, uint8_t *data, size_t len, size_t n, const uint8_t *omega,
                      const uint8_t *shift, int threads, size_t *bad_index);

/* data[i] *= g^i for i in [0, n). */
int zk_fr_mul_powers(int curve, uint8_t *data, size_t len, size_t n, const uint8_t *g);

/* out[i] = a[i] * b[i] - c[i] (all n values, LE standard). out may alias a. A value >= r:
 * ZK_ERANGE, *bad_index (may be NULL) its index, out untouched. threads <= 0: all cores. */
int zk_fr_mul_sub(int curve, const uint8_t *a, const uint8_t *b, const uint8_t *c, uint8_t *out,
                  size_t len, size_t n, int threads, size_t *bad_index);

/* *result = 1 if prod_i e(g1[i], g2[i]) == 1 in GT, else 0 (the ate pairing; what a Groth16
 * verifier asks). n <= 64 pairs of points in ZK_ENC_BE (all-zero: infinity, contributing 1),
 * each checked to lie in its prime-order subgroup: a bad point returns its error code with
 * *bad_index (may be NULL) the index of its pair. */
int zk_pairing_check(int curve, const uint8_t *g1, size_t g1_len, const uint8_t *g2, size_t g2_len,
                     size_t n, int *result, size_t *bad_index);

/* Guarded file mappings (mapguard.c). zk_guard_add registers [p, p + len) of a read-only
 * file mapping: a SIGBUS there (the file was truncated under it) maps zero pages over the rest
 * of the range instead of ending the process, and zk_guard_hit(slot) then returns 1. Returns
 * the slot, or -1 when the range cannot be guarded (no slot free, no POSIX signals): it is
 * then read unguarded. zk_guard_remove frees the slot before the mapping goes away. */
int zk_guard_add(const void *p, size_t len);
int zk_guard_hit(int slot);
void zk_guard_remove(int slot);

#ifdef __cplusplus
}
#endif
#endif
