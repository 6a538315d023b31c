/* Fleet scheduling helpers: what the coordinator needs to know about the scalars to split an
 * MSM between workers, kept apart from the arithmetic core. */
#include "fleet.h"

#include <string.h>

#include "zkedge.h"

int zk_scalar_block_counts(const uint8_t *scalars, size_t len, size_t n, size_t block,
                           uint32_t *out, size_t out_len) {
    if (block == 0 || block > UINT32_MAX) return ZK_EINVAL;
    if (n > len / 32 || (n && !scalars)) return ZK_ELEN;
    size_t nblocks = n / block + (n % block != 0);
    if (out_len < nblocks || (nblocks && !out)) return ZK_ELEN;
    for (size_t b = 0; b < nblocks; b++) {
        size_t lo = b * block, hi = lo + block < n ? lo + block : n;
        uint32_t big = 0;
        for (size_t i = lo; i < hi; i++) {
            const uint8_t *s = scalars + 32 * i + 8;
            uint64_t w[3];
            memcpy(w, s, sizeof w);
            big += (w[0] | w[1] | w[2]) != 0;
        }
        out[b] = big;
    }
    return ZK_OK;
}

/* Significant bytes of a 32-byte little-endian value (0 for zero). */
static size_t packed_len(const uint8_t *s) {
    size_t l = 32;
    while (l && s[l - 1] == 0) l--;
    return l;
}

int zk_scalars_pack(const uint8_t *scalars, size_t len, size_t n, uint8_t *out, size_t out_len,
                    size_t *written) {
    if (!written) return ZK_EINVAL;
    *written = 0;
    if (n > len / 32 || (n && !scalars)) return ZK_ELEN;
    if (n && !out) return ZK_ELEN;
    size_t pos = 0;
    for (size_t i = 0; i < n; i++) {
        const uint8_t *s = scalars + 32 * i;
        size_t l = packed_len(s);
        if (out_len - pos < l + 1) return ZK_ELEN;
        out[pos] = (uint8_t)l;
        memcpy(out + pos + 1, s, l);
        pos += l + 1;
    }
    *written = pos;
    return ZK_OK;
}

int zk_scalars_unpack(const uint8_t *packed, size_t len, size_t n, uint8_t *out, size_t out_len,
                      size_t *bad) {
    if (!bad) return ZK_EINVAL;
    *bad = 0;
    if (n > out_len / 32 || (n && !out) || (len && !packed)) return ZK_ELEN;
    size_t pos = 0;
    for (size_t i = 0; i < n; i++) {
        uint8_t *d = out + 32 * i;
        if (pos >= len || packed[pos] > 32 || len - pos - 1 < packed[pos]) {
            *bad = i;
            return ZK_EINVAL;
        }
        size_t l = packed[pos];
        memcpy(d, packed + pos + 1, l);
        memset(d + l, 0, 32 - l);
        pos += l + 1;
    }
    if (pos != len) {
        *bad = n;
        return ZK_EINVAL;
    }
    return ZK_OK;
}

int zk_scalars_packed_blocks(const uint8_t *scalars, size_t len, size_t n, size_t block,
                             uint32_t *out, size_t out_len) {
    if (block == 0 || block > UINT32_MAX / 33) return ZK_EINVAL;
    if (n > len / 32 || (n && !scalars)) return ZK_ELEN;
    size_t nblocks = n / block + (n % block != 0);
    if (out_len < nblocks || (nblocks && !out)) return ZK_ELEN;
    for (size_t b = 0; b < nblocks; b++) {
        size_t lo = b * block, hi = lo + block < n ? lo + block : n;
        uint32_t bytes = 0;
        for (size_t i = lo; i < hi; i++) bytes += (uint32_t)(1 + packed_len(scalars + 32 * i));
        out[b] = bytes;
    }
    return ZK_OK;
}
