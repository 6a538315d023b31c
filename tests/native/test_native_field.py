"""Fp, Fr and Fp2 arithmetic against Python ints and py_ecc's FQ2 (hypothesis)."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from support.native_ref import CURVE_IDS, CURVES, FAST, elements, pe

from zkedge import _lib, field
from zkedge.curves import Curve

FIELDS = ["fp", "fr", "fp2"]


def modulus(c: Curve, f: str) -> int:
    return c.r if f == "fr" else c.p


def mont_bits(c: Curve, f: str) -> int:
    """log2 R: 256 for 32-byte fields, 384 for BLS12-381 Fp (both limb widths)."""
    return 8 * (32 if f == "fr" else c.fp_bytes)


def mont_r(c: Curve, f: str) -> int:
    """R mod the field's modulus."""
    return pow(2, mont_bits(c, f), modulus(c, f))


@pytest.mark.parametrize("c", CURVES, ids=CURVE_IDS)
@pytest.mark.parametrize("f", ["fp", "fr"])
@FAST
@given(data=st.data())
def test_prime_field_ops(c: Curve, f: str, data: st.DataObject) -> None:
    m = modulus(c, f)
    a = data.draw(elements(m), "a")
    b = data.draw(elements(m), "b")
    assert field.add(c, f, a, b) == (a + b) % m
    assert field.sub(c, f, a, b) == (a - b) % m
    assert field.mul(c, f, a, b) == a * b % m
    assert field.sqr(c, f, a) == a * a % m
    assert field.neg(c, f, a) == -a % m
    mont = field.to_mont(c, f, a)
    assert mont == a * mont_r(c, f) % m
    assert field.from_mont(c, f, mont) == a
    if a:
        assert field.inv(c, f, a) == pow(a, -1, m)
    else:
        with pytest.raises(ValueError, match="inverse"):
            field.inv(c, f, a)


