"""The native prover: its proofs verified by snarkjs and by zkedge; H equal to the reference."""

from __future__ import annotations

import io
import json
import struct
from pathlib import Path

import pytest
from support import g16_binfile as bf
from support import g16_reference as ref
from support.g16_paths import fixture_dir, needs_native

from zkedge.groth16 import FormatError, read_wtns, read_zkey, verify
from zkedge.groth16.plan import plan_proof
from zkedge.groth16.wtns import witness_from_values

pytestmark = needs_native

BN = fixture_dir("bn128")
BLS = fixture_dir("bls12381")


@pytest.mark.parametrize("name", ["bn128", "bls12381"])
def test_h_matches_reference(name: str) -> None:
    from zkedge.groth16.prover import compute_h

    d = fixture_dir(name)
    zk = read_zkey(d / "circuit.zkey")
    for wf in ("witness.wtns", "witness2.wtns"):
        wit = read_wtns(d / wf)
        h = compute_h(zk, wit, threads=1)
        want = ref.h_scalars(zk, wit)
        got = [int.from_bytes(h[i : i + 32], "little") for i in range(0, len(h), 32)]
        assert got == want
        # 2 and 3 threads: from 1024 points A and B run side by side (bn128's domain is 1024)
        assert compute_h(zk, wit, threads=2) == h and compute_h(zk, wit, threads=3) == h


@pytest.mark.parametrize("name", ["bn128", "bls12381"])
def test_prove_verified_by_snarkjs_and_zkedge(
    name: str, snarkjs_verify: object, tmp_path: Path
) -> None:
    from zkedge.groth16 import prove

    d = fixture_dir(name)
    for wf in ("witness.wtns", "witness2.wtns"):
        proof, public = prove(d / "circuit.zkey", d / wf)
        assert proof["protocol"] == "groth16" and proof["curve"] == name
        assert proof["pi_a"][2] == "1" and proof["pi_b"][2] == ["1", "0"]
        assert len(public) == 6 and all(isinstance(x, str) for x in public)
        if wf == "witness.wtns":
            assert public == json.loads((d / "public.json").read_text())
        assert verify(d / "verification_key.json", public, proof)
        assert snarkjs_verify(d / "verification_key.json", public, proof, tmp_path)  # type: ignore[operator]


def test_proofs_are_randomised() -> None:
    from zkedge.groth16 import prove

    p1, pub1 = prove(BLS / "circuit.zkey", BLS / "witness.wtns")
    p2, pub2 = prove(BLS / "circuit.zkey", BLS / "witness.wtns")
    assert pub1 == pub2 and p1 != p2


def test_fixed_blinding_equals_reference_and_split_plans() -> None:
    from zkedge.groth16.prover import prove_points

    zk = read_zkey(BLS / "circuit.zkey")
    wit = read_wtns(BLS / "witness.wtns")
    rs = (1234567, 7654321)
    one = prove_points(zk, wit, rs=rs, threads=1)
    split = prove_points(zk, wit, rs=rs, plan=plan_proof(zk.header, max_task_cost=13))
    assert (one.a, one.b, one.c) == (split.a, split.b, split.c)
    ra, rb, rc = ref.prove(read_zkey(BLS / "circuit.zkey"), wit, *rs)
    assert one.a == (int(ra[0].n), int(ra[1].n))
    assert one.c == (int(rc[0].n), int(rc[1].n))
    assert one.b == tuple((int(v.coeffs[0]), int(v.coeffs[1])) for v in rb[:2])


def test_wrong_witness_gives_invalid_proof(snarkjs_verify: object, tmp_path: Path) -> None:
    from zkedge.groth16 import prove

    wit = read_wtns(BN / "witness.wtns")
    vals = wit.values()
    vals[20] = (vals[20] + 1) % wit.curve.r  # a private signal: constraints break
    bad = witness_from_values(wit.curve, vals)
    proof, public = prove(BN / "circuit.zkey", bad)
    assert not verify(BN / "verification_key.json", public, proof)
    assert not snarkjs_verify(BN / "verification_key.json", public, proof, tmp_path)  # type: ignore[operator]


def test_prover_input_errors() -> None:
    from zkedge.groth16 import prove

    # witness of the other curve
    with pytest.raises(FormatError, match="bls12_381"):
        prove(BN / "circuit.zkey", BLS / "witness.wtns")
    # witness of the wrong length
    wit = read_wtns(BN / "witness.wtns")
    short = witness_from_values(wit.curve, wit.values()[:-1])
    with pytest.raises(FormatError, match="values"):
        prove(BN / "circuit.zkey", short)
    # a coefficient record pointing past the witness: a clean error from the native evaluator
    good = (BLS / "circuit.zkey").read_bytes()
    coefs = bytearray(bf.section(good, 4))
    struct.pack_into("<I", coefs, 4 + 44 * 2 + 8, 10**6)
    with pytest.raises(FormatError, match="section 4"):
        prove(bf.replace(good, 4, bytes(coefs)), BLS / "witness.wtns")
    # a point off the curve in a big section: named when loaded into the native table
    a = bytearray(bf.section(good, 5))
    a[64 + 7] ^= 1
    with pytest.raises(FormatError, match="section 5"):
        prove(bf.replace(good, 5, bytes(a)), BLS / "witness.wtns")


def test_progress_bar() -> None:
    from zkedge.groth16._progress import Progress
    from zkedge.groth16.prover import prove_points

    buf = io.StringIO()
    prog = Progress("zkedge prove", 10.0, delay=0.0, stream=buf)
    zk = read_zkey(BLS / "circuit.zkey")
    res = prove_points(zk, BLS / "witness.wtns", progress=prog)
    out = buf.getvalue()
    assert "zkedge prove [" in out and "msm H" in out and "100%" in out
    assert {"eval ABC", "ntt A", "msm B2", "blind"} <= set(res.times)
    quiet = io.StringIO()
    Progress("x", 1.0, stream=quiet).close()
    assert quiet.getvalue() == ""


def test_fast_setup_zkey_proves(tmp_path: Path, snarkjs_verify: object) -> None:
    """The bench's insecure fast setup writes a zkey snarkjs and zkedge both prove with."""
    from fixtures import fast_setup

    from zkedge.groth16 import prove, vkey_from_zkey
    from zkedge.groth16.vkey import vkey_to_json

    zkey = tmp_path / "fast.zkey"
    fast_setup.fast_setup(BLS / "circuit.r1cs", zkey, seed=7, log=False)
    zk = read_zkey(zkey)
    assert zk.header.n_vars == read_wtns(BLS / "witness.wtns").n
    proof, public = prove(zk, BLS / "witness2.wtns")
    vk = vkey_from_zkey(zk)
    assert verify(vk, public, proof)
    assert snarkjs_verify(vkey_to_json(vk), public, proof, tmp_path)  # type: ignore[operator]
