/* The scalar field Fr of either curve, chosen at run time (internal): both curves have a 256-bit
 * r, so one body serves both, parameterised by the field constants. Used by the vector code
 * (ntt.c) and the zkey evaluation (zkey.c). */
#ifndef ZK_FR_H
#define ZK_FR_H

#include "fields.h"
#include "zkedge.h"

/* The field constants of curve's Fr, or NULL for an unknown curve. */
ZK_INLINE const zk_field_params *fr_params(int curve) {
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
ZK_FN int fr_load(f256 *r, const uint8_t *in, const zk_field_params *F) {
    limbs_from_le(r->l, in, N256);
    if (limbs_geq(r->l, F->p, N256)) return 0;
    fld_to_mont(r->l, r->l, F, N256);
    return 1;
}

ZK_FN void fr_store(uint8_t *out, const f256 *a, const zk_field_params *F) {
    f256 t;
    fld_from_mont(t.l, a->l, F, N256);
    limbs_to_le(out, t.l, N256);
}

#endif
