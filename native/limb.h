/* Generic n-limb arithmetic and Montgomery products (internal).
 *
 * Functions take the limb count n as an argument; they are always inlined into per-field
 * wrappers (fields.h) with a constant n, so loops unroll. Limb types: types.h.
 */
#ifndef ZK_LIMB_H
#define ZK_LIMB_H

#include <string.h>

#include "generated/mont_aarch64.h"
#include "generated/mont_x86_64.h"
#include "types.h"

/* Assembly Montgomery products (and modular add/sub) for 4 and 6 limbs: MULX/ADX on x86-64
 * (generated/mont_x86_64.h), MUL/UMULH on aarch64 (generated/mont_aarch64.h). zk_asm_on is set
 * once at load time (native/api.c): on x86-64 when the CPU has BMI2 and ADX, on aarch64 always
 * (every ARMv8-A CPU has the instructions). The C code below stays the fallback and the
 * reference the tests compare against; switching zk_asm_on off runs it. */
#define ZK_HAVE_ASM (ZK_HAVE_X86_ASM || ZK_HAVE_ARM64_ASM)
#if ZK_HAVE_ASM
static int zk_asm_on __attribute__((unused));
/* The switch as a const function: the compiler may then read it once per hot function instead
 * of once per product (with -fno-strict-aliasing, every limb store could have changed the
 * variable). It only changes between native calls (load time, tests). */
__attribute__((const, noinline, unused)) static int zk_asm(void) { return zk_asm_on; }

#if ZK_HAVE_X86_ASM
#define ZK_ASM_KERNEL(op, n) x86_##op##n
#else
#define ZK_ASM_KERNEL(op, n) arm64_##op##n
#endif

/* The one place a limb count picks an assembly kernel: runs <arch>_<op><n>(...) and is 1 when
 * the assembly is on and n is 4 or 6 (the only sizes generated), else 0 and the caller runs its
 * C code. n is a constant wherever this is inlined, so only the zk_asm() test is left. */
#define ZK_TRY_ASM(op, n, ...)                                                                     \
    ((n) == 4 && zk_asm()   ? (ZK_ASM_KERNEL(op, 4)(__VA_ARGS__), 1)                               \
     : (n) == 6 && zk_asm() ? (ZK_ASM_KERNEL(op, 6)(__VA_ARGS__), 1)                               \
                            : 0)
#else
#define ZK_TRY_ASM(op, n, ...) 0
#endif

/* r = a + b, returns carry. */
ZK_INLINE limb_t limbs_add(limb_t *r, const limb_t *a, const limb_t *b, const int n) {
    dlimb_t c = 0;
    for (int i = 0; i < n; i++) {
        c += (dlimb_t)a[i] + b[i];
        r[i] = (limb_t)c;
        c >>= ZK_LIMB_BITS;
    }
    return (limb_t)c;
}

/* r = a - b, returns borrow (0 or 1). */
ZK_INLINE limb_t limbs_sub(limb_t *r, const limb_t *a, const limb_t *b, const int n) {
    limb_t borrow = 0;
    for (int i = 0; i < n; i++) {
        dlimb_t d = (dlimb_t)a[i] - b[i] - borrow;
        r[i] = (limb_t)d;
        borrow = (limb_t)(d >> (2 * ZK_LIMB_BITS - 1));
    }
    return borrow;
}

/* a = (top:a) >> 1, shifting the bit `top` (0 or 1) in at the most significant end. */
ZK_INLINE void limbs_shr1(limb_t *a, limb_t top, const int n) {
    for (int i = 0; i < n - 1; i++) a[i] = (a[i] >> 1) | (a[i + 1] << (ZK_LIMB_BITS - 1));
    a[n - 1] = (a[n - 1] >> 1) | (top << (ZK_LIMB_BITS - 1));
}

/* a >= b */
ZK_INLINE int limbs_geq(const limb_t *a, const limb_t *b, const int n) {
    for (int i = n - 1; i >= 0; i--) {
        if (a[i] != b[i]) return a[i] > b[i];
    }
    return 1;
}

ZK_INLINE int limbs_is_zero(const limb_t *a, const int n) {
    limb_t acc = 0;
    for (int i = 0; i < n; i++) acc |= a[i];
    return acc == 0;
}

ZK_INLINE int limbs_eq(const limb_t *a, const limb_t *b, const int n) {
    limb_t acc = 0;
    for (int i = 0; i < n; i++) acc |= a[i] ^ b[i];
    return acc == 0;
}

/* r = mask ? a : b, branch-free (mask is 0 or all ones): the reduction steps below would
 * otherwise mispredict about half the time on random data. */
ZK_INLINE void limbs_select(limb_t *r, limb_t mask, const limb_t *a, const limb_t *b, const int n) {
    for (int i = 0; i < n; i++) r[i] = (a[i] & mask) | (b[i] & ~mask);
}

/* r = a + b mod p, for a, b < p and p < 2^(n*w - 1) (true for all our moduli). */
ZK_INLINE void mod_add(limb_t *r, const limb_t *a, const limb_t *b, const limb_t *p, const int n) {
    if (ZK_TRY_ASM(mod_add, n, r, a, b, p)) return;
    limb_t t[ZK_MAXL], u[ZK_MAXL];
    limbs_add(t, a, b, n);
    limb_t borrow = limbs_sub(u, t, p, n);
    limbs_select(r, (limb_t)0 - borrow, t, u, n);
}

