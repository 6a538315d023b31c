"""Generate native/generated/mont_x86_64.h and mont_aarch64.h: Montgomery products in assembly.

Each header holds the Montgomery product unrolled for 4 limbs (BN254) and 6 limbs (BLS12-381)
as GCC inline assembly, a lazy variant without the final subtraction, and modular addition,
subtraction and lazy subtraction, so the hot loops stay in registers and out of the compiler's
carry emulation. The portable C (native/limb.h: product scanning with ``__int128``) stays the
reference the tests compare against and the fallback; limb.h's ZK_TRY_ASM picks a kernel
(``<arch>_<op><n>``) and zk_asm_on (native/api.c) switches between the two.

Algorithm (CIOS, Koc et al. 1996), valid because every modulus here is below R/2 (the top bit
is spare): the running value t stays below 2p, so t + a * b[i] + m * p < 2p * 2^64 < 2^64 * R
fits n+1 words and no extra carry word is needed. Per word b[i]: t += a * b[i];
m = t[0] * n0 mod 2^64; t = (t + m * p) / 2^64. The word shifted out is zero, so its
register becomes the next top word (the generator renames registers instead of moving values).
A final conditional subtraction brings t below p (kept in spare registers, chosen branch-free).

x86-64 (mont_x86_64.h): BMI2's MULX (flags untouched) and ADX's two independent carry chains
(ADCX on CF, ADOX on OF) add the low and high halves of each row in one pass, about 140
instructions for 4 limbs against about 340 for gcc's C. Chosen at run time only when the CPU
has both extensions; the addition and subtraction are base x86-64.

aarch64 (mont_aarch64.h): MUL and UMULH give the low and high words of a 64x64 product and
leave the flags alone; ADDS/ADCS/ADC carry through the one carry flag. All of it is base
ARMv8-A, which every aarch64 CPU has, so the kernels are compiled in on any aarch64 build with
64-bit limbs (no CPU probe; the switch only exists to run the C path). With one carry flag,
each row is four carry chains of about n additions: the low words of a * b[i] into t (the
carry and the top high word into t[n]), the other high words one word up, and the same two for
m * p; that is 2n products and 2n + 1 additions per half row, 8n + 3 instructions per row.
The low word of t[0] + lo(m * p[0]) is zero by the choice of m, so that product is left out and
CMP t0, #1 gives its carry (t0 != 0). Product scanning (column sums in a three-word
accumulator, as the C does) needs the same products but three additions each (ADDS, ADCS,
ADC), so CIOS is the shorter schedule here. Each product goes to a small pool of registers and
is issued a few instructions ahead of the addition that consumes it, so an in-order core
(Cortex-A53: Pi 3, Zero 2) does not wait on the multiplier at every step; out-of-order cores
(Cortex-A72, A76) reorder anyway. The values live in fixed registers named as clobbers (the
compiler takes at most 30 operands per asm statement); only the pointers and n0 are operands.
bench/arm_insns.py counts the instructions against the C path under qemu.

Run: python tools/gen_mont_asm.py  (or --check to fail when a header is stale).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "native" / "generated" / "mont_x86_64.h"
OUT_ARM = ROOT / "native" / "generated" / "mont_aarch64.h"


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


def _mul_doc(n: int, lazy: bool) -> str:
    """The C comment above an n-limb product wrapper (both architectures)."""
    if lazy:
        return (
            f"/* r = a * b * 2^-{64 * n} mod p, possibly plus p (r < 2p), for {n}-limb "
            "a, b < 2p, 4p < 2^" + f"{64 * n}; r may alias a or b. */"
        )
    return (
        f"/* r = a * b * 2^-{64 * n} mod p for {n}-limb a, b < p < 2^{64 * n - 1} (or "
        f"a, b < 2p when 4p < 2^{64 * n}); r may alias a or b. */"
    )


def mont_mul_function(n: int, lazy: bool = False) -> list[str]:
    """The C wrapper. The lazy product skips the final subtraction: for a, b < 2p and
    4p < R = 2^(64 n) (BN254: p < 2^254, BLS12-381: p < 2^381), t < (4p^2 + R p) / R < 2p,
    and the running value stays below 3p < R, so the same n + 1 words hold it. A lazy result
    may only feed another product (add, sub and comparisons need values below p)."""
    lines = [
        _mul_doc(n, lazy),
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
    lines += _kernels(mont_mul_function, addsub_function, "ZK_HAVE_X86_ASM")
    return "\n".join(lines)


def _kernels(
    mul: Callable[..., list[str]], addsub: Callable[[int, str], list[str]], macro: str
) -> list[str]:
    """The kernels of one architecture's header for 4 and 6 limbs (product, lazy product,
    add, sub, lazy sub), then the #else branch that sets ``macro`` to 0."""
    lines: list[str] = []
    for n in (4, 6):
        for block in (mul(n), mul(n, lazy=True), *(addsub(n, op) for op in ("add", "sub", "subl"))):
            lines += [*block, ""]
    return [*lines, "#else", f"#define {macro} 0", "#endif", "", "#endif", ""]


