"""Bad input never crashes: the Python API raises ValueError, the C API returns error codes."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from support.native_ref import (
    CURVE_GROUP_IDS,
    CURVE_GROUPS,
    CURVE_IDS,
    CURVES,
    FAST,
    be_bytes,
    mul_ref,
)

from zkedge import _lib, ec, field, msm, ntt
from zkedge.curves import Curve, check_group, get_curve

cg = pytest.mark.parametrize(("c", "g"), CURVE_GROUPS, ids=CURVE_GROUP_IDS)
ffi, lib = _lib.ffi, _lib.lib


def table3(c: Curve, g: str) -> msm.BaseTable:
    return msm.BaseTable.from_points(c, g, [mul_ref(c, g, k) for k in (1, 2, 3)])


@pytest.mark.parametrize("name", ["secp256k1", "BN256", "", "bls12_377", None, 0, 1.5])
def test_unknown_curve(name: Any) -> None:
    with pytest.raises(ValueError, match="unknown curve"):
        get_curve(name)
    with pytest.raises(ValueError, match="unknown curve"):
        ec.decode(name, "G1", bytes(64))
    with pytest.raises(ValueError, match="unknown curve"):
        msm.BaseTable.from_bytes(name, "G1", b"")
    with pytest.raises(ValueError, match="unknown curve"):
        field.add(name, "fp", 1, 2)
    with pytest.raises(ValueError, match="unknown curve"):
        ntt.ntt(name, [1, 2])


def test_curve_aliases() -> None:
    for alias in ("bn254", "BN128", "alt_bn128"):
        assert get_curve(alias).name == "bn254"
    for alias in ("bls12_381", "BLS12-381", "bls12381"):
        assert get_curve(alias).name == "bls12_381"
    assert check_group("g1") == "G1" and check_group("g2") == "G2"


@pytest.mark.parametrize("group", ["G3", "G0", "GT", "", None, 1])
@pytest.mark.parametrize("c", CURVES, ids=CURVE_IDS)
def test_unknown_group(c: Curve, group: Any) -> None:
    with pytest.raises(ValueError, match="unknown group"):
        ec.decode(c, group, bytes(64))
    with pytest.raises(ValueError, match="unknown group"):
        ec.add(c, group, None, None)
    with pytest.raises(ValueError, match="unknown group"):
        msm.BaseTable.from_bytes(c, group, b"")
    with pytest.raises(ValueError, match="unknown group"):
        ec.generator(c, group)


@cg
def test_unknown_encoding_and_check(c: Curve, g: str) -> None:
    pt = be_bytes(c, g, mul_ref(c, g, 5))
    for enc in ("le", "BE", "compressed", ""):
        with pytest.raises(ValueError, match="unknown encoding"):
            ec.decode(c, g, pt, enc)
        with pytest.raises(ValueError, match="unknown encoding"):
            msm.BaseTable.from_bytes(c, g, pt, enc)
        with pytest.raises(ValueError, match="unknown encoding"):
            ec.convert(c, g, pt, "be", enc)
    for chk in ("full", "Subgroup", "", "on_curve"):
        with pytest.raises(ValueError, match="unknown check"):
            ec.decode(c, g, pt, check=chk)
        with pytest.raises(ValueError, match="unknown check"):
            msm.BaseTable.from_bytes(c, g, pt, check=chk)


@cg
def test_wrong_lengths(c: Curve, g: str) -> None:
    pb = c.point_bytes(g)  # type: ignore[arg-type]
    pt = be_bytes(c, g, mul_ref(c, g, 5))
    for n in (0, 1, pb - 1, pb + 1, 2 * pb):
        with pytest.raises(ValueError):
            ec.decode(c, g, bytes(n))
    for n in (1, pb - 1, pb + 1, 3 * pb - 1):
        with pytest.raises(ValueError, match="multiple"):
            msm.BaseTable.from_bytes(c, g, bytes(n))
        with pytest.raises(ValueError, match="multiple"):
            ec.convert(c, g, bytes(n), "be", "mont")
    with pytest.raises(ValueError):
        _lib.point_op(c, g, "add", pt, pt[:-1])  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        _lib.point_op(c, g, "mul", pt, k=bytes(31))  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        _lib.field_op(c, "fp", "add", bytes(c.fp_bytes), bytes(c.fp_bytes + 1))
    with pytest.raises(ValueError, match="unknown field operation"):
        _lib.field_op(c, "fp", "pow", bytes(c.fp_bytes))
    with pytest.raises(ValueError, match="unknown point operation"):
        _lib.point_op(c, g, "sub", pt, pt)  # type: ignore[arg-type]


@cg
def test_malformed_points(c: Curve, g: str) -> None:
    bad: list[Any] = [(1, 2, 3), (1,), "xy", 5, ((1, 2),), (1.0, 2), (-1, 2), (c.p, 0)]
    if g == "G2":
        bad += [((1, 2), (3,)), ((1, 2), 3), ((c.p, 0), (0, 0))]
    for p in bad:
        with pytest.raises(ValueError):
            ec.encode(c, g, p)
        with pytest.raises(ValueError):
            ec.add(c, g, p, None)
        with pytest.raises(ValueError):
            msm.BaseTable.from_points(c, g, [p])


@pytest.mark.parametrize("c", CURVES, ids=CURVE_IDS)
def test_field_bad_values(c: Curve) -> None:
    for f in ("fq", "Fp", "", "fp12"):
        with pytest.raises(ValueError, match="unknown field"):
            field.add(c, f, 1, 2)
    for v in (-1, c.p, 1.5, "3", None):
        with pytest.raises(ValueError):
            field.mul(c, "fp", v, 1)  # type: ignore[arg-type]
    for pair in ((1,), (1, 2, 3), 5, (1, c.p), (1.0, 2), [1, 2]):
        with pytest.raises(ValueError):
            field.mul(c, "fp2", pair, (1, 1))  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="inverse"):
        field.inv(c, "fr", 0)


@cg
def test_msm_bad_ranges(c: Curve, g: str) -> None:
    t = table3(c, g)
    for start, count in ((-1, 1), (0, 4), (3, 1), (4, 0), (2, 2), (0, -1), (2**70, 1), (1, 2**64)):
        with pytest.raises(ValueError, match="outside"):
            msm.msm(t, [1] * max(count, 0) if count < 10 else [], start=start, count=count)
    with pytest.raises(ValueError):
        msm.msm(t, [1, 2, 3, 4])  # more scalars than points
    with pytest.raises(ValueError, match="expected 1 scalars"):
        msm.msm(t, [1, 2], count=1)
    with pytest.raises(ValueError, match="multiple of 32"):
        msm.msm(t, bytes(33))
    for start, num in ((-1, 1), (2, 2), (0, 4), (4, None)):
        with pytest.raises(ValueError, match="outside"):
            t.to_bytes(start, num)
    assert t.to_bytes(3) == b""
    with pytest.raises(ValueError, match="points but"):
        msm.msm_points(c, g, [None, None], [1])


@cg
def test_msm_bad_scalars(c: Curve, g: str) -> None:
    t = table3(c, g)
    for ks in (["x"], [None], [b"\x01"], [[1]], [object()]):
        with pytest.raises(ValueError, match="integers"):
            msm.msm(t, ks)  # type: ignore[arg-type]


@cg
def test_msm_non_int_scalars_rejected(c: Curve, g: str) -> None:
    """Floats and numeric strings are not ints: refuse them, don't truncate or parse."""
    t = table3(c, g)
    for ks in ([1.5], ["12"], [2.0]):
        with pytest.raises(ValueError):
            msm.msm(t, ks)  # type: ignore[arg-type]


