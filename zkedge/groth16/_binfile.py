"""The iden3 binary container shared by .zkey, .wtns and .r1cs, and helpers for its contents.

Layout: 4-byte magic, u32 version, u32 section count, then sections, each a u32 id, a u64 size
and that many bytes. All integers little-endian. Field elements are fixed-width little-endian.
"""

from __future__ import annotations

import mmap
import os
import struct
import weakref
from collections.abc import Callable

from zkedge.curves import BLS12_381, BN254, Curve, G1Affine, G2Affine
from zkedge.record import Record

__all__ = [
    "BinFile",
    "FileGuard",
    "FormatError",
    "Source",
    "curve_from_q",
    "curve_from_r",
    "read_source",
]

Source = str | os.PathLike[str] | bytes | bytearray | memoryview


class FormatError(ValueError):
    """A snarkjs/circom file (or JSON) is malformed: names the file and what is wrong."""

    def __init__(self, name: str, problem: str) -> None:
        super().__init__(f"{name}: {problem}")
        self.name = name
        self.problem = problem


def read_source(src: Source, what: str) -> tuple[str, bytes | memoryview]:
    """(display name, contents) of a path or an in-memory buffer."""
    if isinstance(src, bytes | bytearray | memoryview):
        return f"<{what} bytes>", src if isinstance(src, bytes) else memoryview(src)
    name = os.fspath(src)
    try:
        with open(name, "rb") as f:
            return name, f.read()
    except OSError as e:
        raise FormatError(name, f"cannot read {what} file: {e.strerror or e}") from None


class FileGuard:
    """The native SIGBUS guard over one read-only file mapping (:func:`zkedge.msm.guard_mapping`):
    if another process truncates the file while its pages are read (a zkey rewritten in place
    under a running prover), the pages past its new end read as zeros instead of ending the
    process, and :meth:`check` raises. Bytes past the new end but inside its last page read as
    zeros without a fault: :meth:`check` also compares the file's size (same inode) with the
    mapping's. A file written in place without shrinking shows its new bytes through the
    mapping and goes unnoticed (its times cannot tell: caches touch files for their LRU
    order). The guard lasts as long as the mapping object."""

    __slots__ = ("id", "name", "size", "slot")

    def __init__(self, name: str, mapped: mmap.mmap, st: os.stat_result) -> None:
        from zkedge.msm import guard_mapping, unguard_mapping

        self.name = name
        self.size = len(mapped)
        self.id = (st.st_dev, st.st_ino)
        self.slot = guard_mapping(mapped)
        if self.slot >= 0:
            weakref.finalize(mapped, unguard_mapping, self.slot)

    @property
    def hit(self) -> bool:
        """Whether the file shrank under the mapping: a read went past its end, or the file
        at the same path (the same inode: a replaced file leaves the mapping whole) is now
        shorter."""
        from zkedge.msm import mapping_hit

        if mapping_hit(self.slot):
            return True
        try:
            st = os.stat(self.name)
        except OSError:
            return False
        return (st.st_dev, st.st_ino) == self.id and st.st_size < self.size

    def check(self) -> None:
        """Raise :class:`FormatError` if the file shrank under its mapping: what was computed
        from it may have seen zeros and is not to be trusted."""
        if self.hit:
            raise FormatError(self.name, "file changed while in use (truncated under its mapping)")


