"""Reader for circom constraint systems (``.r1cs``).

Sections: 1 header (u32 n8, prime, u32 nWires, u32 nPubOut, u32 nPubIn, u32 nPrvIn, u64 nLabels,
u32 nConstraints); 2 constraints (each three linear combinations A, B, C: u32 count, then
(u32 wire, n8-byte value LE standard form) pairs); 3 wire-to-label map (nWires u64); 4/5 custom
gates (ignored). A constraint holds when <A,w> * <B,w> = <C,w> mod prime.
"""

from __future__ import annotations

import struct
from collections.abc import Sequence
from dataclasses import dataclass

from zkedge.curves import Curve
from zkedge.groth16._binfile import BinFile, FormatError, Source, curve_from_r, read_source

__all__ = ["R1cs", "R1csHeader", "read_r1cs", "read_r1cs_header"]

LinComb = dict[int, int]
Constraint = tuple[LinComb, LinComb, LinComb]


@dataclass(frozen=True)
class R1csHeader:
    """Section 1 of an r1cs file."""

    curve: Curve
    n_wires: int
    n_outputs: int
    n_pub_inputs: int
    n_prv_inputs: int
    n_labels: int
    n_constraints: int

    @property
    def n_public(self) -> int:
        """Public signals (outputs then public inputs), as snarkjs counts them."""
        return self.n_outputs + self.n_pub_inputs


@dataclass
class R1cs:
    """A parsed constraint system."""

    name: str
    header: R1csHeader
    constraints: list[Constraint]
    wire_to_label: list[int] | None

    def is_satisfied(self, witness: Sequence[int]) -> int | None:
        """Index of the first constraint the witness violates, or None if all hold."""
        r = self.header.curve.r

        def ev(lc: LinComb) -> int:
            return int(sum(v * witness[k] for k, v in lc.items()) % r)

        for i, (a, b, c) in enumerate(self.constraints):
            if ev(a) * ev(b) % r != ev(c):
                return i
        return None


def _parse_header(f: BinFile) -> R1csHeader:
    sec = f.section(1, "header")
    if len(sec) < 4:
        raise FormatError(f.name, "section 1 (header) is truncated")
    (n8,) = struct.unpack_from("<I", sec, 0)
    if n8 != 32:
        raise FormatError(f.name, f"unsupported field element size n8={n8} (expected 32)")
    if len(sec) != 4 + n8 + 28:
        raise FormatError(f.name, f"section 1 (header) is {len(sec)} bytes, expected {n8 + 32}")
    prime = int.from_bytes(sec[4 : 4 + n8], "little")
    curve = curve_from_r(f.name, n8, prime)
    n_wires, n_out, n_pub, n_prv, n_labels, n_cons = struct.unpack_from("<IIIIQI", sec, 4 + n8)
    if n_wires < 1 + n_out + n_pub + n_prv:
        raise FormatError(
            f.name, f"{n_wires} wires cannot hold 1 + {n_out} + {n_pub} + {n_prv} signals"
        )
    return R1csHeader(curve, n_wires, n_out, n_pub, n_prv, n_labels, n_cons)


def read_r1cs_header(src: Source) -> R1csHeader:
    """Only the header of an r1cs file (cheap)."""
    name, data = read_source(src, "r1cs")
    return _parse_header(BinFile.parse(name, data, "r1cs", max_version=1))


def read_r1cs(src: Source, *, load_map: bool = False) -> R1cs:
    """Read and check an ``.r1cs`` (path or bytes). Raises :class:`zkedge.groth16.FormatError`."""
    name, data = read_source(src, "r1cs")
    f = BinFile.parse(name, data, "r1cs", max_version=1)
    h = _parse_header(f)
    sec = f.section(2, "constraints")
    n8 = h.curve.fr_bytes
    r = h.curve.r
    pos = 0
    size = len(sec)
    constraints: list[Constraint] = []
    for i in range(h.n_constraints):
        lcs: list[LinComb] = []
        for m in range(3):
            if pos + 4 > size:
                raise FormatError(name, f"section 2 (constraints) truncated in constraint {i}")
            (cnt,) = struct.unpack_from("<I", sec, pos)
            pos += 4
            if cnt * (4 + n8) > size - pos:
                raise FormatError(name, f"section 2 (constraints) truncated in constraint {i}")
            lc: LinComb = {}
            for _ in range(cnt):
                (wire,) = struct.unpack_from("<I", sec, pos)
                val = int.from_bytes(sec[pos + 4 : pos + 4 + n8], "little")
                pos += 4 + n8
                if wire >= h.n_wires:
                    raise FormatError(
                        name, f"constraint {i} ({'ABC'[m]}) uses wire {wire} >= {h.n_wires}"
                    )
                if val >= r:
                    raise FormatError(name, f"constraint {i}: coefficient not below the prime")
                lc[wire] = val
            lcs.append(lc)
        constraints.append((lcs[0], lcs[1], lcs[2]))
    if pos != size:
        raise FormatError(
            name, f"section 2 (constraints) has {size - pos} bytes after {h.n_constraints}"
        )
    labels: list[int] | None = None
    if load_map:
        sec3 = f.expect_size(3, "wire to label map", 8 * h.n_wires)
        labels = [v for (v,) in struct.iter_unpack("<Q", sec3)]
    return R1cs(name=name, header=h, constraints=constraints, wire_to_label=labels)
