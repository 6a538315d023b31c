"""Readers of .zkey / .wtns / .r1cs / verification_key.json: good files and every bad case."""

from __future__ import annotations

import json
import struct
from pathlib import Path

import pytest
from support import g16_binfile as bf
from support.g16_paths import fixture_dir

from zkedge.curves import BLS12_381, BN254
from zkedge.groth16 import (
    FormatError,
    read_r1cs,
    read_vkey,
    read_wtns,
    read_zkey,
    vkey_from_zkey,
)
from zkedge.groth16.r1cs import read_r1cs_header
from zkedge.groth16.zkey import check_coefs

BN = fixture_dir("bn128")
BLS = fixture_dir("bls12381")


def zkey_bytes(d: Path = BN) -> bytes:
    return (d / "circuit.zkey").read_bytes()


def wtns_bytes(d: Path = BN) -> bytes:
    return (d / "witness.wtns").read_bytes()


def r1cs_bytes(d: Path = BN) -> bytes:
    return (d / "circuit.r1cs").read_bytes()


@pytest.mark.parametrize(("d", "curve"), [(BN, BN254), (BLS, BLS12_381)])
def test_good_files(d: Path, curve: object) -> None:
    zk = read_zkey(d / "circuit.zkey")
    w = read_wtns(d / "witness.wtns")
    r1 = read_r1cs(d / "circuit.r1cs", load_map=True)
    vk = read_vkey(d / "verification_key.json")
    assert zk.curve is curve and w.curve is curve and r1.header.curve is curve
    assert zk.header.n_public == 6 == vk.n_public == r1.header.n_public
    assert w.n == zk.header.n_vars == r1.header.n_wires
    assert zk.header.domain_size >= r1.header.n_constraints + zk.header.n_public + 1
    assert vkey_from_zkey(zk) == vk
    assert r1.is_satisfied(w.values()) is None
    assert r1.wire_to_label is not None and len(r1.wire_to_label) == r1.header.n_wires
    check_coefs(zk)
    # the same from bytes
    assert read_zkey(zkey_bytes(d)).header == zk.header
    assert read_wtns(wtns_bytes(d)).data == w.data
    assert read_r1cs_header(r1cs_bytes(d)) == r1.header
    # public signals: outputs first, then public inputs, as in public.json
    pub = json.loads((d / "public.json").read_text())
    assert [str(w.value(i)) for i in range(1, 7)] == pub


def test_wrong_witness_violates_r1cs() -> None:
    r1 = read_r1cs(BN / "circuit.r1cs")
    vals = read_wtns(BN / "witness.wtns").values()
    vals[10] = (vals[10] + 1) % BN254.r
    assert r1.is_satisfied(vals) is not None


def expect(data: bytes, reader: object, *fragments: str) -> None:
    with pytest.raises(FormatError) as ei:
        reader(data)  # type: ignore[operator]
    msg = str(ei.value)
    for f in fragments:
        assert f in msg, msg


# ---- container-level problems, for every binary format ---------------------------------

READERS = [
    ("zkey", zkey_bytes, read_zkey),
    ("wtns", wtns_bytes, read_wtns),
    ("r1cs", r1cs_bytes, read_r1cs),
]