@pytest.mark.parametrize("c", CURVES, ids=CURVE_IDS)
def test_non_int_values_rejected_elsewhere(c: Curve) -> None:
    """ntt values, coset and ec.mul's k: a non-int is a ValueError, not truncated or TypeError."""
    with pytest.raises(ValueError):
        ntt.ntt(c, [1.5, 2])  # type: ignore[list-item]
    with pytest.raises(ValueError):
        ntt.ntt(c, [1, 2], coset=1.5)  # type: ignore[call-overload]
    with pytest.raises(ValueError):
        ec.mul(c, "G1", c.g1, 1.5)  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        ec.mul(c, "G1", c.g1, "3")  # type: ignore[arg-type]


@cg
def test_bad_threads(c: Curve, g: str) -> None:
    t = table3(c, g)
    for threads in (-1, -100):
        with pytest.raises(ValueError, match="threads"):
            msm.msm(t, [1, 2, 3], threads=threads)
    # very many threads are capped by the core, not an error
    assert msm.msm(t, [1, 2, 3], threads=1000) == msm.msm(t, [1, 2, 3], threads=1)


@pytest.mark.parametrize("c", CURVES, ids=CURVE_IDS)
def test_bad_threads_ntt_and_huge(c: Curve) -> None:
    """Negative threads to ntt and huge thread counts anywhere: ValueError (not OverflowError)."""
    with pytest.raises(ValueError):
        ntt.ntt(c, [1, 2], threads=-1)
    t = table3(c, "G1")
    with pytest.raises(ValueError):
        msm.msm(t, [1, 2, 3], threads=2**31)
    with pytest.raises(ValueError):
        ntt.ntt(c, [1, 2], threads=2**40)


