"""Reader for snarkjs Groth16 proving keys (``.zkey``).

Sections: 1 protocol (u32, 1 = Groth16); 2 header (n8q, q, n8r, r, nVars, nPublic, domainSize,
alpha1, beta1, beta2, gamma2, delta1, delta2); 3 IC (nPublic+1 G1); 4 coefficients (u32 count,
then records u32 matrix, u32 constraint, u32 signal, Fr value*R^2); 5 A (nVars G1); 6 B1 (nVars
G1); 7 B2 (nVars G2); 8 C (nVars-nPublic-1 G1); 9 H (domainSize G1); 10 contributions (ignored).
Points are affine, little-endian Montgomery form: exactly the ``"mont"`` layout of
:class:`zkedge.msm.BaseTable`, so the big sections are loaded into native tables as they are.
"""

from __future__ import annotations

import mmap
import struct

from zkedge.curves import Curve, G1Affine, G2Affine
from zkedge.groth16._binfile import (
    BinFile,
    FileGuard,
    FormatError,
    Source,
    curve_from_q,
    drop_pages,
    g1_from_mont,
    g1_on_curve,
    g2_from_mont,
    g2_on_curve,
    read_source,
)
from zkedge.record import Frozen, Record

TYPE_CHECKING = False  # typing.TYPE_CHECKING, without importing typing (zkedge.record)
if TYPE_CHECKING:
    from typing import Literal

    from zkedge.msm import BaseTable

    PointSet = Literal["A", "B1", "B2", "C", "H"]
else:
    PointSet = str

__all__ = ["PointSet", "Zkey", "ZkeyHeader", "read_zkey"]


#: section id, group of each point set
POINT_SECTIONS: dict[PointSet, tuple[int, Literal["G1", "G2"]]] = {
    "A": (5, "G1"),
    "B1": (6, "G1"),
    "B2": (7, "G2"),
    "C": (8, "G1"),
    "H": (9, "G1"),
}
GROTH16_PROTOCOL = 1
COEF_HEADER = 12  # u32 matrix, u32 constraint, u32 signal


class ZkeyHeader(Frozen):
    """Section 2 of a Groth16 zkey, points decoded to Python affine tuples."""

    __slots__ = (
        "alpha1",
        "beta1",
        "beta2",
        "curve",
        "delta1",
        "delta2",
        "domain_size",
        "gamma2",
        "n_public",
        "n_vars",
    )  # fmt: skip
    curve: Curve
    n_vars: int
    n_public: int
    domain_size: int
    alpha1: G1Affine
    beta1: G1Affine
    beta2: G2Affine
    gamma2: G2Affine
    delta1: G1Affine
    delta2: G2Affine

    def __init__(
        self,
        *,
        curve: Curve,
        n_vars: int,
        n_public: int,
        domain_size: int,
        alpha1: G1Affine,
        beta1: G1Affine,
        beta2: G2Affine,
        gamma2: G2Affine,
        delta1: G1Affine,
        delta2: G2Affine,
    ) -> None:
        self._set(curve=curve, n_vars=n_vars, n_public=n_public, domain_size=domain_size,
                  alpha1=alpha1, beta1=beta1, beta2=beta2, gamma2=gamma2, delta1=delta1,
                  delta2=delta2)  # fmt: skip

    @property
    def power(self) -> int:
        """log2 of the domain size."""
        return self.domain_size.bit_length() - 1