# --------------------------------------------------------------------------- aarch64

# Fixed registers of the aarch64 product, in the order handed out: the caller-saved x2..x17
# first, then callee-saved x19.. (x18 is the platform register, x29/x30 the frame pointer and
# link register). The pointers and n0 stay operands, in registers the compiler picks among the
# rest (x0, x1 and the remaining callee-saved ones).
ARM_REGS = [f"x{k}" for k in range(2, 18)] + [f"x{k}" for k in range(19, 29)]
ARM_POOL = {4: 2, 6: 1}  # product registers beyond the two freed pointers, per limb count


def _arm_regs(n: int) -> dict[str, str]:
    """Register of each named value of the n-limb product: a words, p words, t words, the
    current b word (then m), and the extra product registers."""
    names = [f"a{j}" for j in range(n)] + [f"p{j}" for j in range(n)]
    names += [f"t{k}" for k in range(n + 1)] + ["bw"] + [f"x{k}" for k in range(ARM_POOL[n])]
    return dict(zip(names, ARM_REGS, strict=False))


class _ArmChain:
    """One carry chain whose addends are products: each product goes to a register of a small
    pool and is issued a few places ahead of the ADDS/ADCS that consumes it, so an in-order core
    (Cortex-A53) does not wait on the multiplier at every step."""

    def __init__(self, pool: list[str]) -> None:
        self.pool = pool
        self.items: list[tuple[str, str, str, str]] = []  # (product op, x, y, add line with {})

    def add(self, prod: str, x: str, y: str, add: str) -> None:
        self.items.append((prod, x, y, add))

    def emit(self, out: list[str]) -> None:
        k = len(self.pool)
        lead = k - 1
        for i in range(min(lead, len(self.items))):
            prod, x, y, _ = self.items[i]
            out.append(f"{prod} {self.pool[i % k]}, {x}, {y}")
        for i, (_, _, _, add) in enumerate(self.items):
            j = i + lead
            if j < len(self.items):
                prod, x, y, _ = self.items[j]
                out.append(f"{prod} {self.pool[j % k]}, {x}, {y}")
            out.append(add.format(self.pool[i % k]))


def _adds(first: bool) -> str:
    return "adds" if first else "adcs"