@cg
@FAST
@given(data=st.data())
def test_table_from_bytes_fuzz(c: Curve, g: str, data: st.DataObject) -> None:
    """Random bytes (any length, any encoding/check) load or raise ValueError; MSMs run."""
    pb = c.point_bytes(g)  # type: ignore[arg-type]
    n = data.draw(st.integers(0, 3), "n")
    extra = data.draw(st.sampled_from([0, 0, 1, pb - 1]), "extra")
    raw = data.draw(st.binary(min_size=n * pb + extra, max_size=n * pb + extra), "raw")
    enc = data.draw(st.sampled_from(["be", "mont"]), "enc")
    chk = data.draw(st.sampled_from(["none", "curve", "subgroup"]), "check")
    try:
        t = msm.BaseTable.from_bytes(c, g, raw, enc, chk)
    except ValueError:
        return
    assert extra == 0 and t.n == n
    msm.msm(t, list(range(1, n + 1)))


# --- the C entry points check everything again ---


def buf(n: int) -> Any:
    return ffi.new("uint8_t[]", max(n, 1))


@cg
def test_c_msm_rejects(c: Curve, g: str) -> None:
    gid = 1 if g == "G1" else 2
    pb = c.point_bytes(g)  # type: ignore[arg-type]
    t = table3(c, g)
    tb = ffi.from_buffer(t._data)
    sc = bytes(32 * 3)
    out = buf(pb)

    def call(**kw: Any) -> int:
        a: dict[str, Any] = dict(
            curve=c.native_id, group=gid, table=tb, tlen=3 * pb, start=0, count=3, sc=sc,
            slen=len(sc), threads=1, window=0, out=out, olen=pb,
        )  # fmt: skip
        a.update(kw)
        return int(
            lib.zk_msm(
                a["curve"], a["group"], a["table"], a["tlen"], a["start"], a["count"], a["sc"],
                a["slen"], a["threads"], a["window"], a["out"], a["olen"],
            )
        )  # fmt: skip

    assert call() == lib.ZK_OK
    assert call(curve=2) == lib.ZK_EINVAL
    assert call(curve=-1) == lib.ZK_EINVAL
    assert call(group=0) == lib.ZK_EINVAL
    assert call(group=3) == lib.ZK_EINVAL
    assert call(tlen=3 * pb - 1) == lib.ZK_ELEN
    assert call(olen=pb - 1) == lib.ZK_ELEN
    assert call(out=ffi.NULL) == lib.ZK_ELEN
    assert call(table=ffi.NULL) == lib.ZK_ELEN
    assert call(slen=len(sc) - 1) == lib.ZK_ELEN
    assert call(sc=ffi.NULL) == lib.ZK_ELEN
    assert call(start=1) == lib.ZK_ERANGE
    assert call(start=4, count=0, slen=0) == lib.ZK_ERANGE
    assert call(count=4, slen=128) == lib.ZK_ERANGE
    assert call(start=2**63, count=2**63) == lib.ZK_ERANGE  # overflow of start + count
    assert call(window=16) == lib.ZK_EINVAL
    assert call(window=-1) == lib.ZK_EINVAL
    assert call(table=tb + 1, tlen=2 * pb, count=2, slen=64) == lib.ZK_EINVAL  # misaligned
    assert call(count=0, slen=0, sc=ffi.NULL) == lib.ZK_OK


