"""Errors of the circom toolbox: bad input (the caller's to fix), failures inside the circuit,
and a missing WebAssembly runtime."""

from __future__ import annotations

__all__ = ["CircomError", "InputError", "WasmtimeUnavailable", "WitnessError"]


class CircomError(Exception):
    """Base of the errors below."""


class InputError(CircomError, ValueError):
    """input.json (or the values given for it) does not fit the circuit: a missing or unknown
    signal, too many or too few values, a value that is not a field element."""


class WitnessError(CircomError, RuntimeError):
    """The circuit's witness code stopped: a failing ``assert`` or constraint, or another
    runtime error the generated code reports. ``code`` is circom's error code (4: assert
    failed), ``detail`` the lines the circuit printed before stopping (template and line)."""

    def __init__(self, code: int, reason: str, detail: str) -> None:
        msg = reason if not detail else f"{reason}: {detail}"
        super().__init__(msg)
        self.code = code
        self.reason = reason
        self.detail = detail


class WasmtimeUnavailable(CircomError, ImportError):
    """The ``wasmtime`` package cannot be imported here (it has no wheel for armv7, for one)."""
