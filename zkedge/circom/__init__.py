"""The circom toolbox: circom's WebAssembly witness calculator run in-process (wasmtime), and
snarkjs's exports (verification key, Solidity call data, a Solidity verifier)."""

from zkedge.circom._errors import CircomError as CircomError
from zkedge.circom._errors import InputError as InputError
from zkedge.circom._errors import WasmtimeUnavailable as WasmtimeUnavailable
from zkedge.circom._errors import WitnessError as WitnessError
from zkedge.circom._export import solidity_calldata as solidity_calldata
from zkedge.circom._export import vkey_json as vkey_json
from zkedge.circom._inputs import load_inputs as load_inputs
from zkedge.circom._inputs import parse_inputs as parse_inputs
from zkedge.circom._solidity import solidity_verifier as solidity_verifier
from zkedge.circom._witness import CircuitInfo as CircuitInfo
from zkedge.circom._witness import WitnessCalculator as WitnessCalculator
from zkedge.circom._witness import calculate_witness as calculate_witness
from zkedge.circom._witness import fnv1a64 as fnv1a64
from zkedge.circom._witness import wtns_bytes as wtns_bytes

__all__ = [
    "CircomError",
    "CircuitInfo",
    "InputError",
    "WasmtimeUnavailable",
    "WitnessCalculator",
    "WitnessError",
    "calculate_witness",
    "fnv1a64",
    "load_inputs",
    "parse_inputs",
    "solidity_calldata",
    "solidity_verifier",
    "vkey_json",
    "wtns_bytes",
]
