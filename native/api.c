/* Public entry points: build facts, field and group operations, point checks and conversions,
 * base-table loading. Every entry point checks its lengths and returns a zk_err code. */
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "ec.h"
#include "parallel.h"
#include "zkedge.h"

int zk_limb_bits(void) { return ZK_LIMB_BITS; }

#if ZK_HAVE_X86_ASM
#include <cpuid.h>

/* BMI2 (MULX) and ADX (ADCX/ADOX): CPUID leaf 7, EBX bits 8 and 19. */
static int zk_cpu_has_asm(void) {
    unsigned eax, ebx, ecx, edx;
    if (!__get_cpuid_count(7, 0, &eax, &ebx, &ecx, &edx)) return 0;
    return ((ebx >> 8) & 1) && ((ebx >> 19) & 1);
}
#define ZK_ASM_NAME "x86-64 mulx/adx"
#elif ZK_HAVE_ARM64_ASM
/* MUL, UMULH, ADDS/ADCS: base ARMv8-A, on every aarch64 CPU. */
static int zk_cpu_has_asm(void) { return 1; }
#define ZK_ASM_NAME "aarch64 mul/umulh"
#endif

#if ZK_HAVE_ASM
/* Turn the assembly on at load time when the CPU has it, unless ZKEDGE_NO_ASM is set (to
 * anything but "0"): a way to run the portable C path on any machine. */
__attribute__((constructor)) static void zk_asm_init(void) {
    const char *off = getenv("ZKEDGE_NO_ASM");
    if (off && *off && strcmp(off, "0") != 0) return;
    zk_asm_on = zk_cpu_has_asm();
}
#endif

int zk_asm_set(int on) {
#if ZK_HAVE_ASM
    if (on >= 0) zk_asm_on = on && zk_cpu_has_asm();
    return zk_asm_on;
#else
    (void)on;
    return 0;
#endif
}

const char *zk_asm_name(void) {
#if ZK_HAVE_ASM
    return zk_asm_on ? ZK_ASM_NAME : "none";
#else
    return "none";
#endif
}

const char *zk_compiler(void) {
#if defined(__clang__)
    return "clang " __clang_version__;
#elif defined(__GNUC__)
    return "gcc " __VERSION__;
#else
    return "unknown";
#endif
}

size_t zk_field_bytes(int curve, int field) {
    size_t fp = curve == ZK_BN254 ? 32 : curve == ZK_BLS12_381 ? 48 : 0;
    if (!fp) return 0;
    switch (field) {
    case ZK_FP: return fp;
    case ZK_FR: return 32;
    case ZK_FP2: return 2 * fp;
    default: return 0;
    }
}

size_t zk_point_bytes(int curve, int group) {
    if (zk_group_index(curve, group) < 0) return 0;
    return (group == ZK_G1 ? 2 : 4) * zk_field_bytes(curve, ZK_FP);
}