class Zkey(Record):
    """A parsed proving key. Big sections stay as raw bytes until loaded into native tables."""

    __slots__ = (
        "_guard",
        "_mapped",
        "_spans",
        "_tables",
        "coefs",
        "fleet_tables",
        "header",
        "ic",
        "n_coefs",
        "name",
        "raw",
    )  # fmt: skip
    name: str
    header: ZkeyHeader
    ic: list[G1Affine | None]
    n_coefs: int
    coefs: memoryview  # n_coefs records of 12 + 32 bytes (after the count)
    raw: dict[PointSet, memoryview]
    _tables: dict[PointSet, BaseTable]
    # content hashes of the point sections as added to a coordinator (zkedge.fleet.coordinator)
    fleet_tables: dict[PointSet, str]
    # the file's read-only mapping, and (offset, size) of section 4's records and of each
    # point section in it, for evict()
    _mapped: mmap.mmap | None
    _guard: FileGuard | None  # the mapping's SIGBUS guard (BinFile.read_path)
    _spans: dict[str, tuple[int, int]]

    def __init__(
        self,
        name: str,
        header: ZkeyHeader,
        ic: list[G1Affine | None],
        n_coefs: int,
        coefs: memoryview,
        raw: dict[PointSet, memoryview],
    ) -> None:
        self.name = name
        self.header = header
        self.ic = ic
        self.n_coefs = n_coefs
        self.coefs = coefs
        self.raw = raw
        self._tables = {}
        self.fleet_tables = {}
        self._mapped = None
        self._guard = None
        self._spans = {}

    def __repr__(self) -> str:
        return f"Zkey(name={self.name!r}, header={self.header!r}, n_coefs={self.n_coefs})"

    def check_intact(self) -> None:
        """Raise :class:`zkedge.groth16.FormatError` if the zkey's file was truncated under
        its mapping while it was read (its mapping's ``FileGuard``): whatever was computed
        from it since it was read may have seen zeros there."""
        if self._guard is not None:
            self._guard.check()

    @property
    def curve(self) -> Curve:
        """The zkey's curve."""
        return self.header.curve

    def count(self, which: PointSet) -> int:
        """Number of points of a section."""
        h = self.header
        return {
            "A": h.n_vars,
            "B1": h.n_vars,
            "B2": h.n_vars,
            "C": h.n_vars - h.n_public - 1,
            "H": h.domain_size,
        }[which]

    def table(self, which: PointSet, check: Literal["curve", "none"] = "curve") -> BaseTable:
        """The native base table of a point section, loaded once (points checked on the curve)."""
        tab = self._tables.get(which)
        if tab is None:
            from zkedge.msm import BaseTable

            sid, group = POINT_SECTIONS[which]
            raw = self.raw.get(which)
            if raw is None:
                raise RuntimeError(f"{self.name}: points {which} were released")
            # A section of a mapped file (BinFile.read_path), or read on its own into a whole
            # bytes object, becomes the table in place; a view into other memory is copied.
            whole = raw.obj if isinstance(raw.obj, bytes) and len(raw.obj) == raw.nbytes else raw
            try:
                tab = BaseTable.from_bytes(self.curve, group, whole, encoding="mont", check=check)
            except ValueError as e:
                raise FormatError(self.name, f"section {sid} (points {which}): {e}") from None
            self._tables[which] = tab
            if tab._data is not raw:  # copied (an unaligned section): its pages are not needed
                self.evict(which)
        return tab

    def evict(self, which: PointSet | Literal["coefs"]) -> None:
        """Give back the resident pages of a section of a mapped file (a table's points, or
        section 4) once a proof is done with it. Nothing changes for the caller: a page used
        again is read again from the page cache. A zkey not read from a mapped file is left
        alone."""
        span = self._spans.get(which)
        if self._mapped is not None and span is not None:
            drop_pages(self._mapped, *span)

    def load_tables(self, check: Literal["curve", "none"] = "curve") -> None:
        """Load every point section into native tables and release the file's bytes (the
        coefficients are copied out unless section 4 is a buffer of its own or in a mapped
        file): afterwards memory is the tables plus section 4."""
        for which in POINT_SECTIONS:
            self.table(which, check)
        self.raw = {}
        owner = self.coefs.obj
        own = isinstance(owner, bytes) and len(owner) == self.coefs.nbytes + 4
        if not own and not isinstance(owner, mmap.mmap):
            self.coefs = memoryview(bytes(self.coefs))


def _g1(z: BinFile, curve: Curve, data: memoryview, what: str) -> G1Affine:
    pt = g1_from_mont(curve, data)
    if pt is None or not g1_on_curve(curve, pt):
        raise FormatError(z.name, f"{what} is not a point of {curve.name} G1")
    return pt


def _g2(z: BinFile, curve: Curve, data: memoryview, what: str) -> G2Affine:
    pt = g2_from_mont(curve, data)
    if pt is None or not g2_on_curve(curve, pt):
        raise FormatError(z.name, f"{what} is not a point of {curve.name} G2")
    return pt


