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
