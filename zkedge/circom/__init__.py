"""The circom toolbox: circom's WebAssembly witness calculator run in-process (wasmtime), and
snarkjs's exports (verification key, Solidity call data, a Solidity verifier)."""

from ._errors import CircomError as CircomError
from ._errors import InputError as InputError
from ._errors import WasmtimeUnavailable as WasmtimeUnavailable
from ._errors import WitnessError as WitnessError
from ._export import solidity_calldata as solidity_calldata
from ._export import vkey_json as vkey_json
from ._inputs import load_inputs as load_inputs
from ._inputs import parse_inputs as parse_inputs
from ._solidity import solidity_verifier as solidity_verifier
from ._witness import CircuitInfo as CircuitInfo
from ._witness import WitnessCalculator as WitnessCalculator
from ._witness import calculate_witness as calculate_witness
from ._witness import fnv1a64 as fnv1a64
from ._witness import wtns_bytes as wtns_bytes

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
