"""Wire messages as JSON-ready data, numbers as numbers (``zkedge status --json``,
``/api/status``).

betterproto's ``to_dict`` follows the protobuf JSON mapping, which writes 64-bit integers as
strings (JavaScript cannot hold them exactly); the values here (point counts, memory sizes)
stay far below 2^53, so they are written as numbers. Keys are camelCase as in that mapping,
default values are included, bytes are hex.
"""

from __future__ import annotations

import enum
import math
from typing import Any

import betterproto

__all__ = ["status_json"]


def _plain(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if isinstance(value, bytes | bytearray | memoryview):
        return bytes(value).hex()
    if isinstance(value, enum.Enum):
        return value.name
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def status_json(message: betterproto.Message) -> dict[str, Any]:
    """``message`` (e.g. a ``GetStatusResponse``) as a dict of plain JSON values."""
    data = message.to_pydict(include_default_values=True)  # camelCase keys by default
    out: dict[str, Any] = _plain(data)
    return out
