"""Reader for circom/snarkjs witness files (``.wtns``).

Sections: 1 header (u32 n8, prime (n8 bytes), u32 nWitness); 2 values (nWitness * n8 bytes,
little-endian standard form). Signal 0 is the constant 1; then outputs, public inputs, the rest.
"""

from __future__ import annotations

import struct
import sys
from collections.abc import Sequence

from zkedge.curves import Curve
from zkedge.groth16._binfile import BinFile, FormatError, Source, curve_from_r, read_source
from zkedge.record import Record

__all__ = ["Witness", "read_wtns", "witness_from_values"]


class Witness(Record):
    """Witness values as n * 32 bytes little-endian standard form (what the native core takes)."""

    __slots__ = ("curve", "data", "n", "name")
    name: str
    curve: Curve
    n: int
    data: bytes

    def __init__(self, name: str, curve: Curve, n: int, data: bytes) -> None:
        self.name = name
        self.curve = curve
        self.n = n
        self.data = data

    def value(self, i: int) -> int:
        """The i-th witness value."""
        return int.from_bytes(self.data[32 * i : 32 * i + 32], "little")

    def values(self) -> list[int]:
        """All witness values as ints."""
        d = self.data
        return [int.from_bytes(d[i : i + 32], "little") for i in range(0, len(d), 32)]


def read_wtns(src: Source) -> Witness:
    """Read and check a ``.wtns`` (path or bytes). Raises :class:`zkedge.groth16.FormatError`."""
    name, data = read_source(src, "wtns")
    w = BinFile.parse(name, data, "wtns", max_version=2)
    hdr = w.section(1, "header")
    if len(hdr) < 4:
        raise FormatError(name, "section 1 (header) is truncated")
    (n8,) = struct.unpack_from("<I", hdr, 0)
    if n8 != 32:
        raise FormatError(name, f"unsupported field element size n8={n8} (expected 32)")
    if len(hdr) != 4 + n8 + 4:
        raise FormatError(name, f"section 1 (header) is {len(hdr)} bytes, expected {8 + n8}")
    prime = int.from_bytes(hdr[4 : 4 + n8], "little")
    curve = curve_from_r(name, n8, prime)
    (n,) = struct.unpack_from("<I", hdr, 4 + n8)
    if n < 1:
        raise FormatError(name, "witness has no values (signal 0 must be 1)")
    vals = bytes(w.expect_size(2, "values", n * n8, f"{n} values of {n8} bytes"))
    if int.from_bytes(vals[:32], "little") != 1:
        raise FormatError(name, "witness value 0 (the constant signal) is not 1")
    _check_below(name, vals, curve.r)
    return Witness(name=name, curve=curve, n=n, data=vals)


def _check_below(name: str, vals: bytes, r: int) -> None:
    """Every 32-byte LE value is below r. A value whose top 64-bit word is below r's top word
    is below r, so only values with a top word at least r's are compared in full (the C-level
    max over the top words keeps this fast for 10^5-10^6 values)."""
    r_top = r >> 192
    tops = memoryview(vals).cast("Q")[3::4] if sys.byteorder == "little" else None
    if tops is not None and len(tops) and max(tops) < r_top:
        return
    for i in range(0, len(vals), 32):
        if int.from_bytes(vals[i : i + 32], "little") >= r:
            raise FormatError(name, f"witness value {i // 32} is not below the field prime")


def witness_from_values(curve: Curve, values: Sequence[int], name: str = "<witness>") -> Witness:
    """A :class:`Witness` from ints (reduced mod r)."""
    r = curve.r
    data = b"".join((v % r).to_bytes(32, "little") for v in values)
    return Witness(name=name, curve=curve, n=len(values), data=data)
