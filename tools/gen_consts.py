"""Generate native/generated/consts.h: per-field Montgomery constants for the C core.

Every constant is derived here from the moduli in zkedge/curves.py, so the C side never holds a
hand-typed number. Values are written as 64-bit words (little-endian word order) through the
L64() macro, which expands to one 64-bit limb or two 32-bit limbs depending on the limb width.
Run: python tools/gen_consts.py  (or --check to fail when it is stale).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from zkedge.curves import BLS12_381, BN254, Curve  # noqa: E402

OUT = ROOT / "native" / "generated" / "consts.h"


def words(x: int, nwords: int) -> str:
    ws = [(x >> (64 * i)) & ((1 << 64) - 1) for i in range(nwords)]
    return ", ".join(f"L64(0x{w:016x}ull)" for w in ws)


def field_block(prefix: str, mod: int, bits: int, comment: str) -> list[str]:
    nw = bits // 64
    r = 1 << bits
    n0 = (-pow(mod, -1, 1 << 64)) % (1 << 64)
    return [
        f"/* {comment}: modulus, R = 2^{bits} */",
        f"#define {prefix}_P {{ {words(mod, nw)} }}",
        "/* R mod p (Montgomery one) */",
        f"#define {prefix}_ONE {{ {words(r % mod, nw)} }}",
        "/* R^2 mod p (to Montgomery form) */",
        f"#define {prefix}_R2 {{ {words(r * r % mod, nw)} }}",
        "/* R^3 mod p (turns a plain inverse of a Montgomery value back into Montgomery form) */",
        f"#define {prefix}_R3 {{ {words(r * r * r % mod, nw)} }}",
        "/* -p^-1 mod 2^64; its low 32 bits are -p^-1 mod 2^32 */",
        f"#define {prefix}_N0_64 0x{n0:016x}ull",
        "/* p - 2, the exponent for Fermat inversion */",
        f"#define {prefix}_PM2 {{ {words(mod - 2, nw)} }}",
        "",
    ]


def mont(x: int, mod: int, bits: int) -> int:
    return x * (1 << bits) % mod


def curve_block(tag: str, c: Curve, fp_bits: int) -> list[str]:
    nw = fp_bits // 64
    # The lazy products (native/fields.h, F##_mul_lazy; native/generated/mont_x86_64.h) leave
    # base-field results below 2p, which is sound only when 4p < R; every modulus must be below R/2.
    assert 4 * c.p < 1 << fp_bits and 2 * c.r < 1 << 256
    lines = field_block(f"{tag}_FP", c.p, fp_bits, f"{c.name} base field Fp")
    lines += field_block(f"{tag}_FR", c.r, 256, f"{c.name} scalar field Fr")
    lines += [
        f"/* {c.name} G1: y^2 = x^3 + {c.b}; b in Montgomery form */",
        f"#define {tag}_B {{ {words(mont(c.b, c.p, fp_bits), nw)} }}",
        f"/* {c.name} G2 twist b' = ({c.b2[0]} + {c.b2[1]}*u), Montgomery form, c0 then c1 */",
        f"#define {tag}_B2_C0 {{ {words(mont(c.b2[0], c.p, fp_bits), nw)} }}",
        f"#define {tag}_B2_C1 {{ {words(mont(c.b2[1], c.p, fp_bits), nw)} }}",
        "/* bit length of r (scalar windows) */",
        f"#define {tag}_R_BITS {c.r.bit_length()}",
        "",
    ]
    return lines


def u64s(x: int) -> tuple[str, int]:
    """x as plain 64-bit words (least significant first) for a uint64_t array, and their count."""
    n = max(1, (x.bit_length() + 63) // 64)
    return ", ".join(f"0x{(x >> (64 * i)) & ((1 << 64) - 1):016x}ull" for i in range(n)), n


# Curve family parameters (self-checked below against p, r and the twist coefficient).
BN_U = 4965661367192848881  # BN254: p = 36u^4 + 36u^3 + 24u^2 + 6u + 1
BLS_X = -0xD201000000010000  # BLS12-381: r = x^4 - x^2 + 1


def pairing_block(tag: str, c: Curve, xi0: int, fp_bits: int) -> list[str]:
    """Ate pairing constants: xi = xi0 + u (Fp6 = Fp2[v]/(v^3 - xi), Fp12 = Fp6[w]/(w^2 - v)),
    the twist type, the Miller loop length |t - 1| and the final exponent's hard part: the
    whole exponent is (p^12 - 1) / r = (p^6 - 1) (p^2 + 1) (p^4 - p^2 + 1) / r. The hard part
    (p^4 - p^2 + 1) / r is written in base p, e0 + e1 p + e2 p^2 + e3 p^3, so that f^e is one
    simultaneous exponentiation of f, f^p, f^(p^2), f^(p^3) by numbers below p; the p-th power
    (Frobenius) of x w^k, x in Fp2, is conj(x) gamma^k w^k with gamma = xi^((p - 1) / 6)."""
    p, r = c.p, c.r
    if tag == "BN":
        u = BN_U
        assert p == 36 * u**4 + 36 * u**3 + 24 * u**2 + 6 * u + 1
        assert r == 36 * u**4 + 36 * u**3 + 18 * u**2 + 6 * u + 1
        t = 6 * u * u + 1
    else:
        x = BLS_X
        assert r == x**4 - x**2 + 1 and p == (x - 1) ** 2 * r // 3 + x
        t = x + 1
    assert (p + 1 - t) % r == 0  # t is the trace: r divides #E(Fp) = p + 1 - t

    # the twist E': y^2 = x^3 + b' has b' = b / xi (D-type) or b * xi (M-type), xi = xi0 + u
    def fp2_mul(a: tuple[int, int], b: tuple[int, int]) -> tuple[int, int]:
        return ((a[0] * b[0] - a[1] * b[1]) % p, (a[0] * b[1] + a[1] * b[0]) % p)

    b2 = (c.b2[0] % p, c.b2[1] % p)
    if fp2_mul(b2, (xi0, 1)) == (c.b % p, 0):
        m_type = 0
    elif b2 == fp2_mul((c.b, 0), (xi0, 1)):
        m_type = 1
    else:
        raise AssertionError(f"{c.name}: twist b' is neither b/xi nor b*xi")
    loop, nloop = u64s(abs(t - 1))
    hard = p**4 - p**2 + 1
    assert hard % r == 0 and (p - 1) % 6 == 0
    e = hard // r
    digits = [(e // p**i) % p for i in range(4)]
    assert sum(d * p**i for i, d in enumerate(digits)) == e
    nw = fp_bits // 64

    def fp2_pow(a: tuple[int, int], k: int) -> tuple[int, int]:
        out = (1, 0)
        for bit in bin(k)[2:]:
            out = fp2_mul(out, out)
            if bit == "1":
                out = fp2_mul(out, a)
        return out

    gamma = fp2_pow((xi0, 1), (p - 1) // 6)
    frob = []
    g = (1, 0)
    for k in range(1, 6):
        g = fp2_mul(g, gamma)
        frob.append(
            f"#define {tag}_FROB{k} {{ {{ {{ {words(mont(g[0], p, fp_bits), nw)} }} }}, "
            f"{{ {{ {words(mont(g[1], p, fp_bits), nw)} }} }} }}"
        )
    hard_words = [u64s(d)[0] for d in digits]
    nhard = max(u64s(d)[1] for d in digits)
    pad = "0x0000000000000000ull"
    hard_defs = []
    for i, hw in enumerate(hard_words):
        ws = hw.split(", ")
        digits_text = ", ".join(ws + [pad] * (nhard - len(ws)))
        hard_defs.append(f"#define {tag}_HARD_E{i} {{ {digits_text} }}")
    return [
        f"/* {c.name} ate pairing: xi = {xi0} + u; twist {'M' if m_type else 'D'}-type"
        f" (b' = b {'*' if m_type else '/'} xi) */",
        f"#define {tag}_XI0 {xi0}",
        f"#define {tag}_TWIST_M {m_type}",
        f"/* Miller loop length |t - 1| = {abs(t - 1)} (64-bit words, low first) */",
        f"#define {tag}_ATE_LOOP {{ {loop} }}",
        f"#define {tag}_ATE_LOOP_WORDS {nloop}",
        "/* gamma^k = xi^(k (p - 1) / 6), k = 1..5 (Fp2, Montgomery form, c0 then c1): the",
        " * Frobenius of Fp12 multiplies the conjugate of the coefficient of w^k by gamma^k */",
        *frob,
        "/* the final exponent's hard part (p^4 - p^2 + 1) / r = e0 + e1 p + e2 p^2 + e3 p^3,",
        " * each e_i below p (64-bit words, low first) */",
        *hard_defs,
        f"#define {tag}_HARD_WORDS {nhard}",
        "",
    ]


def render() -> str:
    lines = [
        "/* Code generated by tools/gen_consts.py. DO NOT EDIT. */",
        "",
        "/* Per-field Montgomery constants derived from the moduli in zkedge/curves.py, as 64-bit",
        " * words, low first, through L64() (types.h): one 64-bit limb or two 32-bit limbs. */",
        "#ifndef ZK_CONSTS_H",
        "#define ZK_CONSTS_H",
        "",
        '#include "types.h"',
        "",
    ]
    lines += curve_block("BN", BN254, 256)
    lines += curve_block("BLS", BLS12_381, 384)
    lines += pairing_block("BN", BN254, 9, 256)
    lines += pairing_block("BLS", BLS12_381, 1, 384)
    lines += ["#endif", ""]
    return "\n".join(lines)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--check", action="store_true", help="fail if the header is stale")
    args = ap.parse_args()
    text = render()
    if args.check:
        if not OUT.exists() or OUT.read_text() != text:
            rel = OUT.relative_to(ROOT)
            print(f"{rel} is stale: run python tools/gen_consts.py", file=sys.stderr)
            return 1
        return 0
    OUT.write_text(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
