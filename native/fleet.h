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

/* The packed scalar encoding (the wire's packed_scalars): each of n values is one length byte
 * L (0..32) then the L low bytes of its 32-byte little-endian form, whose bytes above them are
 * zero. Circom witnesses are mostly small values (bits, counters), so a witness packs to a
 * fraction of 32 bytes a value; a full-size value costs 33.
 *
 * zk_scalars_pack writes the packing of n scalars (32-byte LE) to out (33 * n bytes are always
 * enough) and its length to *written; ZK_ELEN when out is too short. */
int zk_scalars_pack(const uint8_t *scalars, size_t len, size_t n, uint8_t *out, size_t out_len,
                    size_t *written);

/* zk_scalars_unpack reads exactly n packed values from packed[0..len) into out (32 * n bytes);
 * ZK_EINVAL when a length byte is over 32, the bytes end inside a value, or bytes are left
 * over, with *bad the index of the offending value (n when bytes are left over). */
int zk_scalars_unpack(const uint8_t *packed, size_t len, size_t n, uint8_t *out, size_t out_len,
                      size_t *bad);

/* For each block of `block` scalars (the last may be shorter), the bytes of its packing: what a
 * range costs on the wire packed. out: ceil(n / block) sizes. */
int zk_scalars_packed_blocks(const uint8_t *scalars, size_t len, size_t n, size_t block,
                             uint32_t *out, size_t out_len);

#ifdef __cplusplus
}
#endif
#endif