@cg
def test_c_point_entry_points_reject(c: Curve, g: str) -> None:
    cid, gid, N = c.native_id, 1 if g == "G1" else 2, ffi.NULL
    pb = c.point_bytes(g)  # type: ignore[arg-type]
    pt = be_bytes(c, g, mul_ref(c, g, 5))
    out = buf(pb)
    k = bytes(32)
    bad = ffi.new("size_t *", 0)
    assert lib.zk_point_op(cid, gid, 0, pt, pb, pt, pb, k, 32, out, pb) == lib.ZK_OK
    assert lib.zk_point_op(cid, gid, 5, pt, pb, pt, pb, k, 32, out, pb) == lib.ZK_EINVAL
    assert lib.zk_point_op(cid, gid, -1, pt, pb, pt, pb, k, 32, out, pb) == lib.ZK_EINVAL
    assert lib.zk_point_op(7, gid, 0, pt, pb, pt, pb, k, 32, out, pb) == lib.ZK_EINVAL
    assert lib.zk_point_op(cid, gid, 0, pt, pb, N, 0, k, 32, out, pb) == lib.ZK_ELEN
    assert lib.zk_point_op(cid, gid, 3, pt, pb, N, 0, k, 31, out, pb) == lib.ZK_ELEN
    assert lib.zk_point_op(cid, gid, 3, pt, pb, N, 0, N, 0, out, pb) == lib.ZK_ELEN
    assert lib.zk_point_op(cid, gid, 1, pt, pb - 1, N, 0, k, 32, out, pb) == lib.ZK_ELEN
    assert lib.zk_point_op(cid, gid, 1, pt, pb, N, 0, k, 32, out, pb + 1) == lib.ZK_ELEN
    assert lib.zk_points_check(cid, gid, pt, pb, 1, 0, 2, bad) == lib.ZK_OK
    assert lib.zk_points_check(cid, gid, pt, pb, 2, 0, 2, bad) == lib.ZK_ELEN
    assert lib.zk_points_check(cid, gid, pt, pb, 1, 2, 2, bad) == lib.ZK_EINVAL
    assert lib.zk_points_check(cid, gid, pt, pb, 1, 0, 3, bad) == lib.ZK_EINVAL
    assert lib.zk_points_check(cid, gid, pt, pb, 1, 0, -1, bad) == lib.ZK_EINVAL
    assert lib.zk_points_check(cid, gid, N, pb, 1, 0, 2, bad) == lib.ZK_ELEN
    assert lib.zk_points_check(cid, gid, N, 0, 0, 0, 2, bad) == lib.ZK_OK
    o2 = buf(pb)
    assert lib.zk_points_convert(cid, gid, pt, pb, 0, o2, pb, 1, 1) == lib.ZK_OK
    assert lib.zk_points_convert(cid, gid, pt, pb, 0, o2, pb - 1, 1, 1) == lib.ZK_ELEN
    assert lib.zk_points_convert(cid, gid, pt, pb, 0, N, pb, 1, 1) == lib.ZK_ELEN
    assert lib.zk_points_convert(cid, gid, o2, pb, 1, o2, pb, 0, 1) == lib.ZK_EINVAL  # overlap
    tbl = buf(pb)
    assert lib.zk_table_load(cid, gid, pt, pb, 0, 1, 2, tbl, pb, bad) == lib.ZK_OK
    assert lib.zk_table_load(cid, gid, pt, pb, 0, 1, 2, tbl, pb + 1, bad) == lib.ZK_ELEN
    assert lib.zk_table_load(cid, gid, pt, pb, 0, 1, 2, N, pb, bad) == lib.ZK_ELEN
    assert int(lib.zk_point_bytes(cid, 3)) == 0
    assert int(lib.zk_point_bytes(9, gid)) == 0