def inverse_edge_values(m: int, rbits: int) -> list[int]:
    """Values that steer the native inverse (safegcd divsteps on the Montgomery form aR) into
    its edge paths: small, next to the modulus, powers of two (long runs of zero bits), long
    runs of one bits; each both as the value itself and as the value whose Montgomery form it
    is (aR = v)."""
    bits = m.bit_length()
    plain = [1, 2, 3, 5, 7, (m - 1) // 2, (m + 1) // 2, m - 1, m - 2]
    plain += [1 << k for k in range(bits - 1)]
    plain += [(1 << k) - 1 for k in range(2, bits, 5)]
    plain += [((1 << k) - 1) << (bits - 1 - k) for k in range(2, bits - 1, 5)]
    plain += [(1 << k) + 1 for k in range(1, bits - 1, 3)]
    rinv = pow(2, -rbits, m)
    vals = {v % m for v in plain} | {v * rinv % m for v in plain}
    return sorted(vals - {0})


@pytest.mark.parametrize("c", CURVES, ids=CURVE_IDS)
@pytest.mark.parametrize("f", ["fp", "fr"])
def test_inverse_edge_values(c: Curve, f: str) -> None:
    m = modulus(c, f)
    rbits = mont_bits(c, f)
    for a in inverse_edge_values(m, rbits):
        assert field.inv(c, f, a) == pow(a, -1, m), a


@pytest.mark.parametrize("c", CURVES, ids=CURVE_IDS)
@pytest.mark.parametrize("f", ["fp", "fr"])
@FAST
@given(data=st.data())
def test_inverse_sparse(c: Curve, f: str, data: st.DataObject) -> None:
    """Values with a few set bits (long zero runs), as given or as their Montgomery form."""
    m = modulus(c, f)
    rbits = mont_bits(c, f)
    ks = data.draw(st.lists(st.integers(0, m.bit_length() - 1), min_size=1, max_size=4), "ks")
    a = sum(1 << k for k in set(ks)) % m
    if data.draw(st.booleans(), "as Montgomery form"):
        a = a * pow(2, -rbits, m) % m
    if a:
        assert field.inv(c, f, a) == pow(a, -1, m)


def fq2(c: Curve, v: tuple[int, int]) -> Any:
    return pe(c).FQ2([v[0], v[1]])


def pair(x: Any) -> tuple[int, int]:
    return (int(x.coeffs[0]), int(x.coeffs[1]))


@pytest.mark.parametrize("c", CURVES, ids=CURVE_IDS)
@FAST
@given(data=st.data())
def test_fp2_ops(c: Curve, data: st.DataObject) -> None:
    p = c.p
    el = st.tuples(elements(p), elements(p))
    a = data.draw(el, "a")
    b = data.draw(el, "b")
    A, B = fq2(c, a), fq2(c, b)
    assert field.add(c, "fp2", a, b) == pair(A + B)
    assert field.sub(c, "fp2", a, b) == pair(A - B)
    assert field.mul(c, "fp2", a, b) == pair(A * B)
    assert field.sqr(c, "fp2", a) == pair(A * A)
    assert field.neg(c, "fp2", a) == pair(-A)
    rr = mont_r(c, "fp")
    mont = field.to_mont(c, "fp2", a)
    assert mont == (a[0] * rr % p, a[1] * rr % p)
    assert field.from_mont(c, "fp2", mont) == a
    if a != (0, 0):
        assert field.inv(c, "fp2", a) == pair(A.inv())
        assert field.mul(c, "fp2", a, field.inv(c, "fp2", a)) == (1, 0)
    else:
        with pytest.raises(ValueError):
            field.inv(c, "fp2", a)


@pytest.mark.parametrize("c", CURVES, ids=CURVE_IDS)
@pytest.mark.parametrize("f", FIELDS)
def test_unreduced_operands_rejected(c: Curve, f: str) -> None:
    m = modulus(c, f)
    nbytes = 32 if f == "fr" else c.fp_bytes
    for bad in (m, m + 1, 2 ** (8 * nbytes) - 1):
        v: Any = (bad, 0) if f == "fp2" else bad
        w: Any = (0, bad) if f == "fp2" else bad
        for x in (v, w):
            with pytest.raises(ValueError):
                field.add(c, f, x, x)
            with pytest.raises(ValueError):
                field.sqr(c, f, x)
    # straight to C: the same with raw bytes, and the error code is ZK_ERANGE
    width = _lib.field_bytes(c, f)
    raw = b"\xff" * width
    with pytest.raises(_lib.NativeError) as ei:
        _lib.field_op(c, f, "mul", raw, bytes(width))
    assert ei.value.code == _lib.lib.ZK_ERANGE
    with pytest.raises(_lib.NativeError) as ei:
        _lib.field_op(c, f, "mul", bytes(width), raw)
    assert ei.value.code == _lib.lib.ZK_ERANGE


@pytest.mark.parametrize("c", CURVES, ids=CURVE_IDS)
def test_field_sizes(c: Curve) -> None:
    assert _lib.field_bytes(c, "fp") == c.fp_bytes
    assert _lib.field_bytes(c, "fr") == 32
    assert _lib.field_bytes(c, "fp2") == 2 * c.fp_bytes
    for g in ("G1", "G2"):
        assert int(_lib.lib.zk_point_bytes(c.native_id, 1 if g == "G1" else 2)) == c.point_bytes(g)


@pytest.mark.parametrize("c", CURVES, ids=CURVE_IDS)
def test_fr_mul_sub(c: Curve) -> None:
    import random

    rng = random.Random(7)
    n = 37
    r = c.r
    a, b, d = ([rng.randrange(r) for _ in range(n)] for _ in range(3))
    a[0], b[0], d[0] = 0, 5, 1  # 0*5 - 1 = -1
    a[1], b[1], d[1] = r - 1, r - 1, r - 1

    def pack(v: list[int]) -> bytes:
        return b"".join(x.to_bytes(32, "little") for x in v)

    out = field.fr_mul_sub(c, pack(a), pack(b), pack(d))
    assert out == pack([(x * y - z) % r for x, y, z in zip(a, b, d, strict=True)])
    assert field.fr_mul_sub(c, b"", b"", b"") == b""
    with pytest.raises(ValueError):
        field.fr_mul_sub(c, pack(a), pack(b), pack(d[:-1]))
    with pytest.raises(ValueError):
        field.fr_mul_sub(c, pack(a) + b"\x00", pack(b) + b"\x00", pack(d) + b"\x00")
    big = pack([r, *a[1:]])  # an operand >= r
    with pytest.raises(ValueError):
        field.fr_mul_sub(c, big, pack(b), pack(d))


@pytest.mark.parametrize("c", CURVES, ids=CURVE_IDS)
def test_fr_mul_sub_threads(c: Curve) -> None:
    """Above the one-thread cutoff (4096): any thread count gives the reference, and a value
    >= r anywhere (the last element: another thread's share) is reported by index with the
    output untouched."""
    import random

    rng = random.Random(8)
    n, r = 5000, c.r
    a, b, d = ([rng.randrange(r) for _ in range(n)] for _ in range(3))

    def pack(v: list[int]) -> bytes:
        return b"".join(x.to_bytes(32, "little") for x in v)

    want = pack([(x * y - z) % r for x, y, z in zip(a, b, d, strict=True)])
    for t in (1, 2, 3):
        assert field.fr_mul_sub(c, pack(a), pack(b), pack(d), threads=t) == want
    for i in (0, 2600, n - 1):
        for which in range(3):
            vs = [list(a), list(b), list(d)]
            vs[which][i] = r + which
            with pytest.raises(ValueError, match=f"element {i}:"):
                field.fr_mul_sub(c, *(pack(v) for v in vs), threads=2)
    # two bad values on different threads: the first is reported
    bad = [r if k in (100, 4000) else x for k, x in enumerate(a)]
    with pytest.raises(ValueError, match="element 100:"):
        field.fr_mul_sub(c, pack(bad), pack(b), pack(d), threads=3)
    # the C call leaves the output untouched on a bad value (out aliasing a too)
    ffi, lib = _lib.ffi, _lib.lib
    buf = bytearray(pack(bad))
    out = ffi.from_buffer(buf)
    idx = ffi.new("size_t *", 0)
    rc = lib.zk_fr_mul_sub(c.native_id, out, pack(b), pack(d), out, 32 * n, n, 2, idx)
    assert rc == lib.ZK_ERANGE and idx[0] == 100 and bytes(buf) == pack(bad)
    with pytest.raises(ValueError):
        field.fr_mul_sub(c, pack(a), pack(b), pack(d), threads=-1)


@pytest.mark.parametrize("c", CURVES, ids=CURVE_IDS)
def test_zkey_eval_ab_threads(c: Curve) -> None:
    """n above the one-thread cutoff: the output conversion split over 1, 2, 3 threads."""
    import random

    rng = random.Random(12)
    r, R = c.r, pow(2, 256, c.r)
    R2 = R * R % r
    n, nvars = 4096 + 7, 50
    wit = [1] + [rng.randrange(r) for _ in range(nvars - 1)]
    A, B = [0] * n, [0] * n
    recs = []
    for _ in range(3 * n):
        m, ci, si, v = rng.randrange(2), rng.randrange(n), rng.randrange(nvars), rng.randrange(r)
        recs.append(record(m, ci, si, v * R2 % r))
        (A if m == 0 else B)[ci] = ((A if m == 0 else B)[ci] + v * wit[si]) % r
    coefs = b"".join(recs)
    w = b"".join(x.to_bytes(32, "little") for x in wit)

    def pack(v: list[int]) -> bytes:
        return b"".join(x.to_bytes(32, "little") for x in v)

    want = (pack(A), pack(B), pack([x * y % r for x, y in zip(A, B, strict=True)]))
    for t in (1, 2, 3):
        assert field.zkey_eval_ab(c, coefs, len(recs), w, nvars, n, threads=t) == want
    bad = coefs[: 44 * 5000] + record(0, n, 0, 1) + coefs[44 * 5001 :]
    with pytest.raises(ValueError, match="record 5000"):
        field.zkey_eval_ab(c, bad, len(recs), w, nvars, n, threads=2)
    # two threads take a matrix each: the first bad record is named, whichever finds it
    worse = bad[: 44 * 3000] + record(1, 0, nvars, 1) + bad[44 * 3001 :]
    for t in (1, 2):
        with pytest.raises(ValueError, match="record 3000"):
            field.zkey_eval_ab(c, worse, len(recs), w, nvars, n, threads=t)
    third = coefs[: 44 * 7000] + record(2, 0, 0, 1) + coefs[44 * 7001 :]
    with pytest.raises(ValueError, match="record 7000"):
        field.zkey_eval_ab(c, third, len(recs), w, nvars, n, threads=2)


def record(matrix: int, constraint: int, signal: int, value_mont: int) -> bytes:
    """One zkey section-4 record: u32 matrix, u32 constraint, u32 signal, stored v*R^2."""
    return (
        matrix.to_bytes(4, "little")
        + constraint.to_bytes(4, "little")
        + signal.to_bytes(4, "little")
        + value_mont.to_bytes(32, "little")
    )


@pytest.mark.parametrize("c", CURVES, ids=CURVE_IDS)
def test_zkey_eval_ab(c: Curve) -> None:
    import random

    rng = random.Random(11)
    r, R = c.r, pow(2, 256, c.r)
    R2 = R * R % r  # snarkjs stores each section-4 value v as v * R^2 mod r
    n, nvars = 8, 5
    wit = [1] + [rng.randrange(r) for _ in range(nvars - 1)]
    recs = []
    A, B = [0] * n, [0] * n
    for _ in range(30):
        m, ci, si, v = rng.randrange(2), rng.randrange(n), rng.randrange(nvars), rng.randrange(r)
        recs.append(record(m, ci, si, v * R2 % r))
        (A if m == 0 else B)[ci] = ((A if m == 0 else B)[ci] + v * wit[si]) % r
    recs.append(record(1, n - 1, 0, (r - 1) * R2 % r))  # -1 * one
    B[n - 1] = (B[n - 1] - 1) % r
    coefs = b"".join(recs)
    w = b"".join(x.to_bytes(32, "little") for x in wit)
    oa, ob, oc = field.zkey_eval_ab(c, coefs, len(recs), w, nvars, n)

    def unpack(b: bytes) -> list[int]:
        return [int.from_bytes(b[i : i + 32], "little") for i in range(0, len(b), 32)]

    assert unpack(oa) == A
    assert unpack(ob) == B
    assert unpack(oc) == [x * y % r for x, y in zip(A, B, strict=True)]
    # memoryview input works the same
    assert field.zkey_eval_ab(c, memoryview(coefs), len(recs), w, nvars, n) == (oa, ob, oc)
    # no records: zeros
    assert field.zkey_eval_ab(c, b"", 0, w, nvars, n) == (bytes(32 * n),) * 3


@pytest.mark.parametrize("c", CURVES, ids=CURVE_IDS)
@pytest.mark.parametrize(
    "bad",
    [
        (2, 0, 0, 1),  # matrix > 1
        (0, 8, 0, 1),  # constraint >= n
        (1, 0, 5, 1),  # signal >= nvars
        (0, 0, 0, -1),  # value >= r (filled in below)
        (0xFFFFFFFF, 0xFFFFFFFF, 0xFFFFFFFF, 1),
    ],
    ids=["matrix", "constraint", "signal", "value", "all-ones"],
)
def test_zkey_eval_ab_bad_record(c: Curve, bad: tuple[int, int, int, int]) -> None:
    n, nvars = 8, 5
    w = b"".join(x.to_bytes(32, "little") for x in range(1, nvars + 1))
    m, ci, si, v = bad
    good = record(0, 1, 1, 1)
    coefs = good + record(m, ci, si, c.r if v < 0 else v) + good
    with pytest.raises(ValueError, match="record 1"):
        field.zkey_eval_ab(c, coefs, 3, w, nvars, n)
    # witness values >= r are rejected too
    with pytest.raises(ValueError):
        field.zkey_eval_ab(c, good, 1, c.r.to_bytes(32, "little") * nvars, nvars, n)
    # lengths
    with pytest.raises(ValueError):
        field.zkey_eval_ab(c, coefs, 2, w, nvars, n)
    with pytest.raises(ValueError):
        field.zkey_eval_ab(c, coefs, 3, w[:-1], nvars, n)
    with pytest.raises(ValueError):
        field.zkey_eval_ab(c, coefs, 3, w, nvars, 0)
