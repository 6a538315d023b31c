"""snarkjs's ``zkey export`` outputs: the verification key JSON and Solidity call data.

The verification key is snarkjs's layout, ``vk_alphabeta_12`` included: e(alpha, beta) as
ffjavascript writes an Fp12 element, ``[[c00, c01, c02], [c10, c11, c12]]`` over Fp6 = Fp2[v]
and Fp12 = Fp6[w], w^2 = v, each ``c`` an Fp2 pair ``[a, b]`` = a + b*u. We compute the
pairing with py_ecc, whose Fp12 is Fp[w]/(w^12 - 2*xi0*w^6 + xi0^2 + 1) with w^6 = xi =
xi0 + u (xi0 = 9 on BN254, 1 on BLS12-381), so its coefficient k + 6 is b and coefficient k
is a - xi0*b for the tower coefficient at w^k. ffjavascript's final exponentiation (the
shortcuts its hard part takes) yields py_ecc's value to the power 2z(6z^2 + 3z + 1) on BN254
(z = 4965661367192848881) and to the power -3 on BLS12-381; we raise py_ecc's value
accordingly, and the tests compare with snarkjs's own export.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any

from zkedge.curves import BN254, Curve

if TYPE_CHECKING:  # zkedge.groth16 is imported where it is used: `wtns calculate` needs none
    from zkedge.groth16 import VerificationKey, Zkey

__all__ = ["alphabeta_json", "solidity_calldata", "vkey_json"]

_BN_Z = 4965661367192848881


def _gt_power(curve: Curve) -> tuple[int, int]:
    """(xi0, exponent applied to py_ecc's pairing) for the curve."""
    if curve.name == BN254.name:
        z = _BN_Z
        return 9, 2 * z * (6 * z * z + 3 * z + 1)
    return 1, -3


def alphabeta_json(vk: VerificationKey) -> list[list[list[str]]]:
    """e(alpha1, beta2) as snarkjs's ``vk_alphabeta_12``."""
    from importlib import import_module

    from zkedge import ec

    bn = vk.curve.name == BN254.name
    m: Any = import_module("py_ecc.optimized_bn128" if bn else "py_ecc.optimized_bls12_381")
    xi0, power = _gt_power(vk.curve)
    f = m.pairing(ec.to_py_ecc(vk.curve, "G2", vk.beta2), ec.to_py_ecc(vk.curve, "G1", vk.alpha1))
    f = f ** (power % vk.curve.r)
    c = [int(x) for x in f.coeffs]
    p = vk.curve.p
    return [
        [
            [str((c[2 * j + i] + xi0 * c[2 * j + i + 6]) % p), str(c[2 * j + i + 6])]
            for j in range(3)
        ]
        for i in range(2)
    ]


def vkey_json(zkey: Zkey | str | os.PathLike[str]) -> dict[str, Any]:
    """``snarkjs zkey export verificationkey``: the same keys, order and values."""
    from zkedge.groth16 import Zkey, read_zkey, vkey_from_zkey
    from zkedge.groth16.vkey import vkey_to_json

    zk = zkey if isinstance(zkey, Zkey) else read_zkey(zkey)
    vk = vkey_from_zkey(zk)
    base = vkey_to_json(vk)
    out: dict[str, Any] = {}
    for k, v in base.items():
        if k == "IC":
            out["vk_alphabeta_12"] = alphabeta_json(vk)
        out[k] = v
    return out


def _hex(name: str, v: object, what: str) -> str:
    """snarkjs's 0x-prefixed, at least 64-digit hex of a non-negative integer."""
    from zkedge.groth16 import FormatError

    if isinstance(v, str) and (v.isdecimal() or v.startswith("0x")):
        n = int(v, 16) if v.startswith("0x") else int(v)
    elif isinstance(v, int) and not isinstance(v, bool):
        n = v
    else:
        raise FormatError(name, f"{what}: expected a decimal string, got {v!r}")
    if n < 0:
        raise FormatError(name, f"{what}: negative value")
    return f'"0x{n:064x}"'


def solidity_calldata(public: object, proof: object) -> str:
    """``snarkjs zkey export soliditycalldata public.json proof.json``: the arguments of
    ``verifyProof`` (paths or parsed JSON). G2 coordinates go imaginary part first."""
    from zkedge.groth16 import FormatError
    from zkedge.groth16.proofjson import load_json

    pname, pub = load_json(public, "public signals")
    name, prf = load_json(proof, "proof")
    if not isinstance(pub, list):
        raise FormatError(pname, "public signals must be a JSON list")
    if not isinstance(prf, dict):
        raise FormatError(name, "proof must be a JSON object")
    if prf.get("protocol") != "groth16":
        raise FormatError(name, f"not a groth16 proof (protocol {prf.get('protocol')!r})")
    try:
        a, b, c = prf["pi_a"], prf["pi_b"], prf["pi_c"]
        a_s = f"[{_hex(name, a[0], 'pi_a')}, {_hex(name, a[1], 'pi_a')}]"
        b_s = (
            f"[[{_hex(name, b[0][1], 'pi_b')}, {_hex(name, b[0][0], 'pi_b')}],"
            f"[{_hex(name, b[1][1], 'pi_b')}, {_hex(name, b[1][0], 'pi_b')}]]"
        )
        c_s = f"[{_hex(name, c[0], 'pi_c')}, {_hex(name, c[1], 'pi_c')}]"
    except (KeyError, IndexError, TypeError):
        raise FormatError(name, "pi_a, pi_b and pi_c must be snarkjs point lists") from None
    inputs = ",".join(_hex(pname, v, f"public signal {i}") for i, v in enumerate(pub))
    return f"{a_s},{b_s},{c_s},[{inputs}]"
