"""Generate native/generated/mont_x86_64.h: x86-64 Montgomery multiplication (MULX/ADX).

The portable C multiplication (native/limb.h) costs about 340 instructions for 4 limbs with
gcc's ``__int128`` code. This generator writes the same CIOS Montgomery product unrolled for 4
and 6 limbs with BMI2's MULX (flags untouched) and ADX's two independent carry chains (ADCX on
CF, ADOX on OF), about 140 instructions for 4 limbs. The code is chosen at run time only when
the CPU has both extensions (zk_asm_on, native/api.c); the C path stays as the reference and
the fallback (and is what ARM boards run).

Algorithm (CIOS, Koc et al. 1996), valid because every modulus here is below R/2 (the top bit
is spare): the running value t stays below 2p, so t + a * b[i] + m * p < 2p * 2^64 < 2^64 * R
fits n+1 words and no extra carry word is needed. Per word b[i]: t += a * b[i];
m = t[0] * n0 mod 2^64; t = (t + m * p) / 2^64. The word shifted out is zero, so its
register becomes the next top word (the generator renames registers instead of moving values).
Modular addition and subtraction come along (base x86-64 only) so the hot loops stay in
registers and out of gcc's carry emulation. A final conditional subtraction brings t below p.

Run: python tools/gen_mont_asm.py  (or --check to fail when the header is stale).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "native" / "generated" / "mont_x86_64.h"


def mont_mul_asm(n: int, lazy: bool = False) -> list[str]:
    """Assembly lines (AT&T syntax, operand names as in the C wrapper) for n limbs; ``lazy``
    leaves out the final subtraction (result below 2p, see mont_mul_function)."""
    t = [f"%[t{k}]" for k in range(n + 1)]  # t[0..n], renamed after every reduction
    out: list[str] = []

    def a(j: int) -> str:
        return f"{8 * j}(%[a])"

    # i = 0: t = a * b[0], one carry chain (ADD/ADC), no previous t to add.
    out.append("movq 0(%[b]), %%rdx")
    out.append(f"mulxq {a(0)}, {t[0]}, {t[1]}")
    for j in range(1, n):
        out.append(f"mulxq {a(j)}, %[lo], {t[j + 1]}")
        out.append(f"{'addq' if j == 1 else 'adcq'} %[lo], {t[j]}")
    out.append(f"adcq $0, {t[n]}")
    for i in range(n):
        if i > 0:
            # t += a * b[i]: low halves on the OF chain, high halves on the CF chain.
            # t[n] is the register freed by the last shift and holds zero.
            out.append(f"movq {8 * i}(%[b]), %%rdx")
            out.append("xorl %k[z], %k[z]")
            for j in range(n):
                out.append(f"mulxq {a(j)}, %[lo], %[hi]")
                out.append(f"adoxq %[lo], {t[j]}")
                out.append(f"adcxq %[hi], {t[j + 1]}")
            out.append(f"adoxq %[z], {t[n]}")
        # Reduction: m = t[0] * n0; t += m * p; the low word becomes zero.
        out.append(f"movq {t[0]}, %%rdx")
        out.append("imulq %[n0], %%rdx")
        out.append("xorl %k[z], %k[z]")
        for j in range(n):
            out.append(f"mulxq %[p{j}], %[lo], %[hi]")
            out.append(f"adoxq %[lo], {t[j]}")
            out.append(f"adcxq %[hi], {t[j + 1]}")
        out.append(f"adoxq %[z], {t[n]}")
        t = t[1:] + t[:1]  # shift by one word: the zeroed low register becomes the new top
    if lazy:
        return out + [f"movq {t[j]}, {8 * j}(%[r])" for j in range(n)]
    # t[0..n-1] < 2p: copy into free registers, subtract p, and take the copy back when that
    # borrowed (in registers: a round trip through r's memory would add store-forwarding
    # latency). Five registers are free here, and for 6 limbs the a and b pointers, read-write
    # operands there, as nothing reads a or b any more.
    spare = [t[n], "%[lo]", "%[hi]", "%[z]", "%%rdx", "%[a]", "%[b]"][:n]
    for j in range(n):
        out.append(f"movq {t[j]}, {spare[j]}")
    for j in range(n):
        out.append(f"{'subq' if j == 0 else 'sbbq'} %[p{j}], {t[j]}")
    for j in range(n):
        out.append(f"cmovcq {spare[j]}, {t[j]}")
    for j in range(n):
        out.append(f"movq {t[j]}, {8 * j}(%[r])")
    return out


def _ptr_outs() -> list[str]:
    """a, b and r as read-write register operands, for code that reuses the a and b registers
    once the inputs are read. All three are outputs so that gcc gives them distinct registers
    even when r equals a or b (an input may share an output's register, and r must survive)."""
    return ['[a] "+r"(a)', '[b] "+r"(b)', '[r] "+r"(r)']


def mont_mul_function(n: int, lazy: bool = False) -> list[str]:
    """The C wrapper. The lazy product skips the final subtraction: for a, b < 2p and
    4p < R = 2^(64 n) (BN254: p < 2^254, BLS12-381: p < 2^381), t < (4p^2 + R p) / R < 2p,
    and the running value stays below 3p < R, so the same n + 1 words hold it. A lazy result
    may only feed another product (add, sub and comparisons need values below p)."""
    if lazy:
        doc = (
            f"/* r = a * b * 2^-{64 * n} mod p, possibly plus p (r < 2p), for {n}-limb "
            "a, b < 2p, 4p < 2^" + f"{64 * n}; r may alias a or b. */"
        )
    else:
        doc = (
            f"/* r = a * b * 2^-{64 * n} mod p for {n}-limb a, b < p < 2^{64 * n - 1} (or "
            f"a, b < 2p when 4p < 2^{64 * n}); r may alias a or b. */"
        )
    lines = [
        doc,
        f"ZK_INLINE void x86_mont_mul{'_lazy' if lazy else ''}{n}(limb_t *r, const limb_t *a, "
        "const limb_t *b, const limb_t *p,",
        "                                 limb_t n0) {",
        f"    limb_t {', '.join(f't{k}' for k in range(n + 1))}, lo, hi, z, dx;",
        "    __asm__(",
    ]
    for insn in mont_mul_asm(n, lazy):
        lines.append(f'        "{insn}\\n\\t"')
    outs = [f'[t{k}] "=&r"(t{k})' for k in range(n + 1)]
    outs += ['[lo] "=&r"(lo)', '[hi] "=&r"(hi)', '[z] "=&r"(z)', '"=&d"(dx)']
    outs += [f'"=m"(*(limb_t(*)[{n}])r)']
    ins: list[str] = ['[n0] "m"(n0)']
    if n > 5 and not lazy:  # spare registers for the final subtraction
        outs += _ptr_outs()
    else:
        ins = ['[a] "r"(a)', '[b] "r"(b)', '[r] "r"(r)', *ins]
    ins += [f'[p{j}] "m"(p[{j}])' for j in range(n)]
    ins += [f'"m"(*(const limb_t(*)[{n}])a)', f'"m"(*(const limb_t(*)[{n}])b)']
    lines.append("        : " + ", ".join(outs))
    lines.append("        : " + ", ".join(ins))
    lines.append('        : "cc");')
    lines.append(f"    (void)t{n};")
    lines.append("    (void)lo, (void)hi, (void)z, (void)dx;")
    lines.append("}")
    return lines


def _spare(n: int, j: int) -> str:
    """Where mod_add/mod_sub keep word j of the first result while trying the second: four
    registers, and for 6 limbs the a and b pointers too (read-write operands, free once the
    inputs are loaded)."""
    return f"%[s{j}]" if j < 4 else ("%[a]", "%[b]")[j - 4]


def mod_add_asm(n: int) -> list[str]:
    """r = a + b mod p for a, b < p < R/2: the sum fits n words; keep it aside, subtract p,
    and take it back when that borrowed."""
    t = [f"%[t{k}]" for k in range(n)]
    out = [f"movq {8 * j}(%[a]), {t[j]}" for j in range(n)]
    out += [f"{'addq' if j == 0 else 'adcq'} {8 * j}(%[b]), {t[j]}" for j in range(n)]
    out += [f"movq {t[j]}, {_spare(n, j)}" for j in range(n)]
    out += [f"{'subq' if j == 0 else 'sbbq'} %[p{j}], {t[j]}" for j in range(n)]
    out += [f"cmovcq {_spare(n, j)}, {t[j]}" for j in range(n)]
    out += [f"movq {t[j]}, {8 * j}(%[r])" for j in range(n)]
    return out


def mod_sub_asm(n: int) -> list[str]:
    """r = a - b mod p: subtract, remember the borrow, keep the difference aside, add p, and
    take it back when there was no borrow."""
    t = [f"%[t{k}]" for k in range(n)]
    out = [f"movq {8 * j}(%[a]), {t[j]}" for j in range(n)]
    out += [f"{'subq' if j == 0 else 'sbbq'} {8 * j}(%[b]), {t[j]}" for j in range(n)]
    out.append("sbbq %[m], %[m]")
    out += [f"movq {t[j]}, {_spare(n, j)}" for j in range(n)]
    out += [f"{'addq' if j == 0 else 'adcq'} %[p{j}], {t[j]}" for j in range(n)]
    out.append("testq %[m], %[m]")
    out += [f"cmovzq {_spare(n, j)}, {t[j]}" for j in range(n)]
    out += [f"movq {t[j]}, {8 * j}(%[r])" for j in range(n)]
    return out


def sub_lazy_asm(n: int) -> list[str]:
    """r = a - b + p for a, b < p: in (0, 2p), so the wrapped n-word result is exact and no
    borrow or comparison is needed; for values that only feed products (see fields.h)."""
    t = [f"%[t{k}]" for k in range(n)]
    out = [f"movq {8 * j}(%[a]), {t[j]}" for j in range(n)]
    out += [f"{'subq' if j == 0 else 'sbbq'} {8 * j}(%[b]), {t[j]}" for j in range(n)]
    out += [f"{'addq' if j == 0 else 'adcq'} %[p{j}], {t[j]}" for j in range(n)]
    out += [f"movq {t[j]}, {8 * j}(%[r])" for j in range(n)]
    return out


def addsub_function(n: int, op: str) -> list[str]:
    """The C wrapper of mod_add / mod_sub (op "add", "sub") or the lazy sub ("subl")."""
    body = {"add": mod_add_asm, "sub": mod_sub_asm, "subl": sub_lazy_asm}[op](n)
    regs = [f"t{k}" for k in range(n)]
    if op != "subl":
        regs += [f"s{k}" for k in range(4)]
    regs += ["m"] if op == "sub" else []
    doc = {
        "add": f"r = a + b mod p for {n}-limb a, b < p < 2^{64 * n - 1}",
        "sub": f"r = a - b mod p for {n}-limb a, b < p < 2^{64 * n - 1}",
        "subl": f"r = a - b + p (in (0, 2p), not reduced) for {n}-limb a, b < p",
    }[op]
    lines = [
        f"/* {doc}; r may alias a or b. */",
        f"ZK_INLINE void x86_mod_{'sub_lazy' if op == 'subl' else op}{n}(limb_t *r, "
        "const limb_t *a, const limb_t *b, "
        "const limb_t *p) {",
        f"    limb_t {', '.join(regs)};",
        "    __asm__(",
    ]
    for insn in body:
        lines.append(f'        "{insn}\\n\\t"')
    outs = [f'[{x}] "=&r"({x})' for x in regs] + [f'"=m"(*(limb_t(*)[{n}])r)']
    ins: list[str] = []
    if n > 4 and op != "subl":
        outs += _ptr_outs()
    else:
        ins = ['[a] "r"(a)', '[b] "r"(b)', '[r] "r"(r)']
    ins += [f'[p{j}] "m"(p[{j}])' for j in range(n)]
    ins += [f'"m"(*(const limb_t(*)[{n}])a)', f'"m"(*(const limb_t(*)[{n}])b)']
    lines.append("        : " + ", ".join(outs))
    lines.append("        : " + ", ".join(ins))
    lines.append('        : "cc");')
    lines.append("    (void)" + ", (void)".join(regs) + ";")
    lines.append("}")
    return lines


def render() -> str:
    lines = [
        "/* Code generated by tools/gen_mont_asm.py. DO NOT EDIT. */",
        "",
        "/* Montgomery multiplication for 4 and 6 64-bit limbs with MULX/ADCX/ADOX (BMI2 + ADX),",
        " * and modular addition and subtraction (base x86-64) used alongside it.",
        " * Only compiled on x86-64 with 64-bit limbs; used only when the CPU reports BMI2 and ADX",
        " * (zk_asm_on, set in native/api.c), so the module still loads and runs on any x86-64.",
        " * x86_<op><n> is the n-limb kernel of limb.h's <op>, which picks it (ZK_TRY_ASM). */",
        "#ifndef ZK_MONT_X86_64_H",
        "#define ZK_MONT_X86_64_H",
        "",
        '#include "types.h"',
        "",
        "#if defined(__x86_64__) && ZK_LIMB_BITS == 64 && defined(__GNUC__) && !defined(ZK_NO_ASM)",
        "#define ZK_HAVE_X86_ASM 1",
        "",
    ]
    for n in (4, 6):
        lines += mont_mul_function(n)
        lines.append("")
        lines += mont_mul_function(n, lazy=True)
        lines.append("")
        for op in ("add", "sub", "subl"):
            lines += addsub_function(n, op)
            lines.append("")
    lines += ["#else", "#define ZK_HAVE_X86_ASM 0", "#endif", "", "#endif", ""]
    return "\n".join(lines)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--check", action="store_true", help="fail if the header is stale")
    args = ap.parse_args()
    text = render()
    if args.check:
        if not OUT.exists() or OUT.read_text() != text:
            rel = OUT.relative_to(ROOT)
            print(f"{rel} is stale: run python tools/gen_mont_asm.py", file=sys.stderr)
            return 1
        return 0
    OUT.write_text(text)
    print("wrote", OUT.relative_to(ROOT))
    return 0


if __name__ == "__main__":
    sys.exit(main())