/* r = a - b mod p. */
ZK_INLINE void mod_sub(limb_t *r, const limb_t *a, const limb_t *b, const limb_t *p, const int n) {
    if (ZK_TRY_ASM(mod_sub, n, r, a, b, p)) return;
    limb_t t[ZK_MAXL], q[ZK_MAXL];
    limb_t borrow = limbs_sub(t, a, b, n);
    limb_t mask = (limb_t)0 - borrow;
    for (int i = 0; i < n; i++) q[i] = p[i] & mask;
    limbs_add(r, t, q, n);
}

ZK_INLINE void mod_neg(limb_t *r, const limb_t *a, const limb_t *p, const int n) {
    if (limbs_is_zero(a, n)) {
        memset(r, 0, (size_t)n * sizeof(limb_t));
    } else {
        limbs_sub(r, p, a, n);
    }
}

/* Montgomery product r = a * b * R^-1 mod p, product scanning ("FIPS" method, Koc et al. 1996):
 * column sums go into a three-word accumulator (t01 double word + t2), which compiles to fewer
 * instructions than operand scanning with double-word temporaries (measured with callgrind:
 * 342 vs 398 instructions for 4 limbs, 721 vs 1013 for 6). Inputs a, b < p; since every modulus
 * here is below R/2, the unreduced result is below 2p and one conditional subtraction ends it. */
ZK_INLINE void mont_mul_c(limb_t *r, const limb_t *a, const limb_t *b, const limb_t *p, limb_t n0,
                          const int n) {
    limb_t m[ZK_MAXL], t[ZK_MAXL], u[ZK_MAXL];
    dlimb_t t01 = 0;
    limb_t t2 = 0;
#define ZK_ACC(x, y)                                                                               \
    do {                                                                                           \
        dlimb_t pr_ = (dlimb_t)(x) * (y);                                                          \
        t2 += (limb_t)__builtin_add_overflow(t01, pr_, &t01);                                      \
    } while (0)
#define ZK_SHIFT()                                                                                 \
    do {                                                                                           \
        t01 = (t01 >> ZK_LIMB_BITS) | ((dlimb_t)t2 << ZK_LIMB_BITS);                               \
        t2 = 0;                                                                                    \
    } while (0)
    for (int i = 0; i < n; i++) {
        for (int j = 0; j < i; j++) {
            ZK_ACC(a[j], b[i - j]);
            ZK_ACC(m[j], p[i - j]);
        }
        ZK_ACC(a[i], b[0]);
        m[i] = (limb_t)t01 * n0;
        ZK_ACC(m[i], p[0]);
        ZK_SHIFT();
    }
    for (int i = n; i < 2 * n - 1; i++) {
        for (int j = i - n + 1; j < n; j++) {
            ZK_ACC(a[j], b[i - j]);
            ZK_ACC(m[j], p[i - j]);
        }
        t[i - n] = (limb_t)t01;
        ZK_SHIFT();
    }
    t[n - 1] = (limb_t)t01;
#undef ZK_ACC
#undef ZK_SHIFT
    limb_t borrow = limbs_sub(u, t, p, n);
    limbs_select(r, (limb_t)0 - borrow, t, u, n);
}

/* r = a - b + p for a, b < p: in (0, 2p), not reduced (the wrapped n-limb sum is exact), for a
 * value that only feeds a product (inputs below 2p are fine there when 4p < R, fields.h). */
ZK_INLINE void mod_sub_lazy(limb_t *r, const limb_t *a, const limb_t *b, const limb_t *p,
                            const int n) {
    if (ZK_TRY_ASM(mod_sub_lazy, n, r, a, b, p)) return;
    limb_t t[ZK_MAXL];
    limbs_sub(t, a, b, n);
    limbs_add(r, t, p, n);
}

ZK_INLINE void mont_mul(limb_t *r, const limb_t *a, const limb_t *b, const limb_t *p, limb_t n0,
                        const int n) {
    if (!ZK_TRY_ASM(mont_mul, n, r, a, b, p, n0)) mont_mul_c(r, a, b, p, n0, n);
}

/* Little-endian bytes <-> limbs (endian-independent). */
ZK_INLINE void limbs_from_le(limb_t *r, const uint8_t *in, const int n) {
    for (int i = 0; i < n; i++) {
        limb_t v = 0;
        for (int k = 0; k < ZK_LIMB_BITS / 8; k++)
            v |= (limb_t)in[i * (ZK_LIMB_BITS / 8) + k] << (8 * k);
        r[i] = v;
    }
}

ZK_INLINE void limbs_to_le(uint8_t *out, const limb_t *a, const int n) {
    for (int i = 0; i < n; i++) {
        for (int k = 0; k < ZK_LIMB_BITS / 8; k++)
            out[i * (ZK_LIMB_BITS / 8) + k] = (uint8_t)(a[i] >> (8 * k));
    }
}

ZK_INLINE void limbs_from_be(limb_t *r, const uint8_t *in, const int n) {
    const int nb = n * (ZK_LIMB_BITS / 8);
    for (int i = 0; i < n; i++) {
        limb_t v = 0;
        for (int k = 0; k < ZK_LIMB_BITS / 8; k++)
            v |= (limb_t)in[nb - 1 - (i * (ZK_LIMB_BITS / 8) + k)] << (8 * k);
        r[i] = v;
    }
}

ZK_INLINE void limbs_to_be(uint8_t *out, const limb_t *a, const int n) {
    const int nb = n * (ZK_LIMB_BITS / 8);
    for (int i = 0; i < n; i++) {
        for (int k = 0; k < ZK_LIMB_BITS / 8; k++)
            out[nb - 1 - (i * (ZK_LIMB_BITS / 8) + k)] = (uint8_t)(a[i] >> (8 * k));
    }
}

#endif
