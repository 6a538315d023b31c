"""Groth16 from circom/snarkjs files: readers, the local prover, the verifier, JSON, plans.

The names below load their modules on first use, so that importing one of them (as
``zkedge prove`` does) does not import the verifier, the r1cs reader and the rest.
"""

from __future__ import annotations

import importlib

TYPE_CHECKING = False  # typing.TYPE_CHECKING, without importing typing (zkedge.record)
if TYPE_CHECKING:
    from typing import Any

    from zkedge.groth16._binfile import FormatError as FormatError
    from zkedge.groth16._binfile import Source as Source
    from zkedge.groth16._progress import Progress as Progress
    from zkedge.groth16.plan import ProofPlan as ProofPlan
    from zkedge.groth16.plan import plan_proof as plan_proof
    from zkedge.groth16.proofjson import dump_json as dump_json
    from zkedge.groth16.proofjson import parse_proof as parse_proof
    from zkedge.groth16.proofjson import proof_to_json as proof_to_json
    from zkedge.groth16.prover import ProofResult as ProofResult
    from zkedge.groth16.prover import prove as prove
    from zkedge.groth16.prover import prove_points as prove_points
    from zkedge.groth16.r1cs import R1cs as R1cs
    from zkedge.groth16.r1cs import read_r1cs as read_r1cs
    from zkedge.groth16.verifier import explain_verify as explain_verify
    from zkedge.groth16.verifier import verify as verify
    from zkedge.groth16.vkey import VerificationKey as VerificationKey
    from zkedge.groth16.vkey import read_vkey as read_vkey
    from zkedge.groth16.vkey import vkey_from_zkey as vkey_from_zkey
    from zkedge.groth16.wtns import Witness as Witness
    from zkedge.groth16.wtns import read_wtns as read_wtns
    from zkedge.groth16.zkey import Zkey as Zkey
    from zkedge.groth16.zkey import read_zkey as read_zkey

_WHERE = {
    "FormatError": "zkedge.groth16._binfile",
    "Source": "zkedge.groth16._binfile",
    "Progress": "zkedge.groth16._progress",
    "ProofPlan": "zkedge.groth16.plan",
    "plan_proof": "zkedge.groth16.plan",
    "dump_json": "zkedge.groth16.proofjson",
    "parse_proof": "zkedge.groth16.proofjson",
    "proof_to_json": "zkedge.groth16.proofjson",
    "ProofResult": "zkedge.groth16.prover",
    "prove": "zkedge.groth16.prover",
    "prove_points": "zkedge.groth16.prover",
    "R1cs": "zkedge.groth16.r1cs",
    "read_r1cs": "zkedge.groth16.r1cs",
    "explain_verify": "zkedge.groth16.verifier",
    "verify": "zkedge.groth16.verifier",
    "VerificationKey": "zkedge.groth16.vkey",
    "read_vkey": "zkedge.groth16.vkey",
    "vkey_from_zkey": "zkedge.groth16.vkey",
    "Witness": "zkedge.groth16.wtns",
    "read_wtns": "zkedge.groth16.wtns",
    "Zkey": "zkedge.groth16.zkey",
    "read_zkey": "zkedge.groth16.zkey",
}


def __getattr__(name: str) -> Any:
    """Load the module defining ``name`` (PEP 562) and cache the name here."""
    where = _WHERE.get(name)
    if where is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(where), name)
    globals()[name] = value
    return value


__all__ = [
    "FormatError",
    "Progress",
    "ProofPlan",
    "ProofResult",
    "R1cs",
    "Source",
    "VerificationKey",
    "Witness",
    "Zkey",
    "dump_json",
    "explain_verify",
    "parse_proof",
    "plan_proof",
    "proof_to_json",
    "prove",
    "prove_points",
    "read_r1cs",
    "read_vkey",
    "read_wtns",
    "read_zkey",
    "verify",
    "vkey_from_zkey",
]


def __dir__() -> list[str]:
    """The public names, loaded or not."""
    return sorted(set(globals()) | set(__all__))