def arm_mont_mul_asm(n: int, lazy: bool = False) -> list[str]:
    """AArch64 assembly of the n-limb product (operand names as in arm_mont_mul_function)."""
    reg = _arm_regs(n)
    av = [reg[f"a{j}"] for j in range(n)]
    pv = [reg[f"p{j}"] for j in range(n)]
    t = [reg[f"t{k}"] for k in range(n + 1)]
    pool = ["%[pp]", "%[ap]"] + [reg[f"x{k}"] for k in range(ARM_POOL[n])]
    b, n0 = reg["bw"], "%[n0]"
    out: list[str] = []
    for j in range(0, n, 2):
        out.append(f"ldp {av[j]}, {av[j + 1]}, [%[ap], #{8 * j}]")
    for j in range(0, n, 2):
        out.append(f"ldp {pv[j]}, {pv[j + 1]}, [%[pp], #{8 * j}]")
    for i in range(n):
        out.append(f"ldr {b}, [%[bp], #{8 * i}]")
        if i == 0:
            # t = a * b[0]: low words in place, high words added one word up.
            out.append(f"mul {t[0]}, {av[0]}, {b}")
            for j in range(n):
                out.append(f"umulh {t[j + 1]}, {av[j]}, {b}")
            ch = _ArmChain(pool)
            for j in range(1, n):
                ch.add("mul", av[j], b, f"{_adds(j == 1)} {t[j]}, {t[j]}, {{}}")
            ch.emit(out)
            out.append(f"adc {t[n]}, {t[n]}, xzr")
        else:
            # t += a * b[i]: the low words on one chain, its carry and the top high word
            # into t[n]; the other high words on a second chain.
            out.append(f"umulh {t[n]}, {av[n - 1]}, {b}")
            ch = _ArmChain(pool)
            for j in range(n):
                ch.add("mul", av[j], b, f"{_adds(j == 0)} {t[j]}, {t[j]}, {{}}")
            ch.emit(out)
            out.append(f"adc {t[n]}, {t[n]}, xzr")
            ch = _ArmChain(pool)
            for j in range(n - 1):
                ch.add("umulh", av[j], b, f"{_adds(j == 0)} {t[j + 1]}, {t[j + 1]}, {{}}")
            ch.emit(out)
            out.append(f"adc {t[n]}, {t[n]}, xzr")
        # Reduction: m = t[0] * n0; t += m * p. The low word of t[0] + lo(m * p[0]) is zero by
        # the choice of m, so only its carry matters: t[0] != 0, which CMP t0, #1 leaves in C.
        out.append(f"mul {b}, {t[0]}, {n0}")
        out.append(f"cmp {t[0]}, #1")
        ch = _ArmChain(pool)
        for j in range(1, n):
            ch.add("mul", pv[j], b, f"adcs {t[j]}, {t[j]}, {{}}")
        ch.add("umulh", pv[n - 1], b, f"adc {t[n]}, {t[n]}, {{}}")
        ch.emit(out)
        ch = _ArmChain(pool)
        for j in range(n - 1):
            ch.add("umulh", pv[j], b, f"{_adds(j == 0)} {t[j + 1]}, {t[j + 1]}, {{}}")
        ch.emit(out)
        out.append(f"adc {t[n]}, {t[n]}, xzr")
        t = t[1:] + t[:1]  # divide by 2^64: the old t[0] register becomes the next top word
    if not lazy:
        # t < 2p: subtract p into the a registers (free now) and keep t when that borrowed.
        for j in range(n):
            out.append(f"{'subs' if j == 0 else 'sbcs'} {av[j]}, {t[j]}, {pv[j]}")
        for j in range(n):
            out.append(f"csel {t[j]}, {t[j]}, {av[j]}, cc")
    for j in range(0, n, 2):
        out.append(f"stp {t[j]}, {t[j + 1]}, [%[rp], #{8 * j}]")
    return out


def _arm_mem_operands(n: int) -> tuple[str, list[str]]:
    """The memory operands that tell the compiler what is written (r) and read (a, b, p)."""
    ins = [f'"m"(*(const limb_t(*)[{n}]){x})' for x in "abp"]
    return f'"=m"(*(limb_t(*)[{n}])r)', ins


def arm_mont_mul_function(n: int, lazy: bool = False) -> list[str]:
    """The C wrapper of the aarch64 product (same contract as mont_mul_function's). Its values
    live in fixed registers named as clobbers: as operands they would pass the compiler's limit
    of 30 per asm statement. The a and p pointers are read-write operands, reused once the words
    they point at are loaded; early-clobber, so that neither shares a register with r or b."""
    lines = [
        _mul_doc(n, lazy),
        f"ZK_INLINE void arm64_mont_mul{'_lazy' if lazy else ''}{n}(limb_t *r, const limb_t *a, "
        "const limb_t *b, const limb_t *p,",
        "                                   limb_t n0) {",
        "    __asm__(",
    ]
    for insn in arm_mont_mul_asm(n, lazy):
        lines.append(f'        "{insn}\\n\\t"')
    mem_out, mem_in = _arm_mem_operands(n)
    outs = ['[ap] "+&r"(a)', '[pp] "+&r"(p)', mem_out]
    ins = ['[bp] "r"(b)', '[rp] "r"(r)', '[n0] "r"(n0)', *mem_in]
    clobbers = ['"cc"'] + [f'"{x}"' for x in _arm_regs(n).values()]
    lines.append("        : " + ", ".join(outs))
    lines.append("        : " + ", ".join(ins))
    lines.append("        : " + ", ".join(clobbers) + ");")
    lines.append("}")
    return lines


