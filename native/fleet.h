/* Fleet scheduling helpers: public C API (read by the cffi build with zkedge.h). */
#ifndef ZKEDGE_FLEET_H
#define ZKEDGE_FLEET_H

#include <stddef.h>
#include <stdint.h>

#include "zkedge.h"

#ifdef __cplusplus
extern "C" {
#endif

/* For each block of `block` scalars (32-byte LE; the last block may be shorter), how many are
 * 2^64 or more: the coordinator's work estimate (a small scalar costs a fraction of a full
 * one). out: ceil(n / block) counts. */
int zk_scalar_block_counts(const uint8_t *scalars, size_t len, size_t n, size_t block,
                           uint32_t *out, size_t out_len);

#ifdef __cplusplus
}
#endif
#endif
