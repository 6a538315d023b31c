"""Groth16 from circom/snarkjs files: readers, the local prover, the verifier, JSON, plans."""

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