/* One generic field-op body per element type. Unary ops ignore b. */
#define ZK_FIELD_OP_BODY(F, T)                                                                     \
    do {                                                                                           \
        T x, y, z;                                                                                 \
        int ok = (op == ZK_OP_FROM_MONT) ? F##_from_le_mont(&x, a) : F##_from_le_std(&x, a);       \
        if (!ok) return ZK_ERANGE;                                                                 \
        if (op == ZK_OP_ADD || op == ZK_OP_SUB || op == ZK_OP_MUL) {                               \
            if (!F##_from_le_std(&y, b)) return ZK_ERANGE;                                         \
        }                                                                                          \
        switch (op) {                                                                              \
        case ZK_OP_ADD: F##_add(&z, &x, &y); break;                                                \
        case ZK_OP_SUB: F##_sub(&z, &x, &y); break;                                                \
        case ZK_OP_NEG: F##_neg(&z, &x); break;                                                    \
        case ZK_OP_MUL: F##_mul(&z, &x, &y); break;                                                \
        case ZK_OP_SQR: F##_sqr(&z, &x); break;                                                    \
        case ZK_OP_INV:                                                                            \
            if (F##_is_zero(&x)) return ZK_ENOINV;                                                 \
            F##_inv(&z, &x);                                                                       \
            break;                                                                                 \
        case ZK_OP_TO_MONT: /* output the Montgomery representation as plain LE bytes */           \
            F##_to_le_mont(out, &x);                                                               \
            return ZK_OK;                                                                          \
        case ZK_OP_FROM_MONT: z = x; break;                                                        \
        default: return ZK_EINVAL;                                                                 \
        }                                                                                          \
        F##_to_le_std(out, &z);                                                                    \
        return ZK_OK;                                                                              \
    } while (0)

int zk_field_op(int curve, int field, int op, const uint8_t *a, size_t a_len, const uint8_t *b,
                size_t b_len, uint8_t *out, size_t out_len) {
    size_t fb = zk_field_bytes(curve, field);
    if (!fb || op < ZK_OP_ADD || op > ZK_OP_FROM_MONT) return ZK_EINVAL;
    int binary = op == ZK_OP_ADD || op == ZK_OP_SUB || op == ZK_OP_MUL;
    if (!a || !out || a_len != fb || out_len != fb) return ZK_ELEN;
    if (binary && (!b || b_len != fb)) return ZK_ELEN;
    if (curve == ZK_BN254) {
        if (field == ZK_FP) ZK_FIELD_OP_BODY(bn_fp, f256);
        if (field == ZK_FR) ZK_FIELD_OP_BODY(bn_fr, f256);
        ZK_FIELD_OP_BODY(bn_fp2, f256x2);
    } else {
        if (field == ZK_FP) ZK_FIELD_OP_BODY(bls_fp, f384);
        if (field == ZK_FR) ZK_FIELD_OP_BODY(bls_fr, f256);
        ZK_FIELD_OP_BODY(bls_fp2, f384x2);
    }
}

/* Group op body: a, b affine BE; result affine BE. ADD_MIXED lifts a to Z = 2 first so the
 * mixed formula runs with a non-trivial Z. */
#define ZK_POINT_OP_BODY(EC, FE, FE_T)                                                             \
    do {                                                                                           \
        EC##_aff pa, pq, pr;                                                                       \
        int rc = EC##_aff_decode_checked(&pa, a, ZK_ENC_BE, ZK_CHECK_CURVE);                       \
        if (rc) return rc;                                                                         \
        if (op == ZK_PT_ADD || op == ZK_PT_ADD_MIXED) {                                            \
            rc = EC##_aff_decode_checked(&pq, b, ZK_ENC_BE, ZK_CHECK_CURVE);                       \
            if (rc) return rc;                                                                     \
        }                                                                                          \
        EC##_jac ja, jb, jr;                                                                       \
        EC##_jac_from_aff(&ja, &pa);                                                               \
        switch (op) {                                                                              \
        case ZK_PT_ADD:                                                                            \
            EC##_jac_from_aff(&jb, &pq);                                                           \
            EC##_jac_add(&jr, &ja, &jb);                                                           \
            break;                                                                                 \
        case ZK_PT_ADD_MIXED:                                                                      \
            if (!EC##_jac_is_inf(&ja)) {                                                           \
                FE_T z, z2, z3;                                                                    \
                FE##_set_one(&z);                                                                  \
                FE##_dbl(&z, &z);                                                                  \
                FE##_sqr(&z2, &z);                                                                 \
                FE##_mul(&z3, &z2, &z);                                                            \
                FE##_mul(&ja.X, &ja.X, &z2);                                                       \
                FE##_mul(&ja.Y, &ja.Y, &z3);                                                       \
                ja.Z = z;                                                                          \
            }                                                                                      \
            EC##_jac_madd(&jr, &ja, &pq);                                                          \
            break;                                                                                 \
        case ZK_PT_DBL: EC##_jac_dbl(&jr, &ja); break;                                             \
        case ZK_PT_NEG:                                                                            \
            jr = ja;                                                                               \
            FE##_neg(&jr.Y, &jr.Y);                                                                \
            break;                                                                                 \
        case ZK_PT_MUL: EC##_jac_mul(&jr, &pa, scalar); break;                                     \
        default: return ZK_EINVAL;                                                                 \
        }                                                                                          \
        EC##_jac_to_aff(&pr, &jr);                                                                 \
        EC##_aff_encode(out, &pr, ZK_ENC_BE);                                                      \
        return ZK_OK;                                                                              \
    } while (0)

int zk_point_op(int curve, int group, int op, const uint8_t *a, size_t a_len, const uint8_t *b,
                size_t b_len, const uint8_t *scalar, size_t scalar_len, uint8_t *out,
                size_t out_len) {
    int gi = zk_group_index(curve, group);
    if (gi < 0 || op < ZK_PT_ADD || op > ZK_PT_ADD_MIXED) return ZK_EINVAL;
    size_t pb = zk_point_bytes(curve, group);
    if (!a || !out || a_len != pb || out_len != pb) return ZK_ELEN;
    if ((op == ZK_PT_ADD || op == ZK_PT_ADD_MIXED) && (!b || b_len != pb)) return ZK_ELEN;
    if (op == ZK_PT_MUL && (!scalar || scalar_len != 32)) return ZK_ELEN;
    switch (gi) {
    case 0: ZK_POINT_OP_BODY(bn_g1, bn_fp, f256);
    case 1: ZK_POINT_OP_BODY(bn_g2, bn_fp2, f256x2);
    case 2: ZK_POINT_OP_BODY(bls_g1, bls_fp, f384);
    default: ZK_POINT_OP_BODY(bls_g2, bls_fp2, f384x2);
    }
}

/* Parallel decode/check/(re-encode) of n points: used by check, convert and table load. */
typedef struct {
    int gi, in_enc, out_enc, level;
    const uint8_t *in;
    uint8_t *out; /* NULL: check only */
    size_t n, pb;
    atomic_size_t bad;
    atomic_int err;
} pts_ctx;

#define ZK_PTS_CASE(EC)                                                                            \
    do {                                                                                           \
        EC##_aff p;                                                                                \
        for (size_t i = lo; i < hi; i++) {                                                         \
            if (i >= atomic_load(&ctx->bad)) return;                                               \
            int rc = EC##_aff_decode_checked(&p, ctx->in + i * ctx->pb, ctx->in_enc, ctx->level);  \
            if (rc) {                                                                              \
                size_t cur = atomic_load(&ctx->bad);                                               \
                while (i < cur && !atomic_compare_exchange_weak(&ctx->bad, &cur, i)) {}            \
                if (i <= atomic_load(&ctx->bad)) atomic_store(&ctx->err, rc);                      \
                return;                                                                            \
            }                                                                                      \
            if (ctx->out) EC##_aff_encode(ctx->out + i * ctx->pb, &p, ctx->out_enc);               \
        }                                                                                          \
    } while (0)

static void pts_worker(void *vctx, int t, int nt) {
    pts_ctx *ctx = vctx;
    size_t lo = ctx->n * (size_t)t / (size_t)nt, hi = ctx->n * (size_t)(t + 1) / (size_t)nt;
    switch (ctx->gi) {
    case 0: ZK_PTS_CASE(bn_g1); break;
    case 1: ZK_PTS_CASE(bn_g2); break;
    case 2: ZK_PTS_CASE(bls_g1); break;
    default: ZK_PTS_CASE(bls_g2); break;
    }
}

static int pts_run(int curve, int group, const uint8_t *in, size_t in_len, int in_enc, uint8_t *out,
                   size_t out_len, int out_enc, size_t n, int level, size_t *bad_index) {
    int gi = zk_group_index(curve, group);
    if (gi < 0) return ZK_EINVAL;
    if ((in_enc != ZK_ENC_BE && in_enc != ZK_ENC_MONT) ||
        (out_enc != ZK_ENC_BE && out_enc != ZK_ENC_MONT))
        return ZK_EINVAL;
    if (level < ZK_CHECK_NONE || level > ZK_CHECK_SUBGROUP) return ZK_EINVAL;
    size_t pb = zk_point_bytes(curve, group);
    if (n > SIZE_MAX / pb || in_len != n * pb || (n && !in)) return ZK_ELEN;
    if (out && out_len != n * pb) return ZK_ELEN;
    if (n == 0) return ZK_OK;
    pts_ctx ctx = {.gi = gi,
                   .in_enc = in_enc,
                   .out_enc = out_enc,
                   .level = level,
                   .in = in,
                   .out = out,
                   .n = n,
                   .pb = pb};
    atomic_init(&ctx.bad, SIZE_MAX);
    atomic_init(&ctx.err, ZK_OK);
    /* Subgroup checks are expensive: spread them; cheap conversions only for large n. */
    size_t per = level == ZK_CHECK_SUBGROUP ? 16 : 8192;
    size_t want = n / per;
    int nt = zk_resolve_threads(0, want < 1 ? 1 : (want > 256 ? 256 : (int)want));
    zk_parallel(nt, pts_worker, &ctx);
    size_t bad = atomic_load(&ctx.bad);
    if (bad != SIZE_MAX) {
        if (bad_index) *bad_index = bad;
        /* re-derive the error of the first bad point deterministically */
        int rc = ZK_OK;
        switch (gi) {
        case 0: {
            bn_g1_aff p;
            rc = bn_g1_aff_decode_checked(&p, in + bad * pb, in_enc, level);
            break;
        }
        case 1: {
            bn_g2_aff p;
            rc = bn_g2_aff_decode_checked(&p, in + bad * pb, in_enc, level);
            break;
        }
        case 2: {
            bls_g1_aff p;
            rc = bls_g1_aff_decode_checked(&p, in + bad * pb, in_enc, level);
            break;
        }
        default: {
            bls_g2_aff p;
            rc = bls_g2_aff_decode_checked(&p, in + bad * pb, in_enc, level);
            break;
        }
        }
        return rc ? rc : atomic_load(&ctx.err);
    }
    return ZK_OK;
}

int zk_points_check(int curve, int group, const uint8_t *pts, size_t len, size_t n, int enc,
                    int level, size_t *bad_index) {
    return pts_run(curve, group, pts, len, enc, NULL, 0, enc, n, level, bad_index);
}

int zk_points_convert(int curve, int group, const uint8_t *in, size_t in_len, int in_enc,
                      uint8_t *out, size_t out_len, int out_enc, size_t n) {
    if (!out && n) return ZK_ELEN;
    if (out && in && n && out < in + in_len && in < out + out_len) return ZK_EINVAL;
    return pts_run(curve, group, in, in_len, in_enc, out, out_len, out_enc, n, ZK_CHECK_NONE, NULL);
}

int zk_table_load(int curve, int group, const uint8_t *in, size_t in_len, int enc, size_t n,
                  int level, uint8_t *table, size_t table_len, size_t *bad_index) {
    if (!table && n) return ZK_ELEN;
    if (table && in && n && table < in + in_len && in < table + table_len) return ZK_EINVAL;
    return pts_run(curve, group, in, in_len, enc, table, table_len, ZK_ENC_MONT, n, level,
                   bad_index);
}

/* Pairing product checks (pairing_template.inc), one instantiation per curve. */
#define ZK_PAIRING_MAX 64

#define PR bn_pair
#define F bn_fp
#define T f256
#define F2 bn_fp2
#define T2 f256x2
#define G1 bn_g1
#define G2 bn_g2
#define PR_XI0 BN_XI0
#define PR_TWIST_M BN_TWIST_M
#define PR_LOOP BN_ATE_LOOP
#define PR_LOOP_WORDS BN_ATE_LOOP_WORDS
#define PR_FROB                                                                                    \
    { BN_FROB1, BN_FROB2, BN_FROB3, BN_FROB4, BN_FROB5 }
#define PR_HARD                                                                                    \
    { BN_HARD_E0, BN_HARD_E1, BN_HARD_E2, BN_HARD_E3 }
#define PR_HARD_WORDS BN_HARD_WORDS
#include "pairing_template.inc"

#define PR bls_pair
#define F bls_fp
#define T f384
#define F2 bls_fp2
#define T2 f384x2
#define G1 bls_g1
#define G2 bls_g2
#define PR_XI0 BLS_XI0
#define PR_TWIST_M BLS_TWIST_M
#define PR_LOOP BLS_ATE_LOOP
#define PR_LOOP_WORDS BLS_ATE_LOOP_WORDS
#define PR_FROB                                                                                    \
    { BLS_FROB1, BLS_FROB2, BLS_FROB3, BLS_FROB4, BLS_FROB5 }
#define PR_HARD                                                                                    \
    { BLS_HARD_E0, BLS_HARD_E1, BLS_HARD_E2, BLS_HARD_E3 }
#define PR_HARD_WORDS BLS_HARD_WORDS
#include "pairing_template.inc"

#define ZK_PAIRING_BODY(PFX, G1, G2)                                                               \
    do {                                                                                           \
        G1##_aff p[ZK_PAIRING_MAX];                                                                \
        G2##_aff q[ZK_PAIRING_MAX];                                                                \
        for (size_t i = 0; i < n; i++) {                                                           \
            int rc = G1##_aff_decode_checked(&p[i], g1 + i * p1, ZK_ENC_BE, ZK_CHECK_SUBGROUP);    \
            if (!rc)                                                                               \
                rc = G2##_aff_decode_checked(&q[i], g2 + i * p2, ZK_ENC_BE, ZK_CHECK_SUBGROUP);    \
            if (rc) {                                                                              \
                if (bad_index) *bad_index = i;                                                     \
                return rc;                                                                         \
            }                                                                                      \
        }                                                                                          \
        return PFX##_check(p, q, n, result);                                                       \
    } while (0)

int zk_pairing_check(int curve, const uint8_t *g1, size_t g1_len, const uint8_t *g2, size_t g2_len,
                     size_t n, int *result, size_t *bad_index) {
    if ((curve != ZK_BN254 && curve != ZK_BLS12_381) || !result || n > ZK_PAIRING_MAX)
        return ZK_EINVAL;
    size_t p1 = zk_point_bytes(curve, ZK_G1), p2 = zk_point_bytes(curve, ZK_G2);
    if (g1_len != n * p1 || g2_len != n * p2 || (n && (!g1 || !g2))) return ZK_ELEN;
    *result = 0;
    if (curve == ZK_BN254) ZK_PAIRING_BODY(bn_pair, bn_g1, bn_g2);
    ZK_PAIRING_BODY(bls_pair, bls_g1, bls_g2);
}