def arm_addsub_asm(n: int, op: str) -> list[str]:
    """r = a + b mod p ("add": the sum fits n words as p < R/2; subtract p into the b
    registers and keep the sum when that borrowed), r = a - b mod p ("sub": subtract, then add
    p masked by the borrow with CSEL), r = a - b + p ("subl", in (0, 2p), not reduced: the
    wrapped n-word result is exact)."""
    t = [f"%[t{j}]" for j in range(n)]
    s = [f"%[s{j}]" for j in range(n)]
    q = [f"%[q{j}]" for j in range(n)]
    out: list[str] = []
    for j in range(0, n, 2):
        out.append(f"ldp {t[j]}, {t[j + 1]}, [%[ap], #{8 * j}]")
        out.append(f"ldp {s[j]}, {s[j + 1]}, [%[bp], #{8 * j}]")
        out.append(f"ldp {q[j]}, {q[j + 1]}, [%[pp], #{8 * j}]")
    if op == "add":
        out += [f"{_adds(j == 0)} {t[j]}, {t[j]}, {s[j]}" for j in range(n)]
        out += [f"{'subs' if j == 0 else 'sbcs'} {s[j]}, {t[j]}, {q[j]}" for j in range(n)]
        out += [f"csel {t[j]}, {t[j]}, {s[j]}, cc" for j in range(n)]
    elif op == "sub":
        out += [f"{'subs' if j == 0 else 'sbcs'} {t[j]}, {t[j]}, {s[j]}" for j in range(n)]
        out += [f"csel {q[j]}, {q[j]}, xzr, cc" for j in range(n)]
        out += [f"{_adds(j == 0)} {t[j]}, {t[j]}, {q[j]}" for j in range(n)]
    else:
        out += [f"{'subs' if j == 0 else 'sbcs'} {t[j]}, {t[j]}, {s[j]}" for j in range(n)]
        out += [f"{_adds(j == 0)} {t[j]}, {t[j]}, {q[j]}" for j in range(n)]
    for j in range(0, n, 2):
        out.append(f"stp {t[j]}, {t[j + 1]}, [%[rp], #{8 * j}]")
    return out


def arm_addsub_function(n: int, op: str) -> list[str]:
    """The C wrapper of the aarch64 mod_add / mod_sub / lazy sub."""
    regs = [f"{x}{j}" for x in "tsq" for j in range(n)]
    doc = {
        "add": f"r = a + b mod p for {n}-limb a, b < p < 2^{64 * n - 1}",
        "sub": f"r = a - b mod p for {n}-limb a, b < p < 2^{64 * n - 1}",
        "subl": f"r = a - b + p (in (0, 2p), not reduced) for {n}-limb a, b < p",
    }[op]
    lines = [
        f"/* {doc}; r may alias a or b. */",
        f"ZK_INLINE void arm64_mod_{'sub_lazy' if op == 'subl' else op}{n}(limb_t *r, "
        "const limb_t *a, const limb_t *b, const limb_t *p) {",
        f"    limb_t {', '.join(regs)};",
        "    __asm__(",
    ]
    for insn in arm_addsub_asm(n, op):
        lines.append(f'        "{insn}\\n\\t"')
    mem_out, mem_in = _arm_mem_operands(n)
    outs = [f'[{x}] "=&r"({x})' for x in regs] + [mem_out]
    ins = ['[ap] "r"(a)', '[bp] "r"(b)', '[pp] "r"(p)', '[rp] "r"(r)', *mem_in]
    lines.append("        : " + ", ".join(outs))
    lines.append("        : " + ", ".join(ins))
    lines.append('        : "cc");')
    lines.append("    (void)" + ", (void)".join(regs) + ";")
    lines.append("}")
    return lines


def render_aarch64() -> str:
    lines = [
        "/* Code generated by tools/gen_mont_asm.py. DO NOT EDIT. */",
        "",
        "/* Montgomery multiplication for 4 and 6 64-bit limbs with MUL/UMULH/ADDS/ADCS, and",
        " * modular addition and subtraction used alongside it (base ARMv8-A, which every aarch64",
        " * CPU has: compiled in on aarch64 with 64-bit limbs, no CPU probe; zk_asm_on in",
        " * native/api.c starts on and switches to the C path for tests and benchmarks).",
        " * arm64_<op><n> is the n-limb kernel of limb.h's <op>, which picks it (ZK_TRY_ASM). */",
        "#ifndef ZK_MONT_AARCH64_H",
        "#define ZK_MONT_AARCH64_H",
        "",
        '#include "types.h"',
        "",
        "#if defined(__aarch64__) && ZK_LIMB_BITS == 64 && defined(__GNUC__) && "
        "!defined(ZK_NO_ASM)",
        "#define ZK_HAVE_ARM64_ASM 1",
        "",
    ]
    lines += _kernels(arm_mont_mul_function, arm_addsub_function, "ZK_HAVE_ARM64_ASM")
    return "\n".join(lines)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--check", action="store_true", help="fail if a header is stale")
    args = ap.parse_args()
    stale = 0
    for out, text in ((OUT, render()), (OUT_ARM, render_aarch64())):
        rel = out.relative_to(ROOT)
        if args.check:
            if not out.exists() or out.read_text() != text:
                print(f"{rel} is stale: run python tools/gen_mont_asm.py", file=sys.stderr)
                stale = 1
            continue
        out.write_text(text)
        print("wrote", rel)
    return stale


if __name__ == "__main__":
    sys.exit(main())