def _header(z: BinFile) -> ZkeyHeader:
    proto = z.expect_size(1, "protocol", 4)
    (pid,) = struct.unpack("<I", proto)
    if pid != GROTH16_PROTOCOL:
        names = {2: "plonk", 10: "fflonk"}
        raise FormatError(
            z.name,
            f"not a Groth16 zkey (protocol {names.get(pid, pid)}); only groth16 is supported",
        )
    sec = z.section(2, "groth16 header")
    if len(sec) < 4:
        raise FormatError(z.name, "section 2 (groth16 header) is truncated")
    (n8q,) = struct.unpack_from("<I", sec, 0)
    if n8q not in (32, 48):
        raise FormatError(z.name, f"unsupported base field size n8q={n8q}")
    if len(sec) < 4 + n8q + 4:
        raise FormatError(z.name, "section 2 (groth16 header) is truncated")
    q = int.from_bytes(sec[4 : 4 + n8q], "little")
    curve = curve_from_q(z.name, n8q, q)
    off = 4 + n8q
    (n8r,) = struct.unpack_from("<I", sec, off)
    if n8r != 32:
        raise FormatError(z.name, f"unsupported scalar field size n8r={n8r}")
    g1s, g2s = 2 * n8q, 4 * n8q
    expected = 4 + n8q + 4 + n8r + 12 + 3 * g1s + 3 * g2s
    if len(sec) != expected:
        raise FormatError(
            z.name, f"section 2 (groth16 header) is {len(sec)} bytes, expected {expected}"
        )
    off += 4
    r = int.from_bytes(sec[off : off + n8r], "little")
    if r != curve.r:
        raise FormatError(z.name, f"scalar field prime {r} does not match curve {curve.name}")
    off += n8r
    n_vars, n_public, domain = struct.unpack_from("<III", sec, off)
    off += 12
    if domain == 0 or domain & (domain - 1):
        raise FormatError(z.name, f"domain size {domain} is not a power of two")
    if domain.bit_length() - 1 > curve.fr_two_adicity:
        raise FormatError(z.name, f"domain size {domain} too large for {curve.name}")
    if n_vars < 1 or n_public + 1 > n_vars:
        raise FormatError(z.name, f"{n_public} public signals do not fit in {n_vars} variables")
    if n_public + 1 > domain:
        raise FormatError(z.name, f"domain size {domain} smaller than {n_public + 1} public rows")
    pts: list[memoryview] = []
    for size in (g1s, g1s, g2s, g2s, g1s, g2s):
        pts.append(sec[off : off + size])
        off += size
    return ZkeyHeader(
        curve=curve,
        n_vars=n_vars,
        n_public=n_public,
        domain_size=domain,
        alpha1=_g1(z, curve, pts[0], "alpha1"),
        beta1=_g1(z, curve, pts[1], "beta1"),
        beta2=_g2(z, curve, pts[2], "beta2"),
        gamma2=_g2(z, curve, pts[3], "gamma2"),
        delta1=_g1(z, curve, pts[4], "delta1"),
        delta2=_g2(z, curve, pts[5], "delta2"),
    )


def read_zkey(src: Source) -> Zkey:
    """Read and check a ``.zkey`` (path or bytes). Raises :class:`zkedge.groth16.FormatError`."""
    if isinstance(src, bytes | bytearray | memoryview):
        name, data = read_source(src, "zkey")
        z = BinFile.parse(name, data, "zkey", max_version=2)
    else:  # section by section: the point sections become native tables in place
        z = BinFile.read_path(src, "zkey", max_version=2)
        name = z.name
    h = _header(z)
    curve = h.curve
    g1s, g2s = curve.point_bytes("G1"), curve.point_bytes("G2")
    ic_sec = z.expect_size(
        3, "IC", (h.n_public + 1) * g1s, f"{h.n_public + 1} G1 points for {h.n_public} public"
    )
    ic: list[G1Affine | None] = []
    for i in range(h.n_public + 1):
        pt = g1_from_mont(curve, ic_sec[i * g1s : (i + 1) * g1s])
        if pt is not None and not g1_on_curve(curve, pt):
            raise FormatError(name, f"section 3 (IC): point {i} is not on {curve.name} G1")
        ic.append(pt)
    coef_sec = z.section(4, "coefficients")
    if len(coef_sec) < 4:
        raise FormatError(name, "section 4 (coefficients) is truncated")
    (n_coefs,) = struct.unpack_from("<I", coef_sec, 0)
    rec = COEF_HEADER + curve.fr_bytes
    if len(coef_sec) != 4 + n_coefs * rec:
        raise FormatError(
            name,
            f"section 4 (coefficients) is {len(coef_sec)} bytes, "
            f"expected {4 + n_coefs * rec} for {n_coefs} records",
        )
    zk = Zkey(name=name, header=h, ic=ic, n_coefs=n_coefs, coefs=coef_sec[4:], raw={})
    for which, (sid, group) in POINT_SECTIONS.items():
        size = g1s if group == "G1" else g2s
        n = zk.count(which)
        zk.raw[which] = z.expect_size(sid, f"points {which}", n * size, f"{n} {group} points")
    if z.mapped is not None:
        zk._mapped, zk._guard = z.mapped, z.guard
        zk._spans["coefs"] = (z.starts[4][0] + 4, len(coef_sec) - 4)
        for which, (sid, _) in POINT_SECTIONS.items():
            zk._spans[which] = (z.starts[sid][0], len(zk.raw[which]))
    return zk


def check_coefs(zk: Zkey) -> None:
    """Check every section-4 record (matrix 0/1, constraint < domain, signal < nVars).

    The native evaluator checks indices too; this pure-Python pass names the bad record.
    """
    rec = COEF_HEADER + zk.curve.fr_bytes
    h = zk.header
    for i, (m, c, s) in enumerate(struct.iter_unpack("<III", _index_view(zk.coefs, rec))):
        if m > 1 or c >= h.domain_size or s >= h.n_vars:
            raise FormatError(
                zk.name,
                f"section 4 record {i}: matrix {m}, constraint {c}, signal {s} out of range "
                f"(domain {h.domain_size}, {h.n_vars} variables)",
            )


def _index_view(coefs: memoryview, rec: int) -> bytes:
    """The 12-byte index part of every record, packed (for struct.iter_unpack)."""
    b = bytes(coefs)
    return b"".join(b[i : i + COEF_HEADER] for i in range(0, len(b), rec))
