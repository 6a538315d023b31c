"""input.json values read as JavaScript's BigInt reads them (what snarkjs does), checked with
Hypothesis and, in one batch, against node's own BigInt."""

from __future__ import annotations

import json
import shutil
import subprocess
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from zkedge.circom import InputError, parse_inputs
from zkedge.circom._inputs import flatten, js_bigint, to_field

JS_SPACE = "\t\n\v\f\r \u00a0\u1680\u2000\u200a\u2028\u2029\u202f\u205f\u3000\ufeff"
# no deadline: the machines running this are shared and slow at times
relaxed = settings(deadline=None)
spaces = st.text(alphabet=JS_SPACE, max_size=3)
big = st.integers(min_value=0, max_value=2**300)


@relaxed
@given(big, spaces, spaces, st.sampled_from(["", "+", "-"]))
def test_decimal(n: int, left: str, right: str, sign: str) -> None:
    want = -n if sign == "-" else n
    assert js_bigint(f"{left}{sign}{n}{right}") == want


@relaxed
@given(big, st.sampled_from(["0x", "0X"]), st.booleans())
def test_hex(n: int, prefix: str, upper: bool) -> None:
    digits = f"{n:X}" if upper else f"{n:x}"
    assert js_bigint(prefix + digits) == n
    assert js_bigint("-" + prefix + digits) is None  # BigInt("-0x1") is a SyntaxError


@relaxed
@given(big)
def test_octal_binary(n: int) -> None:
    assert js_bigint(f"0o{n:o}") == n
    assert js_bigint(f"0b{n:b}") == n


@relaxed
@given(st.text(max_size=12))
def test_any_text_parses_or_is_refused(text: str) -> None:
    """Never another exception than InputError; what parses prints back to the same value."""
    n = js_bigint(text)
    if n is None:
        with pytest.raises(InputError, match="is not an integer"):
            to_field(text, "s")
    else:
        assert to_field(text, "s") == n
        assert js_bigint(str(n)) == n


nested = st.recursive(
    st.integers(min_value=-(2**53), max_value=2**53) | st.booleans(),
    lambda children: st.lists(children, max_size=4),
    max_leaves=20,
)


@relaxed
@given(st.dictionaries(st.from_regex(r"[a-z][a-z0-9_]{0,6}", fullmatch=True), nested, max_size=5))
def test_parse_flattens_in_order(obj: dict[str, Any]) -> None:
    parsed = parse_inputs(obj)
    assert list(parsed) == list(obj)
    for name, value in obj.items():
        # booleans are inputs too (circom reads true/false as 1/0)
        flat = [int(x) if isinstance(x, bool) else int(str(x)) for _, x in flatten(value)]
        assert parsed[name] == flat


@relaxed
@given(st.integers(min_value=2**53 + 1) | st.integers(max_value=-(2**53) - 1))
def test_big_json_numbers_refused(n: int) -> None:
    with pytest.raises(InputError, match="beyond 2\\^53"):
        parse_inputs({"a": n})
    assert parse_inputs({"a": str(n)}) == {"a": [n]}


@relaxed
@given(st.floats(allow_nan=False, allow_infinity=False))
def test_floats(x: float) -> None:
    if x.is_integer() and abs(x) <= 2**53:
        assert parse_inputs({"a": x}) == {"a": [int(x)]}
    else:
        with pytest.raises(InputError):
            parse_inputs({"a": x})


def test_flatten_suffixes() -> None:
    assert list(flatten([[1, 2], [3]])) == [("[0][0]", 1), ("[0][1]", 2), ("[1][0]", 3)]
    assert list(flatten(7)) == [("", 7)]
    assert list(flatten([])) == []


# strings whose BigInt reading is easy to get wrong; checked against node itself
TRICKY = [
    "", " ", "0", "-0", "+0", "007", "-12", "+12", " 12 ", "\t\n12\r\n", "\u00a012\ufeff",
    "\u200b12", "\u001c12", "\u008512", "1_000", "1e3", "1.0", "1.", ".5", "0x", "0x1f", "0X1F",
    "-0x1f", "+0x1f", "0x-1", "0o17", "0O17", "0o8", "0b101", "0B2", "0b", "12n", "١٢", "１２",
    "0x 1", "1 2", "--1", "+-1", "Infinity", "NaN", "null", "true", "0.0", "9" * 90,
]  # fmt: skip


def test_tricky_strings_against_node() -> None:
    if shutil.which("node") is None:
        pytest.skip("node not installed")
    script = (
        "const xs = JSON.parse(require('fs').readFileSync(0, 'utf8'));"
        "console.log(JSON.stringify(xs.map(s => { try { return BigInt(s).toString(); }"
        " catch (e) { return null; } })));"
    )
    res = subprocess.run(
        ["node", "-e", script],
        input=json.dumps(TRICKY),
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    want = json.loads(res.stdout)
    got = [None if (n := js_bigint(s)) is None else str(n) for s in TRICKY]
    assert dict(zip(TRICKY, got, strict=True)) == dict(zip(TRICKY, want, strict=True))


def test_booleans_and_null() -> None:
    assert parse_inputs({"a": [True, False]}) == {"a": [1, 0]}
    with pytest.raises(InputError, match="a\\[1\\]: null"):
        parse_inputs({"a": [1, None]})
