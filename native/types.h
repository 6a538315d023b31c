/* Limb types and function attributes shared by every internal header.
 *
 * limb_t is 64-bit with an unsigned __int128 double width where the compiler has it, and 32-bit
 * with a uint64_t double width elsewhere (armv6/armv7) or when ZK_FORCE_LIMB32 is defined (to
 * test that path on any machine). Constants are written as 64-bit words through L64(), which
 * expands to one limb or two. */
#ifndef ZK_TYPES_H
#define ZK_TYPES_H

#include <stddef.h>
#include <stdint.h>

#if defined(__SIZEOF_INT128__) && !defined(ZK_FORCE_LIMB32)
typedef uint64_t limb_t;
__extension__ typedef unsigned __int128 dlimb_t; /* __extension__: no -Wpedantic warning */
#define ZK_LIMB_BITS 64
#define L64(x) ((limb_t)(x))
#else
typedef uint32_t limb_t;
typedef uint64_t dlimb_t;
#define ZK_LIMB_BITS 32
#define L64(x) ((limb_t)(0xffffffffu & (x))), ((limb_t)((uint64_t)(x) >> 32))
#endif

#define ZK_INLINE static inline __attribute__((always_inline, unused))
#define ZK_NOINLINE static __attribute__((noinline, unused))
#define ZK_FN static __attribute__((unused))
#define NLIMBS(bits) ((bits) / ZK_LIMB_BITS)
#define ZK_MAXL NLIMBS(384)

#endif
