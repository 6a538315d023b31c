/* snarkjs .zkey support: public C API (read by the cffi build with zkedge.h). */
#ifndef ZKEDGE_ZKEY_H
#define ZKEDGE_ZKEY_H

#include <stddef.h>
#include <stdint.h>

#include "zkedge.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Evaluate the zkey section-4 coefficients against a witness: for each record
 * (u32 matrix, u32 constraint, u32 signal, value v stored as v * R^2 mod r, LE), add
 * value * witness[signal] into out_a (matrix 0) or out_b (matrix 1) at index constraint.
 * witness: nvars * 32 bytes LE standard; out_a/out_b: n * 32 bytes, overwritten, LE standard.
 * On a bad record (matrix > 1, constraint >= n, signal >= nvars) returns ZK_ERANGE with
 * *bad_index set. out_c[i] = out_a[i] * out_b[i] if out_c is not NULL. threads (<= 0: all
 * cores) share the conversion of the outputs; the records are added up on one thread. */
int zk_zkey_eval_ab(int curve, const uint8_t *coefs, size_t coefs_len, size_t ncoefs,
                    const uint8_t *witness, size_t witness_len, size_t nvars, uint8_t *out_a,
                    uint8_t *out_b, uint8_t *out_c, size_t out_len, size_t n, int threads,
                    size_t *bad_index);

#ifdef __cplusplus
}
#endif
#endif
