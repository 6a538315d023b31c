"""Groth16 from circom/snarkjs files: readers, the local prover, the verifier, JSON, plans."""

from ._binfile import FormatError as FormatError
from .plan import ProofPlan as ProofPlan
from .plan import plan_proof as plan_proof
from .proofjson import dump_json as dump_json
from .proofjson import parse_proof as parse_proof
from .proofjson import proof_to_json as proof_to_json
from .prover import ProofResult as ProofResult
from .prover import prove as prove
from .prover import prove_points as prove_points
from .r1cs import R1cs as R1cs
from .r1cs import read_r1cs as read_r1cs
from .verifier import explain_verify as explain_verify
from .verifier import verify as verify
from .vkey import VerificationKey as VerificationKey
from .vkey import read_vkey as read_vkey
from .vkey import vkey_from_zkey as vkey_from_zkey
from .wtns import Witness as Witness
from .wtns import read_wtns as read_wtns
from .zkey import Zkey as Zkey
from .zkey import read_zkey as read_zkey

__all__ = [
    "FormatError",
    "ProofPlan",
    "ProofResult",
    "R1cs",
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
