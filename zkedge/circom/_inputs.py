"""input.json for a circom witness, read the way ``snarkjs wtns calculate`` reads it.

snarkjs hands each top-level key to the witness code as a signal name and flattens its value
(nested lists, in order) into that signal's values; each value goes through JavaScript's
``BigInt`` and is reduced mod p. So a value may be:

- a string: decimal with an optional sign, or ``0x``/``0o``/``0b`` digits (no sign), with
  JavaScript white space around it ignored; the empty string is 0;
- a JSON number that is an integer (``1e3`` is 1000);
- ``true`` / ``false`` (1 / 0).

Negative values and values >= p are taken mod p. One difference, on purpose: a JSON number
beyond 2^53 is refused (JavaScript would round it to the nearest double and prove something
else than what the file says); write it as a string. Objects as values are refused (snarkjs
fails on them too).
"""

from __future__ import annotations

import json
import math
import os
import re
from collections.abc import Iterator, Mapping
from pathlib import Path

from zkedge.circom._errors import InputError

__all__ = ["Inputs", "flatten", "js_bigint", "load_inputs", "parse_inputs", "to_field"]

#: signal name -> its values, flattened in order, not yet reduced mod p
Inputs = dict[str, list[int]]

# JavaScript's WhiteSpace and LineTerminator code points (what String.prototype.trim and
# StringToBigInt skip): Python's str.strip() also strips U+001C..U+001F and U+0085
_JS_SPACE = (
    "\t\n\v\f\r \u00a0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008\u2009"
    "\u200a\u2028\u2029\u202f\u205f\u3000\ufeff"
)
_BIGINT = re.compile(
    r"0[xX](?P<hex>[0-9a-fA-F]+)|0[oO](?P<oct>[0-7]+)|0[bB](?P<bin>[01]+)|(?P<dec>[+-]?[0-9]+)"
)
_MAX_SAFE = 2**53


def js_bigint(text: str) -> int | None:
    """JavaScript's ``BigInt(text)``, or None where it throws a SyntaxError."""
    t = text.strip(_JS_SPACE)
    if not t:
        return 0
    m = _BIGINT.fullmatch(t)
    if m is None:
        return None
    if m["hex"] is not None:
        return int(m["hex"], 16)
    if m["oct"] is not None:
        return int(m["oct"], 8)
    if m["bin"] is not None:
        return int(m["bin"], 2)
    return int(m["dec"], 10)


def to_field(value: object, where: str) -> int:
    """One input value as an integer (not reduced), or :class:`InputError` naming ``where``."""
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, int):
        if abs(value) > _MAX_SAFE:
            raise InputError(
                f"{where}: the JSON number {value} is beyond 2^53 and loses precision in "
                "JavaScript; write it as a string"
            )
        return value
    if isinstance(value, float):
        if not math.isfinite(value) or not value.is_integer():
            raise InputError(f"{where}: {value!r} is not an integer")
        if abs(value) > _MAX_SAFE:
            raise InputError(
                f"{where}: the JSON number {value!r} is beyond 2^53 and loses precision; "
                "write it as a string"
            )
        return int(value)
    if isinstance(value, str):
        n = js_bigint(value)
        if n is None:
            raise InputError(f"{where}: {value!r} is not an integer (decimal or 0x hex)")
        return n
    if value is None:
        raise InputError(f"{where}: null is not a field element")
    if isinstance(value, dict):
        raise InputError(f"{where}: an object is not a field element (nested inputs unsupported)")
    raise InputError(f"{where}: {type(value).__name__} is not a field element")


def flatten(value: object) -> Iterator[tuple[str, object]]:
    """(index suffix like ``[1][0]``, scalar) for each scalar in ``value``, in order."""
    if isinstance(value, list | tuple):
        for i, v in enumerate(value):
            for suffix, x in flatten(v):
                yield f"[{i}]{suffix}", x
    else:
        yield "", value


def parse_inputs(obj: object) -> Inputs:
    """Signal name -> flattened integer values from a parsed input.json. Raises InputError."""
    if not isinstance(obj, Mapping):
        raise InputError(f"input must be a JSON object of signal names, got {type(obj).__name__}")
    out: Inputs = {}
    for name, value in obj.items():
        if not isinstance(name, str):
            raise InputError(f"signal names must be strings, got {name!r}")
        out[name] = [to_field(v, f"{name}{suffix}") for suffix, v in flatten(value)]
    return out


def load_inputs(src: str | os.PathLike[str] | Mapping[str, object]) -> Inputs:
    """:func:`parse_inputs` of an input.json path, or of an already parsed mapping."""
    if isinstance(src, Mapping):
        return parse_inputs(src)
    path = Path(src)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as e:
        raise InputError(f"{path}: cannot read input: {e.strerror or e}") from None
    except UnicodeDecodeError as e:
        raise InputError(f"{path}: input is not UTF-8 text: {e}") from None
    try:
        return parse_inputs(json.loads(text, parse_constant=_no_constant))
    except json.JSONDecodeError as e:
        raise InputError(f"{path}: input is not valid JSON: {e}") from None
    except InputError as e:
        raise InputError(f"{path}: {e}") from None


def _no_constant(name: str) -> object:
    """Python's json takes NaN and Infinity; JSON (and JavaScript's JSON.parse) does not."""
    raise InputError(f"{name} is not valid JSON")
