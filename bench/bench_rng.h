/* The bench drivers' input generator (arm_insns.c, field_mul.c): xorshift64* from a fixed seed,
 * so every run sees the same inputs. */
#ifndef ZK_BENCH_RNG_H
#define ZK_BENCH_RNG_H

#include <stdint.h>

static uint64_t bench_rng = 0x9E3779B97F4A7C15ull;
static uint64_t bench_next(void) {
    bench_rng ^= bench_rng >> 12;
    bench_rng ^= bench_rng << 25;
    bench_rng ^= bench_rng >> 27;
    return bench_rng * 0x2545F4914F6CDD1Dull;
}

#endif