@pytest.mark.parametrize(("kind", "load", "reader"), READERS)
def test_container_errors(kind: str, load: object, reader: object) -> None:
    good: bytes = load()  # type: ignore[operator]
    expect(b"", reader, "too short")
    expect(b"abcd" + good[4:], reader, "magic", kind)
    expect(good[:4] + struct.pack("<I", 99) + good[8:], reader, "version 99")
    expect(good[:4] + struct.pack("<I", 0) + good[8:], reader, "version 0")
    expect(good[: len(good) // 2], reader, "truncated")
    expect(good[:13], reader, "truncated")
    expect(bf.drop(good, 1), reader, "missing section 1")
    expect(bf.duplicate(good, 1), reader, "section 1", "2 times")
    expect(bf.drop(good, 2), reader, "missing section 2")


def test_errors_name_the_file(tmp_path: Path) -> None:
    p = tmp_path / "bad.zkey"
    p.write_bytes(b"zkey" + zkey_bytes()[4:100])
    with pytest.raises(FormatError, match=str(p)):
        read_zkey(p)
    with pytest.raises(FormatError, match="cannot read"):
        read_zkey(tmp_path / "missing.zkey")
    assert issubclass(FormatError, ValueError)


# ---- zkey ----------------------------------------------------------------------------------


def test_zkey_bad_protocol() -> None:
    expect(bf.replace(zkey_bytes(), 1, struct.pack("<I", 2)), read_zkey, "plonk")
    expect(bf.replace(zkey_bytes(), 1, struct.pack("<I", 1) + b"x"), read_zkey, "section 1")


def _hdr(d: Path = BN) -> bytearray:
    return bytearray(bf.section(zkey_bytes(d), 2))


def test_zkey_bad_header() -> None:
    good = zkey_bytes()
    h = _hdr()
    bad = bytearray(h)
    bad[4] ^= 1  # q
    expect(bf.replace(good, 2, bytes(bad)), read_zkey, "unsupported curve")
    bad = bytearray(h)
    bad[4 + 32 + 4] ^= 1  # r
    expect(bf.replace(good, 2, bytes(bad)), read_zkey, "scalar field prime")
    bad = bytearray(h)
    struct.pack_into("<I", bad, 0, 40)
    expect(bf.replace(good, 2, bytes(bad)), read_zkey, "n8q=40")
    bad = bytearray(h)
    struct.pack_into("<I", bad, 36, 48)
    expect(bf.replace(good, 2, bytes(bad)), read_zkey, "n8r=48")
    expect(bf.replace(good, 2, bytes(h[:-1])), read_zkey, "section 2", "expected")
    expect(bf.replace(good, 2, bytes(h[:2])), read_zkey, "truncated")
    off = 4 + 32 + 4 + 32
    bad = bytearray(h)
    struct.pack_into("<I", bad, off + 8, 1000)  # domain not a power of two
    expect(bf.replace(good, 2, bytes(bad)), read_zkey, "power of two")
    bad = bytearray(h)
    struct.pack_into("<I", bad, off + 4, 10**6)  # nPublic > nVars
    expect(bf.replace(good, 2, bytes(bad)), read_zkey, "public")
    bad = bytearray(h)
    bad[off + 12] ^= 0xFF  # alpha1 off the curve
    expect(bf.replace(good, 2, bytes(bad)), read_zkey, "alpha1")
    bad = bytearray(h)
    bad[off + 12 + 2 * 64 + 2 * 128 + 5] ^= 0x10  # delta1
    expect(bf.replace(good, 2, bytes(bad)), read_zkey, "delta1")


def test_zkey_sizes_disagree() -> None:
    good = zkey_bytes()
    off = 4 + 32 + 4 + 32
    h = _hdr()
    bad = bytearray(h)
    struct.pack_into("<I", bad, off, struct.unpack_from("<I", h, off)[0] + 1)  # nVars + 1
    expect(bf.replace(good, 2, bytes(bad)), read_zkey, "section 5", "points A")
    bad = bytearray(h)
    struct.pack_into("<I", bad, off + 8, 2048)  # domain doubled
    expect(bf.replace(good, 2, bytes(bad)), read_zkey, "section 9", "points H")
    for sid, what in ((3, "IC"), (5, "A"), (6, "B1"), (7, "B2"), (8, "C"), (9, "H")):
        sec = bf.section(good, sid)
        expect(bf.replace(good, sid, sec[:-1]), read_zkey, f"section {sid}", what)
        expect(bf.drop(good, sid), read_zkey, f"missing section {sid}")
    coefs = bf.section(good, 4)
    expect(bf.replace(good, 4, coefs[:-3]), read_zkey, "section 4", "records")
    expect(bf.replace(good, 4, b"\x01"), read_zkey, "section 4", "truncated")
    bad = bytearray(coefs)
    struct.pack_into("<I", bad, 0, 10**6)
    expect(bf.replace(good, 4, bytes(bad)), read_zkey, "section 4")
    ic = bytearray(bf.section(good, 3))
    ic[64 + 3] ^= 0x40
    expect(bf.replace(good, 3, bytes(ic)), read_zkey, "IC", "point 1")


def test_zkey_bad_coef_records() -> None:
    good = zkey_bytes()
    coefs = bytearray(bf.section(good, 4))
    struct.pack_into("<I", coefs, 4 + 44 * 3, 2)  # matrix 2
    zk = read_zkey(bf.replace(good, 4, bytes(coefs)))
    with pytest.raises(FormatError, match="record 3"):
        check_coefs(zk)
    coefs = bytearray(bf.section(good, 4))
    struct.pack_into("<I", coefs, 4 + 44 * 5 + 8, 10**6)  # signal out of range
    zk = read_zkey(bf.replace(good, 4, bytes(coefs)))
    with pytest.raises(FormatError, match="signal 1000000"):
        check_coefs(zk)


def test_zkey_bls_header_uses_48_byte_field() -> None:
    zk = read_zkey(BLS / "circuit.zkey")
    assert zk.curve.fp_bytes == 48 and len(zk.raw["B2"]) == zk.header.n_vars * 192


# ---- wtns ----------------------------------------------------------------------------------


def test_wtns_bad() -> None:
    good = wtns_bytes()
    hdr = bytearray(bf.section(good, 1))
    bad = bytearray(hdr)
    bad[4] ^= 1
    expect(bf.replace(good, 1, bytes(bad)), read_wtns, "unsupported prime")
    bad = bytearray(hdr)
    struct.pack_into("<I", bad, 0, 48)
    expect(bf.replace(good, 1, bytes(bad)), read_wtns, "n8=48")
    expect(bf.replace(good, 1, bytes(hdr[:-1])), read_wtns, "section 1")
    expect(bf.replace(good, 1, bytes(hdr[:2])), read_wtns, "truncated")
    bad = bytearray(hdr)
    struct.pack_into("<I", bad, 36, struct.unpack_from("<I", hdr, 36)[0] + 1)
    expect(bf.replace(good, 1, bytes(bad)), read_wtns, "section 2", "values")
    bad = bytearray(hdr)
    struct.pack_into("<I", bad, 36, 0)
    expect(bf.replace(good, 1, bytes(bad)), read_wtns, "no values")
    vals = bytearray(bf.section(good, 2))
    expect(bf.replace(good, 2, bytes(vals[:-32])), read_wtns, "section 2")
    v = bytearray(vals)
    v[0:32] = (2).to_bytes(32, "little")
    expect(bf.replace(good, 2, bytes(v)), read_wtns, "constant")
    v = bytearray(vals)
    v[64:96] = BN254.r.to_bytes(32, "little")
    expect(bf.replace(good, 2, bytes(v)), read_wtns, "value 2", "prime")
    v[64:96] = (2**256 - 1).to_bytes(32, "little")  # top word above r's
    expect(bf.replace(good, 2, bytes(v)), read_wtns, "value 2", "prime")
    v[64:96] = (BN254.r - 1).to_bytes(32, "little")  # top word equal to r's, value below r
    assert read_wtns(bf.replace(good, 2, bytes(v))).value(2) == BN254.r - 1


def test_wtns_other_curve_is_bls() -> None:
    assert read_wtns(BLS / "witness.wtns").curve is BLS12_381


# ---- r1cs ----------------------------------------------------------------------------------


def test_r1cs_bad() -> None:
    good = r1cs_bytes()
    hdr = bytearray(bf.section(good, 1))
    bad = bytearray(hdr)
    bad[5] ^= 1
    expect(bf.replace(good, 1, bytes(bad)), read_r1cs, "unsupported prime")
    expect(bf.replace(good, 1, bytes(hdr[:-4])), read_r1cs, "section 1")
    bad = bytearray(hdr)
    struct.pack_into("<I", bad, 36, 1)  # 1 wire
    expect(bf.replace(good, 1, bytes(bad)), read_r1cs, "wires")
    cons = bf.section(good, 2)
    expect(bf.replace(good, 2, cons[:-5]), read_r1cs, "truncated in constraint")
    expect(bf.replace(good, 2, cons + b"\0" * 4), read_r1cs, "bytes after")
    bad = bytearray(cons)
    struct.pack_into("<I", bad, 4, 10**6)  # wire index of the first term
    expect(bf.replace(good, 2, bytes(bad)), read_r1cs, "wire 1000000")
    bad = bytearray(cons)
    bad[8:40] = BN254.r.to_bytes(32, "little")
    expect(bf.replace(good, 2, bytes(bad)), read_r1cs, "coefficient")
    with pytest.raises(FormatError, match="section 3"):
        read_r1cs(bf.drop(good, 3), load_map=True)


# ---- verification key ----------------------------------------------------------------------


def test_vkey_bad() -> None:
    good = json.loads((BN / "verification_key.json").read_text())

    def bad(**kw: object) -> dict[str, object]:
        d = dict(good)
        for k, v in kw.items():
            if v is None:
                d.pop(k)
            else:
                d[k] = v
        return d

    cases: list[tuple[object, str]] = [
        ([], "JSON object"),
        (bad(protocol="plonk"), "not a groth16"),
        (bad(curve="secp256k1"), "unknown curve"),
        (bad(IC=None), "missing IC"),
        (bad(nPublic="6"), "nPublic"),
        (bad(nPublic=5), "IC must list"),
        (bad(vk_alpha_1=["1", "3", "1"]), "vk_alpha_1 is not on"),
        (bad(vk_alpha_1=["1", "x", "1"]), "not a decimal"),
        (bad(vk_alpha_1=["1", "2"]), "list of 3"),
        (bad(vk_beta_2=[["1", "2"], ["3", "4"], ["1", "0"]]), "vk_beta_2 is not on"),
        (bad(vk_gamma_2=[["1"], ["3", "4"], ["1", "0"]]), "list of 2"),
        (bad(vk_delta_2=[[str(BN254.p), "0"], ["1", "0"], ["1", "0"]]), "out of range"),
        (bad(vk_alpha_1=[1.5, "2", "1"]), "decimal string"),
    ]
    for obj, frag in cases:
        with pytest.raises(FormatError, match=frag):
            read_vkey(obj)


def test_vkey_files(tmp_path: Path) -> None:
    p = tmp_path / "vk.json"
    p.write_text("{not json")
    with pytest.raises(FormatError, match="not valid JSON"):
        read_vkey(p)
    with pytest.raises(FormatError, match="cannot read"):
        read_vkey(tmp_path / "nope.json")


def test_vkey_accepts_jacobian_points() -> None:
    good = json.loads((BN / "verification_key.json").read_text())
    x, y, _ = (int(v) for v in good["vk_alpha_1"])
    p, z = BN254.p, 7
    good["vk_alpha_1"] = [str(x * z * z % p), str(y * z * z * z % p), str(z)]
    assert read_vkey(good).alpha1 == (x, y)