@pytest.mark.parametrize("c", CURVES, ids=CURVE_IDS)
def test_c_field_and_ntt_entry_points_reject(c: Curve) -> None:
    fb = c.fp_bytes
    a, out = bytes(fb), buf(fb)
    assert lib.zk_field_op(c.native_id, 0, 0, a, fb, a, fb, out, fb) == lib.ZK_OK
    assert lib.zk_field_op(c.native_id, 3, 0, a, fb, a, fb, out, fb) == lib.ZK_EINVAL
    assert lib.zk_field_op(c.native_id, 0, 8, a, fb, a, fb, out, fb) == lib.ZK_EINVAL
    assert lib.zk_field_op(c.native_id, 0, -1, a, fb, a, fb, out, fb) == lib.ZK_EINVAL
    assert lib.zk_field_op(5, 0, 0, a, fb, a, fb, out, fb) == lib.ZK_EINVAL
    assert lib.zk_field_op(c.native_id, 0, 0, a, fb, ffi.NULL, 0, out, fb) == lib.ZK_ELEN
    assert lib.zk_field_op(c.native_id, 0, 2, a, fb, ffi.NULL, 0, out, fb) == lib.ZK_OK  # unary
    assert lib.zk_field_op(c.native_id, 0, 5, a, fb, ffi.NULL, 0, out, fb) == lib.ZK_ENOINV
    assert lib.zk_field_op(c.native_id, 0, 0, a, fb - 1, a, fb, out, fb) == lib.ZK_ELEN
    assert lib.zk_field_op(c.native_id, 0, 0, a, fb, a, fb, ffi.NULL, fb) == lib.ZK_ELEN
    assert int(lib.zk_field_bytes(c.native_id, 3)) == 0
    w = c.root_of_unity(4).to_bytes(32, "little")
    data = bytearray(32 * 4)
    d = ffi.from_buffer(data)
    assert lib.zk_fr_ntt(c.native_id, d, 128, 4, w, ffi.NULL, ffi.NULL, 1) == lib.ZK_OK
    assert lib.zk_fr_ntt(c.native_id, d, 96, 3, w, ffi.NULL, ffi.NULL, 1) == lib.ZK_EINVAL
    assert lib.zk_fr_ntt(c.native_id, d, 0, 0, w, ffi.NULL, ffi.NULL, 1) == lib.ZK_EINVAL
    assert lib.zk_fr_ntt(c.native_id, d, 127, 4, w, ffi.NULL, ffi.NULL, 1) == lib.ZK_ELEN
    assert lib.zk_fr_ntt(c.native_id, d, 128, 4, ffi.NULL, ffi.NULL, ffi.NULL, 1) == lib.ZK_ELEN
    assert lib.zk_fr_ntt(c.native_id, ffi.NULL, 128, 4, w, ffi.NULL, ffi.NULL, 1) == lib.ZK_ELEN
    assert lib.zk_fr_ntt(2, d, 128, 4, w, ffi.NULL, ffi.NULL, 1) == lib.ZK_EINVAL
    big = c.r.to_bytes(32, "little")
    assert lib.zk_fr_ntt(c.native_id, d, 128, 4, big, ffi.NULL, ffi.NULL, 1) == lib.ZK_ERANGE
    assert lib.zk_fr_ntt(c.native_id, d, 128, 4, w, big, ffi.NULL, 1) == lib.ZK_ERANGE
    assert lib.zk_fr_ntt(c.native_id, d, 128, 4, w, ffi.NULL, big, 1) == lib.ZK_ERANGE
    assert lib.zk_fr_mul_powers(c.native_id, d, 127, 4, w) == lib.ZK_ELEN
    assert lib.zk_fr_mul_powers(c.native_id, d, 128, 4, big) == lib.ZK_ERANGE
    nb = ffi.NULL
    assert lib.zk_fr_mul_sub(c.native_id, d, d, d, d, 127, 4, 1, nb) == lib.ZK_ELEN
    assert lib.zk_fr_mul_sub(c.native_id, d, ffi.NULL, d, d, 128, 4, 1, nb) == lib.ZK_ELEN
    assert lib.zk_fr_mul_sub(2, d, d, d, d, 128, 4, 1, nb) == lib.ZK_EINVAL
    assert lib.zk_fr_mul_sub(c.native_id, d, d, d, d, 128, 4, 2, nb) == lib.ZK_OK
    assert int(lib.zk_msm_window(2, 100, 1)) == 0


@pytest.mark.parametrize("c", CURVES, ids=CURVE_IDS)
def test_non_int_ranges_and_sizes(c: Curve) -> None:
    """Range/size arguments that are not non-negative machine-size ints: ValueError.

    (Not TypeError from a comparison, nor OverflowError from cffi.)
    """
    t = table3(c, "G1")
    for kw in ({"start": 1.5}, {"start": None}, {"count": 1.5}, {"start": "1"}):
        with pytest.raises(ValueError):
            msm.msm(t, [1], **kw)
    for n in (-1, 2**70):
        with pytest.raises(ValueError):
            msm.window_size(c, n)
    for bad in (1.5, 2**70):
        with pytest.raises(ValueError):
            field.zkey_eval_ab(c, b"", 0, b"", 0, bad)  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        t.to_bytes(1.5)  # type: ignore[arg-type]