class BinFile(Record):
    """A parsed container: sections by id (each a list, duplicates kept) as zero-copy views,
    with their offsets in the file (``starts``, same order) and the file's mapping when
    :meth:`read_path` mapped it."""

    __slots__ = ("guard", "magic", "mapped", "name", "sections", "starts", "version")
    name: str
    magic: str
    version: int
    sections: dict[int, list[memoryview]]
    starts: dict[int, list[int]]
    mapped: mmap.mmap | None
    guard: FileGuard | None

    def __init__(
        self,
        name: str,
        magic: str,
        version: int,
        sections: dict[int, list[memoryview]],
        starts: dict[int, list[int]] | None = None,
        mapped: mmap.mmap | None = None,
    ) -> None:
        self.name = name
        self.magic = magic
        self.version = version
        self.sections = sections
        self.starts = {} if starts is None else starts
        self.mapped = mapped
        self.guard = None

    @classmethod
    def parse(cls, name: str, data: bytes | memoryview, magic: str, max_version: int) -> BinFile:
        """Check the magic and version and index the sections, checking that each fits."""
        view = memoryview(data)
        return cls._walk(name, len(view), lambda pos, n: view[pos : pos + n], magic, max_version)

    @classmethod
    def read_path(cls, path: str | os.PathLike[str], magic: str, max_version: int) -> BinFile:
        """Like :meth:`parse` on the file's bytes, without reading them: the file is mapped
        read-only and each section is a view into the mapping, so a point section at an
        8-byte aligned offset becomes a native table in place and pages come from the page
        cache as they are used. A file that cannot be mapped (a pipe, an empty file) is read
        section by section into buffers of its own. The mapping is guarded (:class:`FileGuard`,
        ``guard``): a file truncated while its sections are in use reads as zeros past its new
        end instead of ending the process, and the guard's ``check()`` then raises."""
        name = os.fspath(path)
        try:
            with open(path, "rb") as f:
                st = os.fstat(f.fileno())
                total = st.st_size
                try:
                    mapped = mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ)
                except (OSError, ValueError):  # not a regular file, or empty
                    mapped = None
                if mapped is not None:
                    if len(mapped) != total:
                        raise FormatError(name, "file changed while reading")
                    guard = FileGuard(name, mapped, st)
                    z = cls.parse(name, memoryview(mapped), magic, max_version)
                    guard.check()
                    z.mapped, z.guard = mapped, guard
                    return z

                def read_at(pos: int, n: int) -> memoryview:
                    f.seek(pos)
                    data = f.read(n)
                    if len(data) != n:
                        raise FormatError(name, f"file changed while reading (offset {pos})")
                    return memoryview(data)

                return cls._walk(name, total, read_at, magic, max_version)
        except OSError as e:
            raise FormatError(name, f"cannot read {magic} file: {e.strerror or e}") from None

    @classmethod
    def _walk(
        cls,
        name: str,
        total: int,
        read_at: Callable[[int, int], memoryview],
        magic: str,
        max_version: int,
    ) -> BinFile:
        if total < 12:
            raise FormatError(name, f"too short for a {magic} file ({total} bytes)")
        head = read_at(0, 12)
        got = bytes(head[:4])
        if got != magic.encode():
            raise FormatError(name, f"not a {magic} file (magic {got!r}, expected {magic!r})")
        version, nsec = struct.unpack_from("<II", head, 4)
        if version < 1 or version > max_version:
            raise FormatError(
                name, f"unsupported {magic} version {version} (supported: 1..{max_version})"
            )
        pos = 12
        sections: dict[int, list[memoryview]] = {}
        starts: dict[int, list[int]] = {}
        for i in range(nsec):
            if pos + 12 > total:
                raise FormatError(
                    name, f"truncated: header of section {i + 1}/{nsec} is past the end"
                )
            sid, size = struct.unpack_from("<IQ", read_at(pos, 12))
            pos += 12
            if size > total - pos:
                raise FormatError(
                    name,
                    f"truncated: section {sid} claims {size} bytes, {total - pos} remain",
                )
            sections.setdefault(sid, []).append(read_at(pos, size))
            starts.setdefault(sid, []).append(pos)
            pos += size
        return cls(name, magic, version, sections, starts)

    def section(self, sid: int, what: str) -> memoryview:
        """The unique section ``sid``; missing or duplicated is a FormatError."""
        found = self.sections.get(sid)
        if not found:
            raise FormatError(self.name, f"missing section {sid} ({what})")
        if len(found) > 1:
            raise FormatError(self.name, f"section {sid} ({what}) appears {len(found)} times")
        return found[0]

    def expect_size(self, sid: int, what: str, size: int, detail: str = "") -> memoryview:
        """The unique section ``sid``, which must be exactly ``size`` bytes."""
        sec = self.section(sid, what)
        if len(sec) != size:
            extra = f" ({detail})" if detail else ""
            raise FormatError(
                self.name, f"section {sid} ({what}) is {len(sec)} bytes, expected {size}{extra}"
            )
        return sec


