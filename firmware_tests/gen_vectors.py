"""Turn known-answer vectors (JSON) into a C header for the firmware test program.

Reads ``tests/vectors/kat.json`` (the project's KAT file, schema ``zkedge-kat/1`` documented in
``tests/vectors/make_kat.py``) plus ``firmware_tests/kat_extra.json`` (schema
``zkedge-firmware-kat/1`` from ``make_vectors.py``: error paths, ``from_mont``, mixed addition,
more MSM/NTT shapes, pairing product checks). Both are normalised into one internal form,
then every value is encoded the way the C API takes it (``native/zkedge.h``): field elements
little-endian standard form (Fp2: c0 || c1), points big-endian affine x || y (G2: c0 || c1,
infinity all zeros), scalars 32 bytes LE.

The header holds one byte blob plus tables of offsets into it, so it compiles fast even when it
is large. Standard library only: it runs on a bare host before anything is installed.

Usage: ``python firmware_tests/gen_vectors.py [--json PATH] OUT.h``
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Iterable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_SOURCES = (
    ROOT / "tests" / "vectors" / "kat.json",
    ROOT / "firmware_tests" / "kat_extra.json",
)
SECTIONS = ("field", "point", "check", "encode", "msm", "ntt", "pairing")

CURVE_ID = {"bn254": 0, "bn128": 0, "alt_bn128": 0, "bls12_381": 1, "bls12-381": 1, "bls12381": 1}
FP_BYTES = {0: 32, 1: 48}
FIELD_ID = {"fp": 0, "fr": 1, "fp2": 2}
GROUP_ID = {"G1": 1, "G2": 2}
FIELD_OP = {
    "add": 0,
    "sub": 1,
    "neg": 2,
    "mul": 3,
    "sqr": 4,
    "inv": 5,
    "to_mont": 6,
    "from_mont": 7,
}
POINT_OP = {"add": 0, "dbl": 1, "neg": 2, "mul": 3, "add_mixed": 4}
LEVEL = {"none": 0, "curve": 1, "subgroup": 2}
# expected return codes (zkedge.h)
RC = {None: 0, "ok": 0, "len": 2, "not_on_curve": 3, "not_in_subgroup": 4, "range": 6, "noinv": 7}
NONE = 0xFFFFFFFF


def as_int(v: Any) -> int:
    if isinstance(v, int):
        return v
    if isinstance(v, str):
        return int(v, 0)
    raise ValueError(f"not an integer: {v!r}")


class Blob:
    """Deduplicating byte store; ``add`` returns the offset of the bytes."""

    def __init__(self) -> None:
        self.data = bytearray()
        self.seen: dict[bytes, int] = {}

    def add(self, b: bytes) -> int:
        off = self.seen.get(b)
        if off is None:
            off = len(self.data)
            self.data += b
            self.seen[b] = off
        return off


def fe_le(v: Any, nbytes: int) -> bytes:
    """Field element (int, or [c0, c1] for Fp2) as LE bytes; nbytes is the whole element."""
    if isinstance(v, list | tuple):
        half = nbytes // 2
        return b"".join(as_int(c).to_bytes(half, "little") for c in v)
    return as_int(v).to_bytes(nbytes, "little")


def point_be(v: Any, curve: int, group: int) -> bytes:
    fp = FP_BYTES[curve]
    size = (2 if group == 1 else 4) * fp
    if isinstance(v, bytes):  # already the "be" encoding
        if len(v) != size:
            raise ValueError(f"point of {len(v)} bytes, expected {size}")
        return v
    if v is None:
        return bytes(size)
    x, y = v
    coords = [x, y] if group == 1 else [x[0], x[1], y[0], y[1]]
    return b"".join(as_int(c).to_bytes(fp, "big") for c in coords)


def scalar_le(v: Any) -> bytes:
    return as_int(v).to_bytes(32, "little")


def normalise(doc: dict[str, Any]) -> dict[str, list[dict[str, Any]]]:
    """Map a KAT document onto the internal form."""
    schema = doc.get("schema", "")
    if schema.startswith("zkedge-firmware-kat/"):
        return {k: doc.get(k, []) for k in SECTIONS}
    if schema == "zkedge-kat/1":
        return _from_zkedge_kat(doc)
    raise ValueError(f"unknown KAT schema {schema!r}")


def _from_zkedge_kat(doc: dict[str, Any]) -> dict[str, list[dict[str, Any]]]:
    """tests/vectors/kat.json: big-endian hex without 0x, points as "be" hex."""
    out: dict[str, list[dict[str, Any]]] = {k: [] for k in SECTIONS}

    def num(x: Any) -> Any:
        if isinstance(x, list):
            return [int(c, 16) for c in x]
        return int(x, 16)

    for curve, c in doc["curves"].items():
        r = int(c["r"], 16)
        for v in c.get("field", []):
            e: dict[str, Any] = {
                "curve": curve,
                "field": v["field"],
                "op": v["op"],
                "a": num(v["a"]),
            }
            if "b" in v:
                e["b"] = num(v["b"])
            e["out"] = num(v["out"])
            out["field"].append(e)
        for v in c.get("group", []):
            e = {"curve": curve, "group": v["group"], "op": v["op"], "a": bytes.fromhex(v["a"])}
            if "b" in v:
                e["b"] = bytes.fromhex(v["b"])
            if "k" in v:
                e["k"] = int(v["k"], 16)
            e["out"] = bytes.fromhex(v["out"])
            out["point"].append(e)
            if v["op"] == "add":  # the same answer through the mixed-addition formula
                out["point"].append({**e, "op": "add_mixed"})
        for v in c.get("encode", []):
            out["encode"].append(
                {
                    "curve": curve,
                    "group": v["group"],
                    "be": bytes.fromhex(v["be"]),
                    "mont": bytes.fromhex(v["mont"]),
                }
            )
        for v in c.get("check", []):
            for level in ("curve", "subgroup"):
                err = None if v[level] == "ok" else v[level]
                out["check"].append(
                    {
                        "curve": curve,
                        "group": v["group"],
                        "point": bytes.fromhex(v["be"]),
                        "level": level,
                        "error": err,
                    }
                )
        for v in c.get("msm", []):
            out["msm"].append(
                {
                    "curve": curve,
                    "group": v["group"],
                    "points": [bytes.fromhex(b) for b in v["bases"]],
                    "scalars": [int(s, 16) for s in v["scalars"]],
                    "out": bytes.fromhex(v["out"]),
                }
            )
        for v in c.get("ntt", []):
            n = int(v["n"])
            w = int(v["omega"], 16)
            g = int(v["coset"], 16) if v.get("coset") else None
            e = {
                "curve": curve,
                "n": n,
                "input": [int(x, 16) for x in v["in"]],
                "out": [int(x, 16) for x in v["out"]],
            }
            if not v["inverse"]:
                e["omega"] = w
                if g is not None:
                    e["shift"] = g
            else:  # one native NTT with omega^-1 and scale 1/n, then multiply by (1/g)^i
                e["omega"] = pow(w, -1, r)
                e["scale"] = pow(n, -1, r)
                if g is not None:
                    e["post"] = pow(g, -1, r)
            out["ntt"].append(e)
    return out


def field_bytes(curve: int, field: int) -> int:
    return 32 if field == 1 else FP_BYTES[curve] * (2 if field == 2 else 1)


def build(kat: dict[str, list[dict[str, Any]]], source: str) -> str:
    blob = Blob()
    rows: dict[str, list[str]] = {k: [] for k in SECTIONS}
    for v in kat["field"]:
        c, f = CURVE_ID[v["curve"]], FIELD_ID[v["field"]]
        n = field_bytes(c, f)
        a = blob.add(fe_le(v["a"], n))
        b = blob.add(fe_le(v["b"], n)) if "b" in v else NONE
        o = blob.add(fe_le(v["out"], n)) if v.get("out") is not None else NONE
        rc = RC[v.get("error")]
        rows["field"].append(f"{{{c}, {f}, {FIELD_OP[v['op']]}, {rc}, {a}u, {b}u, {o}u}}")
    for v in kat["point"]:
        c, g = CURVE_ID[v["curve"]], GROUP_ID[v["group"]]
        a = blob.add(point_be(v["a"], c, g))
        b = blob.add(point_be(v["b"], c, g)) if "b" in v else NONE
        k = blob.add(scalar_le(v["k"])) if "k" in v else NONE
        o = blob.add(point_be(v["out"], c, g)) if "out" in v else NONE
        rc = RC[v.get("error")]
        rows["point"].append(f"{{{c}, {g}, {POINT_OP[v['op']]}, {rc}, {a}u, {b}u, {k}u, {o}u}}")
    for v in kat["check"]:
        c, g = CURVE_ID[v["curve"]], GROUP_ID[v["group"]]
        p = blob.add(point_be(v["point"], c, g))
        rows["check"].append(f"{{{c}, {g}, {LEVEL[v['level']]}, {RC[v.get('error')]}, {p}u}}")
    for v in kat["encode"]:
        c, g = CURVE_ID[v["curve"]], GROUP_ID[v["group"]]
        be = blob.add(point_be(v["be"], c, g))
        mont = blob.add(point_be(v["mont"], c, g))  # same size; bytes pass through
        rows["encode"].append(f"{{{c}, {g}, {be}u, {mont}u}}")
    for v in kat["msm"]:
        c, g = CURVE_ID[v["curve"]], GROUP_ID[v["group"]]
        n = len(v["points"])
        if len(v["scalars"]) != n:
            raise ValueError("msm vector: points and scalars differ in length")
        pts = blob.add(b"".join(point_be(p, c, g) for p in v["points"]))
        sc = blob.add(b"".join(scalar_le(s) for s in v["scalars"]))
        o = blob.add(point_be(v["out"], c, g))
        rows["msm"].append(f"{{{c}, {g}, {n}u, {pts}u, {sc}u, {o}u}}")
    for v in kat["ntt"]:
        c = CURVE_ID[v["curve"]]
        n = int(v["n"])
        if len(v["input"]) != n or len(v["out"]) != n:
            raise ValueError("ntt vector: input/out length differs from n")
        w = blob.add(scalar_le(v["omega"]))
        sh = blob.add(scalar_le(v["shift"])) if v.get("shift") is not None else NONE
        sc = blob.add(scalar_le(v["scale"])) if v.get("scale") is not None else NONE
        po = blob.add(scalar_le(v["post"])) if v.get("post") is not None else NONE
        i = blob.add(b"".join(scalar_le(x) for x in v["input"]))
        o = blob.add(b"".join(scalar_le(x) for x in v["out"]))
        rows["ntt"].append(f"{{{c}, {n}u, {w}u, {sh}u, {sc}u, {po}u, {i}u, {o}u}}")
    for v in kat["pairing"]:
        c = CURVE_ID[v["curve"]]
        n = len(v["g1"])
        if len(v["g2"]) != n:
            raise ValueError("pairing vector: g1 and g2 differ in length")
        g1 = blob.add(b"".join(point_be(p, c, 1) for p in v["g1"]))
        g2 = blob.add(b"".join(point_be(p, c, 2) for p in v["g2"]))
        rows["pairing"].append(f"{{{c}, {int(bool(v['result']))}, {n}u, {g1}u, {g2}u}}")

    out = [
        "/* Generated by firmware_tests/gen_vectors.py from " + source + ". Do not edit. */",
        "#ifndef KAT_VECTORS_H",
        "#define KAT_VECTORS_H",
        "#include <stddef.h>",
        "#include <stdint.h>",
        "",
        "#define KAT_NONE 0xFFFFFFFFu",
        'static const char KAT_SOURCE[] = "' + source.replace("\\", "/").replace('"', "'") + '";',
        "typedef struct { uint8_t curve, field, op, rc; uint32_t a, b, out; } kat_field;",
        "typedef struct { uint8_t curve, group, op, rc; uint32_t a, b, k, out; } kat_point;",
        "typedef struct { uint8_t curve, group, level, rc; uint32_t pt; } kat_check;",
        "typedef struct { uint8_t curve, group; uint32_t be, mont; } kat_encode;",
        "typedef struct { uint8_t curve, group; uint32_t n, pts, scalars, out; } kat_msm;",
        "typedef struct { uint8_t curve; uint32_t n, omega, shift, scale, post, in, out; }"
        " kat_ntt;",
        "typedef struct { uint8_t curve, result; uint32_t n, g1, g2; } kat_pairing;",
        "",
    ]
    out.append(f"static const uint8_t KAT_DATA[{max(len(blob.data), 1)}] = {{")
    out.extend(_hex_lines(blob.data))
    out.append("};")
    types = {k: f"kat_{k}" for k in SECTIONS}
    for name, t in types.items():
        r = rows[name]
        out.append(f"#define KAT_N_{name.upper()} {len(r)}u")
        if r:
            out.append(f"static const {t} KAT_{name.upper()}[] = {{")
            out.extend(f"    {x}," for x in r)
            out.append("};")
        else:  # keep the symbol so the test program compiles with an empty section
            out.append(f"static const {t} KAT_{name.upper()}[1];")
    out.append("#endif")
    return "\n".join(out) + "\n"


def _hex_lines(data: bytes | bytearray) -> Iterable[str]:
    if not data:
        yield "    0"
    for i in range(0, len(data), 24):
        yield "    " + ",".join(str(b) for b in data[i : i + 24]) + ","


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("out", type=Path, help="header to write")
    ap.add_argument(
        "--json",
        type=Path,
        action="append",
        help="KAT JSON, repeatable (default: tests/vectors/kat.json + kat_extra.json)",
    )
    args = ap.parse_args(argv)
    sources = args.json or [p for p in DEFAULT_SOURCES if p.exists()]
    if not sources:
        print("gen_vectors: no KAT JSON found", file=sys.stderr)
        return 1
    kat: dict[str, list[dict[str, Any]]] = {k: [] for k in SECTIONS}
    names = []
    for src in sources:
        for k, v in normalise(json.loads(src.read_text())).items():
            kat[k].extend(v)
        try:
            names.append(str(src.resolve().relative_to(ROOT)))
        except ValueError:
            names.append(str(src))
    text = build(kat, " + ".join(names))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    if not args.out.exists() or args.out.read_text() != text:
        args.out.write_text(text)
    counts = ", ".join(f"{k} {len(v)}" for k, v in kat.items())
    print(f"gen_vectors: {' + '.join(names)} -> {args.out} ({counts})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
