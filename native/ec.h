/* The four groups (BN254 G1/G2, BLS12-381 G1/G2) instantiated from ec_template.inc (internal). */
#ifndef ZK_EC_H
#define ZK_EC_H

#include "fields.h"
#include "zkedge.h"

static const f256 ZK_BN_B = {BN_B};
static const f256x2 ZK_BN_B2 = {{BN_B2_C0}, {BN_B2_C1}};
static const f384 ZK_BLS_B = {BLS_B};
static const f384x2 ZK_BLS_B2 = {{BLS_B2_C0}, {BLS_B2_C1}};

#define EC bn_g1
#define FE bn_fp
#define FE_T f256
#define EC_B (&ZK_BN_B)
#define FE_BYTES 32
#define EC_FR ZK_BN_FR
#define EC_COFACTOR_ONE 1
#include "ec_template.inc"

#define EC bn_g2
#define FE bn_fp2
#define FE_T f256x2
#define EC_B (&ZK_BN_B2)
#define FE_BYTES 64
#define EC_FR ZK_BN_FR
#define EC_COFACTOR_ONE 0
#include "ec_template.inc"

#define EC bls_g1
#define FE bls_fp
#define FE_T f384
#define EC_B (&ZK_BLS_B)
#define FE_BYTES 48
#define EC_FR ZK_BLS_FR
#define EC_COFACTOR_ONE 0
#include "ec_template.inc"

#define EC bls_g2
#define FE bls_fp2
#define FE_T f384x2
#define EC_B (&ZK_BLS_B2)
#define FE_BYTES 96
#define EC_FR ZK_BLS_FR
#define EC_COFACTOR_ONE 0
#include "ec_template.inc"

/* Index of a (curve, group) pair: 0 bn_g1, 1 bn_g2, 2 bls_g1, 3 bls_g2; -1 if unknown. */
static inline int zk_group_index(int curve, int group) {
    if ((curve != ZK_BN254 && curve != ZK_BLS12_381) || (group != ZK_G1 && group != ZK_G2))
        return -1;
    return curve * 2 + (group - 1);
}

#endif