def drop_pages(mapped: mmap.mmap, offset: int, size: int) -> None:
    """MADV_DONTNEED over the whole pages of bytes [offset, offset + size) of a read-only file
    mapping: they leave the process's resident memory, the page cache keeps them, and a later
    access maps them again (no-op where madvise is missing)."""
    advice = getattr(mmap, "MADV_DONTNEED", None)
    if advice is None or not hasattr(mapped, "madvise"):
        return
    page = mmap.PAGESIZE
    start = -(-offset // page) * page
    end = (offset + size) // page * page
    if end > start:
        mapped.madvise(advice, start, end - start)


def curve_from_q(name: str, n8q: int, q: int) -> Curve:
    """The curve whose base field modulus is q (as stored with its byte width n8q)."""
    for c in (BN254, BLS12_381):
        if q == c.p:
            if n8q != c.fp_bytes:
                raise FormatError(name, f"{c.name} base field stored in {n8q} bytes")
            return c
    raise FormatError(name, f"unsupported curve: base field prime {q}")


def curve_from_r(name: str, n8r: int, r: int) -> Curve:
    """The curve whose scalar field (circom's prime) is r."""
    for c in (BN254, BLS12_381):
        if r == c.r:
            if n8r != c.fr_bytes:
                raise FormatError(name, f"{c.name} scalar field stored in {n8r} bytes")
            return c
    raise FormatError(name, f"unsupported prime {r} (expected bn128 or bls12381 scalar field)")


def fp_from_mont(curve: Curve, data: bytes | memoryview) -> int:
    """A base-field element from little-endian Montgomery form."""
    n = curve.fp_bytes
    v = int.from_bytes(data, "little")
    return int(v * pow(1 << (8 * n), -1, curve.p) % curve.p)


def _fp2_mul(p: int, a: tuple[int, int], b: tuple[int, int]) -> tuple[int, int]:
    return ((a[0] * b[0] - a[1] * b[1]) % p, (a[0] * b[1] + a[1] * b[0]) % p)


def g1_on_curve(curve: Curve, pt: G1Affine) -> bool:
    """y^2 = x^3 + b over Fp (coordinates reduced)."""
    x, y = pt
    p = curve.p
    return bool(x < p and y < p and (y * y - x * x * x - curve.b) % p == 0)


def g2_on_curve(curve: Curve, pt: G2Affine) -> bool:
    """y^2 = x^3 + b2 over Fp2 (coordinates reduced)."""
    x, y = pt
    p = curve.p
    if any(v >= p for v in (*x, *y)):
        return False
    lhs = _fp2_mul(p, y, y)
    x3 = _fp2_mul(p, _fp2_mul(p, x, x), x)
    return lhs == ((x3[0] + curve.b2[0]) % p, (x3[1] + curve.b2[1]) % p)


def g1_from_mont(curve: Curve, data: bytes | memoryview) -> G1Affine | None:
    """A G1 point from snarkjs's LE Montgomery affine encoding (all zero: infinity)."""
    n = curve.fp_bytes
    if not any(data):
        return None
    return (fp_from_mont(curve, data[:n]), fp_from_mont(curve, data[n : 2 * n]))


def g2_from_mont(curve: Curve, data: bytes | memoryview) -> G2Affine | None:
    """A G2 point from snarkjs's LE Montgomery affine encoding, coordinates c0 || c1."""
    n = curve.fp_bytes
    if not any(data):
        return None
    c = [fp_from_mont(curve, data[i * n : (i + 1) * n]) for i in range(4)]
    return ((c[0], c[1]), (c[2], c[3]))
