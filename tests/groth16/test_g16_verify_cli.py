"""``zkedge verify``: exit codes, and numbers read exactly as strictly as snarkjs reads them.

Each altered proof.json / public.json is checked by snarkjs 0.7.6 (its ``groth16.verify``, fed
the files the way its CLI feeds them: ``JSON.parse`` of each file) and by ``zkedge verify``;
the two must accept and reject the same files.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from support.g16_paths import FIXTURES, fixture_dir, needs_native

from zkedge.cli import main
from zkedge.groth16.proofjson import _Inexact, _json_number

BN = fixture_dir("bn128")
VK = BN / "verification_key.json"

# Runs snarkjs's verifier on (vkey, public, proof) path triples given as JSON on stdin and
# prints one true/false per triple; an exception (snarkjs throws on some spellings) is false.
NODE_DRIVER = """
const fs = require("fs");
const snarkjs = require(process.argv[2]);
const read = (p) => JSON.parse(fs.readFileSync(p, "utf8"));
(async () => {
  const out = [];
  for (const [vk, pub, proof] of JSON.parse(fs.readFileSync(0, "utf8"))) {
    try { out.push(await snarkjs.groth16.verify(read(vk), read(pub), read(proof))); }
    catch (e) { out.push(false); }
  }
  console.log(JSON.stringify(out));
  process.exit(0);
})();
"""


def spellings(v: str) -> dict[str, Any]:
    """The same number written in ways snarkjs accepts or rejects."""
    n = int(v)
    return {
        "decimal": v,
        "leading zeros": "00" + v,
        "0x hex": hex(n),
        "0x HEX digits": "0x" + format(n, "X"),
        "0X hex": "0X" + format(n, "X"),
        "space and newline": f" {v}\n",
        "trailing newline": f"{v}\n",
        "underscore": v[0] + "_" + v[1:] if len(v) > 1 else "0_" + v,
        "Arabic-Indic digits": "".join(chr(0x660 + int(c)) for c in v),
        "fullwidth digits": "".join(chr(0xFF10 + int(c)) for c in v),
        "leading +": "+" + v,
        "minus": "-" + v,
        "0b binary": bin(n),
        "0o octal": oct(n),
        "empty": "",
        "bare JSON integer": n,
        "bare JSON float": float(n),
    }


# snarkjs accepts these only by accident of how it turns a string it did not parse into bytes
# (ffjavascript's toRprLE reads the string as hex in 8-character chunks, and drops a chunk
# beyond the field's size): "7\n" reads as 7, and "0X" + 64 hex digits loses the chunk holding
# the "0X". Its JSON number rule (unstringifyBigInts: ASCII digits, or 0x + hex) does not take
# them, and zkedge rejects them.
SNARKJS_ACCIDENTS = {"trailing newline", "0X hex"}


def altered_files(tmp: Path) -> list[tuple[str, str, Path, Path]]:
    """(place, spelling, public.json, proof.json) for every spelling in four places: a large
    and a small public signal, a G1 and a G2 coordinate of the proof."""
    pub = json.loads((BN / "public.json").read_text())
    proof = json.loads((BN / "proof.json").read_text())
    small = next(i for i, v in enumerate(pub) if len(v) == 1)
    places: dict[str, tuple[str, Callable[[Any, Any, Any], None]]] = {
        "public[0]": (pub[0], lambda p, q, x: p.__setitem__(0, x)),
        f"public[{small}]": (pub[small], lambda p, q, x: p.__setitem__(small, x)),
        "pi_a.x": (proof["pi_a"][0], lambda p, q, x: q["pi_a"].__setitem__(0, x)),
        "pi_b.x.c0": (proof["pi_b"][0][0], lambda p, q, x: q["pi_b"][0].__setitem__(0, x)),
    }
    out: list[tuple[str, str, Path, Path]] = []
    for place, (value, put) in places.items():
        for name, spelled in spellings(value).items():
            p, q = json.loads(json.dumps(pub)), json.loads(json.dumps(proof))
            put(p, q, spelled)
            i = len(out)
            pf, qf = tmp / f"public{i}.json", tmp / f"proof{i}.json"
            pf.write_text(json.dumps(p))
            qf.write_text(json.dumps(q))
            out.append((place, name, pf, qf))
    return out


def zkedge_accepts(public: Path, proof: Path) -> bool:
    rc = main(["verify", str(VK), str(public), str(proof)])
    assert rc in (0, 1, 2)
    return rc == 0


@needs_native
def test_number_spellings_agree_with_snarkjs(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], snarkjs_verify: Any
) -> None:
    """(``snarkjs_verify`` only for its guard: skip without snarkjs, fail so under CI=true.)"""
    cases = altered_files(tmp_path)
    driver = tmp_path / "verify_all.cjs"
    driver.write_text(NODE_DRIVER)
    r = subprocess.run(
        ["node", str(driver), str(FIXTURES / "node_modules" / "snarkjs")],
        input=json.dumps([[str(VK), str(p), str(q)] for _, _, p, q in cases]),
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert r.returncode == 0, r.stderr
    snarkjs = json.loads(r.stdout.strip().splitlines()[-1])
    assert len(snarkjs) == len(cases)
    disagree = []
    for (place, name, p, q), theirs in zip(cases, snarkjs, strict=True):
        ours = zkedge_accepts(p, q)
        if ours != theirs and not (name in SNARKJS_ACCIDENTS and theirs and not ours):
            disagree.append(f"{place} {name}: snarkjs {theirs}, zkedge {ours}")
    capsys.readouterr()
    assert not disagree, "\n".join(disagree)
    # the fixture's proof is valid, so snarkjs accepts its own spellings everywhere
    accepted = {name for (_, name, _, _), ok in zip(cases, snarkjs, strict=True) if ok}
    assert {"decimal", "leading zeros", "0x hex", "0x HEX digits"} <= accepted
    # a small value as a bare JSON number is read exactly by JavaScript, a large one is not
    bare = {place: ok for (place, name, _, _), ok in zip(cases, snarkjs, strict=True)
            if name == "bare JSON integer"}  # fmt: skip
    assert bare["public[0]"] is False and sum(bare.values()) == 1


def test_exit_codes(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    pub, proof = BN / "public.json", BN / "proof.json"
    assert main(["verify", str(VK), str(pub), str(proof)]) == 0
    signals = json.loads(pub.read_text())
    wrong = tmp_path / "wrong.json"
    wrong.write_text(json.dumps([str(int(signals[0]) + 1), *signals[1:]]))
    assert main(["verify", str(VK), str(wrong), str(proof)]) == 1  # a proof that does not verify
    short = tmp_path / "short.json"
    short.write_text(json.dumps(signals[:-1]))
    assert main(["verify", str(VK), str(short), str(proof)]) == 1
    capsys.readouterr()
    good = json.loads(proof.read_text())
    bad = {
        "not JSON": "{",
        "wrong shape": "[1, 2]",
        "a malformed number": json.dumps({**good, "pi_a": ["+1", "2", "1"]}),
        "off the curve": json.dumps({**good, "pi_a": ["1", "3", "1"]}),
    }
    for what, text in bad.items():
        f = tmp_path / "bad.json"
        f.write_text(text)
        assert main(["verify", str(VK), str(pub), str(f)]) == 2, what  # bad proof file
        err = capsys.readouterr().err
        assert err.startswith("error: ") and str(f) in err, what
    f = tmp_path / "bad.json"
    f.write_text('["1", " 2"]')
    assert main(["verify", str(VK), str(f), str(proof)]) == 2  # bad public file
    assert main(["verify", str(VK), str(tmp_path / "missing.json"), str(proof)]) == 2
    assert main(["verify", str(f), str(pub), str(proof)]) == 2  # bad key
    assert capsys.readouterr().err.count("error: ") == 3


@pytest.mark.parametrize(
    "text",
    [
        "[" * 100_000 + "]" * 100_000,
        '{"a": ' * 50_000 + "1" + "}" * 50_000,
        "[" + "9" * 5000 + "]",
        '["' + "9" * 5000 + '"]',
        '["0x' + "f" * 100_000 + '"]',
        '["' + "0" * 5000 + '7"]',
        "[1e999999, 1.5, -0]",
        "[1e999999999999999999]",
        "[-1E+99999999]",
        "[1e-999999999999999999]",
    ],
    ids=["nested lists", "nested objects", "bare 5000 digits", "5000 digits", "long hex",
         "5000 leading zeros", "floats", "huge exponent", "huge negative", "tiny exponent"],
)  # fmt: skip
def test_hostile_public_file_is_one_line_error(tmp_path: Path, text: str) -> None:
    f = tmp_path / "public.json"
    f.write_text(text)
    r = subprocess.run(
        [sys.executable, "-m", "zkedge", "verify", str(VK), str(f), str(BN / "proof.json")],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=tmp_path,
        env={**os.environ, "PYTHONPATH": ""},
    )
    assert "Traceback" not in r.stderr
    if r.returncode == 1:  # "0000...07" is a well-formed number: the list is merely short
        assert "INVALID" in r.stdout and text.startswith('["000')
        return
    assert r.returncode == 2, r.stdout + r.stderr
    assert len(r.stderr.strip().splitlines()) == 1 and r.stderr.startswith("error: ")


@pytest.mark.parametrize(
    "text, value",
    [("7", 7), ("7.0", 7), ("1E1", 10), ("0.5e2", 50), ("-0", 0), (str(2**53), 2**53),
     (str(2**60), 2**60), (str(2**53 + 1), None), ("1.5", None), ("1e400", None),
     ("1e-400", None), ("1e999999999999999999", None), ("9" * 5000, None)],
)  # fmt: skip
def test_bare_json_numbers_as_javascript_reads_them(text: str, value: int | None) -> None:
    """A bare number counts when JSON.parse's double is exactly the integer written."""
    got = _json_number(text)
    assert got == value if value is not None else isinstance(got, _Inexact)
