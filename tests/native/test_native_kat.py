"""The native core against the known-answer vectors in tests/vectors/kat.json."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from support.native_ref import CURVE_IDS, CURVES, KAT_PATH, from_coords, kat

from zkedge import _lib, ec, field, msm, ntt
from zkedge.curves import Curve

pytestmark = pytest.mark.parametrize("c", CURVES, ids=CURVE_IDS)


def section(c: Curve, name: str) -> list[dict[str, Any]]:
    return kat()["curves"][c.name][name]  # type: ignore[no-any-return]


def val(h: Any) -> Any:
    """An int (hex) or an fp2 pair ([c0, c1])."""
    return (int(h[0], 16), int(h[1], 16)) if isinstance(h, list) else int(h, 16)


def point(c: Curve, group: str, h: str) -> Any:
    """A 'be' hex string -> affine tuple (None for all zeros)."""
    b = bytes.fromhex(h)
    if not any(b):
        return None
    fb = c.fp_bytes
    return from_coords(group, [int.from_bytes(b[i : i + fb], "big") for i in range(0, len(b), fb)])


def test_header(c: Curve) -> None:
    doc = kat()
    assert doc["schema"] == "zkedge-kat/1"
    assert KAT_PATH.stat().st_size < 300_000
    k = doc["curves"][c.name]
    assert int(k["p"], 16) == c.p and int(k["r"], 16) == c.r and k["fp_bytes"] == c.fp_bytes
    counts = {s: len(k[s]) for s in ("field", "group", "encode", "check", "msm", "ntt")}
    assert all(counts.values()), counts


def test_field(c: Curve) -> None:
    ops: dict[str, Callable[..., field.Elem]] = {
        "add": field.add,
        "sub": field.sub,
        "mul": field.mul,
        "sqr": field.sqr,
        "inv": field.inv,
        "neg": field.neg,
        "to_mont": field.to_mont,
    }
    for v in section(c, "field"):
        args = [val(v["a"])] + ([val(v["b"])] if "b" in v else [])
        got = ops[v["op"]](c, v["field"], *args)
        assert got == val(v["out"]), v
        if v["op"] == "to_mont":
            assert field.from_mont(c, v["field"], got) == val(v["a"]), v


def test_group(c: Curve) -> None:
    for v in section(c, "group"):
        g, op = v["group"], v["op"]
        a, want = point(c, g, v["a"]), point(c, g, v["out"])
        if op == "add":
            b = point(c, g, v["b"])
            assert ec.add(c, g, a, b) == want, v
            assert ec.add_mixed(c, g, a, b) == want, v
        elif op == "dbl":
            assert ec.double(c, g, a) == want, v
        elif op == "neg":
            assert ec.neg(c, g, a) == want, v
        else:
            k = int(v["k"], 16)
            assert ec.mul(c, g, a, k) == want, v
            # the raw 32-byte scalar straight to C, unreduced (k may be >= r)
            raw = _lib.point_op(c, g, "mul", bytes.fromhex(v["a"]), k=k.to_bytes(32, "little"))
            assert raw.hex() == v["out"], v


def test_encode(c: Curve) -> None:
    for v in section(c, "encode"):
        g, be, mont = v["group"], bytes.fromhex(v["be"]), bytes.fromhex(v["mont"])
        assert ec.convert(c, g, be, "be", "mont") == mont
        assert ec.convert(c, g, mont, "mont", "be") == be
        assert msm.BaseTable.from_bytes(c, g, be).to_bytes() == mont
        assert msm.BaseTable.from_bytes(c, g, mont, "mont").to_bytes() == mont
        assert ec.decode(c, g, mont, "mont") == ec.decode(c, g, be) == point(c, g, v["be"])
        assert ec.encode(c, g, point(c, g, v["be"]), "mont") == mont


CODES = {
    "not_on_curve": "ZK_ENOTONCURVE",
    "not_in_subgroup": "ZK_ENOTINSUBGROUP",
    "range": "ZK_ERANGE",
}


def test_check(c: Curve) -> None:
    for v in section(c, "check"):
        g, be = v["group"], bytes.fromhex(v["be"])
        for level in ("curve", "subgroup"):
            want = v[level]
            if want == "ok":
                ec.decode(c, g, be, check=level)
                msm.BaseTable.from_bytes(c, g, be, check=level)
            else:
                with pytest.raises(_lib.NativeError) as ei:
                    ec.decode(c, g, be, check=level)
                assert ei.value.code == getattr(_lib.lib, CODES[want]), v
                with pytest.raises(ValueError):
                    msm.BaseTable.from_bytes(c, g, be, check=level)


def test_msm(c: Curve) -> None:
    for v in section(c, "msm"):
        g = v["group"]
        bases = b"".join(bytes.fromhex(h) for h in v["bases"])
        ks = [int(h, 16) for h in v["scalars"]]
        table = msm.BaseTable.from_bytes(c, g, bases)
        raw = b"".join(k.to_bytes(32, "little") for k in ks)  # unreduced: C reduces
        want = point(c, g, v["out"])
        assert msm.msm(table, raw, threads=1) == want, v["note"]
        assert msm.msm(table, ks, threads=2) == want, v["note"]


def test_ntt(c: Curve) -> None:
    for v in section(c, "ntt"):
        n = v["n"]
        assert c.root_of_unity(n) == int(v["omega"], 16)
        coset = None if v["coset"] is None else int(v["coset"], 16)
        vals = [int(h, 16) for h in v["in"]]
        got = ntt.ntt(c, vals, inverse=v["inverse"], coset=coset)
        assert got == [int(h, 16) for h in v["out"]], v


def test_schema_widths(c: Curve) -> None:
    """Every hex string has the documented fixed width (the C-header converter relies on it)."""
    k = kat()["curves"][c.name]
    fp, pb1 = 2 * c.fp_bytes, 4 * c.fp_bytes

    def width(f: str) -> int:
        return 64 if f == "fr" else fp

    def hexes(v: Any) -> list[str]:
        return v if isinstance(v, list) else [v]

    for v in k["field"]:
        for key in ("a", "b", "out"):
            if key in v:
                assert all(len(h) == width(v["field"]) for h in hexes(v[key])), v
                assert isinstance(v[key], list) == (v["field"] == "fp2"), v
    for v in k["group"]:
        pw = pb1 if v["group"] == "G1" else 2 * pb1
        assert all(len(v[key]) == pw for key in ("a", "b", "out") if key in v), v
        assert "k" not in v or len(v["k"]) == 64
    for v in k["msm"]:
        pw = pb1 if v["group"] == "G1" else 2 * pb1
        assert len(v["bases"]) == len(v["scalars"]) == v["n"]
        assert all(len(h) == pw for h in [*v["bases"], v["out"]])
        assert all(len(h) == 64 for h in v["scalars"])
    for v in k["ntt"]:
        assert len(v["in"]) == len(v["out"]) == v["n"]
        assert all(len(h) == 64 for h in [*v["in"], *v["out"], v["omega"]])
    for v in k["encode"] + k["check"]:
        pw = pb1 if v["group"] == "G1" else 2 * pb1
        assert len(v["be"]) == pw and len(v.get("mont", "0" * pw)) == pw
